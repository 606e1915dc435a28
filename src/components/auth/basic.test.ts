import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { eraseDefinition } from '../../runtime/component.ts';
import {
  alloyExamples,
  decodeConfig,
  expectArguments,
  expectErrors,
  exportedHandler,
  startComponent,
  testContext,
} from '../../../test/helpers/component-harness.ts';
import type { RequestHeaders } from '../config/auth.ts';
import { basicAuthDefinition } from './basic.ts';
import { bearerAuthDefinition } from './bearer.ts';
import { headersAuthDefinition } from './headers.ts';

function basic(user: string, password: string): RequestHeaders {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

function sha(password: string): string {
  return `{SHA}${createHash('sha1').update(password).digest('base64')}`;
}

function ssha(password: string, salt: string): string {
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, Buffer.from(salt)]).toString('base64')}`;
}

describe('otelcol.auth.basic', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'otel-lb-basic-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('arguments', () => {
    it('refuses a block with no credential source', () => {
      const [error] = expectErrors(basicAuthDefinition, '');

      assert.equal(error?.code, 'decode/no-credentials');
      assert.equal(error.message, 'no credential source provided');
    });

    it('refuses a username without a password, at the username', () => {
      const errors = expectErrors(basicAuthDefinition, 'username = "otel"');

      assert.deepEqual(
        errors.map((e) => [e.code, e.message, e.line]),
        [['decode/no-password', 'no password provided', 1]],
      );
    });

    it('decodes client_auth and htpasswd with their defaults', () => {
      const { args } = expectArguments(
        basicAuthDefinition,
        'client_auth {\n username = "u"\n password = "p"\n}\nhtpasswd {}',
      );

      assert.equal(args.clientAuth?.username, 'u');
      assert.equal(args.clientAuth.usernameFile, '');
      assert.equal(args.clientAuth.passwordFile, '');
      assert.equal(String(args.clientAuth.password), '(secret)');
      assert.deepEqual(args.htpasswd, { file: '', inline: '' });
      assert.equal(args.username, '');
      assert.equal(args.password, undefined);
    });

    it('warns when client_auth lacks a password source, and the handler has no client side', async () => {
      const { warnings } = expectArguments(basicAuthDefinition, 'client_auth {\n username = "u"\n}');
      assert.deepEqual(
        warnings.map((w) => w.code),
        ['decode/no-client-credentials'],
      );

      const running = await startComponent(basicAuthDefinition, 'client_auth {\n username = "u"\n}');
      assert.equal(exportedHandler(running.exports).client, undefined);
      assert.equal(exportedHandler(running.exports).server, undefined);
    });

    it('refuses bcrypt entries in inline htpasswd at load time, naming the line and the user', () => {
      const [error] = expectErrors(
        basicAuthDefinition,
        'htpasswd {\n inline = "ok:plain\\nadmin:$2y$05$L/jPI05ltEKrwIjQThJ4keBFKH/aRDpxY9CaaVWYIZcPu0FXdRO6i"\n}',
      );

      assert.equal(error?.code, 'decode/htpasswd');
      assert.match(error.message, /line 2 \(user "admin"\): bcrypt password hashes \(\$2y\$…\) are not supported/);
      assert.equal(error.line, 2);
    });

    it('decodes the README example', () => {
      const [example] = alloyExamples(new URL('./README.md', import.meta.url));
      assert.ok(example !== undefined);

      const { ids, diagnostics } = decodeConfig(example, [
        eraseDefinition(basicAuthDefinition),
        eraseDefinition(bearerAuthDefinition),
        eraseDefinition(headersAuthDefinition),
      ]);

      assert.deepEqual(ids, [
        'otelcol.auth.basic.backend',
        'otelcol.auth.bearer.tenant',
        'otelcol.auth.headers.tenant',
      ]);
      assert.deepEqual(diagnostics, []);
    });
  });

  describe('client side', () => {
    it('sends the top-level pair as Basic credentials, over TLS only', async () => {
      const running = await startComponent(basicAuthDefinition, 'username = "otel"\npassword = "s3cret:x"');

      const client = exportedHandler(running.exports).client;

      assert.ok(client !== undefined);
      assert.equal(client.requiresTls, true);
      assert.deepEqual(await client.headers(), {
        authorization: `Basic ${Buffer.from('otel:s3cret:x').toString('base64')}`,
      });
    });

    it('prefers client_auth over the top-level pair, and files over inline values', async () => {
      const userFile = path.join(dir, 'user');
      const passwordFile = path.join(dir, 'password');
      await writeFile(userFile, 'from-file\n');
      await writeFile(passwordFile, 'file-password\r\n');

      const running = await startComponent(
        basicAuthDefinition,
        `username = "top"\npassword = "top"\nclient_auth {\n username = "inline"\n username_file = ${JSON.stringify(userFile)}\n password = "inline"\n password_file = ${JSON.stringify(passwordFile)}\n}`,
      );

      assert.deepEqual(await exportedHandler(running.exports).client?.headers(), {
        authorization: `Basic ${Buffer.from('from-file:file-password').toString('base64')}`,
      });
    });

    it('reads files at start, not at build, and fails the start naming a missing file', async () => {
      const missing = path.join(dir, 'does-not-exist');
      const { args } = expectArguments(
        basicAuthDefinition,
        `client_auth {\n username = "u"\n password_file = ${JSON.stringify(missing)}\n}`,
      );

      const component = await basicAuthDefinition.build(testContext('otelcol.auth.basic.test'), args);

      const client = exportedHandler(component.exports).client;
      assert.ok(client !== undefined);
      await assert.rejects(async () => client.headers(), /no client credentials loaded/);
      await assert.rejects(component.start(new AbortController().signal), (error: Error) => {
        assert.ok(error.message.includes(`cannot read password_file ${JSON.stringify(missing)}`));
        return true;
      });
    });

    it('re-reads files on update', async () => {
      const passwordFile = path.join(dir, 'rotating');
      await writeFile(passwordFile, 'one');
      const running = await startComponent(
        basicAuthDefinition,
        `client_auth {\n username = "u"\n password_file = ${JSON.stringify(passwordFile)}\n}`,
      );
      const client = exportedHandler(running.exports).client;

      await writeFile(passwordFile, 'two');
      await running.update(`client_auth {\n username = "v"\n password_file = ${JSON.stringify(passwordFile)}\n}`);

      assert.deepEqual(await client?.headers(), { authorization: `Basic ${Buffer.from('v:two').toString('base64')}` });
    });
  });

  describe('server side', () => {
    it('accepts plain, {SHA}, {SSHA} and {PLAIN} entries and refuses everything else', async () => {
      const inline = [
        'alice:wonderland',
        `bob:${sha('builder')}`,
        `carol:${ssha('pepper', 'salty')}`,
        'dave:{PLAIN}dots',
      ].join('\\n');
      const running = await startComponent(basicAuthDefinition, `htpasswd {\n inline = "${inline}"\n}`);
      const server = exportedHandler(running.exports).server;
      assert.ok(server !== undefined);

      assert.equal(await server.authenticate(basic('alice', 'wonderland')), undefined);
      assert.equal(await server.authenticate(basic('bob', 'builder')), undefined);
      assert.equal(await server.authenticate(basic('carol', 'pepper')), undefined);
      assert.equal(await server.authenticate(basic('dave', 'dots')), undefined);
      assert.equal(await server.authenticate(basic('alice', 'wrong')), 'invalid credentials');
      assert.equal(await server.authenticate(basic('bob', sha('builder'))), 'invalid credentials');
      assert.equal(await server.authenticate(basic('mallory', 'wonderland')), 'invalid credentials');
      assert.equal(await server.authenticate({}), 'no basic auth provided');
      assert.equal(
        await server.authenticate({ authorization: 'Bearer abc' }),
        'invalid authorization scheme: expected Basic',
      );
      assert.equal(await server.authenticate({ authorization: 'Basic !!!' }), 'invalid authorization format');
      assert.equal(
        await server.authenticate({ authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }),
        'invalid authorization format',
      );
      assert.equal(
        await server.authenticate({ authorization: [basic('alice', 'wonderland').authorization as string] }),
        undefined,
      );
    });

    it('reads the htpasswd file, then inline entries, then the top-level pair (later wins)', async () => {
      const file = path.join(dir, 'htpasswd');
      await writeFile(file, `alice:from-file\nbob:${sha('file')}\n`);

      const running = await startComponent(
        basicAuthDefinition,
        `username = "carol"\npassword = "top"\nhtpasswd {\n file = ${JSON.stringify(file)}\n inline = "bob:inline\\ncarol:inline"\n}`,
      );
      const server = exportedHandler(running.exports).server;

      assert.equal(await server?.authenticate(basic('alice', 'from-file')), undefined);
      assert.equal(await server?.authenticate(basic('bob', 'inline')), undefined);
      assert.equal(await server?.authenticate(basic('bob', 'file')), 'invalid credentials');
      assert.equal(await server?.authenticate(basic('carol', 'top')), undefined);
      assert.equal(await server?.authenticate(basic('carol', 'inline')), 'invalid credentials');
    });

    it('fails the start on a bcrypt entry in the htpasswd file', async () => {
      const file = path.join(dir, 'bcrypt');
      await writeFile(file, 'admin:$2y$05$L/jPI05ltEKrwIjQThJ4keBFKH/aRDpxY9CaaVWYIZcPu0FXdRO6i\n');

      await assert.rejects(
        startComponent(basicAuthDefinition, `htpasswd {\n file = ${JSON.stringify(file)}\n}`),
        /line 1 \(user "admin"\): bcrypt password hashes/,
      );
    });

    it('logs malformed htpasswd lines once and skips them', async () => {
      const running = await startComponent(basicAuthDefinition, 'htpasswd {\n inline = "no colon here\\nok:yes"\n}');

      assert.deepEqual(
        running.logs.entries().map((e) => [e.level, e.msg]),
        [['warn', 'htpasswd inline line 1: malformed line, no colon; skipped']],
      );
      assert.equal(await exportedHandler(running.exports).server?.authenticate(basic('ok', 'yes')), undefined);
    });

    it('has a client side only when there are no htpasswd entries', async () => {
      const running = await startComponent(basicAuthDefinition, 'client_auth {\n username = "u"\n password = "p"\n}');

      assert.equal(exportedHandler(running.exports).server, undefined);
      assert.ok(exportedHandler(running.exports).client !== undefined);
    });

    it('gains a server side on update while the exported handler stays the same', async () => {
      const running = await startComponent(basicAuthDefinition, 'client_auth {\n username = "u"\n password = "p"\n}');
      const handler = exportedHandler(running.exports);

      await running.update('client_auth {\n username = "u"\n password = "p"\n}\nhtpasswd {\n inline = "x:y"\n}');

      assert.equal(exportedHandler(running.exports), handler);
      assert.equal(await handler.server?.authenticate(basic('x', 'y')), undefined);
    });
  });

  it('never prints the password', async () => {
    const running = await startComponent(
      basicAuthDefinition,
      'username = "u"\npassword = "hunter2"\nhtpasswd {\n inline = "broken line"\n}',
    );

    assert.equal(String(running.args.password), '(secret)');
    assert.equal(JSON.stringify(running.args).includes('hunter2'), false);
    assert.equal(running.logs.text().includes('hunter2'), false);
    assert.ok(running.logs.entries().length > 0);
  });
});
