/**
 * Routing keys → backends: binds a hash ring to the splitter for one signal and routing
 * key, with the key encoding each ring expects.
 *
 * Key encodings:
 * - `otel-lb-v1` hashes the raw key bytes for every signal: the 16 trace-ID bytes for
 *   spans and log records alike (so a trace's logs meet its spans on the same backend),
 *   and the `service.name` value's UTF-8 bytes.
 * - `upstream-v2` and `upstream-v1` hash what the OpenTelemetry Collector releases with
 *   that ring hash: the 16 raw trace-ID bytes for spans and the raw `service.name` value
 *   for service routing; for log records, `upstream-v2` hashes the 32 lower-case hex
 *   digits of the trace ID (contrib v0.154 to v0.156; v0.131 to v0.153 still hashed the
 *   raw bytes) and `upstream-v1` the raw bytes, as every release before v0.131 did.
 *
 * Pure: no I/O, no clocks. A router holds a 32-byte scratch buffer, so one router must not
 * be used by two splits at once (splits are synchronous, so one per load balancer is fine).
 */

import type { KeyRouter, RoutingKey } from '../../otlp/splitter.ts';
import { Signal } from '../../otlp/signal.ts';
import { RingName, type HashRing } from './hash-ring/hash-ring.ts';

/** How a ring reads a routing key. */
export const KeyEncoding = {
  /** The key's bytes as they are. */
  RAW: 'raw',
  /** A 16-byte trace ID as 32 lower-case hex digits. */
  HEX: 'hex',
} as const;
export type KeyEncoding = (typeof KeyEncoding)[keyof typeof KeyEncoding];

/** The key encoding `ring` uses for `signal` routed by `routingKey`. */
export function keyEncodingFor(ring: RingName, signal: Signal, routingKey: RoutingKey): KeyEncoding {
  if (ring === RingName.UPSTREAM_V2 && signal === Signal.LOGS && routingKey === 'traceID') return KeyEncoding.HEX;
  return KeyEncoding.RAW;
}

/** Options of {@link createKeyRouter}. */
export interface KeyRouterOptions {
  readonly ring: HashRing;
  readonly signal: Signal;
  readonly routingKey: RoutingKey;
  /**
   * Picks the backend for a request's items that have no trace ID (called at most once per
   * request). The default rotates through the backends, one request at a time.
   */
  readonly keyless?: () => number;
}

const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');

/**
 * Builds the {@link KeyRouter} that the splitter consults for one request: backend indexes
 * are indexes into `ring.endpoints`.
 */
export function createKeyRouter(options: KeyRouterOptions): KeyRouter {
  const { ring } = options;
  const backendCount = ring.endpoints.length;
  let next = 0;
  const keyless =
    options.keyless ??
    (() => {
      const b = next;
      next = (next + 1) % backendCount;
      return b;
    });
  if (keyEncodingFor(ring.name, options.signal, options.routingKey) === KeyEncoding.RAW) {
    return { backendCount, route: (key, start, end) => ring.locate(key, start, end), keyless };
  }
  const scratch = new Uint8Array(32);
  return {
    backendCount,
    route(key, start, end) {
      let o = 0;
      for (let i = start; i < end && o < 32; i++) {
        const b = key[i] as number;
        scratch[o++] = HEX_DIGITS[b >>> 4] as number;
        scratch[o++] = HEX_DIGITS[b & 15] as number;
      }
      return ring.locate(scratch, 0, o);
    },
    keyless,
  };
}
