/**
 * Micro-benchmark of the trace-ID split (src/otlp/splitter.ts through the default ring),
 * measured in the same run against the way a first TypeScript version would do it:
 * protobufjs decode → group spans by backend → protobufjs encode of each part.
 *
 *   node bench/micro/routing.bench.ts          # full run, ~1 min
 *   BENCH_SMOKE=1 node bench/micro/routing.bench.ts   # one quick pass (npm test)
 *
 * Every case runs in a fresh process, five times, interleaved, so that no case inherits
 * another's garbage or JIT feedback. The table shows the median of the five per-process
 * medians and, in brackets, the fastest of them: on a shared VM a process sometimes runs
 * a whole measurement up to 2 × slower (seen with the same binary and input, no GC or
 * deopt to explain it), so the fastest says what the code does, the median what a busy
 * machine gives. MB/s is of input; the speed-up is over protobufjs decode + encode.
 */

import { spawnSync } from 'node:child_process';
import os from 'node:os';

import { measure, do_not_optimize } from 'mitata';
import type { Message, Type } from 'protobufjs';

import { buildRing } from '../../src/components/exporter-loadbalancing/hash-ring/rings.ts';
import { createKeyRouter } from '../../src/components/exporter-loadbalancing/routing.ts';
import { otlpRoot } from '../../src/otlp/proto/decoder.ts';
import { Signal } from '../../src/otlp/signal.ts';
import { RoutingKey, type KeyRouter } from '../../src/otlp/splitter.ts';
import { splitTraces } from '../../src/otlp/traces.ts';
import { splitLogs } from '../../src/otlp/logs.ts';
import { buildLogsRequest, buildTracesRequest } from '../../test/helpers/otlp-builders.ts';

const SMOKE = process.env.BENCH_SMOKE === '1';
const OPTIONS = SMOKE
  ? { min_samples: 1, max_samples: 2, min_cpu_time: 0, warmup_samples: 0 }
  : { min_cpu_time: 1_500_000_000 };

interface SpanLike {
  traceId?: Uint8Array;
}
interface ScopeLike {
  scope?: unknown;
  schemaUrl?: string;
  spans?: SpanLike[];
}
interface ResourceLike {
  resource?: unknown;
  schemaUrl?: string;
  scopeSpans?: ScopeLike[];
}

/** decode → regroup → encode with protobufjs message objects (no toObject): the baseline. */
function naiveSplit(type: Type, bytes: Uint8Array, router: KeyRouter): Uint8Array[] {
  const request = type.decode(bytes) as Message & { resourceSpans?: ResourceLike[] };
  const perBackend = new Map<number, ResourceLike[]>();
  for (const rs of request.resourceSpans ?? []) {
    const byBackend = new Map<number, ResourceLike>();
    for (const ss of rs.scopeSpans ?? []) {
      const scopes = new Map<number, ScopeLike>();
      for (const span of ss.spans ?? []) {
        const id = span.traceId ?? new Uint8Array(0);
        const b = id.length === 16 ? router.route(id, 0, 16) : router.keyless();
        let scope = scopes.get(b);
        if (scope === undefined) {
          scope = { scope: ss.scope, schemaUrl: ss.schemaUrl ?? '', spans: [] };
          scopes.set(b, scope);
          let res = byBackend.get(b);
          if (res === undefined) {
            res = { resource: rs.resource, schemaUrl: rs.schemaUrl ?? '', scopeSpans: [] };
            byBackend.set(b, res);
            const list = perBackend.get(b) ?? [];
            list.push(res);
            perBackend.set(b, list);
          }
          res.scopeSpans?.push(scope);
        }
        scope.spans?.push(span);
      }
    }
  }
  return [...perBackend.values()].map((resourceSpans) => type.encode(type.create({ resourceSpans })).finish());
}

function endpoints(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}:4317`);
}

function mbPerS(bytes: number, ns: number): number {
  return bytes / 1e6 / (ns / 1e9);
}

interface Case {
  readonly name: string;
  readonly bytes: () => number;
  readonly prepare: () => () => unknown;
}

const traces = buildTracesRequest();
const logs = buildLogsRequest();

function traceIdSplit(backends: number): () => () => unknown {
  return () => {
    const router = createKeyRouter({
      ring: buildRing('otel-lb-v1', endpoints(backends)),
      signal: Signal.TRACES,
      routingKey: RoutingKey.TRACE_ID,
    });
    return () => splitTraces(traces, RoutingKey.TRACE_ID, router);
  };
}

function naive(backends: number): () => () => unknown {
  return () => {
    const type = otlpRoot().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
    const router = createKeyRouter({
      ring: buildRing('otel-lb-v1', endpoints(backends)),
      signal: Signal.TRACES,
      routingKey: RoutingKey.TRACE_ID,
    });
    return () => naiveSplit(type, traces, router);
  };
}

const CASES: readonly Case[] = [
  { name: 'traces by traceID → 4 backends', bytes: () => traces.length, prepare: traceIdSplit(4) },
  { name: 'traces by traceID → 32 backends', bytes: () => traces.length, prepare: traceIdSplit(32) },
  { name: 'naive → 4 backends', bytes: () => traces.length, prepare: naive(4) },
  { name: 'naive → 32 backends', bytes: () => traces.length, prepare: naive(32) },
  ...[4, 32].map((backends) => ({
    name: `traces by service → ${backends} backends`,
    bytes: () => traces.length,
    prepare: () => {
      const router = createKeyRouter({
        ring: buildRing('otel-lb-v1', endpoints(backends)),
        signal: Signal.TRACES,
        routingKey: RoutingKey.SERVICE,
      });
      return () => splitTraces(traces, RoutingKey.SERVICE, router);
    },
  })),
  ...[4, 32].map((backends) => ({
    name: `logs by traceID → ${backends} backends`,
    bytes: () => logs.length,
    prepare: () => {
      const router = createKeyRouter({
        ring: buildRing('otel-lb-v1', endpoints(backends)),
        signal: Signal.LOGS,
        routingKey: RoutingKey.TRACE_ID,
      });
      return () => splitLogs(logs, RoutingKey.TRACE_ID, router);
    },
  })),
];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

if (process.argv[2] === '--case') {
  // Child: measure one case, print its median in ns.
  const c = CASES.find((x) => x.name === process.argv[3]);
  if (c === undefined) throw new Error(`no case ${String(process.argv[3])}`);
  const fn = c.prepare();
  const stats = await measure(() => {
    do_not_optimize(fn());
  }, OPTIONS);
  console.log(JSON.stringify({ p50: stats.p50 }));
} else {
  const rounds = SMOKE ? 1 : 5;
  const samples = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const c of CASES) {
      const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--case', c.name], {
        encoding: 'utf8',
        env: process.env,
      });
      if (child.status !== 0) throw new Error(`case ${c.name} failed: ${child.stderr}`);
      samples.get(c.name)?.push((JSON.parse(child.stdout) as { p50: number }).p50);
    }
  }
  const p50 = (name: string): number => median(samples.get(name) ?? []);

  console.log(
    `routing split benchmark — Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}${SMOKE ? ' (smoke run)' : ''}`,
  );
  console.log(
    `traces request: ${traces.length} bytes, 5000 spans; logs request: ${logs.length} bytes, 5000 records; median of ${rounds} processes per case\n`,
  );
  console.log('| case | median (fastest) | MB/s (fastest) | protobufjs decode+regroup+encode | speed-up |');
  console.log('|---|---:|---:|---:|---:|');
  const fastest = (name: string): number => Math.min(...(samples.get(name) ?? []));
  for (const c of CASES) {
    if (c.name.startsWith('naive')) continue;
    const ns = p50(c.name);
    const baseline = c.name.startsWith('traces by traceID')
      ? p50(c.name.replace('traces by traceID', 'naive'))
      : undefined;
    const vs =
      baseline === undefined ? '| |' : `| ${(baseline / 1e6).toFixed(2)} ms | ${(baseline / ns).toFixed(1)} × |`;
    const best = fastest(c.name);
    console.log(
      `| ${c.name} | ${(ns / 1e6).toFixed(3)} ms (${(best / 1e6).toFixed(3)}) | ${mbPerS(c.bytes(), ns).toFixed(0)} (${mbPerS(c.bytes(), best).toFixed(0)}) ${vs}`,
    );
  }
}
