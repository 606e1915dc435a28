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
  /**
   * The metadata of the request the items came in (gRPC metadata or HTTP headers, names in
   * lower case), when the receiver keeps it (`include_metadata = true`): what
   * `otelcol.auth.headers` `from_context` reads. Parts of a split request share it.
   */
  readonly metadata?: RequestMetadata;
}

/** Request metadata: lower-case names → values. */
export type RequestMetadata = ReadonlyMap<string, readonly string[]>;

/**
 * Request metadata from HTTP/1 or HTTP/2 headers, pseudo-headers (`:path`) left out; names
 * are lower case already in Node.
 */
export function metadataFromHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): RequestMetadata {
  const out = new Map<string, readonly string[]>();
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    out.set(name, typeof value === 'string' ? [value] : value);
  }
  return out;
}
