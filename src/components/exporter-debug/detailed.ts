/**
 * The `detailed` dump of the debug exporter, after the Collector's `otlptext` marshalers: per
 * resource, scope and item a header (`ResourceSpans #0`, `Span #3`) and `name: value` rows,
 * attributes as `     -> key: Str(value)`. One string per request, lines joined by `\n`.
 */

import type {
  Exemplar,
  ExponentialHistogramBuckets,
  ExportLogsServiceRequest,
  ExportMetricsServiceRequest,
  ExportTraceServiceRequest,
  InstrumentationScope,
  KeyValue,
  Metric,
  Resource,
} from '../../otlp/proto/messages.ts';
import {
  fixed6,
  formatDouble,
  goTime,
  severityName,
  spanKindName,
  statusCodeName,
  temporalityName,
  typedValue,
} from './values.ts';

class Lines {
  readonly lines: string[] = [];

  add(line: string): void {
    this.lines.push(line);
  }

  /** `header:` and one `-> key: Type(value)` line per attribute; nothing when there are none. */
  attributes(header: string, attributes: readonly KeyValue[] | undefined): void {
    if (attributes === undefined || attributes.length === 0) return;
    this.add(`${header}:`);
    const parts = header.split('->');
    const prefix = parts.length > 1 ? `${parts[0] ?? ''}     ->` : '     ->';
    for (const kv of attributes) this.add(`${prefix} ${kv.key ?? ''}: ${typedValue(kv.value)}`);
  }

  resource(label: string, index: number, resource: Resource | undefined, schemaUrl: string | undefined): void {
    this.add(`${label} #${index}`);
    this.add(`Resource SchemaURL: ${schemaUrl ?? ''}`);
    this.attributes('Resource attributes', resource?.attributes);
  }

  scope(label: string, index: number, scope: InstrumentationScope | undefined, schemaUrl: string | undefined): void {
    this.add(`${label} #${index}`);
    this.add(`${label} SchemaURL: ${schemaUrl ?? ''}`);
    this.add(`InstrumentationScope ${scope?.name ?? ''} ${scope?.version ?? ''}`);
    this.attributes('InstrumentationScope attributes', scope?.attributes);
  }

  /** An indented `label : value` row, the label padded to 15 characters. */
  row(label: string, value: string): void {
    this.add(`    ${label.padEnd(15)}: ${value}`);
  }

  text(): string {
    return this.lines.join('\n');
  }
}

/** The dump of a traces request. */
export function detailedTraces(request: ExportTraceServiceRequest): string {
  const out = new Lines();
  for (const [i, rs] of (request.resourceSpans ?? []).entries()) {
    out.resource('ResourceSpans', i, rs.resource, rs.schemaUrl);
    for (const [j, ss] of (rs.scopeSpans ?? []).entries()) {
      out.scope('ScopeSpans', j, ss.scope, ss.schemaUrl);
      for (const [k, span] of (ss.spans ?? []).entries()) {
        out.add(`Span #${k}`);
        out.row('Trace ID', span.traceId ?? '');
        out.row('Parent ID', span.parentSpanId ?? '');
        out.row('ID', span.spanId ?? '');
        out.row('Name', span.name ?? '');
        out.row('Kind', spanKindName(span.kind));
        if (span.traceState !== undefined && span.traceState !== '') out.row('TraceState', span.traceState);
        out.row('Start time', goTime(span.startTimeUnixNano));
        out.row('End time', goTime(span.endTimeUnixNano));
        out.row('Status code', statusCodeName(span.status?.code));
        out.row('Status message', span.status?.message ?? '');
        out.add(`    DroppedAttributesCount: ${span.droppedAttributesCount ?? 0}`);
        out.add(`    DroppedEventsCount: ${span.droppedEventsCount ?? 0}`);
        out.add(`    DroppedLinksCount: ${span.droppedLinksCount ?? 0}`);
        out.attributes('Attributes', span.attributes);
        if (span.events !== undefined && span.events.length > 0) {
          out.add('Events:');
          for (const [n, event] of span.events.entries()) {
            out.add(`SpanEvent #${n}`);
            out.add(`     -> Name: ${event.name ?? ''}`);
            out.add(`     -> Timestamp: ${goTime(event.timeUnixNano)}`);
            out.add(`     -> DroppedAttributesCount: ${event.droppedAttributesCount ?? 0}`);
            out.attributes('     -> Attributes:', event.attributes);
          }
        }
        if (span.links !== undefined && span.links.length > 0) {
          out.add('Links:');
          for (const [n, link] of span.links.entries()) {
            out.add(`SpanLink #${n}`);
            out.add(`     -> Trace ID: ${link.traceId ?? ''}`);
            out.add(`     -> ID: ${link.spanId ?? ''}`);
            out.add(`     -> TraceState: ${link.traceState ?? ''}`);
            out.add(`     -> DroppedAttributesCount: ${link.droppedAttributesCount ?? 0}`);
            out.attributes('     -> Attributes:', link.attributes);
          }
        }
      }
    }
  }
  return out.text();
}

/** The dump of a logs request. */
export function detailedLogs(request: ExportLogsServiceRequest): string {
  const out = new Lines();
  for (const [i, rl] of (request.resourceLogs ?? []).entries()) {
    out.resource('ResourceLog', i, rl.resource, rl.schemaUrl);
    for (const [j, sl] of (rl.scopeLogs ?? []).entries()) {
      out.scope('ScopeLogs', j, sl.scope, sl.schemaUrl);
      for (const [k, record] of (sl.logRecords ?? []).entries()) {
        out.add(`LogRecord #${k}`);
        out.add(`ObservedTimestamp: ${goTime(record.observedTimeUnixNano)}`);
        out.add(`Timestamp: ${goTime(record.timeUnixNano)}`);
        out.add(`SeverityText: ${record.severityText ?? ''}`);
        out.add(`SeverityNumber: ${severityName(record.severityNumber)}`);
        if (record.eventName !== undefined && record.eventName !== '') out.add(`EventName: ${record.eventName}`);
        out.add(`Body: ${typedValue(record.body)}`);
        out.attributes('Attributes', record.attributes);
        out.add(`Trace ID: ${record.traceId ?? ''}`);
        out.add(`Span ID: ${record.spanId ?? ''}`);
        out.add(`Flags: ${record.flags ?? 0}`);
      }
    }
  }
  return out.text();
}

/** The dump of a metrics request. */
export function detailedMetrics(request: ExportMetricsServiceRequest): string {
  const out = new Lines();
  for (const [i, rm] of (request.resourceMetrics ?? []).entries()) {
    out.resource('ResourceMetrics', i, rm.resource, rm.schemaUrl);
    for (const [j, sm] of (rm.scopeMetrics ?? []).entries()) {
      out.scope('ScopeMetrics', j, sm.scope, sm.schemaUrl);
      for (const [k, metric] of (sm.metrics ?? []).entries()) {
        out.add(`Metric #${k}`);
        metricDump(out, metric);
      }
    }
  }
  return out.text();
}

/** The upstream data type name of a metric. */
export function metricDataType(metric: Metric): string {
  if (metric.gauge !== undefined) return 'Gauge';
  if (metric.sum !== undefined) return 'Sum';
  if (metric.histogram !== undefined) return 'Histogram';
  if (metric.exponentialHistogram !== undefined) return 'ExponentialHistogram';
  if (metric.summary !== undefined) return 'Summary';
  return 'Empty';
}

function metricDump(out: Lines, metric: Metric): void {
  out.add('Descriptor:');
  out.add(`     -> Name: ${metric.name ?? ''}`);
  out.add(`     -> Description: ${metric.description ?? ''}`);
  out.add(`     -> Unit: ${metric.unit ?? ''}`);
  out.add(`     -> DataType: ${metricDataType(metric)}`);
  const { gauge, sum, histogram, exponentialHistogram: exponential, summary } = metric;
  if (sum !== undefined) {
    out.add(`     -> IsMonotonic: ${String(sum.isMonotonic ?? false)}`);
    out.add(`     -> AggregationTemporality: ${temporalityName(sum.aggregationTemporality)}`);
  }
  if (histogram !== undefined)
    out.add(`     -> AggregationTemporality: ${temporalityName(histogram.aggregationTemporality)}`);
  if (exponential !== undefined)
    out.add(`     -> AggregationTemporality: ${temporalityName(exponential.aggregationTemporality)}`);

  for (const [n, p] of [...(gauge?.dataPoints ?? []), ...(sum?.dataPoints ?? [])].entries()) {
    out.add(`NumberDataPoints #${n}`);
    pointHead(out, p.attributes, p.startTimeUnixNano, p.timeUnixNano);
    out.add(`Value: ${p.asInt ?? fixed6(p.asDouble)}`);
    exemplars(out, p.exemplars);
  }
  for (const [n, p] of (histogram?.dataPoints ?? []).entries()) {
    out.add(`HistogramDataPoints #${n}`);
    pointHead(out, p.attributes, p.startTimeUnixNano, p.timeUnixNano);
    out.add(`Count: ${p.count ?? '0'}`);
    if (p.sum !== undefined) out.add(`Sum: ${fixed6(p.sum)}`);
    if (p.min !== undefined) out.add(`Min: ${fixed6(p.min)}`);
    if (p.max !== undefined) out.add(`Max: ${fixed6(p.max)}`);
    for (const [b, bound] of (p.explicitBounds ?? []).entries()) out.add(`ExplicitBounds #${b}: ${fixed6(bound)}`);
    for (const [b, count] of (p.bucketCounts ?? []).entries()) out.add(`Buckets #${b}, Count: ${count}`);
    exemplars(out, p.exemplars);
  }
  for (const [n, p] of (exponential?.dataPoints ?? []).entries()) {
    out.add(`ExponentialHistogramDataPoints #${n}`);
    pointHead(out, p.attributes, p.startTimeUnixNano, p.timeUnixNano);
    out.add(`Count: ${p.count ?? '0'}`);
    if (p.sum !== undefined) out.add(`Sum: ${fixed6(p.sum)}`);
    if (p.min !== undefined) out.add(`Min: ${fixed6(p.min)}`);
    if (p.max !== undefined) out.add(`Max: ${fixed6(p.max)}`);
    const base = 2 ** (2 ** -(p.scale ?? 0));
    for (const [b, count] of exponentialBuckets(p.negative).reverse()) {
      out.add(`Bucket (${formatDouble(-(base ** (b + 1)))}, ${formatDouble(-(base ** b))}], Count: ${count}`);
    }
    out.add(`Bucket [0, 0], Count: ${p.zeroCount ?? '0'}`);
    for (const [b, count] of exponentialBuckets(p.positive)) {
      out.add(`Bucket [${formatDouble(base ** b)}, ${formatDouble(base ** (b + 1))}), Count: ${count}`);
    }
    exemplars(out, p.exemplars);
  }
  for (const [n, p] of (summary?.dataPoints ?? []).entries()) {
    out.add(`SummaryDataPoints #${n}`);
    pointHead(out, p.attributes, p.startTimeUnixNano, p.timeUnixNano);
    out.add(`Count: ${p.count ?? '0'}`);
    out.add(`Sum: ${fixed6(p.sum)}`);
    for (const [q, quantile] of (p.quantileValues ?? []).entries()) {
      out.add(`QuantileValue #${q}: Quantile ${formatDouble(quantile.quantile ?? 0)}, Value ${fixed6(quantile.value)}`);
    }
  }
}

/** [bucket index, count] of exponential histogram buckets. */
function exponentialBuckets(buckets: ExponentialHistogramBuckets | undefined): [number, string][] {
  const offset = buckets?.offset ?? 0;
  return (buckets?.bucketCounts ?? []).map((count, i) => [offset + i, count]);
}

function pointHead(
  out: Lines,
  attributes: readonly KeyValue[] | undefined,
  start: string | undefined,
  time: string | undefined,
): void {
  out.attributes('Data point attributes', attributes);
  out.add(`StartTimestamp: ${goTime(start)}`);
  out.add(`Timestamp: ${goTime(time)}`);
}

function exemplars(out: Lines, list: readonly Exemplar[] | undefined): void {
  if (list === undefined || list.length === 0) return;
  out.add('Exemplars:');
  for (const [n, e] of list.entries()) {
    out.add(`Exemplar #${n}`);
    out.add(`     -> Trace ID: ${e.traceId ?? ''}`);
    out.add(`     -> Span ID: ${e.spanId ?? ''}`);
    out.add(`     -> Timestamp: ${goTime(e.timeUnixNano)}`);
    out.add(`     -> Value: ${e.asInt ?? fixed6(e.asDouble)}`);
    out.attributes('     -> FilteredAttributes', e.filteredAttributes);
  }
}
