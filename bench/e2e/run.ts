/**
 * `npm run bench`: the end-to-end benchmark of issue 3. Load generator → system under test
 * (SUT) → 4 sink backends, each in its own process, for every SUT and compression in one
 * run, on the same pool of requests and with the same concurrency:
 *
 * - `otel-lb`: GrpcServer → LoadBalancer (traceID, default ring, queue, retry, merge) →
 *   GrpcClient per sink (`sut-otel-lb.ts`); `otel-lb-Nw`: the same in N `node:cluster`
 *   workers sharing the port;
 * - `passthrough`: the same transport forwarding bytes to one sink, the floor
 *   (`sut-passthrough.ts`);
 * - `naive`: grpc-js + protobufjs decode → group by trace → encode (`sut-naive.ts`);
 * - `haproxy`: round-robin h2c proxy, not trace-aware (`sut-haproxy.ts`; installed with
 *   apt-get when missing and possible, skipped with the reason otherwise).
 *
 *   node bench/e2e/run.ts [--duration 10] [--json FILE] [--only otel-lb,passthrough] …
 *   node bench/e2e/run.ts --smoke        (or BENCH_SMOKE=1: ~1 s per SUT, for npm test)
 *
 * Per run: the sinks and the SUT start fresh; the load generator (one process for the whole
 * bench) drives the SUT for the warm-up, then for the measuring window; then it stops, the
 * SUT drains, and every acknowledged span is checked to have arrived. spans/s are spans
 * delivered to the sinks in the window; CPU and peak RSS are the SUT's own (its processes
 * only); split traces come from the sinks' ledger. See `report.ts` for every figure.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import type { Compression } from '../../src/transport/compression.ts';
import type { LoadReport, LoadStart } from './load-generator.ts';
import { ensureHaproxy } from './haproxy.ts';
import { writePool, type PoolSummary } from './pool.ts';
import { Processes } from './processes.ts';
import { formatReport, writeJson, type RunResult } from './report.ts';
import type { ProcessUsage } from './rpc.ts';
import type { SinkStats } from './sinks.ts';
import type { SutReady } from './sut-args.ts';

const HELP = `Usage: node bench/e2e/run.ts [options]   (npm run bench -- [options])

End-to-end benchmark: load generator -> SUT -> 4 sink backends, each its own process,
for every SUT with compression none and gzip. Prints a table with ratios to passthrough.

Options:
  --duration SECONDS     Measuring window of each run (default 10; smoke 0.4).
  --warmup SECONDS       Load before the window (default 3; smoke 0.3).
  --json FILE            Write {"runs":[{name, compression, spans_per_s, mb_per_s, p50_ms,
                         p99_ms, cpu_s_per_million_spans, peak_rss_mb, split_traces}]}.
  --only NAME,...        SUTs to run: otel-lb, otel-lb-<N>w, passthrough, naive, haproxy.
  --compression LIST     none,gzip (default both).
  --concurrency N        Calls in flight from the load generator (default 32).
  --connections N        HTTP/2 connections they share (default 4).
  --workers N            Workers of the otel-lb-<N>w cluster run (default 2; 1 = no such run).
  --client-gzip MODE     precompressed (default): gzip runs send a pool compressed beforehand;
                         per-call: GrpcClient compresses every call (the client then
                         competes with the SUT for the CPU).
  --cpu-prof DIR         Run the Node.js SUTs with --cpu-prof, profiles written to DIR.
  --node-options=ARGS    More Node.js options for the Node.js SUTs (e.g. --node-options=--trace-gc).
  --smoke                One short pass per SUT, no haproxy install (also BENCH_SMOKE=1).
  -h, --help             Show this help.
`;

/** A system under test: its name and how to start it. */
interface Sut {
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
  readonly node: boolean;
  readonly oneNodeProcess: boolean;
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    json: { type: 'string' },
    only: { type: 'string' },
    compression: { type: 'string', default: 'none,gzip' },
    concurrency: { type: 'string', default: '32' },
    connections: { type: 'string', default: '4' },
    workers: { type: 'string', default: '2' },
    'client-gzip': { type: 'string', default: 'precompressed' },
    'cpu-prof': { type: 'string' },
    'node-options': { type: 'string', default: '' },
    smoke: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
} else {
  await main();
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} ${value}: give a number above 0`);
  return n;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const smoke = values.smoke || process.env.BENCH_SMOKE === '1';
  const durationS = positive('duration', values.duration ?? (smoke ? '0.4' : '10'));
  const warmupS = Number(values.warmup ?? (smoke ? '0.3' : '3'));
  const concurrency = Math.round(positive('concurrency', values.concurrency));
  const connections = Math.round(positive('connections', values.connections));
  const workers = Math.round(positive('workers', values.workers));
  const compressions = values.compression.split(',').filter((c) => c !== '');
  for (const c of compressions) if (c !== 'none' && c !== 'gzip') throw new Error(`--compression ${c}: none or gzip`);
  const clientGzip = values['client-gzip'];
  if (clientGzip !== 'precompressed' && clientGzip !== 'per-call') {
    throw new Error(`--client-gzip ${clientGzip}: precompressed or per-call`);
  }
  const cpuProf = values['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`];
  const sutExecArgv = [...cpuProf, ...values['node-options'].split(/\s+/).filter((a) => a !== '')];

  const all: Sut[] = [
    { name: 'otel-lb', script: 'sut-otel-lb.ts', args: [], node: true, oneNodeProcess: true },
    ...(workers > 1
      ? [
          {
            name: `otel-lb-${workers}w`,
            script: 'sut-otel-lb.ts',
            args: ['--workers', String(workers)],
            node: true,
            oneNodeProcess: false,
          },
        ]
      : []),
    { name: 'passthrough', script: 'sut-passthrough.ts', args: [], node: true, oneNodeProcess: true },
    { name: 'naive', script: 'sut-naive.ts', args: [], node: true, oneNodeProcess: true },
    { name: 'haproxy', script: 'sut-haproxy.ts', args: [], node: false, oneNodeProcess: false },
  ];
  const only = values.only?.split(',').filter((n) => n !== '');
  for (const name of only ?? []) {
    if (!all.some((s) => s.name === name))
      throw new Error(`--only ${name}: one of ${all.map((s) => s.name).join(', ')}`);
  }
  let suts = only === undefined ? all : all.filter((s) => only.includes(s.name));
  const skipped: string[] = [];
  if (suts.some((s) => s.name === 'haproxy')) {
    const haproxy = ensureHaproxy(!smoke, log);
    if (haproxy.ok) {
      log(`haproxy ${haproxy.version}`);
    } else {
      log(`skipping haproxy: ${haproxy.reason}`);
      skipped.push(`haproxy: ${haproxy.reason}`);
      suts = suts.filter((s) => s.name !== 'haproxy');
    }
  }

  const processes = new Processes();
  processes.installExitHandlers(log);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otel-lb-bench-'));
  process.once('exit', () => {
    rmSync(dir, { recursive: true, force: true });
  });

  // The pool: ~200 spans (~44 KB) per request on average, as an SDK's batch processor sends.
  const poolFile = path.join(dir, 'pool.bin');
  const rounds = smoke ? 2 : 20;
  const tracesPerRound = 100;
  log(`generating the request pool (${rounds} rounds of ${tracesPerRound} traces)…`);
  const pool: PoolSummary = await writePool(poolFile, rounds, tracesPerRound);
  const bytesPerSpan = pool.bytes / pool.spans;
  const loader = processes.fork(
    'load-generator.ts',
    ['--pool', poolFile, '--concurrency', String(concurrency), '--connections', String(connections)],
    'load generator',
  );
  await loader.ready;

  const runs: RunResult[] = [];
  for (const compression of compressions) {
    for (const sut of suts) {
      log(`${sut.name}, ${compression}: warm-up ${warmupS} s, measuring ${durationS} s…`);
      const run = await measure(sut, compression);
      runs.push(run);
      log(
        `  ${Math.round(run.spans_per_s).toLocaleString('en-US')} spans/s, p50 ${run.p50_ms.toFixed(1)} ms, p99 ${run.p99_ms.toFixed(1)} ms, ${run.cpu_s_per_million_spans.toFixed(2)} CPU s / M spans, peak RSS ${run.peak_rss_mb.toFixed(0)} MB, ${run.split_traces} split traces`,
      );
    }
  }
  await processes.stop(loader);

  const cpus = os.cpus();
  const report = formatReport(
    {
      command: `node bench/e2e/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
      node: process.version,
      cpu: cpus[0]?.model ?? 'unknown CPU',
      cores: cpus.length,
      memoryGb: os.totalmem() / 1e9,
      pool: `${pool.requests} OTLP trace requests from the demo workload (13 services, 5-50 spans per trace, each trace spread over several requests): ${pool.spans.toLocaleString('en-US')} spans, ${pool.traces.toLocaleString('en-US')} traces, ${(pool.bytes / 1e6).toFixed(1)} MB, ${Math.round(pool.spans / pool.requests)} spans / ${(pool.bytes / pool.requests / 1e3).toFixed(1)} KB per request on average, replayed in order`,
      load: `${concurrency} calls in flight over ${connections} HTTP/2 connections, closed loop; GrpcClient, or with gzip ${clientGzip === 'precompressed' ? 'the pool compressed beforehand (gzip level 1) sent by a plain HTTP/2 gRPC caller' : 'GrpcClient compressing every call'}; the same compression client -> SUT and SUT -> sinks; 4 sinks in one process`,
      timing: `warm-up ${warmupS} s, then a ${durationS} s window per run${smoke ? ' (smoke run: figures are not meaningful)' : ''}`,
      skipped,
    },
    runs,
  );
  process.stdout.write(`${report}\n`);
  if (values.json !== undefined) await writeJson(values.json, runs);

  /** One run: fresh sinks and SUT, warm-up, window, drain, figures. */
  async function measure(sut: Sut, compression: string): Promise<RunResult> {
    const sinks = processes.fork('sinks.ts', ['--backends', '4'], 'sinks');
    const { endpoints } = (await sinks.ready) as { endpoints: string[] };
    const target = processes.fork(
      sut.script,
      ['--endpoints', endpoints.join(','), '--compression', compression, ...sut.args],
      sut.name,
      sut.node ? sutExecArgv : [],
    );
    try {
      const { port } = (await target.ready) as SutReady;
      await loader.call('start', {
        port,
        compression: compression as Compression,
        precompressed: clientGzip === 'precompressed',
      } satisfies LoadStart);
      await sleep(warmupS * 1000);

      const [sutA, sinksA] = await Promise.all([
        target.call<ProcessUsage>('stats'),
        sinks.call<SinkStats>('stats'),
        loader.call('mark'),
      ]);
      const startedAt = performance.now();
      await sleep(durationS * 1000);
      const stopping = loader.call<LoadReport>('stop');
      const [sutB, sinksB] = await Promise.all([target.call<ProcessUsage>('stats'), sinks.call<SinkStats>('stats')]);
      const windowS = (performance.now() - startedAt) / 1000;
      const load = await stopping;

      // Let the SUT deliver what it has acknowledged (its queue), then take the final counts.
      let final = await sinks.call<SinkStats>('stats');
      for (let waited = 0; final.spans < load.totalAckedSpans && waited < 10_000; waited += 50) {
        await sleep(50);
        final = await sinks.call<SinkStats>('stats');
      }
      const sutEnd = await target.call<ProcessUsage>('stats');

      const spans = sinksB.spans - sinksA.spans;
      const spansPerS = spans / windowS;
      return {
        name: sut.name,
        compression,
        spans_per_s: spansPerS,
        mb_per_s: (spansPerS * bytesPerSpan) / 1e6,
        p50_ms: load.p50Ms,
        p99_ms: load.p99Ms,
        cpu_s_per_million_spans: spans === 0 ? Number.NaN : ((sutB.cpuS - sutA.cpuS) / spans) * 1e6,
        peak_rss_mb: sutEnd.peakRssMb,
        split_traces: final.splitTraces,
        detail: {
          ackedSpansPerS: load.spans / load.windowS,
          sutCores: (sutB.cpuS - sutA.cpuS) / windowS,
          clientCores: load.cpuS / load.windowS,
          sinksCores: (sinksB.cpuS - sinksA.cpuS) / windowS,
          requestsInPerS: load.calls / load.windowS,
          requestsOutPerS: (sinksB.requests - sinksA.requests) / windowS,
          refused: load.refused,
          failed: load.failed,
          lostSpans: Math.max(0, load.totalAckedSpans - final.spans),
          lastError: load.lastError,
          perBackend: final.perBackend,
          oneNodeProcess: sut.oneNodeProcess,
        },
      };
    } finally {
      await processes.stop(target);
      await processes.stop(sinks);
    }
  }
}
