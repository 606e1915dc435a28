/**
 * otel-lb's embedding API: the pieces that are stable enough to use from other code. Only
 * re-exports; see each module for documentation.
 */

export { ErrorCode, OtelLbError } from './errors.ts';
export { Signal, type SignalShape } from './otlp/signal.ts';
export { WireFormatError } from './otlp/wire.ts';
export { RoutingKey, splitRequest, type KeyRouter, type SplitPart, type SplitResult } from './otlp/splitter.ts';
export { TRACES_SHAPE, splitTraces } from './otlp/traces.ts';
export { LOGS_SHAPE, splitLogs } from './otlp/logs.ts';
export {
  DEFAULT_RING,
  RING_NAMES,
  RingName,
  normalizeEndpoints,
  type HashRing,
} from './components/exporter-loadbalancing/hash-ring/hash-ring.ts';
export { buildRing } from './components/exporter-loadbalancing/hash-ring/rings.ts';
export { createKeyRouter, keyEncodingFor, KeyEncoding } from './components/exporter-loadbalancing/routing.ts';
