/**
 * zap's sampler (`zapcore.NewSamplerWithOptions` with a one-second tick), which the
 * Collector's debug exporter puts in front of its logger: per message and per second, the
 * first `initial` entries pass, then every `thereafter`-th (with `thereafter` 0, none). A
 * second starts with the first entry after the previous one ended.
 */

import type { Clock } from '../../internal/clock.ts';

const TICK_MS = 1_000;

export class Sampler {
  private readonly clock: Pick<Clock, 'now'>;
  private initial: number;
  private thereafter: number;
  private readonly counters = new Map<string, { count: number; resetAt: number }>();

  constructor(clock: Pick<Clock, 'now'>, initial: number, thereafter: number) {
    this.clock = clock;
    this.initial = initial;
    this.thereafter = thereafter;
  }

  /** Changes the rates; counts of the current second are kept. */
  configure(initial: number, thereafter: number): void {
    this.initial = initial;
    this.thereafter = thereafter;
  }

  /** Whether the entry with message `key` is written now. */
  allow(key: string): boolean {
    const now = this.clock.now();
    let counter = this.counters.get(key);
    if (counter === undefined || now >= counter.resetAt) {
      counter = { count: 0, resetAt: now + TICK_MS };
      this.counters.set(key, counter);
    }
    counter.count++;
    const n = counter.count;
    if (n <= this.initial) return true;
    return this.thereafter > 0 && (n - this.initial) % this.thereafter === 0;
  }
}
