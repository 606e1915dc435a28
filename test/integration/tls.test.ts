/**
 * TLS end to end with the fixtures of test/fixtures/tls: our gRPC client and server (and the
 * OTLP/HTTP receiver) over TLS and mTLS, each way a handshake can fail (checked by error
 * code), reloads of replaced certificates, and @grpc/grpc-js as the independent peer.
 */

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, it } from 'node:test';

import * as grpc from '@grpc/grpc-js';

import type { Batch } from '../../src/otlp/batch.ts';
import { Signal } from '../../src/otlp/signal.ts';
import { EXPORT_OK } from '../../src/transport/export-result.ts';
import { GrpcClient, type GrpcClientOptions } from '../../src/transport/grpc-client.ts';
import { GrpcServer } from '../../src/transport/grpc-server.ts';
import { OtlpHttpServer } from '../../src/transport/http-server.ts';
import {
  loadClientTls,
  loadServerTls,
  type ClientTls,
  type ClientTlsSettings,
  type ServerTls,
  type ServerTlsSettings,
} from '../../src/transport/tls.ts';
import { TransportErrorCode } from '../../src/transport/transport-error.ts';
import { RecordingConsumer } from '../helpers/batch-consumers.ts';
import { expectUnavailable } from '../helpers/export-assertions.ts';
import { startGrpcOkServer } from '../helpers/grpc-ok-server.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';
import { fixturePath, fixturePem, ScratchDir, type TlsFixture } from '../helpers/tls-fixtures.ts';

const batch: Batch = { signal: Signal.TRACES, bytes: buildTracesRequest({ traces: 3 }), items: 30 };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SERVER: ServerTlsSettings = { certFile: fixturePath('server.crt'), keyFile: fixturePath('server.key') };
const MTLS_SERVER: ServerTlsSettings = { ...SERVER, clientCaFile: fixturePath('ca.crt') };
const CLIENT: ClientTlsSettings = { caFile: fixturePath('ca.crt') };
const MTLS_CLIENT: ClientTlsSettings = {
  ...CLIENT,
  certFile: fixturePath('client.crt'),
  keyFile: fixturePath('client.key'),
};

function serverTls(settings: ServerTlsSettings, options?: Parameters<typeof loadServerTls>[1]): ServerTls {
  const loaded = loadServerTls(settings, options);
  cleanups.push(() => {
    loaded.close();
  });
  return loaded;
}

function clientTls(settings: ClientTlsSettings, options?: Parameters<typeof loadClientTls>[1]): ClientTls {
  const loaded = loadClientTls(settings, options);
  assert.ok(loaded !== undefined);
  cleanups.push(() => {
    loaded.close();
  });
  return loaded;
}

async function startServer(
  tlsOptions: ServerTls,
): Promise<{ port: number; consumer: RecordingConsumer; errors: Error[] }> {
  const consumer = new RecordingConsumer();
  const errors: Error[] = [];
  const server = new GrpcServer({
    host: '127.0.0.1',
    port: 0,
    consumers: { traces: consumer },
    tls: tlsOptions,
    onError: (error) => errors.push(error),
  });
  const { port } = await server.listen();
  cleanups.push(() => server.close(0));
  return { port, consumer, errors };
}

function client(port: number, options: Partial<GrpcClientOptions> = {}): GrpcClient {
  const created = new GrpcClient({ endpoint: `127.0.0.1:${port}`, proxyEnvironment: {}, ...options });
  cleanups.push(() => created.close());
  return created;
}

function fingerprint(name: TlsFixture): string {
  return new X509Certificate(fixturePem(name)).fingerprint256;
}

/** The certificate a TLS server on `port` presents to a new connection. */
async function presentedCertificate(port: number): Promise<string> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: fixturePem('ca.crt'), ALPNProtocols: ['h2'] });
  await once(socket, 'secureConnect');
  const presented = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
  socket.destroy();
  return presented;
}

describe('TLS: our gRPC client and server', () => {
  it('export over TLS, verified against ca_file', async () => {
    const { port, consumer } = await startServer(serverTls(SERVER));

    const result = await client(port, { tls: clientTls(CLIENT) }).export(batch);

    assert.deepEqual(result, EXPORT_OK);
    assert.ok(Buffer.from(consumer.calls[0]?.batch.bytes ?? []).equals(batch.bytes));
  });

  it('export over mTLS with a client certificate signed by client_ca_file', async () => {
    const { port, consumer } = await startServer(serverTls(MTLS_SERVER));

    const result = await client(port, { tls: clientTls(MTLS_CLIENT) }).export(batch);

    assert.deepEqual(result, EXPORT_OK);
    assert.equal(consumer.calls.length, 1);
  });

  it('takes the certificate and key inline (cert_pem, key_pem as a reveal function)', async () => {
    const { port } = await startServer(serverTls(MTLS_SERVER));
    const inline = clientTls({
      caPem: fixturePem('ca.crt'),
      certPem: fixturePem('client.crt'),
      keyPem: () => fixturePem('client.key'),
    });

    assert.deepEqual(await client(port, { tls: inline }).export(batch), EXPORT_OK);
  });

  it('mTLS without a client certificate: retryable UNAVAILABLE, certificate required', async () => {
    const { port, consumer, errors } = await startServer(serverTls(MTLS_SERVER));

    const result = await client(port, { tls: clientTls(CLIENT) }).export(batch);

    const error = expectUnavailable(result, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    assert.match(error.message, /cert_file/);
    assert.equal(consumer.calls.length, 0);
    assert.ok(errors.length > 0, 'the server reports the failed handshake');
  });

  it('mTLS with a client certificate of another CA: refused, never reaches the consumer', async () => {
    const { port, consumer } = await startServer(serverTls(MTLS_SERVER));
    const other = clientTls({
      ...CLIENT,
      certFile: fixturePath('other-client.crt'),
      keyFile: fixturePath('other-client.key'),
    });

    const result = await client(port, { tls: other }).export(batch);

    // TLS 1.3: the server drops the connection after the client's handshake has completed,
    // without an alert Node would report, so there is no cause code to check.
    expectUnavailable(result);
    assert.equal(consumer.calls.length, 0);
  });

  it('an expired server certificate: CERT_HAS_EXPIRED', async () => {
    const { port } = await startServer(
      serverTls({ certFile: fixturePath('expired.crt'), keyFile: fixturePath('expired.key') }),
    );

    const error = expectUnavailable(await client(port, { tls: clientTls(CLIENT) }).export(batch), 'CERT_HAS_EXPIRED');
    assert.match(error.message, /renew/);
  });

  it('a certificate for another host: ERR_TLS_CERT_ALTNAME_INVALID; server_name makes it match', async () => {
    const { port } = await startServer(
      serverTls({ certFile: fixturePath('wrong-host.crt'), keyFile: fixturePath('wrong-host.key') }),
    );

    const wrong = await client(port, { tls: clientTls(CLIENT) }).export(batch);
    const named = await client(port, { tls: clientTls({ ...CLIENT, serverName: 'wrong.example' }) }).export(batch);

    expectUnavailable(wrong, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.deepEqual(named, EXPORT_OK);
  });

  it('checks the host of the authority when there is no server_name, as grpc-go does', async () => {
    const { port } = await startServer(
      serverTls({ certFile: fixturePath('wrong-host.crt'), keyFile: fixturePath('wrong-host.key') }),
    );

    const result = await client(port, { tls: clientTls(CLIENT), authority: `wrong.example:${port}` }).export(batch);

    assert.deepEqual(result, EXPORT_OK);
  });

  it('a server certificate of an unknown CA: UNABLE_TO_VERIFY_LEAF_SIGNATURE; insecure_skip_verify accepts it', async () => {
    const { port } = await startServer(serverTls(SERVER));
    const otherCa: ClientTlsSettings = { caFile: fixturePath('other-ca.crt') };

    const refused = await client(port, { tls: clientTls(otherCa) }).export(batch);
    const skipped = await client(port, { tls: clientTls({ ...otherCa, insecureSkipVerify: true }) }).export(batch);

    const error = expectUnavailable(refused, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.match(error.message, /ca_file/);
    assert.deepEqual(skipped, EXPORT_OK);
  });

  it('a TLS client against a cleartext server: ERR_SSL_WRONG_VERSION_NUMBER, with the insecure hint', async () => {
    const consumer = new RecordingConsumer();
    const plain = new GrpcServer({ host: '127.0.0.1', port: 0, consumers: { traces: consumer } });
    const { port } = await plain.listen();
    cleanups.push(() => plain.close(0));

    const error = expectUnavailable(
      await client(port, { tls: clientTls(CLIENT) }).export(batch),
      'ERR_SSL_WRONG_VERSION_NUMBER',
    );
    assert.match(error.message, /insecure/);
  });

  it('insecure = true is cleartext; with a CA configured it is still TLS, as in the Collector', async () => {
    assert.equal(loadClientTls({ insecure: true }), undefined);
    const { port } = await startServer(serverTls(SERVER));

    const withCa = loadClientTls({ ...CLIENT, insecure: true });

    assert.ok(withCa !== undefined);
    cleanups.push(() => {
      withCa.close();
    });
    assert.deepEqual(await client(port, { tls: withCa }).export(batch), EXPORT_OK);
  });

  it('min_version 1.3 against a server capped at 1.2: no common version, a clear error', async () => {
    const { port } = await startServer(serverTls({ ...SERVER, maxVersion: '1.2' }));

    const error = expectUnavailable(
      await client(port, { tls: clientTls({ ...CLIENT, minVersion: '1.3' }) }).export(batch),
    );
    assert.match(error.message, /min_version/);
  });
});

describe('TLS: cipher suites', () => {
  /** The suite a TLS 1.2 server restricted to `serverSuites` agrees on with a raw client offering `clientCiphers`. */
  async function negotiate(settings: ServerTlsSettings, clientOptions: tls.ConnectionOptions): Promise<string> {
    const loaded = serverTls(settings);
    const server = tls.createServer(loaded.serverOptions, (socket) => socket.end());
    server.on('tlsClientError', () => undefined);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as AddressInfo;
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: fixturePem('ca.crt'),
      servername: 'localhost',
      ...clientOptions,
    });
    return await new Promise<string>((resolve) => {
      socket.once('secureConnect', () => {
        resolve(`${socket.getProtocol() ?? ''} ${socket.getCipher().standardName}`);
        socket.destroy();
      });
      socket.once('error', (error: Error & { code?: string }) => {
        resolve(`error ${error.code ?? ''}`);
      });
    });
  }

  it('uses the configured Go suite for TLS 1.2 and refuses the others', async () => {
    const settings: ServerTlsSettings = {
      ...SERVER,
      maxVersion: '1.2',
      cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
    };

    assert.equal(await negotiate(settings, {}), 'TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    assert.match(
      await negotiate(settings, { ciphers: 'ECDHE-RSA-AES256-GCM-SHA384', maxVersion: 'TLSv1.2' }),
      /^error /,
    );
  });

  it('keeps every TLS 1.3 suite whatever the list says, as Go does', async () => {
    const settings: ServerTlsSettings = { ...SERVER, cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'] };

    assert.equal(
      await negotiate(settings, { ciphers: 'TLS_CHACHA20_POLY1305_SHA256' }),
      'TLSv1.3 TLS_CHACHA20_POLY1305_SHA256',
    );
  });
});

describe('TLS: loading', () => {
  const cases: readonly [string, ClientTlsSettings, TransportErrorCode][] = [
    ['a missing ca_file', { caFile: '/nonexistent/ca.crt' }, TransportErrorCode.TLS_FILE_UNREADABLE],
    ['a key file as the CA', { caFile: fixturePath('client.key') }, TransportErrorCode.TLS_PEM_INVALID],
    [
      'a certificate that is not PEM',
      {
        certPem: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n',
        keyFile: fixturePath('client.key'),
      },
      TransportErrorCode.TLS_PEM_INVALID,
    ],
    [
      'a key that is not PEM',
      { certFile: fixturePath('client.crt'), keyPem: 'not a key' },
      TransportErrorCode.TLS_PEM_INVALID,
    ],
    [
      "another certificate's key",
      { certFile: fixturePath('client.crt'), keyFile: fixturePath('client-2.key') },
      TransportErrorCode.TLS_KEY_MISMATCH,
    ],
    [
      'both ca_file and ca_pem',
      { caFile: fixturePath('ca.crt'), caPem: fixturePem('ca.crt') },
      TransportErrorCode.TLS_SETTINGS_INVALID,
    ],
    ['an unknown cipher suite', { cipherSuites: ['TLS_FAST_AND_LOOSE'] }, TransportErrorCode.TLS_SETTINGS_INVALID],
  ];
  for (const [name, settings, code] of cases) {
    it(`fails at load on ${name}: ${code}`, () => {
      assert.throws(
        () => loadClientTls(settings),
        (error: unknown) => (error as { code?: unknown }).code === code,
      );
    });
  }

  it('never puts the key in an error message', () => {
    const key = fixturePem('client-2.key');

    assert.throws(
      () => loadClientTls({ certFile: fixturePath('client.crt'), keyPem: key }),
      (error: unknown) => error instanceof Error && !error.message.includes(key.split('\n')[1] ?? 'x'),
    );
  });

  it('a server needs a certificate and key', () => {
    assert.throws(
      () => loadServerTls({ clientCaFile: fixturePath('ca.crt') }),
      (error: unknown) => (error as { code?: unknown }).code === TransportErrorCode.TLS_SETTINGS_INVALID,
    );
  });
});

describe('TLS: reload_interval', () => {
  it('a server presents a replaced certificate to new connections; open ones carry on', async () => {
    const dir = new ScratchDir();
    cleanups.push(() => {
      dir.remove();
    });
    const certFile = dir.put('tls.crt', 'server.crt');
    const keyFile = dir.put('tls.key', 'server.key');
    let reloaded: () => void = () => undefined;
    const reload = new Promise<void>((resolve) => {
      reloaded = resolve;
    });
    const { port, consumer } = await startServer(
      serverTls(
        { certFile, keyFile, reloadIntervalMs: 20 },
        {
          onReload: () => {
            reloaded();
          },
        },
      ),
    );
    const early = client(port, { tls: clientTls(CLIENT) });
    assert.deepEqual(await early.export(batch), EXPORT_OK);
    assert.equal(await presentedCertificate(port), fingerprint('server.crt'));

    copyFileSync(fixturePath('server-2.key'), keyFile);
    copyFileSync(fixturePath('server-2.crt'), certFile);
    await reload;

    assert.equal(await presentedCertificate(port), fingerprint('server-2.crt'));
    assert.deepEqual(await early.export(batch), EXPORT_OK, 'the connection made before the reload still works');
    assert.deepEqual(await client(port, { tls: clientTls(CLIENT) }).export(batch), EXPORT_OK);
    assert.equal(consumer.calls.length, 3);
  });

  it('a reload that finds a broken file keeps the previous certificate and reports it', async () => {
    const dir = new ScratchDir();
    cleanups.push(() => {
      dir.remove();
    });
    const certFile = dir.put('tls.crt', 'server.crt');
    const keyFile = dir.put('tls.key', 'server.key');
    let reported: (error: { code: string }) => void = () => undefined;
    const failure = new Promise<{ code: string }>((resolve) => {
      reported = resolve;
    });
    const { port } = await startServer(
      serverTls(
        { certFile, keyFile, reloadIntervalMs: 20 },
        {
          onReloadError: (error) => {
            reported(error);
          },
        },
      ),
    );

    // A certificate of another key pair: cert and key no longer match.
    copyFileSync(fixturePath('server-2.crt'), certFile);

    assert.equal((await failure).code, TransportErrorCode.TLS_KEY_MISMATCH);
    assert.equal(await presentedCertificate(port), fingerprint('server.crt'));
    assert.deepEqual(await client(port, { tls: clientTls(CLIENT) }).export(batch), EXPORT_OK);
  });

  it('a client presents a replaced client certificate on new connections', async () => {
    const dir = new ScratchDir();
    cleanups.push(() => {
      dir.remove();
    });
    const certFile = dir.put('client.crt', 'client.crt');
    const keyFile = dir.put('client.key', 'client.key');
    const seen: string[] = [];
    const server = await startGrpcOkServer({
      tls: { ...serverTls(MTLS_SERVER).serverOptions, allowHTTP1: false },
      onSecureConnection: (socket) => {
        seen.push(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
      },
    });
    cleanups.push(() => server.close());
    const { port } = server;
    let reloaded: () => void = () => undefined;
    const reload = new Promise<void>((resolve) => {
      reloaded = resolve;
    });
    const shared = clientTls(
      { ...CLIENT, certFile, keyFile, reloadIntervalMs: 20 },
      {
        onReload: () => {
          reloaded();
        },
      },
    );

    assert.deepEqual(await client(port, { tls: shared }).export(batch), EXPORT_OK);
    copyFileSync(fixturePath('client-2.key'), keyFile);
    copyFileSync(fixturePath('client-2.crt'), certFile);
    await reload;
    assert.deepEqual(await client(port, { tls: shared }).export(batch), EXPORT_OK);

    assert.deepEqual(seen, [fingerprint('client.crt'), fingerprint('client-2.crt')]);
  });
});

describe('TLS: the OTLP/HTTP receiver', () => {
  it('serves HTTPS and requires a client certificate with client_ca_file', async () => {
    const consumer = new RecordingConsumer();
    const server = new OtlpHttpServer({
      host: '127.0.0.1',
      port: 0,
      consumers: { traces: consumer },
      tls: serverTls(MTLS_SERVER),
    });
    const { port } = await server.listen();
    cleanups.push(() => server.close(Date.now()));
    const post = (options: https.RequestOptions): Promise<number | string> =>
      new Promise((resolve) => {
        const request = https.request(
          {
            host: '127.0.0.1',
            port,
            path: '/v1/traces',
            method: 'POST',
            ca: fixturePem('ca.crt'),
            headers: { 'content-type': 'application/x-protobuf' },
            agent: false,
            ...options,
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on('error', (error: Error & { code?: string }) => {
          resolve(error.code ?? 'error');
        });
        request.end(batch.bytes);
      });

    const withCert = await post({ cert: fixturePem('client.crt'), key: fixturePem('client.key') });
    const without = await post({});

    assert.equal(withCert, 200);
    assert.equal(consumer.calls.length, 1);
    assert.notEqual(without, 200);
  });
});

describe('TLS: interop with @grpc/grpc-js', () => {
  it('our mTLS client exports to a grpc-js server that checks client certificates', async () => {
    const received: Buffer[] = [];
    const server = new grpc.Server();
    server.addService(
      {
        Export: {
          path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: (value: Buffer) => value,
          requestDeserialize: (bytes: Buffer) => bytes,
          responseSerialize: (value: Buffer) => value,
          responseDeserialize: (bytes: Buffer) => bytes,
        },
      },
      {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          received.push(call.request);
          callback(null, Buffer.alloc(0));
        },
      },
    );
    const credentials = grpc.ServerCredentials.createSsl(
      Buffer.from(fixturePem('ca.crt')),
      [{ cert_chain: Buffer.from(fixturePem('server.crt')), private_key: Buffer.from(fixturePem('server.key')) }],
      true,
    );
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) => {
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

    const ok = await client(port, { tls: clientTls(MTLS_CLIENT), compression: 'gzip' }).export(batch);
    const noCert = await client(port, { tls: clientTls(CLIENT) }).export(batch);

    assert.deepEqual(ok, EXPORT_OK);
    assert.deepEqual(received[0], Buffer.from(batch.bytes));
    expectUnavailable(noCert);
  });

  it('a grpc-js client exports to our mTLS server', async () => {
    const { port, consumer } = await startServer(serverTls(MTLS_SERVER));
    const Client = grpc.makeGenericClientConstructor(
      {
        Export: {
          path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: (value: Buffer) => value,
          requestDeserialize: (bytes: Buffer) => bytes,
          responseSerialize: (value: Buffer) => value,
          responseDeserialize: (bytes: Buffer) => bytes,
        },
      },
      'TraceService',
    );
    const credentials = grpc.credentials.createSsl(
      Buffer.from(fixturePem('ca.crt')),
      Buffer.from(fixturePem('client.key')),
      Buffer.from(fixturePem('client.crt')),
    );
    const peer = new Client(`localhost:${port}`, credentials);
    cleanups.push(() => {
      peer.close();
    });

    await new Promise<void>((resolve, reject) => {
      (peer as unknown as { Export: (request: Buffer, callback: (error: Error | null) => void) => void }).Export(
        Buffer.from(batch.bytes),
        (error) => {
          if (error === null) resolve();
          else reject(error);
        },
      );
    });

    assert.ok(Buffer.from(consumer.calls[0]?.batch.bytes ?? []).equals(batch.bytes));
  });
});
