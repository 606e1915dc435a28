import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

import { runOtelLb } from '../helpers/otel-lb-process.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'otel-lb-fmt-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function tempFile(content: string | Uint8Array): string {
  counter++;
  const file = path.join(dir, `config-${counter}.alloy`);
  writeFileSync(file, content);
  return file;
}

const MESSY =
  'otelcol.receiver.otlp "in" {\r\n    grpc {\r\n\t\tendpoint = "0.0.0.0:4317"\r\n        max_recv_msg_size = "8MiB"\r\n    }\r\n  output {\r\n      traces=[otelcol.exporter.loadbalancing.lb.input] // to the ring\r\n  }\r\n}\r\n';
const FORMATTED =
  'otelcol.receiver.otlp "in" {\n\tgrpc {\n\t\tendpoint          = "0.0.0.0:4317"\n\t\tmax_recv_msg_size = "8MiB"\n\t}\n\n\toutput {\n\t\ttraces = [otelcol.exporter.loadbalancing.lb.input] // to the ring\n\t}\n}\n';

describe('otel-lb fmt (process)', () => {
  it('prints the file formatted exactly as alloy fmt does', async () => {
    const file = tempFile(MESSY);

    const { code, stdout, stderr } = await runOtelLb(['fmt', file]);

    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.equal(stdout, FORMATTED);
    assert.equal(readFileSync(file, 'utf8'), MESSY);
  });

  it('reads standard input with no file or with -', async () => {
    const bare = await runOtelLb(['fmt'], MESSY);
    const dash = await runOtelLb(['fmt', '-'], MESSY);

    assert.deepEqual(bare, { code: 0, stdout: FORMATTED, stderr: '' });
    assert.deepEqual(dash, { code: 0, stdout: FORMATTED, stderr: '' });
  });

  it('keeps the bytes of strings, drops a BOM, and ends with one newline', async () => {
    const { code, stdout } = await runOtelLb(['fmt'], '\ufeffa = "é\\t`"\nb = `x\r\ny`\n\n\n');

    assert.equal(code, 0);
    assert.equal(stdout, 'a = "é\\t`"\nb = `x\r\ny`\n');
  });

  it('rewrites the file with --write, printing nothing', async () => {
    const file = tempFile(MESSY);

    const { code, stdout, stderr } = await runOtelLb(['fmt', '--write', file]);

    assert.deepEqual({ code, stdout, stderr }, { code: 0, stdout: '', stderr: '' });
    assert.equal(readFileSync(file, 'utf8'), FORMATTED);
  });

  it('leaves an already formatted file untouched with -w', async () => {
    const file = tempFile(FORMATTED);
    const before = statSync(file, { bigint: true });

    const { code } = await runOtelLb(['fmt', '-w', file]);

    assert.equal(code, 0);
    assert.equal(statSync(file, { bigint: true }).mtimeNs, before.mtimeNs);
  });

  it('reports every syntax error, one file:line:column line each, exits 1 and writes nothing', async () => {
    const broken = 'a = [\n  1\n]\nb = {x: 1}\nc = 1; d = 2\n';
    const file = tempFile(broken);

    const { code, stdout, stderr } = await runOtelLb(['fmt', '--write', file]);

    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(
      stderr,
      [
        `${file}:2:4: missing ',' in expression list`,
        `${file}:4:7: illegal character U+003A ':'`,
        `${file}:4:7: expected =, got ILLEGAL`,
        `${file}:5:6: illegal character U+003B ';'`,
        `${file}:5:6: expected TERMINATOR, got ILLEGAL`,
        'Error: encountered errors during formatting',
        '',
      ].join('\n'),
    );
    assert.equal(readFileSync(file, 'utf8'), broken);
  });

  it('names standard input <stdin> in diagnostics', async () => {
    const { code, stderr } = await runOtelLb(['fmt'], 'a = 1 2\n');

    assert.equal(code, 1);
    assert.equal(stderr, '<stdin>:1:7: expected TERMINATOR, got NUMBER\nError: encountered errors during formatting\n');
  });

  it('checks without printing with --test', async () => {
    const formatted = tempFile(FORMATTED);
    const messy = tempFile(MESSY);

    const ok = await runOtelLb(['fmt', '--test', formatted]);
    const notOk = await runOtelLb(['fmt', '-t', messy]);

    assert.deepEqual(ok, { code: 0, stdout: '', stderr: '' });
    assert.deepEqual(notOk, { code: 1, stdout: '', stderr: `Error: file ${messy} is not formatted correctly\n` });
  });

  it('names a missing file and exits 1', async () => {
    const missing = path.join(dir, 'missing.alloy');

    const { code, stdout, stderr } = await runOtelLb(['fmt', missing]);

    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(stderr, `Error: cannot read "${missing}": no such file\n`);
  });

  it('refuses a directory', async () => {
    const { code, stderr } = await runOtelLb(['fmt', dir]);

    assert.equal(code, 1);
    assert.match(stderr, /cannot format a directory/);
  });

  const usageErrors: readonly (readonly [name: string, args: readonly string[], message: RegExp])[] = [
    ['--write with standard input', ['fmt', '--write'], /cannot use -w with standard input/],
    ['--write with -', ['fmt', '-w', '-'], /cannot use -w with standard input/],
    ['--write with --test', ['fmt', '-w', '-t', 'x.alloy'], /cannot use -w\/--write and -t\/--test at the same time/],
    ['two files', ['fmt', 'a.alloy', 'b.alloy'], /give at most one file, got 2/],
    ['an unknown option', ['fmt', '--diff', 'a.alloy'], /Unknown option '--diff'/],
  ];
  for (const [name, args, message] of usageErrors) {
    it(`exits 2 for bad usage: ${name}`, async () => {
      const { code, stdout, stderr } = await runOtelLb(args);

      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.match(stderr, message);
      assert.match(stderr, /otel-lb fmt --help/);
    });
  }

  it('explains itself with --help and in the command list', async () => {
    const help = await runOtelLb(['fmt', '--help']);
    const viaHelp = await runOtelLb(['help', 'fmt']);
    const main = await runOtelLb(['--help']);

    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: otel-lb fmt \[--write \| --test\] \[FILE\]/);
    assert.match(help.stdout, /alloy fmt/);
    assert.equal(viaHelp.stdout, help.stdout);
    assert.match(main.stdout, /^ {2}fmt {7}Format a configuration file exactly as "alloy fmt" does\.$/m);
  });
});
