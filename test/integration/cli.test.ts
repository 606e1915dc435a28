import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { runOtelLb, spawnOtelLb } from '../helpers/otel-lb-process.ts';

describe('otel-lb process', () => {
  it('routes 100,000 trace IDs from standard input, one line each, in order', async () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => i.toString(16).padStart(32, '0'));

    const { code, stdout, stderr } = await runOtelLb(
      ['route', '--endpoints', 'a:4317,b:4317,c:4317', '--ring', 'upstream-v2'],
      ids.join('\n'),
    );

    assert.equal(stderr, '');
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines.length, ids.length);
    lines.forEach((line, i) => {
      assert.match(line, new RegExp(`^${ids[i] ?? ''} [abc]:4317$`));
    });
  });

  it('stops quietly with exit code 0 when its reader goes away (| head)', async () => {
    const child = spawnOtelLb(['route', '--endpoints', 'a:4317,b:4317']);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const ids = Array.from({ length: 200_000 }, (_, i) => i.toString(16).padStart(32, '0')).join('\n');
    child.stdin.on('error', () => undefined);
    child.stdin.end(ids);

    // Read the first chunk, then close the pipe as `head -1` would.
    await new Promise<void>((resolve) =>
      child.stdout.once('data', () => {
        resolve();
      }),
    );
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    assert.equal(code, 0);
    assert.equal(stderr, '');
  });

  it('stops reading standard input on Ctrl-C, exiting 130', async () => {
    const child = spawnOtelLb(['route', '--endpoints', 'a:4317']);
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    // Enough keys to fill a flush, so that output shows the process is reading; stdin stays open.
    child.stdin.write('0af7651916cd43dd8448eb211c80319c\n'.repeat(3000));
    await new Promise<void>((resolve) =>
      child.stdout.once('data', () => {
        resolve();
      }),
    );

    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    assert.equal(code, 130);
    assert.match(stdout, /^0af7651916cd43dd8448eb211c80319c a:4317$/m);
  });

  it('exits with code 2 and a message on bad usage', async () => {
    const { code, stderr } = await runOtelLb(['route', '--ring', 'nope', '--endpoints', 'a:1', 'x'], '');

    assert.equal(code, 2);
    assert.match(stderr, /unknown hash ring "nope"/);
  });
});
