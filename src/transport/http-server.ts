/**
 * The OTLP/HTTP receiver (https://opentelemetry.io/docs/specs/otlp/#otlphttp) on `node:http`,
 * HTTP/1.1 with keep-alive.
 *
 * ```
 * POST /v1/traces | /v1/logs | /v1/metrics          (paths configurable per signal)
 * Content-Type:     application/x-protobuf | application/json   (parameters ignored)
 * Content-Encoding: gzip | x-gzip | deflate | zlib | zstd | snappy (block) | x-snappy-framed | identity
 * ```
 *
 * Each request becomes one {@link Batch} of protobuf bytes (JSON is converted at this edge by
 * `otlp/json.ts`) handed to the signal's {@link BatchConsumer}; its {@link ExportResult}
 * becomes the response:
 *
 * | outcome                                       | status | body                                       |
 * |-----------------------------------------------|--------|--------------------------------------------|
 * | ok                                            | 200    | empty `Export*ServiceResponse`             |
 * | malformed JSON, bad ID, corrupt compression   | 400    | Status INVALID_ARGUMENT                    |
 * | permanent                                     | 400    | Status INVALID_ARGUMENT                    |
 * | body past the limit, raw or decompressed      | 413    | Status RESOURCE_EXHAUSTED                  |
 * | unknown Content-Type                          | 415    | text                                       |
 * | unknown Content-Encoding                      | 415    | Status INVALID_ARGUMENT                    |
 * | retryable, back-pressure                      | 429    | Status RESOURCE_EXHAUSTED, `Retry-After`   |
 * | retryable, anything else                      | 503    | Status UNAVAILABLE, `Retry-After`          |
 * | not POST                                      | 405    | Status UNIMPLEMENTED, `Allow: POST`        |
 * | unknown path, or a signal without a consumer  | 404    | Status NOT_FOUND                           |
 * | a consumer that rejects (a bug)               | 500    | Status INTERNAL                            |
 *
 * "Status" is a `google.rpc.Status` in the request's format (`application/x-protobuf` or
 * `application/json`); when the request has neither Content-Type, the body is plain text.
 * `Retry-After` is in whole seconds, rounded up from the result's `retryAfterMs` (1 without).
 * Unknown Content-Encodings get 415, as RFC 9110 §15.5.16 says (the Collector answers 400).
 *
 * Malformed protobuf is not checked here: the consumer's splitter finds it and answers
 * `permanent`. A retryable result counts as back-pressure when its error is the load
 * balancer's full queue (`ERR_LB_QUEUE_FULL`) or carries gRPC status RESOURCE_EXHAUSTED (a
 * {@link GrpcError}); see {@link isBackPressure}.
 *
 * Limits: the body is refused past `maxRequestBodyBytes` as it arrives (a larger
 * `Content-Length` is refused before reading) and again after decompression, which stops
 * as soon as its output passes the limit; nothing is ever buffered past it. A refused body is
 * read on and discarded, up to {@link DRAIN_LIMIT_BYTES}, so that the client reads the 413
 * instead of a reset connection; past that the connection is closed. A client that sends
 * `Expect: 100-continue` is refused before it sends the body.
 *
 * Concurrency: requests are handled concurrently, each buffered whole (at most the limit)
 * before it is handed on; JSON conversion runs on the event loop (~120 MB/s of JSON, so a
 * 20 MiB body holds it for ~170 ms). Nothing here throws on any input; failures the client
 * cannot be told about (a consumer that breaks its contract) go to `onError`.
 *
 * TLS: with {@link OtlpHttpServerOptions.tls} (a {@link ServerTls}) it serves HTTPS; the
 * certificates follow reloads for new connections, and `client_ca_file` makes client
 * certificates mandatory. Failed handshakes go to `onError`.
 *
 * Left for later, with their seams: `include_metadata` (the request
 * headers are at hand where the {@link ConsumeContext} is built); CORS (preflight `OPTIONS`
 * would be answered in `handle` before the method check); auth extensions (beside it).
 */

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

import { ErrorCode, OtelLbError } from '../errors.ts';
import { systemClock, type Clock } from '../internal/clock.ts';
import { metadataFromHeaders, type Batch } from '../otlp/batch.ts';
import { otlpJsonToProtobuf } from '../otlp/json.ts';
import { Signal } from '../otlp/signal.ts';
import { writeVarint } from '../otlp/wire.ts';
import { decompress, type Compression } from './compression.ts';
import type { BatchConsumer, ConsumeContext } from './consumer.ts';
import type { ExportResult } from './export-result.ts';
import { GrpcError } from './grpc-protocol.ts';
import { GrpcStatus } from './grpc-status.ts';
import type { ServerTls } from './tls.ts';

/** The default largest request body, raw and decompressed: 20 MiB, as Alloy's HTTP server. */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 20 * 1024 * 1024;

/** The default path of each signal, as the OTLP specification and Alloy have them. */
export const DEFAULT_HTTP_PATHS: Readonly<Record<Signal, string>> = Object.freeze({
  [Signal.TRACES]: '/v1/traces',
  [Signal.LOGS]: '/v1/logs',
  [Signal.METRICS]: '/v1/metrics',
});

/**
 * How much of a refused body is read and thrown away so that the client gets to read the
 * answer (a socket closed with unread data is reset, and the client sees the reset instead);
 * Go's net/http does the same with 256 KiB.
 */
export const DRAIN_LIMIT_BYTES = 4 * 1024 * 1024;

/** `Retry-After` when a retryable result does not say, in seconds (OTLP suggests 1 s). */
const DEFAULT_RETRY_AFTER_SECONDS = 1;

/** The two OTLP/HTTP body formats. */
export type HttpBodyFormat = 'protobuf' | 'json';

const MEDIA_TYPES: Readonly<Record<HttpBodyFormat, string>> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** `Content-Encoding` names (lower-cased) and their codecs. */
const COMPRESSION_BY_CONTENT_ENCODING: ReadonlyMap<string, Compression> = new Map<string, Compression>([
  ['identity', 'none'],
  ['gzip', 'gzip'],
  ['x-gzip', 'gzip'],
  ['deflate', 'deflate'],
  ['zlib', 'zlib'],
  ['zstd', 'zstd'],
  ['snappy', 'snappy'],
  ['x-snappy-framed', 'snappy-framed'],
]);
const SUPPORTED_ENCODINGS = [...COMPRESSION_BY_CONTENT_ENCODING.keys()].join(', ');

/** Options of {@link OtlpHttpServer}. */
export interface OtlpHttpServerOptions {
  /** Address to listen on, e.g. `127.0.0.1` or `0.0.0.0`. */
  readonly host: string;
  /** TCP port; 0 picks a free one (see {@link OtlpHttpServer.listen}'s result). */
  readonly port: number;
  /** Largest body in bytes, before and after decompression. Default {@link DEFAULT_MAX_REQUEST_BODY_BYTES}. */
  readonly maxRequestBodyBytes?: number;
  /** URL path per signal (Alloy's `traces_url_path` etc.); defaults {@link DEFAULT_HTTP_PATHS}. */
  readonly paths?: Partial<Readonly<Record<Signal, string>>>;
  /** Consumer per signal; a signal without one is not served (404). */
  readonly consumers: Partial<Readonly<Record<Signal, BatchConsumer>>>;
  /** Time source of the shutdown deadline; the real clock by default. */
  readonly clock?: Clock;
  /** Serve HTTPS with these certificates (reloads reach the server; its owner closes it). Absent: plain HTTP. */
  readonly tls?: ServerTls | undefined;
  /** Keep each request's headers with its batch (`include_metadata`). Default false. */
  readonly includeMetadata?: boolean | undefined;
  /**
   * Checks each request's headers before its body is read (a receiver's `auth`): resolves
   * `undefined` to let it in, or why not, answered as 401. Absent: every request is let in.
   */
  readonly authenticate?: ((headers: Readonly<http.IncomingHttpHeaders>) => Promise<string | undefined>) | undefined;
  /**
   * Failures no client can be told about: a consumer that rejects instead of resolving (the
   * client gets a 500). Called synchronously; must not throw. Default: ignored.
   */
  readonly onError?: (error: Error) => void;
}

interface Route {
  readonly signal: Signal;
  readonly consumer: BatchConsumer;
}

/** A request under way, for shutdown. */
interface InFlight {
  readonly response: http.ServerResponse;
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

type BodyOutcome = { readonly kind: 'ok'; readonly body: Uint8Array } | { readonly kind: 'refused' | 'gone' };

/**
 * The OTLP/HTTP receiver. Create, {@link listen}, {@link close}; one instance serves one
 * address. Methods are not re-entrant: call `listen` once, then `close` once.
 */
export class OtlpHttpServer {
  private readonly host: string;
  private readonly port: number;
  private readonly maxBodyBytes: number;
  private readonly routes: ReadonlyMap<string, Route>;
  private readonly clock: Clock;
  private readonly onError: (error: Error) => void;
  private readonly includeMetadata: boolean;
  private readonly authenticate:
    ((headers: Readonly<http.IncomingHttpHeaders>) => Promise<string | undefined>) | undefined;
  private readonly tls: ServerTls | undefined;
  private readonly inFlight = new Set<InFlight>();
  private server: http.Server | https.Server | undefined;
  private detachTls: (() => void) | undefined;
  private closing = false;
  /** Resolves the wait of {@link close} once no request is under way. */
  private onIdle: (() => void) | undefined;

  constructor(options: OtlpHttpServerOptions) {
    const maxBodyBytes = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
    if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0)
      throw new TypeError(`maxRequestBodyBytes must be a non-negative integer, got ${maxBodyBytes}`);
    this.host = options.host;
    this.port = options.port;
    this.maxBodyBytes = maxBodyBytes;
    this.clock = options.clock ?? systemClock;
    this.onError = options.onError ?? ((): void => undefined);
    this.authenticate = options.authenticate;
    this.includeMetadata = options.includeMetadata === true;
    this.tls = options.tls;
    const routes = new Map<string, Route>();
    for (const signal of Object.values(Signal)) {
      const consumer = options.consumers[signal];
      if (consumer === undefined) continue;
      const path = options.paths?.[signal] ?? DEFAULT_HTTP_PATHS[signal];
      if (!path.startsWith('/'))
        throw new TypeError(`the ${signal} path must start with "/", got ${JSON.stringify(path)}`);
      const taken = routes.get(path);
      if (taken !== undefined) throw new TypeError(`${signal} and ${taken.signal} cannot share the path ${path}`);
      routes.set(path, { signal, consumer });
    }
    this.routes = routes;
  }

  /**
   * Starts listening. Resolves to the bound address (with the real port when `port` was 0).
   *
   * @throws Error (rejects) when the address cannot be bound (`cause` is Node's error, e.g.
   *   `EADDRINUSE`), or if called twice.
   */
  async listen(): Promise<AddressInfo> {
    if (this.server !== undefined) throw new TypeError('OtlpHttpServer.listen called twice');
    let server: http.Server | https.Server;
    if (this.tls === undefined) {
      server = http.createServer();
    } else {
      const secure = https.createServer(this.tls.serverOptions);
      this.detachTls = this.tls.attach(secure);
      server = secure;
      secure.on('tlsClientError', (error: Error, socket: TLSSocket) => {
        this.onError(
          new Error(
            `TLS handshake with the client ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} failed: ${error.message}; a client without a certificate signed by client_ca_file, or one that speaks plain HTTP, fails this way`,
            { cause: error },
          ),
        );
      });
    }
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.track(request, response, false);
    });
    server.on('checkContinue', (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.track(request, response, true);
    });
    this.server = server;
    return new Promise<AddressInfo>((resolve, reject) => {
      const onError = (error: Error): void => {
        reject(
          new Error(`cannot listen for OTLP/HTTP on ${this.host}:${this.port}: ${error.message}`, { cause: error }),
        );
      };
      server.once('error', onError);
      server.listen(this.port, this.host, () => {
        server.off('error', onError);
        // After listening, server errors are per connection and handled there.
        server.on('error', (error) => {
          this.onError(error);
        });
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting connections, lets requests under way finish until `deadlineMs`
   * (absolute, on the clock's time), then aborts their consumers and destroys every
   * connection. Keep-alive connections are closed as soon as they are idle, and answers
   * given meanwhile carry `Connection: close`. Resolves once the server is closed;
   * idempotent; never rejects.
   */
  async close(deadlineMs: number): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.detachTls?.();
    const closed = new Promise<void>((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => {
        resolve();
      });
    });
    this.closing = true;
    server.closeIdleConnections();
    if (this.inFlight.size > 0) {
      const timer = new AbortController();
      // Requests that arrive on open keep-alive connections meanwhile are waited for too.
      const drained = new Promise<'drained'>((resolve) => {
        this.onIdle = () => {
          resolve('drained');
        };
      });
      const deadline = this.clock.sleep(Math.max(0, deadlineMs - this.clock.now()), timer.signal).then(
        () => 'deadline' as const,
        () => 'drained' as const,
      );
      const outcome = await Promise.race([drained, deadline]);
      timer.abort();
      this.onIdle = undefined;
      if (outcome === 'deadline') {
        for (const entry of this.inFlight) entry.controller.abort(new Error('the OTLP/HTTP receiver is shutting down'));
      }
    }
    server.closeAllConnections();
    await closed;
  }

  private track(request: http.IncomingMessage, response: http.ServerResponse, expectsContinue: boolean): void {
    const controller = new AbortController();
    // A client that goes away before the answer is written aborts the work done for it.
    response.once('close', () => {
      if (!response.writableFinished) controller.abort(new Error('the client closed the connection'));
    });
    // Socket errors of a vanished client surface as 'close' above; there is no one to tell.
    request.on('error', () => undefined);
    response.on('error', () => undefined);
    const entry: InFlight = {
      response,
      controller,
      done: this.handle(request, response, controller.signal, expectsContinue).catch((error: unknown) => {
        this.onError(error instanceof Error ? error : new Error(String(error)));
        this.reply(response, 500, undefined, GrpcStatus.INTERNAL, 'internal error in the OTLP/HTTP receiver');
      }),
    };
    this.inFlight.add(entry);
    void entry.done.finally(() => {
      this.inFlight.delete(entry);
      if (this.inFlight.size === 0) this.onIdle?.();
    });
  }

  private async handle(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    signal: AbortSignal,
    expectsContinue: boolean,
  ): Promise<void> {
    const format = bodyFormat(request.headers['content-type']);
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const route = this.routes.get(path);
    if (route === undefined) {
      this.refuse(
        request,
        response,
        404,
        format,
        GrpcStatus.NOT_FOUND,
        `no OTLP signal is served at ${path}; try ${this.knownPaths()}`,
      );
      return;
    }
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      this.refuse(
        request,
        response,
        405,
        format,
        GrpcStatus.UNIMPLEMENTED,
        `${request.method ?? '?'} is not allowed on ${path}; OTLP/HTTP uses POST`,
      );
      return;
    }
    const authenticate = this.authenticate;
    if (authenticate !== undefined) {
      let problem: string | undefined;
      try {
        problem = await authenticate(request.headers);
      } catch (error) {
        this.onError(error instanceof Error ? error : new Error(String(error)));
        problem = 'the credentials could not be checked';
      }
      if (problem !== undefined) {
        this.refuse(request, response, 401, format, GrpcStatus.UNAUTHENTICATED, problem);
        return;
      }
    }
    if (format === undefined) {
      const given = request.headers['content-type'] ?? '(none)';
      this.refuse(
        request,
        response,
        415,
        undefined,
        GrpcStatus.INVALID_ARGUMENT,
        `unsupported Content-Type ${given}; send application/x-protobuf or application/json`,
      );
      return;
    }
    const compression = compressionOf(request.headers['content-encoding']);
    if (compression === undefined) {
      const given = request.headers['content-encoding'] ?? '';
      this.refuse(
        request,
        response,
        415,
        format,
        GrpcStatus.INVALID_ARGUMENT,
        `unsupported Content-Encoding ${given}; use one of ${SUPPORTED_ENCODINGS}`,
      );
      return;
    }
    const declared = contentLength(request);
    if (declared > this.maxBodyBytes) {
      this.refuse(
        request,
        response,
        413,
        format,
        GrpcStatus.RESOURCE_EXHAUSTED,
        this.tooLargeMessage(`declares ${declared} bytes,`),
      );
      return;
    }
    if (expectsContinue) response.writeContinue();

    const read = await this.readBody(request, response, declared, format);
    if (read.kind !== 'ok' || isAborted(signal)) return;

    const decompressed = await decompress(compression, read.body, this.maxBodyBytes);
    if (isAborted(signal)) return;
    if (!decompressed.ok) {
      if (decompressed.reason === 'too-large') {
        this.reply(
          response,
          413,
          format,
          GrpcStatus.RESOURCE_EXHAUSTED,
          `${decompressed.message}; send smaller requests`,
        );
      } else {
        this.reply(
          response,
          400,
          format,
          GrpcStatus.INVALID_ARGUMENT,
          `${decompressed.message} (Content-Encoding: ${request.headers['content-encoding'] ?? ''})`,
        );
      }
      return;
    }

    let batch: Batch;
    if (format === 'json') {
      const converted = otlpJsonToProtobuf(route.signal, decompressed.bytes);
      if (!converted.ok) {
        this.reply(
          response,
          400,
          format,
          GrpcStatus.INVALID_ARGUMENT,
          `invalid OTLP/JSON ${route.signal} request: ${converted.error.message}`,
        );
        return;
      }
      batch = { signal: route.signal, bytes: converted.bytes, items: converted.items };
    } else {
      batch = { signal: route.signal, bytes: decompressed.bytes, items: -1 };
    }

    if (this.includeMetadata) batch = { ...batch, metadata: metadataFromHeaders(request.headers) };
    const context: ConsumeContext = { signal };
    const result = await route.consumer.consume(batch, context);
    if (isAborted(signal)) return;
    this.answer(response, format, route.signal, result);
  }

  /** Reads the whole body, refusing (413) past the limit; `gone` when the client left. */
  private readBody(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    declared: number,
    format: HttpBodyFormat,
  ): Promise<BodyOutcome> {
    return new Promise<BodyOutcome>((resolve) => {
      const max = this.maxBodyBytes;
      // Chunks, joined at the end: a buffer of the declared length up front would let clients
      // that declare much and send little hold memory they never fill.
      const chunks: Buffer[] = [];
      let received = 0;
      let refused = false;
      let settled = false;
      const settle = (outcome: BodyOutcome): void => {
        if (settled) return;
        settled = true;
        response.off('close', onClose);
        resolve(outcome);
      };
      const onClose = (): void => {
        settle({ kind: 'gone' });
      };
      request.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (refused) {
          if (received > max + DRAIN_LIMIT_BYTES) request.socket.destroy();
          return;
        }
        if (received > max) {
          refused = true;
          chunks.length = 0;
          this.reply(response, 413, format, GrpcStatus.RESOURCE_EXHAUSTED, this.tooLargeMessage('is'));
          settle({ kind: 'refused' });
          return;
        }
        chunks.push(chunk);
      });
      request.on('end', () => {
        if (refused) return;
        if (declared >= 0 && received !== declared) {
          // Node ends a request only once its declared length has arrived; guard regardless.
          settle({ kind: 'gone' });
          return;
        }
        settle({ kind: 'ok', body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received) });
      });
      response.on('close', onClose);
    });
  }

  /** Answers before reading the body, then discards what the client still sends (bounded). */
  private refuse(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    status: number,
    format: HttpBodyFormat | undefined,
    grpcStatus: GrpcStatus,
    message: string,
  ): void {
    const declared = contentLength(request);
    const hasBody = declared > 0 || (declared < 0 && request.headers['transfer-encoding'] !== undefined);
    // A body too large to drain, or one the client holds back for 100-continue, cannot be
    // skipped: the connection must close after the answer.
    if (hasBody && (declared > DRAIN_LIMIT_BYTES || request.headers.expect !== undefined)) {
      response.setHeader('Connection', 'close');
    } else if (hasBody) {
      let drained = 0;
      request.on('data', (chunk: Buffer) => {
        drained += chunk.length;
        if (drained > DRAIN_LIMIT_BYTES) request.socket.destroy();
      });
    }
    this.reply(response, status, format, grpcStatus, message);
  }

  private answer(response: http.ServerResponse, format: HttpBodyFormat, signal: Signal, result: ExportResult): void {
    switch (result.kind) {
      case 'ok':
        // An Export*ServiceResponse without partial_success: zero bytes in protobuf, {} in JSON.
        this.send(response, 200, MEDIA_TYPES[format], format === 'json' ? '{}' : EMPTY);
        return;
      case 'permanent':
        this.reply(
          response,
          400,
          format,
          GrpcStatus.INVALID_ARGUMENT,
          `${signal} request refused: ${result.error.message}`,
        );
        return;
      case 'retryable': {
        const seconds =
          result.retryAfterMs === undefined
            ? DEFAULT_RETRY_AFTER_SECONDS
            : Math.max(0, Math.ceil(result.retryAfterMs / 1000));
        response.setHeader('Retry-After', String(seconds));
        if (isBackPressure(result.error)) {
          this.reply(
            response,
            429,
            format,
            GrpcStatus.RESOURCE_EXHAUSTED,
            `${signal} request not accepted, try again later: ${result.error.message}`,
          );
        } else {
          this.reply(
            response,
            503,
            format,
            GrpcStatus.UNAVAILABLE,
            `${signal} request not accepted, try again later: ${result.error.message}`,
          );
        }
        return;
      }
    }
  }

  /** An error answer: a `google.rpc.Status` in the request's format, or text when it has none. */
  private reply(
    response: http.ServerResponse,
    status: number,
    format: HttpBodyFormat | undefined,
    grpcStatus: GrpcStatus,
    message: string,
  ): void {
    if (format === 'json') this.send(response, status, MEDIA_TYPES.json, JSON.stringify({ code: grpcStatus, message }));
    else if (format === 'protobuf')
      this.send(response, status, MEDIA_TYPES.protobuf, encodeStatus(grpcStatus, message));
    else this.send(response, status, 'text/plain; charset=utf-8', `${message}\n`);
  }

  private send(response: http.ServerResponse, status: number, contentType: string, body: string | Uint8Array): void {
    if (response.headersSent || response.destroyed) return;
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    response.statusCode = status;
    response.setHeader('Content-Type', contentType);
    response.setHeader('Content-Length', bytes.length);
    if (this.closing) response.setHeader('Connection', 'close');
    response.end(bytes);
  }

  /** `what` completes "request body …": `is` or `declares N bytes`. */
  private tooLargeMessage(what: string): string {
    return `request body ${what} over the limit of ${this.maxBodyBytes} bytes; send smaller requests`;
  }

  private knownPaths(): string {
    return [...this.routes.keys()].join(', ') || '(none: no consumer is configured)';
  }
}

const EMPTY = new Uint8Array(0);

/** Read through a call, so that the compiler does not assume it unchanged across an `await`. */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/**
 * Whether a retryable error means "too much, slow down" (429) rather than "unavailable"
 * (503): the load balancer's full queue (`ERR_LB_QUEUE_FULL`), or gRPC's RESOURCE_EXHAUSTED
 * relayed from a backend (a {@link GrpcError}), as the Collector maps it.
 */
export function isBackPressure(error: Error): boolean {
  if (error instanceof GrpcError) return error.grpcStatus === GrpcStatus.RESOURCE_EXHAUSTED;
  return error instanceof OtelLbError && error.code === ErrorCode.LB_QUEUE_FULL;
}

/** The body format of a `Content-Type` value (media type parameters ignored), or undefined. */
export function bodyFormat(contentType: string | undefined): HttpBodyFormat | undefined {
  if (contentType === undefined) return undefined;
  const semicolon = contentType.indexOf(';');
  const media = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (media === MEDIA_TYPES.protobuf) return 'protobuf';
  if (media === MEDIA_TYPES.json) return 'json';
  return undefined;
}

/** The codec of a `Content-Encoding` value (absent or empty: none), or undefined if unsupported. */
export function compressionOf(contentEncoding: string | undefined): Compression | undefined {
  if (contentEncoding === undefined) return 'none';
  const name = contentEncoding.trim().toLowerCase();
  return name === '' ? 'none' : COMPRESSION_BY_CONTENT_ENCODING.get(name);
}

/** The declared body length, or -1 when there is none (chunked, or no body). */
function contentLength(request: http.IncomingMessage): number {
  const value = request.headers['content-length'];
  // Node has already refused a malformed Content-Length (400) before the request gets here.
  return value === undefined ? -1 : Number(value);
}

/** `google.rpc.Status { int32 code = 1; string message = 2; }` as protobuf bytes. */
export function encodeStatus(code: number, message: string): Uint8Array {
  const text = Buffer.from(message, 'utf8');
  const out = new Uint8Array(1 + 5 + 1 + 5 + text.length);
  let pos = 0;
  if (code !== 0) {
    out[pos++] = 0x08;
    pos = writeVarint(out, pos, code);
  }
  if (text.length > 0) {
    out[pos++] = 0x12;
    pos = writeVarint(out, pos, text.length);
    out.set(text, pos);
    pos += text.length;
  }
  return out.subarray(0, pos);
}
