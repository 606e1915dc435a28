/**
 * The gRPC client's auth hook ({@link ClientAuth}): an auth extension's headers reach the
 * server on every call (synchronous and asynchronous handlers), win over the configured
 * headers, fail the call as retryable when the handler fails, and are never sent over
 * cleartext when the credentials demand TLS.
 */

import assert from 'node:assert/strict';
import type http2 from 'node:http2';
import { afterEach, describe, it } from 'node:test';

import { ErrorCode } from '../../src/errors.ts';
import type { Batch } from '../../src/otlp/batch.ts';
import { Signal } from '../../src/otlp/signal.ts';
import type { ClientAuth } from '../../src/transport/client-auth.ts';
import { EXPORT_OK } from '../../src/transport/export-result.ts';
import { GrpcClient, type GrpcClientOptions } from '../../src/transport/grpc-client.ts';
import { GrpcError } from '../../src/transport/grpc-protocol.ts';
import { GrpcStatus } from '../../src/transport/grpc-status.ts';
import { loadClientTls } from '../../src/transport/tls.ts';
import { startGrpcOkServer } from '../helpers/grpc-ok-server.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';
import { fixturePath, fixturePem } from '../helpers/tls-fixtures.ts';

const batch: Batch = { signal: Signal.TRACES, bytes: buildTracesRequest({ traces: 1 }), items: 10 };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An HTTP/2 gRPC server (cleartext or TLS) that answers OK and records each call's headers. */
async function recordingServer(secure = false): Promise<{ port: number; headers: http2.IncomingHttpHeaders[] }> {
  const headers: http2.IncomingHttpHeaders[] = [];
  const server = await startGrpcOkServer({
    ...(secure ? { tls: { cert: fixturePem('server.crt'), key: fixturePem('server.key') } } : {}),
    onStream: (_stream, requestHeaders) => headers.push(requestHeaders),
  });
  cleanups.push(() => server.close());
  return { port: server.port, headers };
}

function client(port: number, options: Partial<GrpcClientOptions>): GrpcClient {
  const created = new GrpcClient({
    endpoint: `127.0.0.1:${port}`,
    proxyEnvironment: {},
    compression: 'none',
    ...options,
  });
  cleanups.push(() => created.close());
  return created;
}

describe('gRPC client auth', () => {
  it('sends a synchronous handler’s headers on every call, asking for them each time', async () => {
    const { port, headers } = await recordingServer();
    let calls = 0;
    const auth: ClientAuth = {
      headers: () => ({ Authorization: `Bearer token-${++calls}` }),
    };
    const grpc = client(port, { auth });

    assert.deepEqual(await grpc.export(batch), EXPORT_OK);
    assert.deepEqual(await grpc.export(batch), EXPORT_OK);

    assert.deepEqual(
      headers.map((h) => h.authorization),
      ['Bearer token-1', 'Bearer token-2'],
    );
  });

  it('awaits an asynchronous handler, whose headers win over the configured ones', async () => {
    const { port, headers } = await recordingServer();
    const auth: ClientAuth = {
      headers: () => Promise.resolve({ 'x-scope-orgid': 'from-auth' }),
    };

    const result = await client(port, { auth, headers: { 'X-Scope-OrgID': 'configured', 'x-other': 'kept' } }).export(
      batch,
    );

    assert.deepEqual(result, EXPORT_OK);
    assert.equal(headers[0]?.['x-scope-orgid'], 'from-auth');
    assert.equal(headers[0]['x-other'], 'kept');
  });

  it('a handler that fails fails the call as retryable UNAVAILABLE, with its error as the cause', async () => {
    const { port, headers } = await recordingServer();
    const failure = new Error('token endpoint unreachable');
    const auth: ClientAuth = { headers: () => Promise.reject(failure) };

    const result = await client(port, { auth }).export(batch);

    assert.ok(result.kind === 'retryable');
    assert.ok(result.error instanceof GrpcError);
    assert.equal(result.error.code, ErrorCode.GRPC_UNAVAILABLE);
    assert.equal(result.error.grpcStatus, GrpcStatus.UNAVAILABLE);
    assert.equal(result.error.cause, failure);
    assert.equal(headers.length, 0);
  });

  it('never sends credentials that require TLS over cleartext; sends them over TLS', async () => {
    const auth: ClientAuth = { headers: () => ({ authorization: 'Basic dTpw' }), requiresTransportSecurity: true };
    const plain = await recordingServer();
    const secure = await recordingServer(true);
    const tls = loadClientTls({ caFile: fixturePath('ca.crt') });
    assert.ok(tls !== undefined);
    cleanups.push(() => {
      tls.close();
    });

    const refused = await client(plain.port, { auth }).export(batch);
    const sent = await client(secure.port, { auth, tls }).export(batch);

    assert.ok(refused.kind === 'retryable');
    assert.ok(refused.error instanceof GrpcError);
    assert.equal(refused.error.grpcStatus, GrpcStatus.UNAVAILABLE);
    assert.match(refused.error.message, /TLS/);
    assert.equal(plain.headers.length, 0);
    assert.deepEqual(sent, EXPORT_OK);
    assert.equal(secure.headers[0]?.authorization, 'Basic dTpw');
  });

  it('refuses a handler that sets a header gRPC reserves, as a permanent failure', async () => {
    const { port, headers } = await recordingServer();
    const auth: ClientAuth = { headers: () => ({ 'content-type': 'text/plain' }) };

    const result = await client(port, { auth }).export(batch);

    assert.equal(result.kind, 'permanent');
    assert.equal(headers.length, 0);
  });
});
