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
 * - **Membership change** ({@link LoadBalancer.setEndpoints}):
 *   - The new ring is built off the ingest path while the old one keeps routing: the
 *     default ring (`otel-lb-v1`, 55–160 ms for 300–1,000 endpoints) in a worker thread,
 *     the upstream rings (≤ 3 ms at 300) inline. Ingest never waits for a build.
 *   - Changes coalesce: while a ring is being built, newer sets replace older ones; the
 *     latest set wins and a build finished for an outdated set is thrown away.
 *   - Senders for new backends are started before the ring that uses them; the swap is
 *     one assignment, between two requests.
 *   - Batches queued for, or being retried to, a backend that left are split again on the
 *     new ring and queued for their new owners (past `queue_size` if need be), and with the
 *     queue disabled the caller's answer follows its re-routed parts: nothing is dropped
 *     because a backend left. The sender of a backend that left finishes its sends under
 *     way, hands back what failed, and then closes its client.
 * - **Bad input** (a request that is not valid OTLP protobuf) is refused as permanent with
 *   the splitter's error, which names the byte offset.
 * - Metrics are accepted and forwarded whole, one request to one backend in turn, until
 *   metric routing lands.
 */

import { Worker } from 'node:worker_threads';

import { ErrorCode, OtelLbError } from '../../errors.ts';
import type { Clock } from '../../internal/clock.ts';
import type { Batch } from '../../otlp/batch.ts';
import { LOGS_SHAPE } from '../../otlp/logs.ts';
import { Signal, type SignalShape } from '../../otlp/signal.ts';
import { Splitter, type KeyRouter, type RoutingKey, type SplitPart } from '../../otlp/splitter.ts';
import { TRACES_SHAPE } from '../../otlp/traces.ts';
import type { BatchConsumer, ConsumeContext } from '../../transport/consumer.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from '../../transport/export-result.ts';
import type { OtlpClient } from '../../transport/otlp-client.ts';
import type { MemoryBudget, QueueSettings } from '../../transport/queue.ts';
import type { RetryPolicy } from '../../transport/retry.ts';
import { Sender, type DropReason, type MergeSettings, type SenderStats } from '../../transport/sender.ts';
import { DEFAULT_RING, RingName, normalizeEndpoints, type HashRing } from './hash-ring/hash-ring.ts';
import { OTEL_LB_V1_SLOTS, hashOtelLbV1Key } from './hash-ring/otel-lb-v1.ts';
import { buildRing } from './hash-ring/rings.ts';
import { createKeyRouter } from './routing.ts';

/** How long a client is told to wait when a queue is full. */
const QUEUE_FULL_RETRY_AFTER_MS = 1_000;

/**
 * Builds the ring of a membership change. It may take as long as it needs, but must not
 * hold the event loop (ingest runs meanwhile). Rejects with an {@link OtelLbError} for a
 * set no ring can be built from. `signal` aborts when the load balancer shuts down; the
 * result is then ignored.
 */
export type RingBuilder = (name: RingName, endpoints: readonly string[], signal: AbortSignal) => Promise<HashRing>;

/** A change of the backend set that is now in use. */
export interface RingChange {
  /** The endpoints of the new ring, sorted. */
  readonly endpoints: readonly string[];
  /** Endpoints that joined and that left, sorted. */
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

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
  /** The byte budget of every backend's queue together; none by default. */
  readonly memory?: MemoryBudget;
  /** Makes the client of one backend; called once per endpoint while it is in the ring. */
  readonly createClient: (endpoint: string) => OtlpClient;
  readonly clock?: Clock;
  readonly random?: () => number;
  /**
   * Builds the rings of membership changes (tests, embedders). Default: `otel-lb-v1` in a
   * worker thread (started on the first change, stopped by `shutdown`), the upstream rings
   * inline. The initial ring is always built inline by the constructor.
   */
  readonly buildRing?: RingBuilder;
  /** A batch was given up on (for logs and metrics). */
  readonly onDrop?: (endpoint: string, batch: Batch, reason: DropReason, result: ExportResult | undefined) => void;
  /** A request was refused because a queue or the memory budget was full (for metrics). */
  readonly onRefused?: (batch: Batch) => void;
  /** A new backend set is in use (for logs and metrics); called right after the swap. */
  readonly onRingChange?: (change: RingChange) => void;
  /** Something went wrong that otel-lb worked around (for logs), e.g. the ring worker failed. */
  readonly onWarning?: (message: string, cause: unknown) => void;
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
  /** New rings swapped in. */
  ringChanges: number;
  /** Rings built for a set that a newer one replaced before it was swapped in. */
  discardedRingBuilds: number;
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

/** A caller of `setEndpoints` waiting for its set, or a newer one, to be in use. */
interface ChangeWaiter {
  readonly generation: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** A part of `batch`: its signal and metadata, with `bytes` holding `items` of its items. */
function partOf(batch: Batch, bytes: Uint8Array, items: number): Batch {
  return batch.metadata === undefined
    ? { signal: batch.signal, bytes, items }
    : { signal: batch.signal, bytes, items, metadata: batch.metadata };
}

/** A set of endpoints asked for and not in use yet. */
interface WantedSet {
  readonly endpoints: readonly string[];
  readonly generation: number;
}

const SHAPES: ReadonlyMap<Signal, SignalShape> = new Map([
  [Signal.TRACES, TRACES_SHAPE],
  [Signal.LOGS, LOGS_SHAPE],
]);

/**
 * Routes batches to backends. Safe to call `consume` concurrently with `setEndpoints`; one
 * instance per pipeline.
 */
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
  /**
   * Queue disabled: the parts a caller is waiting for (with its signal), and, for those
   * whose backend left before delivering them, the result of their re-routed pieces.
   */
  private readonly awaited = new Map<Batch, AbortSignal>();
  private readonly reroutedResults = new Map<Batch, Promise<ExportResult>>();
  private ringWorker: RingWorker | undefined;
  private wanted: WantedSet | undefined;
  private generation = 0;
  private readonly waiters: ChangeWaiter[] = [];
  private changeLoop: Promise<void> | undefined;
  private isChanging = false;
  /** Aborted by `shutdown`: abandons a ring being built. */
  private readonly halt = new AbortController();
  /** Rejects when `halt` aborts; raced against builds. */
  private readonly halted: Promise<never>;
  private nextMetricsBackend = 0;
  /** Splits every batch; its tables are reused from one request to the next. */
  private readonly splitter = new Splitter();
  private stopped = false;
  private readonly counters = {
    acceptedRequests: 0,
    acceptedItems: 0,
    refusedRequests: 0,
    invalidRequests: 0,
    reroutedBatches: 0,
    ringChanges: 0,
    discardedRingBuilds: 0,
  };

  /**
   * Builds the initial ring inline (before any traffic) and starts its senders.
   *
   * @throws OtelLbError `ERR_LB_NO_BACKENDS` when `endpoints` is empty.
   */
  constructor(options: LoadBalancerOptions) {
    this.options = options;
    this.ringName = options.ring ?? DEFAULT_RING;
    this.halted = new Promise<never>((_, reject) => {
      this.halt.signal.addEventListener('abort', () => {
        reject(shuttingDown());
      });
    });
    this.halted.catch(() => undefined);
    const endpoints = normalizeEndpoints(options.endpoints);
    if (endpoints.length === 0) throw noBackends();
    this.topology = this.topologyFor(buildRing(this.ringName, endpoints));
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

    const split = this.splitter.split(shape, batch.bytes, this.options.routingKey, router);
    if (!split.ok) {
      this.counters.invalidRequests++;
      return Promise.resolve(permanent(split.error));
    }
    const parts = split.parts;
    if (parts.length === 0) return Promise.resolve(EXPORT_OK);

    if (!this.options.queue.enabled) {
      this.counters.acceptedRequests++;
      this.counters.acceptedItems += split.items;
      return this.sendParts(topology, batch, parts, context.signal);
    }
    for (const part of parts) {
      const sender = this.senderAt(topology, part.backend);
      if (!sender.hasRoom()) return Promise.resolve(this.refuse(sender, batch));
    }
    const memory = this.options.memory;
    if (memory !== undefined) {
      let bytes = 0;
      for (const part of parts) bytes += part.bytes.length;
      if (!memory.hasRoom(bytes)) return Promise.resolve(this.refuseMemory(memory, batch));
    }
    for (const part of parts) {
      this.senderAt(topology, part.backend).offer(partOf(batch, part.bytes, part.items));
    }
    this.counters.acceptedRequests++;
    this.counters.acceptedItems += split.items;
    return Promise.resolve(EXPORT_OK);
  }

  /**
   * Asks for a new set of backends (any order, duplicates ignored) and returns at once;
   * ingest goes on over the current ring while the new one is built. The returned promise
   * resolves once this set, or one asked for after it, is in use and every backend that
   * left by then has finished its sends, handed back its undelivered batches (re-routed)
   * and closed. A set equal to the one in use changes nothing.
   *
   * Safe to call at any rate: calls made while a ring is being built coalesce, and only
   * the latest set is built next.
   *
   * Rejects with OtelLbError `ERR_LB_NO_BACKENDS` for an empty set (nothing changes; a set
   * asked for before stays asked for), with the ring's error (`ERR_LB_TOO_MANY_BACKENDS`)
   * when no ring can be built from the set (the current ring stays), and with
   * `ERR_LB_SHUTTING_DOWN` once {@link shutdown} has begun.
   */
  setEndpoints(endpoints: readonly string[]): Promise<void> {
    if (this.stopped) return Promise.reject(shuttingDown());
    const next = normalizeEndpoints(endpoints);
    if (next.length === 0) return Promise.reject(noBackends());
    const generation = ++this.generation;
    this.wanted = { endpoints: next, generation };
    const done = new Promise<void>((resolve, reject) => {
      this.waiters.push({ generation, resolve, reject });
    });
    if (!this.isChanging) {
      this.isChanging = true;
      this.changeLoop = this.applyChanges();
    }
    return done;
  }

  /**
   * Stops accepting, lets every sender deliver what it holds until `deadlineMs` (absolute,
   * clock time), then gives up on the rest and closes the clients. A change still being
   * built is abandoned (its callers get `ERR_LB_SHUTTING_DOWN`). Idempotent.
   */
  async shutdown(deadlineMs: number): Promise<void> {
    this.stopped = true;
    this.halt.abort(shuttingDown());
    await this.ringWorker?.close();
    await this.changeLoop;
    this.settleWaiters(Infinity, shuttingDown());
    await Promise.all(this.retiring);
    await Promise.all([...this.senders.values()].map((s) => s.shutdown(deadlineMs)));
    await Promise.all(this.detached);
  }

  /** Builds and swaps in the wanted sets, the latest first, until none is left. */
  private async applyChanges(): Promise<void> {
    for (let wanted = this.wanted; wanted !== undefined && !this.stopped; wanted = this.wanted) {
      if (sameEndpoints(wanted.endpoints, this.topology.ring.endpoints)) {
        this.wanted = undefined;
        this.settleAfterRetirement(wanted.generation);
        continue;
      }
      let ring: HashRing;
      try {
        ring = await Promise.race([this.buildRingOffPath(wanted.endpoints), this.halted]);
      } catch (error) {
        if (this.wanted === wanted) {
          this.wanted = undefined;
          this.settleWaiters(wanted.generation, asError(error));
        }
        continue;
      }
      // (State read through methods: it changed during the build.)
      if (this.isStopped()) break;
      if (this.wanted !== wanted) {
        this.counters.discardedRingBuilds++;
        continue;
      }
      this.wanted = undefined;
      this.swap(ring);
      this.settleAfterRetirement(wanted.generation);
    }
    // In the same turn as the last look at `wanted`, so that no request is left behind.
    this.isChanging = false;
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  private async buildRingOffPath(endpoints: readonly string[]): Promise<HashRing> {
    if (this.options.buildRing !== undefined) return this.options.buildRing(this.ringName, endpoints, this.halt.signal);
    // The upstream rings build in ≤ 3 ms for 300 endpoints (≤ 9 ms for 1,000): not worth a thread.
    if (this.ringName !== RingName.OTEL_LB_V1) return buildRing(this.ringName, endpoints);
    this.ringWorker ??= new RingWorker();
    try {
      return await this.ringWorker.build(endpoints);
    } catch (error) {
      if (error instanceof OtelLbError || this.stopped) throw error;
      this.options.onWarning?.(
        'building the hash ring in a worker thread failed; building it on the main thread instead (ingest pauses meanwhile)',
        error,
      );
      return buildRing(this.ringName, endpoints);
    }
  }

  /** Puts `ring` in use: starts the senders of new backends, then swaps, then retires the leavers. */
  private swap(ring: HashRing): void {
    const previous = this.topology.ring.endpoints;
    const topology = this.topologyFor(ring);
    this.topology = topology;
    this.counters.ringChanges++;
    const keep = new Set(ring.endpoints);
    const leaving = [...this.senders.values()].filter((s) => !keep.has(s.endpoint));
    for (const sender of leaving) {
      this.senders.delete(sender.endpoint);
      // Orphans what is queued (re-routed on the new ring, synchronously), wakes what waits
      // to be retried, lets sends under way finish, then closes the client.
      const done = sender
        .retire()
        .then(() => sender.close())
        .catch((error: unknown) => {
          this.options.onWarning?.(
            `closing the client of backend ${sender.endpoint}, which left the ring, failed`,
            error,
          );
        })
        .finally(() => this.retiring.delete(done));
      this.retiring.add(done);
    }
    const before = new Set(previous);
    this.options.onRingChange?.({
      endpoints: ring.endpoints,
      added: ring.endpoints.filter((e) => !before.has(e)),
      removed: previous.filter((e) => !keep.has(e)),
    });
  }

  /** Resolves the callers up to `generation` once every backend retiring now has closed. */
  private settleAfterRetirement(generation: number): void {
    const retiring = [...this.retiring];
    if (retiring.length === 0) {
      this.settleWaiters(generation, undefined);
      return;
    }
    void Promise.allSettled(retiring).then(() => {
      this.settleWaiters(generation, undefined);
    });
  }

  /** Resolves (or rejects, with `error`) the callers waiting for sets up to `generation`. */
  private settleWaiters(generation: number, error: Error | undefined): void {
    let kept = 0;
    for (const waiter of this.waiters) {
      if (waiter.generation > generation) {
        this.waiters[kept++] = waiter;
      } else if (error === undefined) {
        waiter.resolve();
      } else {
        waiter.reject(error);
      }
    }
    this.waiters.length = kept;
  }

  private topologyFor(ring: HashRing): Topology {
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
        ...(this.options.memory === undefined ? {} : { memory: this.options.memory }),
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

  private refuse(sender: Sender, batch: Batch): ExportResult {
    this.counters.refusedRequests++;
    this.options.onRefused?.(batch);
    return retryable(
      new OtelLbError(
        ErrorCode.LB_QUEUE_FULL,
        `the sending queue of backend ${sender.endpoint} is full (${this.options.queue.queueSize} batches): the backend is slow or down; retry later, or raise queue_size or num_consumers`,
      ),
      QUEUE_FULL_RETRY_AFTER_MS,
    );
  }

  private refuseMemory(memory: MemoryBudget, batch: Batch): ExportResult {
    this.counters.refusedRequests++;
    this.options.onRefused?.(batch);
    const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    return retryable(
      new OtelLbError(
        ErrorCode.LB_QUEUE_FULL,
        `the sending queues hold ${mib(memory.usedBytes)} of their ${mib(memory.limitBytes)} memory limit: the backends are slow or down; retry later, or raise queue { memory_limit }`,
      ),
      QUEUE_FULL_RETRY_AFTER_MS,
    );
  }

  /** Metrics (not routed yet): the whole request to one backend, in turn. */
  private consumeWhole(batch: Batch, topology: Topology, context: ConsumeContext): Promise<ExportResult> {
    const sender = this.senderAt(topology, this.nextMetricsBackend++ % topology.senders.length);
    if (!this.options.queue.enabled) return this.sendNow(sender, batch, context.signal);
    if (!sender.offer(batch)) return Promise.resolve(this.refuse(sender, batch));
    this.counters.acceptedRequests++;
    return Promise.resolve(EXPORT_OK);
  }

  /** Queue disabled: sends every part now and answers with the worst outcome. */
  private sendParts(
    topology: Topology,
    batch: Batch,
    parts: readonly SplitPart[],
    abort: AbortSignal,
  ): Promise<ExportResult> {
    return Promise.all(
      parts.map((p) => this.sendNow(this.senderAt(topology, p.backend), partOf(batch, p.bytes, p.items), abort)),
    ).then(worst);
  }

  /**
   * Queue disabled: sends `batch` and resolves to its outcome; when its backend leaves
   * before delivering it, to the outcome of its pieces re-routed on the new ring.
   */
  private async sendNow(sender: Sender, batch: Batch, abort: AbortSignal): Promise<ExportResult> {
    this.awaited.set(batch, abort);
    try {
      const result = await sender.send(batch, abort);
      // A retired sender hands the batch to `reroute` before it answers.
      return await (this.reroutedResults.get(batch) ?? result);
    } finally {
      this.awaited.delete(batch);
      this.reroutedResults.delete(batch);
    }
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
            const split = this.splitter.split(shape, batch.bytes, this.options.routingKey, router);
            // It was split once already, so it is valid; keep it whole if that ever changes.
            return split.ok ? split.parts : [{ backend: 0, bytes: batch.bytes, items: batch.items }];
          })();
    const abort = this.awaited.get(batch);
    if (abort !== undefined) {
      this.reroutedResults.set(batch, this.sendParts(topology, batch, parts, abort));
      return;
    }
    for (const part of parts) {
      const sender = this.senderAt(topology, part.backend);
      const piece: Batch = partOf(batch, part.bytes, part.items);
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

function sameEndpoints(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((e, i) => e === b[i]);
}

function noBackends(): OtelLbError {
  return new OtelLbError(ErrorCode.LB_NO_BACKENDS, 'the load balancer has no backends: give at least one endpoint');
}

function shuttingDown(): OtelLbError {
  return new OtelLbError(ErrorCode.LB_SHUTTING_DOWN, 'otel-lb is shutting down; the backend set no longer changes');
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error), { cause: error });
}

// ---------------------------------------------------------------------------------------
// The `otel-lb-v1` ring, built in a worker thread.
//
// Measured (bench/micro/ring-swap.bench.ts, 300 ↔ 301 endpoints under ingest): building
// inline stalled ingest for the whole build (~55 ms); a build sliced into chunks that yield
// to the event loop keeps each stall to a slice but stretches the build under load; the
// worker keeps the event loop free and the build takes the same ~80 ms on the other core.
// The worker sends back the ring's owner table bit-packed exactly as `otel-lb-v1.ts`
// stores it (⌈log₂ N⌉ bits per slot), transferred rather than copied, so lookups cost the
// same as on a ring built inline, and swapping it in costs ~0.1 ms.

const SLOT_SHIFT = 32 - (31 - Math.clz32(OTEL_LB_V1_SLOTS));

/** ⌈log₂ N⌉ bits, at least 1: the width of one slot's owner for `endpointCount` endpoints. */
function bitsPerSlotFor(endpointCount: number): number {
  return Math.max(1, 32 - Math.clz32(endpointCount - 1));
}

/**
 * The worker's source: builds the ring with `otel-lb-v1.ts` itself, then packs every
 * slot's owner at `slot × bits` in little-endian 32-bit words (the layout `get` reads).
 */
const RING_WORKER_SOURCE = `
import { parentPort } from 'node:worker_threads';
const { buildOtelLbV1Ring, otelLbV1SlotOwners } = await import(${JSON.stringify(new URL('./hash-ring/otel-lb-v1.ts', import.meta.url).href)});
parentPort.on('message', ({ id, endpoints }) => {
  try {
    const ring = buildOtelLbV1Ring(endpoints);
    const owners = otelLbV1SlotOwners(ring);
    const bits = Math.max(1, 32 - Math.clz32(ring.endpoints.length - 1));
    const words = new Uint32Array((owners.length * bits) / 32 + 1);
    for (let slot = 0; slot < owners.length; slot++) {
      const bit = slot * bits;
      const word = bit >>> 5;
      const shift = bit & 31;
      const owner = owners[slot];
      words[word] |= owner << shift;
      words[word + 1] |= (owner >>> 1) >>> (31 - shift);
    }
    parentPort.postMessage({ id, endpoints: ring.endpoints, bits, words }, [words.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: { code: error?.code, message: String(error?.message ?? error) } });
  }
});
`;

const ERROR_CODES: ReadonlySet<unknown> = new Set(Object.values(ErrorCode));

function isErrorCode(value: unknown): value is ErrorCode {
  return ERROR_CODES.has(value);
}

/** A ring-table answer of the worker, checked. */
interface RingTable {
  readonly id: number;
  readonly endpoints: readonly string[];
  readonly bits: number;
  readonly words: Uint32Array;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isRingTable(value: Record<string, unknown>): value is Record<string, unknown> & RingTable {
  return (
    typeof value.id === 'number' &&
    Array.isArray(value.endpoints) &&
    value.endpoints.every((e) => typeof e === 'string') &&
    typeof value.bits === 'number' &&
    value.words instanceof Uint32Array
  );
}

/** An `otel-lb-v1` ring over an owner table the worker built; places keys as `otel-lb-v1.ts` does. */
class WorkerBuiltOtelLbV1Ring implements HashRing {
  readonly name = RingName.OTEL_LB_V1;
  readonly endpoints: readonly string[];
  readonly #bits: number;
  readonly #mask: number;
  readonly #words: Uint32Array;

  constructor(endpoints: readonly string[], bits: number, words: Uint32Array) {
    this.endpoints = endpoints;
    this.#bits = bits;
    this.#mask = 2 ** bits - 1;
    this.#words = words;
  }

  locate(key: Uint8Array, start: number, end: number): number {
    const bit = (hashOtelLbV1Key(key, start, end) >>> SLOT_SHIFT) * this.#bits;
    const word = bit >>> 5;
    const shift = bit & 31;
    // `<< 1 << (31 - shift)` is `<< (32 - shift)`, and 0 when shift = 0 (see otel-lb-v1.ts).
    const low = (this.#words[word] as number) >>> shift;
    const high = ((this.#words[word + 1] as number) << 1) << (31 - shift);
    return (low | high) & this.#mask;
  }
}

/**
 * One worker thread that builds `otel-lb-v1` rings, one at a time, in the order asked.
 * Started on the first build; keeps the process alive only while a build is pending.
 */
class RingWorker {
  #worker: Worker | undefined;
  #nextId = 0;
  readonly #pending = new Map<
    number,
    { readonly endpoints: readonly string[]; resolve: (ring: HashRing) => void; reject: (error: Error) => void }
  >();

  /**
   * Builds the ring over `endpoints` (normalized). Rejects with the ring's OtelLbError
   * (too many endpoints), or with a plain Error when the worker failed or was closed.
   */
  build(endpoints: readonly string[]): Promise<HashRing> {
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    const built = new Promise<HashRing>((resolve, reject) => {
      this.#pending.set(id, { endpoints, resolve, reject });
    });
    worker.ref();
    worker.postMessage({ id, endpoints });
    return built;
  }

  /** Stops the worker; pending builds reject. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#fail(worker, new Error('the ring worker was stopped'));
    await worker.terminate();
  }

  #start(): Worker {
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(RING_WORKER_SOURCE)}`));
    worker.on('message', (message: unknown) => {
      this.#answer(worker, message);
    });
    worker.on('error', (error: unknown) => {
      this.#fail(worker, asError(error));
    });
    worker.on('exit', (code) => {
      this.#fail(worker, new Error(`the ring worker exited with code ${code}`));
    });
    this.#worker = worker;
    return worker;
  }

  #answer(worker: Worker, message: unknown): void {
    if (!isRecord(message) || typeof message.id !== 'number') return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    if (this.#pending.size === 0) worker.unref();
    if (isRecord(message.error)) {
      const { code } = message.error;
      const text = typeof message.error.message === 'string' ? message.error.message : 'unknown error';
      pending.reject(isErrorCode(code) ? new OtelLbError(code, text) : new Error(`the ring worker failed: ${text}`));
      return;
    }
    if (
      !isRingTable(message) ||
      !sameEndpoints(message.endpoints, pending.endpoints) ||
      message.bits !== bitsPerSlotFor(pending.endpoints.length) ||
      message.words.length !== (OTEL_LB_V1_SLOTS * message.bits) / 32 + 1
    ) {
      pending.reject(new Error('the ring worker answered with a malformed ring table'));
      return;
    }
    pending.resolve(new WorkerBuiltOtelLbV1Ring(Object.freeze([...message.endpoints]), message.bits, message.words));
  }

  #fail(worker: Worker, error: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
