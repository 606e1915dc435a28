/**
 * An OTLP exporter's connection to one backend: what a sender needs of the transport.
 * The gRPC client (`grpc-client.ts`) implements it; tests use fakes.
 */

import type { Batch } from '../otlp/batch.ts';
import type { ExportResult } from './export-result.ts';

/** Options of one export call. */
export interface ExportOptions {
  /** Aborts the call (shutdown, a caller that gives up); the result is then retryable. */
  readonly signal?: AbortSignal;
  /** Per-call timeout in milliseconds, sent as `grpc-timeout`; the client's default if absent. */
  readonly timeoutMs?: number;
}

/**
 * A client of one backend endpoint. `export` never rejects: every failure is an
 * {@link ExportResult} (a connection that cannot be made is `retryable`). Safe to call
 * concurrently; calls share one connection. `close` ends the connection after in-flight
 * calls finish, and is idempotent.
 */
export interface OtlpClient {
  /** The endpoint, as given (`host:port`). */
  readonly endpoint: string;
  export(batch: Batch, options?: ExportOptions): Promise<ExportResult>;
  /**
   * Optional: sends `batches` (at least one, all of one signal) as one request, their
   * concatenation (protobuf reads concatenated requests as one request holding all their
   * resources), without first copying them into one buffer. Same contract as `export`.
   * Senders that merge batches use it when present and send the concatenation otherwise.
   */
  exportMerged?(batches: readonly Batch[], options?: ExportOptions): Promise<ExportResult>;
  close(): Promise<void>;
}
