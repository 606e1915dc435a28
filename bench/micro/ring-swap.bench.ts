/**
 * How long ingest stalls while the load balancer swaps in a new ring of 300 backends.
 *
 *   node_modules/.bin/node bench/micro/ring-swap.bench.ts
 *
 * Requests flow through `LoadBalancer.consume` back to back (one per event-loop turn, to
 * backends that accept at once) while the backend set changes between 300 and 301
 * endpoints, 20 times. For each change it reports the longest gap between two requests
 * (the stall ingest saw) and how long the change took to be in use.
 */

import os from 'node:os';

import { LoadBalancer } from '../../src/components/exporter-loadbalancing/load-balancer.ts';
import type { Batch } from '../../src/otlp/batch.ts';
import { Signal } from '../../src/otlp/signal.ts';
import { RoutingKey } from '../../src/otlp/splitter.ts';
import { EXPORT_OK } from '../../src/transport/export-result.ts';
import { DEFAULT_QUEUE_SETTINGS } from '../../src/transport/queue.ts';
import { DEFAULT_RETRY_POLICY } from '../../src/transport/retry.ts';
import { buildTracesRequest } from '../../test/helpers/otlp-builders.ts';

const BACKENDS = Number(process.env.BACKENDS ?? 300);
const CHANGES = Number(process.env.CHANGES ?? 20);
const WARMUP = 3;

const endpoints = Array.from({ length: BACKENDS }, (_, i) => `10.1.${i >> 8}.${i & 255}:4317`);
const extra = `10.2.0.1:4317`;
const batch: Batch = {
  signal: Signal.TRACES,
  bytes: buildTracesRequest({ traces: 10, spansPerTrace: 5, seed: 7 }),
  items: -1,
};
const lb = new LoadBalancer({
  routingKey: RoutingKey.TRACE_ID,
  endpoints,
  queue: { ...DEFAULT_QUEUE_SETTINGS, queueSize: 1_000_000 },
  retry: DEFAULT_RETRY_POLICY,
  merge: { maxBytes: 0 },
  createClient: (endpoint) => ({
    endpoint,
    export: () => Promise.resolve(EXPORT_OK),
    close: () => Promise.resolve(),
  }),
});

let last = performance.now();
let maxGap = 0;
let requests = 0;
let ingesting = true;
const ingest = new Promise<void>((resolve) => {
  const tick = (): void => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    if (!ingesting) {
      resolve();
      return;
    }
    requests++;
    void lb.consume(batch, { signal: new AbortController().signal });
    setImmediate(tick);
  };
  setImmediate(tick);
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const stalls: number[] = [];
const latencies: number[] = [];
const baseline: number[] = [];
for (let i = 0; i < WARMUP + CHANGES; i++) {
  // A quiet stretch first: the gap ingest sees without a change.
  maxGap = 0;
  await new Promise((resolve) => setTimeout(resolve, 100));
  const quiet = maxGap;
  const next = i % 2 === 0 ? [...endpoints, extra] : endpoints;
  maxGap = 0;
  const started = performance.now();
  await lb.setEndpoints(next);
  const latency = performance.now() - started;
  // Let the turn after the change be counted too.
  await new Promise((resolve) => setImmediate(resolve));
  if (i >= WARMUP) {
    stalls.push(maxGap);
    latencies.push(latency);
    baseline.push(quiet);
  }
}
ingesting = false;
await ingest;
await lb.shutdown(Date.now() + 10_000);

const f = (ms: number): string => `${ms.toFixed(2)} ms`;
console.log(
  `ring swap under ingest: ${BACKENDS}↔${BACKENDS + 1} backends, ${CHANGES} changes, Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}`,
);
console.log(`  longest ingest gap, no change:     median ${f(median(baseline))}, max ${f(Math.max(...baseline))}`);
console.log(`  longest ingest gap during a change: median ${f(median(stalls))}, max ${f(Math.max(...stalls))}`);
console.log(`  change requested → ring in use:   median ${f(median(latencies))}, max ${f(Math.max(...latencies))}`);
console.log(`  requests routed: ${requests}`);
