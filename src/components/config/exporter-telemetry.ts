/**
 * The exporters' own metrics, with the Collector's names (exporterhelper and the
 * loadbalancing exporter's `metadata.yaml`), so that existing dashboards work:
 *
 * | metric | what |
 * |---|---|
 * | `otelcol_exporter_sent_{spans,log_records,metric_points}` | items a backend accepted |
 * | `otelcol_exporter_send_failed_{…}` | items given up on (permanent error, retries exhausted, shutdown) |
 * | `otelcol_exporter_enqueue_failed_{…}` | items refused because a queue was full (the client retries) |
 * | `otelcol_exporter_queue_size`, `otelcol_exporter_queue_capacity` | batches queued now, and room |
 * | `otelcol_loadbalancer_backend_latency{endpoint}` | each request's latency, ms, upstream's buckets |
 * | `otelcol_loadbalancer_backend_outcome{endpoint,success}` | each request's outcome |
 *
 * Counts are exact: a request that fails at one backend counts that backend's items once,
 * when they are given up on (the Collector's load balancer counts the whole request again for
 * every failing backend: contrib #45015). Retried attempts count in `backend_outcome`, not in
 * `send_failed`.
 *
 * `debug_metrics { level }`: `none` records nothing; `basic` the sent / failed / enqueue-failed
 * counters and the queue gauges; `normal` and `detailed` also the per-backend latency and
 * outcome.
 */

import type { Batch } from '../../otlp/batch.ts';
import type { Signal } from '../../otlp/signal.ts';
import { describeError, type Logger } from '../../telemetry/logger.ts';
import type { Counter, Histogram, MetricScope } from '../../telemetry/metrics.ts';
import type { ExportResult } from '../../transport/export-result.ts';
import type { ExportOptions, OtlpClient } from '../../transport/otlp-client.ts';
import type { DebugMetricsLevel } from './debug-metrics.ts';

/** Upstream's bucket boundaries of `otelcol_loadbalancer_backend_latency`, in ms. */
export const BACKEND_LATENCY_BUCKETS_MS: readonly number[] = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

const ITEM: Readonly<Record<Signal, string>> = { traces: 'spans', logs: 'log_records', metrics: 'metric_points' };
const ITEM_WORDS: Readonly<Record<Signal, string>> = { traces: 'spans', logs: 'log records', metrics: 'metric points' };

type ExporterLabel = 'exporter';

/** Where an exporter records what it does. All methods are cheap and never throw. */
export interface ExporterTelemetry {
  /** Wraps a backend's client so each request's latency and outcome are recorded. */
  wrap(client: OtlpClient): OtlpClient;
  /** Items given up on. */
  dropped(batch: Batch): void;
  /** Items refused because the queue was full. */
  enqueueFailed(batch: Batch): void;
  /** Reads queued batches and capacity at exposition time. */
  observeQueue(read: () => { readonly size: number; readonly capacity: number }): void;
  /** Stops recording (unregisters the queue gauges). */
  close(): void;
}

const NOOP: ExporterTelemetry = {
  wrap: (client) => client,
  dropped: () => undefined,
  enqueueFailed: () => undefined,
  observeQueue: () => undefined,
  close: () => undefined,
};

function perSignal(
  metrics: MetricScope,
  verb: 'sent' | 'send_failed' | 'enqueue_failed',
  help: (items: string) => string,
): Readonly<Record<Signal, Counter<ExporterLabel>>> {
  const make = (signal: Signal): Counter<ExporterLabel> =>
    metrics.counter<ExporterLabel>({
      name: `otelcol_exporter_${verb}_${ITEM[signal]}`,
      help: help(ITEM_WORDS[signal]),
      unit: '{items}',
      labelNames: ['exporter'],
    });
  return { traces: make('traces'), logs: make('logs'), metrics: make('metrics') };
}

/**
 * The telemetry of exporter `exporterId` in `metrics`, at `level`. `perBackend`: record the
 * load balancer's per-backend latency and outcome (`normal` and `detailed` only).
 */
export function createExporterTelemetry(
  metrics: MetricScope,
  exporterId: string,
  level: DebugMetricsLevel,
  perBackend: boolean,
): ExporterTelemetry {
  if (level === 'none') return NOOP;
  const labels = { exporter: exporterId };
  const sent = perSignal(metrics, 'sent', (w) => `Number of ${w} successfully sent to destination.`);
  const failed = perSignal(metrics, 'send_failed', (w) => `Number of ${w} in failed attempts to send to destination.`);
  const enqueueFailed = perSignal(
    metrics,
    'enqueue_failed',
    (w) => `Number of ${w} failed to be added to the sending queue.`,
  );
  let latency: Histogram<'endpoint'> | undefined;
  let outcome: Counter<'endpoint' | 'success'> | undefined;
  if (perBackend && level !== 'basic') {
    latency = metrics.histogram<'endpoint'>({
      name: 'otelcol_loadbalancer_backend_latency',
      help: 'Response latency in ms for the backends.',
      unit: 'ms',
      labelNames: ['endpoint'],
      buckets: BACKEND_LATENCY_BUCKETS_MS,
    });
    outcome = metrics.counter<'endpoint' | 'success'>({
      name: 'otelcol_loadbalancer_backend_outcome',
      help: 'Number of successes and failures for each endpoint.',
      unit: '{outcomes}',
      labelNames: ['endpoint', 'success'],
    });
  }
  const registrations: { unregister(): void }[] = [];

  const record = (endpoint: string, signal: Signal, items: number, startedAt: number, result: ExportResult): void => {
    if (result.kind === 'ok' && items > 0) sent[signal].labels(labels).inc(items);
    if (latency !== undefined) latency.labels({ endpoint }).observe(performance.now() - startedAt);
    outcome?.labels({ endpoint, success: result.kind === 'ok' }).inc();
  };

  return {
    wrap(client) {
      const endpoint = client.endpoint;
      const wrapped: OtlpClient = {
        endpoint,
        async export(batch: Batch, options?: ExportOptions): Promise<ExportResult> {
          const startedAt = performance.now();
          const result = await client.export(batch, options);
          record(endpoint, batch.signal, batch.items, startedAt, result);
          return result;
        },
        close: () => client.close(),
      };
      const merged = client.exportMerged?.bind(client);
      if (merged !== undefined) {
        wrapped.exportMerged = async (batches, options) => {
          const startedAt = performance.now();
          const result = await merged(batches, options);
          let items = 0;
          for (const b of batches) items += Math.max(0, b.items);
          record(endpoint, batches[0]?.signal ?? 'traces', items, startedAt, result);
          return result;
        };
      }
      return wrapped;
    },
    dropped(batch) {
      if (batch.items > 0) failed[batch.signal].labels(labels).inc(batch.items);
    },
    enqueueFailed(batch) {
      if (batch.items > 0) enqueueFailed[batch.signal].labels(labels).inc(batch.items);
    },
    observeQueue(read) {
      registrations.push(
        metrics.callbackGauge<ExporterLabel>({
          name: 'otelcol_exporter_queue_size',
          help: 'Current size of the retry queue (in batches).',
          unit: '{batches}',
          labelNames: ['exporter'],
          collect: (observe) => {
            observe(read().size, labels);
          },
        }),
        metrics.callbackGauge<ExporterLabel>({
          name: 'otelcol_exporter_queue_capacity',
          help: 'Fixed capacity of the retry queue (in batches).',
          unit: '{batches}',
          labelNames: ['exporter'],
          collect: (observe) => {
            observe(read().capacity, labels);
          },
        }),
      );
    },
    close() {
      for (const r of registrations) r.unregister();
      registrations.length = 0;
    },
  };
}

/**
 * A batch given up on: counted in `send_failed` and logged once (`dropping data`, with the
 * backend, the signal, the items, why, and the last error).
 */
export function reportDrop(
  telemetry: ExporterTelemetry,
  logger: Logger,
  endpoint: string,
  batch: Batch,
  reason: string,
  result: ExportResult | undefined,
): void {
  telemetry.dropped(batch);
  logger.warn('dropping data', {
    endpoint,
    signal: batch.signal,
    items: batch.items,
    reason,
    ...(result !== undefined && result.kind !== 'ok' ? { err: describeError(result.error) } : {}),
  });
}
