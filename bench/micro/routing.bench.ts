/**
 * Micro-benchmark of the trace-ID split (src/otlp/splitter.ts through the default ring),
 * measured in the same run against the way a first TypeScript version would do it:
 * protobufjs decode → group spans by backend → protobufjs encode of each part.
 *
 *   node bench/micro/routing.bench.ts          # full run
 *   BENCH_SMOKE=1 node bench/micro/routing.bench.ts   # one quick pass (npm test)
 *
 * Prints medians, MB/s of input and the speed-up over decode + encode.
 */

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

const traces = buildTracesRequest();
const logs = buildLogsRequest();
const type = otlpRoot().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

console.log(
  `routing split benchmark — Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}${SMOKE ? ' (smoke run)' : ''}`,
);
console.log(`traces request: ${traces.length} bytes, 5000 spans; logs request: ${logs.length} bytes, 5000 records\n`);
console.log('| case | median | MB/s | protobufjs decode+regroup+encode | speed-up |');
console.log('|---|---:|---:|---:|---:|');
for (const backends of [4, 32]) {
  const ring = buildRing('otel-lb-v1', endpoints(backends));
  const router = createKeyRouter({ ring, signal: Signal.TRACES, routingKey: RoutingKey.TRACE_ID });
  const split = await measure(() => {
    do_not_optimize(splitTraces(traces, RoutingKey.TRACE_ID, router));
  }, OPTIONS);
  const naive = await measure(() => {
    do_not_optimize(naiveSplit(type, traces, router));
  }, OPTIONS);
  console.log(
    `| traces by traceID → ${backends} backends | ${(split.p50 / 1e6).toFixed(3)} ms | ${mbPerS(traces.length, split.p50).toFixed(0)} | ${(naive.p50 / 1e6).toFixed(2)} ms | ${(naive.p50 / split.p50).toFixed(1)} × |`,
  );
}
for (const backends of [4, 32]) {
  const ring = buildRing('otel-lb-v1', endpoints(backends));
  const byService = createKeyRouter({ ring, signal: Signal.TRACES, routingKey: RoutingKey.SERVICE });
  const service = await measure(() => {
    do_not_optimize(splitTraces(traces, RoutingKey.SERVICE, byService));
  }, OPTIONS);
  console.log(
    `| traces by service → ${backends} backends | ${(service.p50 / 1e6).toFixed(3)} ms | ${mbPerS(traces.length, service.p50).toFixed(0)} | | |`,
  );
  const logRouter = createKeyRouter({ ring, signal: Signal.LOGS, routingKey: RoutingKey.TRACE_ID });
  const log = await measure(() => {
    do_not_optimize(splitLogs(logs, RoutingKey.TRACE_ID, logRouter));
  }, OPTIONS);
  console.log(
    `| logs by traceID → ${backends} backends | ${(log.p50 / 1e6).toFixed(3)} ms | ${mbPerS(logs.length, log.p50).toFixed(0)} | | |`,
  );
}
