/**
 * A bare HTTP/2 server on 127.0.0.1 that answers every gRPC call OK, for tests of what a
 * client sends (headers, settings, certificates) rather than of what a server does with it.
 */

import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';

/** What {@link startGrpcOkServer} serves, and what it tells the test. */
export interface GrpcOkServerOptions {
  /** Serve TLS with these options (certificate, key, client CA…). Default: cleartext. */
  readonly tls?: http2.SecureServerOptions;
  /** Each call, as it arrives. */
  readonly onStream?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;
  /** Each TLS connection, once its handshake is done (with `tls` only). */
  readonly onSecureConnection?: (socket: tls.TLSSocket) => void;
}

/** A running {@link startGrpcOkServer}. */
export interface GrpcOkServer {
  readonly port: number;
  /** Stops listening; resolves once every connection has closed. */
  close(): Promise<void>;
}

/**
 * Starts a server on a free port that reads each request to its end and then answers
 * `grpc-status: 0` with no message.
 */
export async function startGrpcOkServer(options: GrpcOkServerOptions = {}): Promise<GrpcOkServer> {
  const { onStream, onSecureConnection } = options;
  let server: http2.Http2Server | http2.Http2SecureServer;
  if (options.tls === undefined) server = http2.createServer();
  else {
    const secure = http2.createSecureServer(options.tls);
    if (onSecureConnection !== undefined) secure.on('secureConnection', onSecureConnection);
    server = secure;
  }
  server.on('stream', (stream, headers) => {
    onStream?.(stream, headers);
    stream.resume();
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}
