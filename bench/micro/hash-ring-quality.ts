/**
 * The hash rings' quality, as a Markdown table for the README: how evenly they share the
 * key space, how many keys move when one endpoint joins or leaves, how long a build takes
 * and how much memory a ring holds.
 *
 *   node_modules/.bin/node bench/micro/hash-ring-quality.ts                 full table, ~1 min
 *   BENCH_SMOKE=1 node_modules/.bin/node bench/micro/hash-ring-quality.ts   2 sizes, 2 trials (CI)
 *
 * Every figure is exact, not sampled from keys: a ring is reduced to the owner of each of
 * its equally likely key positions (`otel-lb-v1`: 2²¹ slots; upstream: 36,000 positions,
 * each key's `crc32 % 36000`). Columns:
 *
 * - CV: coefficient of variation (population standard deviation / mean) of the endpoints'
 *   key shares; first for the endpoints `10.0.0.<i>:4317`, then mean, 95th percentile and
 *   worst over the random endpoint sets (random `10.x.y.z:4317`, the same for every ring).
 * - moved on add / remove: share of keys that change endpoint when a random endpoint joins
 *   (leaves), over the ideal 1/(N + 1) (1/N); mean and worst over the trials.
 * - collateral: share of keys that move between two endpoints that both stay (ideally 0),
 *   worst over the trials.
 * - build: median over the trials of building the ring from scratch.
 * - memory: heap and array-buffer bytes a built ring retains (after a full GC), endpoint
 *   strings excluded.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { type HashRing, RingName } from '../../src/components/exporter-loadbalancing/hash-ring/hash-ring.ts';
import {
  buildOtelLbV1Ring,
  otelLbV1SlotOwners,
} from '../../src/components/exporter-loadbalancing/hash-ring/otel-lb-v1.ts';
import {
  UPSTREAM_MAX_POSITIONS,
  buildUpstreamRing,
  upstreamRingItems,
} from '../../src/components/exporter-loadbalancing/hash-ring/upstream.ts';

const isSmoke = process.env.BENCH_SMOKE === '1';
const ENDPOINT_COUNTS = isSmoke ? [2, 10] : [2, 3, 5, 10, 17, 32, 50, 100, 200, 300];
const TRIALS = isSmoke ? 2 : 50;

interface RingKind {
  readonly name: RingName;
  build(endpoints: readonly string[]): HashRing;
  /** The owner (index into `ring.endpoints`) of each equally likely key position. */
  positionOwners(ring: HashRing): ArrayLike<number>;
}

/** Upstream keys land on `crc32(key) % 36000`, each position (near enough) equally likely. */
function upstreamPositionOwners(
  version: typeof RingName.UPSTREAM_V2 | typeof RingName.UPSTREAM_V1,
  ring: HashRing,
): Int32Array {
  const items = upstreamRingItems(version, ring.endpoints);
  const owners = new Int32Array(UPSTREAM_MAX_POSITIONS);
  const last = items.at(-1);
  if (last === undefined) throw new TypeError('an upstream ring without points');
  let position = 0;
  for (const [itemPosition, endpoint] of items) {
    for (; position <= itemPosition; position++) owners[position] = endpoint;
  }
  // Past the last point, keys wrap to the first.
  owners.fill((items[0] ?? last)[1], position);
  return owners;
}

const RING_KINDS: readonly RingKind[] = [
  {
    name: RingName.OTEL_LB_V1,
    build: (endpoints) => buildOtelLbV1Ring(endpoints),
    positionOwners: (ring) => otelLbV1SlotOwners(ring),
  },
  {
    name: RingName.UPSTREAM_V2,
    build: (endpoints) => buildUpstreamRing(RingName.UPSTREAM_V2, endpoints),
    positionOwners: (ring) => upstreamPositionOwners(RingName.UPSTREAM_V2, ring),
  },
  {
    name: RingName.UPSTREAM_V1,
    build: (endpoints) => buildUpstreamRing(RingName.UPSTREAM_V1, endpoints),
    positionOwners: (ring) => upstreamPositionOwners(RingName.UPSTREAM_V1, ring),
  },
];

/** A seeded PRNG (mulberry32), so that the table is reproducible. */
function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b_79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomEndpoint(random: () => number): string {
  const octet = (): number => Math.floor(random() * 256);
  return `10.${octet()}.${octet()}.${octet()}:4317`;
}

/** `count` distinct random endpoints, plus one more that is not among them. */
function randomEndpoints(count: number, random: () => number): { endpoints: string[]; extra: string } {
  const set = new Set<string>();
  while (set.size < count + 1) set.add(randomEndpoint(random));
  const endpoints = [...set];
  return { endpoints: endpoints.slice(0, count), extra: endpoints[count] as string };
}

function coefficientOfVariation(ring: HashRing, owners: ArrayLike<number>): number {
  const counts = new Float64Array(ring.endpoints.length);
  for (let p = 0; p < owners.length; p++) {
    const owner = owners[p] as number;
    counts[owner] = (counts[owner] as number) + 1;
  }
  const mean = owners.length / counts.length;
  let sumOfSquares = 0;
  for (const count of counts) sumOfSquares += (count - mean) ** 2;
  return Math.sqrt(sumOfSquares / counts.length) / mean;
}

/**
 * Compares two rings key position by key position: the share of keys whose endpoint
 * changes, and the share that moves between two endpoints that are in both rings.
 */
function movement(
  before: HashRing,
  beforeOwners: ArrayLike<number>,
  after: HashRing,
  afterOwners: ArrayLike<number>,
): { moved: number; collateral: number } {
  const afterEndpoints = new Set(after.endpoints);
  const beforeEndpoints = new Set(before.endpoints);
  let moved = 0;
  let collateral = 0;
  for (let p = 0; p < beforeOwners.length; p++) {
    const from = before.endpoints[beforeOwners[p] as number] as string;
    const to = after.endpoints[afterOwners[p] as number] as string;
    if (from !== to) {
      moved++;
      if (afterEndpoints.has(from) && beforeEndpoints.has(to)) collateral++;
    }
  }
  return { moved: moved / beforeOwners.length, collateral: collateral / beforeOwners.length };
}

/** A full garbage collection (`--expose-gc`, enabled from here so the script runs as is). */
const collectGarbage = ((): (() => void) => {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') throw new TypeError('cannot reach the garbage collector');
  return gc as () => void;
})();

/** Heap and array-buffer bytes in use, once garbage collection has settled. */
async function usedBytes(): Promise<number> {
  // Array buffers are freed after the collection that finds them dead, by a sweeper that
  // may still be running: collect until two readings agree.
  let previous = Number.NaN;
  for (let attempt = 0; attempt < 20; attempt++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    const used = heapUsed + arrayBuffers;
    if (Math.abs(used - previous) < 1024) return used;
    previous = used;
  }
  return previous;
}

/** Bytes one ring retains: the growth of the heap while it holds 8 of them, over 8. */
async function retainedBytes(build: () => HashRing): Promise<number> {
  const count = 8;
  const before = await usedBytes();
  const rings = Array.from({ length: count }, build);
  const after = await usedBytes();
  // Keep the rings alive until after the measurement.
  if (rings.length !== count) throw new TypeError('unreachable');
  return (after - before) / count;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

const percent = (value: number): string => `${(100 * value).toFixed(2)} %`;
const ratio = (value: number): string => value.toFixed(3);

console.log(`Node.js ${process.version}, ${process.arch}, ${TRIALS} random endpoint sets per size.\n`);
console.log(
  '| ring | N | CV 10.0.0.i | CV mean | CV p95 | CV worst | moved on add mean / worst | moved on remove mean / worst | collateral worst | build ms | memory |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const kind of RING_KINDS) {
  for (const n of ENDPOINT_COUNTS) {
    const random = mulberry32(0x0071_ab1e + n);
    const canonical = kind.build(Array.from({ length: n }, (_, i) => `10.0.0.${i}:4317`));
    const canonicalCv = coefficientOfVariation(canonical, kind.positionOwners(canonical));
    const cvs: number[] = [];
    const added: number[] = [];
    const removed: number[] = [];
    const collateral: number[] = [];
    const buildMs: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const { endpoints, extra } = randomEndpoints(n, random);
      const started = performance.now();
      const ring = kind.build(endpoints);
      buildMs.push(performance.now() - started);
      const owners = kind.positionOwners(ring);
      cvs.push(coefficientOfVariation(ring, owners));

      const grown = kind.build([...endpoints, extra]);
      const onAdd = movement(ring, owners, grown, kind.positionOwners(grown));
      added.push(onAdd.moved * (n + 1));
      collateral.push(onAdd.collateral);
      if (n > 1) {
        const leaving = endpoints[Math.floor(random() * n)];
        const shrunk = kind.build(endpoints.filter((e) => e !== leaving));
        const onRemove = movement(ring, owners, shrunk, kind.positionOwners(shrunk));
        removed.push(onRemove.moved * n);
        collateral.push(onRemove.collateral);
      }
    }
    const endpoints = Array.from({ length: n }, (_, i) => `10.0.0.${i}:4317`);
    const bytes = await retainedBytes(() => kind.build(endpoints));
    console.log(
      [
        '',
        kind.name,
        n,
        percent(canonicalCv),
        percent(mean(cvs)),
        percent(quantile(cvs, 0.95)),
        percent(Math.max(...cvs)),
        `${ratio(mean(added))} / ${ratio(Math.max(...added))}`,
        `${ratio(mean(removed))} / ${ratio(Math.max(...removed))}`,
        percent(Math.max(...collateral)),
        quantile(buildMs, 0.5).toFixed(1),
        `${(bytes / 1024).toFixed(0)} KiB`,
        '',
      ]
        .join(' | ')
        .trim(),
    );
  }
}
