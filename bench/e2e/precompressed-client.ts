/**
 * The load generator's client for compressed runs: unary gRPC calls over one `node:http2`
 * connection whose payloads were gzip-compressed once, before the run. {@link GrpcClient}
 * compresses every call (gzip level 1 cost the load generator ~3.4 CPU s per million
 * spans, as much as the SUT it drives, on a machine whose 2 cores the SUT shares), so with
 * it the client, not the SUT, would set the pace. The bytes on the wire are the same as
 * GrpcClient's: same headers, `grpc-encoding: gzip`, the compressed flag, the same level.
 *
 * Only what a bench needs: OK, or a status that is retryable (UNAVAILABLE,
 * RESOURCE_EXHAUSTED) or not; no deadlines, no reconnects.
 */

import http2 from 'node:http2';

import type { Batch } from '../../src/otlp/batch.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from '../../src/transport/export-result.ts';
import type { OtlpClient } from '../../src/transport/otlp-client.ts';
import {
  GRPC_ACCEPT_ENCODING,
  GRPC_CONTENT_TYPE,
  GRPC_PATH_BY_SIGNAL,
  GrpcHeader,
  messagePrefix,
} from '../../src/transport/grpc-protocol.ts';
import { GrpcStatus } from '../../src/transport/grpc-status.ts';

/** Sends `wire.get(batch)` (the batch's gzip bytes) instead of compressing `batch.bytes`. */
export class PrecompressedClient implements OtlpClient {
  readonly endpoint: string;
  private readonly session: http2.ClientHttp2Session;
  private readonly wire: WeakMap<Batch, Uint8Array>;

  constructor(endpoint: string, wire: WeakMap<Batch, Uint8Array>) {
    this.endpoint = endpoint;
    this.wire = wire;
    this.session = http2.connect(`http://${endpoint}`, {
      settings: { enablePush: false, initialWindowSize: 1024 * 1024 },
    });
    this.session.on('error', () => undefined);
  }

  export(batch: Batch): Promise<ExportResult> {
    const payload = this.wire.get(batch);
    if (payload === undefined) return Promise.resolve(permanent(new Error('batch not in the compressed pool')));
    return new Promise((resolve) => {
      const stream = this.session.request({
        ':method': 'POST',
        ':path': GRPC_PATH_BY_SIGNAL[batch.signal],
        [GrpcHeader.CONTENT_TYPE]: GRPC_CONTENT_TYPE,
        [GrpcHeader.TE]: 'trailers',
        [GrpcHeader.ENCODING]: 'gzip',
        [GrpcHeader.ACCEPT_ENCODING]: GRPC_ACCEPT_ENCODING,
      });
      let status: string | undefined;
      let message = '';
      const read = (headers: http2.IncomingHttpHeaders): void => {
        const value = headers[GrpcHeader.STATUS];
        if (typeof value === 'string') {
          status = value;
          message = String(headers[GrpcHeader.MESSAGE] ?? '');
        }
      };
      stream.on('response', read);
      stream.on('trailers', read);
      stream.on('data', () => undefined);
      stream.on('error', () => undefined);
      stream.once('close', () => {
        const code = status === undefined ? GrpcStatus.UNAVAILABLE : Number(status);
        if (code === GrpcStatus.OK) resolve(EXPORT_OK);
        else if (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.RESOURCE_EXHAUSTED)
          resolve(retryable(new Error(`status ${code}: ${decodeURIComponent(message)}`)));
        else resolve(permanent(new Error(`status ${code}: ${decodeURIComponent(message)}`)));
      });
      stream.cork();
      stream.write(messagePrefix(true, payload.length));
      stream.end(payload);
      stream.uncork();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.session.close(resolve);
    });
  }
}
