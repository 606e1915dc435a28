/**
 * Bit-exact reproductions of the OpenTelemetry Collector contrib loadbalancing exporter's
 * consistent-hash ring (`exporter/loadbalancingexporter/consistent_hashing.go`), so that an
 * otel-lb replica running beside Go collectors sends every key to the same backend.
 *
 * Both versions place `weight` (100) points per endpoint on a circle of 36,000 positions,
 * processing the endpoints in the order given (sorted, as every upstream resolver delivers
 * them), and route a key to the first point at or after `crc32(key) % 36000`, wrapping
 * around to the lowest point.
 *
 * - `upstream-v1` (contrib before v0.131): point i of endpoint e is
 *   `crc32(e ‖ byte(i)) % 36000`; a point whose position is already taken is dropped.
 * - `upstream-v2` (contrib v0.131 to v0.156, PR #41271): point i is
 *   `crc32(e ‖ uint32_le(i)) % 36000`; a taken position is resolved by linear probing to the
 *   next position, but after 10 probes the point is dropped, even when the 10th probed
 *   position is free (upstream's loop tests the probe count, not the slot, after it ends).
 *
 * Being bit-exact, both keep upstream's flaws: 100 points per endpoint leave per-backend
 * shares uneven (coefficient of variation typically 5 to 15 %), and as the 36,000 positions
 * fill up (hundreds of endpoints) the endpoints late in sort order lose the most points,
 * because earlier ones took the positions first.
 *
 * Upstream finds the point with a binary search; since positions are only 0 … 35,999, we
 * tabulate the owner of every position at build time, so a lookup is one CRC-32 and one
 * array load.
 */

import { OtelLbError, ErrorCode } from '../../../errors.ts';
import { crc32, crc32Update } from './crc32.ts';
import { type HashRing, RingName, keyBytes, normalizeEndpoints } from './hash-ring.ts';

/** Number of positions on the upstream ring: "360 degrees with two decimal places". */
export const UPSTREAM_MAX_POSITIONS = 36_000;
/** Points per endpoint in every upstream release (`defaultWeight`). */
export const UPSTREAM_DEFAULT_WEIGHT = 100;
/** Linear-probing steps `upstream-v2` takes from a taken position before it drops the point. */
export const UPSTREAM_LINEAR_PROBE_LIMIT = 10;

/** The upstream ring versions this module reproduces. */
export type UpstreamRingVersion = typeof RingName.UPSTREAM_V2 | typeof RingName.UPSTREAM_V1;

/**
 * One point of an upstream ring: `[position, endpointIndex]`, the position in
 * 0 … 35,999 and the index of its endpoint in the list the ring was built from. This is
 * upstream's `ringItem{pos, endpoint}` and the golden file's `rings.*.items` format.
 */
export type UpstreamRingItem = readonly [position: number, endpointIndex: number];

/** Marks a free position in the slot table. */
const FREE = -1;

/**
 * Builds an upstream-compatible ring over the set of `endpoints`.
 *
 * The endpoints are de-duplicated and sorted byte-wise first ({@link normalizeEndpoints}),
 * as upstream's resolvers sort them, so the result depends only on the set. (Upstream's ring
 * does not de-duplicate: a hostname listed twice in a Go collector's static resolver gets
 * twice the points under v2, and no extra ones under v1.) Building costs
 * `weight × endpoints` CRC-32 updates, the collision handling and one pass over the 36,000
 * positions: a few milliseconds for 300 endpoints, most of it probing a crowded table. The
 * ring then holds a 72 KB owner table.
 *
 * The returned ring is immutable; its `locate` is pure, allocation-free, O(1) and safe to
 * call concurrently.
 *
 * @param version which upstream release family to reproduce.
 * @throws OtelLbError with code `ERR_LB_NO_BACKENDS` when `endpoints` is empty. Callers are
 *   expected to check first: upstream keeps no ring at all in that state.
 */
export function buildUpstreamRing(version: UpstreamRingVersion, endpoints: Iterable<string>): HashRing {
  const sorted = normalizeEndpoints(endpoints);
  if (sorted.length === 0) {
    throw new OtelLbError(
      ErrorCode.LB_NO_BACKENDS,
      `cannot build the ${version} hash ring from an empty endpoint list: ` +
        'the resolver must report at least one backend',
    );
  }
  const owners = tabulateOwners(placePoints(version, sorted, UPSTREAM_DEFAULT_WEIGHT), sorted.length);
  return new UpstreamRing(version, Object.freeze(sorted), owners);
}

/**
 * Lists the points of an upstream ring in ascending position order, exactly as upstream's
 * `positionsForEndpoints(endpoints, weight)` does: the endpoints are processed in the order
 * given, neither sorted nor de-duplicated (so a repeated endpoint gets points again under
 * `upstream-v2`, and none under `upstream-v1`). For tests and diagnostics; routing uses
 * {@link buildUpstreamRing}.
 *
 * Pure and safe to call concurrently.
 *
 * @param weight points per endpoint, 0 … 2³² − 1 (upstream always uses 100; its unit tests
 *   use 5). `upstream-v1` hashes only the low byte of the point number, as upstream does.
 * @returns `[position, endpointIndex]` pairs, `endpointIndex` indexing `endpoints`; empty
 *   when `endpoints` is.
 */
export function upstreamRingItems(
  version: UpstreamRingVersion,
  endpoints: readonly string[],
  weight: number = UPSTREAM_DEFAULT_WEIGHT,
): UpstreamRingItem[] {
  const slots = placePoints(version, endpoints, weight);
  const items: UpstreamRingItem[] = [];
  for (let position = 0; position < UPSTREAM_MAX_POSITIONS; position++) {
    const owner = slots[position] as number;
    if (owner !== FREE) {
      items.push([position, owner]);
    }
  }
  return items;
}

class UpstreamRing implements HashRing {
  readonly name: UpstreamRingVersion;
  readonly endpoints: readonly string[];
  readonly #owners: Uint16Array | Uint32Array;

  constructor(name: UpstreamRingVersion, endpoints: readonly string[], owners: Uint16Array | Uint32Array) {
    this.name = name;
    this.endpoints = endpoints;
    this.#owners = owners;
  }

  locate(key: Uint8Array, start: number, end: number): number {
    return this.#owners[crc32(key, start, end) % UPSTREAM_MAX_POSITIONS] as number;
  }
}

/**
 * Runs upstream's `positionsForEndpoints` placement. Returns, for every position, the index
 * of the endpoint whose point sits there, or {@link FREE}. The table doubles as upstream's
 * `positions` map of taken positions, and listing it in index order yields upstream's
 * sorted `items` without a sort.
 */
function placePoints(version: UpstreamRingVersion, endpoints: readonly string[], weight: number): Int32Array {
  if (!(Number.isInteger(weight) && weight >= 0 && weight <= 0xffff_ffff)) {
    throw new RangeError(`upstream ring weight must be an integer in [0, 2^32), got ${weight}`);
  }
  const isV2 = version === RingName.UPSTREAM_V2;
  // v2 hashes uint32_le(i), v1 only byte(i): the first byte of the same buffer.
  const suffixLength = isV2 ? 4 : 1;
  // Upstream's v2 loop stops after 10 steps and then drops the point without looking at
  // the slot it stepped onto, so it only ever examines 10 positions: home + 0 … 9.
  const positionsExamined = isV2 ? UPSTREAM_LINEAR_PROBE_LIMIT : 1;
  const slots = new Int32Array(UPSTREAM_MAX_POSITIONS).fill(FREE);
  const suffix = new Uint8Array(4);

  for (const [index, endpoint] of endpoints.entries()) {
    const endpointCrc = crc32(keyBytes(endpoint));
    for (let point = 0; point < weight; point++) {
      suffix[0] = point;
      suffix[1] = point >>> 8;
      suffix[2] = point >>> 16;
      suffix[3] = point >>> 24;
      const home = crc32Update(endpointCrc, suffix, 0, suffixLength) % UPSTREAM_MAX_POSITIONS;
      const position = freePosition(slots, home, positionsExamined);
      if (position !== FREE) {
        slots[position] = index;
      }
    }
  }
  return slots;
}

/** The first free position among `home` and the `examined - 1` after it (wrapping), or FREE. */
function freePosition(slots: Int32Array, home: number, examined: number): number {
  let position = home;
  for (let i = 0; i < examined; i++) {
    if (slots[position] === FREE) {
      return position;
    }
    position = position === UPSTREAM_MAX_POSITIONS - 1 ? 0 : position + 1;
  }
  return FREE;
}

/**
 * Turns the slot table into the owner of every key position: the endpoint of the first
 * point at or after the position, wrapping to the lowest point. Needs at least one point,
 * which any non-empty endpoint list with weight ≥ 1 gives.
 */
function tabulateOwners(slots: Int32Array, endpointCount: number): Uint16Array | Uint32Array {
  // Indices fit 16 bits for any realistic ring, and a 72 KB table stays in cache better.
  const owners =
    endpointCount <= 0x1_0000 ? new Uint16Array(UPSTREAM_MAX_POSITIONS) : new Uint32Array(UPSTREAM_MAX_POSITIONS);
  const lowest = slots.findIndex((owner) => owner !== FREE);
  if (lowest < 0) {
    throw new TypeError('upstream ring: no point was placed');
  }
  let next = slots[lowest] as number;
  for (let position = UPSTREAM_MAX_POSITIONS - 1; position >= 0; position--) {
    const owner = slots[position] as number;
    if (owner !== FREE) {
      next = owner;
    }
    owners[position] = next;
  }
  return owners;
}
