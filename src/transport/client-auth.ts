/**
 * Per-request credentials for exporters: the seam where `otelcol.auth.basic`,
 * `otelcol.auth.bearer` and `otelcol.auth.headers` handlers plug into the gRPC and OTLP/HTTP
 * clients (the Collector's `extensionauth.Client`: gRPC `PerRPCCredentials`, an HTTP
 * `RoundTripper`). Defined here, by its callers (STYLE.md §5).
 */

import type { RequestMetadata } from '../otlp/batch.ts';

/**
 * Credentials added to every request. `headers` is called once per request, just before it
 * is sent, so that a handler can refresh a token; it may answer synchronously (no await is
 * added to the request then) or with a promise. Names are case-insensitive; the values win
 * over the client's configured `headers`.
 *
 * If `headers` throws or rejects, that request fails as retryable (gRPC: UNAVAILABLE, as
 * grpc-go does for failing per-RPC credentials) with the error as its cause.
 *
 * Implementations must be safe to call concurrently.
 */
export interface ClientAuth {
  /** `metadata`: the request's, when the receiver kept it (for headers copied from the request). */
  headers(metadata?: RequestMetadata): Promise<Readonly<Record<string, string>>> | Readonly<Record<string, string>>;
  /**
   * Whether the credentials may only travel over TLS, as gRPC asks of basic and bearer
   * auth (`RequireTransportSecurity`): a gRPC client on a plaintext connection then fails
   * every call (retryable UNAVAILABLE, as grpc-go) instead of sending them. OTLP/HTTP has no
   * such rule (the Collector's HTTP client sends them anyway). Default false.
   */
  readonly requiresTransportSecurity?: boolean;
}

/** Whether `value` is a promise (of an auth handler's headers), without awaiting a plain value. */
export function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
