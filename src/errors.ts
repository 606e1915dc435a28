/**
 * Operational errors of otel-lb (STYLE.md §3): every error that crosses a module boundary is
 * an {@link OtelLbError} with a stable {@link ErrorCode}. Callers and tests branch on `code`,
 * never on the message, which is written for the operator: what was wrong, where, and what
 * to do about it.
 */

/** Stable error codes, in the style of undici's `UND_ERR_*`. */
export const ErrorCode = {
  /** An OTLP protobuf payload is not well formed (truncated, bad length, wrong wire type). */
  OTLP_MALFORMED: 'ERR_OTLP_MALFORMED',
  /** A trace ID in an OTLP payload is neither empty nor 16 bytes long. */
  OTLP_BAD_TRACE_ID: 'ERR_OTLP_BAD_TRACE_ID',
  /** A hash ring was asked for with an empty endpoint list. */
  LB_NO_BACKENDS: 'ERR_LB_NO_BACKENDS',
  /** More endpoints than a hash ring can hold. */
  LB_TOO_MANY_BACKENDS: 'ERR_LB_TOO_MANY_BACKENDS',
  /** A backend's sending queue is full; the request was refused and may be retried. */
  LB_QUEUE_FULL: 'ERR_LB_QUEUE_FULL',
  /** otel-lb is shutting down and accepts no more data. */
  LB_SHUTTING_DOWN: 'ERR_LB_SHUTTING_DOWN',
  /** An unknown hash ring name. */
  LB_UNKNOWN_RING: 'ERR_LB_UNKNOWN_RING',
  /** A command-line usage error (exit code 2). */
  CLI_USAGE: 'ERR_CLI_USAGE',
  /** A gRPC peer answered with a status other than OK; the error's `grpcStatus` says which. */
  GRPC_STATUS: 'ERR_GRPC_STATUS',
  /** A gRPC connection could not be made or was lost (refused, reset, GOAWAY, stream reset). */
  GRPC_UNAVAILABLE: 'ERR_GRPC_UNAVAILABLE',
  /** A gRPC call passed its deadline before the server answered. */
  GRPC_DEADLINE_EXCEEDED: 'ERR_GRPC_DEADLINE_EXCEEDED',
  /** A gRPC call was cancelled by its caller (an abort signal, or the client was closed). */
  GRPC_CANCELLED: 'ERR_GRPC_CANCELLED',
  /** A peer broke the gRPC protocol (not a gRPC response, bad framing). */
  GRPC_PROTOCOL: 'ERR_GRPC_PROTOCOL',
  /** A gRPC message is larger than the configured maximum. */
  GRPC_MESSAGE_TOO_LARGE: 'ERR_GRPC_MESSAGE_TOO_LARGE',
  /** A request could not be compressed (the native codec failed). */
  COMPRESSION_FAILED: 'ERR_COMPRESSION_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every operational error; `code` is stable, `message` is for humans. */
export class OtelLbError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OtelLbError';
    this.code = code;
  }
}
