/**
 * Our gRPC server and client against independent peers: @grpc/grpc-js as client and as
 * server, and the OpenTelemetry JS SDK's OTLP gRPC trace and log exporters as real clients.
 * Everything runs on 127.0.0.1 with ports picked by the OS.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';

import * as grpc from '@grpc/grpc-js';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { SeverityNumber } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

import { ErrorCode } from '../../src/errors.ts';
import type { Batch } from '../../src/otlp/batch.ts';
import { decodeLogsRequest, decodeTracesRequest } from '../../src/otlp/proto/decoder.ts';
import { Signal } from '../../src/otlp/signal.ts';
import type { Compression } from '../../src/transport/compression.ts';
import { EXPORT_OK, permanent, retryable } from '../../src/transport/export-result.ts';
import { GrpcClient } from '../../src/transport/grpc-client.ts';
import { encodeStatusDetails, GrpcError, OtlpGrpcPath } from '../../src/transport/grpc-protocol.ts';
import { GrpcServer } from '../../src/transport/grpc-server.ts';
import { GrpcStatus } from '../../src/transport/grpc-status.ts';
import { RecordingConsumer } from '../helpers/batch-consumers.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';

const TRACES = Buffer.from(buildTracesRequest({ traces: 100 }));
const tracesBatch: Batch = { signal: Signal.TRACES, bytes: TRACES, items: 2_000 };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(): Promise<{ port: number; consumer: RecordingConsumer }> {
  const consumer = new RecordingConsumer();
  const server = new GrpcServer({ host: '127.0.0.1', port: 0, consumers: { traces: consumer, logs: consumer } });
  const { port } = await server.listen();
  cleanups.push(() => server.close(0));
  return { port, consumer };
}

/** A TCP relay in front of `port` that counts the bytes clients send through it. */
async function countingRelay(port: number): Promise<{ port: number; bytesUp: () => number }> {
  let bytesUp = 0;
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((downstream) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(downstream).add(upstream);
    downstream.on('data', (chunk: Buffer) => (bytesUp += chunk.length));
    downstream.pipe(upstream).pipe(downstream);
    downstream.on('error', () => upstream.destroy());
    upstream.on('error', () => downstream.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    relay.close();
  });
  return { port: (relay.address() as net.AddressInfo).port, bytesUp: () => bytesUp };
}

const identity = (bytes: Buffer): Buffer => bytes;
const exportMethod = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const TRACE_SERVICE = { Export: exportMethod(OtlpGrpcPath.TRACES) };
const TraceServiceClient = grpc.makeGenericClientConstructor(TRACE_SERVICE, 'TraceService');

/** grpc-js unary call; resolves with the error (if any) and the status metadata. */
function grpcJsExport(
  port: number,
  algorithm: 'identity' | 'deflate' | 'gzip',
  request: Buffer,
  path: string = OtlpGrpcPath.TRACES,
): Promise<{ error: grpc.ServiceError | null; response: Buffer | undefined }> {
  const Client =
    path === OtlpGrpcPath.TRACES
      ? TraceServiceClient
      : grpc.makeGenericClientConstructor({ Export: exportMethod(path) }, 'Other');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.default_compression_algorithm': grpc.compressionAlgorithms[algorithm],
  });
  cleanups.push(() => {
    client.close();
  });
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, identity, request, (error: grpc.ServiceError | null, response?: Buffer) => {
      resolve({ error, response });
    });
  });
}

describe('interop: a @grpc/grpc-js client against our server', () => {
  for (const algorithm of ['gzip', 'deflate', 'identity'] as const) {
    it(`delivers a request compressed with ${algorithm}`, async () => {
      const { port, consumer } = await startServer();
      const relay = await countingRelay(port);

      const { error, response } = await grpcJsExport(relay.port, algorithm, TRACES);

      assert.equal(error, null);
      assert.deepEqual(response, Buffer.alloc(0));
      assert.equal(consumer.calls.length, 1);
      assert.deepEqual(Buffer.from(consumer.calls[0]!.batch.bytes), TRACES);
      // Compressed requests must really have been compressed on the wire.
      if (algorithm === 'identity') assert.ok(relay.bytesUp() > TRACES.length);
      else assert.ok(relay.bytesUp() < TRACES.length / 2, `${relay.bytesUp()} bytes went up`);
    });
  }

  it('sees our statuses, messages and RetryInfo', async () => {
    const { port, consumer } = await startServer();
    consumer.result = retryable(new Error('backend pool drained: réessayez'), 2_000);

    const { error } = await grpcJsExport(port, 'gzip', TRACES);

    assert.ok(error !== null);
    assert.equal(error.code, grpc.status.UNAVAILABLE);
    assert.equal(error.details, 'backend pool drained: réessayez');
    const details = error.metadata.get('grpc-status-details-bin')[0];
    assert.ok(Buffer.isBuffer(details));
    assert.equal(
      details.toString('base64'),
      encodeStatusDetails(GrpcStatus.UNAVAILABLE, 'backend pool drained: réessayez', 2_000),
    );
  });

  it('gets UNIMPLEMENTED for an unknown method', async () => {
    const { port } = await startServer();

    const { error } = await grpcJsExport(
      port,
      'identity',
      TRACES,
      '/opentelemetry.proto.collector.profiles.v1.ProfilesService/Export',
    );

    assert.equal(error?.code, grpc.status.UNIMPLEMENTED);
  });
});

describe('interop: our client against a @grpc/grpc-js server', () => {
  async function startGrpcJsServer(
    handler: (request: Buffer) => grpc.ServerErrorResponse | null,
  ): Promise<{ port: number; requests: Buffer[] }> {
    const requests: Buffer[] = [];
    const server = new grpc.Server();
    server.addService(TRACE_SERVICE, {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        requests.push(call.request);
        const error = handler(call.request);
        if (error === null) callback(null, Buffer.alloc(0));
        else callback(error);
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
        if (error === null) resolve(bound);
        else reject(error);
      });
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.tryShutdown(() => {
            resolve();
          });
        }),
    );
    return { port, requests };
  }

  for (const compression of ['gzip', 'deflate', 'zlib', 'none'] as const satisfies readonly Compression[]) {
    it(`delivers a request compressed with ${compression}`, async () => {
      const { port, requests } = await startGrpcJsServer(() => null);
      const client = new GrpcClient({ endpoint: `127.0.0.1:${port}`, compression });
      cleanups.push(() => client.close());

      const result = await client.export(tracesBatch);

      assert.deepEqual(result, EXPORT_OK);
      assert.deepEqual(requests, [TRACES]);
    });
  }

  for (const compression of ['zstd', 'snappy'] as const) {
    it(`learns that grpc-js cannot take ${compression}: permanent UNIMPLEMENTED`, async () => {
      const { port, requests } = await startGrpcJsServer(() => null);
      const client = new GrpcClient({ endpoint: `127.0.0.1:${port}`, compression });
      cleanups.push(() => client.close());

      const result = await client.export(tracesBatch);

      assert.ok(result.kind === 'permanent' && result.error instanceof GrpcError);
      assert.equal(result.error.grpcStatus, GrpcStatus.UNIMPLEMENTED);
      assert.equal(requests.length, 0);
    });
  }

  it('classifies the statuses grpc-js sends, with RetryInfo', async () => {
    const answers: grpc.ServerErrorResponse[] = [
      { name: 'unavailable', message: 'down', code: grpc.status.UNAVAILABLE },
      { name: 'invalid', message: 'bad request', code: grpc.status.INVALID_ARGUMENT },
      {
        name: 'exhausted',
        message: 'slow down',
        code: grpc.status.RESOURCE_EXHAUSTED,
        metadata: (() => {
          const metadata = new grpc.Metadata();
          const details = encodeStatusDetails(GrpcStatus.RESOURCE_EXHAUSTED, 'slow down', 4_000);
          metadata.set('grpc-status-details-bin', Buffer.from(details, 'base64'));
          return metadata;
        })(),
      },
    ];
    let next = 0;
    const { port } = await startGrpcJsServer(() => answers[next++] ?? null);
    const client = new GrpcClient({ endpoint: `127.0.0.1:${port}` });
    cleanups.push(() => client.close());

    const unavailable = await client.export(tracesBatch);
    const invalid = await client.export(tracesBatch);
    const exhausted = await client.export(tracesBatch);

    assert.equal(unavailable.kind, 'retryable');
    assert.ok(invalid.kind === 'permanent' && invalid.error instanceof GrpcError);
    assert.equal(invalid.error.code, ErrorCode.GRPC_STATUS);
    assert.equal(invalid.error.grpcMessage, 'bad request');
    assert.ok(exhausted.kind === 'retryable');
    assert.equal(exhausted.retryAfterMs, 4_000);
  });
});

type SdkCompression = NonNullable<NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>['compression']>;
const sdkCompression = (name: 'gzip' | 'none'): SdkCompression =>
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the SDK's CompressionAlgorithm enum comes from a package we do not depend on directly; its values are these strings
  name as SdkCompression;

describe('interop: the OpenTelemetry JS SDK OTLP gRPC exporters against our server', () => {
  for (const compression of ['gzip', 'none'] as const) {
    it(`exports spans (compression ${compression}) that decode to what the SDK recorded`, async () => {
      const { port, consumer } = await startServer();
      const recorded = new InMemorySpanExporter();
      const provider = new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '1.2.3' }),
        spanProcessors: [new SimpleSpanProcessor({ exporter: recorded })],
      });
      const tracer = provider.getTracer('interop-test', '0.1.0');
      const parent = tracer.startSpan('POST /checkout', { attributes: { 'http.request.method': 'POST' } });
      parent.addEvent('cart loaded', { items: 3 });
      parent.end();
      tracer.startSpan('SELECT orders', { attributes: { 'db.system': 'postgresql' } }).end();
      await provider.forceFlush();
      const spans = recorded.getFinishedSpans();
      const exporter = new OTLPTraceExporter({
        url: `http://127.0.0.1:${port}`,
        compression: sdkCompression(compression),
      });
      cleanups.push(() => exporter.shutdown());

      const result = await new Promise<{ code: number; error?: Error }>((resolve) => {
        exporter.export(spans, resolve);
      });

      assert.equal(result.code, 0, result.error?.message);
      assert.equal(consumer.calls.length, 1);
      assert.equal(consumer.calls[0]!.batch.signal, Signal.TRACES);
      const request = decodeTracesRequest(consumer.calls[0]!.batch.bytes);
      const resourceSpans = request.resourceSpans ?? [];
      assert.equal(resourceSpans.length, 1);
      const attributes = resourceSpans[0]?.resource?.attributes ?? [];
      assert.deepEqual(attributes.find((attribute) => attribute.key === 'service.name')?.value, {
        stringValue: 'checkout',
      });
      const decoded = resourceSpans[0]!.scopeSpans![0]!;
      assert.equal(decoded.scope!.name, 'interop-test');
      assert.deepEqual(
        decoded.spans!.map((span) => [span.name, span.traceId, span.spanId]),
        spans.map((span) => [span.name, span.spanContext().traceId, span.spanContext().spanId]),
      );
      assert.equal(decoded.spans![0]!.events![0]!.name, 'cart loaded');
      await provider.shutdown();
    });
  }

  it('reports a permanent failure to the SDK without retrying', async () => {
    const { port, consumer } = await startServer();
    consumer.result = permanent(new Error('rejected'));
    const recorded = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: recorded })] });
    provider.getTracer('interop-test').startSpan('doomed').end();
    await provider.forceFlush();
    const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${port}` });
    cleanups.push(() => exporter.shutdown());

    const result = await new Promise<{ code: number; error?: Error }>((resolve) => {
      exporter.export(recorded.getFinishedSpans(), resolve);
    });

    assert.equal(result.code, 1);
    assert.equal(consumer.calls.length, 1);
    await provider.shutdown();
  });

  it('exports log records that decode to what the SDK recorded', async () => {
    const { port, consumer } = await startServer();
    const recorded = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'payment' }),
      processors: [new SimpleLogRecordProcessor({ exporter: recorded })],
    });
    const logger = provider.getLogger('interop-logs');
    logger.emit({
      body: 'payment authorized',
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      attributes: { 'order.id': 'o-42' },
    });
    logger.emit({ body: 'card declined', severityNumber: SeverityNumber.ERROR, severityText: 'ERROR' });
    await provider.forceFlush();
    const exporter = new OTLPLogExporter({ url: `http://127.0.0.1:${port}`, compression: sdkCompression('gzip') });
    cleanups.push(() => exporter.shutdown());

    const result = await new Promise<{ code: number; error?: Error }>((resolve) => {
      exporter.export(recorded.getFinishedLogRecords(), resolve);
    });

    assert.equal(result.code, 0, result.error?.message);
    assert.equal(consumer.calls[0]!.batch.signal, Signal.LOGS);
    const request = decodeLogsRequest(consumer.calls[0]!.batch.bytes);
    const scopeLogs = request.resourceLogs![0]!.scopeLogs![0]!;
    assert.equal(scopeLogs.scope!.name, 'interop-logs');
    assert.deepEqual(
      scopeLogs.logRecords!.map((record) => [record.body?.stringValue, record.severityNumber, record.severityText]),
      [
        ['payment authorized', 9, 'INFO'],
        ['card declined', 17, 'ERROR'],
      ],
    );
    assert.deepEqual(scopeLogs.logRecords![0]!.attributes, [{ key: 'order.id', value: { stringValue: 'o-42' } }]);
    await provider.shutdown();
  });
});
