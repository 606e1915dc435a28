/**
 * `otel-lb-v1`, otel-lb's default ring: consistent hashing (Karger et al. 1997) with
 * {@link OTEL_LB_V1_VNODES} virtual nodes per endpoint, compiled into a bit-packed table
 * of {@link OTEL_LB_V1_SLOTS} owners, so that a lookup is one hash and one table read.
 *
 * ## Placement (the definition; every constant in it is part of it)
 *
 * - The 2³² circle is cut into V = 16,384 equal strata of 2¹⁸ positions. Every endpoint
 *   has exactly one point (virtual node) in every stratum. With `a = murmur3(e, "pta1")`
 *   and `b = murmur3(e, "ptb1")` over the endpoint's UTF-8 bytes, its point in stratum `i`
 *   is at `i · 2¹⁸ + (p >>> 14)`, where `p = mix32(mix32(a + i · 0x9E3779B9) ^ b)` and
 *   `mix32` is Wellons' `lowbias32`. `a + i·φ` is a Weyl sequence and both mixes are
 *   bijections; the outer one, keyed by `b`, decorrelates two endpoints whose sequences
 *   overlap. Jittered (one point per stratum) rather than free placement: the same balance
 *   for many endpoints, better for few, and the build can work one stratum at a time, in
 *   cache, instead of sorting N·V points.
 * - The circle is also cut into 2²¹ slots of 2¹¹ positions. A key belongs to slot
 *   `murmur3(key, "key1") >>> 11`, and the slot to the owner of the first point at or after
 *   the slot's start, wrapping past the last point to the first. This is classic
 *   consistent hashing with the key hashed to 21 bits.
 * - Points of different endpoints at the same position (about `N² / 32` pairs for N
 *   endpoints) are ordered by `mix32(position ^ a ^ "tie1")`, then by endpoint: the rule
 *   favours no endpoint and depends only on the tied endpoints (never on sorted order).
 *
 * So placement depends only on the set of endpoints: not on their order, on the process,
 * on the machine (words are read little-endian explicitly) or on anything random.
 *
 * ## Guarantees (`node bench/micro/hash-ring-quality.ts`, 50 random endpoint sets per N)
 *
 * - Balance: an endpoint's share sums 16,384 arcs, so it varies by about 1/√V ≈ 0.8 %
 *   (less with few endpoints), plus the rounding to slots, which grows like √(N / 2²¹).
 *   Coefficient of variation of the shares: mean 0.3–0.8 %, worst 1.4 % for 2 … 100
 *   endpoints; mean 1.06 %, worst 1.13 % at 300; 1.4 % at 500, 2.1 % at 1,000, 3 % at
 *   2,000. (The upstream ring: 10–13 %, up to 27 % for `upstream-v1` at 300.)
 * - Minimal disruption: adding an endpoint moves exactly the slots whose first point is
 *   now one of the new endpoint's, all to it; removing one moves only its slots. The moved
 *   share is that endpoint's share: within 1.04 × the ideal `1/(N + 1)` (`1/N`) in every
 *   trial, and no key ever moves between two endpoints that stay.
 * - Cost (`bench/micro/hash-ring.bench.ts`, medians, 2-vCPU EPYC VM, Node 24): a 16-byte
 *   trace-ID lookup, hash included, takes ~23 ns when its table line is cached and ~33 ns
 *   over 64 Ki random IDs at 300 endpoints; the table holds ⌈log₂ N⌉ bits per slot
 *   (2.25 MiB at 300); a build takes ~10 ms for 10 endpoints, ~23 ms for 100, 55–70 ms for
 *   300 (~100 ms the first time in a process, before the JIT warms up) and ~160 ms for
 *   1,000, with a few KB of scratch.
 *
 * ## Compatibility contract
 *
 * Every replica of the load balancer, whatever its version, must route a key to the same
 * backend. The constants in this file (V, the slot count, the seeds, `0x9E3779B9`, the two
 * hash functions, the stratum layout and the tie rule) therefore ARE the algorithm
 * `otel-lb-v1`: changing any of them changes placement and requires a new ring name
 * (`otel-lb-v2`), never an edit here. The golden placements in `otel-lb-v1.test.ts` fail
 * on such an edit. How the table is stored and built is free to change.
 */

import { OtelLbError, ErrorCode } from '../../../errors.ts';
import { type HashRing, RingName, keyBytes, normalizeEndpoints } from './hash-ring.ts';

/**
 * Virtual nodes (points) per endpoint, one per stratum. Part of the compatibility
 * contract; it must never depend on the number of endpoints, or every membership change
 * would move every key.
 */
export const OTEL_LB_V1_VNODES = 16_384;

/** Key slots (owner table entries). Part of the compatibility contract. */
export const OTEL_LB_V1_SLOTS = 2 ** 21;

// Compatibility contract: the seeds are the big-endian ASCII of "key1", "pta1", "ptb1", "tie1".
const KEY_SEED = 0x6b65_7931;
const POINT_SEED_A = 0x7074_6131;
const POINT_SEED_B = 0x7074_6231;
const TIE_SEED = 0x7469_6531;
/** ⌊2³² / φ⌋: the Weyl increment between an endpoint's consecutive points. */
const WEYL_STEP = 0x9e37_79b9;

const STRATUM_BITS = 31 - Math.clz32(OTEL_LB_V1_VNODES);
/** A point's offset within its stratum has this many bits. */
const OFFSET_BITS = 32 - STRATUM_BITS;
const SLOT_BITS = 31 - Math.clz32(OTEL_LB_V1_SLOTS);
/** A key's slot is its hash shifted right by this much. */
const SLOT_SHIFT = 32 - SLOT_BITS;
const SLOTS_PER_STRATUM = OTEL_LB_V1_SLOTS / OTEL_LB_V1_VNODES;
const OFFSET_IN_SLOT_MASK = 2 ** SLOT_SHIFT - 1;
/**
 * The build packs a point as `offset in slot (11 bits) << OWNER_BITS | endpoint index`
 * in a positive int32, leaving one bit for {@link NO_POINT}.
 */
const OWNER_BITS = 31 - SLOT_SHIFT - 1;
const OWNER_MASK = 2 ** OWNER_BITS - 1;
/** Marks an empty slot in the build's per-slot first point: offset 2¹¹, after every point. */
const NO_POINT = 2 ** (SLOT_SHIFT + OWNER_BITS);
/**
 * Most endpoints a ring can hold (the build packs an endpoint index in 19 bits): far past
 * practical sizes, as balance degrades beyond ~1,000 endpoints and builds grow with N.
 */
export const OTEL_LB_V1_MAX_ENDPOINTS = 2 ** OWNER_BITS;

/**
 * MurmurHash3 x86_32 (Appleby) of `bytes[start, end)`, unsigned. Words are read
 * little-endian whatever the platform, so the result is the reference implementation's on
 * every machine.
 *
 * Pure, allocation-free and safe to call concurrently. The range must lie within `bytes`.
 */
export function murmur3(bytes: Uint8Array, start: number, end: number, seed: number): number {
  let h = seed | 0;
  let i = start;
  for (const lastBlock = end - 4; i <= lastBlock; i += 4) {
    let k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, 0xcc9e_2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b87_3593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe654_6b64) | 0;
  }
  const tail = end - i;
  if (tail > 0) {
    let k = bytes[i] as number;
    if (tail > 1) k |= (bytes[i + 1] as number) << 8;
    if (tail > 2) k |= (bytes[i + 2] as number) << 16;
    k = Math.imul(k, 0xcc9e_2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b87_3593);
  }
  h ^= end - start;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The `otel-lb-v1` hash of a routing key: MurmurHash3 x86_32 of `key[start, end)` with
 * the ring's key seed, unsigned; the key's slot is its top 21 bits. Murmur3's finalizer
 * avalanches every input bit, so sequential trace IDs and IDs with a timestamp prefix
 * (AWS X-Ray) spread as evenly as random ones.
 *
 * Pure, allocation-free and safe to call concurrently.
 */
export function hashOtelLbV1Key(key: Uint8Array, start: number, end: number): number {
  return murmur3(key, start, end, KEY_SEED);
}

/** Wellons' `lowbias32`: a bijective 32-bit finalizer with low avalanche bias. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb_352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846c_a68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The offset, within stratum `stratum`, of the point of the endpoint seeded `(seedA, seedB)`. */
function pointOffset(seedA: number, seedB: number, stratum: number): number {
  return mix32(mix32((seedA + Math.imul(stratum, WEYL_STEP)) | 0) ^ seedB) >>> (32 - OFFSET_BITS);
}

function tieRank(position: number, seedA: number): number {
  return mix32(position ^ seedA ^ TIE_SEED);
}

/**
 * Builds the `otel-lb-v1` ring over the set of `endpoints` (de-duplicated and sorted
 * first, so neither their order nor duplicates matter).
 *
 * Hashes N × 16,384 points, one stratum at a time with a few KB of scratch, and fills the
 * owner table (⌈log₂ N⌉ bits × 2²¹ slots). Takes 55–70 ms for 300 endpoints, growing
 * linearly in N past ~50 (see the benchmark). Pure and synchronous.
 *
 * The ring is immutable; its `locate` is O(1) (one hash and one table read),
 * allocation-free, never throws and is safe to call concurrently.
 *
 * @throws OtelLbError with code `ERR_LB_NO_BACKENDS` when `endpoints` is empty.
 * @throws OtelLbError `ERR_LB_TOO_MANY_BACKENDS` with more than {@link OTEL_LB_V1_MAX_ENDPOINTS} endpoints.
 */
export function buildOtelLbV1Ring(endpoints: Iterable<string>): HashRing {
  const sorted = normalizeEndpoints(endpoints);
  const n = sorted.length;
  if (n === 0) {
    throw new OtelLbError(
      ErrorCode.LB_NO_BACKENDS,
      'cannot build the otel-lb-v1 hash ring from an empty endpoint list; the resolver must report at least one backend',
    );
  }
  if (n > OTEL_LB_V1_MAX_ENDPOINTS) {
    throw new OtelLbError(
      ErrorCode.LB_TOO_MANY_BACKENDS,
      `the otel-lb-v1 hash ring holds at most ${OTEL_LB_V1_MAX_ENDPOINTS} endpoints, got ${n}: check the resolver's output`,
    );
  }
  const seedA = new Int32Array(n);
  const seedB = new Int32Array(n);
  for (let e = 0; e < n; e++) {
    const bytes = keyBytes(sorted[e] as string);
    seedA[e] = murmur3(bytes, 0, bytes.length, POINT_SEED_A);
    seedB[e] = murmur3(bytes, 0, bytes.length, POINT_SEED_B);
  }
  const table = new OwnerTable(n);
  const first = new StratumFirstPoints(seedA, seedB);
  // Slots are filled from the last to the first, each taking the first point in it, or
  // else the successor carried from the slots after it. The slots after the last point
  // wrap around to the circle's first point: the first point of stratum 0.
  first.compute(0);
  let successor = first.ownerOfFirstPoint();
  for (let stratum = OTEL_LB_V1_VNODES - 1; stratum >= 0; stratum--) {
    first.compute(stratum);
    successor = first.fillSlots(table, successor);
  }
  return new OtelLbV1Ring(Object.freeze(sorted), table);
}

/**
 * For one stratum at a time, the first point in each of its slots, packed as
 * `offset in slot << OWNER_BITS | endpoint index` so that the first is the smallest
 * (ties aside). The scratch is reused across strata.
 */
class StratumFirstPoints {
  readonly #first = new Int32Array(SLOTS_PER_STRATUM);
  readonly #seedA: Int32Array;
  readonly #seedB: Int32Array;
  #stratum = 0;

  constructor(seedA: Int32Array, seedB: Int32Array) {
    this.#seedA = seedA;
    this.#seedB = seedB;
  }

  compute(stratum: number): void {
    const seedA = this.#seedA;
    const seedB = this.#seedB;
    const first = this.#first;
    this.#stratum = stratum;
    first.fill(NO_POINT);
    for (let e = 0; e < seedA.length; e++) {
      const point = pointOffset(seedA[e] as number, seedB[e] as number, stratum);
      const slot = point >>> SLOT_SHIFT;
      const packed = ((point & OFFSET_IN_SLOT_MASK) << OWNER_BITS) | e;
      const held = first[slot] as number;
      if ((held ^ packed) >>> OWNER_BITS === 0) {
        first[slot] = this.#breakTie(slot, held, packed);
      } else {
        // Branch-free min (the comparison is a coin toss, so a branch would mispredict).
        const difference = held - packed;
        first[slot] = packed + (difference & (difference >> 31));
      }
    }
  }

  /**
   * Writes the owner of each of the stratum's slots to `table`, given the owner of the
   * first point after the stratum, and returns the owner of the stratum's first point.
   */
  fillSlots(table: OwnerTable, successor: number): number {
    const first = this.#first;
    const base = this.#stratum * SLOTS_PER_STRATUM;
    let next = successor;
    for (let slot = SLOTS_PER_STRATUM - 1; slot >= 0; slot--) {
      const packed = first[slot] as number;
      // Branch-free `if (packed !== NO_POINT) next = owner`: empty is all ones iff no point.
      const empty = -(packed >>> (SLOT_SHIFT + OWNER_BITS));
      next = (next & empty) | (packed & OWNER_MASK & ~empty);
      table.set(base + slot, next);
    }
    return next;
  }

  /** The owner of the stratum's first point (every stratum has N ≥ 1 points). */
  ownerOfFirstPoint(): number {
    let slot = 0;
    while ((this.#first[slot] as number) === NO_POINT) slot++;
    return (this.#first[slot] as number) & OWNER_MASK;
  }

  /** Of two points at the same position, returns the one the tie rule puts first. */
  #breakTie(slot: number, held: number, packed: number): number {
    const position = this.#stratum * 2 ** OFFSET_BITS + slot * 2 ** SLOT_SHIFT + (packed >>> OWNER_BITS);
    const heldRank = tieRank(position, this.#seedA[held & OWNER_MASK] as number);
    const rank = tieRank(position, this.#seedA[packed & OWNER_MASK] as number);
    return rank < heldRank || (rank === heldRank && packed < held) ? packed : held;
  }
}

/**
 * The owner of every slot, bit-packed: ⌈log₂ N⌉ bits per slot (2²¹ slots: 256 KiB for 2
 * endpoints, 2.25 MiB for 300, 4 MiB for 65,536). Lookups land on random slots, so the
 * table's size, not the arithmetic, sets their cost: halving it from 4 MiB (Uint16Array)
 * to 2.25 MiB made a cold lookup ~35 % faster.
 */
class OwnerTable {
  readonly bitsPerSlot: number;
  readonly #mask: number;
  /** The packed slots, then one padding word, so a slot can always be read as two words. */
  readonly #words: Uint32Array;

  constructor(endpointCount: number) {
    this.bitsPerSlot = Math.max(1, 32 - Math.clz32(endpointCount - 1));
    this.#mask = 2 ** this.bitsPerSlot - 1;
    this.#words = new Uint32Array((OTEL_LB_V1_SLOTS * this.bitsPerSlot) / 32 + 1);
  }

  /** Returns the owner of `slot`. */
  get(slot: number): number {
    const bit = slot * this.bitsPerSlot;
    const word = bit >>> 5;
    const shift = bit & 31;
    // The slot's bits are the low bits of the 64-bit little-endian pair (word, word + 1)
    // shifted right by `shift`; `<< 1 << (31 - shift)` is `<< (32 - shift)`, and 0 when
    // shift = 0, as JavaScript would otherwise shift by 32 mod 32 = 0.
    const low = (this.#words[word] as number) >>> shift;
    const high = ((this.#words[word + 1] as number) << 1) << (31 - shift);
    return (low | high) & this.#mask;
  }

  /** Sets the owner of `slot`, which must still be 0. */
  set(slot: number, owner: number): void {
    const bit = slot * this.bitsPerSlot;
    const word = bit >>> 5;
    const shift = bit & 31;
    this.#words[word] = (this.#words[word] as number) | (owner << shift);
    this.#words[word + 1] = (this.#words[word + 1] as number) | ((owner >>> 1) >>> (31 - shift));
  }

  /** Returns every slot's owner, unpacked. */
  unpack(): Uint32Array {
    const owners = new Uint32Array(OTEL_LB_V1_SLOTS);
    for (let slot = 0; slot < OTEL_LB_V1_SLOTS; slot++) owners[slot] = this.get(slot);
    return owners;
  }

  /** Returns how many slots each endpoint owns. */
  countSlots(endpointCount: number): Int32Array {
    const counts = new Int32Array(endpointCount);
    for (let slot = 0; slot < OTEL_LB_V1_SLOTS; slot++) {
      const owner = this.get(slot);
      counts[owner] = (counts[owner] as number) + 1;
    }
    return counts;
  }

  get sizeBytes(): number {
    return this.#words.byteLength;
  }
}

class OtelLbV1Ring implements HashRing {
  readonly name = RingName.OTEL_LB_V1;
  readonly endpoints: readonly string[];
  readonly #table: OwnerTable;

  constructor(endpoints: readonly string[], table: OwnerTable) {
    this.endpoints = endpoints;
    this.#table = table;
  }

  locate(key: Uint8Array, start: number, end: number): number {
    return this.#table.get(murmur3(key, start, end, KEY_SEED) >>> SLOT_SHIFT);
  }

  slotOwners(): Uint32Array {
    return this.#table.unpack();
  }

  shares(): Float64Array {
    return Float64Array.from(this.#table.countSlots(this.endpoints.length), (count) => count / OTEL_LB_V1_SLOTS);
  }

  sizeBytes(): number {
    return this.#table.sizeBytes;
  }
}

function asOtelLbV1Ring(ring: HashRing): OtelLbV1Ring {
  if (!(ring instanceof OtelLbV1Ring)) {
    throw new TypeError(`expected a ring built by buildOtelLbV1Ring, got ${ring.name}`);
  }
  return ring;
}

/**
 * The exact share of the key space each endpoint owns (slots owned / 2²¹), indexed like
 * `ring.endpoints`; sums to 1. For tests, benchmarks and diagnostics.
 *
 * @throws TypeError if `ring` was not built by {@link buildOtelLbV1Ring}.
 */
export function otelLbV1Shares(ring: HashRing): Float64Array {
  return asOtelLbV1Ring(ring).shares();
}

/**
 * A copy of the owner of every key slot (index into `ring.endpoints`): slot `s` holds the
 * keys whose {@link hashOtelLbV1Key} has `s` as its top 21 bits. Comparing two rings'
 * tables gives exactly which keys move. For tests and diagnostics.
 *
 * @throws TypeError if `ring` was not built by {@link buildOtelLbV1Ring}.
 */
export function otelLbV1SlotOwners(ring: HashRing): Uint32Array {
  return asOtelLbV1Ring(ring).slotOwners();
}

/**
 * Bytes of memory the ring's table holds (excluding the endpoint strings).
 *
 * @throws TypeError if `ring` was not built by {@link buildOtelLbV1Ring}.
 */
export function otelLbV1SizeBytes(ring: HashRing): number {
  return asOtelLbV1Ring(ring).sizeBytes();
}
