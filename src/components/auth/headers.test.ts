import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  expectArguments,
  expectErrors,
  exportedHandler,
  startComponent,
} from '../../../test/helpers/component-harness.ts';
import { secretValue } from '../../syntax/value.ts';
import { headersAuthDefinition } from './headers.ts';

describe('otelcol.auth.headers', () => {
  describe('arguments', () => {
    it('decodes header blocks in order with upsert as the default action, any case accepted', () => {
      const { args } = expectArguments(
        headersAuthDefinition,
        'header {\n key = "X-Scope-OrgID"\n value = "a"\n}\nheader {\n key = "x-other"\n from_context = "tenant"\n action = "INSERT"\n}',
      );

      assert.deepEqual(args.headers, [
        { key: 'X-Scope-OrgID', action: 'upsert', source: { kind: 'value', value: 'a' } },
        { key: 'x-other', action: 'insert', source: { kind: 'context', key: 'tenant' } },
      ]);
    });

    it('accepts no header block at all', () => {
      const { args } = expectArguments(headersAuthDefinition, '');

      assert.deepEqual(args.headers, []);
    });

    for (const { name, body, code, message } of [
      {
        name: 'no source',
        body: 'key = "a"',
        code: 'decode/one-of',
        message: 'one of value, from_context, or from_attribute must be provided',
      },
      {
        name: 'two sources',
        body: 'key = "a"\n value = "x"\n from_attribute = "y"',
        code: 'decode/one-of',
        message: 'only one of value, from_context, or from_attribute may be provided',
      },
      {
        name: 'no source, even to delete',
        body: 'key = "a"\n action = "delete"',
        code: 'decode/one-of',
        message: 'one of value',
      },
      {
        name: 'an empty key',
        body: 'key = ""\n value = "x"',
        code: 'decode/value',
        message: 'key must be set to a non-empty string',
      },
      {
        name: 'a bad header name',
        body: 'key = "a b"\n value = "x"',
        code: 'decode/value',
        message: '"a b" is not a valid header name',
      },
      {
        name: 'an unknown action',
        body: 'key = "a"\n value = "x"\n action = "append"',
        code: 'decode/value',
        message: 'unknown action append',
      },
      {
        name: 'a missing key',
        body: 'value = "x"',
        code: 'decode/missing-attribute',
        message: 'missing required attribute "key"',
      },
    ]) {
      it(`refuses a header with ${name}`, () => {
        const [error] = expectErrors(headersAuthDefinition, `header {\n ${body}\n}`);

        assert.equal(error?.code, code);
        assert.ok(error.message.includes(message), error.message);
      });
    }

    it('warns that from_attribute never sets a header yet (from_context does: request metadata)', () => {
      const { warnings } = expectArguments(
        headersAuthDefinition,
        'header {\n key = "a"\n from_context = "x"\n}\nheader {\n key = "b"\n from_attribute = "y"\n}',
      );

      assert.deepEqual(
        warnings.map((w) => [w.severity, w.code]),
        [['warning', 'decode/not-supported']],
      );
    });

    it('copies from_context from the request metadata, the first value, when the request has it', async () => {
      const running = await startComponent(
        headersAuthDefinition,
        'header {\n key = "X-Tenant"\n from_context = "X-Scope-OrgID"\n}\nheader {\n key = "x-a"\n value = "1"\n}',
      );
      const client = exportedHandler(running.exports).client;

      const withTenant = await client?.headers(new Map([['x-scope-orgid', ['acme', 'other']]]));
      const without = await client?.headers(new Map());

      assert.deepEqual(withTenant, { 'x-tenant': 'acme', 'x-a': '1' });
      assert.deepEqual(without, { 'x-a': '1' });
      await running.stop();
    });
  });

  describe('client side', () => {
    it('applies the actions in block order, with lower-case names, without TLS', async () => {
      const running = await startComponent(
        headersAuthDefinition,
        [
          'header {\n key = "X-Scope-OrgID"\n value = "a"\n}',
          'header {\n key = "x-scope-orgid"\n value = "b"\n action = "insert"\n}',
          'header {\n key = "X-Missing"\n value = "c"\n action = "update"\n}',
          'header {\n key = "X-Scope-OrgID"\n value = "d"\n action = "Update"\n}',
          'header {\n key = "X-Gone"\n value = "e"\n}',
          'header {\n key = "x-gone"\n value = "ignored"\n action = "delete"\n}',
          'header {\n key = "X-Context"\n from_context = "tenant"\n}',
        ].join('\n'),
      );
      const handler = exportedHandler(running.exports);

      assert.equal(handler.server, undefined);
      assert.equal(handler.client?.requiresTls, false);
      assert.deepEqual(await handler.client.headers(), { 'x-scope-orgid': 'd' });
    });

    it('reveals secret values only in the header', async () => {
      const running = await startComponent(headersAuthDefinition, 'header {\n key = "X-Key"\n value = tenant.key\n}', {
        exports: { tenant: { key: secretValue('k3y') } },
      });

      assert.deepEqual(await exportedHandler(running.exports).client?.headers(), { 'x-key': 'k3y' });
      assert.equal(JSON.stringify(running.args).includes('k3y'), false);
    });

    it('sends the new headers after an update', async () => {
      const running = await startComponent(headersAuthDefinition, 'header {\n key = "a"\n value = "1"\n}');
      const client = exportedHandler(running.exports).client;

      await running.update('header {\n key = "b"\n value = "2"\n}');

      assert.deepEqual(await client?.headers(), { b: '2' });
    });
  });
});
