/**
 * Fan-out: what an `output` block's list of consumers does with one batch
 * (`traces = [otelcol.exporter.loadbalancing.default.input, otelcol.exporter.debug.x.input]`).
 * Every consumer gets the same batch, concurrently; the bytes are shared, never copied, as
 * no consumer writes to a batch.
 *
 * The answer is the worst of the answers, as the Collector's fan-out consumer gives: all
 * `ok` → ok; any `retryable` → retryable (the client sends again, and consumers that had
 * accepted get the batch twice: the same trade-off as upstream, and the reason to keep an
 * output list short); otherwise any `permanent` → permanent.
 */

import type { Batch } from '../otlp/batch.ts';
import type { BatchConsumer, ConsumeContext } from '../transport/consumer.ts';
import { EXPORT_OK, type ExportResult } from '../transport/export-result.ts';

/** A consumer that hands each batch to every one of `consumers`; none at all accepts and drops. */
export function fanOut(consumers: readonly BatchConsumer[]): BatchConsumer {
  if (consumers.length === 1 && consumers[0] !== undefined) return consumers[0];
  if (consumers.length === 0) return { consume: () => Promise.resolve(EXPORT_OK) };
  return {
    async consume(batch: Batch, context: ConsumeContext): Promise<ExportResult> {
      const results = await Promise.all(consumers.map((c) => c.consume(batch, context)));
      return worst(results);
    },
  };
}

/** The most severe result of a non-empty list: retryable > permanent > ok. */
export function worst(results: readonly ExportResult[]): ExportResult {
  let outcome: ExportResult = EXPORT_OK;
  for (const result of results) {
    if (result.kind === 'retryable') return result;
    if (result.kind === 'permanent') outcome = result;
  }
  return outcome;
}
