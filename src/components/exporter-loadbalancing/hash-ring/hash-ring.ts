/**
 * The consistent-hash ring interface shared by every ring algorithm.
 *
 * A ring maps a routing key (a trace ID's bytes, a service name's UTF-8 bytes, …) to one
 * backend endpoint. Rings are pure values: built once from a set of endpoints, immutable
 * afterwards, safe to share between any number of concurrent lookups, and free of I/O.
 * The load balancer builds a new ring whenever the endpoint set changes and swaps it in.
 */

/** A built ring. */
export interface HashRing {
  /** The algorithm's name, as accepted by `--ring` and `hash_ring`. */
  readonly name: RingName;
  /**
   * The endpoints the ring was built from: de-duplicated and sorted byte-wise (as Go's
   * `sort.Strings`), whatever order they were given in. {@link HashRing.locate} returns an
   * index into this array.
   */
  readonly endpoints: readonly string[];
  /**
   * Returns the index in {@link HashRing.endpoints} of the backend that owns the key held in
   * `key[start, end)`. The bytes are read, never kept or modified. Never throws for any
   * key, including an empty one (`start === end`).
   */
  locate(key: Uint8Array, start: number, end: number): number;
}

/** Names of the ring algorithms. */
export const RingName = {
  /** otel-lb's default ring; see `otel-lb-v1.ts`. */
  OTEL_LB_V1: 'otel-lb-v1',
  /** Bit-exact OpenTelemetry Collector contrib ring, v0.131 to v0.156 (linear probing). */
  UPSTREAM_V2: 'upstream-v2',
  /** Bit-exact OpenTelemetry Collector contrib ring before v0.131 (colliding points dropped). */
  UPSTREAM_V1: 'upstream-v1',
} as const;
export type RingName = (typeof RingName)[keyof typeof RingName];

/** The ring used when none is configured. */
export const DEFAULT_RING: RingName = RingName.OTEL_LB_V1;

/** Every ring name, default first (for help texts and error messages). */
export const RING_NAMES: readonly RingName[] = [RingName.OTEL_LB_V1, RingName.UPSTREAM_V2, RingName.UPSTREAM_V1];

/** Type guard for user input naming a ring. */
export function isRingName(value: string): value is RingName {
  return (RING_NAMES as readonly string[]).includes(value);
}

const UTF8 = new TextEncoder();

/** UTF-8 bytes of a string key, for callers that hold keys as strings. */
export function keyBytes(key: string): Uint8Array {
  return UTF8.encode(key);
}

/**
 * Sorts endpoints byte-wise (UTF-8 code units, as Go's `sort.Strings`) and removes
 * duplicates. Every ring starts from this, so that its placement depends on the set of
 * endpoints only, never on the order a resolver returned them in.
 */
export function normalizeEndpoints(endpoints: Iterable<string>): string[] {
  return [...new Set(endpoints)]
    .map((endpoint) => ({ endpoint, bytes: UTF8.encode(endpoint) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ endpoint }) => endpoint);
}
