/**
 * OTLP/JSON from OTLP protobuf bytes, for the OTLP/HTTP client's `encoding = "json"`: an
 * edge, so it decodes the request fully with the schema of `otlp/proto` (protobufjs) and
 * writes the JSON mapping the OTLP specification asks for
 * (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
 *
 * - field names in lowerCamelCase; enums as integers; 64-bit integers as decimal strings;
 * - `traceId`, `spanId` and `parentSpanId` as hex (the OTLP exception), other bytes base64;
 * - NaN and ±Infinity as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`;
 * - default values left out.
 *
 * `otlp/json.ts` reads this back (the receiver's direction). Costs a full decode: use the
 * protobuf encoding where throughput matters.
 */

import type { IConversionOptions } from 'protobufjs';

import { otlpRoot, OtlpMessageName } from '../otlp/proto/decoder.ts';
import type { Signal } from '../otlp/signal.ts';

const REQUEST_MESSAGE: Readonly<Record<Signal, OtlpMessageName>> = {
  traces: OtlpMessageName.TRACES_REQUEST,
  logs: OtlpMessageName.LOGS_REQUEST,
  metrics: OtlpMessageName.METRICS_REQUEST,
};

const TO_OBJECT: IConversionOptions = {
  longs: String,
  enums: Number,
  bytes: String,
  defaults: false,
  arrays: false,
  objects: false,
  oneofs: false,
  json: true,
};

/** The ID fields OTLP/JSON writes as hex instead of base64, wherever they occur. */
const HEX_FIELDS: ReadonlySet<string> = new Set(['traceId', 'spanId', 'parentSpanId']);

/**
 * The OTLP/JSON text of one `Export*ServiceRequest`.
 *
 * @throws Error (from protobufjs) when `bytes` is not a well-formed request of `signal`.
 */
export function otlpProtobufToJson(signal: Signal, bytes: Uint8Array): string {
  const type = otlpRoot().lookupType(REQUEST_MESSAGE[signal]);
  const object = type.toObject(type.decode(bytes), TO_OBJECT);
  return JSON.stringify(idsToHex(object));
}

/** Rewrites the base64 of every ID field as hex (IDs sit at several depths: spans, links, log records, exemplars). */
function idsToHex(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(idsToHex);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    out[key] =
      HEX_FIELDS.has(key) && typeof field === 'string' ? Buffer.from(field, 'base64').toString('hex') : idsToHex(field);
  }
  return out;
}
