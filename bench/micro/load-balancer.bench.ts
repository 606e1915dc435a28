/**
 * Micro-benchmark of the load balancer's data path without the network: the end-to-end
 * bench's request pool (the demo workload, `bench/e2e/pool.ts`) through a
 * {@link LoadBalancer} with the default ring, queue, retry and merge settings into 4 fake
 * backends that answer OK one event-loop turn later. It measures what otel-lb adds on top
 * of its transport: the split by trace ID, the ring lookups, the queues and the merging
 * dispatch, with the garbage they make (CPU time of the whole process, GC threads
 * included).
 *
 *   node bench/micro/load-balancer.bench.ts            # 5 processes, ~1 min
 *   BENCH_SMOKE=1 node bench/micro/load-balancer.bench.ts   # one quick pass (npm test)
 *
 * 32 callers send the pool's requests in a closed loop, as the e2e load generator does.
 * Each measurement runs in a fresh process; the table gives the median of the processes
 * and the fastest (see `routing.bench.ts` on why both).
 */

import { spawnSync } from 'node:child_process';
import os from 'node:os';

import { LoadBalancer } from '../../src/components/exporter-loadbalancing/load-balancer.ts';
import { Workload } from '../../src/demo/workload.ts';
import type { Batch } from '../../src/otlp/batch.ts';
import { RoutingKey } from '../../src/otlp/splitter.ts';
import { EXPORT_OK, type ExportResult } from '../../src/transport/export-result.ts';
import type { OtlpClient } from '../../src/transport/otlp-client.ts';
import { DEFAULT_QUEUE_SETTINGS } from '../../src/transport/queue.ts';
import { DEFAULT_RETRY_POLICY } from '../../src/transport/retry.ts';
import { DEFAULT_MERGE_SETTINGS } from '../../src/transport/sender.ts';

const SMOKE = process.env.BENCH_SMOKE === '1';
const CALLERS = 32;
const ENDPOINTS = ['127.0.0.1:4001', '127.0.0.1:4002', '127.0.0.1:4003', '127.0.0.1:4004'];

/** What one process measured. */
interface Sample {
  readonly cpuNsPerSpan: number;
  readonly requestsOutPerIn: number;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A backend that counts what it is sent and answers OK on the next turn of the event loop. */
class FakeBackend implements OtlpClient {
  readonly endpoint: string;
  private readonly counts: { items: number; requests: number };

  constructor(endpoint: string, counts: { items: number; requests: number }) {
    this.endpoint = endpoint;
    this.counts = counts;
  }

  export(batch: Batch): Promise<ExportResult> {
    return this.answer(batch.items);
  }

  exportMerged(batches: readonly Batch[]): Promise<ExportResult> {
    let items = 0;
    for (const b of batches) items += b.items;
    return this.answer(items);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private async answer(items: number): Promise<ExportResult> {
    await nextTurn();
    this.counts.items += items;
    this.counts.requests++;
    return EXPORT_OK;
  }
}

async function measureOnce(): Promise<Sample> {
  const workload = new Workload(42);
  const pool: Batch[] = [];
  for (let r = 0; r < (SMOKE ? 2 : 20); r++) pool.push(...workload.round(100).traces);
  let poolSpans = 0;
  for (const b of pool) poolSpans += b.items;
  const counts = { items: 0, requests: 0 };
  const lb = new LoadBalancer({
    routingKey: RoutingKey.TRACE_ID,
    endpoints: ENDPOINTS,
    queue: DEFAULT_QUEUE_SETTINGS,
    retry: DEFAULT_RETRY_POLICY,
    merge: DEFAULT_MERGE_SETTINGS,
    createClient: (endpoint) => new FakeBackend(endpoint, counts),
  });
  const context = { signal: new AbortController().signal };
  const drive = async (passes: number): Promise<void> => {
    let next = 0;
    const total = pool.length * passes;
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        while (next < total) {
          const batch = pool[next++ % pool.length] as Batch;
          const result = await lb.consume(batch, context);
          if (result.kind !== 'ok') throw new Error(`the load balancer answered ${result.kind}`);
          await nextTurn();
        }
      }),
    );
  };
  await drive(SMOKE ? 1 : 20);
  const passes = SMOKE ? 1 : 100;
  const itemsBefore = counts.items;
  const requestsBefore = counts.requests;
  const cpuBefore = process.cpuUsage();
  await drive(passes);
  while (counts.items - itemsBefore < poolSpans * passes) await nextTurn();
  const cpu = process.cpuUsage(cpuBefore);
  await lb.shutdown(Date.now() + 1_000);
  return {
    cpuNsPerSpan: ((cpu.user + cpu.system) * 1_000) / (counts.items - itemsBefore),
    requestsOutPerIn: (counts.requests - requestsBefore) / (pool.length * passes),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(await measureOnce()));
} else {
  const processes = SMOKE ? 1 : 5;
  const samples: Sample[] = [];
  for (let i = 0; i < processes; i++) {
    const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--child'], {
      encoding: 'utf8',
      env: process.env,
    });
    if (child.status !== 0) throw new Error(`measurement ${i} failed: ${child.stderr}`);
    samples.push(JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '') as Sample);
  }
  const cpu = samples.map((s) => s.cpuNsPerSpan);
  console.log(
    `load-balancer data path — Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}${SMOKE ? ' (smoke run)' : ''}`,
  );
  console.log(
    `the e2e bench's pool through LoadBalancer (traceID, default ring, queue, retry, merge) into 4 fake backends; ${CALLERS} callers; ${processes} processes\n`,
  );
  console.log('| case | CPU ns / span, median (fastest) | requests out / in |');
  console.log('|---|---:|---:|');
  console.log(
    `| demo workload → 4 backends | ${median(cpu).toFixed(0)} (${Math.min(...cpu).toFixed(0)}) | ${median(samples.map((s) => s.requestsOutPerIn)).toFixed(2)} |`,
  );
}
