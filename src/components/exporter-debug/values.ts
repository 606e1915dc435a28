/**
 * How the debug exporter prints OTLP values, after the Collector's `otlptext` marshalers:
 * `AnyValue`s as `Str(text)`, `Int(1)`, `Double(1.5)`, `Bool(true)`, `Bytes(base64)`,
 * `Map({…})`, `Slice([…])` or `Empty()`; timestamps in Go's default time layout
 * (`2023-11-11 04:49:03.509369393 +0000 UTC`); enums by their upstream names. The format is
 * for people and explicitly unstable upstream.
 */

import type { AnyValue, KeyValue } from '../../otlp/proto/messages.ts';

/** `AnyValue.AsString()`: text as it is, numbers and booleans as text, bytes as base64, maps and lists as JSON. */
export function valueAsString(value: AnyValue | undefined): string {
  if (value === undefined) return '';
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return value.intValue;
  if (value.doubleValue !== undefined) return formatDouble(value.doubleValue);
  if (value.boolValue !== undefined) return String(value.boolValue);
  if (value.bytesValue !== undefined) return Buffer.from(value.bytesValue, 'hex').toString('base64');
  if (value.arrayValue !== undefined || value.kvlistValue !== undefined) return JSON.stringify(rawValue(value));
  return '';
}

/** The value as `Type(text)`. */
export function typedValue(value: AnyValue | undefined): string {
  return `${valueType(value)}(${valueAsString(value)})`;
}

function valueType(value: AnyValue | undefined): string {
  if (value === undefined) return 'Empty';
  if (value.stringValue !== undefined) return 'Str';
  if (value.intValue !== undefined) return 'Int';
  if (value.doubleValue !== undefined) return 'Double';
  if (value.boolValue !== undefined) return 'Bool';
  if (value.bytesValue !== undefined) return 'Bytes';
  if (value.kvlistValue !== undefined) return 'Map';
  if (value.arrayValue !== undefined) return 'Slice';
  return 'Empty';
}

/** The value as JSON would hold it (`AsRaw`). */
function rawValue(value: AnyValue | undefined): unknown {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined)
    return Number.isFinite(value.doubleValue) ? value.doubleValue : String(value.doubleValue);
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.bytesValue !== undefined) return Buffer.from(value.bytesValue, 'hex').toString('base64');
  if (value.kvlistValue !== undefined) {
    return Object.fromEntries((value.kvlistValue.values ?? []).map((kv) => [kv.key ?? '', rawValue(kv.value)]));
  }
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(rawValue);
  return null;
}

/** A double as Go's `%v` would print it, near enough: shortest round-trip digits. */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** A double as Go's `%f`: six decimals. */
export function fixed6(value: number | undefined): string {
  const v = value ?? 0;
  return Number.isFinite(v) ? v.toFixed(6) : formatDouble(v);
}

/** `key=value` pairs of attributes (values as strings), in order. */
export function attributePairs(attributes: readonly KeyValue[] | undefined): string[] {
  return (attributes ?? []).map((kv) => `${kv.key ?? ''}=${valueAsString(kv.value)}`);
}

const NANOS_PER_MS = 1_000_000n;

/** Nanoseconds since the epoch (decimal text) in Go's layout, UTC; absent is the epoch. */
export function goTime(unixNano: string | undefined): string {
  const nanos = BigInt(unixNano ?? '0');
  const ms = nanos / NANOS_PER_MS;
  const date = new Date(Number(ms));
  if (Number.isNaN(date.getTime())) return `${nanos} ns since the epoch`;
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  const iso = date.toISOString(); // 2023-11-11T04:49:03.509Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction === '' ? '' : `.${fraction}`} +0000 UTC`;
}

const SPAN_KINDS = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];
const STATUS_CODES = ['Unset', 'Ok', 'Error'];
const TEMPORALITIES = ['Unspecified', 'Delta', 'Cumulative'];
const SEVERITY_NAMES = ['Trace', 'Debug', 'Info', 'Warn', 'Error', 'Fatal'];

export function spanKindName(kind: number | undefined): string {
  return SPAN_KINDS[kind ?? 0] ?? `SpanKind(${kind ?? 0})`;
}

export function statusCodeName(code: number | undefined): string {
  return STATUS_CODES[code ?? 0] ?? `StatusCode(${code ?? 0})`;
}

export function temporalityName(temporality: number | undefined): string {
  return TEMPORALITIES[temporality ?? 0] ?? `AggregationTemporality(${temporality ?? 0})`;
}

/** `Info(9)`, `Warn2(14)`, `Unspecified(0)`. */
export function severityName(severity: number | undefined): string {
  const n = severity ?? 0;
  if (n < 1 || n > 24) return `${n === 0 ? 'Unspecified' : 'SeverityNumber'}(${n})`;
  const base = SEVERITY_NAMES[Math.floor((n - 1) / 4)] ?? 'SeverityNumber';
  const step = (n - 1) % 4;
  return `${base}${step === 0 ? '' : String(step + 1)}(${n})`;
}
