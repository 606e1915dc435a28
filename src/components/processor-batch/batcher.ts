/**
 * The batch of one signal of `otelcol.processor.batch`: requests accumulate as protobuf bytes
 * (two serialized `Export*ServiceRequest`s concatenated are one request whose resources are
 * both lists: protobuf merges repeated fields), and are handed on when
 *
 * - `sendBatchSize` items have accumulated (size trigger): chunks of at most
 *   `sendBatchMaxSize` items go out while at least `sendBatchSize` items are pending, and
 *   the rest waits, as upstream does;
 * - `timeoutMs` has passed since the first request of the pending batch arrived (timeout
 *   trigger): everything pending goes out, in chunks of at most `sendBatchMaxSize`. (The
 *   Collector sends one chunk per timeout and keeps the rest for the next one; sending all
 *   of it keeps data from waiting more than one timeout.)
 * - `timeoutMs` is 0, or `sendBatchSize` is 0: every request goes out at once, cut to
 *   `sendBatchMaxSize` (upstream: no timeout means no batching).
 *
 * Batches are handed on one at a time, in order, as the Collector's single sending goroutine
 * per batcher does. While {@link MAX_QUEUED_SENDS} cut batches wait behind the one being
 * sent, {@link Batcher.hasSpace} is false and callers wait for space ({@link
 * Batcher.waitForSpace}): the slowness of the next consumer reaches the senders instead of
 * piling up here.
 *
 * Not safe for concurrent use from several threads; calls interleave freely on the event loop.
 */

import type { Clock } from '../../internal/clock.ts';
import type { Batch } from '../../otlp/batch.ts';
import { chunkRequest } from '../../otlp/chunk.ts';
import type { Signal } from '../../otlp/signal.ts';
import { permanent, type ExportResult } from '../../transport/export-result.ts';

/** Cut batches waiting behind the one being sent before {@link Batcher.hasSpace} turns false. */
export const MAX_QUEUED_SENDS = 2;

/** The sizes and the timeout, read anew at every decision (they change on update). */
export interface BatchSettings {
  readonly timeoutMs: number;
  readonly sendBatchSize: number;
  /** 0: no limit. */
  readonly sendBatchMaxSize: number;
}

/** Why a batch was handed on. */
export type FlushTrigger = 'size' | 'timeout' | 'shutdown';

/** Options of {@link Batcher}. */
export interface BatcherOptions {
  readonly signal: Signal;
  readonly clock: Clock;
  readonly settings: () => BatchSettings;
  /** Hands one batch on. Must not reject (a rejection counts as a permanent failure). */
  readonly send: (batch: Batch) => Promise<ExportResult>;
  /** Called for every batch handed on, before it is sent. */
  readonly onFlush: (trigger: FlushTrigger, items: number) => void;
  /** Called once for every batch the next consumer refused; its items are lost. */
  readonly onFailure: (batch: Batch, result: Exclude<ExportResult, { kind: 'ok' }>) => void;
}

/** One signal's pending batch and its sending queue. */
export class Batcher {
  private readonly options: BatcherOptions;
  private parts: Uint8Array[] = [];
  private items = 0;
  /** Aborts the pending batch's timeout. */
  private timer: AbortController | undefined;
  private readonly queue: Batch[] = [];
  private sending = false;
  private spaceWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(options: BatcherOptions) {
    this.options = options;
  }

  /** Items accumulated and not yet handed on. */
  get pendingItems(): number {
    return this.items;
  }

  /** Whether a request may be added now without outrunning the next consumer. */
  get hasSpace(): boolean {
    return this.queue.length < MAX_QUEUED_SENDS;
  }

  /**
   * Resolves `true` once {@link hasSpace} (at once if it is now), or `false` if `signal`
   * aborts first.
   */
  waitForSpace(signal: AbortSignal): Promise<boolean> {
    if (this.hasSpace) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.spaceWaiters = this.spaceWaiters.filter((w) => w !== wake);
        resolve(false);
      };
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.spaceWaiters.push(wake);
    });
  }

  /** Adds a well-formed request of `items` (> 0) items, then hands on what is due. */
  add(bytes: Uint8Array, items: number): void {
    this.parts.push(bytes);
    this.items += items;
    this.review();
  }

  /** Applies changed settings to what is pending: hands on what is now due, restarts the timeout. */
  reconfigure(): void {
    this.stopTimer();
    this.review();
  }

  /** Hands on everything pending (shutdown) and stops the timeout. */
  flushAll(trigger: FlushTrigger): void {
    this.stopTimer();
    if (this.items > 0) this.flush(trigger, true);
  }

  /** Resolves once nothing is pending to be sent or being sent. */
  idle(): Promise<void> {
    if (!this.sending && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the timeout; what is pending stays pending. */
  stopTimer(): void {
    this.timer?.abort();
    this.timer = undefined;
  }

  private review(): void {
    const s = this.options.settings();
    if (s.timeoutMs <= 0 || s.sendBatchSize <= 0) {
      if (this.items > 0) this.flush('size', true);
    } else if (this.items >= s.sendBatchSize) {
      this.flush('size', false);
    }
    if (this.items === 0) this.stopTimer();
    else if (this.timer === undefined) this.startTimer(s.timeoutMs);
  }

  private startTimer(ms: number): void {
    const timer = new AbortController();
    this.timer = timer;
    this.options.clock.sleep(ms, timer.signal).then(
      () => {
        if (this.timer !== timer) return;
        this.timer = undefined;
        if (this.items > 0) this.flush('timeout', true);
      },
      () => undefined, // aborted: the batch went out another way
    );
  }

  /** Cuts what is pending; hands on all of it, or (size trigger) while a full batch remains. */
  private flush(trigger: FlushTrigger, all: boolean): void {
    const { signal } = this.options;
    const s = this.options.settings();
    const joined = this.parts.length === 1 ? (this.parts[0] ?? new Uint8Array(0)) : Buffer.concat(this.parts);
    const result = chunkRequest(signal, joined, s.sendBatchMaxSize);
    if (!result.ok) {
      // Every part was checked on the way in, so this is a bug; the data cannot be sent.
      const batch: Batch = { signal, bytes: joined, items: this.items };
      this.parts = [];
      this.items = 0;
      this.options.onFailure(batch, { kind: 'permanent', error: result.error });
      return;
    }
    let remaining = this.items;
    let sent = 0;
    for (const chunk of result.chunks) {
      if (!all && remaining < s.sendBatchSize) break;
      this.enqueue({ signal, bytes: chunk.bytes, items: chunk.items }, trigger);
      remaining -= chunk.items;
      sent++;
    }
    this.parts = result.chunks.slice(sent).map((c) => c.bytes);
    this.items = remaining;
  }

  private enqueue(batch: Batch, trigger: FlushTrigger): void {
    this.options.onFlush(trigger, batch.items);
    this.queue.push(batch);
    if (!this.sending) void this.pump();
  }

  private async pump(): Promise<void> {
    this.sending = true;
    for (let batch = this.queue.shift(); batch !== undefined; batch = this.queue.shift()) {
      this.wakeSpaceWaiters();
      let result: ExportResult;
      try {
        result = await this.options.send(batch);
      } catch (error) {
        result = permanent(new Error('the next consumer threw instead of answering', { cause: error }));
      }
      if (result.kind !== 'ok') this.options.onFailure(batch, result);
    }
    this.sending = false;
    this.wakeSpaceWaiters();
    const idle = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of idle) wake();
  }

  /** Wakes as many waiters as there is room for (each then adds at least one batch). */
  private wakeSpaceWaiters(): void {
    for (let free = MAX_QUEUED_SENDS - this.queue.length; free > 0; free--) {
      const wake = this.spaceWaiters.shift();
      if (wake === undefined) return;
      wake();
    }
  }
}
