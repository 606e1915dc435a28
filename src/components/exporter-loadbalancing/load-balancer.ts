/**
 * The load balancer: splits every batch by routing key, looks each part's backend up on the
 * hash ring, and hands the part to that backend's {@link Sender}.
 *
 * Semantics (DESIGN.md, "Semantics that matter"):
 * - **Acknowledgement.** With the queue enabled, a request is accepted once every part is
 *   queued. Room is checked for every part before any is queued, so a request is either
 *   accepted whole or refused whole: a full queue refuses with a retryable result (the
 *   client retries later) and never leaves half a request behind to be sent twice.
 *   With the queue disabled, the answer waits for the backends.
 * - **Retry** is per part and per backend: backend B failing never re-sends what A took.
 * - **Membership change.** New senders are started before the new ring is swapped in;
 *   the swap is one assignment, so ingest never waits on it. Batches queued for, or being
 *   retried to, a backend that left are split again on the new ring and queued for their
 *   new owners (past `queue_size` if need be): nothing is dropped because a backend left.
 * - **Bad input** (a request that is not valid OTLP protobuf) is refused as permanent with
 *   the splitter's error, which names the byte offset.
 * - Metrics are accepted and forwarded whole, one request to one backend in turn, until
 *   metric routing lands.
 */

import { ErrorCode, OtelLbError } from '../../errors.ts';
import type { Clock } from '../../internal/clock.ts';
import type { Batch } from '../../otlp/batch.ts';
import { LOGS_SHAPE } from '../../otlp/logs.ts';
import { Signal, type SignalShape } from '../../otlp/signal.ts';
import { splitRequest, type KeyRouter, type RoutingKey } from '../../otlp/splitter.ts';
import { TRACES_SHAPE } from '../../otlp/traces.ts';
import type { BatchConsumer, ConsumeContext } from '../../transport/consumer.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from '../../transport/export-result.ts';
import type { OtlpClient } from '../../transport/otlp-client.ts';
import type { QueueSettings } from '../../transport/queue.ts';
import type { RetryPolicy } from '../../transport/retry.ts';
import { Sender, type DropReason, type MergeSettings, type SenderStats } from '../../transport/sender.ts';
import { DEFAULT_RING, normalizeEndpoints, type HashRing, type RingName } from './hash-ring/hash-ring.ts';
import { buildRing } from './hash-ring/rings.ts';
import { createKeyRouter } from './routing.ts';

/** How long a client is told to wait when a queue is full. */
const QUEUE_FULL_RETRY_AFTER_MS = 1_000;

/** Options of {@link LoadBalancer}. */
export interface LoadBalancerOptions {
  readonly routingKey: RoutingKey;
  /** Default: the default ring. */
  readonly ring?: RingName;
  /** Initial backends (any order, duplicates ignored); at least one. */
  readonly endpoints: readonly string[];
  readonly queue: QueueSettings;
  readonly retry: RetryPolicy;
  readonly merge: MergeSettings;
  /** Makes the client of one backend; called once per endpoint while it is in the ring. */
  readonly createClient: (endpoint: string) => OtlpClient;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** A batch was given up on (for logs and metrics). */
  readonly onDrop?: (endpoint: string, batch: Batch, reason: DropReason, result: ExportResult | undefined) => void;
}

/** Counters of the load balancer as a whole. */
export interface LoadBalancerStats {
  /** Requests accepted and items in them. */
  acceptedRequests: number;
  acceptedItems: number;
  /** Requests refused because a queue was full (the client retries them). */
  refusedRequests: number;
  /** Requests refused as invalid OTLP. */
  invalidRequests: number;
  /** Batches routed again after their backend left the ring. */
  reroutedBatches: number;
  /** Per backend in the ring now. */
  backends: Map<string, SenderStats>;
}

/** The ring, the sender of each of its endpoints, and a key router per signal. */
interface Topology {
  readonly ring: HashRing;
  /** Indexed like `ring.endpoints`. */
  readonly senders: readonly Sender[];
  readonly routers: ReadonlyMap<Signal, KeyRouter>;
}

const SHAPES: ReadonlyMap<Signal, SignalShape> = new Map([
  [Signal.TRACES, TRACES_SHAPE],
  [Signal.LOGS, LOGS_SHAPE],
]);

/** Routes batches to backends. Safe to call `consume` concurrently with `setEndpoints`. */
export class LoadBalancer implements BatchConsumer {
  private readonly options: LoadBalancerOptions;
  private readonly ringName: RingName;
  private topology: Topology;
  /** The sender of every endpoint in the ring (or about to be), by endpoint. */
  private readonly senders = new Map<string, Sender>();
  /** Senders of backends that left, handing back their work. */
  private readonly retiring = new Set<Promise<void>>();
  /** Sends started outside a queue (re-routed work with the queue disabled). */
  private readonly detached = new Set<Promise<unknown>>();
  private nextMetricsBackend = 0;
  private stopped = false;
  private readonly counters = {
    acceptedRequests: 0,
    acceptedItems: 0,
    refusedRequests: 0,
    invalidRequests: 0,
    reroutedBatches: 0,
  };

  /** @throws OtelLbError `ERR_LB_NO_BACKENDS` when `endpoints` is empty. */
  constructor(options: LoadBalancerOptions) {
    this.options = options;
    this.ringName = options.ring ?? DEFAULT_RING;
    this.topology = this.buildTopology(normalizeEndpoints(options.endpoints));
  }

  /** The endpoints in the ring now, sorted. */
  get endpoints(): readonly string[] {
    return this.topology.ring.endpoints;
  }

  /** A snapshot of the counters. */
  stats(): LoadBalancerStats {
    const backends = new Map<string, SenderStats>();
    for (const sender of this.topology.senders) backends.set(sender.endpoint, sender.stats());
    return { ...this.counters, backends };
  }

  consume(batch: Batch, context: ConsumeContext): Promise<ExportResult> {
    if (this.stopped) {
      return Promise.resolve(
        retryable(
          new OtelLbError(ErrorCode.LB_SHUTTING_DOWN, 'otel-lb is shutting down; send to another replica or retry'),
        ),
      );
    }
    const topology = this.topology;
    const shape = SHAPES.get(batch.signal);
    const router = topology.routers.get(batch.signal);
    if (shape === undefined || router === undefined) return this.consumeWhole(batch, topology, context);

    const split = splitRequest(shape, batch.bytes, this.options.routingKey, router);
    if (!split.ok) {
      this.counters.invalidRequests++;
      return Promise.resolve(permanent(split.error));
    }
    const parts = split.parts;
    if (parts.length === 0) return Promise.resolve(EXPORT_OK);

    if (!this.options.queue.enabled) {
      this.counters.acceptedRequests++;
      this.counters.acceptedItems += split.items;
      return Promise.all(
        parts.map((p) =>
          this.senderAt(topology, p.backend).send(
            { signal: batch.signal, bytes: p.bytes, items: p.items },
            context.signal,
          ),
        ),
      ).then(worst);
    }
    for (const part of parts) {
      const sender = this.senderAt(topology, part.backend);
      if (!sender.hasRoom()) return Promise.resolve(this.refuse(sender));
    }
    for (const part of parts) {
      this.senderAt(topology, part.backend).offer({ signal: batch.signal, bytes: part.bytes, items: part.items });
    }
    this.counters.acceptedRequests++;
    this.counters.acceptedItems += split.items;
    return Promise.resolve(EXPORT_OK);
  }

  /**
   * Replaces the set of backends. Returns once the new ring is in use and the backends that
   * left have handed back their undelivered batches (re-routed) and closed. A set equal to
   * the current one changes nothing.
   *
   * @throws OtelLbError `ERR_LB_NO_BACKENDS` for an empty set (the current ring stays).
   */
  async setEndpoints(endpoints: readonly string[]): Promise<void> {
    const next = normalizeEndpoints(endpoints);
    const current = this.topology.ring.endpoints;
    if (next.length === current.length && next.every((e, i) => e === current[i])) return;
    this.topology = this.buildTopology(next);
    const keep = new Set(next);
    const leaving = [...this.senders.values()].filter((s) => !keep.has(s.endpoint));
    for (const sender of leaving) this.senders.delete(sender.endpoint);
    await Promise.all(
      leaving.map((sender) => {
        const done = sender
          .retire()
          .then(() => sender.close())
          .finally(() => this.retiring.delete(done));
        this.retiring.add(done);
        return done;
      }),
    );
  }

  /**
   * Stops accepting, lets every sender deliver what it holds until `deadlineMs` (absolute,
   * clock time), then gives up on the rest and closes the clients. Idempotent.
   */
  async shutdown(deadlineMs: number): Promise<void> {
    this.stopped = true;
    await Promise.all(this.retiring);
    await Promise.all([...this.senders.values()].map((s) => s.shutdown(deadlineMs)));
    await Promise.all(this.detached);
  }

  private buildTopology(endpoints: readonly string[]): Topology {
    if (endpoints.length === 0) {
      throw new OtelLbError(ErrorCode.LB_NO_BACKENDS, 'the load balancer has no backends: give at least one endpoint');
    }
    const ring = buildRing(this.ringName, endpoints);
    const senders = ring.endpoints.map((endpoint) => this.senderFor(endpoint));
    const routers = new Map<Signal, KeyRouter>();
    for (const signal of SHAPES.keys()) {
      routers.set(signal, createKeyRouter({ ring, signal, routingKey: this.options.routingKey }));
    }
    return { ring, senders, routers };
  }

  private senderFor(endpoint: string): Sender {
    let sender = this.senders.get(endpoint);
    if (sender === undefined) {
      const onDrop = this.options.onDrop;
      sender = new Sender({
        client: this.options.createClient(endpoint),
        queue: this.options.queue,
        retry: this.options.retry,
        merge: this.options.merge,
        ...(this.options.clock === undefined ? {} : { clock: this.options.clock }),
        ...(this.options.random === undefined ? {} : { random: this.options.random }),
        ...(onDrop === undefined
          ? {}
          : {
              onDrop: (batch: Batch, reason: DropReason, result: ExportResult | undefined) => {
                onDrop(endpoint, batch, reason, result);
              },
            }),
        onOrphan: (batch) => {
          this.reroute(batch);
        },
      });
      this.senders.set(endpoint, sender);
    }
    return sender;
  }

  private senderAt(topology: Topology, backend: number): Sender {
    const sender = topology.senders[backend];
    if (sender === undefined) throw new RangeError(`no sender for backend ${backend} of ${topology.senders.length}`);
    return sender;
  }

  private refuse(sender: Sender): ExportResult {
    this.counters.refusedRequests++;
    return retryable(
      new OtelLbError(
        ErrorCode.LB_QUEUE_FULL,
        `the sending queue of backend ${sender.endpoint} is full (${this.options.queue.queueSize} batches): the backend is slow or down; retry later, or raise queue_size or num_consumers`,
      ),
      QUEUE_FULL_RETRY_AFTER_MS,
    );
  }

  /** Metrics (not routed yet): the whole request to one backend, in turn. */
  private consumeWhole(batch: Batch, topology: Topology, context: ConsumeContext): Promise<ExportResult> {
    const sender = this.senderAt(topology, this.nextMetricsBackend++ % topology.senders.length);
    if (!this.options.queue.enabled) return sender.send(batch, context.signal);
    if (!sender.offer(batch)) return Promise.resolve(this.refuse(sender));
    this.counters.acceptedRequests++;
    return Promise.resolve(EXPORT_OK);
  }

  /** A batch its backend will not deliver (it left the ring): split it on the current ring. */
  private reroute(batch: Batch): void {
    this.counters.reroutedBatches++;
    const topology = this.topology;
    const shape = SHAPES.get(batch.signal);
    const router = topology.routers.get(batch.signal);
    const parts =
      shape === undefined || router === undefined
        ? [{ backend: this.nextMetricsBackend++ % topology.senders.length, bytes: batch.bytes, items: batch.items }]
        : (() => {
            const split = splitRequest(shape, batch.bytes, this.options.routingKey, router);
            // It was split once already, so it is valid; keep it whole if that ever changes.
            return split.ok ? split.parts : [{ backend: 0, bytes: batch.bytes, items: batch.items }];
          })();
    for (const part of parts) {
      const sender = this.senderAt(topology, part.backend);
      const piece: Batch = { signal: batch.signal, bytes: part.bytes, items: part.items };
      if (!sender.offer(piece, true)) {
        const sending = sender.send(piece).finally(() => this.detached.delete(sending));
        this.detached.add(sending);
      }
    }
  }
}

/** The worst of several results: permanent over retryable over ok. */
function worst(results: readonly ExportResult[]): ExportResult {
  let out: ExportResult = EXPORT_OK;
  for (const r of results) {
    if (r.kind === 'permanent') return r;
    if (r.kind === 'retryable') out = r;
  }
  return out;
}
