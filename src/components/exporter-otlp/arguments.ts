/**
 * Arguments of `otelcol.exporter.otlp` (components.md §2): one OTLP/gRPC backend, with the
 * same client, queue and retry as each backend of the load balancer. `sending_queue` and
 * `retry_on_failure` apply their defaults when omitted (queue and retry on).
 */

import { attr, block, body, duration, type Infer } from '../../syntax/schema.ts';
import { debugMetricsBlock } from '../config/debug-metrics.ts';
import { otlpClientSchema } from '../config/grpc-client.ts';
import { queueBlock, retryBlock } from '../config/queue-retry.ts';

export const exporterOtlpSchema = body({
  timeoutMs: attr('timeout', duration(), {
    default: 5_000,
    check: (v) => (v <= 0 ? 'timeout must be greater than zero' : undefined),
  }),
  client: block('client', otlpClientSchema, { required: true }),
  sendingQueue: queueBlock('sending_queue'),
  retryOnFailure: retryBlock('retry_on_failure'),
  debugMetrics: debugMetricsBlock(),
});
export type ExporterOtlpArguments = Infer<typeof exporterOtlpSchema>;
