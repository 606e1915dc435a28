/**
 * A bare HTTP/2 client for gRPC protocol tests: it sends exactly the headers and bytes a
 * test gives it, including malformed ones that a real gRPC client would never produce, and
 * reports everything that came back.
 */

import http2 from 'node:http2';

import { OtlpGrpcPath } from '../../src/transport/grpc-protocol.ts';

/** What came back from {@link rawGrpcCall}. */
export interface RawResponse {
  readonly httpStatus: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders;
  /** `grpc-status` from the trailers, or from the headers of a trailers-only response. */
  readonly grpcStatus: number | undefined;
  /** `grpc-message` as sent (still percent-encoded). */
  readonly grpcMessage: string | undefined;
  readonly body: Buffer;
  /** Whether the response headers carried END_STREAM (a trailers-only response). */
  readonly trailersOnly: boolean;
  /** The RST_STREAM code, 0 when the stream closed normally. */
  readonly rstCode: number;
}

/** Options of {@link rawGrpcCall}. */
export interface RawCallOptions {
  readonly path?: string;
  /** Replaces the default request headers (POST, application/grpc, te: trailers). */
  readonly headers?: http2.OutgoingHttpHeaders;
  /** Added to the request headers. */
  readonly extraHeaders?: http2.OutgoingHttpHeaders;
  /** Written in order; the stream is ended after the last one. */
  readonly body?: readonly Uint8Array[];
  /** Do not end the request stream (the server must answer before the client finishes). */
  readonly keepOpen?: boolean;
}

/** A gRPC message: compressed flag, 4-byte big-endian length, payload. */
export function grpcFrame(payload: Uint8Array, compressed = false, declaredLength = payload.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([prefix, payload]);
}

/** Sends one request on a fresh connection to `127.0.0.1:port` and collects the response. */
export function rawGrpcCall(port: number, options: RawCallOptions = {}): Promise<RawResponse> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {
    // Connection failures show up as a stream that closes without a response.
  });
  const headers = options.headers ?? {
    ':method': 'POST',
    ':path': options.path ?? OtlpGrpcPath.TRACES,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...options.extraHeaders,
  };
  const stream = session.request(headers);
  return new Promise((resolve) => {
    let httpStatus = 0;
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let trailersOnly = false;
    const chunks: Buffer[] = [];
    stream.on('response', (received, flags) => {
      httpStatus = received[':status'] ?? 0;
      responseHeaders = received;
      trailersOnly = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    stream.on('trailers', (received: http2.IncomingHttpHeaders) => {
      trailers = received;
    });
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
    });
    stream.on('error', () => {
      // Reported through rstCode.
    });
    stream.on('close', () => {
      session.close();
      const status = trailers['grpc-status'] ?? responseHeaders['grpc-status'];
      const message = trailers['grpc-message'] ?? responseHeaders['grpc-message'];
      resolve({
        httpStatus,
        headers: responseHeaders,
        trailers,
        grpcStatus: status === undefined ? undefined : Number(status),
        grpcMessage: typeof message === 'string' ? message : undefined,
        body: Buffer.concat(chunks),
        trailersOnly,
        rstCode: stream.rstCode,
      });
    });
    for (const chunk of options.body ?? []) stream.write(chunk);
    if (options.keepOpen !== true) stream.end();
  });
}
