import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { FakeClock, settle } from '../../test/helpers/fake-clock.ts';
import { fixturePath, ScratchDir } from '../../test/helpers/tls-fixtures.ts';
import { GO_CIPHER_SUITES, loadClientTls, validateTlsSettings, type TlsProblem, type TlsSettings } from './tls.ts';

const PEM = '-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n';

describe('validateTlsSettings', () => {
  // Messages as Alloy's TLSSetting.Validate and the Collector's configtls word them.
  const cases: readonly [string, TlsSettings, 'client' | 'server', readonly TlsProblem[]][] = [
    ['nothing set', {}, 'client', []],
    ['a CA file', { caFile: '/ca.crt' }, 'client', []],
    [
      'empty strings count as unset',
      { caFile: '', caPem: '', certFile: '', keyFile: '', minVersion: '' },
      'client',
      [],
    ],
    [
      'ca_pem and ca_file',
      { caFile: '/ca.crt', caPem: PEM },
      'client',
      [{ attribute: 'ca_pem', message: 'at most one of ca_pem and ca_file must be configured' }],
    ],
    [
      'cert_pem and cert_file',
      { certFile: '/c.crt', certPem: PEM, keyFile: '/c.key' },
      'client',
      [{ attribute: 'cert_pem', message: 'at most one of cert_pem and cert_file must be configured' }],
    ],
    [
      'key_pem and key_file',
      { certFile: '/c.crt', keyFile: '/c.key', keyPem: () => 'secret' },
      'client',
      [{ attribute: 'key_pem', message: 'at most one of key_pem and key_file must be configured' }],
    ],
    [
      'a certificate without a key',
      { certFile: '/c.crt' },
      'client',
      [
        {
          attribute: 'key_file',
          message: 'exactly one of key_pem or key_file must be configured when a client certificate is configured',
        },
      ],
    ],
    [
      'a key without a certificate',
      { keyPem: 'k' },
      'client',
      [
        {
          attribute: 'cert_file',
          message: 'exactly one of cert_pem or cert_file must be configured when a client key is configured',
        },
      ],
    ],
    [
      'the docs’ version label',
      { minVersion: 'TLS 1.2' },
      'client',
      [
        {
          attribute: 'min_version',
          message: 'invalid TLS min_version: unsupported TLS version: "TLS 1.2"; use "1.0", "1.1", "1.2" or "1.3"',
        },
      ],
    ],
    [
      'min above max',
      { minVersion: '1.3', maxVersion: '1.2' },
      'client',
      [
        {
          attribute: 'max_version',
          message: 'invalid TLS configuration: min_version cannot be greater than max_version',
        },
      ],
    ],
    ['a max below the default min is fine when min is lowered', { minVersion: '1.0', maxVersion: '1.1' }, 'client', []],
  ];
  for (const [name, settings, role, expected] of cases) {
    it(`${name} (${role})`, () => {
      assert.deepEqual(validateTlsSettings(settings, role), expected);
    });
  }

  it('reports every problem, not only the first', () => {
    const problems = validateTlsSettings({ caFile: '/a', caPem: PEM, minVersion: 'x', maxVersion: 'y' });

    assert.deepEqual(
      problems.map((p) => p.attribute),
      ['ca_pem', 'min_version', 'max_version'],
    );
  });

  it('a server needs a certificate and key', () => {
    assert.deepEqual(
      validateTlsSettings({}, 'server').map((p) => p.attribute),
      ['cert_file'],
    );
    assert.deepEqual(validateTlsSettings({ certFile: '/s.crt', keyFile: '/s.key' }, 'server'), []);
  });

  it('names an unknown cipher suite and lists the valid ones', () => {
    const [problem] = validateTlsSettings({ cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_NOPE'] });

    assert.equal(problem?.attribute, 'cipher_suites');
    assert.match(problem.message, /^invalid TLS cipher suite: "TLS_NOPE"; valid suites are TLS_AES_128_GCM_SHA256, /);
    for (const name of GO_CIPHER_SUITES.keys()) assert.ok(problem.message.includes(name));
  });

  it('accepts the TLS 1.3 names Go accepts (they change nothing)', () => {
    assert.deepEqual(
      validateTlsSettings({ cipherSuites: ['TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256'] }),
      [],
    );
  });

  it('accepts Go’s insecure suites only with include_insecure_cipher_suites', () => {
    const suites = ['TLS_RSA_WITH_AES_128_GCM_SHA256'];

    assert.match(validateTlsSettings({ cipherSuites: suites })[0]?.message ?? '', /include_insecure_cipher_suites/);
    assert.deepEqual(validateTlsSettings({ cipherSuites: suites, includeInsecureCipherSuites: true }), []);
  });

  it('checks curve names', () => {
    assert.deepEqual(validateTlsSettings({ curvePreferences: ['X25519', 'P256', 'P384', 'P521'] }), []);
    assert.equal(validateTlsSettings({ curvePreferences: ['P-256'] })[0]?.attribute, 'curve_preferences');
  });
});

describe('ClientTls reload_interval', () => {
  it('re-reads the files when the interval has passed on its clock, and stops on close', async () => {
    const dir = new ScratchDir();
    try {
      const certFile = dir.put('client.crt', 'client.crt');
      const keyFile = dir.put('client.key', 'client.key');
      const clock = new FakeClock();
      let reloaded: () => void = () => undefined;
      const reload = new Promise<void>((resolve) => {
        reloaded = resolve;
      });
      const tls = loadClientTls(
        { caFile: fixturePath('ca.crt'), certFile, keyFile, reloadIntervalMs: 60_000 },
        {
          clock,
          onReload: () => {
            reloaded();
          },
        },
      );
      assert.ok(tls !== undefined);
      const first = tls.secureContext;
      copyFileSync(fixturePath('client-2.key'), keyFile);
      copyFileSync(fixturePath('client-2.crt'), certFile);

      await clock.advance(59_999);
      assert.equal(tls.secureContext, first, 'reloaded before the interval passed');
      await clock.advance(1);
      await reload;
      assert.notEqual(tls.secureContext, first);

      tls.close();
      await settle();
      assert.equal(clock.pending, 0);
    } finally {
      dir.remove();
    }
  });

  it('does not re-read PEM given inline: there is nothing to reload', async () => {
    const clock = new FakeClock();

    const tls = loadClientTls({ caPem: '', reloadIntervalMs: 1_000 }, { clock });
    await settle();

    assert.equal(clock.pending, 0);
    tls?.close();
  });
});
