/**
 * The OTLP/HTTP client against our OTLP/HTTP receiver and against raw HTTP servers playing
 * the backend: URLs, encodings, compression, how each answer is classified, headers and
 * auth, TLS and mTLS, proxies, connection reuse.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';

import type { Batch } from '../../src/otlp/batch.ts';
import { decodeLogsRequest, decodeTracesRequest } from '../../src/otlp/proto/decoder.ts';
import { Signal } from '../../src/otlp/signal.ts';
import type { Compression } from '../../src/transport/compression.ts';
import { EXPORT_OK, retryable, type ExportResult } from '../../src/transport/export-result.ts';
import { GrpcStatus } from '../../src/transport/grpc-status.ts';
import { OtlpHttpClient, OtlpHttpError, type OtlpHttpClientOptions } from '../../src/transport/http-client.ts';
import { encodeStatus, OtlpHttpServer } from '../../src/transport/http-server.ts';
import { loadClientTls, loadServerTls, type ServerTlsSettings } from '../../src/transport/tls.ts';
import { TransportErrorCode } from '../../src/transport/transport-error.ts';
import { RecordingConsumer } from '../helpers/batch-consumers.ts';
import { ConnectProxy } from '../helpers/connect-proxy.ts';
import { buildLogsRequest, buildTracesRequest } from '../helpers/otlp-builders.ts';
import { fixturePath } from '../helpers/tls-fixtures.ts';

const traces: Batch = { signal: Signal.TRACES, bytes: buildTracesRequest({ traces: 4 }), items: 40 };
const logs: Batch = { signal: Signal.LOGS, bytes: buildLogsRequest(), items: -1 };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function receiver(
  options: { tls?: ServerTlsSettings } = {},
): Promise<{ port: number; consumer: RecordingConsumer; base: string }> {
  const consumer = new RecordingConsumer();
  const serverTls = options.tls === undefined ? undefined : loadServerTls(options.tls);
  if (serverTls !== undefined) {
    cleanups.push(() => {
      serverTls.close();
    });
  }
  const server = new OtlpHttpServer({
    host: '127.0.0.1',
    port: 0,
    consumers: { traces: consumer, logs: consumer, metrics: consumer },
    tls: serverTls,
  });
  const { port } = await server.listen();
  cleanups.push(() => server.close(Date.now()));
  return { port, consumer, base: `${serverTls === undefined ? 'http' : 'https'}://127.0.0.1:${port}` };
}

/** A raw HTTP server playing the backend: `answer` writes the response; records requests and connections. */
async function rawBackend(
  answer: (request: http.IncomingMessage, response: http.ServerResponse, body: Buffer) => void,
): Promise<{
  base: string;
  requests: { url: string; headers: http.IncomingHttpHeaders }[];
  connections: () => number;
}> {
  const requests: { url: string; headers: http.IncomingHttpHeaders }[] = [];
  let connections = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ url: request.url ?? '', headers: request.headers });
      answer(request, response, Buffer.concat(chunks));
    });
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    connections: () => connections,
  };
}

function client(options: OtlpHttpClientOptions): OtlpHttpClient {
  const created = new OtlpHttpClient({ proxyEnvironment: {}, ...options });
  cleanups.push(() => created.close());
  return created;
}

function expectFailure(result: ExportResult, kind: 'retryable' | 'permanent', code: TransportErrorCode): OtlpHttpError {
  assert.ok(result.kind !== 'ok', 'the export succeeded');
  assert.equal(result.kind, kind, result.error.message);
  assert.ok(result.error instanceof OtlpHttpError, String(result.error));
  assert.equal(result.error.code, code, result.error.message);
  return result.error;
}

describe('OTLP/HTTP client: against our receiver', () => {
  const compressions: readonly Compression[] = ['gzip', 'zlib', 'deflate', 'zstd', 'snappy', 'snappy-framed', 'none'];
  for (const compression of compressions) {
    it(`delivers protobuf compressed with ${compression}, byte for byte`, async () => {
      const { base, consumer } = await receiver();

      const result = await client({ endpoint: base, compression }).export(traces);

      assert.deepEqual(result, EXPORT_OK);
      assert.ok(Buffer.from(consumer.calls[0]?.batch.bytes ?? []).equals(traces.bytes));
    });
  }

  it('delivers JSON (encoding = json) that the receiver reads back to the same request', async () => {
    const { base, consumer } = await receiver();
    const json = client({ endpoint: base, encoding: 'json' });

    assert.deepEqual(await json.export(traces), EXPORT_OK);
    assert.deepEqual(await json.export(logs), EXPORT_OK);

    assert.deepEqual(
      decodeTracesRequest(consumer.calls[0]?.batch.bytes ?? new Uint8Array()),
      decodeTracesRequest(traces.bytes),
    );
    assert.deepEqual(
      decodeLogsRequest(consumer.calls[1]?.batch.bytes ?? new Uint8Array()),
      decodeLogsRequest(logs.bytes),
    );
  });

  it('takes a retryable answer with its Retry-After (the receiver’s full queue: 429)', async () => {
    const { base, consumer } = await receiver();
    consumer.result = retryable(Object.assign(new Error('queue is full'), { code: 'ERR_LB_QUEUE_FULL' }), 4_000);

    const result = await client({ endpoint: base }).export(traces);

    const error = expectFailure(result, 'retryable', TransportErrorCode.HTTP_STATUS);
    assert.equal(error.httpStatus, 503);
    assert.equal(result.kind === 'retryable' ? result.retryAfterMs : undefined, 4_000);
  });

  it('over TLS and mTLS, verified against ca_file', async () => {
    const server = { certFile: fixturePath('server.crt'), keyFile: fixturePath('server.key') };
    const plain = await receiver({ tls: server });
    const mutual = await receiver({ tls: { ...server, clientCaFile: fixturePath('ca.crt') } });
    const clientTls = loadClientTls({
      caFile: fixturePath('ca.crt'),
      certFile: fixturePath('client.crt'),
      keyFile: fixturePath('client.key'),
    });
    assert.ok(clientTls !== undefined);
    cleanups.push(() => {
      clientTls.close();
    });

    assert.deepEqual(await client({ endpoint: plain.base, tls: clientTls }).export(traces), EXPORT_OK);
    assert.deepEqual(await client({ endpoint: mutual.base, tls: clientTls }).export(traces), EXPORT_OK);
    assert.equal(mutual.consumer.calls.length, 1);
  });

  it('an expired server certificate is retryable ERR_HTTP_UNAVAILABLE with CERT_HAS_EXPIRED as the cause', async () => {
    const { base } = await receiver({
      tls: { certFile: fixturePath('expired.crt'), keyFile: fixturePath('expired.key') },
    });
    const clientTls = loadClientTls({ caFile: fixturePath('ca.crt') });
    assert.ok(clientTls !== undefined);
    cleanups.push(() => {
      clientTls.close();
    });

    const error = expectFailure(
      await client({ endpoint: base, tls: clientTls }).export(traces),
      'retryable',
      TransportErrorCode.HTTP_UNAVAILABLE,
    );
    assert.equal((error.cause as { code?: string } | undefined)?.code, 'CERT_HAS_EXPIRED');
  });
});

describe('OTLP/HTTP client: URLs and headers', () => {
  it('appends v1/<signal> to the endpoint (one slash), and uses per-signal URLs as given', async () => {
    const backend = await rawBackend((_request, response) => response.end());

    await client({ endpoint: `${backend.base}/prefix` }).export(traces);
    await client({ endpoint: `${backend.base}/prefix/` }).export(logs);
    await client({ endpoint: backend.base, signalEndpoints: { traces: `${backend.base}/custom/spans` } }).export(
      traces,
    );

    assert.deepEqual(
      backend.requests.map((r) => r.url),
      ['/prefix/v1/traces', '/prefix/v1/logs', '/custom/spans'],
    );
  });

  it('sends the content type, encoding, configured headers and the auth extension’s headers (which win)', async () => {
    const backend = await rawBackend((_request, response) => response.end());
    let n = 0;

    const result = await client({
      endpoint: backend.base,
      headers: { 'X-Scope-OrgID': 'tenant', Authorization: 'configured' },
      auth: { headers: () => Promise.resolve({ Authorization: `Bearer ${++n}` }) },
    }).export(traces);

    assert.deepEqual(result, EXPORT_OK);
    const headers = backend.requests[0]?.headers;
    assert.equal(headers?.['content-type'], 'application/x-protobuf');
    assert.equal(headers['content-encoding'], 'gzip');
    assert.equal(headers['x-scope-orgid'], 'tenant');
    assert.equal(headers.authorization, 'Bearer 1');
  });

  it('reuses keep-alive connections', async () => {
    const backend = await rawBackend((_request, response) => response.end());
    const http1 = client({ endpoint: backend.base });

    for (let i = 0; i < 5; i++) assert.deepEqual(await http1.export(traces), EXPORT_OK);

    assert.equal(backend.connections(), 1);
  });

  it('refuses a header the client sets itself, at construction', () => {
    assert.throws(
      () => new OtlpHttpClient({ endpoint: 'http://127.0.0.1:4318', headers: { 'Content-Type': 'text/plain' } }),
      TypeError,
    );
  });
});

describe('OTLP/HTTP client: how answers are classified', () => {
  // [status, Retry-After, kind, retryAfterMs, gRPC status]
  const answers: readonly [number, string | undefined, 'retryable' | 'permanent', number | undefined, number][] = [
    [429, '3', 'retryable', 3_000, GrpcStatus.RESOURCE_EXHAUSTED],
    [429, undefined, 'retryable', undefined, GrpcStatus.RESOURCE_EXHAUSTED],
    [503, '7', 'retryable', 7_000, GrpcStatus.UNAVAILABLE],
    [502, '7', 'retryable', undefined, GrpcStatus.UNAVAILABLE],
    [504, undefined, 'retryable', undefined, GrpcStatus.UNAVAILABLE],
    [400, undefined, 'permanent', undefined, GrpcStatus.INVALID_ARGUMENT],
    [401, undefined, 'permanent', undefined, GrpcStatus.UNAUTHENTICATED],
    [404, undefined, 'permanent', undefined, GrpcStatus.UNIMPLEMENTED],
    [413, undefined, 'permanent', undefined, GrpcStatus.UNKNOWN],
    [500, undefined, 'permanent', undefined, GrpcStatus.UNKNOWN],
  ];
  for (const [status, retryAfter, kind, retryAfterMs, grpcStatus] of answers) {
    it(`HTTP ${status}${retryAfter === undefined ? '' : ` with Retry-After ${retryAfter}`} is ${kind}`, async () => {
      const backend = await rawBackend((_request, response) => {
        response.statusCode = status;
        if (retryAfter !== undefined) response.setHeader('Retry-After', retryAfter);
        response.setHeader('Content-Type', 'application/x-protobuf');
        response.end(encodeStatus(GrpcStatus.INVALID_ARGUMENT, 'the server says no'));
      });

      const result = await client({ endpoint: backend.base }).export(traces);

      const error = expectFailure(result, kind, TransportErrorCode.HTTP_STATUS);
      assert.equal(error.httpStatus, status);
      assert.equal(error.grpcStatus, grpcStatus);
      assert.equal(result.kind === 'retryable' ? result.retryAfterMs : undefined, retryAfterMs);
      assert.match(error.message, /the server says no/);
    });
  }

  it('reads an HTTP-date Retry-After', async () => {
    const backend = await rawBackend((_request, response) => {
      response.statusCode = 503;
      response.setHeader('Retry-After', new Date(Date.now() + 3_600_000).toUTCString());
      response.end();
    });

    const result = await client({ endpoint: backend.base }).export(traces);

    assert.ok(result.kind === 'retryable');
    assert.ok(result.retryAfterMs !== undefined && result.retryAfterMs > 60_000);
  });

  it('a refused connection is retryable ERR_HTTP_UNAVAILABLE', async () => {
    const backend = await rawBackend((_request, response) => response.end());
    const base = backend.base;
    for (const cleanup of cleanups.splice(0)) await cleanup();

    const error = expectFailure(
      await client({ endpoint: base }).export(traces),
      'retryable',
      TransportErrorCode.HTTP_UNAVAILABLE,
    );
    assert.equal((error.cause as { code?: string } | undefined)?.code, 'ECONNREFUSED');
  });

  it('no answer within the timeout is retryable ERR_HTTP_TIMEOUT', async () => {
    const held: http.ServerResponse[] = [];
    const backend = await rawBackend((_request, response) => held.push(response));

    const result = await client({ endpoint: backend.base, timeoutMs: 50 }).export(traces);

    expectFailure(result, 'retryable', TransportErrorCode.HTTP_TIMEOUT);
  });

  it("the caller's signal cancels the request: retryable ERR_HTTP_CANCELLED", async () => {
    const controller = new AbortController();
    const backend = await rawBackend(() => {
      controller.abort(new Error('shutting down'));
    });

    const result = await client({ endpoint: backend.base }).export(traces, { signal: controller.signal });

    expectFailure(result, 'retryable', TransportErrorCode.HTTP_CANCELLED);
  });

  it('a failing auth extension fails the request as retryable, and nothing is sent', async () => {
    const backend = await rawBackend((_request, response) => response.end());

    const result = await client({
      endpoint: backend.base,
      auth: { headers: () => Promise.reject(new Error('no token')) },
    }).export(traces);

    expectFailure(result, 'retryable', TransportErrorCode.HTTP_UNAVAILABLE);
    assert.equal(backend.requests.length, 0);
  });
});

describe('OTLP/HTTP client: proxies', () => {
  it('HTTPS through HTTPS_PROXY with a CONNECT tunnel, one tunnel for many requests', async () => {
    const { port, consumer } = await receiver({
      tls: { certFile: fixturePath('server.crt'), keyFile: fixturePath('server.key') },
    });
    const proxy = await ConnectProxy.start({ 'collector.test': '127.0.0.1' });
    cleanups.push(() => proxy.close());
    const clientTls = loadClientTls({ caFile: fixturePath('ca.crt'), serverName: 'localhost' });
    assert.ok(clientTls !== undefined);
    cleanups.push(() => {
      clientTls.close();
    });
    const https1 = client({
      endpoint: `https://collector.test:${port}`,
      tls: clientTls,
      proxyEnvironment: { HTTPS_PROXY: proxy.url },
    });

    for (let i = 0; i < 3; i++) assert.deepEqual(await https1.export(traces), EXPORT_OK);

    assert.deepEqual(
      proxy.connects.map((c) => c.target),
      [`collector.test:${port}`],
    );
    assert.equal(consumer.calls.length, 3);
  });

  it('plain HTTP through HTTP_PROXY as absolute-URI requests; proxy_url proxies even loopback', async () => {
    const { base, consumer } = await receiver();
    const proxy = await ConnectProxy.start({ 'collector.test': '127.0.0.1' });
    cleanups.push(() => proxy.close());
    const named = base.replace('127.0.0.1', 'collector.test');

    const viaEnv = await client({ endpoint: named, proxyEnvironment: { HTTP_PROXY: proxy.url } }).export(traces);
    const viaUrl = await client({ endpoint: base, proxyUrl: proxy.url }).export(traces);
    const direct = await client({ endpoint: base, proxyEnvironment: { HTTP_PROXY: proxy.url } }).export(traces);

    assert.deepEqual([viaEnv, viaUrl, direct], [EXPORT_OK, EXPORT_OK, EXPORT_OK]);
    assert.deepEqual(proxy.forwarded, [`POST ${named}/v1/traces`, `POST ${base}/v1/traces`]);
    assert.equal(consumer.calls.length, 3);
  });

  it('a proxy that refuses the tunnel: retryable ERR_HTTP_UNAVAILABLE, ERR_PROXY_CONNECT_FAILED as the cause', async () => {
    const proxy = await ConnectProxy.start();
    cleanups.push(() => proxy.close());
    proxy.refuseWith = 407;

    const error = expectFailure(
      await client({ endpoint: 'https://collector.test:4318', proxyEnvironment: { HTTPS_PROXY: proxy.url } }).export(
        traces,
      ),
      'retryable',
      TransportErrorCode.HTTP_UNAVAILABLE,
    );
    assert.equal((error.cause as { code?: string } | undefined)?.code, TransportErrorCode.PROXY_CONNECT_FAILED);
  });
});
