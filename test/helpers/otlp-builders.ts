/**
 * Deterministic builders of realistic OTLP export requests of a given size, for tests and
 * benchmarks that need "a normal batch" rather than the odd ones of `otlp-arbitraries.ts`.
 *
 * The same options and seed always give the same bytes. The requests look like what a
 * collector gateway forwards: one `ResourceSpans` per service instance, each with a few
 * instrumentation scopes, and the spans of one trace spread over the services it touched,
 * interleaved with other traces in the order they ended. Fields are written in field-number
 * order with defaults left out, as the Go and Java SDKs do.
 */

import { encodeLogsRequest, encodeTracesRequest } from '../../src/otlp/proto/decoder.ts';
import type {
  AnyValue,
  KeyValue,
  LogRecord,
  Resource,
  ResourceLogs,
  ResourceSpans,
  ScopeLogs,
  ScopeSpans,
  Span,
} from '../../src/otlp/proto/messages.ts';
import { SpanFlags, SpanKind, StatusCode } from '../../src/otlp/proto/messages.ts';

/** A seeded pseudo-random source (sfc32); not for cryptography. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** A uniformly chosen element; throws RangeError on an empty array. */
  pick<T>(items: readonly T[]): T;
  /** `length` random bytes as lowercase hex. */
  hex(length: number): string;
  /** A random unsigned 64-bit integer. */
  uint64(): bigint;
  /** `length` random bytes. */
  bytes(length: number): Uint8Array;
}

/** A {@link Random} whose sequence is fixed by `seed` (any 32-bit integer). */
export function createRandom(seed: number): Random {
  let a = 0x9e37_79b9;
  let b = 0x243f_6a88;
  let c = 0xb7e1_5162;
  let d = seed | 0;
  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextUint32();

  const random: Random = {
    next: () => nextUint32() / 2 ** 32,
    int: (maxExclusive) => Math.floor(random.next() * maxExclusive),
    chance: (p) => random.next() < p,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError('pick from an empty array');
      return items[random.int(items.length)] as T;
    },
    hex: (length) => {
      let out = '';
      for (let i = 0; i < length; i++) out += (nextUint32() & 0xff).toString(16).padStart(2, '0');
      return out;
    },
    uint64: () => (BigInt(nextUint32()) << 32n) | BigInt(nextUint32()),
    bytes: (length) => {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = nextUint32() & 0xff;
      return out;
    },
  };
  return random;
}

/** Options of {@link buildTracesRequest}. */
export interface TracesRequestOptions {
  /** Distinct `service.name` values. Default 5. */
  readonly services?: number;
  /** Distinct traces. Default 250. */
  readonly traces?: number;
  /** Spans per trace. Default 20. */
  readonly spansPerTrace?: number;
  /** Instances (pods) per service, each its own `ResourceSpans`. Default 1. */
  readonly instancesPerService?: number;
  /** Seed of the pseudo-random choices. Default 1. */
  readonly seed?: number;
}

/** Options of {@link buildLogsRequest}. */
export interface LogsRequestOptions {
  /** Distinct `service.name` values. Default 5. */
  readonly services?: number;
  /** Log records in the request. Default 5,000. */
  readonly logRecords?: number;
  /** Fraction of records that carry a trace and span ID (from a pool of traces). Default 0.3. */
  readonly tracedFraction?: number;
  /** Instances (pods) per service, each its own `ResourceLogs`. Default 1. */
  readonly instancesPerService?: number;
  /** Seed of the pseudo-random choices. Default 1. */
  readonly seed?: number;
}

/**
 * The services of the OpenTelemetry demo, then `service-N`: realistic names of varied length.
 */
const SERVICE_NAMES = [
  'frontend',
  'checkout',
  'cart',
  'payment',
  'shipping',
  'email',
  'currency',
  'recommendation',
  'ad',
  'quote',
  'product-catalog',
  'fraud-detection',
  'accounting',
  'image-provider',
];

const SCOPES = [
  { name: 'io.opentelemetry.http', version: '2.8.0' },
  { name: 'io.opentelemetry.grpc', version: '2.8.0' },
  { name: 'io.opentelemetry.jdbc', version: '2.8.0' },
];

const HTTP_ROUTES = ['/api/cart', '/api/checkout', '/api/products/{id}', '/api/currency', '/api/recommendations'];
const RPC_METHODS = ['GetCart', 'PlaceOrder', 'Charge', 'ShipOrder', 'Convert', 'ListProducts'];
const SQL = ['SELECT cart', 'UPDATE stock', 'INSERT orders'];
const LOG_MESSAGES = [
  'order placed',
  'payment authorized for order',
  'cache miss, loading product from catalog',
  'retrying request to downstream service',
  'connection pool exhausted, waiting for a free connection',
  'user session refreshed',
];
const SEVERITIES = [
  { number: 9, text: 'INFO' },
  { number: 5, text: 'DEBUG' },
  { number: 13, text: 'WARN' },
  { number: 17, text: 'ERROR' },
];

/** 2024-01-01T00:00:00Z in nanoseconds: a fixed base keeps the bytes reproducible. */
const BASE_TIME_NS = 1_704_067_200_000_000_000n;

function serviceName(index: number): string {
  return SERVICE_NAMES[index] ?? `service-${index}`;
}

function str(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}

function int(key: string, value: number): KeyValue {
  return { key, value: { intValue: String(value) } };
}

function resourceOf(service: string, instance: number, random: Random): Resource {
  return {
    attributes: [
      str('service.name', service),
      str('service.namespace', 'shop'),
      str('service.version', `1.${random.int(20)}.${random.int(10)}`),
      str('service.instance.id', random.hex(8)),
      str('k8s.pod.name', `${service}-${random.hex(4)}-${instance}`),
      str('telemetry.sdk.language', random.pick(['java', 'go', 'nodejs', 'python'])),
      str('telemetry.sdk.name', 'opentelemetry'),
    ],
  };
}

interface Instance {
  readonly resource: Resource;
  readonly scopes: ScopeSpans[];
}

/**
 * An `ExportTraceServiceRequest` of `traces × spansPerTrace` spans, as protobuf bytes. With
 * the defaults (5 services, 250 traces of 20 spans) it is about 600 KB for 5,000 spans.
 *
 * Each trace starts with a SERVER span in a random service and grows as a call tree whose
 * spans stay in their parent's service or hop to another, so most traces touch several
 * services and therefore several `ResourceSpans`.
 */
export function buildTracesRequest(options: TracesRequestOptions = {}): Uint8Array {
  const { services = 5, traces = 250, spansPerTrace = 20, instancesPerService = 1, seed = 1 } = options;
  const random = createRandom(seed);
  const instances: Instance[][] = [];
  for (let s = 0; s < services; s++) {
    const row: Instance[] = [];
    for (let i = 0; i < instancesPerService; i++) {
      row.push({
        resource: resourceOf(serviceName(s), i, random),
        scopes: SCOPES.map((scope) => ({ scope: { ...scope } })),
      });
    }
    instances.push(row);
  }

  // Spans are emitted in the order they end, which interleaves concurrent traces.
  const pending: { service: number; span: Span }[][] = [];
  for (let t = 0; t < traces; t++) pending.push(buildTrace(random, services, spansPerTrace, t));
  while (pending.length > 0) {
    const index = random.int(pending.length);
    const trace = pending[index] ?? [];
    const next = trace.shift();
    if (trace.length === 0) pending.splice(index, 1);
    if (next === undefined) continue;
    const instance = random.pick(instances[next.service] ?? []);
    const scope = random.pick(instance.scopes);
    (scope.spans ??= []).push(next.span);
  }

  const resourceSpans: ResourceSpans[] = instances.flat().map((instance) => ({
    resource: instance.resource,
    scopeSpans: instance.scopes.filter((scope) => scope.spans !== undefined),
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  }));
  return encodeTracesRequest({ resourceSpans });
}

function buildTrace(
  random: Random,
  services: number,
  spanCount: number,
  traceIndex: number,
): { service: number; span: Span }[] {
  const traceId = random.hex(16);
  const start = BASE_TIME_NS + BigInt(traceIndex) * 7_000_000n + BigInt(random.int(5_000_000));
  const spans: { service: number; span: Span; start: bigint }[] = [];
  for (let i = 0; i < spanCount; i++) {
    const parent = i === 0 ? undefined : spans[random.int(spans.length)];
    const service = parent === undefined || random.chance(0.35) ? random.int(services) : parent.service;
    const hop = parent !== undefined && parent.service !== service;
    const spanStart = (parent?.start ?? start) + BigInt(random.int(2_000_000));
    const duration = BigInt(50_000 + random.int(3_000_000));
    const span: Span = {
      traceId,
      spanId: random.hex(8),
      ...(parent === undefined ? {} : { parentSpanId: parent.span.spanId ?? '' }),
      flags: SpanFlags.CONTEXT_HAS_IS_REMOTE_MASK | (hop ? SpanFlags.CONTEXT_IS_REMOTE_MASK : 0) | 0x01,
      ...spanContent(random, parent === undefined || hop),
      startTimeUnixNano: String(spanStart),
      endTimeUnixNano: String(spanStart + duration),
      ...(random.chance(0.04) ? { status: { code: StatusCode.ERROR, message: 'deadline exceeded' } } : {}),
    };
    spans.push({ service, span, start: spanStart });
  }
  return spans.map(({ service, span }) => ({ service, span }));
}

function spanContent(random: Random, isEntry: boolean): Pick<Span, 'name' | 'kind' | 'attributes'> {
  if (isEntry) {
    const route = random.pick(HTTP_ROUTES);
    return {
      name: `GET ${route}`,
      kind: SpanKind.SERVER,
      attributes: [str('http.route', route), int('http.response.status_code', 200)],
    };
  }
  if (random.chance(0.3)) {
    const query = random.pick(SQL);
    return { name: query, kind: SpanKind.CLIENT, attributes: [str('db.system', 'postgresql')] };
  }
  const method = random.pick(RPC_METHODS);
  return {
    name: `shop.${method}`,
    kind: random.chance(0.5) ? SpanKind.CLIENT : SpanKind.INTERNAL,
    attributes: [str('rpc.method', method)],
  };
}

/**
 * An `ExportLogsServiceRequest` of `logRecords` records, as protobuf bytes: one `ResourceLogs`
 * per service instance, one scope each, string bodies, severities, a few attributes, and
 * trace context on a `tracedFraction` of the records. With the defaults it is about 740 KB.
 */
export function buildLogsRequest(options: LogsRequestOptions = {}): Uint8Array {
  const { services = 5, logRecords = 5_000, tracedFraction = 0.3, instancesPerService = 1, seed = 1 } = options;
  const random = createRandom(seed);
  const scopes: { resource: Resource; scope: ScopeLogs }[] = [];
  for (let s = 0; s < services; s++) {
    for (let i = 0; i < instancesPerService; i++) {
      scopes.push({
        resource: resourceOf(serviceName(s), i, random),
        scope: { scope: { name: 'io.opentelemetry.logback-appender', version: '2.8.0' } },
      });
    }
  }
  const traceIds = Array.from({ length: Math.max(1, Math.ceil(logRecords / 20)) }, () => random.hex(16));
  for (let r = 0; r < logRecords; r++) {
    const time = String(BASE_TIME_NS + BigInt(r) * 1_000_000n + BigInt(random.int(1_000_000)));
    const severity = random.pick(SEVERITIES);
    const body: AnyValue = { stringValue: `${random.pick(LOG_MESSAGES)} ${random.hex(4)}` };
    const record: LogRecord = {
      timeUnixNano: time,
      observedTimeUnixNano: time,
      severityNumber: severity.number,
      severityText: severity.text,
      body,
      attributes: [str('thread.name', `worker-${random.int(16)}`), str('code.function.name', random.pick(RPC_METHODS))],
      ...(random.chance(tracedFraction) ? { traceId: random.pick(traceIds), spanId: random.hex(8), flags: 1 } : {}),
      ...(random.chance(0.05) ? { eventName: 'shop.order.placed' } : {}),
    };
    (random.pick(scopes).scope.logRecords ??= []).push(record);
  }
  const resourceLogs: ResourceLogs[] = scopes.map(({ resource, scope }) => ({
    resource,
    scopeLogs: scope.logRecords === undefined ? [] : [scope],
  }));
  return encodeLogsRequest({ resourceLogs });
}
