/**
 * SUT `passthrough`, the floor: the same transport as otel-lb without looking inside a
 * request. A {@link GrpcServer} receiver hands every request's bytes, as they are, to one
 * {@link Sender} (default queue, retry and merge) whose {@link GrpcClient} sends to the
 * first sink. What otel-lb adds on top (split by trace ID, ring lookups, four senders) is
 * what the ratio to this one measures.
 */

import { ErrorCode, OtelLbError } from '../../src/errors.ts';
import type { Batch } from '../../src/otlp/batch.ts';
import { EXPORT_OK, retryable, type ExportResult } from '../../src/transport/export-result.ts';
import { GrpcClient } from '../../src/transport/grpc-client.ts';
import { GrpcServer } from '../../src/transport/grpc-server.ts';
import { DEFAULT_QUEUE_SETTINGS } from '../../src/transport/queue.ts';
import { DEFAULT_RETRY_POLICY } from '../../src/transport/retry.ts';
import { DEFAULT_MERGE_SETTINGS, Sender } from '../../src/transport/sender.ts';
import { announce, ownUsage, serve } from './rpc.ts';
import { parseSutArgs } from './sut-args.ts';

const args = parseSutArgs();
const sender = new Sender({
  client: new GrpcClient({ endpoint: args.endpoints[0] as string, compression: args.compression }),
  queue: DEFAULT_QUEUE_SETTINGS,
  retry: DEFAULT_RETRY_POLICY,
  merge: DEFAULT_MERGE_SETTINGS,
  onDrop: (_batch, reason, result) => {
    console.error(
      `passthrough: dropped a batch (${reason}): ${result?.kind === 'ok' ? '' : (result?.error.message ?? '')}`,
    );
  },
});
// The same answer as the load balancer's when a queue is full.
const full = (): ExportResult =>
  retryable(new OtelLbError(ErrorCode.LB_QUEUE_FULL, 'the sending queue is full'), 1_000);
const consumer = {
  consume: (batch: Batch): Promise<ExportResult> => Promise.resolve(sender.offer(batch) ? EXPORT_OK : full()),
};
const receiver = new GrpcServer({
  host: '127.0.0.1',
  port: 0,
  consumers: { traces: consumer, logs: consumer },
  onError: (error) => {
    console.error(`passthrough receiver: ${error.message}`);
  },
});
const { port } = await receiver.listen();
serve({ stats: () => ownUsage() });
announce({ port });
