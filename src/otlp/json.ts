/**
 * OTLP/JSON → protobuf: turns the JSON body of an OTLP/HTTP request into the protobuf bytes
 * of the same `Export*ServiceRequest`, so that everything after the receiver sees one format.
 *
 * The mapping is the OTLP specification's JSON encoding (proto3 JSON with OTLP's exceptions):
 *
 * - keys are lowerCamelCase (`startTimeUnixNano`); the proto field names (`start_time_unix_nano`)
 *   are accepted too, as protobuf JSON parsers do; unknown keys are ignored, and `null` means
 *   "not set";
 * - `traceId`, `spanId` and `parentSpanId` are hex (not base64): 32 and 16 hex digits, either
 *   case, or `""` for "not set"; every other `bytes` field (`AnyValue.bytesValue`) is base64,
 *   standard or URL-safe, padded or not;
 * - 64-bit integers are decimal strings or JSON numbers; integers past 2^53 written as numbers
 *   keep every digit (the text is parsed a second time, with the source of each number, when
 *   one occurs); 32-bit integers may be strings too;
 * - enums are numbers (unknown values kept, proto3 enums are open) or their names
 *   (`"SPAN_KIND_SERVER"`); doubles are numbers or `"NaN"`, `"Infinity"`, `"-Infinity"`;
 * - `AnyValue` in all its forms, with arrays and key-value lists nested up to
 *   {@link MAX_JSON_DEPTH} messages deep.
 *
 * The output is canonical protobuf, byte for byte what protobufjs writes for the same content:
 * fields in field-number order, proto3 defaults left out (oneof members and `optional` fields
 * are written whatever their value), minimal varints.
 *
 * The walk is driven by tables built once from the `.proto` schema in `proto/` (the
 * protobufjs reflection of `decoder.ts`), so traces, logs and metrics share one encoder and
 * follow the schema field by field. It never throws: every problem comes back as an
 * {@link OtlpJsonError} whose message names the JSON path (`resourceSpans[0].scopeSpans[1]
 * .spans[3].traceId: "abc" is not 32 hex digits`).
 */

import protobuf from 'protobufjs';

import { ErrorCode, OtelLbError } from '../errors.ts';
import { OtlpMessageName, otlpRoot } from './proto/decoder.ts';
import { Signal } from './signal.ts';
import { varintSize, writeVarint } from './wire.ts';

/**
 * How many messages deep a request may nest (the request itself is level 1; a span's
 * attribute value is level 6). Deeper input is rejected rather than walked recursively
 * without bound; 100 leaves room for about 45 levels of nested `AnyValue` arrays or lists.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * A JSON body that is not a valid OTLP/JSON request. `path` is where in the JSON the problem
 * is (`resourceSpans[0].scopeSpans[1].spans[3].traceId`; `""` for the body as a whole). The
 * code is `ERR_OTLP_BAD_TRACE_ID` for a `traceId` that is not 32 hex digits and
 * `ERR_OTLP_MALFORMED` for everything else.
 */
export class OtlpJsonError extends OtelLbError {
  readonly path: string;

  constructor(code: ErrorCode, path: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'OtlpJsonError';
    this.path = path;
  }
}

/** Outcome of {@link otlpJsonToProtobuf}. */
export type JsonConversionResult =
  | {
      readonly ok: true;
      /** The `Export*ServiceRequest` as protobuf bytes. */
      readonly bytes: Uint8Array;
      /** Spans, log records or metric data points in the request. */
      readonly items: number;
    }
  | { readonly ok: false; readonly error: OtlpJsonError };

const REQUEST_MESSAGES: Readonly<Record<Signal, OtlpMessageName>> = {
  [Signal.TRACES]: OtlpMessageName.TRACES_REQUEST,
  [Signal.LOGS]: OtlpMessageName.LOGS_REQUEST,
  [Signal.METRICS]: OtlpMessageName.METRICS_REQUEST,
};

/**
 * Converts an OTLP/JSON export request of `signal` (UTF-8 bytes or text; a leading byte
 * order mark is tolerated, invalid UTF-8 becomes U+FFFD) into protobuf bytes.
 *
 * Synchronous and pure; safe to call concurrently. Costs one `JSON.parse` plus one walk of the
 * parsed value; the output buffer starts at half the input size and doubles when needed.
 *
 * @returns the bytes and the number of items, or `{ ok: false, error }` for text that is not
 *   JSON, a value of the wrong type, a bad ID, an out-of-range number, two members of a oneof,
 *   or nesting deeper than {@link MAX_JSON_DEPTH}. Never throws for any input.
 */
export function otlpJsonToProtobuf(signal: Signal, json: string | Uint8Array): JsonConversionResult {
  const text = typeof json === 'string' ? json : Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString();
  const schema = requestSchema(REQUEST_MESSAGES[signal]);
  let value: unknown;
  try {
    value = JSON.parse(stripBom(text));
  } catch (error) {
    return syntaxError(error);
  }
  const first = encodeRequest(schema, value, text.length, false);
  if (first !== NEEDS_EXACT_INTEGERS) return first;
  // A 64-bit field held a JSON number past 2^53, which JSON.parse has rounded: parse again,
  // keeping the digits of such numbers as BigInts.
  try {
    value = JSON.parse(stripBom(text), keepBigIntegers);
  } catch (error) {
    return syntaxError(error);
  }
  const second = encodeRequest(schema, value, text.length, true);
  // Unreachable: in exact mode big integers are BigInts and never ask for another pass.
  return second === NEEDS_EXACT_INTEGERS ? fail('', 'internal error: integers still inexact') : second;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function syntaxError(error: unknown): JsonConversionResult {
  if (error instanceof RangeError) return fail('', `could not parse the request body: ${error.message}`);
  const reason = error instanceof Error ? error.message : String(error);
  return fail('', `request body is not valid JSON: ${reason}`);
}

function fail(path: string, problem: string, code: ErrorCode = ErrorCode.OTLP_MALFORMED): JsonConversionResult {
  return { ok: false, error: new OtlpJsonError(code, path, path === '' ? problem : `${path}: ${problem}`) };
}

/** `JSON.parse` reviver: integer literals beyond the safe range become BigInts, exactly. */
function keepBigIntegers(_key: string, value: unknown, context?: { readonly source?: string }): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value;
  const source = context?.source;
  return source !== undefined && INTEGER_LITERAL.test(source) ? BigInt(source) : value;
}

const INTEGER_LITERAL = /^-?\d+$/;

// --- the schema, as tables --------------------------------------------------------------------

/** How a field's JSON value is checked and written. */
const Kind = {
  MESSAGE: 0,
  STRING: 1,
  BOOL: 2,
  ENUM: 3,
  INT32: 4,
  UINT32: 5,
  SINT32: 6,
  FIXED32: 7,
  SFIXED32: 8,
  INT64: 9,
  UINT64: 10,
  SINT64: 11,
  FIXED64: 12,
  SFIXED64: 13,
  DOUBLE: 14,
  FLOAT: 15,
  /** `bytes` written as hex in OTLP/JSON (trace and span IDs). */
  HEX_BYTES: 16,
  /** `bytes` written as base64, as proto3 JSON says. */
  BASE64_BYTES: 17,
} as const;
type Kind = (typeof Kind)[keyof typeof Kind];

const SCALAR_KINDS: Readonly<Record<string, Kind>> = {
  string: Kind.STRING,
  bool: Kind.BOOL,
  int32: Kind.INT32,
  uint32: Kind.UINT32,
  sint32: Kind.SINT32,
  fixed32: Kind.FIXED32,
  sfixed32: Kind.SFIXED32,
  int64: Kind.INT64,
  uint64: Kind.UINT64,
  sint64: Kind.SINT64,
  fixed64: Kind.FIXED64,
  sfixed64: Kind.SFIXED64,
  double: Kind.DOUBLE,
  float: Kind.FLOAT,
  bytes: Kind.BASE64_BYTES,
};

/** Protobuf wire type of each kind (packed repeated fields use LEN instead). */
const WIRE_TYPES: readonly number[] = [2, 2, 0, 0, 0, 0, 0, 5, 5, 0, 0, 0, 1, 1, 1, 5, 2, 2];

/** OTLP's hex-encoded `bytes` fields and their length in bytes. */
const HEX_FIELDS: ReadonlyMap<string, number> = new Map([
  ['traceId', 16],
  ['spanId', 8],
  ['parentSpanId', 8],
]);

/** Repeated fields whose elements are the request's items (spans, log records, data points). */
const ITEM_FIELDS: ReadonlySet<string> = new Set([
  'opentelemetry.proto.trace.v1.ScopeSpans.spans',
  'opentelemetry.proto.logs.v1.ScopeLogs.logRecords',
  'opentelemetry.proto.metrics.v1.Gauge.dataPoints',
  'opentelemetry.proto.metrics.v1.Sum.dataPoints',
  'opentelemetry.proto.metrics.v1.Histogram.dataPoints',
  'opentelemetry.proto.metrics.v1.ExponentialHistogram.dataPoints',
  'opentelemetry.proto.metrics.v1.Summary.dataPoints',
]);

interface FieldSchema {
  readonly number: number;
  /** lowerCamelCase, for messages. */
  readonly jsonName: string;
  readonly kind: Kind;
  readonly repeated: boolean;
  /** A repeated numeric scalar, written packed (proto3's default). */
  readonly packed: boolean;
  /** The tag of one occurrence (for packed fields, of the LEN record). */
  readonly tag: number;
  /** Written even when it holds the default value (oneof members, proto3 `optional`). */
  readonly explicitPresence: boolean;
  /** Index of the (real, not synthetic) oneof in the message, or -1. */
  readonly oneof: number;
  readonly countsItems: boolean;
  /** Bytes of a hex field; 0 for others. */
  readonly hexBytes: number;
  readonly enumValues: ReadonlyMap<string, number> | undefined;
  /** Set once the whole schema is built (messages refer to each other in cycles). */
  message: MessageSchema | undefined;
}

interface MessageSchema {
  readonly name: string;
  /** By lowerCamelCase and by proto name. */
  readonly byKey: ReadonlyMap<string, FieldSchema>;
  /** Names of the real oneofs, by index, for messages. */
  readonly oneofs: readonly (readonly string[])[];
}

const schemas = new Map<string, MessageSchema>();

/** The schema of a request message, built from the protobufjs reflection on first use. */
function requestSchema(name: OtlpMessageName): MessageSchema {
  return messageSchema(otlpRoot().lookupType(name));
}

function messageSchema(type: protobuf.Type): MessageSchema {
  const fullName = type.fullName.replace(/^\./, '');
  const known = schemas.get(fullName);
  if (known !== undefined) return known;
  const realOneofs = type.oneofsArray.filter((oneof) => !isSynthetic(oneof));
  const byKey = new Map<string, FieldSchema>();
  const schema: MessageSchema = {
    name: type.name,
    byKey,
    oneofs: realOneofs.map((oneof) => oneof.fieldsArray.map((field) => field.name)),
  };
  schemas.set(fullName, schema);
  const pending: [FieldSchema, protobuf.Type][] = [];
  for (const field of type.fieldsArray) {
    field.resolve();
    const resolved = field.resolvedType;
    const kind: Kind =
      resolved instanceof protobuf.Type
        ? Kind.MESSAGE
        : resolved instanceof protobuf.Enum
          ? Kind.ENUM
          : field.type === 'bytes' && HEX_FIELDS.has(field.name)
            ? Kind.HEX_BYTES
            : scalarKind(field.type, fullName);
    const packed = field.repeated && kind !== Kind.MESSAGE && kind !== Kind.STRING && kind < Kind.HEX_BYTES;
    const oneof = field.partOf !== null && !isSynthetic(field.partOf) ? realOneofs.indexOf(field.partOf) : -1;
    const fieldSchema: FieldSchema = {
      number: field.id,
      jsonName: field.name,
      kind,
      repeated: field.repeated,
      packed,
      tag: ((field.id << 3) | (packed ? 2 : (WIRE_TYPES[kind] ?? 2))) >>> 0,
      explicitPresence: field.partOf !== null,
      oneof,
      countsItems: ITEM_FIELDS.has(`${fullName}.${field.name}`),
      hexBytes: kind === Kind.HEX_BYTES ? (HEX_FIELDS.get(field.name) ?? 0) : 0,
      enumValues: resolved instanceof protobuf.Enum ? new Map(Object.entries(resolved.values)) : undefined,
      message: undefined,
    };
    byKey.set(field.name, fieldSchema);
    byKey.set(snakeCase(field.name), fieldSchema);
    if (resolved instanceof protobuf.Type) pending.push([fieldSchema, resolved]);
  }
  for (const [fieldSchema, resolved] of pending) fieldSchema.message = messageSchema(resolved);
  return schema;
}

function scalarKind(type: string, where: string): Kind {
  const kind = SCALAR_KINDS[type];
  if (kind === undefined) throw new TypeError(`${where}: unsupported protobuf type ${type}`);
  return kind;
}

/** proto3 `optional` fields sit in a synthetic oneof of their own, named `_<field>`. */
function isSynthetic(oneof: protobuf.OneOf): boolean {
  return oneof.fieldsArray.length === 1 && oneof.name === `_${oneof.fieldsArray[0]?.name ?? ''}`;
}

/** The proto field name of a lowerCamelCase name (`startTimeUnixNano` → `start_time_unix_nano`). */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

// --- the walk -----------------------------------------------------------------------------------

/** Returned by the first pass when a 64-bit field held a number JSON.parse may have rounded. */
const NEEDS_EXACT_INTEGERS = Symbol('needs exact integers');

/** Thrown inside the walk; caught at the top, where the path is assembled into an error. */
class JsonFault extends Error {
  readonly code: ErrorCode;
  /** Path segments, innermost first, added while the fault unwinds. */
  readonly segments: (string | number)[] = [];

  constructor(problem: string, code: ErrorCode = ErrorCode.OTLP_MALFORMED) {
    super(problem);
    this.code = code;
  }
}

/** Thrown by the first pass to ask for the second, exact one. */
class InexactInteger extends Error {}

function encodeRequest(
  schema: MessageSchema,
  value: unknown,
  textLength: number,
  exact: boolean,
): JsonConversionResult | typeof NEEDS_EXACT_INTEGERS {
  if (!isObject(value)) return fail('', `expected a JSON object (an ${schema.name}), got ${describe(value)}`);
  const writer = new ProtoWriter(Math.max(256, textLength >>> 1), exact);
  try {
    writer.fields(schema, value, 1);
  } catch (error) {
    if (error instanceof InexactInteger) return NEEDS_EXACT_INTEGERS;
    if (error instanceof JsonFault) {
      const path = formatPath(error.segments);
      const code = error.code;
      return fail(path, error.message, code);
    }
    // Stack or memory exhaustion on hostile input; anything else is a bug and propagates.
    if (error instanceof RangeError) return fail('', `could not convert the request: ${error.message}`);
    throw error;
  }
  return { ok: true, bytes: writer.finish(), items: writer.items };
}

function formatPath(innermostFirst: readonly (string | number)[]): string {
  let path = '';
  for (let i = innermostFirst.length - 1; i >= 0; i--) {
    const segment = innermostFirst[i];
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (segment !== undefined) path += path === '' ? segment : `.${segment}`;
  }
  return path;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON value for messages: `"abc"`, `12`, `true`, `null`, `an object`, `an array`. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'object':
      return value === null ? 'null' : 'an object';
    case 'string':
      return quote(value);
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    default:
      return typeof value;
  }
}

function quote(value: string): string {
  return value.length > 48 ? `${JSON.stringify(value.slice(0, 45))}…` : JSON.stringify(value);
}

const TWO_POW_32 = 4294967296;
const TWO_POW_63 = 9223372036854775808;
const TWO_POW_64 = 18446744073709551616;

/** Nibble value of each ASCII code, -1 for non-hex characters. */
const HEX_VALUES: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) table[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    table[0x41 + i] = 10 + i;
    table[0x61 + i] = 10 + i;
  }
  return table;
})();

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const DECIMAL = /^-?\d+$/;
/** A number written as a JSON string, as proto3 JSON parsers accept for numeric fields. */
const NUMERIC = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Per-depth scratch of the field collection in {@link ProtoWriter.fields}. */
interface Level {
  fields: FieldSchema[];
  values: unknown[];
  keys: string[];
}

/**
 * Writes protobuf into a growing buffer. Length prefixes are written after their body: one
 * byte is reserved, and the body moved when its length needs more.
 */
class ProtoWriter {
  private buf: Buffer;
  private view: DataView;
  private pos = 0;
  private readonly exact: boolean;
  private readonly levels: Level[] = [];
  /** The last 64-bit value parsed, as two's-complement halves. */
  private lo = 0;
  private hi = 0;
  items = 0;

  constructor(capacity: number, exact: boolean) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.exact = exact;
  }

  finish(): Uint8Array {
    // A copy of exactly the written bytes, as a plain Uint8Array: the scratch buffer may be
    // much larger and come from Buffer's shared pool.
    return new Uint8Array(this.buf.subarray(0, this.pos));
  }

  /** Writes the fields of `object` (a message of `schema`), in field-number order. */
  fields(schema: MessageSchema, object: Record<string, unknown>, depth: number): void {
    if (depth > MAX_JSON_DEPTH) throw new JsonFault(`messages nested more than ${MAX_JSON_DEPTH} deep`);
    const level = this.level(depth);
    const fields = level.fields;
    const values = level.values;
    const keys = level.keys;
    let n = 0;
    let sorted = true;
    let last = 0;
    for (const key in object) {
      const field = schema.byKey.get(key);
      if (field === undefined) continue;
      const value = object[key];
      if (value === null) continue;
      if (field.number <= last) sorted = false;
      last = field.number;
      fields[n] = field;
      values[n] = value;
      keys[n] = key;
      n++;
    }
    if (!sorted) sortLevel(level, n);
    if (!sorted || schema.oneofs.length > 0) checkExclusive(schema, level, n);
    let i = 0;
    try {
      for (; i < n; i++) {
        const field = fields[i] as FieldSchema;
        if (field.repeated) this.repeated(field, values[i], depth);
        else this.single(field, values[i], field.explicitPresence, depth);
      }
    } catch (error) {
      if (error instanceof JsonFault) error.segments.push(keys[i] ?? '');
      throw error;
    }
  }

  private level(depth: number): Level {
    let level = this.levels[depth];
    if (level === undefined) {
      level = { fields: [], values: [], keys: [] };
      this.levels[depth] = level;
    }
    return level;
  }

  private repeated(field: FieldSchema, value: unknown, depth: number): void {
    if (!Array.isArray(value)) throw new JsonFault(`expected an array, got ${describe(value)}`);
    const length = value.length;
    if (length === 0) return;
    if (field.countsItems) this.items += length;
    if (field.packed) {
      this.packed(field, value);
      return;
    }
    let i = 0;
    try {
      for (; i < length; i++) {
        const element: unknown = value[i];
        if (element === null) throw new JsonFault('null is not allowed in an array');
        this.single(field, element, true, depth);
      }
    } catch (error) {
      if (error instanceof JsonFault) error.segments.push(i);
      throw error;
    }
  }

  private packed(field: FieldSchema, values: readonly unknown[]): void {
    this.tag(field.tag);
    const start = this.beginLength();
    let i = 0;
    try {
      for (; i < values.length; i++) {
        const element: unknown = values[i];
        if (element === null) throw new JsonFault('null is not allowed in an array');
        this.scalar(field, element, true, false);
      }
    } catch (error) {
      if (error instanceof JsonFault) error.segments.push(i);
      throw error;
    }
    this.endLength(start);
  }

  /** One occurrence of a field (a singular field, or one element of a repeated one). */
  private single(field: FieldSchema, value: unknown, writeDefault: boolean, depth: number): void {
    if (field.kind === Kind.MESSAGE) {
      if (!isObject(value)) throw new JsonFault(`expected an object, got ${describe(value)}`);
      this.tag(field.tag);
      const start = this.beginLength();
      this.fields(field.message as MessageSchema, value, depth + 1);
      this.endLength(start);
      return;
    }
    this.scalar(field, value, writeDefault, true);
  }

  /** A scalar value, with its tag unless it is an element of a packed field. */
  private scalar(field: FieldSchema, value: unknown, writeDefault: boolean, withTag: boolean): void {
    switch (field.kind) {
      case Kind.STRING: {
        if (typeof value !== 'string') throw new JsonFault(`expected a string, got ${describe(value)}`);
        if (value.length === 0 && !writeDefault) return;
        this.tag(field.tag);
        this.string(value);
        return;
      }
      case Kind.HEX_BYTES: {
        if (typeof value !== 'string') throw new JsonFault(`expected a hex string, got ${describe(value)}`);
        if (value.length === 0) {
          // "" is the empty ID, "not set"; only a repeated or oneof field would keep it.
          if (writeDefault) {
            this.tag(field.tag);
            this.byte(0);
          }
          return;
        }
        if (value.length !== field.hexBytes * 2 || !this.hexField(field.tag, value)) {
          throw new JsonFault(
            `${quote(value)} is not ${field.hexBytes * 2} hex digits${looksLikeBase64(value, field.hexBytes) ? ' (it looks like base64; OTLP/JSON writes IDs as hex)' : ''}`,
            field.jsonName === 'traceId' ? ErrorCode.OTLP_BAD_TRACE_ID : ErrorCode.OTLP_MALFORMED,
          );
        }
        return;
      }
      case Kind.BASE64_BYTES: {
        if (typeof value !== 'string') throw new JsonFault(`expected a base64 string, got ${describe(value)}`);
        if (value.length === 0 && !writeDefault) return;
        if (!BASE64.test(value) || value.length % 4 === 1) throw new JsonFault(`${quote(value)} is not base64`);
        const bytes = Buffer.from(value, 'base64');
        this.tag(field.tag);
        this.bytes(bytes);
        return;
      }
      case Kind.BOOL: {
        if (typeof value !== 'boolean') throw new JsonFault(`expected true or false, got ${describe(value)}`);
        if (!value && !writeDefault) return;
        if (withTag) this.tag(field.tag);
        this.byte(value ? 1 : 0);
        return;
      }
      case Kind.ENUM: {
        const number = this.enumValue(field, value);
        if (number === 0 && !writeDefault) return;
        if (withTag) this.tag(field.tag);
        this.int32Varint(number);
        return;
      }
      case Kind.INT32:
      case Kind.SINT32:
      case Kind.SFIXED32: {
        const number = int32Value(value, -2147483648, 2147483647, 'a 32-bit signed integer');
        if (number === 0 && !writeDefault) return;
        if (withTag) this.tag(field.tag);
        if (field.kind === Kind.INT32) this.int32Varint(number);
        else if (field.kind === Kind.SINT32) this.varint32(((number << 1) ^ (number >> 31)) >>> 0);
        else this.fixed32(number >>> 0);
        return;
      }
      case Kind.UINT32:
      case Kind.FIXED32: {
        const number = int32Value(value, 0, 4294967295, 'a 32-bit unsigned integer');
        if (number === 0 && !writeDefault) return;
        if (withTag) this.tag(field.tag);
        if (field.kind === Kind.UINT32) this.varint32(number);
        else this.fixed32(number);
        return;
      }
      case Kind.INT64:
      case Kind.SINT64:
      case Kind.SFIXED64:
      case Kind.UINT64:
      case Kind.FIXED64: {
        const signed = field.kind !== Kind.UINT64 && field.kind !== Kind.FIXED64;
        this.int64Value(value, signed);
        if (this.lo === 0 && this.hi === 0 && !writeDefault) return;
        if (withTag) this.tag(field.tag);
        if (field.kind === Kind.FIXED64 || field.kind === Kind.SFIXED64) {
          this.fixed32(this.lo);
          this.fixed32(this.hi);
        } else {
          if (field.kind === Kind.SINT64) {
            const mask = this.hi >> 31;
            this.hi = (((this.hi << 1) | (this.lo >>> 31)) ^ mask) >>> 0;
            this.lo = ((this.lo << 1) ^ mask) >>> 0;
          }
          this.varint64(this.lo, this.hi);
        }
        return;
      }
      case Kind.DOUBLE:
      case Kind.FLOAT: {
        const number = doubleValue(value);
        if (Object.is(number, 0) && !writeDefault) return;
        if (withTag) this.tag(field.tag);
        this.ensure(8);
        if (field.kind === Kind.DOUBLE) {
          this.view.setFloat64(this.pos, number, true);
          this.pos += 8;
        } else {
          this.view.setFloat32(this.pos, number, true);
          this.pos += 4;
        }
        return;
      }
      default:
        throw new TypeError(`${field.jsonName}: no scalar encoding for kind ${field.kind}`);
    }
  }

  private enumValue(field: FieldSchema, value: unknown): number {
    if (typeof value === 'string') {
      const number = field.enumValues?.get(value);
      if (number === undefined) {
        const names = [...(field.enumValues?.keys() ?? [])];
        const shown = names.length > 6 ? `${names.slice(0, 6).join(', ')}, …` : names.join(', ');
        throw new JsonFault(`${quote(value)} is not a value of this enum; use a number or one of ${shown}`);
      }
      return number;
    }
    return int32Value(value, -2147483648, 2147483647, 'an enum number or name');
  }

  /** Parses a 64-bit integer JSON value into `lo`/`hi` (two's complement). */
  private int64Value(value: unknown, signed: boolean): void {
    const what = signed ? 'a 64-bit signed integer' : 'a 64-bit unsigned integer';
    if (typeof value === 'string') {
      if (this.decimal64(value, signed, what)) return;
      const number = NUMERIC.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(number))
        throw new JsonFault(`expected ${what} (a decimal string or a number), got ${describe(value)}`);
      this.number64(number, signed, what, value);
      return;
    }
    if (typeof value === 'number') {
      if (!Number.isInteger(value))
        throw new JsonFault(`expected ${what} (a decimal string or a number), got ${describe(value)}`);
      if (!Number.isSafeInteger(value) && !this.exact) throw new InexactInteger();
      this.number64(value, signed, what, value);
      return;
    }
    if (typeof value === 'bigint') {
      if (signed ? value < -(1n << 63n) || value >= 1n << 63n : value < 0n || value >= 1n << 64n)
        throw new JsonFault(`${value} is out of range for ${what}`);
      const bits = BigInt.asUintN(64, value);
      this.lo = Number(bits & 0xffffffffn);
      this.hi = Number(bits >> 32n);
      return;
    }
    throw new JsonFault(`expected ${what} (a decimal string or a number), got ${describe(value)}`);
  }

  private number64(value: number, signed: boolean, what: string, shown: number | string): void {
    if (signed ? value < -TWO_POW_63 || value >= TWO_POW_63 : value < 0 || value >= TWO_POW_64)
      throw new JsonFault(`${shown} is out of range for ${what}`);
    const magnitude = Math.abs(value);
    const hi = Math.floor(magnitude / TWO_POW_32);
    const lo = magnitude - hi * TWO_POW_32;
    this.setLoHi(lo, hi, value < 0);
  }

  /**
   * Exact decimal → 64 bits without BigInt: digits accumulate into two 32-bit halves. False
   * when `text` is not a plain decimal integer (the caller tries the other spellings).
   */
  private decimal64(text: string, signed: boolean, what: string): boolean {
    const length = text.length;
    const negative = length > 1 && text.charCodeAt(0) === 0x2d;
    if (length === 0 || length > 21) return false;
    let lo = 0;
    let hi = 0;
    for (let i = negative ? 1 : 0; i < length; i++) {
      const digit = text.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 9) return false;
      lo = lo * 10 + digit;
      const carry = Math.floor(lo / TWO_POW_32);
      lo -= carry * TWO_POW_32;
      hi = hi * 10 + carry;
    }
    // 21 digits at most, so `hi` stays below 2^53 and the checks below are exact.
    const limit = signed ? (negative ? 0x80000000 : 0x7fffffff) : 0xffffffff;
    if (
      hi > limit ||
      (signed && negative && hi === 0x80000000 && lo !== 0) ||
      (negative && !signed && (hi !== 0 || lo !== 0))
    )
      throw new JsonFault(`${text} is out of range for ${what}`);
    this.setLoHi(lo, hi, negative);
    return true;
  }

  private setLoHi(lo: number, hi: number, negative: boolean): void {
    if (negative && (lo !== 0 || hi !== 0)) {
      const notLo = ~lo >>> 0;
      this.lo = (notLo + 1) >>> 0;
      this.hi = (~hi + (this.lo === 0 ? 1 : 0)) >>> 0;
    } else {
      this.lo = lo >>> 0;
      this.hi = hi >>> 0;
    }
  }

  // --- low-level writes ---

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  private tag(tag: number): void {
    if (tag < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = tag;
    } else {
      this.varint32(tag);
    }
  }

  private byte(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  private varint32(value: number): void {
    this.ensure(5);
    this.pos = writeVarint(this.buf, this.pos, value);
  }

  /** int32 and enums: negative values are sign-extended to ten bytes, as protobuf says. */
  private int32Varint(value: number): void {
    if (value >= 0) this.varint32(value);
    else this.varint64(value >>> 0, 0xffffffff);
  }

  private varint64(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (hi !== 0) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  private fixed32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, value >>> 0, true);
    this.pos += 4;
  }

  /** Reserves one byte for a length prefix; returns where it is. */
  private beginLength(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Writes the length of everything since `start`, moving the body if it needs more bytes. */
  private endLength(start: number): void {
    const length = this.pos - start - 1;
    if (length < 0x80) {
      this.buf[start] = length;
      return;
    }
    const size = varintSize(length);
    this.ensure(size - 1);
    this.buf.copyWithin(start + size, start + 1, this.pos);
    this.pos += size - 1;
    writeVarint(this.buf, start, length);
  }

  private string(value: string): void {
    const length = value.length;
    if (length < 0x80) {
      // Short strings are mostly ASCII: copy char by char behind a one-byte length.
      this.ensure(1 + length * 3);
      const buf = this.buf;
      let pos = this.pos + 1;
      let i = 0;
      for (; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) break;
        buf[pos++] = code;
      }
      if (i === length) {
        buf[this.pos] = length;
        this.pos = pos;
        return;
      }
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.ensure(5 + bytes);
    this.pos = writeVarint(this.buf, this.pos, bytes);
    this.pos += this.buf.write(value, this.pos, bytes, 'utf8');
  }

  /**
   * Writes a field of hex digits as bytes (a length under 128); false, with nothing written,
   * when a character is not a hex digit.
   */
  private hexField(tag: number, text: string): boolean {
    const bytes = text.length >>> 1;
    this.ensure(6 + bytes);
    const start = this.pos;
    this.tag(tag);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = bytes;
    for (let i = 0; i < text.length; i += 2) {
      // A non-hex character maps to -1, which makes the byte negative.
      const byte = ((HEX_VALUES[text.charCodeAt(i)] ?? -1) << 4) | (HEX_VALUES[text.charCodeAt(i + 1)] ?? -1);
      if (byte < 0) {
        this.pos = start;
        return false;
      }
      buf[pos++] = byte;
    }
    this.pos = pos;
    return true;
  }

  private bytes(bytes: Uint8Array): void {
    this.ensure(5 + bytes.length);
    this.pos = writeVarint(this.buf, this.pos, bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}

/** Rejects a field given twice (by both of its names) and two members of one oneof. */
function checkExclusive(schema: MessageSchema, level: Level, n: number): void {
  const { fields, keys } = level;
  let oneofsSeen = 0;
  for (let i = 0; i < n; i++) {
    const field = fields[i] as FieldSchema;
    if (i > 0 && field.number === (fields[i - 1] as FieldSchema).number) {
      throw new JsonFault(`${keys[i - 1] ?? ''} and ${keys[i] ?? ''} are the same field; give only one of them`);
    }
    if (field.oneof < 0) continue;
    const bit = 1 << field.oneof;
    if ((oneofsSeen & bit) !== 0) {
      const members = schema.oneofs[field.oneof] ?? [];
      const first = keys.slice(0, i).find((key) => members.includes(schema.byKey.get(key)?.jsonName ?? ''));
      throw new JsonFault(
        `${first ?? ''} and ${keys[i] ?? ''} are both set, but only one of ${members.join(', ')} may be`,
      );
    }
    oneofsSeen |= bit;
  }
}

function sortLevel(level: Level, n: number): void {
  // Insertion sort: a handful of fields, usually already in order.
  const { fields, values, keys } = level;
  for (let i = 1; i < n; i++) {
    const field = fields[i] as FieldSchema;
    const value = values[i];
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (fields[j] as FieldSchema).number > field.number) {
      fields[j + 1] = fields[j] as FieldSchema;
      values[j + 1] = values[j];
      keys[j + 1] = keys[j] as string;
      j--;
    }
    fields[j + 1] = field;
    values[j + 1] = value;
    keys[j + 1] = key;
  }
}

function looksLikeBase64(text: string, bytes: number): boolean {
  return text.length === Math.ceil(bytes / 3) * 4 && BASE64.test(text);
}

function int32Value(value: unknown, min: number, max: number, what: string): number {
  let number: number;
  if (typeof value === 'number') number = value;
  else if (typeof value === 'string' && DECIMAL.test(value)) number = Number(value);
  else if (typeof value === 'bigint') number = Number(value);
  else throw new JsonFault(`expected ${what}, got ${describe(value)}`);
  if (!Number.isInteger(number)) throw new JsonFault(`expected ${what}, got ${describe(value)}`);
  if (number < min || number > max) throw new JsonFault(`${String(value)} is out of range for ${what}`);
  return number;
}

function doubleValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') {
    if (value === 'NaN') return Number.NaN;
    if (value === 'Infinity') return Number.POSITIVE_INFINITY;
    if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
    if (NUMERIC.test(value)) return Number(value);
  }
  throw new JsonFault(`expected a number (or "NaN", "Infinity", "-Infinity"), got ${describe(value)}`);
}
