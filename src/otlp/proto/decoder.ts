/**
 * The full OTLP decoder and encoder, for the edges only: tests, the debug exporter and
 * OTLP/JSON. The hot path never calls it; it walks the wire format instead (`../traces.ts`,
 * `../logs.ts`).
 *
 * It loads the `.proto` files beside this module once, with protobufjs, on first use, and
 * converts between protobuf bytes and the plain objects of `messages.ts` (bytes as hex,
 * 64-bit integers as decimal strings, enums as numbers, defaults left out).
 *
 * Decoding follows protobuf semantics as protobufjs implements them: unknown fields of any
 * wire type (groups included) are skipped; a singular embedded message that occurs more than
 * once is merged (repeated fields concatenated, scalars last-wins); a scalar that occurs more
 * than once takes the last value.
 */

import path from 'node:path';
import protobuf from 'protobufjs';
import type { IConversionOptions, Message, Root, Type } from 'protobufjs';

import { ErrorCode, OtelLbError } from '../../errors.ts';
import type {
  ExportLogsServiceRequest,
  ExportLogsServiceResponse,
  ExportMetricsServiceRequest,
  ExportMetricsServiceResponse,
  ExportTraceServiceRequest,
  ExportTraceServiceResponse,
} from './messages.ts';

/** Fully qualified names of the OTLP service messages this module encodes and decodes. */
export const OtlpMessageName = {
  TRACES_REQUEST: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
  TRACES_RESPONSE: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse',
  LOGS_REQUEST: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
  LOGS_RESPONSE: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse',
  METRICS_REQUEST: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
  METRICS_RESPONSE: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse',
} as const;
export type OtlpMessageName = (typeof OtlpMessageName)[keyof typeof OtlpMessageName];

/** The plain-object type of each message in {@link OtlpMessageName}. */
export interface OtlpMessageTypes {
  [OtlpMessageName.TRACES_REQUEST]: ExportTraceServiceRequest;
  [OtlpMessageName.TRACES_RESPONSE]: ExportTraceServiceResponse;
  [OtlpMessageName.LOGS_REQUEST]: ExportLogsServiceRequest;
  [OtlpMessageName.LOGS_RESPONSE]: ExportLogsServiceResponse;
  [OtlpMessageName.METRICS_REQUEST]: ExportMetricsServiceRequest;
  [OtlpMessageName.METRICS_RESPONSE]: ExportMetricsServiceResponse;
}

/** Where the `.proto` files live, and the import prefix they use for each other upstream. */
const PROTO_DIR = import.meta.dirname;
const UPSTREAM_IMPORT_PREFIX = 'opentelemetry/proto/';
const ENTRY_FILES = [
  'collector/trace/v1/trace_service.proto',
  'collector/logs/v1/logs_service.proto',
  'collector/metrics/v1/metrics_service.proto',
];

/**
 * Options for `Type.toObject`; bytes stay as the reader's views here and become hex in
 * {@link bytesToHex}, because protobufjs offers only base64 or number arrays.
 */
const TO_OBJECT_OPTIONS: IConversionOptions = {
  longs: String,
  enums: Number,
  defaults: false,
  arrays: false,
  objects: false,
  oneofs: false,
  json: false,
};

let loadedRoot: Root | undefined;

/**
 * The OTLP schema as a resolved protobufjs {@link Root}, loaded from disk on the first call
 * and shared afterwards. Callers must not add to or change it.
 *
 * Use it to reach message types this module has no helper for, e.g.
 * `otlpRoot().lookupType('opentelemetry.proto.trace.v1.Span')`.
 *
 * @throws Error (from protobufjs) if a `.proto` file is missing or does not parse: a broken
 *   installation, not bad input.
 */
export function otlpRoot(): Root {
  loadedRoot ??= loadRoot();
  return loadedRoot;
}

function loadRoot(): Root {
  const root = new protobuf.Root();
  // Upstream imports spell `opentelemetry/proto/<file>`; the files sit here without the prefix.
  root.resolvePath = (origin, target) =>
    target.startsWith(UPSTREAM_IMPORT_PREFIX)
      ? path.join(PROTO_DIR, target.slice(UPSTREAM_IMPORT_PREFIX.length))
      : protobuf.util.path.resolve(origin, target);
  root.loadSync(ENTRY_FILES.map((file) => path.join(PROTO_DIR, file)));
  root.resolveAll();
  return root;
}

/**
 * Decodes protobuf bytes of the named OTLP message into its plain object (see
 * `messages.ts`). The result shares no memory with `bytes`.
 *
 * @throws OtelLbError with code `ERR_OTLP_MALFORMED` if `bytes` is not a well-formed
 *   encoding of the message (truncated, bad length, bad wire type, unterminated group).
 */
export function decodeOtlp<N extends OtlpMessageName>(name: N, bytes: Uint8Array): OtlpMessageTypes[N] {
  const type = otlpRoot().lookupType(name);
  let message: Message;
  try {
    message = type.decode(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OtelLbError(ErrorCode.OTLP_MALFORMED, `malformed ${type.name} (${bytes.length} bytes): ${reason}`, {
      cause: error,
    });
  }
  // The shape is the schema's; messages.ts mirrors it and the decoder tests pin the two together.
  return bytesToHex(type.toObject(message, TO_OBJECT_OPTIONS)) as OtlpMessageTypes[N];
}

/**
 * Encodes the plain object of the named OTLP message (see `messages.ts`) into protobuf
 * bytes, fields in field-number order and defaults left out, as protobufjs writes them.
 *
 * @throws TypeError if `message` does not have the message's shape (a bytes field that is not
 *   even-length hex, a non-object where a message belongs, …): a programming error.
 */
export function encodeOtlp<N extends OtlpMessageName>(name: N, message: OtlpMessageTypes[N]): Uint8Array {
  const type = otlpRoot().lookupType(name);
  const encoded = type.encode(type.fromObject(hexToBytes(type, message, name))).finish();
  // A plain Uint8Array view (not a Buffer) so results compare equal with assert.deepStrictEqual.
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

/** Decodes an `ExportTraceServiceRequest`; see {@link decodeOtlp}. */
export function decodeTracesRequest(bytes: Uint8Array): ExportTraceServiceRequest {
  return decodeOtlp(OtlpMessageName.TRACES_REQUEST, bytes);
}

/** Encodes an `ExportTraceServiceRequest`; see {@link encodeOtlp}. */
export function encodeTracesRequest(request: ExportTraceServiceRequest): Uint8Array {
  return encodeOtlp(OtlpMessageName.TRACES_REQUEST, request);
}

/** Decodes an `ExportTraceServiceResponse`; see {@link decodeOtlp}. */
export function decodeTracesResponse(bytes: Uint8Array): ExportTraceServiceResponse {
  return decodeOtlp(OtlpMessageName.TRACES_RESPONSE, bytes);
}

/** Encodes an `ExportTraceServiceResponse`; see {@link encodeOtlp}. */
export function encodeTracesResponse(response: ExportTraceServiceResponse): Uint8Array {
  return encodeOtlp(OtlpMessageName.TRACES_RESPONSE, response);
}

/** Decodes an `ExportLogsServiceRequest`; see {@link decodeOtlp}. */
export function decodeLogsRequest(bytes: Uint8Array): ExportLogsServiceRequest {
  return decodeOtlp(OtlpMessageName.LOGS_REQUEST, bytes);
}

/** Encodes an `ExportLogsServiceRequest`; see {@link encodeOtlp}. */
export function encodeLogsRequest(request: ExportLogsServiceRequest): Uint8Array {
  return encodeOtlp(OtlpMessageName.LOGS_REQUEST, request);
}

/** Decodes an `ExportLogsServiceResponse`; see {@link decodeOtlp}. */
export function decodeLogsResponse(bytes: Uint8Array): ExportLogsServiceResponse {
  return decodeOtlp(OtlpMessageName.LOGS_RESPONSE, bytes);
}

/** Encodes an `ExportLogsServiceResponse`; see {@link encodeOtlp}. */
export function encodeLogsResponse(response: ExportLogsServiceResponse): Uint8Array {
  return encodeOtlp(OtlpMessageName.LOGS_RESPONSE, response);
}

/** Decodes an `ExportMetricsServiceRequest`; see {@link decodeOtlp}. */
export function decodeMetricsRequest(bytes: Uint8Array): ExportMetricsServiceRequest {
  return decodeOtlp(OtlpMessageName.METRICS_REQUEST, bytes);
}

/** Encodes an `ExportMetricsServiceRequest`; see {@link encodeOtlp}. */
export function encodeMetricsRequest(request: ExportMetricsServiceRequest): Uint8Array {
  return encodeOtlp(OtlpMessageName.METRICS_REQUEST, request);
}

/** Decodes an `ExportMetricsServiceResponse`; see {@link decodeOtlp}. */
export function decodeMetricsResponse(bytes: Uint8Array): ExportMetricsServiceResponse {
  return decodeOtlp(OtlpMessageName.METRICS_RESPONSE, bytes);
}

/** Encodes an `ExportMetricsServiceResponse`; see {@link encodeOtlp}. */
export function encodeMetricsResponse(response: ExportMetricsServiceResponse): Uint8Array {
  return encodeOtlp(OtlpMessageName.METRICS_RESPONSE, response);
}

/**
 * Replaces every byte array in a `toObject` result by its hex string. Only `bytes` fields
 * produce byte arrays there (longs are strings, enums numbers), so no schema is needed.
 */
function bytesToHex(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (Array.isArray(value)) return value.map(bytesToHex);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = bytesToHex(field);
    return out;
  }
  return value;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Returns a copy of a plain message with every hex string in a `bytes` field replaced by its
 * bytes, walking the schema so that ordinary strings are left alone.
 */
function hexToBytes(type: Type, message: unknown, where: string): Record<string, unknown> {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new TypeError(`${where}: expected a ${type.name} object`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    const field = type.fields[key];
    if (field === undefined || value === undefined) {
      out[key] = value;
      continue;
    }
    const convert = (element: unknown, at: string): unknown => {
      const resolved = field.resolvedType;
      if (resolved instanceof protobuf.Type) return hexToBytes(resolved, element, at);
      if (field.type === 'bytes' && typeof element === 'string') {
        if (!HEX.test(element)) throw new TypeError(`${at}: expected even-length hex, got ${JSON.stringify(element)}`);
        return Buffer.from(element, 'hex');
      }
      return element;
    };
    out[key] =
      field.repeated && Array.isArray(value)
        ? value.map((element, i) => convert(element, `${where}.${key}[${i}]`))
        : convert(value, `${where}.${key}`);
  }
  return out;
}
