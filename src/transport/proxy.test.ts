import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ProxyConfig } from './proxy.ts';
import { TransportErrorCode } from './transport-error.ts';

const PROXY = 'http://proxy.internal:3128';

describe('ProxyConfig.fromEnvironment', () => {
  it('is undefined without HTTPS_PROXY, whatever NO_PROXY says', () => {
    assert.equal(ProxyConfig.fromEnvironment({}), undefined);
    assert.equal(ProxyConfig.fromEnvironment({ HTTPS_PROXY: '', NO_PROXY: '*' }), undefined);
    assert.equal(ProxyConfig.fromEnvironment({ HTTP_PROXY: PROXY }), undefined);
  });

  it('prefers HTTPS_PROXY to https_proxy, and NO_PROXY to no_proxy', () => {
    const config = ProxyConfig.fromEnvironment({
      HTTPS_PROXY: PROXY,
      https_proxy: 'http://other:1',
      NO_PROXY: 'a.example',
      no_proxy: 'b.example',
    });

    assert.equal(config?.url.host, 'proxy.internal:3128');
    assert.equal(config.proxyFor('a.example', 443), undefined);
    assert.ok(config.proxyFor('b.example', 443) !== undefined);
  });

  it('reads a proxy without a scheme as http://', () => {
    assert.equal(
      ProxyConfig.fromEnvironment({ HTTPS_PROXY: 'proxy.internal:3128' })?.url.href,
      'http://proxy.internal:3128/',
    );
  });

  it('refuses schemes other than http and https', () => {
    assert.throws(
      () => ProxyConfig.fromEnvironment({ HTTPS_PROXY: 'socks5://proxy:1080' }),
      (error: unknown) => (error as { code?: unknown }).code === TransportErrorCode.PROXY_URL_INVALID,
    );
  });

  it('reads HTTP_PROXY for plain-HTTP targets, and only then', () => {
    assert.equal(ProxyConfig.fromEnvironment({ HTTP_PROXY: PROXY }, 'http')?.url.host, 'proxy.internal:3128');
    assert.equal(ProxyConfig.fromEnvironment({ HTTPS_PROXY: PROXY }, 'http'), undefined);
  });

  it('an explicit proxy URL proxies every target, loopback included', () => {
    const config = ProxyConfig.fromUrl(PROXY);

    assert.ok(config.proxyFor('127.0.0.1', 4318) !== undefined);
    assert.ok(config.proxyFor('localhost', 4318) !== undefined);
  });

  it('keeps credentials out of the display URL', () => {
    assert.equal(ProxyConfig.fromUrl('http://user:secret@proxy:3128').displayUrl, 'http://proxy:3128');
  });
});

describe('NO_PROXY matching', () => {
  // [NO_PROXY, host, port, proxied?]
  const cases: readonly [string, string, number, boolean][] = [
    ['', 'backend.example', 4317, true],
    ['*', 'backend.example', 4317, false],
    ['example.com', 'example.com', 4317, false],
    ['example.com', 'a.b.example.com', 4317, false],
    ['example.com', 'notexample.com', 4317, true],
    ['.example.com', 'example.com', 4317, true],
    ['.example.com', 'a.example.com', 4317, false],
    ['*.example.com', 'example.com', 4317, true],
    ['*.example.com', 'a.example.com', 4317, false],
    ['example.com:4317', 'example.com', 4317, false],
    ['example.com:4317', 'example.com', 4318, true],
    ['EXAMPLE.com', 'example.COM', 1, false],
    [' a.test , b.test ', 'b.test', 1, false],
    ['10.1.2.3', '10.1.2.3', 1, false],
    ['10.1.2.3', '10.1.2.4', 1, true],
    ['10.1.2.3:8080', '10.1.2.3', 8080, false],
    ['10.1.2.3:8080', '10.1.2.3', 8081, true],
    ['10.0.0.0/8', '10.200.0.1', 1, false],
    ['10.0.0.0/8', '11.0.0.1', 1, true],
    ['10.0.0.0/8', 'ten.example', 1, true],
    ['2001:db8::/32', '2001:db8::1', 1, false],
    ['[2001:db8::1]:4317', '2001:db8::1', 4317, false],
    ['2001:db8::1', '2001:0db8:0:0:0:0:0:1', 1, false],
    ['', 'localhost', 1, false],
    ['', '127.0.0.1', 1, false],
    ['', '127.9.9.9', 1, false],
    ['', '::1', 1, false],
    ['', '10.0.0.1', 1, true],
  ];
  for (const [noProxy, host, port, proxied] of cases) {
    it(`NO_PROXY=${JSON.stringify(noProxy)}: ${host}:${port} is ${proxied ? 'proxied' : 'direct'}`, () => {
      const config = ProxyConfig.fromEnvironment({ HTTPS_PROXY: PROXY, NO_PROXY: noProxy });

      assert.equal(config?.proxyFor(host, port) !== undefined, proxied);
    });
  }
});
