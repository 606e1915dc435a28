/**
 * The "item view" of an OTLP request for property tests of the splitter: one entry per span
 * or log record, carrying everything that item means to a backend (its resource, the
 * resource's schema URL, its scope, the scope's schema URL, and the item itself), decoded
 * by protobufjs and serialised as canonical JSON.
 *
 * Splitting must neither lose, duplicate nor alter an item, so for any split
 *
 * ```ts
 * const before = traceItemKeys(request).sort();
 * const after = parts.flatMap((part) => traceItemKeys(part)).sort();
 * assert.deepStrictEqual(after, before);
 * ```
 *
 * The view is decoded, so it follows protobuf semantics: a `resource` written twice is seen
 * merged, field order and padded varints are invisible, and unknown fields are invisible
 * unless {@link ItemViewOptions.unknownFields} is set.
 */

import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';

import { decodeLogsRequest, decodeTracesRequest, OtlpMessageName, otlpRoot } from '../../src/otlp/proto/decoder.ts';
import type { OtlpMessageTypes } from '../../src/otlp/proto/decoder.ts';
import type {
  ExportLogsServiceRequest,
  ExportTraceServiceRequest,
  InstrumentationScope,
  LogRecord,
  Resource,
  Span,
} from '../../src/otlp/proto/messages.ts';

/** One span or log record with the context it was sent in. */
export interface OtlpItem<T> {
  readonly resource?: Resource;
  readonly resourceSchemaUrl?: string;
  readonly scope?: InstrumentationScope;
  readonly scopeSchemaUrl?: string;
  readonly item: T;
}

/** Options of the item views. */
export interface ItemViewOptions {
  /**
   * Also show unknown fields: every decoded message that had some gets `$unknowns`, the hex
   * of each unknown field (tag included) in wire order. Use it to check that the splitter
   * passes unknown fields in resources, scopes and items through. Default false.
   */
  readonly unknownFields?: boolean;
}

/** The spans of a decoded traces request, in request order, each with its context. */
export function spanItems(request: ExportTraceServiceRequest): OtlpItem<Span>[] {
  return (request.resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((span) => item(rs.resource, rs.schemaUrl, ss.scope, ss.schemaUrl, span)),
    ),
  );
}

/** The log records of a decoded logs request, in request order, each with its context. */
export function logRecordItems(request: ExportLogsServiceRequest): OtlpItem<LogRecord>[] {
  return (request.resourceLogs ?? []).flatMap((rl) =>
    (rl.scopeLogs ?? []).flatMap((sl) =>
      (sl.logRecords ?? []).map((record) => item(rl.resource, rl.schemaUrl, sl.scope, sl.schemaUrl, record)),
    ),
  );
}

function item<T>(
  resource: Resource | undefined,
  resourceSchemaUrl: string | undefined,
  scope: InstrumentationScope | undefined,
  scopeSchemaUrl: string | undefined,
  value: T,
): OtlpItem<T> {
  return {
    ...(resource === undefined ? {} : { resource }),
    ...(resourceSchemaUrl === undefined ? {} : { resourceSchemaUrl }),
    ...(scope === undefined ? {} : { scope }),
    ...(scopeSchemaUrl === undefined ? {} : { scopeSchemaUrl }),
    item: value,
  };
}

/**
 * The canonical JSON of each span in `bytes`, in request order; sort before comparing.
 *
 * @throws OtelLbError `ERR_OTLP_MALFORMED` if `bytes` is not a traces request.
 */
export function traceItemKeys(bytes: Uint8Array, options: ItemViewOptions = {}): string[] {
  const request: ExportTraceServiceRequest =
    options.unknownFields === true
      ? decodeKeepingUnknowns(OtlpMessageName.TRACES_REQUEST, bytes)
      : decodeTracesRequest(bytes);
  return spanItems(request).map(canonicalJson);
}

/**
 * The canonical JSON of each log record in `bytes`, in request order; sort before comparing.
 *
 * @throws OtelLbError `ERR_OTLP_MALFORMED` if `bytes` is not a logs request.
 */
export function logItemKeys(bytes: Uint8Array, options: ItemViewOptions = {}): string[] {
  const request: ExportLogsServiceRequest =
    options.unknownFields === true
      ? decodeKeepingUnknowns(OtlpMessageName.LOGS_REQUEST, bytes)
      : decodeLogsRequest(bytes);
  return logRecordItems(request).map(canonicalJson);
}

/**
 * JSON with object keys sorted (array order kept), so equal values give equal strings
 * whatever order their keys were built in. Doubles JSON cannot spell (`NaN`, `±Infinity`,
 * `-0`) become `{"$double":"NaN"}` etc., keeping them distinct from each other and from
 * strings.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value));
}

function canonicalize(value: unknown): unknown {
  if (typeof value === 'number')
    return Number.isFinite(value) && !Object.is(value, -0)
      ? value
      : { $double: Object.is(value, -0) ? '-0' : String(value) };
  if (Array.isArray(value)) return value.map(canonicalize);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonicalize(Reflect.get(value, key));
    return out;
  }
  return value;
}

/**
 * Decodes like `decodeOtlp`, but with a reader that keeps unknown fields, and copies each
 * message's `$unknowns` into the plain object at the same place.
 */
function decodeKeepingUnknowns<N extends OtlpMessageName>(name: N, bytes: Uint8Array): OtlpMessageTypes[N] {
  const type = otlpRoot().lookupType(name);
  const reader = protobuf.Reader.create(bytes);
  reader.discardUnknown = false;
  const message = type.decode(reader);
  const plain = type.toObject(message, { longs: String, enums: Number, defaults: false });
  attachUnknowns(type, message, plain);
  // The same toObject options as decodeOtlp, so the shape is that of messages.ts plus $unknowns.
  return bytesToHex(plain) as OtlpMessageTypes[N];
}

function attachUnknowns(type: Type, message: object, plain: Record<string, unknown>): void {
  const unknowns: unknown = Reflect.get(message, '$unknowns');
  if (Array.isArray(unknowns) && unknowns.length > 0)
    plain.$unknowns = unknowns.filter((raw) => raw instanceof Uint8Array);
  for (const field of type.fieldsArray) {
    const subType = field.resolvedType;
    if (!(subType instanceof protobuf.Type) || !Object.hasOwn(message, field.name)) continue;
    const subMessage: unknown = Reflect.get(message, field.name);
    const subPlain: unknown = plain[field.name];
    if (Array.isArray(subMessage) && Array.isArray(subPlain)) {
      subMessage.forEach((element: unknown, i) => {
        const target: unknown = subPlain[i];
        if (element instanceof protobuf.Message && isRecord(target)) attachUnknowns(subType, element, target);
      });
    } else if (subMessage instanceof protobuf.Message && isRecord(subPlain)) {
      attachUnknowns(subType, subMessage, subPlain);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bytesToHex(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (Array.isArray(value)) return value.map(bytesToHex);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = bytesToHex(field);
    return out;
  }
  return value;
}
