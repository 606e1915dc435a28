/**
 * gRPC client balancing over the addresses one host name resolves to (an injected lookup
 * maps `backends.test` to loopback addresses 127.0.0.2, .3, .4, which all work on Linux;
 * the port comes from the endpoint, so every server listens on the same port), and
 * wait_for_ready against addresses that are down.
 */

import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'node:test';

import { ErrorCode } from '../../src/errors.ts';
import type { Batch } from '../../src/otlp/batch.ts';
import { Signal } from '../../src/otlp/signal.ts';
import { EXPORT_OK } from '../../src/transport/export-result.ts';
import { GrpcClient, type GrpcClientOptions } from '../../src/transport/grpc-client.ts';
import { GrpcError } from '../../src/transport/grpc-protocol.ts';
import { GrpcServer } from '../../src/transport/grpc-server.ts';
import { GrpcStatus } from '../../src/transport/grpc-status.ts';
import { TransportErrorCode } from '../../src/transport/transport-error.ts';
import { RecordingConsumer } from '../helpers/batch-consumers.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';

const batch: Batch = { signal: Signal.TRACES, bytes: buildTracesRequest({ traces: 1 }), items: 10 };
const NAME = 'backends.test';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Backend {
  readonly address: string;
  readonly consumer: RecordingConsumer;
  readonly server: GrpcServer;
}

/** A port free on 127.0.0.2 … 127.0.0.9 (the OS picks it on .2; the others are checked by binding). */
let sharedPort = 0;
before(async () => {
  for (let attempt = 0; attempt < 20 && sharedPort === 0; attempt++) {
    const probe = new GrpcServer({ host: '127.0.0.2', port: 0, consumers: {} });
    const { port } = await probe.listen();
    const others: GrpcServer[] = [];
    let free = true;
    for (const host of ['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']) {
      const other = new GrpcServer({ host, port, consumers: {} });
      try {
        await other.listen();
        others.push(other);
      } catch {
        free = false;
        break;
      }
    }
    await Promise.all([probe, ...others].map((server) => server.close(0)));
    if (free) sharedPort = port;
  }
  assert.ok(sharedPort > 0, 'no port free on every loopback address');
});

async function backend(address: string): Promise<Backend> {
  const consumer = new RecordingConsumer();
  const server = new GrpcServer({ host: address, port: sharedPort, consumers: { traces: consumer } });
  await server.listen();
  cleanups.push(() => server.close(0));
  return { address, consumer, server };
}

function client(addresses: () => readonly string[], options: Partial<GrpcClientOptions> = {}): GrpcClient {
  const created = new GrpcClient({
    endpoint: `${NAME}:${sharedPort}`,
    proxyEnvironment: {},
    lookup: (host) => {
      assert.equal(host, NAME);
      return Promise.resolve(addresses());
    },
    ...options,
  });
  cleanups.push(() => created.close());
  return created;
}

async function exportTimes(grpc: GrpcClient, n: number): Promise<void> {
  for (let i = 0; i < n; i++) assert.deepEqual(await grpc.export(batch), EXPORT_OK);
}

describe('gRPC client: round_robin', () => {
  it('connects to every address of the name and sends each call to the next one', async () => {
    const backends = [await backend('127.0.0.2'), await backend('127.0.0.3'), await backend('127.0.0.4')];
    const grpc = client(() => backends.map((b) => b.address), { balancerName: 'round_robin' });

    await grpc.connect();
    await exportTimes(grpc, 30);

    assert.deepEqual(
      backends.map((b) => b.consumer.calls.length),
      [10, 10, 10],
    );
  });

  it('is the default', async () => {
    const backends = [await backend('127.0.0.2'), await backend('127.0.0.3')];
    const grpc = client(() => backends.map((b) => b.address));

    await grpc.connect();
    await exportTimes(grpc, 4);

    assert.deepEqual(
      backends.map((b) => b.consumer.calls.length),
      [2, 2],
    );
  });

  it('skips an address that is down and serves from the others', async () => {
    const backends = [await backend('127.0.0.2'), await backend('127.0.0.4')];
    const grpc = client(() => ['127.0.0.2', '127.0.0.3', '127.0.0.4']);

    await grpc.connect();
    await exportTimes(grpc, 10);

    assert.deepEqual(
      backends.map((b) => b.consumer.calls.length),
      [5, 5],
    );
  });

  it('follows the name when its addresses change after a connection is lost', async () => {
    const first = await backend('127.0.0.2');
    const second = await backend('127.0.0.3');
    let addresses = ['127.0.0.2', '127.0.0.3'];
    const grpc = client(() => addresses, { minResolveIntervalMs: 0 });
    await grpc.connect();
    await exportTimes(grpc, 2);
    const third = await backend('127.0.0.4');

    addresses = ['127.0.0.3', '127.0.0.4'];
    await first.server.close(0);
    // Calls continue throughout; once the lookup has run again, the new address gets some.
    for (let i = 0; i < 200 && third.consumer.calls.length === 0; i++) {
      assert.deepEqual(await grpc.export(batch), EXPORT_OK);
    }

    assert.ok(third.consumer.calls.length > 0, 'the new address never got a call');
    assert.ok(second.consumer.calls.length > 1);
  });
});

describe('gRPC client: pick_first', () => {
  it('sends every call to the first address that connects', async () => {
    const backends = [await backend('127.0.0.3'), await backend('127.0.0.4')];
    const grpc = client(() => ['127.0.0.2', '127.0.0.3', '127.0.0.4'], { balancerName: 'pick_first' });

    await exportTimes(grpc, 6);

    assert.deepEqual(
      backends.map((b) => b.consumer.calls.length),
      [6, 0],
    );
  });

  it('moves to the next address when the one in use goes away', async () => {
    const [a, b] = [await backend('127.0.0.2'), await backend('127.0.0.3')];
    const grpc = client(() => [a.address, b.address], { balancerName: 'pick_first' });
    await exportTimes(grpc, 2);

    await a.server.close(0);
    let result = await grpc.export(batch);
    // The first call may still land on the closing connection; the next one goes to b.
    if (result.kind !== 'ok') result = await grpc.export(batch);

    assert.deepEqual(result, EXPORT_OK);
    assert.equal(a.consumer.calls.length, 2);
    assert.ok(b.consumer.calls.length >= 1);
  });
});

describe('gRPC client: addresses that are down', () => {
  it('without wait_for_ready, fails fast as UNAVAILABLE naming every address', async () => {
    const grpc = client(() => ['127.0.0.2', '127.0.0.3'], { timeoutMs: 60_000 });

    const result = await grpc.export(batch);

    assert.ok(result.kind === 'retryable');
    assert.ok(result.error instanceof GrpcError);
    assert.equal(result.error.code, ErrorCode.GRPC_UNAVAILABLE);
    assert.equal(result.error.grpcStatus, GrpcStatus.UNAVAILABLE);
    assert.match(result.error.message, /127\.0\.0\.2.*127\.0\.0\.3/);
  });

  it('with wait_for_ready, waits for an address to come up', async () => {
    const grpc = client(() => ['127.0.0.2', '127.0.0.3'], { waitForReady: true, timeoutMs: 20_000 });

    const pending = grpc.export(batch);
    const late = await backend('127.0.0.3');

    assert.deepEqual(await pending, EXPORT_OK);
    assert.equal(late.consumer.calls.length, 1);
  });

  it('a name that does not resolve is retryable UNAVAILABLE with ERR_RESOLVE_FAILED', async () => {
    const grpc = new GrpcClient({
      endpoint: `${NAME}:${sharedPort}`,
      proxyEnvironment: {},
      lookup: () => Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${NAME}`), { code: 'ENOTFOUND' })),
    });
    cleanups.push(() => grpc.close());

    const result = await grpc.export(batch);

    assert.ok(result.kind === 'retryable');
    assert.ok(result.error instanceof GrpcError);
    assert.equal(result.error.code, ErrorCode.GRPC_UNAVAILABLE);
    assert.equal((result.error.cause as { code?: string } | undefined)?.code, TransportErrorCode.RESOLVE_FAILED);
  });
});
