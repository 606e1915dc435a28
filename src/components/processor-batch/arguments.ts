/**
 * The arguments of `otelcol.processor.batch` (components.md §9), with Alloy's defaults (which
 * differ from the Collector's 8192 / 0) and the Collector's validation.
 */

import { attr, block, body, duration, int, list, string, type Infer, type Issue } from '../../syntax/schema.ts';
import { debugMetricsBlock } from '../config/debug-metrics.ts';
import { outputSchema } from '../config/output.ts';

function notNegative(name: string): (v: number) => string | undefined {
  return (v) => (v < 0 ? `${name} must not be negative` : undefined);
}

export const batchArgumentsSchema = body(
  {
    timeoutMs: attr('timeout', duration(), {
      default: 200,
      check: (v) => (v < 0 ? 'timeout must be greater or equal to 0' : undefined),
    }),
    sendBatchSize: attr('send_batch_size', int(), { default: 2000, check: notNegative('send_batch_size') }),
    sendBatchMaxSize: attr('send_batch_max_size', int(), { default: 3000, check: notNegative('send_batch_max_size') }),
    metadataKeys: attr('metadata_keys', list(string()), { default: [] }),
    metadataCardinalityLimit: attr('metadata_cardinality_limit', int(), {
      default: 1000,
      check: notNegative('metadata_cardinality_limit'),
    }),
    output: block('output', outputSchema, { required: true }),
    debugMetrics: debugMetricsBlock(),
  },
  {
    validate: (args) => {
      const issues: Issue[] = [];
      if (args.sendBatchMaxSize !== 0 && args.sendBatchMaxSize < args.sendBatchSize) {
        issues.push({
          field: 'sendBatchMaxSize',
          code: 'decode/batch-size',
          message: 'send_batch_max_size must be greater or equal to send_batch_size when not 0',
        });
      }
      const seen = new Set<string>();
      for (const key of args.metadataKeys) {
        const lower = key.toLowerCase();
        if (seen.has(lower)) {
          issues.push({
            field: 'metadataKeys',
            code: 'decode/duplicate',
            message: `duplicate entry in metadata_keys: ${JSON.stringify(key)} (case-insensitive)`,
          });
        }
        seen.add(lower);
      }
      if (args.metadataKeys.length > 0) {
        issues.push({
          field: 'metadataKeys',
          severity: 'warning',
          code: 'decode/not-supported',
          message:
            'metadata_keys is not supported by otel-lb yet (receivers pass no request metadata on): all data of a signal is batched together',
        });
      }
      return issues;
    },
  },
);
export type BatchArguments = Infer<typeof batchArgumentsSchema>;
