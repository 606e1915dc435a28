/**
 * A manual {@link Clock} for tests: time moves only when the test says so, and sleepers
 * wake in deadline order. No real timers, so no test waits on the wall clock.
 */

import type { Clock } from '../../src/internal/clock.ts';

interface Sleeper {
  readonly at: number;
  readonly resolve: () => void;
}

/** Lets pending promise callbacks run (a macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private time: number;
  private sleepers: Sleeper[] = [];

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** Number of sleeps waiting. */
  get pending(): number {
    return this.sleepers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason as Error);
        return;
      }
      const sleeper: Sleeper = {
        at: this.time + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** Moves time forward by `ms`, waking sleepers due on the way (letting each run). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers[0];
      if (next === undefined || next.at > end) break;
      this.sleepers.shift();
      this.time = Math.max(this.time, next.at);
      next.resolve();
      await settle();
    }
    this.time = end;
    await settle();
  }
}
