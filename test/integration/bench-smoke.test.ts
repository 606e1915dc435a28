import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

const MICRO = new URL('../../bench/micro/run.ts', import.meta.url).pathname;
const E2E = new URL('../../bench/e2e/run.ts', import.meta.url).pathname;

/** Runs a bench script to its end; resolves to its exit code and output. */
async function runBench(
  script: string,
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [script, ...args], {
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
  return { code, stdout, stderr };
}

interface JsonRun {
  name: string;
  compression: string;
  spans_per_s: number;
  mb_per_s: number;
  p50_ms: number;
  p99_ms: number;
  cpu_s_per_million_spans: number;
  peak_rss_mb: number;
  split_traces: number;
}

describe('npm run bench:micro (smoke)', () => {
  it('runs every micro-benchmark once and prints its tables', async () => {
    const { code, stdout, stderr } = await runBench(MICRO, []);

    assert.equal(code, 0, stderr);
    assert.match(stdout, /traces by traceID → 32 backends/);
    assert.match(stdout, /otel-lb-v1/);
  });
});

describe('npm run bench (smoke)', () => {
  it('measures otel-lb, passthrough and naive with both compressions, delivers every span whole, writes the JSON', async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'otel-lb-bench-smoke-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const jsonFile = path.join(dir, 'bench.json');

    const { code, stdout, stderr } = await runBench(E2E, [
      '--smoke',
      '--only',
      'otel-lb,passthrough,naive',
      '--json',
      jsonFile,
    ]);

    assert.equal(code, 0, stderr);
    assert.match(stdout, /\| SUT \| compression \| spans\/s \| × passthrough/);
    const { runs } = JSON.parse(readFileSync(jsonFile, 'utf8')) as { runs: JsonRun[] };
    assert.deepEqual(runs.map((r) => `${r.name}/${r.compression}`).sort(), [
      'naive/gzip',
      'naive/none',
      'otel-lb/gzip',
      'otel-lb/none',
      'passthrough/gzip',
      'passthrough/none',
    ]);
    for (const run of runs) {
      assert.deepEqual(Object.keys(run).sort(), [
        'compression',
        'cpu_s_per_million_spans',
        'mb_per_s',
        'name',
        'p50_ms',
        'p99_ms',
        'peak_rss_mb',
        'spans_per_s',
        'split_traces',
      ]);
      assert.ok(run.spans_per_s > 0, `${run.name}/${run.compression} delivered spans`);
      assert.equal(run.split_traces, 0, `${run.name}/${run.compression} split traces`);
    }
    assert.doesNotMatch(stderr, /dropped a batch/);
    assert.doesNotMatch(stdout, /lost/i);
  });
});
