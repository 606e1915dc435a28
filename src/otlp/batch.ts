/**
 * A `Batch`: one OTLP export request as it travels through otel-lb, as protobuf bytes. Nothing
 * on the data path decodes it into objects (DESIGN.md, "Data flow").
 */

import type { Signal } from './signal.ts';

/** One export request of one signal. Immutable: nobody writes into `bytes` once built. */
export interface Batch {
  readonly signal: Signal;
  /** `ExportTraceServiceRequest`, `ExportLogsServiceRequest` or `ExportMetricsServiceRequest` bytes, uncompressed. */
  readonly bytes: Uint8Array;
  /** Spans, log records or data points in `bytes`; -1 when not counted (metrics, for now). */
  readonly items: number;
}
