/**
 * Assertions on the {@link ExportResult} of a client, by error code (STYLE.md §3), never by
 * message text.
 */

import assert from 'node:assert/strict';

import { ErrorCode } from '../../src/errors.ts';
import type { ExportResult } from '../../src/transport/export-result.ts';
import { GrpcError } from '../../src/transport/grpc-protocol.ts';
import { GrpcStatus } from '../../src/transport/grpc-status.ts';

/**
 * Asserts a retryable gRPC UNAVAILABLE whose innermost coded cause has `causeCode` (Node's,
 * OpenSSL's or ours), when given; returns the error.
 */
export function expectUnavailable(result: ExportResult, causeCode?: string): GrpcError {
  assert.ok(result.kind === 'retryable', result.kind === 'ok' ? 'the export succeeded' : result.error.message);
  const error = result.error;
  assert.ok(error instanceof GrpcError, String(error));
  assert.equal(error.code, ErrorCode.GRPC_UNAVAILABLE, error.message);
  assert.equal(error.grpcStatus, GrpcStatus.UNAVAILABLE);
  if (causeCode !== undefined) assert.equal(rootCode(error), causeCode, error.message);
  return error;
}

/** The code of the innermost error in the `cause` chain that has one. */
export function rootCode(error: unknown): string | undefined {
  let code: string | undefined;
  for (let current = error; current instanceof Error; current = current.cause) {
    const own = (current as { code?: unknown }).code;
    if (typeof own === 'string') code = own;
  }
  return code;
}
