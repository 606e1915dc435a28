import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

const RUNNER = new URL('../../bench/micro/run.ts', import.meta.url).pathname;

describe('npm run bench (smoke)', () => {
  it('runs every micro-benchmark once and prints its tables', async () => {
    const child = spawn(process.execPath, [RUNNER], {
      env: { ...process.env, BENCH_SMOKE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });

    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    assert.equal(code, 0, stderr);
    assert.match(stdout, /traces by traceID → 32 backends/);
    assert.match(stdout, /otel-lb-v1/);
  });
});
