/**
 * `otelcol.exporter.loadbalancing`: routes every span and log record by trace ID or service
 * name to one backend of the resolver's set, over the ring, with a queue and retry per
 * backend (`load-balancer.ts` does the work; this file wires the configuration to it).
 *
 * - `build` makes the resolver object (checking its arguments) and nothing else.
 * - `start` reads the client's TLS files, starts the resolver, and creates the load
 *   balancer as soon as the resolver has found a backend. Until then (a DNS name with no
 *   records yet, a Kubernetes service with no ready pod) requests are refused as retryable
 *   (`UNAVAILABLE`), never dropped.
 * - A new endpoint set goes to `LoadBalancer.setEndpoints`, which never blocks ingest and
 *   re-routes what departed backends held. An empty set keeps the last one (the backends
 *   stay in the ring and their parts wait in the queue and retry), with a warning.
 * - `update` builds a new resolver and load balancer, switches the exported consumer to the
 *   new one, then shuts the old one down: it delivers what it had queued to its backends.
 */

import type { Batch } from '../../otlp/batch.ts';
import { Signal } from '../../otlp/signal.ts';
import type { Component, ComponentContext, ComponentDefinition, ComponentExports } from '../../runtime/component.ts';
import { argsEqual } from '../../runtime/host.ts';
import { dropLabels, HIGH_CARDINALITY_LABELS, type MetricScope } from '../../telemetry/metrics.ts';
import type { BatchConsumer, ConsumeContext } from '../../transport/consumer.ts';
import { retryable, type ExportResult } from '../../transport/export-result.ts';
import type { ClientTls } from '../../transport/tls.ts';
import { createGrpcClient, loadTls } from '../config/transport-options.ts';
import { consumerCapsule, placeholderConsumer, SwitchableConsumer } from '../config/consumer.ts';
import { debugLevel } from '../config/debug-metrics.ts';
import { createExporterTelemetry, reportDrop, type ExporterTelemetry } from '../config/exporter-telemetry.ts';
import { mergeSettings, queueMemory, queueSettings, retryPolicy } from '../config/queue-retry.ts';
import type { MemoryBudget } from '../../transport/queue.ts';
import {
  loadBalancingSchema,
  ringOf,
  routingKeyOf,
  type LoadBalancingArguments,
  type ResolverArguments,
} from './arguments.ts';
import { LoadBalancer } from './load-balancer.ts';
import { AwsCloudMapResolver, isCloudMapHealthStatus } from './resolvers/aws-cloud-map.ts';
import { DnsResolver } from './resolvers/dns.ts';
import { K8sResolver } from './resolvers/k8s.ts';
import type { Resolver, ResolverName, ResolverTelemetry } from './resolvers/resolver.ts';
import { StaticResolver } from './resolvers/static.ts';

const NAME = 'otelcol.exporter.loadbalancing';
const SIGNALS: readonly Signal[] = [Signal.TRACES, Signal.LOGS];
/** How long the load balancer replaced by an update delivers its queues before handing the rest over. */
const UPDATE_DRAIN_MS = 5_000;

/** The resolver metrics of upstream (`otelcol_loadbalancer_num_*`). */
function resolverTelemetry(metrics: MetricScope): ResolverTelemetry {
  const resolutions = metrics.counter<'resolver' | 'success'>({
    name: 'otelcol_loadbalancer_num_resolutions',
    help: 'Number of times the resolver has triggered new resolutions.',
    unit: '{resolutions}',
    labelNames: ['resolver', 'success'],
  });
  const backends = metrics.gauge<'resolver'>({
    name: 'otelcol_loadbalancer_num_backends',
    help: 'Current number of backends in use.',
    unit: '{backends}',
    labelNames: ['resolver'],
  });
  const updates = metrics.counter<'resolver'>({
    name: 'otelcol_loadbalancer_num_backend_updates',
    help: 'Number of times the list of backends was updated.',
    unit: '{updates}',
    labelNames: ['resolver'],
  });
  return {
    resolution: (resolver: ResolverName, success: boolean) => {
      resolutions.labels({ resolver, success }).inc();
    },
    backendsChanged: (resolver: ResolverName, count: number) => {
      backends.labels({ resolver }).set(count);
      updates.labels({ resolver }).inc();
    },
  };
}

/** Makes the resolver of `args` (no I/O until `start`). @throws TypeError for bad arguments. */
export function createResolver(
  args: ResolverArguments,
  telemetry: ResolverTelemetry,
  onError: (error: Error) => void,
): Resolver {
  switch (args.kind) {
    case 'static':
      return new StaticResolver({ hostnames: args.hostnames, telemetry, onError });
    case 'dns':
      return new DnsResolver({
        hostname: args.hostname,
        port: args.port,
        intervalMs: args.intervalMs,
        timeoutMs: args.timeoutMs,
        ...(args.server === undefined ? {} : { server: args.server }),
        telemetry,
        onError,
      });
    case 'kubernetes':
      return new K8sResolver({
        service: args.service,
        ports: args.ports,
        timeoutMs: args.timeoutMs,
        returnHostnames: args.returnHostnames,
        telemetry,
        onError,
      });
    case 'aws_cloud_map':
      return new AwsCloudMapResolver({
        namespace: args.namespace,
        serviceName: args.serviceName,
        intervalMs: args.intervalMs,
        timeoutMs: args.timeoutMs,
        healthStatus: isCloudMapHealthStatus(args.healthStatus) ? args.healthStatus : 'HEALTHY',
        ...(args.port === undefined ? {} : { port: args.port }),
        ...(args.ownerAccount === '' ? {} : { ownerAccount: args.ownerAccount }),
        telemetry,
        onError,
      });
  }
}

/** One resolver and the load balancer it feeds. */
class Pipeline implements BatchConsumer {
  private lb: LoadBalancer | undefined;
  private readonly stop = new AbortController();
  args: LoadBalancingArguments;
  private readonly context: ComponentContext;
  private resolver: Resolver;
  private unsubscribe: () => void = () => undefined;
  private tls: ClientTls | undefined;
  private memory: MemoryBudget | undefined;
  /**
   * Where batches go that this pipeline gives up on because it is shutting down (the new
   * pipeline of an update), instead of being dropped.
   */
  handoff: BatchConsumer | undefined;

  private readonly telemetry: ExporterTelemetry;

  constructor(
    context: ComponentContext,
    args: LoadBalancingArguments,
    resolver: Resolver,
    telemetry: ExporterTelemetry,
  ) {
    this.context = context;
    this.args = args;
    this.resolver = resolver;
    this.telemetry = telemetry;
  }

  /** Batches queued now, and the room the queues have. */
  queueUsage(): { readonly size: number; readonly capacity: number } {
    const lb = this.lb;
    if (lb === undefined) return { size: 0, capacity: 0 };
    let size = 0;
    const backends = lb.stats().backends;
    for (const b of backends.values()) size += b.queued;
    return { size, capacity: backends.size * Math.max(1, this.args.protocol.otlp.queue.queueSize) };
  }

  async start(): Promise<void> {
    this.tls = loadTls(this.args.protocol.otlp.client.tls, this.context.clock, this.context.logger);
    this.memory = queueMemory(this.args.protocol.otlp.queue, this.context.logger);
    await this.startResolver(this.resolver);
  }

  /**
   * Swaps in a new resolver (a reload that changed only the resolver): the load balancer,
   * its queues and connections stay; the new resolver's set is applied as a membership
   * change, so nothing queued is lost and only the routes that must move do.
   */
  async replaceResolver(resolver: Resolver): Promise<void> {
    const old = this.resolver;
    this.unsubscribe();
    await old.shutdown();
    this.resolver = resolver;
    await this.startResolver(resolver);
  }

  private async startResolver(resolver: Resolver): Promise<void> {
    this.unsubscribe = resolver.onChange((endpoints) => {
      void this.apply(endpoints);
    });
    await resolver.start(this.stop.signal);
    // A reload counts as applied once the first set is in use.
    await this.apply(resolver.endpoints);
    if (this.lb === undefined) {
      this.context.logger.warn('the resolver found no backends yet; requests are refused as retryable until it does', {
        resolver: resolver.name,
      });
    }
  }

  /** Records arguments that differ from the current ones in the resolver only. */
  updateArgs(args: LoadBalancingArguments): void {
    this.args = args;
  }

  consume(batch: Batch, context: ConsumeContext): Promise<ExportResult> {
    const lb = this.lb;
    if (lb === undefined) {
      return Promise.resolve(
        retryable(
          new Error(`${this.context.id} has no backends yet: the ${this.resolver.name} resolver found none`),
          1_000,
        ),
      );
    }
    return lb.consume(batch, context);
  }

  async shutdown(deadlineMs: number): Promise<void> {
    this.stop.abort();
    await this.resolver.shutdown();
    await this.lb?.shutdown(deadlineMs);
    this.tls?.close();
  }

  /** Applies a resolved set; resolves once it is in use (never rejects). */
  private apply(endpoints: readonly string[]): Promise<void> {
    if (this.stop.signal.aborted) return Promise.resolve();
    if (endpoints.length === 0) {
      if (this.lb !== undefined) {
        this.context.logger.warn('the resolver found no backends; keeping the last set until it finds some', {
          resolver: this.resolver.name,
          endpoints: this.lb.endpoints.join(','),
        });
      }
      return Promise.resolve();
    }
    if (this.lb === undefined) {
      this.lb = this.createLoadBalancer(endpoints);
      this.context.logger.info('backends in use', {
        resolver: this.resolver.name,
        endpoints: this.lb.endpoints.join(','),
      });
      return Promise.resolve();
    }
    return this.lb.setEndpoints(endpoints).catch((error: unknown) => {
      if (!this.stop.signal.aborted) this.context.logger.warn('cannot apply the new backend set', { err: error });
    });
  }

  private createLoadBalancer(endpoints: readonly string[]): LoadBalancer {
    const otlp = this.args.protocol.otlp;
    const client = otlp.client;
    const tls = this.tls;
    const logger = this.context.logger;
    return new LoadBalancer({
      routingKey: routingKeyOf(this.args),
      ring: ringOf(this.args),
      endpoints,
      queue: queueSettings(otlp.queue),
      retry: retryPolicy(otlp.retry),
      merge: mergeSettings(otlp.queue),
      ...(this.memory === undefined ? {} : { memory: this.memory }),
      clock: this.context.clock,
      createClient: (endpoint) => this.telemetry.wrap(createGrpcClient(endpoint, client, otlp.timeoutMs, tls, logger)),
      onRefused: (batch) => {
        this.telemetry.enqueueFailed(batch);
      },
      onRingChange: (change) => {
        logger.info('backends changed', {
          resolver: this.resolver.name,
          added: change.added.join(','),
          removed: change.removed.join(','),
          backends: change.endpoints.length,
        });
      },
      onDrop: (endpoint, batch, reason, result) => {
        const handoff = this.handoff;
        if (reason === 'shutdown' && handoff !== undefined) {
          void handoff.consume(batch, { signal: new AbortController().signal }).then((r) => {
            if (r.kind !== 'ok') reportDrop(this.telemetry, logger, endpoint, batch, 'handoff', r);
          });
          return;
        }
        reportDrop(this.telemetry, logger, endpoint, batch, reason, result);
      },
      onWarning: (message, cause) => {
        logger.warn(message, { err: cause });
      },
    });
  }
}

class LoadBalancingExporter implements Component<LoadBalancingArguments> {
  readonly exports: ComponentExports;
  private readonly context: ComponentContext;
  private readonly consumer: SwitchableConsumer;
  private pipeline: Pipeline;
  private readonly metrics: MetricScope;
  private readonly telemetry: ExporterTelemetry;

  constructor(context: ComponentContext, args: LoadBalancingArguments) {
    this.context = context;
    this.metrics = context.metrics.scope(
      args.debugMetrics.disableHighCardinalityMetrics ? { labelFilter: dropLabels(HIGH_CARDINALITY_LABELS) } : {},
    );
    this.telemetry = createExporterTelemetry(this.metrics, context.id, debugLevel(args.debugMetrics), true);
    this.pipeline = this.makePipeline(args, resolverTelemetry(this.metrics));
    this.telemetry.observeQueue(() => this.pipeline.queueUsage());
    this.consumer = new SwitchableConsumer(context.id, SIGNALS, this.pipeline);
    this.exports = { input: consumerCapsule(this.consumer) };
  }

  async start(): Promise<void> {
    await this.pipeline.start();
  }

  async update(args: LoadBalancingArguments): Promise<void> {
    const old = this.pipeline;
    if (argsEqual({ ...old.args, resolver: undefined }, { ...args, resolver: undefined })) {
      const logger = this.context.logger;
      const resolver = createResolver(args.resolver, resolverTelemetry(this.metrics), (error) => {
        logger.warn('resolver error', { err: error });
      });
      await old.replaceResolver(resolver);
      old.updateArgs(args);
      return;
    }
    const next = this.makePipeline(args, resolverTelemetry(this.metrics));
    await next.start();
    this.pipeline = next;
    this.consumer.target = next;
    // What the old load balancer cannot deliver in time goes to the new one, not away.
    old.handoff = next;
    await old.shutdown(Date.now() + UPDATE_DRAIN_MS);
  }

  async shutdown(deadlineMs: number): Promise<void> {
    await this.pipeline.shutdown(deadlineMs);
    this.telemetry.close();
  }

  private makePipeline(args: LoadBalancingArguments, telemetry: ResolverTelemetry): Pipeline {
    const logger = this.context.logger;
    const resolver = createResolver(args.resolver, telemetry, (error) => {
      logger.warn('resolver error', { err: error });
    });
    return new Pipeline(this.context, args, resolver, this.telemetry);
  }
}

/** `otelcol.exporter.loadbalancing`. */
export const loadBalancingDefinition: ComponentDefinition<LoadBalancingArguments> = {
  name: NAME,
  stability: 'generally-available',
  arguments: loadBalancingSchema,
  placeholderExports: { input: placeholderConsumer(NAME, SIGNALS) },
  build: (context, args) => Promise.resolve(new LoadBalancingExporter(context, args)),
};
