/**
 * Our gRPC client against our gRPC server, and each against raw HTTP/2 peers where a test
 * needs a misbehaving one; everything on 127.0.0.1 with ports picked by the OS.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import zlib from 'node:zlib';

import { ErrorCode, OtelLbError } from '../../src/errors.ts';
import type { Batch } from '../../src/otlp/batch.ts';
import { Signal } from '../../src/otlp/signal.ts';
import type { Compression } from '../../src/transport/compression.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from '../../src/transport/export-result.ts';
import { GrpcClient, type GrpcClientOptions } from '../../src/transport/grpc-client.ts';
import { encodeStatusDetails, GrpcError, OtlpGrpcPath } from '../../src/transport/grpc-protocol.ts';
import { GrpcServer, type GrpcServerOptions } from '../../src/transport/grpc-server.ts';
import { GrpcStatus } from '../../src/transport/grpc-status.ts';
import { GateConsumer, RecordingConsumer } from '../helpers/batch-consumers.ts';
import { buildLogsRequest, buildTracesRequest } from '../helpers/otlp-builders.ts';
import { grpcFrame, rawGrpcCall } from '../helpers/raw-grpc.ts';

const MiB = 1024 * 1024;
const TRACES = buildTracesRequest({ traces: 100 });
const tracesBatch: Batch = { signal: Signal.TRACES, bytes: TRACES, items: 2_000 };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

interface Started {
  readonly server: GrpcServer;
  readonly port: number;
  readonly consumer: RecordingConsumer;
}

async function startServer(options: Partial<GrpcServerOptions> = {}): Promise<Started> {
  const consumer = new RecordingConsumer();
  const server = new GrpcServer({
    host: '127.0.0.1',
    port: 0,
    consumers: { traces: consumer, logs: consumer, metrics: consumer },
    ...options,
  });
  const { port } = await server.listen();
  cleanups.push(() => server.close(0));
  return { server, port, consumer };
}

function client(port: number, options: Partial<GrpcClientOptions> = {}): GrpcClient {
  const created = new GrpcClient({ endpoint: `127.0.0.1:${port}`, ...options });
  cleanups.push(() => created.close());
  return created;
}

/** A raw HTTP/2 server; `onStream` plays the server. Counts the connections it accepted. */
async function rawServer(
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
): Promise<{ port: number; sessions: () => number }> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  let accepted = 0;
  server.on('session', (session) => {
    accepted++;
    sessions.add(session);
    session.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    onStream(stream, headers);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const session of sessions) session.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, sessions: () => accepted };
}

/** Reads the request to its end, then answers OK with an empty message. */
function answerOk(stream: http2.ServerHttp2Stream): void {
  stream.resume();
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => {
      stream.sendTrailers({ 'grpc-status': '0' });
    });
    stream.end(grpcFrame(new Uint8Array(0)));
  });
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function expectFailure(
  result: ExportResult,
  kind: 'retryable' | 'permanent',
  code: ErrorCode,
  grpcStatus: number,
): GrpcError {
  assert.ok(result.kind !== 'ok', 'the export succeeded');
  assert.equal(result.kind, kind, result.error.message);
  assert.ok(result.error instanceof GrpcError, `not a GrpcError: ${String(result.error)}`);
  assert.equal(result.error.code, code, result.error.message);
  assert.equal(result.error.grpcStatus, grpcStatus, result.error.message);
  return result.error;
}

describe('gRPC: our client and our server', () => {
  const compressions: readonly Compression[] = ['gzip', 'zlib', 'deflate', 'zstd', 'snappy', 'snappy-framed', 'none'];
  for (const compression of compressions) {
    it(`delivers a batch compressed with ${compression}, byte for byte`, async () => {
      const { port, consumer } = await startServer();

      const result = await client(port, { compression }).export(tracesBatch);

      assert.deepEqual(result, EXPORT_OK);
      assert.equal(consumer.calls.length, 1);
      assert.equal(consumer.calls[0]!.batch.signal, Signal.TRACES);
      assert.deepEqual(Buffer.from(consumer.calls[0]!.batch.bytes), Buffer.from(TRACES));
    });
  }

  it('routes each signal to its method and consumer', async () => {
    const traces = new RecordingConsumer();
    const logs = new RecordingConsumer();
    const metrics = new RecordingConsumer();
    const { port } = await startServer({ consumers: { traces, logs, metrics } });
    const grpc = client(port);
    const logsBytes = buildLogsRequest({ logRecords: 100 });

    const results = await Promise.all([
      grpc.export(tracesBatch),
      grpc.export({ signal: Signal.LOGS, bytes: logsBytes, items: 100 }),
      grpc.export({ signal: Signal.METRICS, bytes: new Uint8Array(0), items: -1 }),
    ]);

    assert.deepEqual(results, [EXPORT_OK, EXPORT_OK, EXPORT_OK]);
    assert.deepEqual([traces.calls.length, logs.calls.length, metrics.calls.length], [1, 1, 1]);
    assert.deepEqual(Buffer.from(logs.calls[0]!.batch.bytes), Buffer.from(logsBytes));
    assert.equal(metrics.calls[0]!.batch.bytes.length, 0);
  });

  it('runs many calls concurrently over one connection', async () => {
    const { server, port, consumer } = await startServer();
    const grpc = client(port, { compression: 'zstd' });

    const results = await Promise.all(Array.from({ length: 50 }, () => grpc.export(tracesBatch)));

    assert.ok(results.every((result) => result.kind === 'ok'));
    assert.equal(consumer.calls.length, 50);
    assert.equal(server.connectionCount, 1);
  });

  for (const compression of ['none', 'gzip'] as const) {
    it(`sends merged batches as one message, their concatenation (${compression})`, async () => {
      const { port, consumer } = await startServer();
      const batches: Batch[] = [1, 2, 3].map((seed) => ({
        signal: Signal.TRACES,
        bytes: buildTracesRequest({ traces: 10, seed }),
        items: 200,
      }));

      const result = await client(port, { compression }).exportMerged(batches);

      assert.deepEqual(result, EXPORT_OK);
      assert.equal(consumer.calls.length, 1);
      assert.deepEqual(Buffer.from(consumer.calls[0]!.batch.bytes), Buffer.concat(batches.map((b) => b.bytes)));
    });
  }

  it('sends the gRPC request headers, the configured metadata and the authority', async () => {
    let captured: http2.IncomingHttpHeaders = {};
    const { port } = await rawServer((stream, headers) => {
      captured = headers;
      answerOk(stream);
    });

    const result = await client(port, {
      compression: 'zstd',
      headers: { 'X-Scope-OrgID': 'tenant-1' },
      authority: 'backend.example:4317',
      timeoutMs: 2_500,
    }).export({ signal: Signal.LOGS, bytes: new Uint8Array(10), items: 1 });

    assert.equal(result.kind, 'ok');
    assert.equal(captured[':method'], 'POST');
    assert.equal(captured[':path'], OtlpGrpcPath.LOGS);
    assert.equal(captured[':authority'], 'backend.example:4317');
    assert.equal(captured['content-type'], 'application/grpc');
    assert.equal(captured.te, 'trailers');
    assert.equal(captured['grpc-encoding'], 'zstd');
    assert.match(String(captured['grpc-accept-encoding']), /\bgzip\b/);
    assert.match(String(captured['grpc-timeout']), /^\d{1,8}m$/);
    assert.ok(Number(String(captured['grpc-timeout']).slice(0, -1)) <= 2_500);
    assert.equal(captured['x-scope-orgid'], 'tenant-1');
  });

  it('refuses reserved metadata names at construction', () => {
    for (const name of [':path', 'grpc-timeout', 'content-type', 'te']) {
      assert.throws(() => new GrpcClient({ endpoint: '127.0.0.1:4317', headers: { [name]: 'x' } }), TypeError);
    }
  });

  it('reaches a server on IPv6 loopback', async (t) => {
    const probe = net.createServer();
    const ipv6 = await new Promise<boolean>((resolve) => {
      probe.once('error', () => {
        resolve(false);
      });
      probe.listen(0, '::1', () => {
        resolve(true);
      });
    });
    probe.close();
    if (!ipv6) {
      t.skip('no IPv6 loopback here');
      return;
    }
    const { port, consumer } = await startServer({ host: '::1' });

    const result = await new GrpcClient({ endpoint: `[::1]:${port}` }).export(tracesBatch);

    assert.deepEqual(result, EXPORT_OK);
    assert.equal(consumer.calls.length, 1);
  });
});

describe('gRPC: deadlines and cancellation', () => {
  it('the server aborts the consumer at the grpc-timeout and answers DEADLINE_EXCEEDED', async () => {
    const gate = new GateConsumer();
    const { port } = await startServer({ consumers: { traces: gate } });

    const before = Date.now();
    const response = rawGrpcCall(port, { extraHeaders: { 'grpc-timeout': '100m' }, body: [grpcFrame(TRACES)] });
    const call = await gate.nextCall();
    const reason = await call.aborted;

    assert.ok(call.context.deadline !== undefined);
    assert.ok(call.context.deadline >= before + 100 && call.context.deadline <= Date.now() + 100);
    assert.ok(reason instanceof OtelLbError);
    assert.equal(reason.code, ErrorCode.GRPC_DEADLINE_EXCEEDED);
    assert.equal((await response).grpcStatus, GrpcStatus.DEADLINE_EXCEEDED);
  });

  it('the client gives up at its deadline (retryable), which cancels the call on the server', async () => {
    const gate = new GateConsumer();
    const { port } = await startServer({ consumers: { traces: gate } });

    const result = client(port, { timeoutMs: 100 }).export(tracesBatch);
    const call = await gate.nextCall();

    expectFailure(await result, 'retryable', ErrorCode.GRPC_DEADLINE_EXCEEDED, GrpcStatus.DEADLINE_EXCEEDED);
    await call.aborted;
  });

  it("the caller's signal cancels the call (retryable), which cancels it on the server", async () => {
    const gate = new GateConsumer();
    const { port } = await startServer({ consumers: { traces: gate } });
    const controller = new AbortController();

    const result = client(port).export(tracesBatch, { signal: controller.signal });
    const call = await gate.nextCall();
    controller.abort(new Error('shutting down'));

    expectFailure(await result, 'retryable', ErrorCode.GRPC_CANCELLED, GrpcStatus.CANCELLED);
    const reason = await call.aborted;
    assert.ok(reason instanceof OtelLbError);
    assert.equal(reason.code, ErrorCode.GRPC_CANCELLED);
  });

  it('an already aborted signal sends nothing', async () => {
    const { port, consumer } = await startServer();

    const result = await client(port).export(tracesBatch, { signal: AbortSignal.abort() });

    expectFailure(result, 'retryable', ErrorCode.GRPC_CANCELLED, GrpcStatus.CANCELLED);
    assert.equal(consumer.calls.length, 0);
  });

  it('a grpc-timeout longer than Node can time is no deadline, not an instant one', async () => {
    const { port, consumer } = await startServer();

    const response = await rawGrpcCall(port, {
      extraHeaders: { 'grpc-timeout': '99999999H' },
      body: [grpcFrame(TRACES)],
    });

    assert.equal(response.grpcStatus, GrpcStatus.OK);
    assert.equal(consumer.calls.length, 1);
  });

  it('a malformed grpc-timeout is INTERNAL', async () => {
    const { port, consumer } = await startServer();

    const response = await rawGrpcCall(port, {
      extraHeaders: { 'grpc-timeout': '5 seconds' },
      body: [grpcFrame(TRACES)],
    });

    assert.equal(response.grpcStatus, GrpcStatus.INTERNAL);
    assert.equal(consumer.calls.length, 0);
  });
});

describe('gRPC: requests the server refuses', () => {
  it('an unknown grpc-encoding is UNIMPLEMENTED, with the supported encodings', async () => {
    const { port, consumer } = await startServer();

    const response = await rawGrpcCall(port, {
      extraHeaders: { 'grpc-encoding': 'br' },
      body: [grpcFrame(TRACES, true)],
    });

    assert.equal(response.grpcStatus, GrpcStatus.UNIMPLEMENTED);
    assert.ok(response.trailersOnly);
    assert.deepEqual(String(response.headers['grpc-accept-encoding']).split(','), [
      'identity',
      'gzip',
      'deflate',
      'zstd',
      'snappy',
    ]);
    assert.equal(consumer.calls.length, 0);
  });

  it('an unknown method is UNIMPLEMENTED', async () => {
    const { port } = await startServer();

    const response = await rawGrpcCall(port, {
      path: '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export',
      body: [grpcFrame(TRACES)],
    });

    assert.equal(response.grpcStatus, GrpcStatus.UNIMPLEMENTED);
    assert.ok(response.trailersOnly);
  });

  it('a signal without a consumer is UNIMPLEMENTED, which the client takes as permanent', async () => {
    const { port } = await startServer({ consumers: { traces: new RecordingConsumer() } });

    const result = await client(port).export({
      signal: Signal.LOGS,
      bytes: buildLogsRequest({ logRecords: 10 }),
      items: 10,
    });

    expectFailure(result, 'permanent', ErrorCode.GRPC_STATUS, GrpcStatus.UNIMPLEMENTED);
  });

  it('checks the method and the content type', async () => {
    const { port, consumer } = await startServer();
    const post = { ':method': 'POST', ':path': OtlpGrpcPath.TRACES, te: 'trailers' };

    const proto = await rawGrpcCall(port, {
      headers: { ...post, 'content-type': 'application/grpc+proto' },
      body: [grpcFrame(TRACES)],
    });
    const withParameter = await rawGrpcCall(port, {
      headers: { ...post, 'content-type': 'application/grpc; charset=utf-8' },
      body: [grpcFrame(TRACES)],
    });
    const json = await rawGrpcCall(port, {
      headers: { ...post, 'content-type': 'application/grpc+json' },
      body: [grpcFrame(TRACES)],
    });
    const notGrpc = await rawGrpcCall(port, {
      headers: { ...post, 'content-type': 'application/x-protobuf' },
      body: [TRACES],
    });
    const get = await rawGrpcCall(port, {
      headers: { ':method': 'GET', ':path': OtlpGrpcPath.TRACES, 'content-type': 'application/grpc' },
    });

    assert.equal(proto.grpcStatus, GrpcStatus.OK);
    assert.equal(withParameter.grpcStatus, GrpcStatus.OK);
    assert.equal(json.grpcStatus, GrpcStatus.UNIMPLEMENTED);
    assert.equal(notGrpc.httpStatus, 415);
    assert.equal(get.httpStatus, 405);
    assert.equal(consumer.calls.length, 2);
  });

  it('a message past the limit on the wire is RESOURCE_EXHAUSTED (permanent for the client), before it is read', async () => {
    const { port, consumer } = await startServer({ maxRecvMsgSizeBytes: 64 * 1024 });

    const result = await client(port, { compression: 'none' }).export(tracesBatch);
    const declared = await rawGrpcCall(port, {
      body: [grpcFrame(new Uint8Array(10), false, 0xffff_ffff)],
      keepOpen: true,
    });

    expectFailure(result, 'permanent', ErrorCode.GRPC_STATUS, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.equal(declared.grpcStatus, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.equal(declared.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    assert.equal(consumer.calls.length, 0);
  });

  for (const compression of ['gzip', 'zstd', 'snappy'] as const) {
    it(`a ${compression} bomb is RESOURCE_EXHAUSTED once it decompresses past the limit`, async () => {
      const { port, consumer } = await startServer({ maxRecvMsgSizeBytes: MiB });
      const zeros: Batch = { signal: Signal.TRACES, bytes: new Uint8Array(16 * MiB), items: -1 };

      const result = await client(port, { compression }).export(zeros);

      expectFailure(result, 'permanent', ErrorCode.GRPC_STATUS, GrpcStatus.RESOURCE_EXHAUSTED);
      assert.equal(consumer.calls.length, 0);
    });
  }

  it('a message of exactly the limit is accepted', async () => {
    const { port, consumer } = await startServer({ maxRecvMsgSizeBytes: TRACES.length });

    const results = await Promise.all([
      client(port, { compression: 'none' }).export(tracesBatch),
      client(port, { compression: 'gzip' }).export(tracesBatch),
    ]);

    assert.deepEqual(results, [EXPORT_OK, EXPORT_OK]);
    assert.equal(consumer.calls.length, 2);
  });

  const malformed: readonly [string, Buffer[], Record<string, string>][] = [
    ['no message', [], {}],
    ['a truncated message', [grpcFrame(TRACES).subarray(0, 1_000)], {}],
    ['a truncated prefix', [Buffer.from([0, 0, 0])], {}],
    ['two messages', [grpcFrame(TRACES), grpcFrame(TRACES)], {}],
    ['a compressed flag of 2', [Buffer.concat([Buffer.from([2]), grpcFrame(TRACES).subarray(1)])], {}],
    ['a compressed message without grpc-encoding', [grpcFrame(zlib.gzipSync(TRACES), true)], {}],
    ['a corrupt gzip message', [grpcFrame(Buffer.from('not gzip at all'), true)], { 'grpc-encoding': 'gzip' }],
  ];
  for (const [name, body, extraHeaders] of malformed) {
    it(`${name} is INTERNAL and never reaches the consumer`, async () => {
      const { port, consumer } = await startServer();

      const response = await rawGrpcCall(port, { body, extraHeaders });

      assert.equal(response.grpcStatus, GrpcStatus.INTERNAL);
      assert.equal(consumer.calls.length, 0);
    });
  }

  it('survives bytes that are not HTTP/2 at all, and keeps serving', async () => {
    const { port, consumer } = await startServer();
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.resume();
    socket.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02 garbage');
    await once(socket, 'close');

    const result = await client(port).export(tracesBatch);

    assert.deepEqual(result, EXPORT_OK);
    assert.equal(consumer.calls.length, 1);
  });
});

describe('gRPC: statuses from the consumer to the client', () => {
  const cases: readonly [string, ExportResult, 'retryable' | 'permanent', number, number | undefined][] = [
    ['a permanent failure', permanent(new Error('bad data')), 'permanent', GrpcStatus.INVALID_ARGUMENT, undefined],
    ['a retryable failure', retryable(new Error('backend down')), 'retryable', GrpcStatus.UNAVAILABLE, undefined],
    [
      'a retryable failure with a delay',
      retryable(new Error('busy'), 1_500),
      'retryable',
      GrpcStatus.UNAVAILABLE,
      1_500,
    ],
    [
      'a full queue',
      retryable(new OtelLbError(ErrorCode.LB_QUEUE_FULL, 'queue full'), 1_000),
      'retryable',
      GrpcStatus.RESOURCE_EXHAUSTED,
      1_000,
    ],
    [
      'a permanent failure carrying PERMISSION_DENIED',
      permanent(new GrpcError(ErrorCode.GRPC_STATUS, GrpcStatus.PERMISSION_DENIED, 'not allowed')),
      'permanent',
      GrpcStatus.PERMISSION_DENIED,
      undefined,
    ],
    [
      'RESOURCE_EXHAUSTED without RetryInfo',
      permanent(new GrpcError(ErrorCode.GRPC_STATUS, GrpcStatus.RESOURCE_EXHAUSTED, 'too big')),
      'permanent',
      GrpcStatus.RESOURCE_EXHAUSTED,
      undefined,
    ],
  ];
  for (const [name, answer, kind, grpcStatus, retryAfterMs] of cases) {
    it(`${name} reaches the client as ${kind} with status ${grpcStatus}`, async () => {
      const { port, consumer } = await startServer();
      consumer.result = answer;

      const error = expectFailure(await client(port).export(tracesBatch), kind, ErrorCode.GRPC_STATUS, grpcStatus);

      assert.equal(error.retryAfterMs, retryAfterMs);
      const result = await client(port).export(tracesBatch);
      assert.equal(result.kind === 'retryable' ? result.retryAfterMs : undefined, retryAfterMs);
    });
  }

  it('percent-encodes a non-ASCII grpc-message, and the client decodes it', async () => {
    const { port, consumer } = await startServer();
    const text = 'données invalides: 😀 100%';
    consumer.result = permanent(new Error(text));

    const raw = await rawGrpcCall(port, { body: [grpcFrame(TRACES)] });
    const error = expectFailure(
      await client(port).export(tracesBatch),
      'permanent',
      ErrorCode.GRPC_STATUS,
      GrpcStatus.INVALID_ARGUMENT,
    );

    assert.equal(raw.grpcMessage, 'donn%C3%A9es invalides: %F0%9F%98%80 100%25');
    assert.ok(raw.trailersOnly);
    assert.equal(error.grpcMessage, text);
  });

  it('answers OK with an empty message and the status in trailers', async () => {
    const { port } = await startServer();

    const response = await rawGrpcCall(port, { body: [grpcFrame(TRACES)] });

    assert.equal(response.httpStatus, 200);
    assert.equal(response.headers['content-type'], 'application/grpc');
    assert.equal(response.trailersOnly, false);
    assert.deepEqual(response.body, Buffer.alloc(5));
    assert.equal(response.trailers['grpc-status'], '0');
  });
});

describe('gRPC client: how failures are classified', () => {
  it('a refused connection is retryable UNAVAILABLE', async () => {
    const result = await client(await closedPort()).export(tracesBatch);

    expectFailure(result, 'retryable', ErrorCode.GRPC_UNAVAILABLE, GrpcStatus.UNAVAILABLE);
  });

  it('a connection the server drops is retryable UNAVAILABLE', async () => {
    const { port } = await rawServer((stream) => {
      stream.session?.destroy();
    });

    expectFailure(
      await client(port).export(tracesBatch),
      'retryable',
      ErrorCode.GRPC_UNAVAILABLE,
      GrpcStatus.UNAVAILABLE,
    );
  });

  it('a refused stream is retryable UNAVAILABLE', async () => {
    const { port } = await rawServer((stream) => {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    });

    expectFailure(
      await client(port).export(tracesBatch),
      'retryable',
      ErrorCode.GRPC_UNAVAILABLE,
      GrpcStatus.UNAVAILABLE,
    );
  });

  it('a response that ends without a grpc-status is retryable UNAVAILABLE', async () => {
    const { port } = await rawServer((stream) => {
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.end(grpcFrame(new Uint8Array(0)));
      });
    });

    expectFailure(
      await client(port).export(tracesBatch),
      'retryable',
      ErrorCode.GRPC_UNAVAILABLE,
      GrpcStatus.UNAVAILABLE,
    );
  });

  const httpAnswers: readonly [number, string | undefined, 'retryable' | 'permanent', number, number | undefined][] = [
    [503, '3', 'retryable', GrpcStatus.UNAVAILABLE, 3_000],
    [429, undefined, 'retryable', GrpcStatus.UNAVAILABLE, undefined],
    [502, undefined, 'retryable', GrpcStatus.UNAVAILABLE, undefined],
    [404, undefined, 'permanent', GrpcStatus.UNIMPLEMENTED, undefined],
    [401, undefined, 'permanent', GrpcStatus.UNAUTHENTICATED, undefined],
  ];
  for (const [httpStatus, retryAfter, kind, grpcStatus, retryAfterMs] of httpAnswers) {
    it(`an HTTP ${httpStatus} from a proxy is ${kind} ${grpcStatus}`, async () => {
      const { port } = await rawServer((stream) => {
        stream.resume();
        stream.respond({
          ':status': httpStatus,
          'content-type': 'text/html',
          ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
        });
        stream.end('<html>no</html>');
      });

      const result = await client(port).export(tracesBatch);

      const error = expectFailure(result, kind, ErrorCode.GRPC_STATUS, grpcStatus);
      assert.equal(error.retryAfterMs, retryAfterMs);
      assert.equal(result.kind === 'retryable' ? result.retryAfterMs : undefined, retryAfterMs);
    });
  }

  it('an HTTP 200 that is not gRPC is permanent UNKNOWN', async () => {
    const { port } = await rawServer((stream) => {
      stream.resume();
      stream.respond({ ':status': 200, 'content-type': 'text/html' });
      stream.end('<html>hello</html>');
    });

    expectFailure(await client(port).export(tracesBatch), 'permanent', ErrorCode.GRPC_PROTOCOL, GrpcStatus.UNKNOWN);
  });

  it('reads RetryInfo from a RESOURCE_EXHAUSTED status: retryable after its delay', async () => {
    const { port } = await rawServer((stream) => {
      stream.resume();
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(GrpcStatus.RESOURCE_EXHAUSTED),
          'grpc-message': 'slow down',
          'grpc-status-details-bin': encodeStatusDetails(GrpcStatus.RESOURCE_EXHAUSTED, 'slow down', 7_000),
        },
        { endStream: true },
      );
    });

    const result = await client(port).export(tracesBatch);

    expectFailure(result, 'retryable', ErrorCode.GRPC_STATUS, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.equal(result.kind === 'retryable' ? result.retryAfterMs : undefined, 7_000);
  });

  it('a message over maxSendMessageSizeBytes is permanent and never sent', async () => {
    const { port, consumer } = await startServer();

    const result = await client(port, { compression: 'none', maxSendMessageSizeBytes: 1_000 }).export(tracesBatch);

    expectFailure(result, 'permanent', ErrorCode.GRPC_MESSAGE_TOO_LARGE, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.equal(consumer.calls.length, 0);
  });

  it('applies maxSendMessageSizeBytes to the whole of a merged message', async () => {
    const { port, consumer } = await startServer();
    const half: Batch = { signal: Signal.TRACES, bytes: new Uint8Array(600), items: 1 };

    const result = await client(port, { compression: 'none', maxSendMessageSizeBytes: 1_000 }).exportMerged([
      half,
      half,
    ]);

    expectFailure(result, 'permanent', ErrorCode.GRPC_MESSAGE_TOO_LARGE, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.equal(consumer.calls.length, 0);
  });

  it('connects again after the server sends GOAWAY', async () => {
    const { port, sessions } = await rawServer((stream) => {
      // GOAWAY before the answer: this call completes, the next one needs a new connection.
      stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id ?? 0);
      answerOk(stream);
    });
    const grpc = client(port);

    const first = await grpc.export(tracesBatch);
    const second = await grpc.export(tracesBatch);

    assert.deepEqual([first, second], [EXPORT_OK, EXPORT_OK]);
    assert.equal(sessions(), 2);
  });

  it('connects again after the server restarts', async () => {
    const first = await startServer();
    const grpc = client(first.port);
    assert.deepEqual(await grpc.export(tracesBatch), EXPORT_OK);
    await first.server.close(0);

    const down = await grpc.export(tracesBatch);
    const second = await startServer({ port: first.port });
    const up = await grpc.export(tracesBatch);

    expectFailure(down, 'retryable', ErrorCode.GRPC_UNAVAILABLE, GrpcStatus.UNAVAILABLE);
    assert.deepEqual(up, EXPORT_OK);
    assert.equal(second.consumer.calls.length, 1);
  });

  it('with waitForReady, waits for a backend that comes up before the deadline', async () => {
    const port = await closedPort();
    const grpc = client(port, { waitForReady: true, timeoutMs: 10_000 });

    const result = grpc.export(tracesBatch);
    const { consumer } = await startServer({ port });

    assert.deepEqual(await result, EXPORT_OK);
    assert.equal(consumer.calls.length, 1);
  });

  it('with waitForReady, gives up at the deadline: retryable DEADLINE_EXCEEDED', async () => {
    const result = await client(await closedPort(), { waitForReady: true, timeoutMs: 150 }).export(tracesBatch);

    expectFailure(result, 'retryable', ErrorCode.GRPC_DEADLINE_EXCEEDED, GrpcStatus.DEADLINE_EXCEEDED);
  });

  it('close() waits for calls in flight; calls after it are retryable CANCELLED', async () => {
    const gate = new GateConsumer();
    const { port } = await startServer({ consumers: { traces: gate } });
    const grpc = client(port);

    const inFlight = grpc.export(tracesBatch);
    const call = await gate.nextCall();
    const closed = grpc.close();
    const after = await grpc.export(tracesBatch);
    call.release();

    assert.deepEqual(await inFlight, EXPORT_OK);
    await closed;
    expectFailure(after, 'retryable', ErrorCode.GRPC_CANCELLED, GrpcStatus.CANCELLED);
  });
});

describe('gRPC server: close', () => {
  it('stops taking connections, lets calls in flight finish, then resolves', async () => {
    const gate = new GateConsumer();
    const { server, port } = await startServer({ consumers: { traces: gate } });
    const grpc = client(port);

    const inFlight = grpc.export(tracesBatch);
    const call = await gate.nextCall();
    const closed = server.close(10_000);
    const newcomer = await client(port).export(tracesBatch);
    call.release();

    assert.deepEqual(await inFlight, EXPORT_OK);
    await closed;
    assert.equal(newcomer.kind, 'retryable');
    assert.equal(server.inFlightCalls, 0);
  });

  it('at the deadline, cancels the calls left: their consumers abort, clients get UNAVAILABLE', async () => {
    const gate = new GateConsumer();
    const { server, port } = await startServer({ consumers: { traces: gate } });

    const inFlight = client(port).export(tracesBatch);
    const call = await gate.nextCall();
    await server.close(20);

    await call.aborted;
    expectFailure(await inFlight, 'retryable', ErrorCode.GRPC_STATUS, GrpcStatus.UNAVAILABLE);
  });

  it('is idempotent', async () => {
    const { server } = await startServer();

    await Promise.all([server.close(0), server.close(0)]);
    await server.close(0);
  });
});
