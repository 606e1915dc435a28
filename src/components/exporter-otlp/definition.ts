/**
 * `otelcol.exporter.otlp`: sends every batch to one OTLP/gRPC backend through a queue with
 * retry (the same {@link Sender} and {@link GrpcClient} each backend of the load balancer
 * has). With the queue on, a batch is accepted once queued and a full queue answers
 * retryable; with it off, the answer waits for the backend.
 *
 * `update` builds a new sender and switches the exported consumer to it; the old sender
 * delivers what it had queued, then closes.
 */

import { ErrorCode, OtelLbError } from '../../errors.ts';
import { Signal } from '../../otlp/signal.ts';
import type { Component, ComponentContext, ComponentDefinition, ComponentExports } from '../../runtime/component.ts';
import type { OtlpClient } from '../../transport/otlp-client.ts';
import type { Batch } from '../../otlp/batch.ts';
import type { BatchConsumer, ConsumeContext } from '../../transport/consumer.ts';
import { retryable, type ExportResult } from '../../transport/export-result.ts';
import { parseEndpoint } from '../../transport/grpc-client.ts';
import type { ClientTls } from '../../transport/tls.ts';
import { Sender } from '../../transport/sender.ts';
import { consumerCapsule, placeholderConsumer, SwitchableConsumer } from '../config/consumer.ts';
import { debugLevel, type DebugMetricsArguments } from '../config/debug-metrics.ts';
import { createExporterTelemetry, reportDrop, type ExporterTelemetry } from '../config/exporter-telemetry.ts';
import {
  mergeSettings,
  queueMemory,
  queueSettings,
  retryPolicy,
  type QueueArguments,
  type RetryArguments,
} from '../config/queue-retry.ts';
import { createGrpcClient, loadTls } from '../config/transport-options.ts';
import { exporterOtlpSchema, type ExporterOtlpArguments } from './arguments.ts';

const NAME = 'otelcol.exporter.otlp';
const SIGNALS: readonly Signal[] = [Signal.TRACES, Signal.LOGS, Signal.METRICS];
const QUEUE_FULL_RETRY_AFTER_MS = 1_000;

/** A started sender to the configured backend. */
class Pipe implements BatchConsumer {
  readonly sender: Sender;
  private readonly queueEnabled: boolean;
  private readonly id: string;
  private readonly telemetry: ExporterTelemetry;

  private readonly tls: ClientTls | undefined;

  constructor(
    id: string,
    sender: Sender,
    queueEnabled: boolean,
    telemetry: ExporterTelemetry,
    tls: ClientTls | undefined,
  ) {
    this.id = id;
    this.tls = tls;
    this.sender = sender;
    this.queueEnabled = queueEnabled;
    this.telemetry = telemetry;
  }

  consume(batch: Batch, context: ConsumeContext): Promise<ExportResult> {
    if (!this.queueEnabled) return this.sender.send(batch, context.signal);
    if (this.sender.offer(batch)) return Promise.resolve({ kind: 'ok' });
    this.telemetry.enqueueFailed(batch);
    // ERR_LB_QUEUE_FULL, as the load balancer's: the receivers answer RESOURCE_EXHAUSTED with
    // RetryInfo (HTTP 429 with Retry-After), so clients back off for that long.
    return Promise.resolve(
      retryable(
        new OtelLbError(
          ErrorCode.LB_QUEUE_FULL,
          `${this.id}: the sending queue of ${this.sender.endpoint} is full: the backend is slow or down; retry later, or raise queue_size or num_consumers`,
        ),
        QUEUE_FULL_RETRY_AFTER_MS,
      ),
    );
  }

  async shutdown(deadlineMs: number): Promise<void> {
    await this.sender.shutdown(deadlineMs);
    this.tls?.close();
  }
}

/** What differs between the single-backend exporters: how the client is made. */
export interface SingleBackendArguments {
  readonly sendingQueue: QueueArguments;
  readonly retryOnFailure: RetryArguments;
  readonly debugMetrics: DebugMetricsArguments;
}

/** Makes the client of one configuration, and the TLS it holds (closed with it). */
export type ClientFactory<A> = (
  args: A,
  context: ComponentContext,
) => { readonly client: OtlpClient; readonly endpoint: string; readonly tls: ClientTls | undefined };

/**
 * An exporter to one backend (`otelcol.exporter.otlp`, `otelcol.exporter.otlphttp`): a
 * sender with its queue and retry in front of the client `makeClient` builds.
 */
export class SingleBackendExporter<A extends SingleBackendArguments> implements Component<A> {
  readonly exports: ComponentExports;
  private readonly context: ComponentContext;
  private readonly consumer: SwitchableConsumer;
  private readonly makeClient: ClientFactory<A>;
  private args: A;
  private pipe: Pipe | undefined;
  private readonly telemetry: ExporterTelemetry;

  constructor(context: ComponentContext, args: A, signals: readonly Signal[], makeClient: ClientFactory<A>) {
    this.context = context;
    this.args = args;
    this.makeClient = makeClient;
    this.telemetry = createExporterTelemetry(context.metrics, context.id, debugLevel(args.debugMetrics), false);
    this.telemetry.observeQueue(() => ({
      size: this.pipe?.sender.stats().queued ?? 0,
      capacity: this.args.sendingQueue.enabled ? this.args.sendingQueue.queueSize : 0,
    }));
    this.consumer = new SwitchableConsumer(context.id, signals, {
      consume: () => Promise.resolve(retryable(new Error(`${context.id} is not started`))),
    });
    this.exports = { input: consumerCapsule(this.consumer) };
  }

  start(): Promise<void> {
    this.pipe = this.makePipe(this.args);
    this.consumer.target = this.pipe;
    return Promise.resolve();
  }

  async update(args: A): Promise<void> {
    const next = this.makePipe(args);
    const old = this.pipe;
    this.pipe = next;
    this.args = args;
    this.consumer.target = next;
    await old?.shutdown(this.context.clock.now() + 30_000);
  }

  async shutdown(deadlineMs: number): Promise<void> {
    await this.pipe?.shutdown(deadlineMs);
    this.pipe = undefined;
    this.telemetry.close();
  }

  private makePipe(args: A): Pipe {
    const logger = this.context.logger;
    const { client, endpoint, tls } = this.makeClient(args, this.context);
    const memory = queueMemory(args.sendingQueue, logger);
    const sender = new Sender({
      client: this.telemetry.wrap(client),
      queue: queueSettings(args.sendingQueue),
      retry: retryPolicy(args.retryOnFailure),
      merge: mergeSettings(args.sendingQueue),
      ...(memory === undefined ? {} : { memory }),
      clock: this.context.clock,
      onDrop: (batch, reason, result) => {
        reportDrop(this.telemetry, logger, endpoint, batch, reason, result);
      },
      onError: (error) => {
        logger.error('client failed', { err: error });
      },
    });
    return new Pipe(this.context.id, sender, args.sendingQueue.enabled, this.telemetry, tls);
  }
}

/**
 * The `host:port` of a gRPC `endpoint`: the Collector accepts `http://` and `https://` in
 * front of it and ignores them (TLS is the `tls` block's business), so configurations
 * copied from it work here too.
 */
export function grpcTarget(endpoint: string): string {
  return endpoint.replace(/^https?:\/\//i, '').replace(/\/$/, '');
}

const makeGrpcClient: ClientFactory<ExporterOtlpArguments> = (args, context) => {
  const tls = loadTls(args.client.tls, context.clock, context.logger);
  const endpoint = grpcTarget(args.client.endpoint);
  const client = createGrpcClient(endpoint, args.client, args.timeoutMs, tls, context.logger);
  return { client, endpoint, tls };
};

/** `otelcol.exporter.otlp`. */
export const exporterOtlpDefinition: ComponentDefinition<ExporterOtlpArguments> = {
  name: NAME,
  stability: 'generally-available',
  arguments: exporterOtlpSchema,
  placeholderExports: { input: placeholderConsumer(NAME, SIGNALS) },
  check: (args) => {
    try {
      parseEndpoint(grpcTarget(args.client.endpoint));
      return [];
    } catch {
      return [
        `client: endpoint "${args.client.endpoint}" is not host:port (for example "tempo:4317"; IPv6 as "[::1]:4317")`,
      ];
    }
  },
  build: (context, args) => Promise.resolve(new SingleBackendExporter(context, args, SIGNALS, makeGrpcClient)),
};
