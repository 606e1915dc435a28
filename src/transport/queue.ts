/**
 * A bounded FIFO of pending work with waiting consumers: the in-memory sending queue of an
 * exporter (Alloy's `queue` block). Capacity counts entries, as `queue_size` counts batches.
 */

import os from 'node:os';

/** The `queue` block. */
export interface QueueSettings {
  /** false: no queue, the caller waits for the send. */
  readonly enabled: boolean;
  /** Concurrent sends per backend. */
  readonly numConsumers: number;
  /** Most batches waiting (not counting those being sent). */
  readonly queueSize: number;
}

/** Alloy's defaults (seed: `queue` block). */
export const DEFAULT_QUEUE_SETTINGS: QueueSettings = Object.freeze({
  enabled: true,
  numConsumers: 10,
  queueSize: 1000,
});

/**
 * A bounded FIFO. `offer` never blocks: it refuses when full, so back-pressure reaches the
 * client as a retryable status instead of a silent drop or an unbounded buffer. `take`
 * waits until an entry is there or the queue is closed. Single-threaded (JS) only.
 */
export class BoundedQueue<T> {
  readonly capacity: number;
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;
  private waiters: ((item: T | undefined) => void)[] = [];
  private closed = false;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new TypeError(`queue capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.items = new Array<T | undefined>(Math.min(capacity, 1024));
  }

  /** Entries waiting. */
  get length(): number {
    return this.count;
  }

  /** Whether `n` more entries fit. */
  hasRoom(n = 1): boolean {
    return !this.closed && this.count + n <= this.capacity;
  }

  /**
   * Adds an entry; false when the queue is full or closed. `force` admits it past the
   * capacity (for work that must not be lost, such as batches re-routed from a backend that
   * left), never past closing.
   */
  offer(item: T, force = false): boolean {
    if (this.closed) return false;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter(item);
      return true;
    }
    if (!force && this.count >= this.capacity) return false;
    if (this.count === this.items.length) this.growStorage();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
    return true;
  }

  /** Removes and returns the oldest entry, or undefined when empty (never waits). */
  poll(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  /** The oldest entry without removing it. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /**
   * Removes, oldest first, the entries `select` answers 'take' for, keeps those it answers
   * 'skip' for in their order, and stops at the first 'stop'. For merging: take what
   * matches, leave the rest queued. O(length).
   */
  extract(select: (item: T) => 'take' | 'skip' | 'stop'): T[] {
    const taken: T[] = [];
    const kept: T[] = [];
    let i = 0;
    for (; i < this.count; i++) {
      const item = this.items[(this.head + i) % this.items.length] as T;
      const verdict = select(item);
      if (verdict === 'stop') break;
      if (verdict === 'take') taken.push(item);
      else kept.push(item);
    }
    if (taken.length === 0) return taken;
    // Rewrite the examined prefix as the kept entries, followed by the unexamined rest.
    const rest: T[] = [];
    for (let j = i; j < this.count; j++) rest.push(this.items[(this.head + j) % this.items.length] as T);
    for (let j = 0; j < this.count; j++) this.items[(this.head + j) % this.items.length] = undefined;
    this.head = 0;
    this.count = 0;
    for (const item of kept) this.items[this.count++] = item;
    for (const item of rest) this.items[this.count++] = item;
    return taken;
  }

  /** Waits for an entry; undefined once the queue is closed and empty. */
  take(): Promise<T | undefined> {
    const item = this.poll();
    if (item !== undefined || this.closed) return Promise.resolve(item);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Refuses new entries and wakes every waiting `take` with undefined. Entries already in
   * the queue can still be polled (drained) or taken back with {@link drainAll}.
   */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  /** Removes and returns every waiting entry, oldest first. */
  drainAll(): T[] {
    const out: T[] = [];
    for (let item = this.poll(); item !== undefined; item = this.poll()) out.push(item);
    return out;
  }

  private growStorage(): void {
    const next = new Array<T | undefined>(Math.max(1, this.items.length * 2));
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}

/**
 * A limit on the bytes held by the queues of one exporter (every backend of a load
 * balancer shares one), so that a large `queue_size` cannot exhaust memory: a batch is
 * charged when it is queued and released once it is delivered, given up on, or handed to
 * another backend. A full budget refuses new batches (the client gets a retryable answer);
 * re-routed batches are charged past the limit rather than lost.
 */
export class MemoryBudget {
  readonly limitBytes: number;
  private used = 0;

  /** @throws TypeError unless `limitBytes` is a positive number. */
  constructor(limitBytes: number) {
    if (!(limitBytes > 0)) throw new TypeError(`memory limit must be a positive number of bytes, got ${limitBytes}`);
    this.limitBytes = limitBytes;
  }

  /** Bytes charged now. */
  get usedBytes(): number {
    return this.used;
  }

  /** Whether `bytes` more fit. */
  hasRoom(bytes: number): boolean {
    return this.used + bytes <= this.limitBytes;
  }

  /** Charges `bytes` if they fit; false otherwise. */
  tryCharge(bytes: number): boolean {
    if (!this.hasRoom(bytes)) return false;
    this.used += bytes;
    return true;
  }

  /** Charges `bytes` whether or not they fit. */
  charge(bytes: number): void {
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/**
 * The default memory limit of an exporter's queues: a quarter of the memory this process may
 * use (its cgroup limit when it has one, else the machine's), at most 4 GiB.
 */
export function defaultQueueMemoryLimitBytes(): number {
  const constrained = process.constrainedMemory();
  const total = constrained > 0 ? Math.min(constrained, os.totalmem()) : os.totalmem();
  return Math.min(Math.floor(total / 4), 4 * 1024 ** 3);
}
