/**
 * The outcome of handing a batch to the next hop (STYLE.md §3): a value, never a thrown
 * error. The retry layer and the queue switch on `kind`; receivers turn it into a gRPC
 * status or an HTTP status code.
 */

/** Outcome of an export. */
export type ExportResult =
  | { readonly kind: 'ok' }
  /** Worth trying again: the backend is down, overloaded, or the deadline passed. */
  | { readonly kind: 'retryable'; readonly error: Error; readonly retryAfterMs?: number }
  /** Will fail again: bad data, bad credentials, unknown service. Not retried. */
  | { readonly kind: 'permanent'; readonly error: Error };

/** The one `ok` result. */
export const EXPORT_OK: ExportResult = Object.freeze({ kind: 'ok' });

/** A retryable result. */
export function retryable(error: Error, retryAfterMs?: number): ExportResult {
  return retryAfterMs === undefined ? { kind: 'retryable', error } : { kind: 'retryable', error, retryAfterMs };
}

/** A permanent result. */
export function permanent(error: Error): ExportResult {
  return { kind: 'permanent', error };
}
