/**
 * A unary gRPC client over `node:http2` for the OTLP export methods of one backend: the
 * {@link OtlpClient} that senders use. One HTTP/2 connection per client, made on the first
 * call and made again after the server closes it or sends GOAWAY; calls are streams on it.
 *
 * How outcomes are classified (OTLP specification, "OTLP/gRPC Response"):
 *
 * | what happened                                                   | result                     |
 * |-----------------------------------------------------------------|----------------------------|
 * | `grpc-status: 0`                                                | ok                         |
 * | a status `isRetryableGrpcStatus` calls retryable (UNAVAILABLE, …) | retryable (+ RetryInfo delay) |
 * | RESOURCE_EXHAUSTED with a RetryInfo                             | retryable after that delay |
 * | any other status (INVALID_ARGUMENT, UNIMPLEMENTED, RESOURCE_EXHAUSTED alone, …) | permanent |
 * | connection refused or reset, GOAWAY, a stream reset, no status  | retryable (UNAVAILABLE)    |
 * | a non-gRPC HTTP answer (a proxy): 429, 502, 503, 504            | retryable (+ `Retry-After`) |
 * | other HTTP statuses, per gRPC's HTTP-to-status table            | permanent                  |
 * | our deadline passed; the caller's signal aborted                | retryable                  |
 * | the message is larger than `maxSendMessageSizeBytes`            | permanent                  |
 *
 * Failures carry a {@link GrpcError} whose `code` says where the failure came from and
 * whose `grpcStatus` is the status.
 *
 * TLS goes through {@link GrpcClientOptions.tls} (`tls.ts` will build it); keepalive pings
 * and per-call credentials (auth extensions) are later additions to the options and to
 * `requestHeaders`.
 */

import http2 from 'node:http2';

import { ErrorCode, type ErrorCode as ErrorCodeType } from '../errors.ts';
import type { Batch } from '../otlp/batch.ts';
import type { Signal } from '../otlp/signal.ts';
import { compress, type Compression } from './compression.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from './export-result.ts';
import {
  decodeGrpcMessage,
  DEFAULT_MAX_RECV_MESSAGE_BYTES,
  formatGrpcTimeout,
  GRPC_ACCEPT_ENCODING,
  GRPC_CONTENT_TYPE,
  GRPC_PATH_BY_SIGNAL,
  grpcEncodingFor,
  GrpcError,
  GrpcHeader,
  grpcStatusFromHttpStatus,
  grpcWireCompression,
  MAX_TIMER_MS,
  MESSAGE_PREFIX_BYTES,
  messagePrefix,
  parseRetryAfter,
  retryDelayFromStatusDetails,
} from './grpc-protocol.ts';
import { GrpcStatus, grpcStatusName, isRetryableGrpcStatus } from './grpc-status.ts';
import type { ExportOptions, OtlpClient } from './otlp-client.ts';

/** Client credentials, handed to `http2.connect` over `https:` (ALPN `h2`). */
export type GrpcClientTlsOptions = Pick<
  http2.SecureClientSessionOptions,
  | 'ca'
  | 'cert'
  | 'key'
  | 'pfx'
  | 'passphrase'
  | 'servername'
  | 'rejectUnauthorized'
  | 'minVersion'
  | 'checkServerIdentity'
>;

/** Options of {@link GrpcClient}. */
export interface GrpcClientOptions {
  /** `host:port`; IPv6 literals in brackets (`[::1]:4317`). */
  readonly endpoint: string;
  /** How requests are compressed. Default `gzip`, as Alloy's and the Collector's exporters. */
  readonly compression?: Compression;
  /** Extra metadata sent with every call (lower-cased). Not `:pseudo`, `grpc-*`, `content-type` or `te`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The `:authority` (virtual host) to send; default the endpoint. */
  readonly authority?: string;
  /** Per-call timeout in milliseconds, sent as `grpc-timeout`. Default 5,000, as the Collector's exporters. */
  readonly timeoutMs?: number;
  /** Largest message sent, in bytes after compression; a larger one fails permanently. Default 4 GiB − 1. */
  readonly maxSendMessageSizeBytes?: number;
  /**
   * When the backend cannot be reached, wait for it (reconnecting with backoff) until the
   * call's deadline instead of failing at once. Default false: fail fast, and let the retry
   * layer decide.
   */
  readonly waitForReady?: boolean;
  /** Connect with TLS instead of cleartext HTTP/2 (h2c). */
  readonly tls?: GrpcClientTlsOptions;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const MAX_MESSAGE_BYTES = 0xffff_ffff;
/** Flow-control windows we grant the server: responses are tiny, but be generous anyway. */
const STREAM_WINDOW_BYTES = 1024 * 1024;
/** Reconnect backoff of `waitForReady` calls. */
const RECONNECT_INITIAL_MS = 100;
const RECONNECT_MAX_MS = 1_000;
const USER_AGENT = 'otel-lb grpc-http2';
const RESERVED_HEADER = /^(?::|grpc-)|^(?:content-type|te|user-agent)$/;

/** `host` and `port` of an endpoint, and the URL to connect to. */
interface ParsedEndpoint {
  readonly host: string;
  readonly port: number;
  readonly url: string;
}

/**
 * Parses `host:port` or `[v6]:port`. Throws TypeError for anything else: endpoints are
 * validated with the configuration, so a bad one here is a programming error.
 */
export function parseEndpoint(endpoint: string): ParsedEndpoint {
  const match = /^(?:\[([0-9a-fA-F:.%\w-]+)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(endpoint);
  const port = Number(match?.[3]);
  if (match === null || port < 1 || port > 65_535) {
    throw new TypeError(`endpoint "${endpoint}" is not host:port (IPv6 as [::1]:4317)`);
  }
  const v6 = match[1];
  const host = v6 ?? match[2] ?? '';
  return { host, port, url: `http://${v6 === undefined ? host : `[${v6}]`}:${port}` };
}

/** One HTTP/2 connection and how many calls use it. */
interface Connection {
  readonly session: http2.ClientHttp2Session;
  /** Resolves once the connection is up (undefined) or has failed (the error); never rejects. */
  readonly ready: Promise<Error | undefined>;
  active: number;
  usable: boolean;
}

/**
 * The gRPC {@link OtlpClient}. Calls share one connection and run concurrently; `export`
 * never rejects. See the module comment for how outcomes are classified.
 */
export class GrpcClient implements OtlpClient {
  readonly endpoint: string;
  private readonly target: ParsedEndpoint;
  private readonly authority: string;
  private readonly compression: Compression;
  private readonly wireCompression: Compression;
  private readonly timeoutMs: number;
  private readonly maxSendBytes: number;
  private readonly waitForReady: boolean;
  private readonly tls: GrpcClientTlsOptions | undefined;
  /** Request headers per signal, without `grpc-timeout`. Never mutated (Node copies them). */
  private readonly baseHeaders: ReadonlyMap<Signal, http2.OutgoingHttpHeaders>;
  private connection: Connection | undefined;
  private inFlight = 0;
  private onIdle: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: GrpcClientOptions) {
    this.endpoint = options.endpoint;
    this.target = parseEndpoint(options.endpoint);
    this.authority = options.authority ?? options.endpoint;
    this.compression = options.compression ?? 'gzip';
    this.wireCompression = grpcWireCompression(this.compression);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxSendBytes = Math.min(options.maxSendMessageSizeBytes ?? MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
    this.waitForReady = options.waitForReady ?? false;
    this.tls = options.tls;
    if (!(this.timeoutMs > 0 && this.timeoutMs <= MAX_TIMER_MS)) {
      throw new TypeError(`timeoutMs must be between 1 and ${MAX_TIMER_MS}, got ${this.timeoutMs}`);
    }

    const extra: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      const key = name.toLowerCase();
      if (RESERVED_HEADER.test(key)) throw new TypeError(`header "${name}" is reserved by gRPC and cannot be set`);
      extra[key] = value;
    }
    const headers = new Map<Signal, http2.OutgoingHttpHeaders>();
    for (const [signal, path] of Object.entries(GRPC_PATH_BY_SIGNAL) as [Signal, string][]) {
      const base: http2.OutgoingHttpHeaders = {
        ...extra,
        ':method': 'POST',
        ':path': path,
        ':authority': this.authority,
        [GrpcHeader.CONTENT_TYPE]: GRPC_CONTENT_TYPE,
        [GrpcHeader.TE]: 'trailers',
        [GrpcHeader.USER_AGENT]: USER_AGENT,
        [GrpcHeader.ACCEPT_ENCODING]: GRPC_ACCEPT_ENCODING,
      };
      if (this.compression !== 'none') base[GrpcHeader.ENCODING] = grpcEncodingFor(this.compression);
      headers.set(signal, Object.freeze(base));
    }
    this.baseHeaders = headers;
  }

  /**
   * Sends `batch` as one unary call and classifies the outcome (module comment). Never
   * rejects. The call ends at `options.timeoutMs` (default the client's) or when
   * `options.signal` aborts, whichever comes first; both are retryable.
   */
  export(batch: Batch, options: ExportOptions = {}): Promise<ExportResult> {
    return this.call(batch, [batch.bytes], options);
  }

  /**
   * Sends `batches` (at least one, all of one signal) as one unary call whose message is
   * their concatenation; uncompressed, the batches' own buffers go on the stream as they
   * are, never copied together. Otherwise as {@link export}.
   *
   * @throws TypeError when `batches` is empty or mixes signals (a programming error).
   */
  exportMerged(batches: readonly Batch[], options: ExportOptions = {}): Promise<ExportResult> {
    const first = batches[0];
    if (first === undefined || batches.some((b) => b.signal !== first.signal)) {
      throw new TypeError('exportMerged takes at least one batch, all of one signal');
    }
    return this.call(
      first,
      batches.map((b) => b.bytes),
      options,
    );
  }

  /** One call carrying the concatenation of `parts`; `batch` names the signal (and the errors). */
  private async call(batch: Batch, parts: readonly Uint8Array[], options: ExportOptions): Promise<ExportResult> {
    const { signal } = options;
    if (this.closing !== undefined) {
      return retryable(this.error(ErrorCode.GRPC_CANCELLED, GrpcStatus.CANCELLED, 'the client is closed', batch));
    }
    if (signal?.aborted === true) return this.cancelled(batch, signal);
    const timeoutMs = Math.min(options.timeoutMs ?? this.timeoutMs, MAX_TIMER_MS);
    const deadline = Date.now() + timeoutMs;
    this.inFlight++;
    try {
      let payload: readonly Uint8Array[];
      try {
        payload =
          this.wireCompression === 'none'
            ? parts
            : [
                await compress(
                  this.wireCompression,
                  parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts),
                ),
              ];
      } catch (error) {
        return permanent(
          this.error(
            ErrorCode.COMPRESSION_FAILED,
            GrpcStatus.INTERNAL,
            `${this.compression} compression failed`,
            batch,
            {
              cause: error,
            },
          ),
        );
      }
      let payloadBytes = 0;
      for (const part of payload) payloadBytes += part.length;
      if (payloadBytes > this.maxSendBytes) {
        return permanent(
          this.error(
            ErrorCode.GRPC_MESSAGE_TOO_LARGE,
            GrpcStatus.RESOURCE_EXHAUSTED,
            `the message is ${payloadBytes} bytes, more than the maximum of ${this.maxSendBytes}; send smaller batches`,
            batch,
          ),
        );
      }
      let connection = this.currentConnection();
      if (this.waitForReady) {
        const waited = await this.waitUntilReady(deadline, signal, batch);
        if (waited.kind === 'failed') return waited.result;
        connection = waited.connection;
      }
      if (isAborted(signal)) return this.cancelled(batch, signal);
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) return this.deadlineExceeded(batch, timeoutMs);
      return await new Promise<ExportResult>((resolve) => {
        new ClientCall(this, connection, batch, payload, payloadBytes, remainingMs, signal, resolve).start();
      });
    } finally {
      if (--this.inFlight === 0) this.onIdle?.();
    }
  }

  /**
   * Stops taking calls (later ones are retryable CANCELLED), waits for those in flight to
   * finish (each is bounded by its deadline), then closes the connection. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.inFlight > 0) {
        await new Promise<void>((resolve) => {
          this.onIdle = resolve;
        });
      }
      const connection = this.connection;
      this.connection = undefined;
      if (connection !== undefined) {
        await new Promise<void>((resolve) => {
          connection.session.close(resolve);
        });
      }
    })();
    return this.closing;
  }

  /** @internal The request headers of one call. */
  requestHeaders(signal: Signal, timeoutMs: number): http2.OutgoingHttpHeaders {
    const base = this.baseHeaders.get(signal) as http2.OutgoingHttpHeaders;
    return { ...base, [GrpcHeader.TIMEOUT]: formatGrpcTimeout(timeoutMs) };
  }

  /** @internal Whether the payload on the wire is compressed. */
  get isCompressed(): boolean {
    return this.wireCompression !== 'none';
  }

  /** The connection to use now, connecting if there is none (Node queues calls until it is up). */
  private currentConnection(): Connection {
    const existing = this.connection;
    if (existing?.usable === true) return existing;
    const session =
      this.tls === undefined
        ? http2.connect(this.target.url, SESSION_OPTIONS)
        : http2.connect(this.target.url.replace(/^http:/, 'https:'), { ...SESSION_OPTIONS, ...this.tls });
    const ready = new Promise<Error | undefined>((resolve) => {
      session.once('connect', () => {
        resolve(undefined);
      });
      session.once('close', () => {
        resolve(new Error('the connection closed before it was established'));
      });
      session.once('error', (error: Error) => {
        resolve(error);
      });
    });
    const connection: Connection = { session, ready, active: 0, usable: true };
    const retire = (): void => {
      connection.usable = false;
      if (this.connection === connection) this.connection = undefined;
    };
    // Calls in flight see connection errors on their streams; here they only retire it.
    session.on('error', retire);
    session.once('goaway', retire);
    session.once('close', retire);
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(STREAM_WINDOW_BYTES);
      } catch {
        // Only a larger window for responses; the default one works too.
      }
    });
    session.unref();
    this.connection = connection;
    return connection;
  }

  /** Waits for a connection, reconnecting with backoff, until `deadline` or `signal`. */
  private async waitUntilReady(
    deadline: number,
    signal: AbortSignal | undefined,
    batch: Batch,
  ): Promise<{ kind: 'ready'; connection: Connection } | { kind: 'failed'; result: ExportResult }> {
    let delayMs = RECONNECT_INITIAL_MS;
    let lastError: Error | undefined;
    for (;;) {
      const connection = this.currentConnection();
      acquire(connection);
      const error = await raceDeadline(connection.ready, deadline, signal);
      release(connection);
      if (signal?.aborted === true) return { kind: 'failed', result: this.cancelled(batch, signal) };
      if (error === undefined && connection.usable) return { kind: 'ready', connection };
      if (error !== TIMED_OUT && error !== undefined) lastError = error;
      if (error === TIMED_OUT || Date.now() + delayMs >= deadline) {
        return {
          kind: 'failed',
          result: retryable(
            this.error(
              ErrorCode.GRPC_DEADLINE_EXCEEDED,
              GrpcStatus.DEADLINE_EXCEEDED,
              `could not connect before the deadline${lastError === undefined ? '' : ` (${lastError.message})`}`,
              batch,
              { cause: lastError },
            ),
          ),
        };
      }
      await sleep(delayMs, signal);
      delayMs = Math.min(RECONNECT_MAX_MS, delayMs * 2);
    }
  }

  private cancelled(batch: Batch, signal: AbortSignal): ExportResult {
    return retryable(
      this.error(ErrorCode.GRPC_CANCELLED, GrpcStatus.CANCELLED, 'the call was cancelled by its caller', batch, {
        cause: signal.reason,
      }),
    );
  }

  /** @internal */
  deadlineExceeded(batch: Batch, timeoutMs: number): ExportResult {
    return retryable(
      this.error(
        ErrorCode.GRPC_DEADLINE_EXCEEDED,
        GrpcStatus.DEADLINE_EXCEEDED,
        `no answer within the deadline of ${Math.round(timeoutMs)} ms; the backend is slow or overloaded`,
        batch,
      ),
    );
  }

  /** @internal A {@link GrpcError} that says which endpoint and method failed. */
  error(
    code: ErrorCodeType,
    grpcStatus: number,
    detail: string,
    batch: Batch,
    options?: ErrorOptions & { readonly grpcMessage?: string; readonly retryAfterMs?: number },
  ): GrpcError {
    const message = `gRPC export of ${batch.signal} to ${this.endpoint} failed with ${grpcStatusName(grpcStatus)}: ${detail}`;
    return new GrpcError(code, grpcStatus, message, options);
  }
}

const SESSION_OPTIONS: http2.ClientSessionOptions = Object.freeze({
  settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
  // Megabytes nghttp2 may buffer for this connection; many concurrent large requests
  // exceed the default of 10.
  maxSessionMemory: 64,
});

const TIMED_OUT = new Error('timed out');

/** Whether `signal` has aborted (a function, so that TypeScript does not narrow across awaits). */
function isAborted(signal: AbortSignal | undefined): signal is AbortSignal {
  return signal?.aborted === true;
}

/** Keeps the process alive while a connection has calls (or waits) on it, and only then. */
function acquire(connection: Connection): void {
  if (connection.active++ === 0) connection.session.ref();
}

function release(connection: Connection): void {
  if (--connection.active === 0) connection.session.unref();
}

/** `ready` settled, or TIMED_OUT at `deadline`, or undefined when `signal` aborts. */
function raceDeadline(
  ready: Promise<Error | undefined>,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => {
        done(TIMED_OUT);
      },
      Math.max(0, deadline - Date.now()),
    );
    timer.unref();
    const onAbort = (): void => {
      done(undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    function done(value: Error | undefined): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(value);
    }
    ready.then(done, done);
  });
}

/** Resolves after `ms`, or early when `signal` aborts. Never rejects; the timer is unref'd. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** Why a call ended on our side. */
type LocalEnd = 'deadline' | 'cancelled' | 'response-too-large';

/** One call: writes the request, reads the status, resolves once with the result. */
class ClientCall {
  private readonly client: GrpcClient;
  private readonly connection: Connection;
  private readonly batch: Batch;
  /** The message, in pieces written one after the other; `payloadBytes` long in all. */
  private readonly payload: readonly Uint8Array[];
  private readonly payloadBytes: number;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly resolve: (result: ExportResult) => void;
  private stream: http2.ClientHttp2Stream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private localEnd: LocalEnd | undefined;
  private httpStatus = 0;
  private contentType: string | undefined;
  private retryAfterHeader: string | undefined;
  private grpcStatus: string | undefined;
  private grpcMessage = '';
  private statusDetails: string | undefined;
  private responseBytes = 0;
  private streamError: Error | undefined;

  constructor(
    client: GrpcClient,
    connection: Connection,
    batch: Batch,
    payload: readonly Uint8Array[],
    payloadBytes: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    resolve: (result: ExportResult) => void,
  ) {
    this.client = client;
    this.connection = connection;
    this.batch = batch;
    this.payload = payload;
    this.payloadBytes = payloadBytes;
    this.timeoutMs = timeoutMs;
    this.signal = signal;
    this.resolve = resolve;
  }

  start(): void {
    const { session } = this.connection;
    acquire(this.connection);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(this.client.requestHeaders(this.batch.signal, this.timeoutMs));
    } catch (error) {
      // The session was destroyed between picking it and using it.
      this.streamError = error as Error;
      this.end();
      return;
    }
    this.stream = stream;
    stream.on('response', this.onResponse);
    stream.on('trailers', this.onTrailers);
    stream.on('data', this.onData);
    stream.on('error', this.onError);
    stream.once('close', this.onClose);
    this.timer = setTimeout(this.onDeadline, this.timeoutMs);
    this.timer.unref();
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    const prefix = messagePrefix(this.client.isCompressed, this.payloadBytes);
    // Prefix and payload leave in one writev without being copied together (a concatenation
    // cost the client 3× the CPU per call for 600 KB messages).
    stream.cork();
    stream.write(prefix);
    for (const part of this.payload) stream.write(part);
    stream.end();
    stream.uncork();
  }

  private readonly onResponse = (headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader): void => {
    this.httpStatus = headers[':status'] ?? 0;
    this.contentType = headers[GrpcHeader.CONTENT_TYPE];
    this.retryAfterHeader = first(headers[GrpcHeader.RETRY_AFTER]);
    this.readStatus(headers);
  };

  private readonly onTrailers = (trailers: http2.IncomingHttpHeaders): void => {
    this.readStatus(trailers);
  };

  private readStatus(headers: http2.IncomingHttpHeaders): void {
    const status = first(headers[GrpcHeader.STATUS]);
    if (status === undefined) return;
    this.grpcStatus = status;
    this.grpcMessage = decodeGrpcMessage(first(headers[GrpcHeader.MESSAGE]) ?? '');
    this.statusDetails = first(headers[GrpcHeader.STATUS_DETAILS]);
  }

  private readonly onData = (chunk: Buffer): void => {
    // The Export*ServiceResponse is not needed (partial success is not acted on yet); only
    // bound it, so that a broken server cannot make us buffer without end.
    this.responseBytes += chunk.length;
    if (this.responseBytes > DEFAULT_MAX_RECV_MESSAGE_BYTES + MESSAGE_PREFIX_BYTES) this.abandon('response-too-large');
  };

  private readonly onError = (error: Error): void => {
    this.streamError ??= error;
  };

  private readonly onDeadline = (): void => {
    this.abandon('deadline');
  };

  private readonly onAbort = (): void => {
    this.abandon('cancelled');
  };

  private abandon(why: LocalEnd): void {
    if (this.localEnd !== undefined) return;
    this.localEnd = why;
    this.stream?.close(http2.constants.NGHTTP2_CANCEL);
  }

  private readonly onClose = (): void => {
    this.end();
  };

  private end(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
    release(this.connection);
    this.resolve(this.result());
  }

  private result(): ExportResult {
    const client = this.client;
    const batch = this.batch;
    if (this.grpcStatus !== undefined && this.httpStatus === 200) return this.statusResult(this.grpcStatus);
    switch (this.localEnd) {
      case 'deadline':
        return client.deadlineExceeded(batch, this.timeoutMs);
      case 'cancelled':
        return retryable(
          client.error(ErrorCode.GRPC_CANCELLED, GrpcStatus.CANCELLED, 'the call was cancelled by its caller', batch, {
            cause: this.signal?.reason,
          }),
        );
      case 'response-too-large':
        return permanent(
          client.error(
            ErrorCode.GRPC_PROTOCOL,
            GrpcStatus.RESOURCE_EXHAUSTED,
            `the response is larger than ${DEFAULT_MAX_RECV_MESSAGE_BYTES} bytes`,
            batch,
          ),
        );
      case undefined:
        break;
    }
    if (this.httpStatus !== 0 && this.httpStatus !== 200) {
      const code = grpcStatusFromHttpStatus(this.httpStatus);
      const retryAfterMs = parseRetryAfter(this.retryAfterHeader, Date.now());
      const error = client.error(
        ErrorCode.GRPC_STATUS,
        code,
        `the server answered HTTP ${this.httpStatus}${this.contentType === undefined ? '' : ` (${this.contentType})`}, not gRPC; is a proxy in the way?`,
        batch,
        retryAfterMs === undefined ? {} : { retryAfterMs },
      );
      return isRetryableGrpcStatus(code) ? retryable(error, retryAfterMs) : permanent(error);
    }
    if (this.httpStatus === 200 && !isGrpcContentType(this.contentType)) {
      return permanent(
        client.error(
          ErrorCode.GRPC_PROTOCOL,
          GrpcStatus.UNKNOWN,
          `the response has content-type "${this.contentType ?? ''}", not ${GRPC_CONTENT_TYPE}; is this a gRPC endpoint?`,
          batch,
        ),
      );
    }
    const cause = this.streamError;
    const rstCode = this.stream?.rstCode;
    const why =
      cause !== undefined
        ? describeStreamError(cause)
        : rstCode !== undefined && rstCode !== 0
          ? `the server reset the stream (HTTP/2 error ${rstCode})`
          : 'the stream ended without a gRPC status';
    return retryable(client.error(ErrorCode.GRPC_UNAVAILABLE, GrpcStatus.UNAVAILABLE, why, batch, { cause }));
  }

  private statusResult(statusText: string): ExportResult {
    const code = /^\d+$/.test(statusText) ? Number(statusText) : GrpcStatus.UNKNOWN;
    if (code === GrpcStatus.OK) return EXPORT_OK;
    const retryAfterMs = this.statusDetails === undefined ? undefined : retryDelayFromStatusDetails(this.statusDetails);
    const options =
      retryAfterMs === undefined ? { grpcMessage: this.grpcMessage } : { grpcMessage: this.grpcMessage, retryAfterMs };
    const error = this.client.error(
      ErrorCode.GRPC_STATUS,
      code,
      this.grpcMessage || '(no message)',
      this.batch,
      options,
    );
    return isRetryableGrpcStatus(code, retryAfterMs !== undefined) ? retryable(error, retryAfterMs) : permanent(error);
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isGrpcContentType(contentType: string | undefined): boolean {
  return (
    contentType !== undefined &&
    (contentType === GRPC_CONTENT_TYPE ||
      contentType.startsWith(`${GRPC_CONTENT_TYPE}+`) ||
      contentType.startsWith(`${GRPC_CONTENT_TYPE};`))
  );
}

/** A stream error for humans: the connection error behind a cancelled pending stream, if any. */
function describeStreamError(error: Error): string {
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const root = cause ?? error;
  const code = (root as { code?: unknown }).code;
  return `${root.message}${typeof code === 'string' && !root.message.includes(code) ? ` (${code})` : ''}`;
}
