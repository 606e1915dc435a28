/**
 * The gRPC client through an HTTP CONNECT proxy (a test proxy on 127.0.0.1 that resolves
 * `backend.test` to a real backend on loopback and records every CONNECT): HTTPS_PROXY,
 * NO_PROXY, loopback never proxied, proxy credentials, TLS inside the tunnel, a proxy that
 * refuses.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';

import { ErrorCode } from '../../src/errors.ts';
import type { Batch } from '../../src/otlp/batch.ts';
import { Signal } from '../../src/otlp/signal.ts';
import { EXPORT_OK } from '../../src/transport/export-result.ts';
import { GrpcClient, type GrpcClientOptions } from '../../src/transport/grpc-client.ts';
import { GrpcError } from '../../src/transport/grpc-protocol.ts';
import { GrpcServer, type GrpcServerOptions } from '../../src/transport/grpc-server.ts';
import { GrpcStatus } from '../../src/transport/grpc-status.ts';
import { loadClientTls, loadServerTls } from '../../src/transport/tls.ts';
import { TransportErrorCode } from '../../src/transport/transport-error.ts';
import { RecordingConsumer } from '../helpers/batch-consumers.ts';
import { ConnectProxy } from '../helpers/connect-proxy.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';
import { fixturePath } from '../helpers/tls-fixtures.ts';

const batch: Batch = { signal: Signal.TRACES, bytes: buildTracesRequest({ traces: 1 }), items: 10 };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function backend(
  options: Partial<GrpcServerOptions> = {},
): Promise<{ port: number; consumer: RecordingConsumer }> {
  const consumer = new RecordingConsumer();
  const server = new GrpcServer({ host: '127.0.0.1', port: 0, consumers: { traces: consumer }, ...options });
  const { port } = await server.listen();
  cleanups.push(() => server.close(0));
  return { port, consumer };
}

async function proxy(): Promise<ConnectProxy> {
  const started = await ConnectProxy.start({ 'backend.test': '127.0.0.1' });
  cleanups.push(() => started.close());
  return started;
}

/** Fails the test if the client resolves the name itself (it must leave that to the proxy). */
function noLocalLookup(host: string): Promise<readonly string[]> {
  return Promise.reject(new Error(`the client looked up ${host} itself`));
}

function client(endpoint: string, options: Partial<GrpcClientOptions>): GrpcClient {
  const created = new GrpcClient({ endpoint, ...options });
  cleanups.push(() => created.close());
  return created;
}

describe('gRPC client through an HTTPS_PROXY', () => {
  it('tunnels HTTP/2 through CONNECT, leaving the name to the proxy; one tunnel serves many calls', async () => {
    const { port, consumer } = await backend();
    const connect = await proxy();
    const grpc = client(`backend.test:${port}`, {
      proxyEnvironment: { HTTPS_PROXY: connect.url },
      lookup: noLocalLookup,
    });

    for (let i = 0; i < 3; i++) assert.deepEqual(await grpc.export(batch), EXPORT_OK);

    assert.deepEqual(
      connect.connects.map((c) => c.target),
      [`backend.test:${port}`],
    );
    assert.equal(consumer.calls.length, 3);
  });

  it('speaks TLS inside the tunnel', async () => {
    const serverTls = loadServerTls({ certFile: fixturePath('server.crt'), keyFile: fixturePath('server.key') });
    cleanups.push(() => {
      serverTls.close();
    });
    const clientTls = loadClientTls({ caFile: fixturePath('ca.crt'), serverName: 'localhost' });
    assert.ok(clientTls !== undefined);
    cleanups.push(() => {
      clientTls.close();
    });
    const { port, consumer } = await backend({ tls: serverTls });
    const connect = await proxy();

    const result = await client(`backend.test:${port}`, {
      proxyEnvironment: { HTTPS_PROXY: connect.url },
      lookup: noLocalLookup,
      tls: clientTls,
    }).export(batch);

    assert.deepEqual(result, EXPORT_OK);
    assert.equal(connect.connects.length, 1);
    assert.equal(consumer.calls.length, 1);
  });

  it('reads the lower-case https_proxy too, and sends the URL’s credentials as Proxy-Authorization', async () => {
    const { port } = await backend();
    const connect = await proxy();
    const url = connect.url.replace('http://', 'http://otel:p%40ss@');

    assert.deepEqual(
      await client(`backend.test:${port}`, { proxyEnvironment: { https_proxy: url }, lookup: noLocalLookup }).export(
        batch,
      ),
      EXPORT_OK,
    );

    assert.equal(connect.connects[0]?.proxyAuthorization, `Basic ${Buffer.from('otel:p@ss').toString('base64')}`);
  });

  it('connects directly to hosts in NO_PROXY', async () => {
    const { port } = await backend();
    const connect = await proxy();
    const lookups: string[] = [];
    const grpc = client(`backend.test:${port}`, {
      proxyEnvironment: { HTTPS_PROXY: connect.url, NO_PROXY: 'example.com, .test' },
      lookup: (host) => {
        lookups.push(host);
        return Promise.resolve(['127.0.0.1']);
      },
    });

    assert.deepEqual(await grpc.export(batch), EXPORT_OK);

    assert.equal(connect.connects.length, 0);
    assert.deepEqual(lookups, ['backend.test']);
  });

  it('never proxies loopback addresses', async () => {
    const { port } = await backend();
    const connect = await proxy();

    assert.deepEqual(
      await client(`127.0.0.1:${port}`, { proxyEnvironment: { HTTPS_PROXY: connect.url } }).export(batch),
      EXPORT_OK,
    );

    assert.equal(connect.connects.length, 0);
  });

  it('a proxy that refuses the tunnel: retryable UNAVAILABLE with ERR_PROXY_CONNECT_FAILED', async () => {
    const { port, consumer } = await backend();
    const connect = await proxy();
    connect.refuseWith = 403;

    const result = await client(`backend.test:${port}`, {
      proxyEnvironment: { HTTPS_PROXY: connect.url },
      lookup: noLocalLookup,
    }).export(batch);

    assert.ok(result.kind === 'retryable');
    assert.ok(result.error instanceof GrpcError);
    assert.equal(result.error.code, ErrorCode.GRPC_UNAVAILABLE);
    assert.equal(result.error.grpcStatus, GrpcStatus.UNAVAILABLE);
    assert.equal((result.error.cause as { code?: string } | undefined)?.code, TransportErrorCode.PROXY_CONNECT_FAILED);
    assert.match(result.error.message, /403/);
    assert.equal(consumer.calls.length, 0);
  });

  it('a proxy that is down: retryable UNAVAILABLE with ERR_PROXY_CONNECT_FAILED', async () => {
    const { port } = await backend();
    const connect = await proxy();
    const url = connect.url;
    await connect.close();

    const result = await client(`backend.test:${port}`, {
      proxyEnvironment: { HTTPS_PROXY: url },
      lookup: noLocalLookup,
    }).export(batch);

    assert.ok(result.kind === 'retryable');
    assert.equal((result.error.cause as { code?: string } | undefined)?.code, TransportErrorCode.PROXY_CONNECT_FAILED);
  });

  it('close() does not wait for a proxy that never answers the CONNECT', async () => {
    const silent = net.createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const sockets: net.Socket[] = [];
    silent.on('connection', (socket) => sockets.push(socket));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    const grpc = new GrpcClient({
      endpoint: 'backend.test:4317',
      proxyEnvironment: { HTTPS_PROXY: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}` },
      lookup: noLocalLookup,
      timeoutMs: 60_000,
    });

    const pending = grpc.export(batch);
    await once(silent, 'connection');
    await grpc.close();

    const result = await pending;
    assert.ok(result.kind === 'retryable');
    assert.ok(result.error instanceof GrpcError);
    assert.equal(result.error.code, ErrorCode.GRPC_CANCELLED);
  });

  it('an HTTPS_PROXY that is not a usable proxy URL fails at construction', () => {
    assert.throws(
      () =>
        new GrpcClient({ endpoint: 'backend.test:4317', proxyEnvironment: { HTTPS_PROXY: 'socks5://127.0.0.1:1080' } }),
      (error: unknown) => (error as { code?: unknown }).code === TransportErrorCode.PROXY_URL_INVALID,
    );
  });
});
