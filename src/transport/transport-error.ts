/**
 * Errors of the transport building blocks that are not gRPC call outcomes: bad TLS material,
 * a proxy that refuses a tunnel, a dead connection, a failing auth extension, an OTLP/HTTP
 * export that failed. Like {@link OtelLbError} they carry a stable `code` that callers and
 * tests branch on; the message says what was wrong, where, and what to do.
 *
 * They are their own class (not `OtelLbError`) only because their codes are not in
 * `src/errors.ts`'s `ErrorCode`; the codes follow the same `ERR_*` convention.
 */

/** Stable codes of {@link TransportError}. */
export const TransportErrorCode = {
  /** TLS settings that cannot work: an unknown version, cipher suite or curve, or conflicting attributes. */
  TLS_SETTINGS_INVALID: 'ERR_TLS_SETTINGS_INVALID',
  /** A TLS file (CA, certificate, key) cannot be read. */
  TLS_FILE_UNREADABLE: 'ERR_TLS_FILE_UNREADABLE',
  /** A CA, certificate or key is not valid PEM (or holds no certificate at all). */
  TLS_PEM_INVALID: 'ERR_TLS_PEM_INVALID',
  /** The private key does not belong to the certificate. */
  TLS_KEY_MISMATCH: 'ERR_TLS_KEY_MISMATCH',
  /** `HTTPS_PROXY` (or a proxy URL) is not a usable proxy URL. */
  PROXY_URL_INVALID: 'ERR_PROXY_URL_INVALID',
  /** The proxy refused the CONNECT tunnel, or could not be reached. */
  PROXY_CONNECT_FAILED: 'ERR_PROXY_CONNECT_FAILED',
  /** A keepalive PING was not acknowledged in time: the connection is dead and was closed. */
  KEEPALIVE_TIMEOUT: 'ERR_KEEPALIVE_TIMEOUT',
  /** The backend's host name could not be resolved. */
  RESOLVE_FAILED: 'ERR_RESOLVE_FAILED',
  /** An auth extension failed to produce its credentials. */
  AUTH_FAILED: 'ERR_AUTH_FAILED',
  /** An OTLP/HTTP export was answered with a non-2xx status; `httpStatus` says which. */
  HTTP_STATUS: 'ERR_HTTP_STATUS',
  /** An OTLP/HTTP export could not be sent or its answer was lost (refused, reset, TLS failure). */
  HTTP_UNAVAILABLE: 'ERR_HTTP_UNAVAILABLE',
  /** An OTLP/HTTP export got no answer within its timeout. */
  HTTP_TIMEOUT: 'ERR_HTTP_TIMEOUT',
  /** An OTLP/HTTP export was cancelled by its caller (an abort signal, or the client was closed). */
  HTTP_CANCELLED: 'ERR_HTTP_CANCELLED',
  /** An OTLP/HTTP request could not be built (compression or JSON encoding failed). */
  HTTP_REQUEST_INVALID: 'ERR_HTTP_REQUEST_INVALID',
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

/** A transport failure with a stable {@link TransportErrorCode}. */
export class TransportError extends Error {
  readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransportError';
    this.code = code;
  }
}

/** The `code` property of an error (Node's `ECONNREFUSED`, OpenSSL's `CERT_HAS_EXPIRED`, ours), if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
