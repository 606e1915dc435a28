/**
 * `otelcol.receiver.otlp` with `auth`: requests without the credentials of the handler's
 * server side are refused (gRPC UNAUTHENTICATED, HTTP 401) before their body is read, and
 * nothing reaches the output; requests with them pass. A handler with no server side
 * (`otelcol.auth.headers`) is refused at load.
 */

import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { after, describe, it } from 'node:test';

import { basicAuthDefinition } from '../../src/components/auth/basic.ts';
import { headersAuthDefinition } from '../../src/components/auth/headers.ts';
import { receiverOtlpDefinition } from '../../src/components/receiver-otlp/definition.ts';
import { GrpcClient } from '../../src/transport/grpc-client.ts';
import { GrpcError } from '../../src/transport/grpc-protocol.ts';
import { GrpcStatus } from '../../src/transport/grpc-status.ts';
import { loadClientTls } from '../../src/transport/tls.ts';
import { expectErrors, recordingOutput, startComponent } from '../helpers/component-harness.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';
import { fixturePath, fixturePem } from '../helpers/tls-fixtures.ts';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const BASIC = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;

describe('otelcol.receiver.otlp auth', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('lets in only the requests with valid credentials, over gRPC and HTTP', async () => {
    const auth = await startComponent(basicAuthDefinition, 'htpasswd {\n  inline = "alice:s3cret"\n}', { label: 'in' });
    cleanups.push(() => auth.stop());
    const sink = recordingOutput('otelcol.exporter.debug.sink');
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const receiver = await startComponent(
      receiverOtlpDefinition,
      `grpc {
        endpoint = "127.0.0.1:${grpcPort}"
        auth     = otelcol.auth.basic.in.handler
      }
      http {
        endpoint = "127.0.0.1:${httpPort}"
        auth     = otelcol.auth.basic.in.handler
      }
      output {
        traces = [otelcol.exporter.debug.sink.input]
      }`,
      { exports: { 'otelcol.auth.basic.in': auth.exports, 'otelcol.exporter.debug.sink': sink.exports } },
    );
    cleanups.push(() => receiver.stop());
    const bytes = buildTracesRequest({ traces: 2, spansPerTrace: 2 });
    const anonymous = new GrpcClient({ endpoint: `127.0.0.1:${grpcPort}`, compression: 'none' });
    const alice = new GrpcClient({
      endpoint: `127.0.0.1:${grpcPort}`,
      compression: 'none',
      headers: { authorization: BASIC },
    });
    cleanups.push(
      () => anonymous.close(),
      () => alice.close(),
    );

    const refused = await anonymous.export({ signal: 'traces', bytes, items: 4 });
    const accepted = await alice.export({ signal: 'traces', bytes, items: 4 });
    const httpRefused = await fetch(`http://127.0.0.1:${httpPort}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: bytes,
    });
    const httpAccepted = await fetch(`http://127.0.0.1:${httpPort}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', authorization: BASIC },
      body: bytes,
    });

    assert.ok(refused.kind !== 'ok' && refused.error instanceof GrpcError);
    assert.equal(refused.error.grpcStatus, GrpcStatus.UNAUTHENTICATED);
    assert.equal(accepted.kind, 'ok');
    assert.equal(httpRefused.status, 401);
    assert.equal(httpAccepted.status, 200);
    assert.equal(sink.recorder.calls.length, 2);
  });

  it('refuses at load a handler that cannot check incoming requests', async () => {
    const headers = await startComponent(headersAuthDefinition, 'header {\n  key = "x-a"\n  value = "b"\n}', {
      label: 'h',
    });
    cleanups.push(() => headers.stop());

    const errors = expectErrors(
      receiverOtlpDefinition,
      'grpc {\n  auth = otelcol.auth.headers.h.handler\n}\noutput {}',
      { exports: { 'otelcol.auth.headers.h': headers.exports } },
    );

    assert.match(errors.map((e) => e.message).join('\n'), /otelcol\.auth\.headers\.h cannot check incoming requests/);
  });
});

describe('otelcol.receiver.otlp tls', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('serves OTLP/gRPC and OTLP/HTTP over TLS with the tls block of each server', async () => {
    const sink = recordingOutput('otelcol.exporter.debug.sink');
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const tls = `tls {
          cert_file = "${fixturePath('server.crt')}"
          key_file  = "${fixturePath('server.key')}"
        }`;
    const receiver = await startComponent(
      receiverOtlpDefinition,
      `grpc {
        endpoint = "127.0.0.1:${grpcPort}"
        ${tls}
      }
      http {
        endpoint = "127.0.0.1:${httpPort}"
        ${tls}
      }
      output {
        traces = [otelcol.exporter.debug.sink.input]
      }`,
      { exports: { 'otelcol.exporter.debug.sink': sink.exports } },
    );
    cleanups.push(() => receiver.stop());
    const bytes = buildTracesRequest({ traces: 2, spansPerTrace: 2 });
    const clientTls = loadClientTls({ caFile: fixturePath('ca.crt'), serverName: 'localhost' });
    const grpc = new GrpcClient({
      endpoint: `127.0.0.1:${grpcPort}`,
      compression: 'none',
      ...(clientTls === undefined ? {} : { tls: clientTls }),
    });
    cleanups.push(() => grpc.close());

    const overGrpc = await grpc.export({ signal: 'traces', bytes, items: 4 });
    const overHttp = await new Promise<number | undefined>((resolve, reject) => {
      const request = https.request(
        {
          host: '127.0.0.1',
          port: httpPort,
          path: '/v1/traces',
          method: 'POST',
          ca: fixturePem('ca.crt'),
          servername: 'localhost',
          headers: { 'content-type': 'application/x-protobuf' },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode);
        },
      );
      request.on('error', reject);
      request.end(bytes);
    });

    assert.equal(overGrpc.kind, 'ok');
    assert.equal(overHttp, 200);
    assert.equal(sink.recorder.calls.length, 2);
  });
});
