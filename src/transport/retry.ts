/**
 * Exponential backoff with jitter, as the Collector's `retry_on_failure` (and Alloy's
 * `retry` block) define it: the n-th wait is `initial × multiplier^n`, capped at
 * `max_interval`, then multiplied by a random factor in `[1 − r, 1 + r]`; retrying stops
 * once `max_elapsed_time` has passed since the first attempt (0: never stops).
 */

/** The `retry` block, in milliseconds. */
export interface RetryPolicy {
  readonly enabled: boolean;
  readonly initialIntervalMs: number;
  readonly randomizationFactor: number;
  readonly multiplier: number;
  readonly maxIntervalMs: number;
  /** 0 retries forever. */
  readonly maxElapsedTimeMs: number;
}

/** Alloy's defaults (seed: `retry` block). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  enabled: true,
  initialIntervalMs: 5_000,
  randomizationFactor: 0.5,
  multiplier: 1.5,
  maxIntervalMs: 30_000,
  maxElapsedTimeMs: 300_000,
});

/**
 * The wait before retry number `attempt` (0 for the first retry), in milliseconds.
 * `random` returns a number in [0, 1) (Math.random in production, a fixed value in tests).
 */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const base = Math.min(policy.initialIntervalMs * policy.multiplier ** attempt, policy.maxIntervalMs);
  const r = policy.randomizationFactor;
  return Math.max(0, Math.round(base * (1 - r + 2 * r * random())));
}

/**
 * Whether another attempt may start after waiting `waitMs`, given the first attempt's start
 * time and now. A retry that would start past `maxElapsedTimeMs` is not made.
 */
export function mayRetry(policy: RetryPolicy, firstAttemptAt: number, now: number, waitMs: number): boolean {
  if (!policy.enabled) return false;
  if (policy.maxElapsedTimeMs === 0) return true;
  return now + waitMs - firstAttemptAt <= policy.maxElapsedTimeMs;
}
