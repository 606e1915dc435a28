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
 *   resource of its parts, untouched. Merging only takes what is already queued: it adds
 *   no latency.
 * - {@link Sender.retire} is for a backend that left the ring: it stops taking work and
 *   hands every batch that has not been delivered (queued, or failing and waiting to be
 *   retried) to `onOrphan`, so that the caller can route it again instead of losing it.
 */

import type { Batch } from '../otlp/batch.ts';
import { systemClock, type Clock } from '../internal/clock.ts';
import type { ExportResult } from './export-result.ts';
import type { OtlpClient } from './otlp-client.ts';
import { BoundedQueue, type QueueSettings } from './queue.ts';
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
  /** A batch was given up on. */
  readonly onDrop?: (batch: Batch, reason: DropReason, result: ExportResult | undefined) => void;
  /** After {@link Sender.retire}: a batch this backend will not deliver, to route again. */
  readonly onOrphan?: (batch: Batch) => void;
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** One merged request on its way: what it is made of and when it was first tried. */
interface Attempt {
  readonly batch: Batch;
  readonly firstAttemptAt: number;
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
  private readonly consumers: Promise<void>[] = [];
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
    if (options.queue.enabled) {
      for (let i = 0; i < Math.max(1, options.queue.numConsumers); i++) this.consumers.push(this.consume());
    }
  }

  /** A snapshot of the counters. */
  stats(): SenderStats {
    return { ...this.statsValue, queued: this.queue.length };
  }

  /** Whether `n` batches can be queued now. */
  hasRoom(n = 1): boolean {
    return !this.retired && this.queue.hasRoom(n);
  }

  /**
   * Queues `batch`; false when the queue is full, disabled, or the sender is stopping.
   * `force` admits it past `queue_size` (re-routed work that must not be lost).
   */
  offer(batch: Batch, force = false): boolean {
    if (!this.options.queue.enabled || this.retired) return false;
    return this.queue.offer(batch, force);
  }

  /**
   * Sends `batch` now, with retries, and resolves to the final result: the path used when
   * the queue is disabled. `signal` (the client's request) cuts retries short.
   */
  async send(batch: Batch, signal?: AbortSignal): Promise<ExportResult> {
    const attempt: Attempt = { batch, firstAttemptAt: this.clock.now() };
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
    for (const batch of this.queue.drainAll()) this.orphan(batch);
    this.wake.abort(new Error(`backend ${this.endpoint} left the ring`));
    await Promise.all(this.consumers);
  }

  /**
   * Stops taking work and delivers what is queued until `deadlineMs` (absolute, clock
   * time); then gives up on the rest (`onDrop` with 'shutdown') and closes the client.
   */
  async shutdown(deadlineMs: number): Promise<void> {
    this.shuttingDown = true;
    this.queue.close();
    const drained = Promise.all(this.consumers);
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
      for (const batch of this.queue.drainAll()) this.drop(batch, 'shutdown', undefined);
      await drained;
    }
    await this.options.client.close();
  }

  /** Closes the client (after {@link retire}). */
  close(): Promise<void> {
    return this.options.client.close();
  }

  private async consume(): Promise<void> {
    for (;;) {
      const first = await this.queue.take();
      if (first === undefined) return;
      const batch = this.mergeWithQueued(first);
      const attempt: Attempt = { batch, firstAttemptAt: this.clock.now() };
      this.statsValue.inFlight++;
      try {
        await this.deliver(attempt, undefined);
      } finally {
        this.statsValue.inFlight--;
      }
    }
  }

  /**
   * Appends queued batches of the same signal to `first`, oldest first, up to the merge
   * bound; batches of other signals stay queued in their order.
   */
  private mergeWithQueued(first: Batch): Batch {
    const maxBytes = this.options.merge.maxBytes;
    if (maxBytes <= 0 || this.queue.length === 0) return first;
    let bytes = first.bytes.length;
    const more = this.queue.extract((next) => {
      if (next.signal !== first.signal) return 'skip';
      if (bytes + next.bytes.length > maxBytes) return 'stop';
      bytes += next.bytes.length;
      return 'take';
    });
    if (more.length === 0) return first;
    let items = first.items;
    const parts: Uint8Array[] = [first.bytes];
    for (const next of more) {
      parts.push(next.bytes);
      items = items < 0 || next.items < 0 ? -1 : items + next.items;
    }
    return { signal: first.signal, bytes: Buffer.concat(parts, bytes), items };
  }

  /** Sends with retries; resolves to the final result (delivered, dropped or orphaned). */
  private async deliver(attempt: Attempt, signal: AbortSignal | undefined): Promise<ExportResult> {
    const policy = this.options.retry;
    for (let n = 0; ; n++) {
      const result = await this.options.client.export(attempt.batch, {
        signal: signal === undefined ? this.halt.signal : AbortSignal.any([signal, this.halt.signal]),
      });
      if (result.kind === 'ok') {
        this.statsValue.sentRequests++;
        if (attempt.batch.items > 0) this.statsValue.sentItems += attempt.batch.items;
        return result;
      }
      this.statsValue.failedAttempts++;
      if (result.kind === 'permanent') {
        this.drop(attempt.batch, 'permanent', result);
        return result;
      }
      if (this.shuttingDown && this.halt.signal.aborted) {
        this.drop(attempt.batch, 'shutdown', result);
        return result;
      }
      if (this.retired) {
        this.orphan(attempt.batch);
        return result;
      }
      const wait = Math.max(backoffMs(policy, n, this.random), result.retryAfterMs ?? 0);
      if (!mayRetry(policy, attempt.firstAttemptAt, this.clock.now(), wait) || signal?.aborted === true) {
        this.drop(attempt.batch, policy.enabled ? 'retries-exhausted' : 'retry-disabled', result);
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
          this.orphan(attempt.batch);
        } else {
          this.drop(attempt.batch, isAborted(signal) ? 'retries-exhausted' : 'shutdown', result);
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
