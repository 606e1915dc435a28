/**
 * gRPC client keepalive: a connection whose peer stops answering (a frozen TCP relay, a
 * server that accepts and goes silent) is found dead by its unanswered PING, closed, and
 * replaced by the next call. Intervals are short; nothing waits on the clock.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';

import type { Batch } from '../../src/otlp/batch.ts';
import { Signal } from '../../src/otlp/signal.ts';
import { EXPORT_OK, type ExportResult } from '../../src/transport/export-result.ts';
import { GrpcClient, type GrpcClientOptions } from '../../src/transport/grpc-client.ts';
import { GrpcServer } from '../../src/transport/grpc-server.ts';
import { TransportErrorCode } from '../../src/transport/transport-error.ts';
import { RecordingConsumer } from '../helpers/batch-consumers.ts';
import { expectUnavailable } from '../helpers/export-assertions.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';

const batch: Batch = { signal: Signal.TRACES, bytes: buildTracesRequest({ traces: 2 }), items: 20 };
// A short interval and a timeout generous enough that a loaded machine never misses a live answer.
const KEEPALIVE = { pingWaitMs: 20, pingResponseTimeoutMs: 1_000 };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(): Promise<{ port: number; consumer: RecordingConsumer }> {
  const consumer = new RecordingConsumer();
  const server = new GrpcServer({ host: '127.0.0.1', port: 0, consumers: { traces: consumer } });
  const { port } = await server.listen();
  cleanups.push(() => server.close(0));
  return { port, consumer };
}

async function relayTo(port: number): Promise<TcpRelay> {
  const relay = await TcpRelay.start(port);
  cleanups.push(() => relay.close());
  return relay;
}

function client(port: number, options: Partial<GrpcClientOptions> = {}): GrpcClient {
  const created = new GrpcClient({ endpoint: `127.0.0.1:${port}`, proxyEnvironment: {}, ...options });
  cleanups.push(() => created.close());
  return created;
}

function expectKeepaliveFailure(result: ExportResult): void {
  expectUnavailable(result, TransportErrorCode.KEEPALIVE_TIMEOUT);
}

describe('gRPC client keepalive', () => {
  it('a call on a connection whose peer went silent fails as UNAVAILABLE before its deadline; the next call reconnects', async () => {
    const { port, consumer } = await startServer();
    const relay = await relayTo(port);
    const grpc = client(relay.port, { keepalive: KEEPALIVE, timeoutMs: 60_000 });
    assert.deepEqual(await grpc.export(batch), EXPORT_OK);

    relay.freeze();
    const stuck = await grpc.export(batch);
    const after = await grpc.export(batch);

    expectKeepaliveFailure(stuck);
    assert.deepEqual(after, EXPORT_OK);
    assert.equal(relay.connections, 2);
    assert.equal(consumer.calls.length, 2);
  });

  it('a server that accepts TCP and never speaks HTTP/2 is found dead too', async () => {
    const silent = net.createServer(() => {
      // Accept and say nothing, ever.
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    cleanups.push(
      () =>
        new Promise((resolve) => {
          silent.close(resolve);
        }),
    );
    const { port } = silent.address() as net.AddressInfo;
    const sockets: net.Socket[] = [];
    silent.on('connection', (socket) => sockets.push(socket));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return Promise.resolve();
    });

    expectKeepaliveFailure(await client(port, { keepalive: KEEPALIVE, timeoutMs: 60_000 }).export(batch));
  });

  it('with ping_without_stream, an idle dead connection is closed without any call', async () => {
    const { port } = await startServer();
    const relay = await relayTo(port);
    const grpc = client(relay.port, { keepalive: { ...KEEPALIVE, pingWithoutStream: true } });
    assert.deepEqual(await grpc.export(batch), EXPORT_OK);
    const closed = once(relay, 'client-closed');

    relay.freeze();
    await closed;

    assert.deepEqual(await grpc.export(batch), EXPORT_OK);
    assert.equal(relay.connections, 2);
  });

  it('a live connection answers its PINGs and stays up', async () => {
    const { port } = await startServer();
    const relay = await relayTo(port);
    const grpc = client(relay.port, { keepalive: { ...KEEPALIVE, pingWithoutStream: true } });

    for (let i = 0; i < 5; i++) assert.deepEqual(await grpc.export(batch), EXPORT_OK);

    assert.equal(relay.connections, 1);
  });
});
