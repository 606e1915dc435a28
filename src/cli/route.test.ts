import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough, Readable } from 'node:stream';

import { runCli } from './cli.ts';
import { ExitCode } from './io.ts';
import { buildRing } from '../components/exporter-loadbalancing/hash-ring/rings.ts';

async function run(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await runCli(args, { stdin: Readable.from([stdin]), stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

const ENDPOINTS = '10.0.0.7:4317,[fd00::5]:4317,backend-1:4317,backend-2:4317,backend-3';
const ID_A = 'a35a04eae7add7f2e12032e6abb3588a';
const ID_B = 'e54802672429a14cf3847fee11125939';

describe('otel-lb route', () => {
  it('prints the upstream-v2 backend of each trace ID, as the golden vectors say', async () => {
    const { code, stdout } = await run(['route', '--endpoints', ENDPOINTS, '--ring', 'upstream-v2', ID_A, ID_B]);

    assert.equal(code, ExitCode.OK);
    assert.equal(stdout, `${ID_A} backend-2:4317\n${ID_B} 10.0.0.7:4317\n`);
  });

  it('hashes log records as the Collector does: hex on upstream-v2, raw bytes on upstream-v1', async () => {
    const id = '583ff980eb665683be5a909b5a272aea';

    const spans = await run(['route', '--endpoints', ENDPOINTS, '--ring', 'upstream-v2', id]);
    const logsV2 = await run(['route', '--endpoints', ENDPOINTS, '--ring', 'upstream-v2', '--signal', 'logs', id]);
    const logsV1 = await run(['route', '--endpoints', ENDPOINTS, '--ring', 'upstream-v1', '--signal', 'logs', id]);

    assert.equal(spans.stdout, `${id} backend-3\n`);
    assert.equal(logsV2.stdout, `${id} backend-1:4317\n`);
    assert.equal(logsV1.stdout, `${id} backend-1:4317\n`);
  });

  it('merges repeated --endpoints lists', async () => {
    const split = await run([
      'route',
      '--endpoints',
      '10.0.0.7:4317,[fd00::5]:4317',
      '--endpoints',
      'backend-1:4317,backend-2:4317,backend-3',
      '--ring',
      'upstream-v2',
      ID_A,
    ]);

    assert.equal(split.stdout, `${ID_A} backend-2:4317\n`);
  });

  it('routes on the default ring when --ring is not given, whatever the endpoint order', async () => {
    const ring = buildRing('otel-lb-v1', ENDPOINTS.split(','));
    const expected = ring.endpoints[ring.locate(Buffer.from(ID_A, 'hex'), 0, 16)] ?? '';

    const a = await run(['route', '--endpoints', ENDPOINTS, ID_A]);
    const b = await run(['route', `--endpoints=${ENDPOINTS.split(',').reverse().join(', ')}`, ID_A.toUpperCase()]);

    assert.equal(a.stdout, `${ID_A} ${expected}\n`);
    assert.equal(b.stdout, `${ID_A.toUpperCase()} ${expected}\n`);
  });

  it('reads keys from standard input in input order, skipping blank lines and CRs', async () => {
    const { code, stdout } = await run(
      ['route', '--endpoints', ENDPOINTS, '--ring', 'upstream-v2'],
      `${ID_B}\r\n\n  ${ID_A}  \n${ID_B}`,
    );

    assert.equal(code, ExitCode.OK);
    assert.equal(stdout, `${ID_B} 10.0.0.7:4317\n${ID_A} backend-2:4317\n${ID_B} 10.0.0.7:4317\n`);
  });

  it('routes service names, keeping their spaces', async () => {
    const { code, stdout } = await run(
      ['route', '--endpoints', 'a:1,b:2,c:3', '--routing-key', 'service'],
      'checkout\nmy service\n',
    );

    assert.equal(code, ExitCode.OK);
    assert.match(stdout, /^checkout [abc]:\d\nmy service [abc]:\d\n$/);
  });

  it('reports each bad key with its line, routes the rest, and exits 2', async () => {
    const { code, stdout, stderr } = await run(
      ['route', '--endpoints', ENDPOINTS, '--ring', 'upstream-v2'],
      `${ID_A}\nabc\n${ID_A.slice(0, 31)}g\n${ID_B}\n`,
    );

    assert.equal(code, ExitCode.USAGE);
    assert.equal(stdout.split('\n').length - 1, 2);
    assert.match(stderr, /line 2: "abc" is not a trace ID: a trace ID has 32 hex digits, this has 3 characters/);
    assert.match(stderr, /line 3: ".*g" is not a trace ID: character "g" at position 32 is not a hex digit/);
  });

  const usageErrors: { name: string; args: string[]; message: RegExp }[] = [
    { name: 'missing --endpoints', args: [ID_A], message: /missing --endpoints/ },
    { name: 'an empty endpoint list', args: ['--endpoints', '', ID_A], message: /--endpoints is empty/ },
    {
      name: 'an empty entry',
      args: ['--endpoints', 'a:1,,b:2', ID_A],
      message: /--endpoints "a:1,,b:2": entry 2 is empty/,
    },
    {
      name: 'an unknown ring',
      args: ['--endpoints', 'a:1', '--ring', 'maglev', ID_A],
      message: /unknown hash ring "maglev": use one of "otel-lb-v1", "upstream-v2", "upstream-v1"/,
    },
    {
      name: 'an unknown signal',
      args: ['--endpoints', 'a:1', '--signal', 'metrics', ID_A],
      message: /unknown --signal "metrics": use traces or logs/,
    },
    {
      name: 'an unknown routing key',
      args: ['--endpoints', 'a:1', '--routing-key', 'traceid', ID_A],
      message: /unknown --routing-key "traceid": use traceID or service/,
    },
    { name: 'an unknown option', args: ['--endpoint', 'a:1', ID_A], message: /Unknown option '--endpoint'/ },
    { name: 'odd-length hex', args: ['--endpoints', 'a:1', 'abc'], message: /"abc" is not a trace ID/ },
  ];
  for (const c of usageErrors) {
    it(`rejects ${c.name} with exit code 2 and a message naming it`, async () => {
      const { code, stderr } = await run(['route', ...c.args]);

      assert.equal(code, ExitCode.USAGE);
      assert.match(stderr, c.message);
    });
  }

  it('explains itself with --help and "help route"', async () => {
    const a = await run(['route', '--help']);
    const b = await run(['help', 'route']);

    assert.equal(a.code, ExitCode.OK);
    assert.match(a.stdout, /Usage: otel-lb route --endpoints/);
    assert.equal(b.stdout, a.stdout);
  });
});

describe('otel-lb', () => {
  it('prints its help with no arguments and with --help', async () => {
    const none = await run([]);
    const help = await run(['--help']);

    assert.equal(none.code, ExitCode.OK);
    assert.match(none.stdout, /Commands:\n\s+demo[^]*\n\s+route/);
    assert.equal(help.stdout, none.stdout);
  });

  it('rejects an unknown command with exit code 2', async () => {
    const { code, stderr } = await run(['rout']);

    assert.equal(code, ExitCode.USAGE);
    assert.match(stderr, /unknown command "rout"/);
  });
});
