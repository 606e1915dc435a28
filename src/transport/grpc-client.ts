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
 * whose `grpcStatus` is the status; a connection that could not be made or was lost has the
 * underlying error as its `cause` (Node's `ECONNREFUSED`, OpenSSL's `CERT_HAS_EXPIRED`, our
 * `ERR_KEEPALIVE_TIMEOUT`, `ERR_PROXY_CONNECT_FAILED`, …).
 *
 * Connections (`grpc-channel.ts`): one HTTP/2 session per address the endpoint's host
 * resolves to, balanced with `pick_first` or `round_robin`, through an HTTP CONNECT proxy
 * when `HTTPS_PROXY` says so (`proxy.ts`), over TLS from `tls.ts`, with keepalive PINGs.
 * Per call: the configured metadata, then an auth extension's headers ({@link ClientAuth}).
 * Without auth the per-call path adds no await and no allocation to what it had.
 */

import dns from 'node:dns';
import http2 from 'node:http2';
import net from 'node:net';

import { ErrorCode, type ErrorCode as ErrorCodeType } from '../errors.ts';
import type { Batch } from '../otlp/batch.ts';
import type { Signal } from '../otlp/signal.ts';
import { isPromiseLike, type ClientAuth } from './client-auth.ts';
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
import {
  GrpcChannel,
  GrpcConnection,
  type BalancerName,
  type GrpcChannelOptions,
  type KeepaliveSettings,
  type LookupFunction,
  type NodeClientTlsOptions,
} from './grpc-channel.ts';
import { GrpcStatus, grpcStatusName, isRetryableGrpcStatus } from './grpc-status.ts';
import type { ExportOptions, OtlpClient } from './otlp-client.ts';
import { ProxyConfig, type ProxyEnvironment } from './proxy.ts';
import { describeTlsFailure, type ClientTls } from './tls.ts';
import { errorCode } from './transport-error.ts';

export type { BalancerName, LookupFunction } from './grpc-channel.ts';

/** Client credentials as Node TLS options, handed to `tls.connect` as they are (ALPN `h2`). */
export type GrpcClientTlsOptions = NodeClientTlsOptions;

/**
 * Client keepalive: Alloy's `keepalive` block (grpc-go's `keepalive.ClientParameters`).
 * Without `pingWaitMs` there are no keepalive PINGs (grpc-go's default is never).
 */
export interface GrpcKeepaliveOptions {
  /**
   * `ping_wait`: how often to PING a connection, in milliseconds. grpc-go raises values
   * below {@link GRPC_MIN_PING_WAIT_MS} to it (with a warning); this client uses the value
   * as given, so the configuration layer applies that minimum.
   */
  readonly pingWaitMs?: number | undefined;
  /** `ping_response_timeout`: how long a PING may go unanswered before the connection is closed. Default 20,000, as grpc-go. */
  readonly pingResponseTimeoutMs?: number | undefined;
  /** `ping_without_stream`: PING also while no call is in flight. Default false. */
  readonly pingWithoutStream?: boolean | undefined;
}

/** The smallest `ping_wait` grpc-go accepts (`internal.KeepaliveMinPingTime`), in milliseconds. */
export const GRPC_MIN_PING_WAIT_MS = 10_000;
/** grpc-go's default `ping_response_timeout`, in milliseconds. */
export const DEFAULT_PING_RESPONSE_TIMEOUT_MS = 20_000;

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
  /**
   * Connect with TLS instead of cleartext HTTP/2 (h2c): a {@link ClientTls} from
   * `loadClientTls` (Alloy's `tls` block, with reloads and `server_name`), or Node TLS
   * options used as they are. Absent: cleartext. Alloy's default, when the `tls` block is
   * left out, is TLS verified against the system's roots, i.e. `loadClientTls({})`.
   * A ClientTls may be shared by many clients; the client does not close it.
   */
  readonly tls?: GrpcClientTlsOptions | ClientTls | undefined;
  /** Per-call credentials from an auth extension; see {@link ClientAuth}. */
  readonly auth?: ClientAuth | undefined;
  /** HTTP/2 PINGs that detect a dead connection and replace it; see {@link GrpcKeepaliveOptions}. */
  readonly keepalive?: GrpcKeepaliveOptions | undefined;
  /**
   * `balancer_name`: how calls spread over the addresses the endpoint's host resolves to
   * (`grpc-channel.ts`). Default `round_robin`, as Alloy since v1.3.
   */
  readonly balancerName?: BalancerName | undefined;
  /** Resolves the endpoint's host name to addresses; default `dns.lookup(host, { all: true })`. */
  readonly lookup?: LookupFunction | undefined;
  /** The least time between two lookups of the host name, in milliseconds. Default 30,000, as grpc-go. */
  readonly minResolveIntervalMs?: number | undefined;
  /**
   * Where `HTTPS_PROXY` and `NO_PROXY` are read (see `proxy.ts`), once, at construction.
   * Default `process.env`; `{}` never proxies.
   */
  readonly proxyEnvironment?: ProxyEnvironment | undefined;
  /**
   * `read_buffer_size`, in bytes. grpc-go sizes its socket read buffer with it (default
   * 32 KiB). Node reads sockets in libuv's 64 KiB chunks and cannot be told otherwise; what a
   * peer may send before this side reads is the HTTP/2 flow-control window, so a value above
   * the default window (1 MiB) raises both windows granted to the server (the stream's
   * SETTINGS_INITIAL_WINDOW_SIZE and the connection's). Smaller values change nothing.
   */
  readonly readBufferSizeBytes?: number | undefined;
  /**
   * `write_buffer_size`, in bytes (Alloy's default 512 KiB). grpc-go gathers this much
   * before a socket write. Node's HTTP/2 (nghttp2) writes frames as soon as they are ready,
   * one writev per batch, and holds outgoing data inside the session up to
   * `maxSessionMemory` (64 MiB here); a value above that raises the bound (rounded up to
   * whole MiB). Smaller values change nothing: a smaller bound makes concurrent large
   * requests fail. (A socket `highWaterMark` would not apply: HTTP/2 writes to the socket's
   * handle directly.)
   */
  readonly writeBufferSizeBytes?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const MAX_MESSAGE_BYTES = 0xffff_ffff;
/** Flow-control windows we grant the server: responses are tiny, but be generous anyway. */
const STREAM_WINDOW_BYTES = 1024 * 1024;
/** HTTP/2's largest flow-control window. */
const MAX_WINDOW_BYTES = 2 ** 31 - 1;
/** Megabytes nghttp2 may buffer for a connection; many concurrent large requests exceed the default of 10. */
const SESSION_MEMORY_MB = 64;
const MiB = 1024 * 1024;
const DEFAULT_MIN_RESOLVE_INTERVAL_MS = 30_000;
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
  private readonly auth: ClientAuth | undefined;
  /** Set when the auth extension's credentials require TLS and the connection is cleartext. */
  private readonly authRefusal: string | undefined;
  /** Request headers per signal, without `grpc-timeout`. Never mutated (Node copies them). */
  private readonly baseHeaders: ReadonlyMap<Signal, http2.OutgoingHttpHeaders>;
  private readonly channel: GrpcChannel;
  private inFlight = 0;
  private onIdle: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  /** Aborted by {@link close}: calls still waiting for a connection give up (nothing was sent). */
  private readonly closeController = new AbortController();

  constructor(options: GrpcClientOptions) {
    this.endpoint = options.endpoint;
    this.target = parseEndpoint(options.endpoint);
    this.authority = options.authority ?? options.endpoint;
    this.compression = options.compression ?? 'gzip';
    this.wireCompression = grpcWireCompression(this.compression);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxSendBytes = Math.min(options.maxSendMessageSizeBytes ?? MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
    this.waitForReady = options.waitForReady ?? false;
    this.auth = options.auth;
    this.authRefusal =
      options.auth?.requiresTransportSecurity === true && options.tls === undefined
        ? 'the auth extension sends credentials that require TLS, and this connection is cleartext (tls.insecure = true); enable TLS, or use an auth extension that allows cleartext'
        : undefined;
    if (!(this.timeoutMs > 0 && this.timeoutMs <= MAX_TIMER_MS)) {
      throw new TypeError(`timeoutMs must be between 1 and ${MAX_TIMER_MS}, got ${this.timeoutMs}`);
    }
    this.channel = new GrpcChannel(channelOptions(options, this.target, this.authority));

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
      let credentials: Readonly<Record<string, string>> | undefined;
      if (this.auth !== undefined) {
        const authorized = await this.credentials(this.auth, batch);
        if (authorized.kind === 'failed') return authorized.result;
        credentials = authorized.headers;
      }
      let connection: GrpcConnection;
      if (this.waitForReady) {
        const waited = await this.waitUntilReady(deadline, signal, batch);
        if (waited.kind === 'failed') return waited.result;
        connection = waited.connection;
      } else {
        const picked = this.channel.pick();
        if (picked instanceof GrpcConnection) {
          connection = picked;
        } else {
          const outcome = await raceDeadline(picked, deadline, this.waitSignal(signal));
          if (outcome === TIMED_OUT) return this.deadlineExceeded(batch, timeoutMs);
          if (isAborted(signal)) return this.cancelled(batch, signal);
          if (outcome === ABORTED) return this.closedBeforeSent(batch);
          if (outcome instanceof Error) return this.unavailable(batch, outcome);
          connection = outcome;
        }
      }
      if (isAborted(signal)) return this.cancelled(batch, signal);
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) return this.deadlineExceeded(batch, timeoutMs);
      return await new Promise<ExportResult>((resolve) => {
        new ClientCall(
          this,
          connection,
          batch,
          payload,
          payloadBytes,
          remainingMs,
          signal,
          credentials,
          resolve,
        ).start();
      });
    } finally {
      if (--this.inFlight === 0) this.onIdle?.();
    }
  }

  /**
   * Connects now rather than on the first call, as the Collector does after creating its
   * client: every address for `round_robin`, the first that works for `pick_first`.
   * Resolves once the attempts have settled, whatever their outcome (calls report
   * failures); never rejects.
   */
  connect(): Promise<void> {
    return this.channel.connect();
  }

  /**
   * Stops taking calls (later ones are retryable CANCELLED), waits for those in flight to
   * finish (each is bounded by its deadline; those still waiting for a connection end at
   * once as retryable CANCELLED, unsent), then closes the connections. Idempotent.
   * A {@link ClientTls} given as `tls` stays open: its owner closes it.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closeController.abort(new Error('the client is closed'));
      if (this.inFlight > 0) {
        await new Promise<void>((resolve) => {
          this.onIdle = resolve;
        });
      }
      await this.channel.close();
    })();
    return this.closing;
  }

  /** @internal The request headers of one call; `credentials` (an auth extension's) win over the configured ones. */
  requestHeaders(
    signal: Signal,
    timeoutMs: number,
    credentials?: Readonly<Record<string, string>>,
  ): http2.OutgoingHttpHeaders {
    const base = this.baseHeaders.get(signal) as http2.OutgoingHttpHeaders;
    if (credentials === undefined) return { ...base, [GrpcHeader.TIMEOUT]: formatGrpcTimeout(timeoutMs) };
    return { ...base, ...credentials, [GrpcHeader.TIMEOUT]: formatGrpcTimeout(timeoutMs) };
  }

  /** @internal Whether the payload on the wire is compressed. */
  get isCompressed(): boolean {
    return this.wireCompression !== 'none';
  }

  /** Waits for a connection, reconnecting with backoff, until `deadline` or `signal`. */
  private async waitUntilReady(
    deadline: number,
    signal: AbortSignal | undefined,
    batch: Batch,
  ): Promise<{ kind: 'ready'; connection: GrpcConnection } | { kind: 'failed'; result: ExportResult }> {
    let delayMs = RECONNECT_INITIAL_MS;
    let lastError: Error | undefined;
    const waitSignal = this.waitSignal(signal);
    for (;;) {
      const picked = this.channel.pick();
      let outcome: GrpcConnection | Error | typeof TIMED_OUT | typeof ABORTED;
      if (picked instanceof GrpcConnection) {
        acquire(picked);
        const error = await raceDeadline(picked.ready, deadline, waitSignal);
        release(picked);
        outcome = error ?? picked;
      } else {
        outcome = await raceDeadline(picked, deadline, waitSignal);
      }
      if (signal?.aborted === true) return { kind: 'failed', result: this.cancelled(batch, signal) };
      if (outcome === ABORTED || waitSignal.aborted) return { kind: 'failed', result: this.closedBeforeSent(batch) };
      if (outcome instanceof GrpcConnection && outcome.usable) return { kind: 'ready', connection: outcome };
      if (outcome instanceof Error) lastError = outcome;
      if (outcome === TIMED_OUT || Date.now() + delayMs >= deadline) {
        return {
          kind: 'failed',
          result: retryable(
            this.error(
              ErrorCode.GRPC_DEADLINE_EXCEEDED,
              GrpcStatus.DEADLINE_EXCEEDED,
              `could not connect before the deadline${lastError === undefined ? '' : ` (${describeStreamError(lastError)})`}`,
              batch,
              { cause: lastError },
            ),
          ),
        };
      }
      await sleep(delayMs, waitSignal);
      delayMs = Math.min(RECONNECT_MAX_MS, delayMs * 2);
    }
  }

  /** The auth extension's headers for one call, or the failed result of the call. */
  private async credentials(
    auth: ClientAuth,
    batch: Batch,
  ): Promise<{ kind: 'ok'; headers: Readonly<Record<string, string>> } | { kind: 'failed'; result: ExportResult }> {
    if (this.authRefusal !== undefined) {
      return {
        kind: 'failed',
        result: retryable(this.error(ErrorCode.GRPC_UNAVAILABLE, GrpcStatus.UNAVAILABLE, this.authRefusal, batch)),
      };
    }
    let headers: Readonly<Record<string, string>>;
    try {
      const answer = auth.headers(batch.metadata);
      headers = isPromiseLike(answer) ? await answer : answer;
    } catch (error) {
      return {
        kind: 'failed',
        result: retryable(
          this.error(
            ErrorCode.GRPC_UNAVAILABLE,
            GrpcStatus.UNAVAILABLE,
            `the auth extension failed to provide credentials: ${error instanceof Error ? error.message : String(error)}`,
            batch,
            { cause: error },
          ),
        ),
      };
    }
    const normalized: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      const key = name.toLowerCase();
      if (RESERVED_HEADER.test(key)) {
        return {
          kind: 'failed',
          result: permanent(
            this.error(
              ErrorCode.GRPC_PROTOCOL,
              GrpcStatus.INTERNAL,
              `the auth extension set the header "${name}", which gRPC reserves; this is a bug in the auth extension`,
              batch,
            ),
          ),
        };
      }
      normalized[key] = value;
    }
    return { kind: 'ok', headers: normalized };
  }

  /** What a wait for a connection listens to: the caller's signal and the client's closing. */
  private waitSignal(signal: AbortSignal | undefined): AbortSignal {
    return signal === undefined ? this.closeController.signal : AbortSignal.any([signal, this.closeController.signal]);
  }

  private closedBeforeSent(batch: Batch): ExportResult {
    return retryable(
      this.error(
        ErrorCode.GRPC_CANCELLED,
        GrpcStatus.CANCELLED,
        'the client was closed while the call waited for a connection; nothing was sent',
        batch,
      ),
    );
  }

  /** A connection that could not be made: retryable UNAVAILABLE with the reason (and a TLS hint). */
  private unavailable(batch: Batch, error: Error): ExportResult {
    return retryable(
      this.error(ErrorCode.GRPC_UNAVAILABLE, GrpcStatus.UNAVAILABLE, describeStreamError(error), batch, {
        cause: error,
      }),
    );
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

/** What the channel needs, from the client's options (see the buffer-size options for the windows and memory). */
function channelOptions(options: GrpcClientOptions, target: ParsedEndpoint, authority: string): GrpcChannelOptions {
  const windowBytes = Math.min(MAX_WINDOW_BYTES, Math.max(STREAM_WINDOW_BYTES, options.readBufferSizeBytes ?? 0));
  const sessionMemoryMb = Math.max(SESSION_MEMORY_MB, Math.ceil((options.writeBufferSizeBytes ?? 0) / MiB));
  const proxy = ProxyConfig.fromEnvironment(options.proxyEnvironment ?? process.env)?.proxyFor(
    target.host,
    target.port,
  );
  const pingWaitMs = options.keepalive?.pingWaitMs ?? 0;
  const keepalive: KeepaliveSettings | undefined =
    pingWaitMs > 0
      ? {
          pingWaitMs: Math.min(pingWaitMs, MAX_TIMER_MS),
          pingResponseTimeoutMs: Math.min(
            options.keepalive?.pingResponseTimeoutMs ?? DEFAULT_PING_RESPONSE_TIMEOUT_MS,
            MAX_TIMER_MS,
          ),
          pingWithoutStream: options.keepalive?.pingWithoutStream ?? false,
        }
      : undefined;
  return {
    host: target.host,
    port: target.port,
    endpoint: options.endpoint,
    tlsHostname: authorityHost(authority),
    balancer: options.balancerName ?? 'round_robin',
    lookup: options.lookup ?? lookupAll,
    minResolveIntervalMs: options.minResolveIntervalMs ?? DEFAULT_MIN_RESOLVE_INTERVAL_MS,
    tls: options.tls,
    proxy,
    keepalive,
    sessionOptions: {
      settings: { enablePush: false, initialWindowSize: windowBytes },
      maxSessionMemory: sessionMemoryMb,
    },
    connectionWindowBytes: windowBytes,
    userAgent: USER_AGENT,
  };
}

/** The host of an `:authority` (`host:port`, `[v6]:port`, or a bare host). */
function authorityHost(authority: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(authority);
  if (bracketed !== null) return bracketed[1] ?? authority;
  const colon = authority.lastIndexOf(':');
  if (colon > 0 && net.isIPv6(authority)) return authority;
  return colon > 0 ? authority.slice(0, colon) : authority;
}

async function lookupAll(host: string): Promise<readonly string[]> {
  const addresses = await dns.promises.lookup(host, { all: true });
  return addresses.map((entry) => entry.address);
}

const TIMED_OUT: unique symbol = Symbol('timed out');
const ABORTED: unique symbol = Symbol('aborted');

/** Whether `signal` has aborted (a function, so that TypeScript does not narrow across awaits). */
function isAborted(signal: AbortSignal | undefined): signal is AbortSignal {
  return signal?.aborted === true;
}

/** Keeps the process alive while a connection has calls (or waits) on it, and only then. */
function acquire(connection: GrpcConnection): void {
  if (connection.active++ === 0) connection.session.ref();
}

function release(connection: GrpcConnection): void {
  if (--connection.active === 0) connection.session.unref();
}

/** `promise` settled (it never rejects), or TIMED_OUT at `deadline`, or ABORTED when `signal` aborts. */
function raceDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<T | typeof TIMED_OUT | typeof ABORTED> {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => {
        done(TIMED_OUT);
      },
      Math.max(0, deadline - Date.now()),
    );
    timer.unref();
    const onAbort = (): void => {
      done(ABORTED);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    function done(value: T | typeof TIMED_OUT | typeof ABORTED): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(value);
    }
    void promise.then(done);
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
  private readonly connection: GrpcConnection;
  private readonly batch: Batch;
  /** The message, in pieces written one after the other; `payloadBytes` long in all. */
  private readonly payload: readonly Uint8Array[];
  private readonly payloadBytes: number;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly credentials: Readonly<Record<string, string>> | undefined;
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
    connection: GrpcConnection,
    batch: Batch,
    payload: readonly Uint8Array[],
    payloadBytes: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    credentials: Readonly<Record<string, string>> | undefined,
    resolve: (result: ExportResult) => void,
  ) {
    this.client = client;
    this.connection = connection;
    this.batch = batch;
    this.payload = payload;
    this.payloadBytes = payloadBytes;
    this.timeoutMs = timeoutMs;
    this.signal = signal;
    this.credentials = credentials;
    this.resolve = resolve;
  }

  start(): void {
    const { session } = this.connection;
    acquire(this.connection);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(this.client.requestHeaders(this.batch.signal, this.timeoutMs, this.credentials));
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
  // Streams that were waiting for the connection get Node's "pending stream canceled" wrapper.
  const root = errorCode(error) === 'ERR_HTTP2_STREAM_CANCEL' && error.cause instanceof Error ? error.cause : error;
  const code = errorCode(root);
  const hint = describeTlsFailure(root);
  return `${root.message}${code !== undefined && !root.message.includes(code) ? ` (${code})` : ''}${hint === undefined ? '' : `; ${hint}`}`;
}
