/**
 * Micro-benchmarks of the hash rings (STYLE.md §9): a lookup of a 16-byte trace ID and of a
 * service name (hashing included), and a build from scratch, for 10, 100 and 300
 * endpoints, for `otel-lb-v1` and the upstream-compatible rings.
 *
 *   node_modules/.bin/node bench/micro/hash-ring.bench.ts                 full run, ~2 min
 *   BENCH_SMOKE=1 node_modules/.bin/node bench/micro/hash-ring.bench.ts   each case once (CI)
 *   BENCH_GROUPS='^build' node_modules/.bin/node bench/micro/hash-ring.bench.ts   some groups only
 *
 * Trace-ID lookups cycle through 65,536 distinct random IDs, so, as in production, each
 * lookup lands on an unpredictable part of the ring's table (for `otel-lb-v1`, 2.25 MiB at 300 endpoints,
 * more than L2 holds); the "hot" variant cycles through 256 IDs, whose table entries
 * stay cached, to show the cost of the hash and the code alone. One closure serves every
 * ring, so the `locate` call is polymorphic here, a few ns slower than in the load balancer.
 */

import { bench, do_not_optimize, group, run, summary } from 'mitata';

import { type HashRing, RingName, keyBytes } from '../../src/components/exporter-loadbalancing/hash-ring/hash-ring.ts';
import { buildOtelLbV1Ring } from '../../src/components/exporter-loadbalancing/hash-ring/otel-lb-v1.ts';
import { buildUpstreamRing } from '../../src/components/exporter-loadbalancing/hash-ring/upstream.ts';
import { createRandom } from '../../test/helpers/otlp-builders.ts';

const isSmoke = process.env.BENCH_SMOKE === '1';
/** `BENCH_GROUPS=<regex>` runs only the groups whose name matches, e.g. `build`. */
const onlyGroups = new RegExp(process.env.BENCH_GROUPS ?? '');

function formatNs(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(1)} µs` : `${ns.toFixed(1)} ns`;
}

const RINGS: readonly { name: RingName; build: (endpoints: readonly string[]) => HashRing }[] = [
  { name: RingName.OTEL_LB_V1, build: (endpoints) => buildOtelLbV1Ring(endpoints) },
  { name: RingName.UPSTREAM_V2, build: (endpoints) => buildUpstreamRing(RingName.UPSTREAM_V2, endpoints) },
  { name: RingName.UPSTREAM_V1, build: (endpoints) => buildUpstreamRing(RingName.UPSTREAM_V1, endpoints) },
];
const ENDPOINT_COUNTS = [10, 100, 300] as const;

function endpointsOf(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `otelcol-${i}.otelcol-headless.observability.svc.cluster.local:4317`);
}

/** Keys laid end to end in one buffer, as the routing code finds them in a request. */
interface KeySet {
  readonly bytes: Uint8Array;
  readonly starts: Int32Array;
}

function keySet(keys: readonly Uint8Array[]): KeySet {
  const starts = new Int32Array(keys.length + 1);
  keys.forEach((key, i) => {
    starts[i + 1] = (starts[i] ?? 0) + key.length;
  });
  const bytes = new Uint8Array(starts[keys.length] ?? 0);
  keys.forEach((key, i) => {
    bytes.set(key, starts[i]);
  });
  return { bytes, starts };
}

function traceIds(count: number): KeySet {
  const bytes = createRandom(0x2545_f491).bytes(16 * count);
  return keySet(Array.from({ length: count }, (_, i) => bytes.subarray(16 * i, 16 * i + 16)));
}

const SERVICE_PREFIXES = ['checkout', 'cart', 'frontend', 'payment-gateway'] as const;
const SERVICE_NAMES = keySet(
  Array.from({ length: 1024 }, (_, i) => keyBytes(`${SERVICE_PREFIXES[i % 4] ?? ''}-service-${i}`)),
);
const TRACE_IDS = traceIds(65_536);
const HOT_TRACE_IDS = traceIds(256);

/** Returns a function that looks up the next key of `keys` (cycling) on every call. */
function lookups(ring: HashRing, keys: KeySet): () => number {
  const count = keys.starts.length - 1;
  let i = 0;
  return () => {
    const owner = ring.locate(keys.bytes, keys.starts[i] as number, keys.starts[i + 1] as number);
    i = i + 1 === count ? 0 : i + 1;
    return owner;
  };
}

interface Case {
  readonly group: string;
  readonly name: string;
  readonly fn: () => unknown;
}

const cases: Case[] = [];
for (const count of ENDPOINT_COUNTS) {
  const endpoints = endpointsOf(count);
  for (const { name, build } of RINGS) {
    const ring = build(endpoints);
    cases.push(
      { group: `lookup trace ID, ${count} endpoints`, name: `${name} 64Ki keys`, fn: lookups(ring, TRACE_IDS) },
      {
        group: `lookup trace ID, ${count} endpoints`,
        name: `${name} 256 keys (hot)`,
        fn: lookups(ring, HOT_TRACE_IDS),
      },
      { group: `lookup service name, ${count} endpoints`, name, fn: lookups(ring, SERVICE_NAMES) },
      { group: `build, ${count} endpoints`, name, fn: () => build(endpoints) },
    );
  }
}

if (isSmoke) {
  for (const { fn } of cases) do_not_optimize(fn());
  console.log(`hash-ring.bench: smoke run of ${cases.length} cases passed`);
} else {
  const selected = cases.filter((c) => onlyGroups.test(c.group));
  const registered: Case[] = [];
  for (const name of new Set(selected.map((c) => c.group))) {
    group(name, () => {
      summary(() => {
        for (const c of selected.filter((k) => k.group === name)) {
          bench(c.name, c.fn);
          registered.push(c);
        }
      });
    });
  }
  const { benchmarks } = await run();
  // mitata prints averages; the README quotes medians. Trials come back in registration order.
  console.log('\n| case | median |\n|---|---:|');
  benchmarks.forEach((trial, i) => {
    const median = trial.runs[0]?.stats?.p50;
    const c = registered[i];
    if (c === undefined || trial.alias !== c.name) throw new TypeError(`unexpected trial ${trial.alias}`);
    console.log(`| ${c.group}: ${c.name} | ${median === undefined ? 'error' : formatNs(median)} |`);
  });
}
