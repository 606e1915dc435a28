import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it, type TestContext } from 'node:test';

import { context as otelContext, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

import type { Batch } from '../../src/otlp/batch.ts';
import {
  decodeLogsRequest,
  decodeMetricsRequest,
  decodeTracesRequest,
  encodeMetricsRequest,
} from '../../src/otlp/proto/decoder.ts';
import type { ExportLogsServiceRequest, ExportTraceServiceRequest, KeyValue } from '../../src/otlp/proto/messages.ts';
import { Signal } from '../../src/otlp/signal.ts';
import { WireReader } from '../../src/otlp/wire.ts';
import { compress, type Compression } from '../../src/transport/compression.ts';
import type { BatchConsumer, ConsumeContext } from '../../src/transport/consumer.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from '../../src/transport/export-result.ts';
import { GrpcError } from '../../src/transport/grpc-protocol.ts';
import { GrpcStatus } from '../../src/transport/grpc-status.ts';
import { OtlpHttpServer, type OtlpHttpServerOptions } from '../../src/transport/http-server.ts';
import { ErrorCode, OtelLbError } from '../../src/errors.ts';
import { buildLogsRequest, buildTracesRequest } from '../helpers/otlp-builders.ts';

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

/** Records what it is handed and answers with `respond` (ok by default). */
class RecordingConsumer implements BatchConsumer {
  readonly batches: Batch[] = [];
  readonly contexts: ConsumeContext[] = [];
  respond: (batch: Batch, context: ConsumeContext) => ExportResult | Promise<ExportResult> = () => EXPORT_OK;
  private waiters: (() => void)[] = [];

  consume(batch: Batch, context: ConsumeContext): Promise<ExportResult> {
    this.batches.push(batch);
    this.contexts.push(context);
    for (const wake of this.waiters.splice(0)) wake();
    return Promise.resolve(this.respond(batch, context));
  }

  /** Resolves once `count` batches have arrived. */
  async received(count: number): Promise<void> {
    while (this.batches.length < count) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

interface Receiver {
  readonly server: OtlpHttpServer;
  readonly port: number;
  readonly url: (path: string) => string;
  readonly consumers: Record<Signal, RecordingConsumer>;
}

async function startReceiver(t: TestContext, options: Partial<OtlpHttpServerOptions> = {}): Promise<Receiver> {
  const consumers = {
    [Signal.TRACES]: new RecordingConsumer(),
    [Signal.LOGS]: new RecordingConsumer(),
    [Signal.METRICS]: new RecordingConsumer(),
  };
  const server = new OtlpHttpServer({ host: '127.0.0.1', port: 0, consumers, ...options });
  const address = await server.listen();
  t.after(() => server.close(Date.now()));
  return { server, port: address.port, url: (path) => `http://127.0.0.1:${address.port}${path}`, consumers };
}

async function post(
  url: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

/** A request through node:http, for what fetch cannot do (Expect, chunked, a custom agent). */
function rawRequest(
  port: number,
  options: http.RequestOptions & { readonly body?: Uint8Array; readonly chunks?: readonly Uint8Array[] },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; reusedSocket: boolean }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method: 'POST', ...options }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks),
          reusedSocket: request.reusedSocket,
        });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    if (options.chunks !== undefined) {
      for (const chunk of options.chunks) request.write(chunk);
      request.end();
    } else {
      request.end(options.body);
    }
  });
}

/** `google.rpc.Status { int32 code = 1; string message = 2; }` */
function decodeStatus(bytes: Uint8Array): { code: number; message: string } {
  const reader = new WireReader(bytes);
  let code = 0;
  let message = '';
  while (reader.pos < bytes.length) {
    const at = reader.pos;
    const tag = reader.uint32(bytes.length);
    if (tag === 0x08) code = reader.uint32(bytes.length);
    else if (tag === 0x12) {
      const end = reader.lengthEnd(bytes.length);
      message = Buffer.from(bytes.subarray(reader.pos, end)).toString('utf8');
      reader.pos = end;
    } else reader.skip(tag >>> 3, tag & 7, bytes.length, at);
  }
  return { code, message };
}

function jsonStatus(body: Buffer): { code: number; message: string } {
  return JSON.parse(body.toString('utf8')) as { code: number; message: string };
}

const TRACES = buildTracesRequest({ traces: 4, spansPerTrace: 5 });
const LOGS = buildLogsRequest({ logRecords: 20 });

/** OTLP/JSON of a traces request (the fixtures carry no bytesValue, so hex needs no care). */
function tracesJson(bytes: Uint8Array): string {
  return JSON.stringify(decodeTracesRequest(bytes));
}

function attributesOf(attributes: readonly KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((attributes ?? []).map((kv) => [kv.key ?? '', kv.value]));
}

describe('OtlpHttpServer', () => {
  describe('accepted requests', () => {
    it('hands a protobuf traces request to the traces consumer byte for byte and answers 200', async (t) => {
      const receiver = await startReceiver(t);

      const response = await post(receiver.url('/v1/traces'), TRACES, { 'Content-Type': PROTOBUF });

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), PROTOBUF);
      assert.equal(response.body.length, 0, 'an empty ExportTraceServiceResponse');
      const [batch] = receiver.consumers.traces.batches;
      assert.equal(batch?.signal, Signal.TRACES);
      assert.deepEqual(Buffer.from(batch.bytes), Buffer.from(TRACES));
      assert.equal(batch.items, -1);
    });

    it('converts a JSON logs request to protobuf, counts its items and answers {} in JSON', async (t) => {
      const receiver = await startReceiver(t);

      const response = await post(receiver.url('/v1/logs'), JSON.stringify(decodeLogsRequest(LOGS)), {
        'Content-Type': 'application/json; charset=utf-8',
      });

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), JSON_TYPE);
      assert.equal(response.body.toString(), '{}');
      const [batch] = receiver.consumers.logs.batches;
      assert.equal(batch?.signal, Signal.LOGS);
      assert.deepEqual(Buffer.from(batch.bytes), Buffer.from(LOGS));
      assert.equal(batch.items, 20);
    });

    it('accepts metrics in both formats', async (t) => {
      const receiver = await startReceiver(t);
      const metrics = encodeMetricsRequest({
        resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', gauge: { dataPoints: [{ asInt: '3' }] } }] }] }],
      });

      const viaProtobuf = await post(receiver.url('/v1/metrics'), metrics, { 'Content-Type': PROTOBUF });
      const viaJson = await post(receiver.url('/v1/metrics'), JSON.stringify(decodeMetricsRequest(metrics)), {
        'Content-Type': JSON_TYPE,
      });

      assert.deepEqual([viaProtobuf.status, viaJson.status], [200, 200]);
      const [first, second] = receiver.consumers.metrics.batches;
      assert.deepEqual(Buffer.from(first?.bytes ?? []), Buffer.from(metrics));
      assert.deepEqual(Buffer.from(second?.bytes ?? []), Buffer.from(metrics));
    });

    it('serves configured paths and ignores the query string', async (t) => {
      const receiver = await startReceiver(t, { paths: { traces: '/otlp/traces', logs: '/otlp/logs' } });

      const moved = await post(receiver.url('/otlp/traces?tenant=a'), TRACES, { 'Content-Type': PROTOBUF });
      const old = await post(receiver.url('/v1/traces'), TRACES, { 'Content-Type': PROTOBUF });
      const metrics = await post(receiver.url('/v1/metrics'), new Uint8Array(0), { 'Content-Type': PROTOBUF });

      assert.deepEqual([moved.status, old.status, metrics.status], [200, 404, 200]);
      assert.equal(receiver.consumers.traces.batches.length, 1);
    });

    const encodings: [string, Compression][] = [
      ['gzip', 'gzip'],
      ['x-gzip', 'gzip'],
      ['deflate', 'deflate'],
      ['zlib', 'zlib'],
      ['zstd', 'zstd'],
      ['snappy', 'snappy'],
      ['x-snappy-framed', 'snappy-framed'],
      ['identity', 'none'],
      ['GZIP', 'gzip'],
    ];
    for (const [header, kind] of encodings) {
      it(`decompresses Content-Encoding: ${header}, protobuf and JSON`, async (t) => {
        const receiver = await startReceiver(t);

        const protobuf = await post(receiver.url('/v1/traces'), await compress(kind, TRACES), {
          'Content-Type': PROTOBUF,
          'Content-Encoding': header,
        });
        const json = await post(receiver.url('/v1/traces'), await compress(kind, Buffer.from(tracesJson(TRACES))), {
          'Content-Type': JSON_TYPE,
          'Content-Encoding': header,
        });

        assert.deepEqual([protobuf.status, json.status], [200, 200]);
        const [first, second] = receiver.consumers.traces.batches;
        assert.deepEqual(Buffer.from(first?.bytes ?? []), Buffer.from(TRACES));
        assert.deepEqual(Buffer.from(second?.bytes ?? []), Buffer.from(TRACES));
      });
    }

    it('accepts raw deflate under Content-Encoding: deflate, as some clients send it', async (t) => {
      const receiver = await startReceiver(t);
      const { deflateRawSync } = await import('node:zlib');

      const response = await post(receiver.url('/v1/traces'), deflateRawSync(TRACES), {
        'Content-Type': PROTOBUF,
        'Content-Encoding': 'deflate',
      });

      assert.equal(response.status, 200);
    });

    it('serves many requests over one keep-alive connection', async (t) => {
      const receiver = await startReceiver(t);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      t.after(() => {
        agent.destroy();
      });

      const results = [];
      for (let i = 0; i < 3; i++) {
        results.push(
          await rawRequest(receiver.port, {
            agent,
            path: '/v1/traces',
            headers: { 'Content-Type': PROTOBUF },
            body: TRACES,
          }),
        );
      }

      assert.deepEqual(
        results.map((r) => [r.status, r.reusedSocket]),
        [
          [200, false],
          [200, true],
          [200, true],
        ],
      );
    });

    it('takes a chunked body without Content-Length', async (t) => {
      const receiver = await startReceiver(t);

      const response = await rawRequest(receiver.port, {
        path: '/v1/traces',
        headers: { 'Content-Type': PROTOBUF },
        chunks: [TRACES.subarray(0, 100), TRACES.subarray(100, 2000), TRACES.subarray(2000)],
      });

      assert.equal(response.status, 200);
      assert.deepEqual(Buffer.from(receiver.consumers.traces.batches[0]?.bytes ?? []), Buffer.from(TRACES));
    });
  });

  describe('refused requests', () => {
    it('answers 404 for an unknown path and for a signal without a consumer', async (t) => {
      const receiver = await startReceiver(t, { consumers: { traces: new RecordingConsumer() } });

      const unknown = await post(receiver.url('/v1/profiles'), TRACES, { 'Content-Type': PROTOBUF });
      const unserved = await post(receiver.url('/v1/logs'), TRACES, { 'Content-Type': JSON_TYPE });

      assert.equal(unknown.status, 404);
      assert.match(decodeStatus(unknown.body).message, /no OTLP signal is served at \/v1\/profiles; try \/v1\/traces/);
      assert.equal(unserved.status, 404);
      assert.equal(jsonStatus(unserved.body).code, GrpcStatus.NOT_FOUND);
    });

    it('answers 405 with Allow: POST for other methods', async (t) => {
      const receiver = await startReceiver(t);

      const response = await fetch(receiver.url('/v1/traces'));

      assert.equal(response.status, 405);
      assert.equal(response.headers.get('allow'), 'POST');
      assert.match(await response.text(), /GET is not allowed on \/v1\/traces; OTLP\/HTTP uses POST/);
    });

    it('answers 415 for a wrong or missing Content-Type', async (t) => {
      const receiver = await startReceiver(t);

      const wrong = await post(receiver.url('/v1/traces'), TRACES, { 'Content-Type': 'text/plain' });
      const missing = await rawRequest(receiver.port, { path: '/v1/traces', body: TRACES });

      assert.equal(wrong.status, 415);
      assert.match(
        wrong.body.toString(),
        /unsupported Content-Type text\/plain; send application\/x-protobuf or application\/json/,
      );
      assert.equal(missing.status, 415);
      assert.equal(receiver.consumers.traces.batches.length, 0);
    });

    it('answers 415 with a Status in the request format for an unknown Content-Encoding', async (t) => {
      const receiver = await startReceiver(t);

      const response = await post(receiver.url('/v1/traces'), TRACES, {
        'Content-Type': PROTOBUF,
        'Content-Encoding': 'lz4',
      });

      assert.equal(response.status, 415);
      assert.equal(response.headers.get('content-type'), PROTOBUF);
      assert.match(decodeStatus(response.body).message, /unsupported Content-Encoding lz4; use one of identity, gzip/);
    });

    it('answers 400 with a JSON Status naming the path for invalid OTLP/JSON', async (t) => {
      const receiver = await startReceiver(t);
      const request: ExportTraceServiceRequest = {
        resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'a' }, { name: 'b', traceId: 'abc' }] }] }],
      };

      const badId = await post(receiver.url('/v1/traces'), JSON.stringify(request), { 'Content-Type': JSON_TYPE });
      const notJson = await post(receiver.url('/v1/traces'), '{"resourceSpans": [', { 'Content-Type': JSON_TYPE });

      assert.equal(badId.status, 400);
      assert.equal(badId.headers.get('content-type'), JSON_TYPE);
      assert.deepEqual(jsonStatus(badId.body), {
        code: GrpcStatus.INVALID_ARGUMENT,
        message:
          'invalid OTLP/JSON traces request: resourceSpans[0].scopeSpans[0].spans[1].traceId: "abc" is not 32 hex digits',
      });
      assert.equal(notJson.status, 400);
      assert.match(jsonStatus(notJson.body).message, /request body is not valid JSON/);
      assert.equal(receiver.consumers.traces.batches.length, 0);
    });

    for (const encoding of ['gzip', 'deflate', 'zstd', 'snappy', 'x-snappy-framed']) {
      it(`answers 400 for a corrupt ${encoding} body`, async (t) => {
        const receiver = await startReceiver(t);

        const response = await post(receiver.url('/v1/traces'), Buffer.from('this is not compressed at all'), {
          'Content-Type': PROTOBUF,
          'Content-Encoding': encoding,
        });

        assert.equal(response.status, 400);
        const status = decodeStatus(response.body);
        assert.equal(status.code, GrpcStatus.INVALID_ARGUMENT);
        assert.match(status.message, new RegExp(`corrupt.*\\(Content-Encoding: ${encoding}\\)`));
      });
    }
  });

  describe('size limits', () => {
    const LIMIT = 64 * 1024;

    it('answers 413 to a declared body over the limit and keeps the connection usable', async (t) => {
      const receiver = await startReceiver(t, { maxRequestBodyBytes: LIMIT });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      t.after(() => {
        agent.destroy();
      });

      const tooLarge = await rawRequest(receiver.port, {
        agent,
        path: '/v1/traces',
        headers: { 'Content-Type': PROTOBUF },
        body: new Uint8Array(LIMIT + 1),
      });
      const next = await rawRequest(receiver.port, {
        agent,
        path: '/v1/traces',
        headers: { 'Content-Type': PROTOBUF },
        body: TRACES,
      });

      assert.equal(tooLarge.status, 413);
      const status = decodeStatus(tooLarge.body);
      assert.equal(status.code, GrpcStatus.RESOURCE_EXHAUSTED);
      assert.match(status.message, /declares 65537 bytes, over the limit of 65536 bytes; send smaller requests/);
      assert.deepEqual([next.status, next.reusedSocket], [200, true]);
      assert.equal(receiver.consumers.traces.batches.length, 1);
    });

    it('answers 413 as soon as a chunked body passes the limit', async (t) => {
      const receiver = await startReceiver(t, { maxRequestBodyBytes: LIMIT });
      const chunk = new Uint8Array(16 * 1024);

      const response = await rawRequest(receiver.port, {
        path: '/v1/logs',
        headers: { 'Content-Type': JSON_TYPE },
        chunks: Array.from({ length: 40 }, () => chunk),
      });

      assert.equal(response.status, 413);
      assert.match(jsonStatus(response.body).message, /over the limit of 65536 bytes/);
      assert.equal(receiver.consumers.logs.batches.length, 0);
    });

    it('accepts a body of exactly the limit', async (t) => {
      const receiver = await startReceiver(t, { maxRequestBodyBytes: TRACES.length });

      const response = await post(receiver.url('/v1/traces'), TRACES, { 'Content-Type': PROTOBUF });

      assert.equal(response.status, 200);
    });

    it('refuses an oversized body before the client sends it when it expects 100-continue', async (t) => {
      const receiver = await startReceiver(t);
      let continued = false;

      const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const request = http.request({
          host: '127.0.0.1',
          port: receiver.port,
          method: 'POST',
          path: '/v1/traces',
          headers: { 'Content-Type': PROTOBUF, 'Content-Length': 20 * 1024 * 1024 + 1, Expect: '100-continue' },
        });
        request.on('continue', () => {
          continued = true;
          request.end(new Uint8Array(20 * 1024 * 1024 + 1));
        });
        request.on('response', resolve);
        request.on('error', reject);
        request.flushHeaders();
      });
      response.resume();

      assert.equal(response.statusCode, 413, 'the default limit is 20 MiB');
      assert.equal(continued, false);
    });

    it('sends 100 Continue for an acceptable body', async (t) => {
      const receiver = await startReceiver(t);

      const response = await rawRequest(receiver.port, {
        path: '/v1/traces',
        headers: { 'Content-Type': PROTOBUF, 'Content-Length': TRACES.length, Expect: '100-continue' },
        body: TRACES,
      });

      assert.equal(response.status, 200);
    });

    const bombs: [string, Compression][] = [
      ['gzip', 'gzip'],
      ['deflate', 'deflate'],
      ['zstd', 'zstd'],
      ['snappy', 'snappy'],
      ['x-snappy-framed', 'snappy-framed'],
    ];
    for (const [header, kind] of bombs) {
      it(`answers 413 to a ${header} body that decompresses past the limit`, async (t) => {
        const receiver = await startReceiver(t, { maxRequestBodyBytes: LIMIT });
        const bomb = await compress(kind, new Uint8Array(16 * LIMIT));
        assert.ok(bomb.length <= LIMIT, 'the compressed body itself is under the limit');

        const response = await post(receiver.url('/v1/traces'), bomb, {
          'Content-Type': PROTOBUF,
          'Content-Encoding': header,
        });

        assert.equal(response.status, 413);
        assert.match(decodeStatus(response.body).message, /decompresses to more than the limit of 65536 bytes/);
        assert.equal(receiver.consumers.traces.batches.length, 0);
      });
    }
  });

  describe('export results', () => {
    const cases: { name: string; result: ExportResult; status: number; retryAfter: string | null; code: number }[] = [
      { name: 'ok', result: EXPORT_OK, status: 200, retryAfter: null, code: 0 },
      {
        name: 'retryable without a delay',
        result: retryable(new Error('backend b:4317 is down')),
        status: 503,
        retryAfter: '1',
        code: GrpcStatus.UNAVAILABLE,
      },
      {
        name: 'retryable with a delay, rounded up to seconds',
        result: retryable(new Error('backend b:4317 is down'), 2_500),
        status: 503,
        retryAfter: '3',
        code: GrpcStatus.UNAVAILABLE,
      },
      {
        name: 'full queue',
        result: retryable(new OtelLbError(ErrorCode.LB_QUEUE_FULL, 'queue of b:4317 is full'), 200),
        status: 429,
        retryAfter: '1',
        code: GrpcStatus.RESOURCE_EXHAUSTED,
      },
      {
        name: 'back-pressure relayed from a backend',
        result: retryable(
          new GrpcError(ErrorCode.GRPC_STATUS, GrpcStatus.RESOURCE_EXHAUSTED, 'backend b:4317 is overloaded'),
          1_000,
        ),
        status: 429,
        retryAfter: '1',
        code: GrpcStatus.RESOURCE_EXHAUSTED,
      },
      {
        name: 'permanent',
        result: permanent(new Error('malformed ExportTraceServiceRequest')),
        status: 400,
        retryAfter: null,
        code: GrpcStatus.INVALID_ARGUMENT,
      },
    ];
    for (const { name, result, status, retryAfter, code } of cases) {
      it(`answers a ${name} result with ${status}`, async (t) => {
        const receiver = await startReceiver(t);
        receiver.consumers.traces.respond = () => result;

        const viaProtobuf = await post(receiver.url('/v1/traces'), TRACES, { 'Content-Type': PROTOBUF });
        const viaJson = await post(receiver.url('/v1/traces'), tracesJson(TRACES), { 'Content-Type': JSON_TYPE });

        for (const response of [viaProtobuf, viaJson]) {
          assert.equal(response.status, status);
          assert.equal(response.headers.get('retry-after'), retryAfter);
        }
        if (result.kind !== 'ok') {
          assert.deepEqual(decodeStatus(viaProtobuf.body), {
            code,
            message: `traces request ${result.kind === 'permanent' ? 'refused' : 'not accepted, try again later'}: ${result.error.message}`,
          });
          assert.equal(jsonStatus(viaJson.body).code, code);
        }
      });
    }

    it('answers 500 and reports to onError when a consumer breaks its contract by rejecting', async (t) => {
      const errors: Error[] = [];
      const receiver = await startReceiver(t, { onError: (error) => errors.push(error) });
      receiver.consumers.traces.respond = () => Promise.reject(new Error('bug'));

      const response = await post(receiver.url('/v1/traces'), TRACES, { 'Content-Type': PROTOBUF });

      assert.equal(response.status, 500);
      assert.deepEqual(
        errors.map((e) => e.message),
        ['bug'],
      );
    });
  });

  describe('clients that go away', () => {
    it('aborts the consume context when the client disconnects while waiting', async (t) => {
      const receiver = await startReceiver(t);
      let aborted!: () => void;
      const abortSeen = new Promise<void>((resolve) => {
        aborted = resolve;
      });
      receiver.consumers.traces.respond = (_batch, context) =>
        new Promise<ExportResult>((resolve) => {
          context.signal.addEventListener('abort', () => {
            aborted();
            resolve(retryable(new Error('cancelled')));
          });
        });
      const request = http.request({
        host: '127.0.0.1',
        port: receiver.port,
        method: 'POST',
        path: '/v1/traces',
        headers: { 'Content-Type': PROTOBUF },
      });
      request.on('error', () => undefined);
      request.end(TRACES);

      await receiver.consumers.traces.received(1);
      request.destroy();
      await abortSeen;

      assert.equal(receiver.consumers.traces.contexts[0]?.signal.aborted, true);
    });

    it('drops a request whose client disconnects mid-body and keeps serving', async (t) => {
      const receiver = await startReceiver(t);
      const socket = net.connect(receiver.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));

      socket.write(
        'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100000\r\n\r\n',
      );
      socket.write(TRACES.subarray(0, 500));
      socket.destroy();
      const next = await post(receiver.url('/v1/traces'), TRACES, { 'Content-Type': PROTOBUF });

      assert.equal(next.status, 200);
      assert.equal(receiver.consumers.traces.batches.length, 1);
    });

    it('survives garbage, malformed HTTP and random bodies', async (t) => {
      const receiver = await startReceiver(t);
      const garbage = net.connect(receiver.port, '127.0.0.1');
      let answer = '';
      garbage.setEncoding('latin1').on('data', (text: string) => (answer += text));
      const closed = new Promise((resolve) => garbage.once('close', resolve));
      garbage.end('\x00\x01 NOT HTTP AT ALL\r\n\r\n');
      await closed;
      assert.match(answer, /^HTTP\/1\.1 400 /, 'Node answers malformed HTTP itself');

      let seed = 7;
      const random = (): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed / 0x7fffffff;
      };
      const statuses = new Set<number>();
      for (let i = 0; i < 60; i++) {
        const body = new Uint8Array(Math.floor(random() * 300)).map(() => Math.floor(random() * 256));
        const type = [PROTOBUF, JSON_TYPE][i % 2] ?? PROTOBUF;
        const encoding = ['identity', 'gzip', 'zstd', 'snappy', 'x-snappy-framed', 'deflate'][i % 6] ?? 'identity';
        const response = await post(receiver.url(['/v1/traces', '/v1/logs', '/v1/metrics'][i % 3] ?? '/'), body, {
          'Content-Type': type,
          'Content-Encoding': encoding,
        });
        statuses.add(response.status);
      }

      assert.deepEqual(
        [...statuses].filter((s) => ![200, 400, 413].includes(s)),
        [],
      );
      assert.equal((await post(receiver.url('/v1/traces'), TRACES, { 'Content-Type': PROTOBUF })).status, 200);
    });
  });

  describe('close', () => {
    it('lets a request under way finish before the deadline, then closes', async (t) => {
      const receiver = await startReceiver(t);
      let release!: () => void;
      receiver.consumers.traces.respond = () =>
        new Promise<ExportResult>((resolve) => {
          release = () => {
            resolve(EXPORT_OK);
          };
        });
      const response = post(receiver.url('/v1/traces'), TRACES, { 'Content-Type': PROTOBUF });
      await receiver.consumers.traces.received(1);

      let closed = false;
      const closing = receiver.server.close(Date.now() + 60_000).then(() => {
        closed = true;
      });
      const refused = await fetch(receiver.url('/v1/traces'), { method: 'POST' }).then(
        () => 'connected',
        () => 'refused',
      );
      assert.equal(closed, false);
      release();

      assert.equal((await response).status, 200);
      await closing;
      assert.equal(refused, 'refused');
    });

    it('aborts what is still under way at the deadline and destroys the connections', async (t) => {
      const receiver = await startReceiver(t);
      receiver.consumers.traces.respond = (_batch, context) =>
        new Promise<ExportResult>((resolve) => {
          context.signal.addEventListener('abort', () => {
            resolve(retryable(new Error('shutting down')));
          });
        });
      const response = post(receiver.url('/v1/traces'), TRACES, { 'Content-Type': PROTOBUF }).then(
        (r) => r.status,
        () => 'connection closed',
      );
      await receiver.consumers.traces.received(1);

      await receiver.server.close(Date.now());

      assert.equal(receiver.consumers.traces.contexts[0]?.signal.aborted, true);
      assert.equal(await response, 'connection closed');
    });

    it('is idempotent and fine before listen', async () => {
      const server = new OtlpHttpServer({ host: '127.0.0.1', port: 0, consumers: {} });

      await server.close(Date.now());
      await server.close(Date.now());
    });

    it('rejects listen on a port in use, naming the address', async (t) => {
      const receiver = await startReceiver(t);
      const second = new OtlpHttpServer({ host: '127.0.0.1', port: receiver.port, consumers: {} });

      await assert.rejects(second.listen(), (error: Error) => {
        assert.match(error.message, new RegExp(`cannot listen for OTLP/HTTP on 127.0.0.1:${receiver.port}`));
        assert.equal((error.cause as { code?: string }).code, 'EADDRINUSE');
        return true;
      });
      await second.close(Date.now());
    });
  });

  describe('OpenTelemetry JS SDK exporters as clients', () => {
    /** Creates spans the way an application does, and returns them as the SDK recorded them. */
    async function recordSpans(): Promise<ReadableSpan[]> {
      const memory = new InMemorySpanExporter();
      const provider = new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '1.2.3' }),
        spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
      });
      const tracer = provider.getTracer('shop', '0.1.0');
      const parent = tracer.startSpan('POST /checkout', {
        attributes: { 'http.request.method': 'POST', 'http.response.status_code': 200, retried: false },
      });
      const child = tracer.startSpan(
        'SELECT orders',
        { attributes: { 'db.rows': 3, ratio: 0.25, tags: ['a', 'b'], big: 2 ** 40 } },
        trace.setSpan(otelContext.active(), parent),
      );
      child.addEvent('cache miss', { key: 'order:42' });
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadline exceeded' });
      child.end();
      parent.end();
      await provider.forceFlush();
      return memory.getFinishedSpans();
    }

    function exportWith<T>(
      exporter: { export(items: T[], done: (result: { code: number }) => void): void },
      items: T[],
    ) {
      return new Promise<number>((resolve) => {
        exporter.export(items, (result) => {
          resolve(result.code);
        });
      });
    }

    function spansOf(batch: Batch | undefined): NonNullable<ExportTraceServiceRequest['resourceSpans']> {
      assert.ok(batch !== undefined, 'no batch arrived');
      return decodeTracesRequest(batch.bytes).resourceSpans ?? [];
    }

    for (const [name, Exporter] of [
      ['exporter-trace-otlp-http (JSON, gzip)', JsonTraceExporter],
      ['exporter-trace-otlp-proto (protobuf)', ProtoTraceExporter],
    ] as const) {
      it(`receives spans intact from ${name}`, async (t) => {
        const receiver = await startReceiver(t);
        const spans = await recordSpans();
        const exporter: SpanExporter = new Exporter({
          url: receiver.url('/v1/traces'),
          // The SDK's CompressionAlgorithm enum is not exported by the exporter packages.
          compression: 'gzip' as never,
        });
        t.after(() => exporter.shutdown());

        const code = await exportWith(exporter, spans);

        assert.equal(code, 0, 'the SDK reports success');
        const [resourceSpans] = spansOf(receiver.consumers.traces.batches[0]);
        assert.deepEqual(attributesOf(resourceSpans?.resource?.attributes)['service.name'], {
          stringValue: 'checkout',
        });
        const scope = resourceSpans?.scopeSpans?.[0];
        assert.deepEqual(scope?.scope, { name: 'shop', version: '0.1.0' });
        const received = scope.spans ?? [];
        assert.deepEqual(
          received.map((s) => [s.name, s.traceId, s.spanId, s.parentSpanId]),
          spans.map((s) => [s.name, s.spanContext().traceId, s.spanContext().spanId, s.parentSpanContext?.spanId]),
        );
        const child = received[0];
        assert.deepEqual(attributesOf(child?.attributes), {
          'db.rows': { intValue: '3' },
          ratio: { doubleValue: 0.25 },
          tags: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } },
          big: { intValue: String(2 ** 40) },
        });
        assert.equal(child?.events?.[0]?.name, 'cache miss');
        assert.deepEqual(child.status, { code: 2, message: 'deadline exceeded' });
        const [seconds, nanos] = spans[0]?.startTime ?? [0, 0];
        assert.equal(child.startTimeUnixNano, String(BigInt(seconds) * 1_000_000_000n + BigInt(nanos)));
        assert.equal(receiver.consumers.traces.batches[0]?.items, Exporter === JsonTraceExporter ? 2 : -1);
      });
    }

    it('gets the same request from the JSON and the protobuf trace exporter', async (t) => {
      const receiver = await startReceiver(t);
      const spans = await recordSpans();
      const json = new JsonTraceExporter({ url: receiver.url('/v1/traces') });
      const proto = new ProtoTraceExporter({ url: receiver.url('/v1/traces') });
      t.after(() => Promise.all([json.shutdown(), proto.shutdown()]));

      assert.equal(await exportWith(json, spans), 0);
      assert.equal(await exportWith(proto, spans), 0);

      const [viaJson, viaProto] = receiver.consumers.traces.batches;
      assert.deepEqual(spansOf(viaJson), spansOf(viaProto));
    });

    // SeverityNumber is an enum of @opentelemetry/api-logs, which is not a dependency of ours.
    type LogInput = Parameters<ReturnType<LoggerProvider['getLogger']>['emit']>[0];
    type Severity = NonNullable<LogInput['severityNumber']>;
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the enum cannot be imported (above)
    const SEVERITY_INFO = 9 as Severity;
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the enum cannot be imported (above)
    const SEVERITY_ERROR = 17 as Severity;

    /** Emits log records inside a span, with the attribute types the SDK maps. */
    async function recordLogs(): Promise<ReadableLogRecord[]> {
      const memory = new InMemoryLogRecordExporter();
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': 'cart' }),
        processors: [new SimpleLogRecordProcessor({ exporter: memory })],
      });
      const logger = provider.getLogger('cart-logger', '2.0.0');
      const spanContext = {
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        traceFlags: 1,
      };
      logger.emit({
        body: 'order placed',
        severityNumber: SEVERITY_INFO,
        severityText: 'INFO',
        attributes: { 'order.id': 42, raw: new Uint8Array([0, 1, 254, 255]), nested: { a: 'b' } },
        context: trace.setSpanContext(otelContext.active(), spanContext),
      });
      logger.emit({ body: { structured: true, count: 2 }, severityNumber: SEVERITY_ERROR });
      await provider.forceFlush();
      return memory.getFinishedLogRecords();
    }

    function logsOf(batch: Batch | undefined): ExportLogsServiceRequest {
      assert.ok(batch !== undefined, 'no batch arrived');
      return decodeLogsRequest(batch.bytes);
    }

    for (const [name, Exporter] of [
      ['exporter-logs-otlp-http (JSON)', JsonLogExporter],
      ['exporter-logs-otlp-proto (protobuf)', ProtoLogExporter],
    ] as const) {
      it(`receives log records intact from ${name}`, async (t) => {
        const receiver = await startReceiver(t);
        const records = await recordLogs();
        const exporter: LogRecordExporter = new Exporter({ url: receiver.url('/v1/logs') });
        t.after(() => exporter.shutdown());

        assert.equal(await exportWith(exporter, records), 0);

        const request = logsOf(receiver.consumers.logs.batches[0]);
        const scope = request.resourceLogs?.[0]?.scopeLogs?.[0];
        assert.deepEqual(scope?.scope, { name: 'cart-logger', version: '2.0.0' });
        const [first, second] = scope.logRecords ?? [];
        assert.deepEqual(first?.body, { stringValue: 'order placed' });
        assert.equal(first.traceId, '5b8efff798038103d269b633813fc60c');
        assert.equal(first.spanId, 'eee19b7ec3c1b174');
        assert.equal(first.severityNumber, 9);
        assert.deepEqual(attributesOf(first.attributes), {
          'order.id': { intValue: '42' },
          raw: { bytesValue: '0001feff' },
          nested: { kvlistValue: { values: [{ key: 'a', value: { stringValue: 'b' } }] } },
        });
        assert.deepEqual(second?.body, {
          kvlistValue: {
            values: [
              { key: 'structured', value: { boolValue: true } },
              { key: 'count', value: { intValue: '2' } },
            ],
          },
        });
      });
    }

    it('gets the same request from the JSON and the protobuf log exporter', async (t) => {
      const receiver = await startReceiver(t);
      const records = await recordLogs();
      const json = new JsonLogExporter({ url: receiver.url('/v1/logs') });
      const proto = new ProtoLogExporter({ url: receiver.url('/v1/logs') });
      t.after(() => Promise.all([json.shutdown(), proto.shutdown()]));

      assert.equal(await exportWith(json, records), 0);
      assert.equal(await exportWith(proto, records), 0);

      const [viaJson, viaProto] = receiver.consumers.logs.batches;
      assert.deepEqual(logsOf(viaJson), logsOf(viaProto));
      assert.equal(viaJson?.items, 2);
    });

    it('lets an SDK exporter retry after a 503 with Retry-After', async (t) => {
      const receiver = await startReceiver(t);
      let calls = 0;
      receiver.consumers.traces.respond = () => (++calls === 1 ? retryable(new Error('busy'), 0) : EXPORT_OK);
      const spans = await recordSpans();
      const exporter = new ProtoTraceExporter({ url: receiver.url('/v1/traces') });
      t.after(() => exporter.shutdown());

      assert.equal(await exportWith(exporter, spans), 0);

      assert.equal(receiver.consumers.traces.batches.length, 2);
      assert.deepEqual(spansOf(receiver.consumers.traces.batches[0]), spansOf(receiver.consumers.traces.batches[1]));
    });

    it('makes an SDK exporter fail on a permanent error without retrying', async (t) => {
      const receiver = await startReceiver(t);
      receiver.consumers.logs.respond = () => permanent(new Error('bad data'));
      const exporter = new JsonLogExporter({ url: receiver.url('/v1/logs') });
      t.after(() => exporter.shutdown());

      assert.notEqual(await exportWith(exporter, await recordLogs()), 0);

      assert.equal(receiver.consumers.logs.batches.length, 1);
    });
  });
});
