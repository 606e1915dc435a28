import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  expectArguments,
  expectErrors,
  exportedHandler,
  startComponent,
} from '../../../test/helpers/component-harness.ts';
import { bearerAuthDefinition } from './bearer.ts';

describe('otelcol.auth.bearer', () => {
  it('requires a token', () => {
    const [error] = expectErrors(bearerAuthDefinition, 'scheme = "Token"');

    assert.equal(error?.code, 'decode/missing-attribute');
    assert.match(error.message, /missing required attribute "token"/);
  });

  it('defaults to the Bearer scheme on the Authorization header', () => {
    const { args } = expectArguments(bearerAuthDefinition, 'token = "abc"');

    assert.equal(args.scheme, 'Bearer');
    assert.equal(args.header, 'Authorization');
    assert.equal(String(args.token), '(secret)');
  });

  it('refuses a header name no client could send', () => {
    const [error] = expectErrors(bearerAuthDefinition, 'token = "abc"\nheader = "X Token"');

    assert.equal(error?.line, 2);
    assert.match(error.message, /"X Token" is not a valid header name/);
  });

  for (const { config, headers } of [
    { config: 'token = "abc"', headers: { authorization: 'Bearer abc' } },
    { config: 'token = "abc"\nscheme = "Token"\nheader = "X-Api-Key"', headers: { 'x-api-key': 'Token abc' } },
    { config: 'token = "abc"\nscheme = ""', headers: { authorization: 'abc' } },
  ]) {
    it(`sends ${JSON.stringify(headers)} and accepts it back (${config.replaceAll('\n', ', ')})`, async () => {
      const running = await startComponent(bearerAuthDefinition, config);
      const handler = exportedHandler(running.exports);

      assert.equal(handler.client?.requiresTls, true);
      assert.deepEqual(await handler.client.headers(), headers);
      assert.equal(await handler.server?.authenticate(headers), undefined);
    });
  }

  it('refuses a missing, empty or different value without echoing it', async () => {
    const running = await startComponent(bearerAuthDefinition, 'token = "abc"');
    const server = exportedHandler(running.exports).server;
    assert.ok(server !== undefined);

    assert.equal(await server.authenticate({}), 'missing or empty authorization header');
    assert.equal(await server.authenticate({ authorization: '' }), 'missing or empty authorization header');
    assert.equal(await server.authenticate({ authorization: 'Bearer abd' }), 'scheme or token does not match');
    assert.equal(await server.authenticate({ authorization: 'Basic abc' }), 'scheme or token does not match');
    assert.equal(await server.authenticate({ authorization: ['Bearer abc', 'other'] }), undefined);
  });

  it('sends the new token after an update', async () => {
    const running = await startComponent(bearerAuthDefinition, 'token = "old"');
    const client = exportedHandler(running.exports).client;

    await running.update('token = "new"');

    assert.deepEqual(await client?.headers(), { authorization: 'Bearer new' });
  });
});
