/**
 * What a receiver hands its batches to (the load balancer, an exporter, a test double).
 * Defined here, by its caller, as STYLE.md §5 asks of internal interfaces.
 */

import type { Batch } from '../otlp/batch.ts';
import type { ExportResult } from './export-result.ts';

/** Per-request context a receiver passes along. */
export interface ConsumeContext {
  /** Aborted when the client gives up (deadline, cancelled stream, closed connection). */
  readonly signal: AbortSignal;
  /** Absolute deadline (`Date.now()` clock), when the client sent one. */
  readonly deadline?: number;
}

/**
 * Consumes batches. `consume` resolves once the batch is accepted (enqueued, or delivered
 * when there is no queue) or refused; it never rejects. Safe to call concurrently.
 */
export interface BatchConsumer {
  consume(batch: Batch, context: ConsumeContext): Promise<ExportResult>;
}
