/**
 * The sending side of an exporter for one backend: a bounded queue, `num_consumers`
 * concurrent senders that merge what is queued into fewer, larger requests, and retries
 * with backoff. Shared by the load balancer (one sender per backend) and, later, the plain
 * OTLP exporter.
 *
 * Semantics (DESIGN.md, "Semantics that matter"):
 * - {@link Sender.offer} enqueues or refuses at once; it never blocks and never drops.
 * - A batch is retried for this backend only, after `retryable` results, with the
 *   `retry` block's backoff (a server's RetryInfo, when longer, wins) until
 *   `max_elapsed_time`; `permanent` results are not retried. Every batch given up on is
 *   reported to `onDrop` with the reason, and counted.
 * - A merged request is the concatenation of queued requests of one signal: protobuf
 *   concatenates repeated fields, so the result is one valid request holding every
 *   resource of its parts, untouched. A client with {@link OtlpClient.exportMerged} sends
 *   the parts one after the other as one message, never copied together; others get the
 *   concatenation. A merged request given up on is reported to `onDrop` as one batch;
 *   after {@link Sender.retire} its parts go back to `onOrphan` one by one.
 * - Dispatch is adaptive, as Nagle's algorithm is for TCP: while a request of this sender
 *   is on the wire, new batches wait behind it and leave merged as soon as it is answered,
 *   unless a full merged request (`maxBytes`) or half the queue is already waiting, which
 *   starts another send, up to `num_consumers` at once. A quiet backend therefore gets
 *   every batch at once; a busy one gets few, large requests instead of many small ones
 *   (the per-request cost of HTTP/2 is what a 1 → N split would otherwise multiply), and
 *   the added wait is at most one round trip. Sends waiting to retry do not hold others.
 * - {@link Sender.retire} is for a backend that left the ring: it stops taking work and
 *   hands every batch that has not been delivered (queued, or failing and waiting to be
 *   retried) to `onOrphan`, so that the caller can route it again instead of losing it.
 */

import type { Batch } from '../otlp/batch.ts';
import { systemClock, type Clock } from '../internal/clock.ts';
import type { ExportResult } from './export-result.ts';
import type { OtlpClient } from './otlp-client.ts';
import { BoundedQueue, type MemoryBudget, type QueueSettings } from './queue.ts';
import { backoffMs, mayRetry, type RetryPolicy } from './retry.ts';

/** How queued batches are merged into one request. */
export interface MergeSettings {
  /** Largest merged request in bytes; 0 disables merging. A larger single batch is sent alone. */
  readonly maxBytes: number;
}

/** Default: merge up to 1 MiB, well under the 4 MiB a gRPC server accepts by default. */
export const DEFAULT_MERGE_SETTINGS: MergeSettings = Object.freeze({ maxBytes: 1 << 20 });

/** Why a batch was given up on. */
export type DropReason = 'permanent' | 'retries-exhausted' | 'retry-disabled' | 'shutdown';

/** Counters of one sender; monotonic except `queued` and `inFlight`. */
export interface SenderStats {
  /** Batches waiting in the queue now. */
  queued: number;
  /** Requests being sent or waiting to be retried now. */
  inFlight: number;
  /** Items (spans, log records) and requests delivered. */
  sentItems: number;
  sentRequests: number;
  /** Items given up on, and failed attempts (each retry counts). */
  droppedItems: number;
  failedAttempts: number;
}

/** Options of {@link Sender}. */
export interface SenderOptions {
  readonly client: OtlpClient;
  readonly queue: QueueSettings;
  readonly retry: RetryPolicy;
  readonly merge: MergeSettings;
  readonly clock?: Clock;
  /** A number in [0, 1), for jitter. */
  readonly random?: () => number;
  /** The byte budget the queued batches are charged to (shared by an exporter's senders). */
  readonly memory?: MemoryBudget;
  /** A batch was given up on. */
  readonly onDrop?: (batch: Batch, reason: DropReason, result: ExportResult | undefined) => void;
  /** After {@link Sender.retire}: a batch this backend will not deliver, to route again. */
  readonly onOrphan?: (batch: Batch) => void;
  /** A client broke its contract (threw instead of returning a result); the batch is dropped. */
  readonly onError?: (error: unknown) => void;
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** One request on its way: the batches it is made of (one, or several merged), and when it was first tried. */
interface Attempt {
  readonly parts: readonly Batch[];
  /** Items in all parts; -1 when one of them is not counted. */
  readonly items: number;
  readonly firstAttemptAt: number;
}

/** The batches of `attempt` as one batch (their concatenation); the single one as it is. */
function wholeBatch(attempt: Attempt): Batch {
  const { parts } = attempt;
  const first = parts[0] as Batch;
  if (parts.length === 1) return first;
  const bytes = Buffer.concat(parts.map((p) => p.bytes));
  return first.metadata === undefined
    ? { signal: first.signal, bytes, items: attempt.items }
    : { signal: first.signal, bytes, items: attempt.items, metadata: first.metadata };
}

/** A queue, its consumers and the retry loop for one backend. */
export class Sender {
  readonly endpoint: string;
  private readonly options: SenderOptions;
  private readonly queue: BoundedQueue<Batch>;
  private readonly clock: Clock;
  private readonly random: () => number;
  /** Aborted on retire and at the shutdown deadline: wakes retry waits. */
  private readonly wake = new AbortController();
  /** Aborted at the shutdown deadline: cuts sends under way. */
  private readonly halt = new AbortController();
  /** Sends under way, each with its retries (at most `num_consumers`). */
  private readonly running = new Set<Promise<unknown>>();
  /** Requests on the wire now (not counting those waiting to retry). */
  private onWire = 0;
  /** Bytes of the batches in the queue. */
  private queuedBytes = 0;
  private retired = false;
  private shuttingDown = false;
  private readonly statsValue: SenderStats = {
    queued: 0,
    inFlight: 0,
    sentItems: 0,
    sentRequests: 0,
    droppedItems: 0,
    failedAttempts: 0,
  };

  constructor(options: SenderOptions) {
    this.options = options;
    this.endpoint = options.client.endpoint;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.queue = new BoundedQueue<Batch>(Math.max(1, options.queue.queueSize));
    this.maxRunning = Math.max(1, options.queue.numConsumers);
  }

  private readonly maxRunning: number;

  /** A snapshot of the counters. */
  stats(): SenderStats {
    return { ...this.statsValue, queued: this.queue.length };
  }

  /** Whether `n` batches (of `bytes` in all) can be queued now. */
  hasRoom(n = 1, bytes = 0): boolean {
    return !this.retired && this.queue.hasRoom(n) && (this.options.memory?.hasRoom(bytes) ?? true);
  }

  /**
   * Queues `batch`; false when the queue is full, disabled, or the sender is stopping.
   * `force` admits it past `queue_size` (re-routed work that must not be lost).
   */
  offer(batch: Batch, force = false): boolean {
    if (!this.options.queue.enabled || this.retired) return false;
    const memory = this.options.memory;
    const size = batch.bytes.length;
    if (memory !== undefined && !force && !memory.hasRoom(size)) return false;
    if (!this.queue.offer(batch, force)) return false;
    memory?.charge(size);
    this.queuedBytes += size;
    this.pump();
    return true;
  }

  /**
   * Sends `batch` now, with retries, and resolves to the final result: the path used when
   * the queue is disabled. `signal` (the client's request) cuts retries short.
   */
  async send(batch: Batch, signal?: AbortSignal): Promise<ExportResult> {
    const attempt: Attempt = { parts: [batch], items: batch.items, firstAttemptAt: this.clock.now() };
    return this.deliver(attempt, signal);
  }

  /**
   * Stops taking work: queued batches, and batches whose send fails from now on, go to
   * `onOrphan`. Sends under way finish (a success is counted as usual). Returns once every
   * consumer has stopped; then {@link close} the client.
   */
  async retire(): Promise<void> {
    if (this.retired) return;
    this.retired = true;
    this.queue.close();
    const queued = this.queue.drainAll();
    this.queuedBytes = 0;
    for (const batch of queued) {
      this.options.memory?.release(batch.bytes.length);
      this.orphan(batch);
    }
    this.wake.abort(new Error(`backend ${this.endpoint} left the ring`));
    await this.idle();
  }

  /**
   * Stops taking work and delivers what is queued until `deadlineMs` (absolute, clock
   * time); then gives up on the rest (`onDrop` with 'shutdown') and closes the client.
   */
  async shutdown(deadlineMs: number): Promise<void> {
    this.shuttingDown = true;
    this.queue.close();
    this.pump();
    const drained = this.idle();
    const timer = new AbortController();
    const remaining = deadlineMs - this.clock.now();
    const deadline =
      remaining <= 0
        ? Promise.resolve('deadline' as const)
        : this.clock.sleep(remaining, timer.signal).then(
            () => 'deadline' as const,
            () => 'drained' as const,
          );
    const outcome = await Promise.race([drained.then(() => 'drained' as const), deadline]);
    timer.abort();
    if (outcome === 'deadline') {
      const reason = new Error(`shutdown deadline passed with work left for ${this.endpoint}`);
      this.wake.abort(reason);
      this.halt.abort(reason);
      const queued = this.queue.drainAll();
      this.queuedBytes = 0;
      for (const batch of queued) {
        this.options.memory?.release(batch.bytes.length);
        this.drop(batch, 'shutdown', undefined);
      }
      await drained;
    }
    await this.options.client.close();
  }

  /** Closes the client (after {@link retire}). */
  close(): Promise<void> {
    return this.options.client.close();
  }

  /**
   * Starts sends while there is work, room under `num_consumers`, and a reason not to wait
   * for the request on the wire (see the header): called on every offer and every answer.
   */
  private pump(): void {
    while (this.running.size < this.maxRunning && this.queue.length > 0) {
      if (
        this.onWire > 0 &&
        !this.shuttingDown &&
        this.queuedBytes < this.options.merge.maxBytes &&
        this.queue.length * 2 < this.queue.capacity
      ) {
        return;
      }
      const first = this.queue.poll();
      if (first === undefined) return;
      this.queuedBytes -= first.bytes.length;
      const attempt = this.mergeWithQueued(first);
      this.statsValue.inFlight++;
      const sending: Promise<unknown> = this.deliver(attempt, undefined)
        .catch((error: unknown) => {
          this.drop(wholeBatch(attempt), 'permanent', undefined);
          this.options.onError?.(error);
        })
        .finally(() => {
          if (this.options.memory !== undefined) {
            let bytes = 0;
            for (const part of attempt.parts) bytes += part.bytes.length;
            this.options.memory.release(bytes);
          }
          this.statsValue.inFlight--;
          this.running.delete(sending);
          this.pump();
        });
      this.running.add(sending);
    }
  }

  /** Resolves once no send is under way (sends started meanwhile included). */
  private async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /**
   * `first` and the queued batches of the same signal, oldest first, up to the merge
   * bound; batches of other signals stay queued in their order.
   */
  private mergeWithQueued(first: Batch): Attempt {
    const maxBytes = this.options.merge.maxBytes;
    const firstAttemptAt = this.clock.now();
    if (maxBytes <= 0 || this.queue.length === 0) return { parts: [first], items: first.items, firstAttemptAt };
    let bytes = first.bytes.length;
    const more = this.queue.extract((next) => {
      // Parts of requests with other metadata go alone: their credentials may differ.
      if (next.signal !== first.signal || next.metadata !== first.metadata) return 'skip';
      if (bytes + next.bytes.length > maxBytes) return 'stop';
      bytes += next.bytes.length;
      return 'take';
    });
    if (more.length === 0) return { parts: [first], items: first.items, firstAttemptAt };
    this.queuedBytes -= bytes - first.bytes.length;
    let items = first.items;
    for (const next of more) items = items < 0 || next.items < 0 ? -1 : items + next.items;
    more.unshift(first);
    return { parts: more, items, firstAttemptAt };
  }

  /** One try of `attempt`: merged parts go as one request (see the header). */
  private exportOnce(attempt: Attempt, signal: AbortSignal): Promise<ExportResult> {
    const client = this.options.client;
    const { parts } = attempt;
    if (parts.length === 1) return client.export(parts[0] as Batch, { signal });
    if (client.exportMerged !== undefined) return client.exportMerged(parts, { signal });
    return client.export(wholeBatch(attempt), { signal });
  }

  /** Sends with retries; resolves to the final result (delivered, dropped or orphaned). */
  private async deliver(attempt: Attempt, signal: AbortSignal | undefined): Promise<ExportResult> {
    const policy = this.options.retry;
    for (let n = 0; ; n++) {
      this.onWire++;
      let result: ExportResult;
      try {
        result = await this.exportOnce(
          attempt,
          signal === undefined ? this.halt.signal : AbortSignal.any([signal, this.halt.signal]),
        );
      } finally {
        this.onWire--;
      }
      // The answer frees the wire: batches held behind this request may leave now.
      this.pump();
      if (result.kind === 'ok') {
        this.statsValue.sentRequests++;
        if (attempt.items > 0) this.statsValue.sentItems += attempt.items;
        return result;
      }
      this.statsValue.failedAttempts++;
      if (result.kind === 'permanent') {
        this.drop(wholeBatch(attempt), 'permanent', result);
        return result;
      }
      if (this.shuttingDown && this.halt.signal.aborted) {
        this.drop(wholeBatch(attempt), 'shutdown', result);
        return result;
      }
      if (this.retired) {
        for (const part of attempt.parts) this.orphan(part);
        return result;
      }
      const wait = Math.max(backoffMs(policy, n, this.random), result.retryAfterMs ?? 0);
      if (!mayRetry(policy, attempt.firstAttemptAt, this.clock.now(), wait) || signal?.aborted === true) {
        this.drop(wholeBatch(attempt), policy.enabled ? 'retries-exhausted' : 'retry-disabled', result);
        return result;
      }
      try {
        await this.clock.sleep(
          wait,
          signal === undefined ? this.wake.signal : AbortSignal.any([signal, this.wake.signal]),
        );
      } catch {
        // Woken early: the backend left the ring (re-route), the shutdown deadline passed,
        // or the client gave up (queue disabled: report the last failure).
        // (State read through methods: it changed while we slept.)
        if (this.isRetired() && !this.halt.signal.aborted) {
          for (const part of attempt.parts) this.orphan(part);
        } else {
          this.drop(wholeBatch(attempt), isAborted(signal) ? 'retries-exhausted' : 'shutdown', result);
        }
        return result;
      }
    }
  }

  private isRetired(): boolean {
    return this.retired;
  }

  private orphan(batch: Batch): void {
    if (this.options.onOrphan === undefined) {
      this.drop(batch, 'shutdown', undefined);
      return;
    }
    this.options.onOrphan(batch);
  }

  private drop(batch: Batch, reason: DropReason, result: ExportResult | undefined): void {
    if (batch.items > 0) this.statsValue.droppedItems += batch.items;
    this.options.onDrop?.(batch, reason, result);
  }
}
