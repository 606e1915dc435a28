/**
 * The OTLP/HTTP client (https://opentelemetry.io/docs/specs/otlp/#otlphttp): the
 * {@link OtlpClient} of `otelcol.exporter.otlphttp`, on `node:http`/`node:https` (HTTP/1.1,
 * keep-alive connections).
 *
 * ```
 * POST <endpoint>/v1/traces | /v1/logs | /v1/metrics     (or the per-signal URL as given)
 * Content-Type:     application/x-protobuf | application/json
 * Content-Encoding: gzip (default) | zlib | deflate | zstd | snappy | x-snappy-framed | (none)
 * ```
 *
 * How outcomes are classified, as the Collector's otlphttp exporter does:
 *
 * | what happened                                       | result                                    |
 * |-----------------------------------------------------|-------------------------------------------|
 * | 2xx                                                 | ok                                        |
 * | 429, 503 (with `Retry-After`: seconds or an HTTP date) | retryable, after that delay            |
 * | 502, 504; 429 and 503 without `Retry-After`         | retryable                                 |
 * | any other status (400, 401, 403, 404, 413, 500, …)  | permanent                                 |
 * | refused, reset, TLS failure, proxy failure          | retryable (`ERR_HTTP_UNAVAILABLE`)        |
 * | the timeout passed; the caller's signal aborted     | retryable (`ERR_HTTP_TIMEOUT`, `ERR_HTTP_CANCELLED`) |
 * | the body could not be compressed or encoded         | permanent (`ERR_HTTP_REQUEST_INVALID`)    |
 *
 * Failures are {@link OtlpHttpError}s: the status, the server's `google.rpc.Status` message
 * when the body holds one (protobuf or JSON, read up to 64 KiB), and the gRPC status the
 * Collector maps the HTTP status to (`statusutil.NewStatusFromMsgAndHTTPCode`).
 *
 * Connections: `https://` URLs use {@link OtlpHttpClientOptions.tls} (default: TLS verified
 * against the system's roots, as Go with no `tls` block); `http://` URLs are plaintext
 * whatever `tls` says. Proxies: `proxyUrl` for every request, else `HTTPS_PROXY` /
 * `HTTP_PROXY` and `NO_PROXY` (`proxy.ts`); HTTPS goes through a CONNECT tunnel, plain
 * HTTP as an absolute-URI request to the proxy, as Go's `net/http` does. HTTP/2 is not
 * attempted (the Collector's `force_attempt_http2`): Node's HTTP client speaks HTTP/1.1.
 */

import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

import type { Batch } from '../otlp/batch.ts';
import { Signal } from '../otlp/signal.ts';
import { WireReader } from '../otlp/wire.ts';
import { isPromiseLike, type ClientAuth } from './client-auth.ts';
import { compress, type Compression } from './compression.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from './export-result.ts';
import { MAX_TIMER_MS, parseRetryAfter } from './grpc-protocol.ts';
import { GrpcStatus } from './grpc-status.ts';
import type { ExportOptions, OtlpClient } from './otlp-client.ts';
import { otlpProtobufToJson } from './otlp-json-writer.ts';
import { openTunnel, ProxyConfig, type ProxyEnvironment } from './proxy.ts';
import { describeTlsFailure, loadClientTls, type ClientTls } from './tls.ts';
import { errorCode, TransportError, TransportErrorCode } from './transport-error.ts';

/** `encoding` of `otelcol.exporter.otlphttp`. */
export type OtlpHttpEncoding = 'proto' | 'json';

/** Options of {@link OtlpHttpClient}; the names are the exporter's, in camelCase. */
export interface OtlpHttpClientOptions {
  /**
   * `client.endpoint`: the base URL (`https://collector:4318`, a path prefix allowed); each
   * signal's path `v1/<signal>` is appended after one `/`, as the Collector does.
   */
  readonly endpoint: string;
  /** `traces_endpoint`, `logs_endpoint`, `metrics_endpoint`: full URLs, used as they are. */
  readonly signalEndpoints?: Partial<Readonly<Record<Signal, string>>> | undefined;
  /** Body encoding. Default `proto`; `json` costs a full decode per request (`otlp-json-writer.ts`). */
  readonly encoding?: OtlpHttpEncoding | undefined;
  /** Default `gzip`, as the exporter. `snappy` is the block format, `snappy-framed` is sent as `x-snappy-framed`. */
  readonly compression?: Compression | undefined;
  /** Extra request headers; an auth extension's headers win over them. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Per-request credentials from an auth extension ({@link ClientAuth}); sent over plain HTTP too, as the Collector does. */
  readonly auth?: ClientAuth | undefined;
  /** TLS of `https://` URLs (a shared {@link ClientTls}; the client does not close it). Default: the system's roots. */
  readonly tls?: ClientTls | undefined;
  /** Per-request timeout in milliseconds (`timeout`). Default 30,000. */
  readonly timeoutMs?: number | undefined;
  /** `proxy_url`: the proxy of every request, instead of the environment's. */
  readonly proxyUrl?: string | undefined;
  /** Where `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are read, once, at construction. Default `process.env`. */
  readonly proxyEnvironment?: ProxyEnvironment | undefined;
  /** `max_conns_per_host`: at most this many connections per host; 0 (default) is no limit. */
  readonly maxConnsPerHost?: number | undefined;
  /** `max_idle_conns_per_host`: idle connections kept per host; 0 (default) is Go's default, 2. */
  readonly maxIdleConnsPerHost?: number | undefined;
  /** `idle_conn_timeout`: idle connections are closed after this long, in milliseconds. Default 90,000; 0 never. */
  readonly idleConnTimeoutMs?: number | undefined;
  /** `disable_keep_alives`: one connection per request. Default false. */
  readonly disableKeepAlives?: boolean | undefined;
  /** `User-Agent`; default `otel-lb`. */
  readonly userAgent?: string | undefined;
}

/** A failed OTLP/HTTP export: `code` says how it failed, `httpStatus` what the server answered, if it did. */
export class OtlpHttpError extends TransportError {
  /** The HTTP status, when the server answered. */
  readonly httpStatus: number | undefined;
  /** The gRPC status the Collector reports for this failure (UNAVAILABLE when there was no answer). */
  readonly grpcStatus: number;
  /** The delay the server asked for (`Retry-After`), in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: TransportErrorCode,
    message: string,
    options: ErrorOptions & { httpStatus?: number; grpcStatus: number; retryAfterMs?: number | undefined },
  ) {
    super(code, message, options);
    this.name = 'OtlpHttpError';
    this.httpStatus = options.httpStatus;
    this.grpcStatus = options.grpcStatus;
    this.retryAfterMs = options.retryAfterMs;
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_IDLE_CONN_TIMEOUT_MS = 90_000;
/** Go's `http.DefaultMaxIdleConnsPerHost`. */
const GO_DEFAULT_MAX_IDLE_CONNS_PER_HOST = 2;
/** The most of a response body read, as the Collector's exporter (`maxHTTPResponseReadBytes`). */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MEDIA_TYPE: Readonly<Record<OtlpHttpEncoding, string>> = {
  proto: 'application/x-protobuf',
  json: 'application/json',
};
const CONTENT_ENCODING: Readonly<Record<Compression, string | undefined>> = {
  gzip: 'gzip',
  zlib: 'zlib',
  deflate: 'deflate',
  zstd: 'zstd',
  snappy: 'snappy',
  'snappy-framed': 'x-snappy-framed',
  none: undefined,
};
/** Headers the client sets itself. */
const RESERVED_HEADER = /^(?:content-type|content-encoding|content-length|host|transfer-encoding|connection)$/;

/** One signal's target. */
interface Target {
  readonly url: URL;
  readonly secure: boolean;
  readonly proxy: URL | undefined;
}

/**
 * The OTLP/HTTP {@link OtlpClient}. `export` never rejects; calls run concurrently over a
 * pool of keep-alive connections. See the module comment for how outcomes are classified.
 */
export class OtlpHttpClient implements OtlpClient {
  readonly endpoint: string;
  private readonly targets: ReadonlyMap<Signal, Target>;
  private readonly encoding: OtlpHttpEncoding;
  private readonly compression: Compression;
  private readonly timeoutMs: number;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly auth: ClientAuth | undefined;
  private readonly tls: ClientTls | undefined;
  private readonly ownsTls: boolean;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: TunnelingAgent | undefined;
  private readonly inFlight = new Set<http.ClientRequest>();
  private active = 0;
  private onIdle: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  /**
   * @throws TypeError when a URL does not parse or is not http(s), or a header is one the
   *   client sets itself (validated configuration never does this); TransportError
   *   `ERR_PROXY_URL_INVALID` for a bad proxy URL.
   */
  constructor(options: OtlpHttpClientOptions) {
    this.endpoint = options.endpoint;
    this.encoding = options.encoding ?? 'proto';
    this.compression = options.compression ?? 'gzip';
    this.timeoutMs = Math.min(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, MAX_TIMER_MS);
    if (!(this.timeoutMs > 0)) throw new TypeError(`timeoutMs must be positive, got ${this.timeoutMs}`);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      const key = name.toLowerCase();
      if (RESERVED_HEADER.test(key))
        throw new TypeError(`header "${name}" is set by the OTLP/HTTP client and cannot be configured`);
      headers[key] = value;
    }
    headers['user-agent'] ??= options.userAgent ?? 'otel-lb';
    headers['content-type'] = MEDIA_TYPE[this.encoding];
    const encoding = CONTENT_ENCODING[this.compression];
    if (encoding !== undefined) headers['content-encoding'] = encoding;
    this.headers = Object.freeze(headers);
    this.auth = options.auth;

    const explicitProxy =
      options.proxyUrl === undefined || options.proxyUrl === '' ? undefined : ProxyConfig.fromUrl(options.proxyUrl);
    const env = options.proxyEnvironment ?? process.env;
    const envProxies = {
      https: explicitProxy ?? ProxyConfig.fromEnvironment(env, 'https'),
      http: explicitProxy ?? ProxyConfig.fromEnvironment(env, 'http'),
    };
    const targets = new Map<Signal, Target>();
    for (const signal of Object.values(Signal)) {
      const url = signalUrl(options, signal);
      const secure = url.protocol === 'https:';
      const port = Number(url.port) || (secure ? 443 : 80);
      const proxy = (secure ? envProxies.https : envProxies.http)?.proxyFor(
        url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port,
      );
      targets.set(signal, { url, secure, proxy });
    }
    this.targets = targets;

    const anySecure = [...targets.values()].some((target) => target.secure);
    this.ownsTls = options.tls === undefined && anySecure;
    this.tls = options.tls ?? (anySecure ? loadClientTls({}) : undefined);
    const keepAlive = options.disableKeepAlives !== true;
    const idleMs = options.idleConnTimeoutMs ?? DEFAULT_IDLE_CONN_TIMEOUT_MS;
    const agentOptions: http.AgentOptions = {
      keepAlive,
      maxSockets:
        options.maxConnsPerHost !== undefined && options.maxConnsPerHost > 0 ? options.maxConnsPerHost : Infinity,
      maxFreeSockets:
        options.maxIdleConnsPerHost !== undefined && options.maxIdleConnsPerHost > 0
          ? options.maxIdleConnsPerHost
          : GO_DEFAULT_MAX_IDLE_CONNS_PER_HOST,
      scheduling: 'lifo',
    };
    if (idleMs > 0) agentOptions.timeout = idleMs;
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent =
      this.tls === undefined
        ? undefined
        : new TunnelingAgent(agentOptions, this.headers['user-agent'] ?? 'otel-lb', this.tls);
  }

  /**
   * Sends `batch` as one POST and classifies the outcome (module comment). Never rejects.
   * Ends at `options.timeoutMs` (default the client's) or when `options.signal` aborts.
   */
  async export(batch: Batch, options: ExportOptions = {}): Promise<ExportResult> {
    const target = this.targets.get(batch.signal) as Target;
    const where = `OTLP/HTTP export of ${batch.signal} to ${target.url.href}`;
    if (this.closing !== undefined) {
      return retryable(
        failure(TransportErrorCode.HTTP_CANCELLED, `${where} failed: the client is closed`, GrpcStatus.CANCELLED),
      );
    }
    const { signal } = options;
    if (signal?.aborted === true) return this.cancelled(where, signal);
    this.active++;
    try {
      let body: Uint8Array;
      try {
        const encoded =
          this.encoding === 'json' ? Buffer.from(otlpProtobufToJson(batch.signal, batch.bytes), 'utf8') : batch.bytes;
        body = this.compression === 'none' ? encoded : await compress(this.compression, encoded);
      } catch (error) {
        return permanent(
          failure(
            TransportErrorCode.HTTP_REQUEST_INVALID,
            `${where} failed: the request could not be ${this.encoding === 'json' ? 'encoded as JSON or ' : ''}compressed with ${this.compression}: ${describe(error)}`,
            GrpcStatus.INTERNAL,
            { cause: error },
          ),
        );
      }
      let headers: Record<string, string> = this.headers;
      if (this.auth !== undefined) {
        try {
          const answer = this.auth.headers(batch.metadata);
          const credentials = isPromiseLike(answer) ? await answer : answer;
          headers = { ...this.headers };
          for (const [name, value] of Object.entries(credentials)) headers[name.toLowerCase()] = value;
        } catch (error) {
          return retryable(
            failure(
              TransportErrorCode.HTTP_UNAVAILABLE,
              `${where} failed: the auth extension failed to provide credentials: ${describe(error)}`,
              GrpcStatus.UNAVAILABLE,
              {
                cause: error,
              },
            ),
          );
        }
      }
      if (isAborted(signal)) return this.cancelled(where, signal);
      return await this.send(
        target,
        where,
        body,
        headers,
        Math.min(options.timeoutMs ?? this.timeoutMs, MAX_TIMER_MS),
        signal,
      );
    } finally {
      if (--this.active === 0) this.onIdle?.();
    }
  }

  /**
   * Stops taking requests (later ones are retryable `ERR_HTTP_CANCELLED`), waits for those
   * in flight (each bounded by its timeout), then closes the connections. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.active > 0) {
        await new Promise<void>((resolve) => {
          this.onIdle = resolve;
        });
      }
      this.httpAgent.destroy();
      this.httpsAgent?.destroy();
      if (this.ownsTls) this.tls?.close();
    })();
    return this.closing;
  }

  private send(
    target: Target,
    where: string,
    body: Uint8Array,
    headers: Readonly<Record<string, string>>,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<ExportResult> {
    return new Promise<ExportResult>((resolve) => {
      const { url, proxy } = target;
      const requestHeaders: http.OutgoingHttpHeaders = { ...headers, 'content-length': body.length };
      let request: http.ClientRequest;
      if (target.secure && this.httpsAgent !== undefined) {
        const requestOptions: TunnelRequestOptions = {
          method: 'POST',
          headers: requestHeaders,
          agent: this.httpsAgent,
        };
        if (proxy !== undefined) requestOptions.tunnelProxy = proxy;
        request = https.request(url, requestOptions);
      } else if (proxy !== undefined) {
        // Plain HTTP through a proxy: an absolute-URI request to the proxy, as Go does.
        const proxyHeaders: http.OutgoingHttpHeaders = { ...requestHeaders, host: url.host };
        const authorization = proxyAuthorization(proxy);
        if (authorization !== undefined) proxyHeaders['proxy-authorization'] = authorization;
        request = http.request({
          host: proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: Number(proxy.port) || 80,
          method: 'POST',
          path: url.href,
          headers: proxyHeaders,
          agent: this.httpAgent,
        });
      } else {
        request = http.request(url, { method: 'POST', headers: requestHeaders, agent: this.httpAgent });
      }
      this.inFlight.add(request);
      let settled = false;
      let localEnd: 'timeout' | 'cancelled' | undefined;
      const timer = setTimeout(() => {
        localEnd ??= 'timeout';
        request.destroy();
      }, timeoutMs);
      timer.unref();
      const onAbort = (): void => {
        localEnd ??= 'cancelled';
        request.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (result: ExportResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.inFlight.delete(request);
        resolve(result);
      };
      request.once('response', (response: http.IncomingMessage) => {
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          if (received >= MAX_RESPONSE_BYTES) return;
          chunks.push(chunk);
          received += chunk.length;
          if (received >= MAX_RESPONSE_BYTES) {
            // Enough to explain the answer; the rest is dropped with the connection.
            settle(this.classify(where, response, Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES)));
            response.destroy();
          }
        });
        response.once('end', () => {
          settle(this.classify(where, response, Buffer.concat(chunks)));
        });
        response.on('error', (error: Error) => {
          settle(this.lost(where, error, localEnd, timeoutMs, signal));
        });
        response.once('close', () => {
          if (!response.complete)
            settle(
              this.lost(
                where,
                new Error('the connection closed before the response ended'),
                localEnd,
                timeoutMs,
                signal,
              ),
            );
        });
      });
      request.on('error', (error: Error) => {
        settle(this.lost(where, error, localEnd, timeoutMs, signal));
      });
      request.end(body);
    });
  }

  /** The result of a complete answer. */
  private classify(where: string, response: http.IncomingMessage, body: Buffer): ExportResult {
    const status = response.statusCode ?? 0;
    if (status >= 200 && status <= 299) return EXPORT_OK;
    const detail = statusMessage(body, response.headers['content-type']);
    const retryAfterHeader = first(response.headers['retry-after']);
    const throttled = status === 429 || status === 503;
    const retryAfterMs = throttled ? parseRetryAfter(retryAfterHeader, Date.now()) : undefined;
    const message = `${where} failed: the server answered HTTP ${status}${response.statusMessage === undefined || response.statusMessage === '' ? '' : ` ${response.statusMessage}`}${detail === undefined ? '' : `: ${detail}`}${hintFor(status)}`;
    const error = new OtlpHttpError(TransportErrorCode.HTTP_STATUS, message, {
      httpStatus: status,
      grpcStatus: grpcStatusForHttp(status),
      retryAfterMs,
    });
    return isRetryableHttpStatus(status) ? retryable(error, retryAfterMs) : permanent(error);
  }

  /** The result of a request that got no (complete) answer. */
  private lost(
    where: string,
    error: Error,
    localEnd: 'timeout' | 'cancelled' | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): ExportResult {
    if (localEnd === 'timeout') {
      return retryable(
        failure(
          TransportErrorCode.HTTP_TIMEOUT,
          `${where} failed: no answer within the timeout of ${Math.round(timeoutMs)} ms; the backend is slow or unreachable`,
          GrpcStatus.DEADLINE_EXCEEDED,
        ),
      );
    }
    if (localEnd === 'cancelled') return this.cancelled(where, signal ?? new AbortController().signal);
    const code = errorCode(error);
    const hint = describeTlsFailure(error);
    return retryable(
      failure(
        TransportErrorCode.HTTP_UNAVAILABLE,
        `${where} failed: ${error.message}${code !== undefined && !error.message.includes(code) ? ` (${code})` : ''}${hint === undefined ? '' : `; ${hint}`}`,
        GrpcStatus.UNAVAILABLE,
        { cause: error },
      ),
    );
  }

  private cancelled(where: string, signal: AbortSignal): ExportResult {
    return retryable(
      failure(
        TransportErrorCode.HTTP_CANCELLED,
        `${where} failed: the request was cancelled by its caller`,
        GrpcStatus.CANCELLED,
        {
          cause: signal.reason,
        },
      ),
    );
  }
}

/** HTTPS request options, plus the proxy to tunnel through (the agent reads it). */
type TunnelRequestOptions = https.RequestOptions & { tunnelProxy?: URL };

/**
 * An HTTPS agent whose connections use a {@link ClientTls} (its current certificates, its
 * server name check) and go through a CONNECT tunnel when the request names a proxy
 * (`tunnelProxy` in its options), straight to the host otherwise.
 */
class TunnelingAgent extends https.Agent {
  private readonly userAgent: string;
  private readonly tls: ClientTls;

  constructor(options: https.AgentOptions, userAgent: string, clientTls: ClientTls) {
    super(options);
    this.userAgent = userAgent;
    this.tls = clientTls;
  }

  override getName(options?: TunnelRequestOptions): string {
    const name = super.getName(options);
    return options?.tunnelProxy === undefined ? name : `${name}:via:${options.tunnelProxy.host}`;
  }

  override createConnection(
    options: TunnelRequestOptions,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = (options.hostname ?? options.host ?? 'localhost').replace(/^\[(.*)\]$/, '$1');
    const port = Number(options.port) || 443;
    const connectOptions = this.tls.connectOptions(host);
    connectOptions.ALPNProtocols = ['http/1.1'];
    const proxy = options.tunnelProxy;
    if (proxy === undefined) return tls.connect({ ...connectOptions, host, port });
    openTunnel(proxy, host, port, { userAgent: this.userAgent }).then(
      (socket) => {
        callback?.(null, tls.connect({ ...connectOptions, socket }));
      },
      (error: unknown) => {
        // The agent's callback takes the error alone (its type insists on a stream).
        (callback as ((error: Error) => void) | undefined)?.(error instanceof Error ? error : new Error(String(error)));
      },
    );
    return undefined;
  }
}

/** The URL of a signal: its own endpoint as given, else the base endpoint + `v1/<signal>`. */
function signalUrl(options: OtlpHttpClientOptions, signal: Signal): URL {
  const own = options.signalEndpoints?.[signal];
  const text =
    own !== undefined && own !== ''
      ? own
      : `${options.endpoint}${options.endpoint.endsWith('/') ? '' : '/'}v1/${signal}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new TypeError(`the ${signal} endpoint ${JSON.stringify(text)} is not a URL; use http(s)://host:port`, {
      cause: error,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`the ${signal} endpoint ${JSON.stringify(text)} is not http:// or https://`);
  }
  return url;
}

/** Whether the OTLP specification (and the Collector) retries after this status. */
export function isRetryableHttpStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

/** The gRPC status the Collector reports for an HTTP status (`statusutil.NewStatusFromMsgAndHTTPCode`). */
export function grpcStatusForHttp(status: number): GrpcStatus {
  switch (status) {
    case 400:
      return GrpcStatus.INVALID_ARGUMENT;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

function hintFor(status: number): string {
  switch (status) {
    case 401:
    case 403:
      return '; check the credentials (auth, headers)';
    case 404:
      return '; check the endpoint URL and the signal paths';
    case 413:
      return '; send smaller batches';
    case 415:
      return '; the server does not accept this encoding or compression';
    default:
      return '';
  }
}

/** The message of a `google.rpc.Status` body (protobuf or JSON), or the start of a text body. */
function statusMessage(body: Buffer, contentType: string | undefined): string | undefined {
  if (body.length === 0) return undefined;
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return decodeStatusMessage(body);
  if (type === 'application/json') {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown };
      return typeof parsed.message === 'string' ? parsed.message : undefined;
    } catch {
      return undefined;
    }
  }
  if (type.startsWith('text/')) return body.toString('utf8', 0, Math.min(body.length, 512)).trim();
  return undefined;
}

/** `google.rpc.Status.message` (field 2) of protobuf bytes, or undefined when they are not one. */
function decodeStatusMessage(bytes: Uint8Array): string | undefined {
  try {
    const reader = new WireReader(bytes);
    const end = bytes.length;
    let message: string | undefined;
    while (reader.pos < end) {
      const tagStart = reader.pos;
      const tag = reader.uint32(end);
      const field = tag >>> 3;
      const wireType = tag & 7;
      if (field === 2 && wireType === 2) {
        const stop = reader.lengthEnd(end);
        message = Buffer.from(bytes.buffer, bytes.byteOffset + reader.pos, stop - reader.pos).toString('utf8');
        reader.pos = stop;
      } else {
        reader.skip(field, wireType, end, tagStart);
      }
    }
    return message;
  } catch {
    return undefined;
  }
}

function proxyAuthorization(proxy: URL): string | undefined {
  if (proxy.username === '' && proxy.password === '') return undefined;
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}

function failure(
  code: TransportErrorCode,
  message: string,
  grpcStatus: number,
  options: ErrorOptions = {},
): OtlpHttpError {
  return new OtlpHttpError(code, message, { ...options, grpcStatus });
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Read through a call, so that the compiler does not narrow it across an await. */
function isAborted(signal: AbortSignal | undefined): signal is AbortSignal {
  return signal?.aborted === true;
}
