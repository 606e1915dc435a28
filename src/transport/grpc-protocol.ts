/**
 * The parts of the gRPC-over-HTTP/2 protocol
 * (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md) that the unary client
 * (`grpc-client.ts`) and server (`grpc-server.ts`) share: the OTLP method paths, header
 * names, message framing, compression names, `grpc-timeout`, `grpc-message`
 * percent-encoding, `google.rpc.Status` details with `RetryInfo`, and the HTTP-to-gRPC
 * status mapping for responses that are not gRPC at all.
 *
 * Everything here is pure and safe to call concurrently.
 */

import { OtelLbError, type ErrorCode } from '../errors.ts';
import { Signal } from '../otlp/signal.ts';
import { WireReader, WireType } from '../otlp/wire.ts';
import type { Compression } from './compression.ts';
import { GrpcStatus, grpcStatusName } from './grpc-status.ts';

/**
 * A failed gRPC call, with the status it ended with: the one the server sent, or the one
 * gRPC assigns to what happened locally (UNAVAILABLE for a lost connection,
 * DEADLINE_EXCEEDED, CANCELLED). `code` says where the failure came from; a server that
 * relays a result carrying a `GrpcError` answers with its `grpcStatus`.
 */
export class GrpcError extends OtelLbError {
  readonly grpcStatus: number;
  /** The server's `grpc-message`, decoded; empty when the failure was local. */
  readonly grpcMessage: string;
  /** The delay the server asked for in a `RetryInfo`, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    grpcStatus: number,
    message: string,
    options?: ErrorOptions & { readonly grpcMessage?: string; readonly retryAfterMs?: number },
  ) {
    super(code, message, options);
    this.name = 'GrpcError';
    this.grpcStatus = grpcStatus;
    this.grpcMessage = options?.grpcMessage ?? '';
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** e.g. `UNAVAILABLE` */
  get grpcStatusName(): string {
    return grpcStatusName(this.grpcStatus);
  }
}

/** The OTLP export methods, as HTTP/2 `:path`s. */
export const OtlpGrpcPath = {
  TRACES: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  LOGS: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  METRICS: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
} as const;
export type OtlpGrpcPath = (typeof OtlpGrpcPath)[keyof typeof OtlpGrpcPath];

/** The `:path` of each signal's export method. */
export const GRPC_PATH_BY_SIGNAL: Readonly<Record<Signal, OtlpGrpcPath>> = Object.freeze({
  [Signal.TRACES]: OtlpGrpcPath.TRACES,
  [Signal.LOGS]: OtlpGrpcPath.LOGS,
  [Signal.METRICS]: OtlpGrpcPath.METRICS,
});

/** Header names, lower-case as HTTP/2 requires. */
export const GrpcHeader = {
  CONTENT_TYPE: 'content-type',
  TE: 'te',
  USER_AGENT: 'user-agent',
  ENCODING: 'grpc-encoding',
  ACCEPT_ENCODING: 'grpc-accept-encoding',
  TIMEOUT: 'grpc-timeout',
  STATUS: 'grpc-status',
  MESSAGE: 'grpc-message',
  STATUS_DETAILS: 'grpc-status-details-bin',
  RETRY_AFTER: 'retry-after',
} as const;

/** The content type a gRPC request and response carry (`+proto` is the same thing). */
export const GRPC_CONTENT_TYPE = 'application/grpc';

/**
 * The longest timer Node can set (2³¹ − 1 ms, about 24.8 days); a longer one fires at once.
 * Deadlines past it are treated as no deadline.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Length of the prefix of every message: a compressed flag byte and a 4-byte big-endian length. */
export const MESSAGE_PREFIX_BYTES = 5;

/** The default largest message a server accepts, after decompression: 4 MiB, as grpc-go and Alloy. */
export const DEFAULT_MAX_RECV_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * `grpc-encoding` names and what they mean here. `zlib` is not a gRPC name anyone sends, but
 * it is accepted as a synonym of `deflate` (both are the zlib format; see `compression.ts`).
 * gRPC's `snappy` is the framing format, as the Go Collector sends it.
 */
const COMPRESSION_BY_GRPC_ENCODING: ReadonlyMap<string, Compression> = new Map<string, Compression>([
  ['identity', 'none'],
  ['gzip', 'gzip'],
  ['deflate', 'deflate'],
  ['zlib', 'zlib'],
  ['zstd', 'zstd'],
  ['snappy', 'snappy-framed'],
]);

/** What a server advertises in `grpc-accept-encoding`, and names in its UNIMPLEMENTED message. */
export const GRPC_ACCEPT_ENCODING = 'identity,gzip,deflate,zstd,snappy';

/** The {@link Compression} for a `grpc-encoding` value (case-sensitive, as gRPC), or undefined. */
export function compressionForGrpcEncoding(name: string): Compression | undefined {
  return COMPRESSION_BY_GRPC_ENCODING.get(name);
}

/**
 * The `grpc-encoding` to send for `compression`: `identity` for none, `deflate` for both
 * zlib kinds, `snappy` for both snappy kinds (gRPC's snappy is always the framing format).
 */
export function grpcEncodingFor(compression: Compression): string {
  switch (compression) {
    case 'none':
      return 'identity';
    case 'zlib':
    case 'deflate':
      return 'deflate';
    case 'snappy':
    case 'snappy-framed':
      return 'snappy';
    case 'gzip':
    case 'zstd':
      return compression;
  }
}

/** The bytes that go on the wire for `compression` over gRPC (`snappy` means framed). */
export function grpcWireCompression(compression: Compression): Compression {
  return compression === 'snappy' ? 'snappy-framed' : compression;
}

/** Writes the 5-byte message prefix: compressed flag and big-endian length. */
export function messagePrefix(compressed: boolean, length: number): Buffer {
  const prefix = Buffer.allocUnsafe(MESSAGE_PREFIX_BYTES);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

const TIMEOUT_PATTERN = /^(\d{1,8})([HMSmun])$/;
const MS_PER_UNIT: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * Parses a `grpc-timeout` value (1–8 digits and a unit: `H`ours, `M`inutes, `S`econds,
 * `m`illiseconds, `u` microseconds, `n`anoseconds) into milliseconds, possibly fractional;
 * undefined when it is malformed.
 */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = TIMEOUT_PATTERN.exec(value);
  if (match === null) return undefined;
  return Number(match[1]) * (MS_PER_UNIT[match[2] as string] as number);
}

/**
 * Formats a timeout of `ms` milliseconds (> 0) as a `grpc-timeout` value, in the finest unit
 * that fits in 8 digits, rounded up so that the server's deadline is never earlier than ours.
 */
export function formatGrpcTimeout(ms: number): string {
  const units: readonly (readonly [string, number])[] = [
    ['m', 1],
    ['S', 1_000],
    ['M', 60_000],
    ['H', 3_600_000],
  ];
  for (const [unit, size] of units) {
    const value = Math.ceil(ms / size);
    if (value < 100_000_000) return `${Math.max(1, value)}${unit}`;
  }
  return '99999999H';
}

/** Whether `text` needs no percent-encoding: printable ASCII without `%`. */
const PLAIN_MESSAGE = /^[\x20-\x24\x26-\x7e]*$/;

/**
 * Percent-encodes a status message for `grpc-message`: UTF-8 bytes outside printable ASCII
 * (0x20–0x7E), and `%` itself, become `%XX`.
 */
export function encodeGrpcMessage(text: string): string {
  if (PLAIN_MESSAGE.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${hexByte(byte)}`;
  }
  return out;
}

function hexByte(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

/** A `%`, or a byte over 0x7f (header values arrive one character per byte). */
const NEEDS_DECODING = /[%\u0080-\u00ff]/;

/**
 * Decodes a `grpc-message` value. As the spec asks, it never fails: a `%` not followed by two
 * hex digits is kept as it is, and invalid UTF-8 becomes U+FFFD.
 */
export function decodeGrpcMessage(value: string): string {
  if (!NEEDS_DECODING.test(value)) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x25 && i + 2 < value.length && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code < 0x100) {
      // Header values arrive one character per byte: raw UTF-8 from a sloppy peer survives.
      bytes.push(code);
    } else {
      for (const b of Buffer.from(value[i] as string, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * Encodes a `google.rpc.Status` for `grpc-status-details-bin` (base64, as `-bin` headers
 * are), carrying a `google.rpc.RetryInfo` with `retryDelayMs` when given: this is how a
 * server tells OTLP clients when to come back after UNAVAILABLE or RESOURCE_EXHAUSTED.
 *
 * ```
 * Status    { int32 code = 1; string message = 2; repeated Any details = 3; }
 * Any       { string type_url = 1; bytes value = 2; }
 * RetryInfo { Duration retry_delay = 1; }
 * Duration  { int64 seconds = 1; int32 nanos = 2; }
 * ```
 */
export function encodeStatusDetails(code: number, message: string, retryDelayMs?: number): string {
  const parts: Uint8Array[] = [];
  if (code !== 0) parts.push(varintField(1, code));
  if (message !== '') parts.push(lenField(2, Buffer.from(message, 'utf8')));
  if (retryDelayMs !== undefined) {
    const ms = Math.max(0, Math.ceil(retryDelayMs));
    const seconds = Math.floor(ms / 1000);
    const nanos = (ms % 1000) * 1_000_000;
    const durationFields: Uint8Array[] = [];
    if (seconds !== 0) durationFields.push(varintField(1, seconds));
    if (nanos !== 0) durationFields.push(varintField(2, nanos));
    const retryInfo = lenField(1, Buffer.concat(durationFields));
    const any = Buffer.concat([lenField(1, Buffer.from(RETRY_INFO_TYPE_URL, 'latin1')), lenField(2, retryInfo)]);
    parts.push(lenField(3, any));
  }
  return Buffer.concat(parts).toString('base64');
}

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function varintField(field: number, value: number): Uint8Array {
  return Buffer.concat([varint((field << 3) | WireType.VARINT), varint(value)]);
}

function lenField(field: number, body: Uint8Array): Uint8Array {
  return Buffer.concat([varint((field << 3) | WireType.LEN), varint(body.length), body]);
}

/**
 * The retry delay in milliseconds of the `google.rpc.RetryInfo` inside a
 * `grpc-status-details-bin` value (base64 `google.rpc.Status`), or undefined when there is
 * none or the value is malformed (a bad header is ignored, never fatal).
 */
export function retryDelayFromStatusDetails(value: string): number | undefined {
  try {
    const bytes = Buffer.from(value, 'base64');
    const status = new WireReader(bytes);
    while (status.pos < bytes.length) {
      const tagStart = status.pos;
      const tag = status.uint32(bytes.length);
      if (tag >>> 3 !== 3 || (tag & 7) !== WireType.LEN) {
        status.skip(tag >>> 3, tag & 7, bytes.length, tagStart);
        continue;
      }
      const anyEnd = status.lengthEnd(bytes.length);
      const delay = retryDelayFromAny(status, anyEnd);
      if (delay !== undefined) return delay;
      status.pos = anyEnd;
    }
  } catch {
    // A malformed Status is treated as one without RetryInfo (see the TSDoc).
  }
  return undefined;
}

function retryDelayFromAny(reader: WireReader, end: number): number | undefined {
  let typeUrl = '';
  let valueStart = -1;
  let valueEnd = -1;
  while (reader.pos < end) {
    const tagStart = reader.pos;
    const tag = reader.uint32(end);
    if ((tag & 7) === WireType.LEN && (tag >>> 3 === 1 || tag >>> 3 === 2)) {
      const bodyEnd = reader.lengthEnd(end);
      if (tag >>> 3 === 1) typeUrl = Buffer.from(reader.buf.subarray(reader.pos, bodyEnd)).toString('latin1');
      else [valueStart, valueEnd] = [reader.pos, bodyEnd];
      reader.pos = bodyEnd;
    } else {
      reader.skip(tag >>> 3, tag & 7, end, tagStart);
    }
  }
  if (!typeUrl.endsWith('/google.rpc.RetryInfo') || valueStart < 0) return undefined;
  // RetryInfo.retry_delay (field 1) → Duration { seconds = 1, nanos = 2 }
  const retryInfo = new WireReader(reader.buf, valueStart);
  let seconds = 0;
  let nanos = 0;
  let found = false;
  while (retryInfo.pos < valueEnd) {
    const tagStart = retryInfo.pos;
    const tag = retryInfo.uint32(valueEnd);
    if (tag >>> 3 !== 1 || (tag & 7) !== WireType.LEN) {
      retryInfo.skip(tag >>> 3, tag & 7, valueEnd, tagStart);
      continue;
    }
    found = true;
    const durationEnd = retryInfo.lengthEnd(valueEnd);
    while (retryInfo.pos < durationEnd) {
      const fieldStart = retryInfo.pos;
      const fieldTag = retryInfo.uint32(durationEnd);
      if (fieldTag === ((1 << 3) | WireType.VARINT)) seconds = retryInfo.uint32(durationEnd);
      else if (fieldTag === ((2 << 3) | WireType.VARINT)) nanos = retryInfo.uint32(durationEnd);
      else retryInfo.skip(fieldTag >>> 3, fieldTag & 7, durationEnd, fieldStart);
    }
  }
  if (!found || nanos > 999_999_999) return undefined;
  return seconds * 1000 + nanos / 1_000_000;
}

/**
 * The gRPC status for an HTTP response that is not a gRPC response (a proxy or load balancer
 * answered), per https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md.
 */
export function grpcStatusFromHttpStatus(httpStatus: number): GrpcStatus {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/**
 * The delay of an HTTP `Retry-After` value in milliseconds: delta-seconds or an HTTP date
 * relative to `nowMs`; undefined when absent or malformed.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
