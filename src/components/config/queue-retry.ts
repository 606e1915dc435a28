/**
 * The queue and retry blocks of exporters (components.md §0.6, §0.7): `queue` / `retry` inside
 * the load balancer's `protocol > otlp`, `sending_queue` / `retry_on_failure` elsewhere.
 *
 * otel-lb's queue is in memory and counts requests (`sizer = "requests"`); its sender merges
 * the requests queued for one backend into one, up to a size bound, without waiting for more
 * (so merging adds no latency). The `batch` block sets that bound with `sizer = "bytes"` and
 * `max_size`; `flush_timeout` and `min_size` are accepted for compatibility and do not make
 * the sender wait. Past the seed: `memory_limit` bounds the bytes a queue holds, so that a
 * large `queue_size` cannot exhaust memory.
 */

import {
  attr,
  block,
  body,
  bool,
  bytes,
  capsule,
  duration,
  float,
  int,
  string,
  type BlockField,
  type Infer,
  type Issue,
} from '../../syntax/schema.ts';
import { defaultQueueMemoryLimitBytes, MemoryBudget, type QueueSettings } from '../../transport/queue.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { RetryPolicy } from '../../transport/retry.ts';
import { DEFAULT_MERGE_SETTINGS, type MergeSettings } from '../../transport/sender.ts';
import { HANDLER_TYPE } from './auth.ts';

const batchSchema = body(
  {
    flushTimeoutMs: attr('flush_timeout', duration(), {
      default: 200,
      check: (v) => (v <= 0 ? 'flush_timeout must be greater than zero' : undefined),
    }),
    minSize: attr('min_size', int(), { default: 2000 }),
    maxSize: attr('max_size', int(), { default: 3000 }),
    sizer: attr('sizer', string(), {
      default: 'items',
      check: (v) => (v === 'items' || v === 'bytes' ? undefined : `invalid sizer: ${v}; use "items" or "bytes"`),
    }),
  },
  {
    validate: (v) =>
      v.maxSize !== 0 && v.maxSize < v.minSize
        ? [{ field: 'maxSize', message: 'max_size must be greater than or equal to min_size' }]
        : [],
  },
);

function isAnything(x: unknown): x is unknown {
  return x !== undefined;
}

const queueFields = {
  enabled: attr('enabled', bool(), { default: true }),
  numConsumers: attr('num_consumers', int(), {
    default: 10,
    check: (v) => (v < 1 ? 'num_consumers must be at least 1' : undefined),
  }),
  queueSize: attr('queue_size', int(), { default: 1000 }),
  sizer: attr('sizer', string(), {
    default: 'requests',
    check: (v) =>
      v === 'requests'
        ? undefined
        : v === 'items' || v === 'bytes'
          ? `sizer "${v}" is not supported by otel-lb: its queue counts requests (use memory_limit to bound bytes)`
          : `invalid sizer: ${v}; use "requests"`,
  }),
  blockOnOverflow: attr('block_on_overflow', bool(), { default: false }),
  waitForResult: attr('wait_for_result', bool(), { default: false }),
  storage: attr('storage', capsule(HANDLER_TYPE, isAnything), {
    check: () => 'storage: persistent queues are not supported by otel-lb; remove storage (the queue is in memory)',
  }),
  memoryLimitBytes: attr('memory_limit', bytes()),
  batch: block('batch', batchSchema),
};

function queueIssues(v: { readonly enabled: boolean; readonly queueSize: number }): Issue[] {
  return v.enabled && v.queueSize <= 0 ? [{ field: 'queueSize', message: 'queue_size must be greater than zero' }] : [];
}

export const queueSchema = body(queueFields, { validate: queueIssues });
export type QueueArguments = Infer<typeof queueSchema>;

export const retrySchema = body({
  enabled: attr('enabled', bool(), { default: true }),
  initialIntervalMs: attr('initial_interval', duration(), { default: 5_000 }),
  randomizationFactor: attr('randomization_factor', float(), {
    default: 0.5,
    check: (v) => (v < 0 || v > 1 ? 'randomization_factor must be between 0 and 1' : undefined),
  }),
  multiplier: attr('multiplier', float(), {
    default: 1.5,
    check: (v) => (v <= 1 ? 'multiplier must be greater than 1.0' : undefined),
  }),
  maxIntervalMs: attr('max_interval', duration(), { default: 30_000 }),
  maxElapsedTimeMs: attr('max_elapsed_time', duration(), {
    default: 300_000,
    check: (v) => (v < 0 ? 'max_elapsed_time must not be negative ("0s" retries forever)' : undefined),
  }),
});
export type RetryArguments = Infer<typeof retrySchema>;

/** A queue block that applies its defaults when omitted (per-backend queues, `sending_queue` of otlp). */
export function queueBlock(name: string): BlockField<QueueArguments> {
  return block(name, queueSchema, { omitted: 'defaults' });
}

/** A retry block that applies its defaults when omitted. */
export function retryBlock(name: string): BlockField<RetryArguments> {
  return block(name, retrySchema, { omitted: 'defaults' });
}

/** The transport's queue settings. */
export function queueSettings(q: QueueArguments): QueueSettings {
  return { enabled: q.enabled, numConsumers: q.numConsumers, queueSize: Math.max(1, q.queueSize) };
}

/** The transport's retry policy. */
export function retryPolicy(r: RetryArguments): RetryPolicy {
  return {
    enabled: r.enabled,
    initialIntervalMs: r.initialIntervalMs,
    randomizationFactor: r.randomizationFactor,
    multiplier: r.multiplier,
    maxIntervalMs: r.maxIntervalMs,
    maxElapsedTimeMs: r.maxElapsedTimeMs,
  };
}

/** The sender's merge bound: `batch { sizer = "bytes" max_size = N }`, else 1 MiB. */
export function mergeSettings(q: QueueArguments): MergeSettings {
  const b = q.batch;
  if (b === undefined || b.sizer !== 'bytes') return DEFAULT_MERGE_SETTINGS;
  return { maxBytes: b.maxSize === 0 ? 4 * 1024 * 1024 : b.maxSize };
}

/**
 * The byte budget of an exporter's queues: `memory_limit`, else a quarter of the memory the
 * process may use (at most 4 GiB). Logged, so that operators see what a full queue means.
 */
export function queueMemory(q: QueueArguments, logger: Logger): MemoryBudget | undefined {
  if (!q.enabled) return undefined;
  const configured = q.memoryLimitBytes;
  const limit = configured !== undefined && configured > 0 ? configured : defaultQueueMemoryLimitBytes();
  logger.info('sending queue memory limit', {
    memory_limit: `${(limit / 1024 / 1024).toFixed(0)}MiB`,
    source:
      configured !== undefined && configured > 0
        ? 'queue { memory_limit }'
        : 'default: a quarter of the memory available',
  });
  return new MemoryBudget(limit);
}
