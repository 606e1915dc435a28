/**
 * A unary gRPC server over `node:http2` for the OTLP export services: `TraceService`,
 * `LogsService` and `MetricsService` `/Export`. Each request becomes a {@link Batch}
 * handed to that signal's {@link BatchConsumer}, and the consumer's {@link ExportResult}
 * becomes the gRPC status (see {@link grpcStatusForResult}).
 *
 * It is its own small layer rather than grpc-js because grpc-js is ~3× slower on 200 KB
 * unary calls and knows neither zstd nor snappy (DESIGN.md). What it speaks
 * (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
 *
 * - `POST`, `content-type: application/grpc` or `application/grpc+proto`; anything not
 *   `application/grpc…` is refused with HTTP 415, another subtype (`+json`) with
 *   UNIMPLEMENTED.
 * - One length-prefixed message (compressed flag, 4-byte length). No message, a truncated
 *   one, a second one, or a flag other than 0/1 is INTERNAL, as grpc-go answers.
 * - `grpc-encoding` identity, gzip, deflate (zlib), zstd and snappy (framed); any other is
 *   UNIMPLEMENTED naming the supported list, with `grpc-accept-encoding`.
 * - The maximum received message size (default 4 MiB) applies to the length on the wire,
 *   checked as soon as the prefix arrives, and to the decompressed size, enforced while
 *   decompressing: RESOURCE_EXHAUSTED. A stream refused before its end is reset with
 *   NO_ERROR after the status, as grpc-go does, so the client stops sending.
 * - `grpc-timeout`: at the deadline the consumer's signal is aborted and the client gets
 *   DEADLINE_EXCEEDED; a malformed value is INTERNAL (as grpc-go).
 * - Statuses go in trailers, percent-encoded `grpc-message`; errors are trailers-only
 *   responses. A client that cancels or disconnects aborts the consumer's signal.
 *
 * TLS: {@link GrpcServerOptions.tls} takes a {@link ServerTls} from `tls.ts` (Alloy's server
 * `tls` block: certificates re-read every `reload_interval` for new connections, client
 * certificates required with `client_ca_file`) or Node TLS options as they are. Failed
 * handshakes (a client without an acceptable certificate, a client speaking cleartext) go to
 * `onError`. Keepalive enforcement and per-call authentication are later additions to the
 * same options and to `onStream`.
 */

import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

import { ErrorCode } from '../errors.ts';
import { metadataFromHeaders, type Batch, type RequestMetadata } from '../otlp/batch.ts';
import { Signal } from '../otlp/signal.ts';
import { decompress, type Compression } from './compression.ts';
import type { BatchConsumer, ConsumeContext } from './consumer.ts';
import type { ExportResult } from './export-result.ts';
import {
  compressionForGrpcEncoding,
  DEFAULT_MAX_RECV_MESSAGE_BYTES,
  encodeGrpcMessage,
  encodeStatusDetails,
  GRPC_ACCEPT_ENCODING,
  GRPC_CONTENT_TYPE,
  GrpcError,
  GrpcHeader,
  MAX_TIMER_MS,
  MESSAGE_PREFIX_BYTES,
  OtlpGrpcPath,
  parseGrpcTimeout,
} from './grpc-protocol.ts';
import { GrpcStatus, isRetryableGrpcStatus } from './grpc-status.ts';
import { ServerTls } from './tls.ts';

/** The consumers a server hands batches to; a signal without one is UNIMPLEMENTED. */
export interface GrpcServerConsumers {
  readonly traces?: BatchConsumer;
  readonly logs?: BatchConsumer;
  readonly metrics?: BatchConsumer;
}

/** Server credentials, handed to `http2.createSecureServer` (ALPN `h2`). */
export type GrpcServerTlsOptions = Pick<
  http2.SecureServerOptions,
  'key' | 'cert' | 'ca' | 'pfx' | 'passphrase' | 'requestCert' | 'rejectUnauthorized' | 'minVersion' | 'SNICallback'
>;

/**
 * The receiver's `keepalive > server_parameters`, as grpc-go applies them: each connection
 * is closed after `maxConnectionIdleMs` without calls and after `maxConnectionAgeMs` in all
 * (a GOAWAY first, then `maxConnectionAgeGraceMs` for its calls to finish); when a connection
 * has been quiet for `timeMs` the server PINGs it and closes it if no answer comes within
 * `timeoutMs`. Unset fields are off (`timeoutMs` defaults to 20 s, as grpc-go).
 * `maxConnectionAgeMs` is what spreads long-lived client connections over new replicas.
 */
export interface GrpcServerKeepalive {
  readonly maxConnectionIdleMs?: number | undefined;
  readonly maxConnectionAgeMs?: number | undefined;
  readonly maxConnectionAgeGraceMs?: number | undefined;
  readonly timeMs?: number | undefined;
  readonly timeoutMs?: number | undefined;
}

/** Options of {@link GrpcServer}. */
export interface GrpcServerOptions {
  /** Address to listen on, e.g. `0.0.0.0`, `::` or `127.0.0.1`. */
  readonly host: string;
  /** Port to listen on; 0 picks a free one ({@link GrpcServer.listen} says which). */
  readonly port: number;
  /** Largest request message accepted, in bytes, on the wire and after decompression. Default 4 MiB. */
  readonly maxRecvMsgSizeBytes?: number;
  readonly consumers: GrpcServerConsumers;
  /** Concurrent calls per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). Default 1,000. */
  readonly maxConcurrentStreams?: number;
  /**
   * Serve TLS instead of cleartext HTTP/2 (h2c): a {@link ServerTls} (reloads reach this
   * server; its owner closes it) or Node TLS options as they are.
   */
  readonly tls?: GrpcServerTlsOptions | ServerTls | undefined;
  /** Keep each call's metadata with its batch (`include_metadata`). Default false. */
  readonly includeMetadata?: boolean | undefined;
  /** Connection lifetimes and server PINGs (the receiver's `keepalive > server_parameters`). */
  readonly keepalive?: GrpcServerKeepalive | undefined;
  /**
   * Checks each call's metadata before its message is read (a receiver's `auth`): resolves
   * `undefined` to let the call in, or why not, answered as `UNAUTHENTICATED`. Absent: every
   * call is let in.
   */
  readonly authenticate?: ((headers: Readonly<http2.IncomingHttpHeaders>) => Promise<string | undefined>) | undefined;
  /**
   * Called with problems that no client hears about: connection-level errors, a consumer
   * that broke its contract and threw. Log them; the server carries on.
   */
  readonly onError?: (error: Error) => void;
}

/** HTTP/2 flow-control window per stream and per connection, in bytes. */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
const SESSION_WINDOW_BYTES = 32 * 1024 * 1024;
const DEFAULT_MAX_CONCURRENT_STREAMS = 1_000;
/** After the close deadline: how long the cancelled calls' answers get before connections are cut. */
const FORCE_CLOSE_GRACE_MS = 1_000;
/** Longer status messages are cut: a huge header would make clients reject the whole response. */
const MAX_MESSAGE_CHARS = 1_024;

/** One route: the consumer of a method's batches, and its signal. */
interface Route {
  readonly signal: Signal;
  readonly consumer: BatchConsumer | undefined;
}

const OK_HEADERS = Object.freeze({
  ':status': 200,
  [GrpcHeader.CONTENT_TYPE]: GRPC_CONTENT_TYPE,
  [GrpcHeader.ACCEPT_ENCODING]: GRPC_ACCEPT_ENCODING,
});
const OK_TRAILERS = Object.freeze({ [GrpcHeader.STATUS]: '0' });
/** An empty `Export*ServiceResponse`: uncompressed flag and zero length. */
const EMPTY_MESSAGE = Buffer.alloc(MESSAGE_PREFIX_BYTES);
const RESPOND_WITH_TRAILERS = Object.freeze({ waitForTrailers: true });
const RESPOND_AND_END = Object.freeze({ endStream: true });
const NO_RESPOND_OPTIONS = Object.freeze({});

/** The gRPC status a server answers with, and what goes with it. */
export interface GrpcStatusReply {
  readonly code: number;
  readonly message: string;
  /** Sent as a `google.rpc.RetryInfo` in `grpc-status-details-bin`. */
  readonly retryAfterMs?: number;
}

/**
 * How an {@link ExportResult} is answered over gRPC:
 *
 * | result                                                         | status                          |
 * |----------------------------------------------------------------|---------------------------------|
 * | ok                                                             | OK                              |
 * | retryable, `ERR_LB_QUEUE_FULL` with `retryAfterMs`             | RESOURCE_EXHAUSTED + RetryInfo  |
 * | retryable, error is a {@link GrpcError} with a retryable status| that status (+ RetryInfo)       |
 * | retryable, otherwise                                           | UNAVAILABLE (+ RetryInfo)       |
 * | permanent, error is a {@link GrpcError} with a non-retryable status | that status                |
 * | permanent, otherwise                                           | INVALID_ARGUMENT                |
 *
 * RetryInfo goes with every retryable answer that has `retryAfterMs`, so that SDKs and
 * Collectors back off for that long. A retryable result never becomes RESOURCE_EXHAUSTED
 * without RetryInfo: the OTLP spec makes that permanent, and the client would drop the data.
 * Pure; the message is the error's.
 */
export function grpcStatusForResult(result: ExportResult): GrpcStatusReply {
  switch (result.kind) {
    case 'ok':
      return { code: GrpcStatus.OK, message: '' };
    case 'retryable': {
      const { error, retryAfterMs } = result;
      let code: number = GrpcStatus.UNAVAILABLE;
      if (retryAfterMs !== undefined && (error as { code?: unknown }).code === ErrorCode.LB_QUEUE_FULL) {
        code = GrpcStatus.RESOURCE_EXHAUSTED;
      } else if (error instanceof GrpcError && isRetryableGrpcStatus(error.grpcStatus, retryAfterMs !== undefined)) {
        code = error.grpcStatus;
      }
      return retryAfterMs === undefined
        ? { code, message: error.message }
        : { code, message: error.message, retryAfterMs };
    }
    case 'permanent': {
      const { error } = result;
      const carried = error instanceof GrpcError ? error.grpcStatus : undefined;
      const code =
        carried !== undefined && carried !== GrpcStatus.OK && !isRetryableGrpcStatus(carried, false)
          ? carried
          : GrpcStatus.INVALID_ARGUMENT;
      return { code, message: error.message };
    }
  }
}

/**
 * A gRPC server for the OTLP export services. Create it, `listen()`, and `close()` it once.
 * Calls are handled concurrently; each reaches its consumer once, complete and decompressed.
 * Bad input is answered with a status and never throws out of the server.
 */
export class GrpcServer {
  private readonly server: http2.Http2Server | http2.Http2SecureServer;
  private readonly options: GrpcServerOptions;
  private readonly maxRecvBytes: number;
  private readonly routes: ReadonlyMap<string, Route>;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly calls = new Set<ServerCall>();
  private readonly detachTls: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: GrpcServerOptions) {
    this.options = options;
    this.maxRecvBytes = options.maxRecvMsgSizeBytes ?? DEFAULT_MAX_RECV_MESSAGE_BYTES;
    if (!Number.isInteger(this.maxRecvBytes) || this.maxRecvBytes < 0) {
      throw new TypeError(`maxRecvMsgSizeBytes must be a non-negative integer, got ${this.maxRecvBytes}`);
    }
    const { consumers } = options;
    this.routes = new Map<string, Route>([
      [OtlpGrpcPath.TRACES, { signal: Signal.TRACES, consumer: consumers.traces }],
      [OtlpGrpcPath.LOGS, { signal: Signal.LOGS, consumer: consumers.logs }],
      [OtlpGrpcPath.METRICS, { signal: Signal.METRICS, consumer: consumers.metrics }],
    ]);
    const http2Options: http2.ServerOptions = {
      settings: {
        initialWindowSize: STREAM_WINDOW_BYTES,
        maxConcurrentStreams: options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
      },
      // Megabytes nghttp2 may hold per connection before it refuses new streams; the
      // default (10) is reached by a few concurrent 4 MiB requests.
      maxSessionMemory: 64,
    };
    const { tls } = options;
    if (tls === undefined) {
      this.server = http2.createServer(http2Options);
    } else {
      const secure = http2.createSecureServer({
        ...http2Options,
        ...(tls instanceof ServerTls ? tls.serverOptions : tls),
        allowHTTP1: false,
      });
      if (tls instanceof ServerTls) this.detachTls = tls.attach(secure);
      secure.on('tlsClientError', (error: Error, socket: TLSSocket) => {
        this.report(
          new Error(
            `TLS handshake with the client ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} failed: ${error.message}; a client without a certificate signed by client_ca_file, or one that speaks cleartext, fails this way`,
            { cause: error },
          ),
        );
      });
      this.server = secure;
    }
    this.server.on('session', (session) => {
      this.onSession(session);
    });
    this.server.on('stream', (stream, headers) => {
      this.onStream(stream, headers);
    });
    this.server.on('sessionError', () => {
      // Reported by the session's own 'error' listener (onSession).
    });
  }

  /** The largest request message accepted, in bytes. */
  get maxRecvMsgSizeBytes(): number {
    return this.maxRecvBytes;
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /** Calls being handled now. */
  get inFlightCalls(): number {
    return this.calls.size;
  }

  /**
   * Starts listening. Resolves to the bound address (with the port picked when the port
   * was 0); rejects if the address cannot be bound (in use, permission). Call once.
   */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        reject(error);
      };
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        this.server.on('error', (error: Error) => {
          this.report(error);
        });
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting connections and calls (a GOAWAY tells connected clients to go
   * elsewhere), lets calls in flight finish for up to `deadlineMs` milliseconds, then
   * cancels those left (their consumers' signals abort; clients see UNAVAILABLE) and closes
   * every connection. Idempotent: later calls return the first call's promise. Never rejects.
   */
  close(deadlineMs = 5_000): Promise<void> {
    this.closing ??= this.shutdown(deadlineMs);
    return this.closing;
  }

  private async shutdown(deadlineMs: number): Promise<void> {
    this.detachTls?.();
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => {
        resolve();
      });
    });
    // GOAWAY: each connection closes by itself once its last call has been answered.
    for (const session of this.sessions) session.close();
    if (await settlesWithin(closed, deadlineMs)) return;
    for (const call of [...this.calls]) {
      call.fail(GrpcStatus.UNAVAILABLE, 'the server is shutting down; retry against another instance');
    }
    // Give those answers a moment to leave before the connections are cut.
    if (await settlesWithin(closed, FORCE_CLOSE_GRACE_MS)) return;
    for (const session of this.sessions) session.destroy();
    await closed;
  }

  private onSession(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    session.once('close', () => {
      this.sessions.delete(session);
    });
    session.on('error', (error: Error) => {
      this.report(error);
    });
    try {
      session.setLocalWindowSize(SESSION_WINDOW_BYTES);
    } catch (error) {
      this.report(error as Error);
    }
    if (this.closing !== undefined) session.close();
    const keepalive = this.options.keepalive;
    if (keepalive !== undefined) this.applyKeepalive(session, keepalive);
  }

  /** Timers of one connection's keepalive rules; all unref'd and cleared when it closes. */
  private applyKeepalive(session: http2.ServerHttp2Session, k: GrpcServerKeepalive): void {
    const timers: NodeJS.Timeout[] = [];
    const later = (ms: number, run: () => void): void => {
      const t = setTimeout(run, ms);
      t.unref();
      timers.push(t);
    };
    session.once('close', () => {
      for (const t of timers) clearTimeout(t);
    });
    const age = k.maxConnectionAgeMs;
    if (age !== undefined && age > 0) {
      later(age, () => {
        session.close();
        const grace = k.maxConnectionAgeGraceMs;
        if (grace !== undefined && grace > 0)
          later(grace, () => {
            session.destroy();
          });
      });
    }
    const idle = k.maxConnectionIdleMs;
    const time = k.timeMs;
    if ((idle === undefined || idle <= 0) && (time === undefined || time <= 0)) return;
    // One periodic check: idle = no call open and none for `idle`; quiet = nothing for `time`.
    let lastActive = Date.now();
    let pinging = false;
    let open = 0;
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      lastActive = Date.now();
      open++;
      stream.once('close', () => {
        open--;
        lastActive = Date.now();
      });
    });
    const period = Math.max(10, Math.min(idle ?? Infinity, time ?? Infinity) / 4);
    const tick = setInterval(() => {
      if (session.destroyed || session.closed) return;
      const quiet = Date.now() - lastActive;
      if (idle !== undefined && idle > 0 && open === 0 && quiet >= idle) {
        session.close();
        return;
      }
      if (time !== undefined && time > 0 && quiet >= time && !pinging) {
        pinging = true;
        const timeout = k.timeoutMs ?? 20_000;
        const deadline = setTimeout(() => {
          session.destroy();
        }, timeout);
        deadline.unref();
        const sent = session.ping((error) => {
          clearTimeout(deadline);
          pinging = false;
          if (error === null) lastActive = Date.now();
        });
        if (!sent) {
          clearTimeout(deadline);
          pinging = false;
        }
      }
    }, period);
    tick.unref();
    session.once('close', () => {
      clearInterval(tick);
    });
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    // An unhandled 'error' would crash the process; failures surface in 'close' instead.
    stream.on('error', noop);
    if (headers[':method'] !== 'POST') {
      respondHttpError(stream, 405, `method ${String(headers[':method'])} is not allowed; gRPC uses POST`);
      return;
    }
    const contentType = headers[GrpcHeader.CONTENT_TYPE] ?? '';
    const subtype = grpcContentSubtype(contentType);
    if (subtype === undefined) {
      respondHttpError(stream, 415, `content-type "${contentType}" is not gRPC; send ${GRPC_CONTENT_TYPE}`);
      return;
    }
    if (subtype !== '' && subtype !== 'proto') {
      respondStatus(
        stream,
        GrpcStatus.UNIMPLEMENTED,
        `content-type "${contentType}" is not supported; send ${GRPC_CONTENT_TYPE} or ${GRPC_CONTENT_TYPE}+proto`,
      );
      return;
    }
    const path = headers[':path'] ?? '';
    const route = this.routes.get(path);
    if (route === undefined) {
      respondStatus(
        stream,
        GrpcStatus.UNIMPLEMENTED,
        `unknown method ${path}; this server serves the OTLP TraceService, LogsService and MetricsService Export methods`,
      );
      return;
    }
    if (route.consumer === undefined) {
      respondStatus(
        stream,
        GrpcStatus.UNIMPLEMENTED,
        `this server does not accept ${route.signal}; it is not configured for them`,
      );
      return;
    }
    if (this.closing !== undefined) {
      respondStatus(stream, GrpcStatus.UNAVAILABLE, 'the server is shutting down; retry against another instance');
      return;
    }
    const encoding = headerValue(headers[GrpcHeader.ENCODING]) ?? 'identity';
    const compression = compressionForGrpcEncoding(encoding);
    if (compression === undefined) {
      respondStatus(
        stream,
        GrpcStatus.UNIMPLEMENTED,
        `grpc-encoding "${encoding}" is not supported; use one of ${GRPC_ACCEPT_ENCODING}`,
      );
      return;
    }
    const timeoutHeader = headerValue(headers[GrpcHeader.TIMEOUT]);
    let timeoutMs: number | undefined;
    if (timeoutHeader !== undefined) {
      timeoutMs = parseGrpcTimeout(timeoutHeader);
      if (timeoutMs === undefined) {
        respondStatus(
          stream,
          GrpcStatus.INTERNAL,
          `malformed grpc-timeout "${timeoutHeader}"; send 1 to 8 digits and a unit (H, M, S, m, u, n)`,
        );
        return;
      }
    }
    const metadata = this.options.includeMetadata === true ? metadataFromHeaders(headers) : undefined;
    const authenticate = this.options.authenticate;
    if (authenticate === undefined) {
      this.calls.add(new ServerCall(this, stream, route.signal, route.consumer, compression, timeoutMs, metadata));
      return;
    }
    const consumer = route.consumer;
    // The message waits in the stream (nothing reads it) until the metadata is checked.
    authenticate(headers).then(
      (problem) => {
        if (stream.destroyed || stream.closed) return;
        if (problem !== undefined) {
          respondStatus(stream, GrpcStatus.UNAUTHENTICATED, problem);
          return;
        }
        this.calls.add(new ServerCall(this, stream, route.signal, consumer, compression, timeoutMs, metadata));
      },
      (error: unknown) => {
        this.report(error instanceof Error ? error : new Error(String(error)));
        if (!stream.destroyed)
          respondStatus(stream, GrpcStatus.UNAUTHENTICATED, 'the credentials could not be checked');
      },
    );
  }

  /** @internal Called by a call once it has answered or its stream is gone. */
  callDone(call: ServerCall): void {
    this.calls.delete(call);
  }

  /** @internal */
  report(error: Error): void {
    this.options.onError?.(error);
  }
}

/** One unary call from its headers to its status. */
class ServerCall {
  private readonly metadata: RequestMetadata | undefined;
  private readonly server: GrpcServer;
  private readonly stream: http2.ServerHttp2Stream;
  private readonly signal: Signal;
  private readonly consumer: BatchConsumer;
  private readonly compression: Compression;
  /** Created when the consumer is called: most calls that fail earlier never need one. */
  private controller: AbortController | undefined;
  private readonly deadline: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chunks: Buffer[] = [];
  private received = 0;
  /** Length from the message prefix; -1 until the prefix has arrived. */
  private messageLength = -1;
  private compressed = false;
  private done = false;

  constructor(
    server: GrpcServer,
    stream: http2.ServerHttp2Stream,
    signal: Signal,
    consumer: BatchConsumer,
    compression: Compression,
    timeoutMs: number | undefined,
    metadata?: RequestMetadata,
  ) {
    this.metadata = metadata;
    this.server = server;
    this.stream = stream;
    this.signal = signal;
    this.consumer = consumer;
    this.compression = compression;
    if (timeoutMs !== undefined) this.deadline = Date.now() + timeoutMs;
    if (timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS) {
      this.timer = setTimeout(() => {
        this.fail(
          GrpcStatus.DEADLINE_EXCEEDED,
          `the deadline of ${timeoutMs} ms passed before the request was handled`,
        );
      }, timeoutMs);
      this.timer.unref();
    }
    stream.on('data', (chunk: Buffer) => {
      this.onData(chunk);
    });
    stream.once('end', () => {
      this.onEnd();
    });
    stream.once('close', () => {
      if (this.done) return;
      this.finish(
        new GrpcError(
          ErrorCode.GRPC_CANCELLED,
          GrpcStatus.CANCELLED,
          'the client cancelled the call or its connection closed before it was answered',
        ),
      );
    });
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.messageLength < 0 && this.received >= MESSAGE_PREFIX_BYTES) {
      const first = this.chunks[0] as Buffer;
      const prefix = first.length >= MESSAGE_PREFIX_BYTES ? first : Buffer.concat(this.chunks);
      const flag = prefix[0] as number;
      const length = prefix.readUInt32BE(1);
      if (flag > 1) {
        this.fail(GrpcStatus.INTERNAL, `the message's compressed flag is ${flag}; only 0 and 1 are valid`);
        return;
      }
      if (length > this.server.maxRecvMsgSizeBytes) {
        this.fail(
          GrpcStatus.RESOURCE_EXHAUSTED,
          `received message larger than max (${length} vs. ${this.server.maxRecvMsgSizeBytes} bytes); send smaller requests or raise the server's max_recv_msg_size`,
        );
        return;
      }
      this.compressed = flag === 1;
      this.messageLength = length;
    }
    if (this.messageLength >= 0 && this.received > MESSAGE_PREFIX_BYTES + this.messageLength) {
      this.fail(GrpcStatus.INTERNAL, 'the request carries more than one message; Export is a unary method');
    }
  }

  private onEnd(): void {
    if (this.done) return;
    if (this.messageLength < 0) {
      this.fail(GrpcStatus.INTERNAL, 'the request carries no message; Export takes exactly one');
      return;
    }
    const total = MESSAGE_PREFIX_BYTES + this.messageLength;
    if (this.received < total) {
      this.fail(
        GrpcStatus.INTERNAL,
        `the message is truncated: ${this.received - MESSAGE_PREFIX_BYTES} of ${this.messageLength} bytes arrived`,
      );
      return;
    }
    const whole = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, total);
    this.chunks = [];
    void this.handle(whole.subarray(MESSAGE_PREFIX_BYTES, total));
  }

  private async handle(payload: Uint8Array): Promise<void> {
    let bytes = payload;
    if (this.compressed) {
      if (this.compression === 'none') {
        this.fail(GrpcStatus.INTERNAL, 'the message is flagged as compressed but no grpc-encoding was sent');
        return;
      }
      const decoded = await decompress(this.compression, payload, this.server.maxRecvMsgSizeBytes);
      if (this.done) return;
      if (!decoded.ok) {
        if (decoded.reason === 'too-large') {
          this.fail(
            GrpcStatus.RESOURCE_EXHAUSTED,
            `received message after decompression larger than max (${this.server.maxRecvMsgSizeBytes} bytes); send smaller requests or raise the server's max_recv_msg_size`,
          );
        } else {
          this.fail(GrpcStatus.INTERNAL, `failed to decompress the received message: ${decoded.message}`);
        }
        return;
      }
      bytes = decoded.bytes;
    }
    const batch: Batch =
      this.metadata === undefined
        ? { signal: this.signal, bytes, items: -1 }
        : { signal: this.signal, bytes, items: -1, metadata: this.metadata };
    this.controller = new AbortController();
    const context: ConsumeContext =
      this.deadline === undefined
        ? { signal: this.controller.signal }
        : { signal: this.controller.signal, deadline: this.deadline };
    let result: ExportResult;
    try {
      result = await this.consumer.consume(batch, context);
    } catch (error) {
      // BatchConsumer.consume must not reject; answer the client anyway and report it.
      this.server.report(error instanceof Error ? error : new Error(String(error)));
      if (!this.done) this.fail(GrpcStatus.INTERNAL, 'the server failed to handle the request');
      return;
    }
    if (this.done) return;
    // The consumer has finished with this call: nothing to abort.
    this.finish(undefined);
    if (result.kind === 'ok') {
      const stream = this.stream;
      if (stream.destroyed || stream.closed) return;
      stream.respond(OK_HEADERS, RESPOND_WITH_TRAILERS);
      stream.once('wantTrailers', sendOkTrailers);
      stream.end(EMPTY_MESSAGE);
    } else {
      const reply = grpcStatusForResult(result);
      respondStatus(this.stream, reply.code, reply.message, reply.retryAfterMs);
    }
  }

  /**
   * Answers with a non-OK status (trailers-only) unless the call already ended, and aborts
   * the consumer's signal if it is working on the call.
   */
  fail(code: number, message: string): void {
    if (this.done) return;
    this.finish(
      new GrpcError(
        code === GrpcStatus.DEADLINE_EXCEEDED ? ErrorCode.GRPC_DEADLINE_EXCEEDED : ErrorCode.GRPC_CANCELLED,
        code,
        message,
      ),
    );
    respondStatus(this.stream, code, message);
  }

  /** Ends the call; `abortReason` aborts the consumer's signal (it is not created until needed). */
  private finish(abortReason: Error | undefined): void {
    this.done = true;
    this.chunks = [];
    clearTimeout(this.timer);
    if (abortReason !== undefined) this.controller?.abort(abortReason);
    this.server.callDone(this);
  }
}

/** Whether `promise` settles within `ms` milliseconds (an unref'd timer). */
async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, ms, false);
    timer.unref();
  });
  const settled = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return settled;
}

function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

function noop(): void {
  // Intentionally empty: see the call sites.
}

/**
 * The subtype of a gRPC content type: '' for `application/grpc`, `proto` for
 * `application/grpc+proto`; undefined when it is not a gRPC content type at all.
 */
function grpcContentSubtype(contentType: string): string | undefined {
  const semicolon = contentType.indexOf(';');
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (type === GRPC_CONTENT_TYPE) return '';
  if (type.startsWith(`${GRPC_CONTENT_TYPE}+`)) return type.slice(GRPC_CONTENT_TYPE.length + 1);
  return undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A trailers-only response. If the client is still sending, the stream is then reset with
 * NO_ERROR so that it stops (what grpc-go does); the status has already gone out.
 */
function respondStatus(stream: http2.ServerHttp2Stream, code: number, message: string, retryAfterMs?: number): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  const text = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message;
  const headers: http2.OutgoingHttpHeaders = {
    ':status': 200,
    [GrpcHeader.CONTENT_TYPE]: GRPC_CONTENT_TYPE,
    [GrpcHeader.ACCEPT_ENCODING]: GRPC_ACCEPT_ENCODING,
    [GrpcHeader.STATUS]: String(code),
    [GrpcHeader.MESSAGE]: encodeGrpcMessage(text),
  };
  if (retryAfterMs !== undefined) headers[GrpcHeader.STATUS_DETAILS] = encodeStatusDetails(code, text, retryAfterMs);
  stream.respond(headers, RESPOND_AND_END);
  if (!stream.readableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

function respondHttpError(stream: http2.ServerHttp2Stream, httpStatus: number, message: string): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  stream.respond(
    {
      ':status': httpStatus,
      'content-type': 'text/plain; charset=utf-8',
      [GrpcHeader.ACCEPT_ENCODING]: GRPC_ACCEPT_ENCODING,
    },
    NO_RESPOND_OPTIONS,
  );
  stream.end(`${message}\n`);
  if (!stream.readableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR);
}
