/**
 * OTLP messages as plain objects: the shape `decoder.ts` decodes to and encodes from.
 *
 * The shapes follow the `.proto` files beside this module (opentelemetry-proto v1.9.0), with
 * field names in lowerCamelCase (as in OTLP/JSON) and these conventions, chosen so that two
 * decoded messages compare with `assert.deepStrictEqual` and print readably:
 *
 * - **Absent means default.** A proto3 scalar that holds its default value (`0`, `""`, empty
 *   bytes, `false`, enum 0) is left out, whether the sender omitted it or wrote it. An empty
 *   repeated field is left out too. An embedded message that was present on the wire is
 *   kept even when empty (`resource: {}`), because presence of a message is observable.
 * - **Oneof members keep defaults.** In `AnyValue` (and the metric oneofs) the member that is
 *   set is present even when it holds `""`, `0` or `false`.
 * - **64-bit integers are decimal strings** ({@link Int64String}): unsigned for `fixed64` and
 *   `uint64`, signed for `int64` and `sfixed64`.
 * - **Bytes are lowercase hex** ({@link HexString}), for trace and span IDs and for
 *   `AnyValue.bytes_value` alike.
 * - **Enums are numbers**, including values the schema does not name (proto3 enums are open).
 *
 * These are types only; nothing here checks that an object really has this shape.
 */

/** A 64-bit integer as a decimal string, e.g. `"1700000000000000000"` or `"-1"`. */
export type Int64String = string;

/** A `bytes` field as lowercase hex, two digits per byte; `""` is zero bytes. */
export type HexString = string;

// --- common/v1 -----------------------------------------------------------------------------

/** `opentelemetry.proto.common.v1.AnyValue`: at most one member is set; none is "empty". */
export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64String;
  /** May be `NaN`, `±Infinity` or `-0`: they pass through the binary encoding unchanged. */
  doubleValue?: number;
  arrayValue?: ArrayValue;
  kvlistValue?: KeyValueList;
  bytesValue?: HexString;
}

/** `opentelemetry.proto.common.v1.ArrayValue` */
export interface ArrayValue {
  values?: AnyValue[];
}

/** `opentelemetry.proto.common.v1.KeyValueList` */
export interface KeyValueList {
  values?: KeyValue[];
}

/** `opentelemetry.proto.common.v1.KeyValue` */
export interface KeyValue {
  key?: string;
  value?: AnyValue;
}

/** `opentelemetry.proto.common.v1.InstrumentationScope` */
export interface InstrumentationScope {
  name?: string;
  version?: string;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
}

/** `opentelemetry.proto.common.v1.EntityRef` (development status upstream). */
export interface EntityRef {
  schemaUrl?: string;
  type?: string;
  idKeys?: string[];
  descriptionKeys?: string[];
}

// --- resource/v1 ---------------------------------------------------------------------------

/** `opentelemetry.proto.resource.v1.Resource` */
export interface Resource {
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
  entityRefs?: EntityRef[];
}

// --- trace/v1 ------------------------------------------------------------------------------

/** `opentelemetry.proto.trace.v1.Span.SpanKind` values. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

/** `opentelemetry.proto.trace.v1.Status.StatusCode` values. */
export const StatusCode = {
  UNSET: 0,
  OK: 1,
  ERROR: 2,
} as const;

/** `opentelemetry.proto.trace.v1.SpanFlags`: bit masks for `Span.flags` and `Span.Link.flags`. */
export const SpanFlags = {
  TRACE_FLAGS_MASK: 0x0000_00ff,
  CONTEXT_HAS_IS_REMOTE_MASK: 0x0000_0100,
  CONTEXT_IS_REMOTE_MASK: 0x0000_0200,
} as const;

/** `opentelemetry.proto.trace.v1.ResourceSpans` */
export interface ResourceSpans {
  resource?: Resource;
  scopeSpans?: ScopeSpans[];
  schemaUrl?: string;
}

/** `opentelemetry.proto.trace.v1.ScopeSpans` */
export interface ScopeSpans {
  scope?: InstrumentationScope;
  spans?: Span[];
  schemaUrl?: string;
}

/** `opentelemetry.proto.trace.v1.Span` */
export interface Span {
  traceId?: HexString;
  spanId?: HexString;
  traceState?: string;
  parentSpanId?: HexString;
  /** `fixed32`; see {@link SpanFlags}. */
  flags?: number;
  name?: string;
  /** See {@link SpanKind}. */
  kind?: number;
  startTimeUnixNano?: Int64String;
  endTimeUnixNano?: Int64String;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
  events?: SpanEvent[];
  droppedEventsCount?: number;
  links?: SpanLink[];
  droppedLinksCount?: number;
  status?: Status;
}

/** `opentelemetry.proto.trace.v1.Span.Event` */
export interface SpanEvent {
  timeUnixNano?: Int64String;
  name?: string;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
}

/** `opentelemetry.proto.trace.v1.Span.Link` */
export interface SpanLink {
  traceId?: HexString;
  spanId?: HexString;
  traceState?: string;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
  /** `fixed32`; see {@link SpanFlags}. */
  flags?: number;
}

/** `opentelemetry.proto.trace.v1.Status` */
export interface Status {
  message?: string;
  /** See {@link StatusCode}. */
  code?: number;
}

// --- logs/v1 -------------------------------------------------------------------------------

/** `opentelemetry.proto.logs.v1.ResourceLogs` */
export interface ResourceLogs {
  resource?: Resource;
  scopeLogs?: ScopeLogs[];
  schemaUrl?: string;
}

/** `opentelemetry.proto.logs.v1.ScopeLogs` */
export interface ScopeLogs {
  scope?: InstrumentationScope;
  logRecords?: LogRecord[];
  schemaUrl?: string;
}

/** `opentelemetry.proto.logs.v1.LogRecord` */
export interface LogRecord {
  timeUnixNano?: Int64String;
  observedTimeUnixNano?: Int64String;
  /** `SeverityNumber`, 1 (TRACE) to 24 (FATAL4). */
  severityNumber?: number;
  severityText?: string;
  body?: AnyValue;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
  /** `fixed32`; the low 8 bits are the W3C trace flags. */
  flags?: number;
  traceId?: HexString;
  spanId?: HexString;
  eventName?: string;
}

// --- metrics/v1 ----------------------------------------------------------------------------

/** `opentelemetry.proto.metrics.v1.ResourceMetrics` */
export interface ResourceMetrics {
  resource?: Resource;
  scopeMetrics?: ScopeMetrics[];
  schemaUrl?: string;
}

/** `opentelemetry.proto.metrics.v1.ScopeMetrics` */
export interface ScopeMetrics {
  scope?: InstrumentationScope;
  metrics?: Metric[];
  schemaUrl?: string;
}

/** `opentelemetry.proto.metrics.v1.Metric`: at most one of the data members is set. */
export interface Metric {
  name?: string;
  description?: string;
  unit?: string;
  gauge?: Gauge;
  sum?: Sum;
  histogram?: Histogram;
  exponentialHistogram?: ExponentialHistogram;
  summary?: Summary;
  metadata?: KeyValue[];
}

/** `opentelemetry.proto.metrics.v1.Gauge` */
export interface Gauge {
  dataPoints?: NumberDataPoint[];
}

/** `opentelemetry.proto.metrics.v1.Sum` */
export interface Sum {
  dataPoints?: NumberDataPoint[];
  /** `AggregationTemporality`: 1 delta, 2 cumulative. */
  aggregationTemporality?: number;
  isMonotonic?: boolean;
}

/** `opentelemetry.proto.metrics.v1.Histogram` */
export interface Histogram {
  dataPoints?: HistogramDataPoint[];
  aggregationTemporality?: number;
}

/** `opentelemetry.proto.metrics.v1.ExponentialHistogram` */
export interface ExponentialHistogram {
  dataPoints?: ExponentialHistogramDataPoint[];
  aggregationTemporality?: number;
}

/** `opentelemetry.proto.metrics.v1.Summary` */
export interface Summary {
  dataPoints?: SummaryDataPoint[];
}

/** `opentelemetry.proto.metrics.v1.NumberDataPoint`: at most one of `asDouble`, `asInt`. */
export interface NumberDataPoint {
  attributes?: KeyValue[];
  startTimeUnixNano?: Int64String;
  timeUnixNano?: Int64String;
  asDouble?: number;
  asInt?: Int64String;
  exemplars?: Exemplar[];
  /** `DataPointFlags` bit field. */
  flags?: number;
}

/** `opentelemetry.proto.metrics.v1.HistogramDataPoint` */
export interface HistogramDataPoint {
  attributes?: KeyValue[];
  startTimeUnixNano?: Int64String;
  timeUnixNano?: Int64String;
  count?: Int64String;
  /** `optional double`: present whenever the sender set it, even to 0. */
  sum?: number;
  bucketCounts?: Int64String[];
  explicitBounds?: number[];
  exemplars?: Exemplar[];
  flags?: number;
  min?: number;
  max?: number;
}

/** `opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint` */
export interface ExponentialHistogramDataPoint {
  attributes?: KeyValue[];
  startTimeUnixNano?: Int64String;
  timeUnixNano?: Int64String;
  count?: Int64String;
  sum?: number;
  scale?: number;
  zeroCount?: Int64String;
  positive?: ExponentialHistogramBuckets;
  negative?: ExponentialHistogramBuckets;
  flags?: number;
  exemplars?: Exemplar[];
  min?: number;
  max?: number;
  zeroThreshold?: number;
}

/** `opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint.Buckets` */
export interface ExponentialHistogramBuckets {
  offset?: number;
  bucketCounts?: Int64String[];
}

/** `opentelemetry.proto.metrics.v1.SummaryDataPoint` */
export interface SummaryDataPoint {
  attributes?: KeyValue[];
  startTimeUnixNano?: Int64String;
  timeUnixNano?: Int64String;
  count?: Int64String;
  sum?: number;
  quantileValues?: ValueAtQuantile[];
  flags?: number;
}

/** `opentelemetry.proto.metrics.v1.SummaryDataPoint.ValueAtQuantile` */
export interface ValueAtQuantile {
  quantile?: number;
  value?: number;
}

/** `opentelemetry.proto.metrics.v1.Exemplar`: at most one of `asDouble`, `asInt`. */
export interface Exemplar {
  filteredAttributes?: KeyValue[];
  timeUnixNano?: Int64String;
  asDouble?: number;
  asInt?: Int64String;
  spanId?: HexString;
  traceId?: HexString;
}

// --- collector/*/v1 ------------------------------------------------------------------------

/** `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest` */
export interface ExportTraceServiceRequest {
  resourceSpans?: ResourceSpans[];
}

/** `opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse` */
export interface ExportTraceServiceResponse {
  partialSuccess?: ExportTracePartialSuccess;
}

/** `opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess` */
export interface ExportTracePartialSuccess {
  rejectedSpans?: Int64String;
  errorMessage?: string;
}

/** `opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest` */
export interface ExportLogsServiceRequest {
  resourceLogs?: ResourceLogs[];
}

/** `opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse` */
export interface ExportLogsServiceResponse {
  partialSuccess?: ExportLogsPartialSuccess;
}

/** `opentelemetry.proto.collector.logs.v1.ExportLogsPartialSuccess` */
export interface ExportLogsPartialSuccess {
  rejectedLogRecords?: Int64String;
  errorMessage?: string;
}

/** `opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest` */
export interface ExportMetricsServiceRequest {
  resourceMetrics?: ResourceMetrics[];
}

/** `opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse` */
export interface ExportMetricsServiceResponse {
  partialSuccess?: ExportMetricsPartialSuccess;
}

/** `opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess` */
export interface ExportMetricsPartialSuccess {
  rejectedDataPoints?: Int64String;
  errorMessage?: string;
}
