/**
 * The `normal` output of the debug exporter (Collector v0.104+): one line per resource, per
 * scope and per item, attributes as `k=v`:
 *
 * ```
 * ResourceTraces #0 [https://opentelemetry.io/schemas/1.26.0] service.name=checkout
 * ScopeTraces #0 io.opentelemetry.http@1.2.0
 * GET /cart 5b8efff798038103d269b633813fc60c eee19b7ec3c1b174 http.method=GET
 * ```
 *
 * Logs print each record's body and attributes; metrics one line per data point,
 * `name{k=v,k2=v2} value` (histograms `count=… sum=… le<bound>=<count> …`).
 */

import type {
  ExportLogsServiceRequest,
  ExportMetricsServiceRequest,
  ExportTraceServiceRequest,
  InstrumentationScope,
  KeyValue,
  Metric,
  Resource,
} from '../../otlp/proto/messages.ts';
import { attributePairs, formatDouble, valueAsString } from './values.ts';

function withAttributes(head: string, attributes: readonly KeyValue[] | undefined): string {
  const pairs = attributePairs(attributes);
  return pairs.length === 0 ? head : `${head} ${pairs.join(' ')}`;
}

function schema(url: string | undefined): string {
  return url === undefined || url === '' ? '' : ` [${url}]`;
}

function resourceLine(
  label: string,
  index: number,
  resource: Resource | undefined,
  schemaUrl: string | undefined,
): string {
  return withAttributes(`${label} #${index}${schema(schemaUrl)}`, resource?.attributes);
}

function scopeLine(
  label: string,
  index: number,
  scope: InstrumentationScope | undefined,
  schemaUrl: string | undefined,
): string {
  const name = scope?.name ?? '';
  const version = scope?.version ?? '';
  const id = name === '' ? '' : ` ${name}${version === '' ? '' : `@${version}`}`;
  return withAttributes(`${label} #${index}${id}${schema(schemaUrl)}`, scope?.attributes);
}

/** The lines of a traces request. */
export function normalTraces(request: ExportTraceServiceRequest): string {
  const lines: string[] = [];
  for (const [i, rs] of (request.resourceSpans ?? []).entries()) {
    lines.push(resourceLine('ResourceTraces', i, rs.resource, rs.schemaUrl));
    for (const [j, ss] of (rs.scopeSpans ?? []).entries()) {
      lines.push(scopeLine('ScopeTraces', j, ss.scope, ss.schemaUrl));
      for (const span of ss.spans ?? []) {
        lines.push(withAttributes(`${span.name ?? ''} ${span.traceId ?? ''} ${span.spanId ?? ''}`, span.attributes));
      }
    }
  }
  return lines.join('\n');
}

/** The lines of a logs request. */
export function normalLogs(request: ExportLogsServiceRequest): string {
  const lines: string[] = [];
  for (const [i, rl] of (request.resourceLogs ?? []).entries()) {
    lines.push(resourceLine('ResourceLog', i, rl.resource, rl.schemaUrl));
    for (const [j, sl] of (rl.scopeLogs ?? []).entries()) {
      lines.push(scopeLine('ScopeLog', j, sl.scope, sl.schemaUrl));
      for (const record of sl.logRecords ?? [])
        lines.push(withAttributes(valueAsString(record.body), record.attributes));
    }
  }
  return lines.join('\n');
}

/** The lines of a metrics request. */
export function normalMetrics(request: ExportMetricsServiceRequest): string {
  const lines: string[] = [];
  for (const [i, rm] of (request.resourceMetrics ?? []).entries()) {
    lines.push(resourceLine('ResourceMetrics', i, rm.resource, rm.schemaUrl));
    for (const [j, sm] of (rm.scopeMetrics ?? []).entries()) {
      lines.push(scopeLine('ScopeMetrics', j, sm.scope, sm.schemaUrl));
      for (const metric of sm.metrics ?? []) lines.push(...metricLines(metric));
    }
  }
  return lines.join('\n');
}

function metricLines(metric: Metric): string[] {
  const name = metric.name ?? '';
  const series = (attributes: readonly KeyValue[] | undefined): string =>
    `${name}{${attributePairs(attributes).join(',')}}`;
  const lines: string[] = [];
  for (const p of [...(metric.gauge?.dataPoints ?? []), ...(metric.sum?.dataPoints ?? [])]) {
    lines.push(`${series(p.attributes)} ${p.asInt ?? formatDouble(p.asDouble ?? 0)}`);
  }
  for (const p of metric.histogram?.dataPoints ?? []) {
    const parts = [`count=${p.count ?? '0'}`];
    if (p.sum !== undefined) parts.push(`sum=${formatDouble(p.sum)}`);
    if (p.min !== undefined) parts.push(`min=${formatDouble(p.min)}`);
    if (p.max !== undefined) parts.push(`max=${formatDouble(p.max)}`);
    const bounds = p.explicitBounds ?? [];
    for (const [b, count] of (p.bucketCounts ?? []).entries()) {
      const bound = bounds[b];
      parts.push(`le${bound === undefined ? '+Inf' : formatDouble(bound)}=${count}`);
    }
    lines.push(`${series(p.attributes)} ${parts.join(' ')}`);
  }
  for (const p of metric.exponentialHistogram?.dataPoints ?? []) {
    const parts = [`count=${p.count ?? '0'}`];
    if (p.sum !== undefined) parts.push(`sum=${formatDouble(p.sum)}`);
    if (p.min !== undefined) parts.push(`min=${formatDouble(p.min)}`);
    if (p.max !== undefined) parts.push(`max=${formatDouble(p.max)}`);
    lines.push(`${series(p.attributes)} ${parts.join(' ')}`);
  }
  for (const p of metric.summary?.dataPoints ?? []) {
    const parts = [`count=${p.count ?? '0'}`, `sum=${formatDouble(p.sum ?? 0)}`];
    for (const q of p.quantileValues ?? [])
      parts.push(`q${formatDouble(q.quantile ?? 0)}=${formatDouble(q.value ?? 0)}`);
    lines.push(`${series(p.attributes)} ${parts.join(' ')}`);
  }
  return lines;
}
