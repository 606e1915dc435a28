/**
 * fast-check arbitraries of OTLP export requests as **bytes**, each with the plain object a
 * compliant decoder must turn them into (`expected`, in the shape of `decoder.ts`).
 *
 * Two independent choices make a request:
 *
 * 1. **Content**: what the request says. 0..N `ResourceSpans`/`ResourceLogs`, each with
 *    0..N scopes of 0..N spans or log records; resources with and without `service.name`
 *    (a string from a small pool, so resources share names; sometimes an int, bool or empty
 *    value), not always first among the attributes; trace IDs from a small pool, so one
 *    trace spreads over resources and scopes, and sometimes missing, empty, all-zero;
 *    realistic spans (kinds, attributes of every `AnyValue` type, events, links, status,
 *    parents, flags, dropped counts) and log records (bodies, severities, event names,
 *    trace context on a minority). Default values are sometimes written explicitly, as some
 *    producers do; `expected` leaves them out, as proto3 requires.
 * 2. **Wire style**: how it is written. `canonical` writes fields in field-number order,
 *    nothing extra: byte for byte what protobufjs (and the Go and Java SDKs) write. `odd`
 *    writes the same content the way odd-but-valid producers do (see {@link Oddities}):
 *    fields out of order, unknown fields of every wire type at every level, groups, the
 *    pre-1.0 field 1000, `resource`/`scope`/`status` split into two occurrences that
 *    protobuf merges, scalars written twice (last wins), padded varints.
 *
 * `expected` is computed from the content alone, by the rules of proto3, without protobufjs;
 * `otlp-arbitraries.test.ts` proves that protobufjs decodes every generated request to it.
 */

import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';

import type {
  AnyValue,
  EntityRef,
  ExportLogsServiceRequest,
  ExportTraceServiceRequest,
  InstrumentationScope,
  KeyValue,
  LogRecord,
  Resource,
  ResourceLogs,
  ResourceSpans,
  ScopeLogs,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanLink,
  Status,
} from '../../src/otlp/proto/messages.ts';
import { createRandom } from './otlp-builders.ts';
import type { Random } from './otlp-builders.ts';
import {
  bytesField,
  concatBytes,
  doubleField,
  encodeVarint,
  fixed32Field,
  fixed64Field,
  groupField,
  hex,
  messageField,
  stringField,
  toHex,
  varintField,
} from './protobuf-writer.ts';

// --- wire style ----------------------------------------------------------------------------

/** How a request's content is written to the wire. */
export const WireStyle = {
  /** Field-number order, no extra fields, minimal varints: what protobufjs writes. */
  CANONICAL: 'canonical',
  /** The same content written with the {@link Oddities} enabled in the options. */
  ODD: 'odd',
} as const;
export type WireStyle = (typeof WireStyle)[keyof typeof WireStyle];

/** The odd-but-valid encodings the `odd` style uses; each can be turned off. */
export interface Oddities {
  /** Fields of a message written out of field-number order (e.g. `schema_url` before `resource`, `trace_id` last). */
  readonly shuffleFields: boolean;
  /** Unknown varint, fixed32, fixed64 and length-delimited fields, at every level. */
  readonly unknownFields: boolean;
  /** Unknown groups (wire types 3 and 4), possibly nested. Needs `unknownFields`. */
  readonly groups: boolean;
  /** Field 1000 in `ResourceSpans`/`ResourceLogs`: the removed `instrumentation_library_*` of pre-1.0 producers. */
  readonly legacyFields: boolean;
  /** `resource`, `scope` and `Span.status` written as two occurrences, which protobuf merges. */
  readonly splitMessages: boolean;
  /** A scalar (`trace_id` included) written twice, a decoy first; the last value wins. */
  readonly duplicateScalars: boolean;
  /** Length prefixes and varint values padded with redundant continuation bytes (at most 5 bytes for 32-bit values). */
  readonly paddedVarints: boolean;
}

/** Every oddity enabled: the default of the `odd` style. */
export const ALL_ODDITIES: Oddities = Object.freeze({
  shuffleFields: true,
  unknownFields: true,
  groups: true,
  legacyFields: true,
  splitMessages: true,
  duplicateScalars: true,
  paddedVarints: true,
});

const NO_ODDITIES: Oddities = Object.freeze({
  shuffleFields: false,
  unknownFields: false,
  groups: false,
  legacyFields: false,
  splitMessages: false,
  duplicateScalars: false,
  paddedVarints: false,
});

/** What an encoding actually contains, so tests can check that generators reach every case. */
export const WireFeature = {
  SHUFFLED_FIELDS: 'shuffled-fields',
  SCHEMA_URL_BEFORE_RESOURCE: 'schema-url-before-resource',
  TRACE_ID_NOT_FIRST: 'trace-id-not-first',
  UNKNOWN_VARINT: 'unknown-varint',
  UNKNOWN_FIXED32: 'unknown-fixed32',
  UNKNOWN_FIXED64: 'unknown-fixed64',
  UNKNOWN_LEN: 'unknown-len',
  UNKNOWN_GROUP: 'unknown-group',
  LEGACY_FIELD: 'legacy-field-1000',
  SPLIT_RESOURCE: 'split-resource',
  SPLIT_SCOPE: 'split-scope',
  SPLIT_STATUS: 'split-status',
  DUPLICATE_SCALAR: 'duplicate-scalar',
  DUPLICATE_TRACE_ID: 'duplicate-trace-id',
  PADDED_VARINT: 'padded-varint',
  EXPLICIT_DEFAULT: 'explicit-default',
  EMPTY_TRACE_ID: 'empty-trace-id',
} as const;
export type WireFeature = (typeof WireFeature)[keyof typeof WireFeature];

/** Options of {@link encodeTracesWire} and {@link encodeLogsWire}. */
export interface WireOptions {
  /** Default `canonical`. */
  readonly style?: WireStyle;
  /** Seed of the odd style's choices; the same seed and content give the same bytes. Default 0. */
  readonly seed?: number;
  /** Oddities to use in the `odd` style; unspecified ones are on. */
  readonly oddities?: Partial<Oddities>;
}

/** A request's bytes, what they decode to, and which {@link WireFeature}s they contain. */
export interface WireEncoding<T> {
  readonly bytes: Uint8Array;
  readonly expected: T;
  readonly features: ReadonlySet<WireFeature>;
}

/** A generated request: a {@link WireEncoding} plus the style and seed that wrote it. */
export interface GeneratedRequest<T> extends WireEncoding<T> {
  readonly style: WireStyle;
  readonly seed: number;
}

// --- the schema, entered independently of the .proto files -------------------------------------

type ScalarKind = 'string' | 'bytes' | 'uint32' | 'enum' | 'int64' | 'bool' | 'fixed32' | 'fixed64' | 'double';

interface FieldSpec {
  readonly name: string;
  readonly number: number;
  readonly kind: ScalarKind | 'message';
  readonly repeated?: true;
  /** Member of a oneof: present even when it holds the default value. */
  readonly oneof?: true;
  readonly message?: () => MessageSpec;
  /** May be written as several occurrences that a decoder merges. */
  readonly mergeable?: true;
}

interface MessageSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  /** A field number that old producers used here and current decoders do not know. */
  readonly legacyField?: number;
}

const ANY_VALUE: MessageSpec = {
  name: 'AnyValue',
  fields: [
    { name: 'stringValue', number: 1, kind: 'string', oneof: true },
    { name: 'boolValue', number: 2, kind: 'bool', oneof: true },
    { name: 'intValue', number: 3, kind: 'int64', oneof: true },
    { name: 'doubleValue', number: 4, kind: 'double', oneof: true },
    { name: 'arrayValue', number: 5, kind: 'message', oneof: true, message: () => ARRAY_VALUE },
    { name: 'kvlistValue', number: 6, kind: 'message', oneof: true, message: () => KEY_VALUE_LIST },
    { name: 'bytesValue', number: 7, kind: 'bytes', oneof: true },
  ],
};
const ARRAY_VALUE: MessageSpec = {
  name: 'ArrayValue',
  fields: [{ name: 'values', number: 1, kind: 'message', repeated: true, message: () => ANY_VALUE }],
};
const KEY_VALUE_LIST: MessageSpec = {
  name: 'KeyValueList',
  fields: [{ name: 'values', number: 1, kind: 'message', repeated: true, message: () => KEY_VALUE }],
};
const KEY_VALUE: MessageSpec = {
  name: 'KeyValue',
  fields: [
    { name: 'key', number: 1, kind: 'string' },
    { name: 'value', number: 2, kind: 'message', message: () => ANY_VALUE },
  ],
};
const ATTRIBUTES = (number: number, name = 'attributes'): FieldSpec => ({
  name,
  number,
  kind: 'message',
  repeated: true,
  message: () => KEY_VALUE,
});
const SCOPE: MessageSpec = {
  name: 'InstrumentationScope',
  fields: [
    { name: 'name', number: 1, kind: 'string' },
    { name: 'version', number: 2, kind: 'string' },
    ATTRIBUTES(3),
    { name: 'droppedAttributesCount', number: 4, kind: 'uint32' },
  ],
};
const ENTITY_REF: MessageSpec = {
  name: 'EntityRef',
  fields: [
    { name: 'schemaUrl', number: 1, kind: 'string' },
    { name: 'type', number: 2, kind: 'string' },
    { name: 'idKeys', number: 3, kind: 'string', repeated: true },
    { name: 'descriptionKeys', number: 4, kind: 'string', repeated: true },
  ],
};
const RESOURCE: MessageSpec = {
  name: 'Resource',
  fields: [
    ATTRIBUTES(1),
    { name: 'droppedAttributesCount', number: 2, kind: 'uint32' },
    { name: 'entityRefs', number: 3, kind: 'message', repeated: true, message: () => ENTITY_REF },
  ],
};
const STATUS: MessageSpec = {
  name: 'Status',
  fields: [
    { name: 'message', number: 2, kind: 'string' },
    { name: 'code', number: 3, kind: 'enum' },
  ],
};
const SPAN_EVENT: MessageSpec = {
  name: 'Span.Event',
  fields: [
    { name: 'timeUnixNano', number: 1, kind: 'fixed64' },
    { name: 'name', number: 2, kind: 'string' },
    ATTRIBUTES(3),
    { name: 'droppedAttributesCount', number: 4, kind: 'uint32' },
  ],
};
const SPAN_LINK: MessageSpec = {
  name: 'Span.Link',
  fields: [
    { name: 'traceId', number: 1, kind: 'bytes' },
    { name: 'spanId', number: 2, kind: 'bytes' },
    { name: 'traceState', number: 3, kind: 'string' },
    ATTRIBUTES(4),
    { name: 'droppedAttributesCount', number: 5, kind: 'uint32' },
    { name: 'flags', number: 6, kind: 'fixed32' },
  ],
};
const SPAN: MessageSpec = {
  name: 'Span',
  fields: [
    { name: 'traceId', number: 1, kind: 'bytes' },
    { name: 'spanId', number: 2, kind: 'bytes' },
    { name: 'traceState', number: 3, kind: 'string' },
    { name: 'parentSpanId', number: 4, kind: 'bytes' },
    { name: 'name', number: 5, kind: 'string' },
    { name: 'kind', number: 6, kind: 'enum' },
    { name: 'startTimeUnixNano', number: 7, kind: 'fixed64' },
    { name: 'endTimeUnixNano', number: 8, kind: 'fixed64' },
    ATTRIBUTES(9),
    { name: 'droppedAttributesCount', number: 10, kind: 'uint32' },
    { name: 'events', number: 11, kind: 'message', repeated: true, message: () => SPAN_EVENT },
    { name: 'droppedEventsCount', number: 12, kind: 'uint32' },
    { name: 'links', number: 13, kind: 'message', repeated: true, message: () => SPAN_LINK },
    { name: 'droppedLinksCount', number: 14, kind: 'uint32' },
    { name: 'status', number: 15, kind: 'message', message: () => STATUS, mergeable: true },
    { name: 'flags', number: 16, kind: 'fixed32' },
  ],
};
const SCOPE_SPANS: MessageSpec = {
  name: 'ScopeSpans',
  fields: [
    { name: 'scope', number: 1, kind: 'message', message: () => SCOPE, mergeable: true },
    { name: 'spans', number: 2, kind: 'message', repeated: true, message: () => SPAN },
    { name: 'schemaUrl', number: 3, kind: 'string' },
  ],
};
const RESOURCE_SPANS: MessageSpec = {
  name: 'ResourceSpans',
  fields: [
    { name: 'resource', number: 1, kind: 'message', message: () => RESOURCE, mergeable: true },
    { name: 'scopeSpans', number: 2, kind: 'message', repeated: true, message: () => SCOPE_SPANS },
    { name: 'schemaUrl', number: 3, kind: 'string' },
  ],
  legacyField: 1000,
};
const TRACES_REQUEST: MessageSpec = {
  name: 'ExportTraceServiceRequest',
  fields: [{ name: 'resourceSpans', number: 1, kind: 'message', repeated: true, message: () => RESOURCE_SPANS }],
};
const LOG_RECORD: MessageSpec = {
  name: 'LogRecord',
  fields: [
    { name: 'timeUnixNano', number: 1, kind: 'fixed64' },
    { name: 'severityNumber', number: 2, kind: 'enum' },
    { name: 'severityText', number: 3, kind: 'string' },
    { name: 'body', number: 5, kind: 'message', message: () => ANY_VALUE },
    ATTRIBUTES(6),
    { name: 'droppedAttributesCount', number: 7, kind: 'uint32' },
    { name: 'flags', number: 8, kind: 'fixed32' },
    { name: 'traceId', number: 9, kind: 'bytes' },
    { name: 'spanId', number: 10, kind: 'bytes' },
    { name: 'observedTimeUnixNano', number: 11, kind: 'fixed64' },
    { name: 'eventName', number: 12, kind: 'string' },
  ],
};
const SCOPE_LOGS: MessageSpec = {
  name: 'ScopeLogs',
  fields: [
    { name: 'scope', number: 1, kind: 'message', message: () => SCOPE, mergeable: true },
    { name: 'logRecords', number: 2, kind: 'message', repeated: true, message: () => LOG_RECORD },
    { name: 'schemaUrl', number: 3, kind: 'string' },
  ],
};
const RESOURCE_LOGS: MessageSpec = {
  name: 'ResourceLogs',
  fields: [
    { name: 'resource', number: 1, kind: 'message', message: () => RESOURCE, mergeable: true },
    { name: 'scopeLogs', number: 2, kind: 'message', repeated: true, message: () => SCOPE_LOGS },
    { name: 'schemaUrl', number: 3, kind: 'string' },
  ],
  legacyField: 1000,
};
const LOGS_REQUEST: MessageSpec = {
  name: 'ExportLogsServiceRequest',
  fields: [{ name: 'resourceLogs', number: 1, kind: 'message', repeated: true, message: () => RESOURCE_LOGS }],
};

// --- proto3 semantics: what a message decodes to --------------------------------------------

function subMessage(field: FieldSpec): MessageSpec {
  if (field.message === undefined) throw new TypeError(`field ${field.name} has no message type`);
  return field.message();
}

function asObject(value: unknown, where: string): object {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError(`${where}: expected an object`);
  return value;
}

function asArray(value: unknown, where: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${where}: expected an array`);
  return value;
}

function asString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new TypeError(`${where}: expected a string`);
  return value;
}

function asNumber(value: unknown, where: string): number {
  if (typeof value !== 'number') throw new TypeError(`${where}: expected a number`);
  return value;
}

function isDefault(kind: ScalarKind, value: unknown): boolean {
  switch (kind) {
    case 'string':
    case 'bytes':
      return value === '';
    case 'int64':
    case 'fixed64':
      return typeof value === 'string' && BigInt(value) === 0n;
    case 'bool':
      return value === false;
    case 'double':
      // -0 is not the default: it has a different bit pattern and survives a round trip.
      return Object.is(value, 0);
    case 'uint32':
    case 'enum':
    case 'fixed32':
      return value === 0;
  }
}

/**
 * What `value` decodes to under proto3: default-valued scalars (outside oneofs) and empty
 * repeated fields dropped, embedded messages kept even when empty, recursively.
 */
function normalize(spec: MessageSpec, value: object): Record<string, unknown> {
  for (const key of Object.keys(value)) {
    if (!spec.fields.some((field) => field.name === key))
      throw new TypeError(`${spec.name} has no field ${JSON.stringify(key)}`);
  }
  const out: Record<string, unknown> = {};
  for (const field of spec.fields) {
    const where = `${spec.name}.${field.name}`;
    const v: unknown = Reflect.get(value, field.name);
    if (v === undefined) continue;
    if (field.repeated) {
      const list = asArray(v, where);
      if (list.length === 0) continue;
      out[field.name] =
        field.kind === 'message' ? list.map((e) => normalize(subMessage(field), asObject(e, where))) : [...list];
    } else if (field.kind === 'message') {
      out[field.name] = normalize(subMessage(field), asObject(v, where));
    } else if (field.oneof === true || !isDefault(field.kind, v)) {
      out[field.name] = v;
    }
  }
  return out;
}

// --- the wire engine ---------------------------------------------------------------------------

interface WireContext {
  readonly random: Random;
  readonly oddities: Oddities;
  readonly features: Set<WireFeature>;
}

/** Field numbers no OTLP message uses (all use 1..16), in 1-, 2-, 3- and 5-byte tags. */
const UNKNOWN_FIELD_NUMBERS = [17, 18, 19, 21, 31, 64, 100, 2047, 2048, 65_535, 536_870_911];

const utf8 = new TextEncoder();

function encodeRequest<T extends object>(spec: MessageSpec, request: T, options: WireOptions): WireEncoding<T> {
  const style = options.style ?? WireStyle.CANONICAL;
  const ctx: WireContext = {
    random: createRandom(options.seed ?? 0),
    oddities: style === WireStyle.ODD ? { ...ALL_ODDITIES, ...options.oddities } : NO_ODDITIES,
    features: new Set(),
  };
  const bytes = encodeBody(spec, request, ctx);
  // normalize() returns exactly the fields of T's schema, with values of T's field types.
  return { bytes, expected: normalize(spec, request) as T, features: ctx.features };
}

/**
 * Encodes a traces request exactly as given (default values included if present) in the
 * requested style, and returns `expected`: what it decodes to.
 *
 * @throws TypeError if `request` does not have the shape of `messages.ts`.
 */
export function encodeTracesWire(
  request: ExportTraceServiceRequest,
  options: WireOptions = {},
): WireEncoding<ExportTraceServiceRequest> {
  return encodeRequest(TRACES_REQUEST, request, options);
}

/** The logs counterpart of {@link encodeTracesWire}. */
export function encodeLogsWire(
  request: ExportLogsServiceRequest,
  options: WireOptions = {},
): WireEncoding<ExportLogsServiceRequest> {
  return encodeRequest(LOGS_REQUEST, request, options);
}

interface FieldRun {
  readonly number: number;
  readonly parts: readonly Uint8Array[];
}

function encodeBody(spec: MessageSpec, value: object, ctx: WireContext): Uint8Array {
  const runs: FieldRun[] = [];
  for (const field of spec.fields) {
    const v: unknown = Reflect.get(value, field.name);
    if (v === undefined) continue;
    const where = `${spec.name}.${field.name}`;
    const parts: Uint8Array[] = [];
    if (field.repeated) {
      for (const element of asArray(v, where)) parts.push(encodeOne(field, element, ctx, where));
    } else if (field.mergeable === true && ctx.oddities.splitMessages && ctx.random.chance(0.25)) {
      parts.push(...encodeSplit(field, asObject(v, where), ctx, where));
    } else if (
      field.kind !== 'message' &&
      field.oneof !== true &&
      ctx.oddities.duplicateScalars &&
      ctx.random.chance(0.03)
    ) {
      ctx.features.add(field.name === 'traceId' ? WireFeature.DUPLICATE_TRACE_ID : WireFeature.DUPLICATE_SCALAR);
      parts.push(encodeOne(field, decoyFor(field, v, ctx), ctx, where), encodeOne(field, v, ctx, where));
    } else {
      parts.push(encodeOne(field, v, ctx, where));
    }
    if (parts.length > 0) runs.push({ number: field.number, parts });
  }
  if (spec.legacyField !== undefined && ctx.oddities.legacyFields && ctx.random.chance(0.1)) {
    ctx.features.add(WireFeature.LEGACY_FIELD);
    // InstrumentationLibrarySpans { instrumentation_library = 1 { name = 1 } }: ignored by current decoders.
    runs.push({
      number: spec.legacyField,
      parts: [messageField(spec.legacyField, messageField(1, stringField(1, 'legacy-library')))],
    });
  }
  if (ctx.oddities.unknownFields && ctx.random.chance(0.1)) {
    const count = 1 + ctx.random.int(2);
    for (let i = 0; i < count; i++) {
      const [number, bytes] = unknownField(ctx, 0);
      runs.push({ number, parts: [bytes] });
    }
  }
  return concatBytes(orderFields(spec, runs, ctx));
}

function encodeOne(field: FieldSpec, value: unknown, ctx: WireContext, where: string): Uint8Array {
  const n = field.number;
  if (field.kind === 'message') {
    return bytesField(n, encodeBody(subMessage(field), asObject(value, where), ctx), lengthPadding(ctx));
  }
  if (field.oneof !== true && !field.repeated && isDefault(field.kind, value)) {
    ctx.features.add(WireFeature.EXPLICIT_DEFAULT);
    if (field.name === 'traceId') ctx.features.add(WireFeature.EMPTY_TRACE_ID);
  }
  switch (field.kind) {
    case 'string':
      return bytesField(n, utf8.encode(asString(value, where)), lengthPadding(ctx));
    case 'bytes':
      return bytesField(n, hex(asString(value, where)), lengthPadding(ctx));
    case 'uint32':
    case 'enum':
      return varintField(n, asNumber(value, where), varintPadding(ctx, BigInt(asNumber(value, where)), 5));
    case 'bool':
      if (typeof value !== 'boolean') throw new TypeError(`${where}: expected a boolean`);
      return varintField(n, value, varintPadding(ctx, value ? 1n : 0n, 5));
    case 'int64':
      return varintField(
        n,
        BigInt(asString(value, where)),
        varintPadding(ctx, BigInt.asUintN(64, BigInt(asString(value, where))), 10),
      );
    case 'fixed32':
      return fixed32Field(n, asNumber(value, where));
    case 'fixed64':
      return fixed64Field(n, BigInt(asString(value, where)));
    case 'double':
      return doubleField(n, asNumber(value, where));
  }
}

/**
 * Two occurrences of an embedded message that merge into `value`: repeated fields cut in two
 * (concatenation restores them), every scalar in one of the two, and sometimes a decoy of a
 * scalar in the first occurrence that the second overrides.
 */
function encodeSplit(field: FieldSpec, value: object, ctx: WireContext, where: string): Uint8Array[] {
  const spec = subMessage(field);
  const first: Record<string, unknown> = {};
  const second: Record<string, unknown> = {};
  for (const f of spec.fields) {
    const v: unknown = Reflect.get(value, f.name);
    if (v === undefined) continue;
    if (f.repeated) {
      const list = asArray(v, `${where}.${f.name}`);
      const cut = ctx.random.int(list.length + 1);
      if (cut > 0) first[f.name] = list.slice(0, cut);
      if (cut < list.length) second[f.name] = list.slice(cut);
    } else if (ctx.random.chance(0.5)) {
      first[f.name] = v;
    } else {
      second[f.name] = v;
      if (f.kind !== 'message' && f.oneof !== true && ctx.random.chance(0.3)) first[f.name] = decoyFor(f, v, ctx);
    }
  }
  ctx.features.add(
    field.name === 'resource'
      ? WireFeature.SPLIT_RESOURCE
      : field.name === 'scope'
        ? WireFeature.SPLIT_SCOPE
        : WireFeature.SPLIT_STATUS,
  );
  return [encodeOne(field, first, ctx, where), encodeOne(field, second, ctx, where)];
}

/** A value of the field's type that differs from `real` (when it can), to be overridden. */
function decoyFor(field: FieldSpec, real: unknown, ctx: WireContext): unknown {
  switch (field.kind) {
    case 'string':
      return real === 'decoy' ? 'decoy-2' : 'decoy';
    case 'bytes': {
      const length = typeof real === 'string' && real.length > 0 ? real.length / 2 : 16;
      return ctx.random.hex(length);
    }
    case 'uint32':
    case 'enum':
      return real === 7 ? 8 : 7;
    case 'bool':
      return real !== true;
    case 'int64':
    case 'fixed64':
      return real === '42' ? '43' : '42';
    case 'fixed32':
      return real === 0x5a5a ? 0xa5a5 : 0x5a5a;
    case 'double':
      return real === 1.5 ? 2.5 : 1.5;
    case 'message':
      throw new TypeError(`no decoy for message field ${field.name}`);
  }
}

function lengthPadding(ctx: WireContext): number {
  if (!ctx.oddities.paddedVarints || !ctx.random.chance(0.03)) return 1;
  ctx.features.add(WireFeature.PADDED_VARINT);
  // Lengths are read as 32-bit varints: 5 bytes is the most every decoder accepts.
  return 2 + ctx.random.int(4);
}

function varintPadding(ctx: WireContext, value: bigint, maxBytes: number): number {
  if (!ctx.oddities.paddedVarints || !ctx.random.chance(0.03)) return 1;
  const natural = encodeVarint(value).length;
  if (natural >= maxBytes) return 1;
  ctx.features.add(WireFeature.PADDED_VARINT);
  return natural + 1 + ctx.random.int(maxBytes - natural);
}

function unknownField(ctx: WireContext, depth: number): [number, Uint8Array] {
  const number = ctx.random.pick(UNKNOWN_FIELD_NUMBERS);
  const roll = ctx.random.next();
  if (ctx.oddities.groups && depth < 2 && roll < 0.1) {
    ctx.features.add(WireFeature.UNKNOWN_GROUP);
    const members = Array.from({ length: ctx.random.int(3) }, () => unknownField(ctx, depth + 1)[1]);
    return [number, groupField(number, ...members)];
  }
  if (roll < 0.4) {
    ctx.features.add(WireFeature.UNKNOWN_VARINT);
    return [number, varintField(number, ctx.random.chance(0.5) ? BigInt(ctx.random.int(300)) : ctx.random.uint64())];
  }
  if (roll < 0.55) {
    ctx.features.add(WireFeature.UNKNOWN_FIXED32);
    return [number, fixed32Field(number, ctx.random.int(2 ** 32))];
  }
  if (roll < 0.7) {
    ctx.features.add(WireFeature.UNKNOWN_FIXED64);
    return [number, fixed64Field(number, ctx.random.uint64())];
  }
  ctx.features.add(WireFeature.UNKNOWN_LEN);
  return [number, bytesField(number, hex(ctx.random.hex(ctx.random.int(13))))];
}

/**
 * The fields in field-number order, or (when shuffling) in a random interleaving that keeps
 * the occurrences of each field in their order, since that order carries meaning for
 * repeated fields and for last-wins scalars.
 */
function orderFields(spec: MessageSpec, runs: readonly FieldRun[], ctx: WireContext): Uint8Array[] {
  if (!ctx.oddities.shuffleFields || !ctx.random.chance(0.5)) {
    return [...runs].sort((a, b) => a.number - b.number).flatMap((run) => run.parts);
  }
  const queues = runs.map((run) => ({ number: run.number, parts: [...run.parts] }));
  const out: Uint8Array[] = [];
  const numbers: number[] = [];
  for (
    let live = queues.filter((q) => q.parts.length > 0);
    live.length > 0;
    live = live.filter((q) => q.parts.length > 0)
  ) {
    const queue = ctx.random.pick(live);
    const part = queue.parts.shift();
    if (part !== undefined) {
      out.push(part);
      numbers.push(queue.number);
    }
  }
  if (numbers.some((n, i) => i > 0 && n < (numbers[i - 1] ?? 0))) ctx.features.add(WireFeature.SHUFFLED_FIELDS);
  if (
    spec.name.startsWith('Resource') &&
    spec.name !== 'Resource' &&
    numbers.indexOf(3) >= 0 &&
    numbers.indexOf(1) > numbers.indexOf(3)
  ) {
    ctx.features.add(WireFeature.SCHEMA_URL_BEFORE_RESOURCE);
  }
  if (spec === SPAN && numbers.indexOf(1) > 0) ctx.features.add(WireFeature.TRACE_ID_NOT_FIRST);
  return out;
}

// --- content ------------------------------------------------------------------------------------

const SCHEMA_URLS = ['https://opentelemetry.io/schemas/1.26.0', 'https://opentelemetry.io/schemas/1.9.0', ''];
const SERVICE_NAMES = ['frontend', 'checkout', 'cart', 'payment', 'ad', 'quote', 'product-catalog'];
const SPAN_NAMES = [
  'GET /api/cart',
  'POST /api/checkout',
  'SELECT orders',
  'oteldemo.CartService/GetCart',
  'process',
  'HTTP GET',
];
const ATTRIBUTE_KEYS = [
  'http.request.method',
  'http.route',
  'user.id',
  'db.system',
  'peer.service',
  'server.port',
  'error.type',
  'retry.count',
];
const RESOURCE_KEYS = [
  'host.name',
  'k8s.pod.name',
  'k8s.namespace.name',
  'service.version',
  'service.namespace',
  'telemetry.sdk.language',
];

const hexBytes = (length: number): Arbitrary<string> =>
  fc.uint8Array({ minLength: length, maxLength: length }).map(toHex);

const textArbitrary: Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SPAN_NAMES, 'INFO', 'shop', 'ok') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

const int64Arbitrary: Arbitrary<string> = fc
  .oneof(fc.integer({ min: -1000, max: 1000 }).map(BigInt), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }))
  .map(String);

const uint64Arbitrary: Arbitrary<string> = fc
  .oneof(
    { weight: 6, arbitrary: fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_900_000_000_000_000_000n }) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
    { weight: 1, arbitrary: fc.constantFrom(0n, 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n) },
  )
  .map(String);

/** Counts (`uint32`): mostly small, sometimes the default 0 written out, sometimes the maximum. */
const countArbitrary: Arbitrary<number> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 0xffff_ffff) },
);

/** `fixed32` flags: the usual W3C/remote combinations, sometimes any 32 bits. */
const flagsArbitrary: Arbitrary<number> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(1, 0x100, 0x101, 0x301, 0) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
);

/** Enums are open in proto3: mostly named values, sometimes 0 written out, sometimes unnamed. */
const enumArbitrary = (max: number): Arbitrary<number> =>
  fc.oneof(
    { weight: 10, arbitrary: fc.integer({ min: 1, max }) },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: max + 1, max: 0x7fff_ffff }) },
  );

const keyArbitrary: Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ATTRIBUTE_KEYS) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
);

const values = fc.letrec<{ anyValue: AnyValue; keyValue: KeyValue }>((tie) => ({
  anyValue: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'any-value' },
    { weight: 6, arbitrary: fc.record({ stringValue: textArbitrary }) },
    { weight: 1, arbitrary: fc.record({ boolValue: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ intValue: int64Arbitrary }) },
    { weight: 1, arbitrary: fc.record({ doubleValue: fc.double() }) },
    { weight: 1, arbitrary: fc.record({ bytesValue: fc.uint8Array({ maxLength: 8 }).map(toHex) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        arrayValue: fc.record(
          { values: fc.array(tie('anyValue'), { maxLength: 3, depthIdentifier: 'any-value' }) },
          { requiredKeys: [] },
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kvlistValue: fc.record(
          { values: fc.array(tie('keyValue'), { maxLength: 3, depthIdentifier: 'any-value' }) },
          { requiredKeys: [] },
        ),
      }),
    },
    { weight: 1, arbitrary: fc.constant({}) },
  ),
  keyValue: fc.record({ key: keyArbitrary, value: tie('anyValue') }, { requiredKeys: ['key'] }),
}));

/** Any `AnyValue`: every member type, nested arrays and key-value lists, and the empty value. */
export const anyValueArbitrary: Arbitrary<AnyValue> = values.anyValue;

/** Attributes with unique keys, in a random order. */
export function attributesArbitrary(maxLength = 5, exceptKey?: string): Arbitrary<KeyValue[]> {
  const keyValue = exceptKey === undefined ? values.keyValue : values.keyValue.filter((kv) => kv.key !== exceptKey);
  return fc.uniqueArray(keyValue, { selector: (kv) => kv.key ?? '', maxLength });
}

const SERVICE_NAME = 'service.name';

const resourceAttributeArbitrary: Arbitrary<KeyValue> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ key: fc.constantFrom(...RESOURCE_KEYS), value: fc.record({ stringValue: textArbitrary }) }),
  },
  { weight: 1, arbitrary: values.keyValue.filter((kv) => kv.key !== SERVICE_NAME) },
);

const entityRefArbitrary: Arbitrary<EntityRef> = fc.record(
  {
    schemaUrl: fc.constantFrom(...SCHEMA_URLS),
    type: fc.constantFrom('service', 'host', 'k8s.pod'),
    idKeys: fc.constantFrom([SERVICE_NAME], ['host.name'], ['k8s.pod.name', 'k8s.namespace.name']),
    descriptionKeys: fc.constantFrom([], ['service.version']),
  },
  { requiredKeys: ['type', 'idKeys'] },
);

/**
 * A resource whose `service.name` is mostly a string from `serviceNames`, sometimes another
 * `AnyValue` (int, bool, empty string, empty value) and sometimes absent, at any position
 * among the other attributes.
 */
export function resourceArbitrary(serviceNames: readonly string[]): Arbitrary<Resource> {
  const serviceName: Arbitrary<AnyValue | null> = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...serviceNames).map((name): AnyValue => ({ stringValue: name })) },
    { weight: 1, arbitrary: fc.record({ intValue: int64Arbitrary }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<AnyValue>(
        { boolValue: true },
        { stringValue: '' },
        {},
        { arrayValue: { values: [{ stringValue: 'x' }] } },
      ),
    },
    { weight: 2, arbitrary: fc.constant(null) },
  );
  return fc
    .record(
      {
        serviceName,
        position: fc.nat({ max: 8 }),
        others: fc.uniqueArray(resourceAttributeArbitrary, { selector: (kv) => kv.key ?? '', maxLength: 5 }),
        droppedAttributesCount: countArbitrary,
        entityRefs: fc.array(entityRefArbitrary, { maxLength: 1 }),
      },
      { requiredKeys: ['serviceName', 'position', 'others'] },
    )
    .map(({ serviceName: value, position, others, ...rest }): Resource => {
      const attributes = [...others];
      if (value !== null) attributes.splice(position % (attributes.length + 1), 0, { key: SERVICE_NAME, value });
      return { attributes, ...rest };
    });
}

/** An instrumentation scope; all fields optional. */
export const scopeArbitrary: Arbitrary<InstrumentationScope> = fc.record(
  {
    name: fc.constantFrom('io.opentelemetry.http', 'io.opentelemetry.jdbc', 'github.com/acme/shop', ''),
    version: fc.constantFrom('2.8.0', '1.0.0', ''),
    attributes: attributesArbitrary(2),
    droppedAttributesCount: countArbitrary,
  },
  { requiredKeys: [] },
);

/**
 * A trace ID as a span writes it: mostly one of `pool` (so traces spread over resources and
 * scopes); sometimes absent, empty (written with zero length), all zeroes, or a fresh one.
 */
function traceIdChoice(pool: readonly string[]): Arbitrary<string | null> {
  return fc.oneof(
    { weight: 14, arbitrary: fc.constantFrom(...pool) },
    { weight: 2, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constant('00'.repeat(16)) },
    { weight: 1, arbitrary: hexBytes(16) },
  );
}

const statusArbitrary: Arbitrary<Status> = fc.record(
  { message: fc.constantFrom('deadline exceeded', 'ok', ''), code: enumArbitrary(2) },
  { requiredKeys: [] },
);

const eventArbitrary: Arbitrary<SpanEvent> = fc.record(
  {
    timeUnixNano: uint64Arbitrary,
    name: fc.constantFrom('exception', 'message', 'retry', ''),
    attributes: attributesArbitrary(2),
    droppedAttributesCount: countArbitrary,
  },
  { requiredKeys: ['name'] },
);

function linkArbitrary(traceIds: readonly string[]): Arbitrary<SpanLink> {
  return fc.record(
    {
      traceId: fc.oneof(fc.constantFrom(...traceIds), hexBytes(16)),
      spanId: hexBytes(8),
      traceState: fc.constantFrom('rojo=00f067aa0ba902b7', ''),
      attributes: attributesArbitrary(2),
      droppedAttributesCount: countArbitrary,
      flags: flagsArbitrary,
    },
    { requiredKeys: ['traceId', 'spanId'] },
  );
}

/** A span whose trace ID comes from `traceIds` (see {@link traceIdChoice}). */
export function spanArbitrary(traceIds: readonly string[]): Arbitrary<Span> {
  return fc
    .record(
      {
        traceId: traceIdChoice(traceIds),
        span: fc.record(
          {
            spanId: fc.oneof({ weight: 10, arbitrary: hexBytes(8) }, { weight: 1, arbitrary: fc.constant('') }),
            traceState: fc.constantFrom('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', ''),
            parentSpanId: hexBytes(8),
            flags: flagsArbitrary,
            name: textArbitrary,
            kind: enumArbitrary(5),
            startTimeUnixNano: uint64Arbitrary,
            endTimeUnixNano: uint64Arbitrary,
            attributes: attributesArbitrary(6),
            droppedAttributesCount: countArbitrary,
            events: fc.array(eventArbitrary, { maxLength: 2 }),
            droppedEventsCount: countArbitrary,
            links: fc.array(linkArbitrary(traceIds), { maxLength: 2 }),
            droppedLinksCount: countArbitrary,
            status: statusArbitrary,
          },
          { requiredKeys: ['spanId', 'name', 'startTimeUnixNano', 'endTimeUnixNano'] },
        ),
      },
      { requiredKeys: ['traceId', 'span'] },
    )
    .map(({ traceId, span }): Span => (traceId === null ? span : { traceId, ...span }));
}

/**
 * A log record; most carry no trace context (as most logs do), some a trace ID from
 * `traceIds` with a span ID, a few only one of the two.
 */
export function logRecordArbitrary(traceIds: readonly string[]): Arbitrary<LogRecord> {
  const traceContext: Arbitrary<Pick<LogRecord, 'traceId' | 'spanId' | 'flags'>> = fc.oneof(
    { weight: 12, arbitrary: fc.constant({}) },
    {
      weight: 5,
      arbitrary: fc.record(
        { traceId: fc.constantFrom(...traceIds), spanId: hexBytes(8), flags: flagsArbitrary },
        { requiredKeys: ['traceId', 'spanId'] },
      ),
    },
    { weight: 1, arbitrary: fc.record({ traceId: fc.constantFrom('', '00'.repeat(16)) }) },
    { weight: 1, arbitrary: fc.record({ spanId: hexBytes(8) }) },
  );
  const body: Arbitrary<AnyValue> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ stringValue: fc.constantFrom('order placed', 'connection reset by peer', '') }),
    },
    { weight: 1, arbitrary: anyValueArbitrary },
  );
  return fc
    .record(
      {
        context: traceContext,
        record: fc.record(
          {
            timeUnixNano: uint64Arbitrary,
            observedTimeUnixNano: uint64Arbitrary,
            severityNumber: enumArbitrary(24),
            severityText: fc.constantFrom('INFO', 'WARN', 'ERROR', 'DEBUG', ''),
            body,
            attributes: attributesArbitrary(4),
            droppedAttributesCount: countArbitrary,
            eventName: fc.constantFrom('browser.page_view', 'session.start', ''),
          },
          { requiredKeys: ['observedTimeUnixNano'] },
        ),
      },
      { requiredKeys: ['context', 'record'] },
    )
    .map(({ context, record }): LogRecord => ({ ...record, ...context }));
}

/** Options of {@link tracesRequestArbitrary} and {@link logsRequestArbitrary}. */
export interface RequestArbitraryOptions {
  /** Most `ResourceSpans`/`ResourceLogs` in a request. Default 4. */
  readonly maxResources?: number;
  /** Most scopes per resource. Default 3. */
  readonly maxScopes?: number;
  /** Most spans or log records per scope. Default 6. */
  readonly maxItems?: number;
  /** A wire style, or `mixed` for either (shrinking towards canonical). Default `mixed`. */
  readonly style?: WireStyle | 'mixed';
  /** Oddities the `odd` style may use; unspecified ones are on. */
  readonly oddities?: Partial<Oddities>;
}

interface Pools {
  readonly traceIds: string[];
  readonly serviceNames: string[];
}

const poolsArbitrary: Arbitrary<Pools> = fc.record({
  traceIds: fc.uniqueArray(hexBytes(16), { minLength: 1, maxLength: 5 }),
  serviceNames: fc.uniqueArray(
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...SERVICE_NAMES) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }) },
    ),
    {
      minLength: 1,
      maxLength: 3,
    },
  ),
});

function styleArbitrary(style: WireStyle | 'mixed' | undefined): Arbitrary<WireStyle> {
  return style === undefined || style === 'mixed'
    ? fc.constantFrom(WireStyle.CANONICAL, WireStyle.ODD)
    : fc.constant(style);
}

/** The content of a traces request (no wire choices), for hand-made properties. */
export function tracesContentArbitrary(options: RequestArbitraryOptions = {}): Arbitrary<ExportTraceServiceRequest> {
  const { maxResources = 4, maxScopes = 3, maxItems = 6 } = options;
  return poolsArbitrary.chain(({ traceIds, serviceNames }) => {
    const scopeSpans: Arbitrary<ScopeSpans> = fc.record(
      {
        scope: scopeArbitrary,
        spans: fc.array(spanArbitrary(traceIds), { maxLength: maxItems }),
        schemaUrl: fc.constantFrom(...SCHEMA_URLS),
      },
      { requiredKeys: ['spans'] },
    );
    const resourceSpans: Arbitrary<ResourceSpans> = fc.record(
      {
        resource: resourceArbitrary(serviceNames),
        scopeSpans: fc.array(scopeSpans, { maxLength: maxScopes }),
        schemaUrl: fc.constantFrom(...SCHEMA_URLS),
      },
      { requiredKeys: ['scopeSpans'] },
    );
    return fc.record({ resourceSpans: fc.array(resourceSpans, { maxLength: maxResources }) });
  });
}

/** The content of a logs request (no wire choices), for hand-made properties. */
export function logsContentArbitrary(options: RequestArbitraryOptions = {}): Arbitrary<ExportLogsServiceRequest> {
  const { maxResources = 4, maxScopes = 3, maxItems = 6 } = options;
  return poolsArbitrary.chain(({ traceIds, serviceNames }) => {
    const scopeLogs: Arbitrary<ScopeLogs> = fc.record(
      {
        scope: scopeArbitrary,
        logRecords: fc.array(logRecordArbitrary(traceIds), { maxLength: maxItems }),
        schemaUrl: fc.constantFrom(...SCHEMA_URLS),
      },
      { requiredKeys: ['logRecords'] },
    );
    const resourceLogs: Arbitrary<ResourceLogs> = fc.record(
      {
        resource: resourceArbitrary(serviceNames),
        scopeLogs: fc.array(scopeLogs, { maxLength: maxScopes }),
        schemaUrl: fc.constantFrom(...SCHEMA_URLS),
      },
      { requiredKeys: ['scopeLogs'] },
    );
    return fc.record({ resourceLogs: fc.array(resourceLogs, { maxLength: maxResources }) });
  });
}

/**
 * Random `ExportTraceServiceRequest` bytes with what they decode to. Shrinks towards fewer
 * resources, scopes and spans and towards the canonical style.
 */
export function tracesRequestArbitrary(
  options: RequestArbitraryOptions = {},
): Arbitrary<GeneratedRequest<ExportTraceServiceRequest>> {
  return fc
    .record({ content: tracesContentArbitrary(options), style: styleArbitrary(options.style), seed: fc.integer() })
    .map(({ content, style, seed }) => ({
      ...encodeTracesWire(content, {
        style,
        seed,
        ...(options.oddities === undefined ? {} : { oddities: options.oddities }),
      }),
      style,
      seed,
    }));
}

/** The logs counterpart of {@link tracesRequestArbitrary}. */
export function logsRequestArbitrary(
  options: RequestArbitraryOptions = {},
): Arbitrary<GeneratedRequest<ExportLogsServiceRequest>> {
  return fc
    .record({ content: logsContentArbitrary(options), style: styleArbitrary(options.style), seed: fc.integer() })
    .map(({ content, style, seed }) => ({
      ...encodeLogsWire(content, {
        style,
        seed,
        ...(options.oddities === undefined ? {} : { oddities: options.oddities }),
      }),
      style,
      seed,
    }));
}
