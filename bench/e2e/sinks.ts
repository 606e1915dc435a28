/**
 * The sink backends, a child process of `run.ts`: `--backends` gRPC servers on 127.0.0.1
 * (ports picked by the OS) sharing one {@link TraceLedger}, which counts what each one
 * receives and the traces that reached more than one of them. They accept every
 * compression and answer OK as soon as a request is counted.
 *
 * In one process so that the ledger sees every backend; that process is as busy as the
 * SUT's sending side (it decompresses and scans every span), which `run.ts` reports.
 *
 * Operations (see `rpc.ts`): `stats` → {@link SinkStats}.
 */

import { parseArgs } from 'node:util';

import { TraceLedger } from '../../src/demo/ledger.ts';
import { GrpcServer } from '../../src/transport/grpc-server.ts';
import { announce, ownUsage, serve, type ProcessUsage } from './rpc.ts';

/** What the sinks have received so far. */
export interface SinkStats extends ProcessUsage {
  readonly spans: number;
  readonly requests: number;
  readonly traces: number;
  readonly splitTraces: number;
  /** Spans per backend, in the order of the announced endpoints. */
  readonly perBackend: readonly number[];
}

const { values } = parseArgs({ options: { backends: { type: 'string', default: '4' } } });
const count = Number(values.backends);
const ledger = new TraceLedger(count);
const servers: GrpcServer[] = [];
const endpoints: string[] = [];
for (let i = 0; i < count; i++) {
  const consumer = ledger.consumer(i);
  const server = new GrpcServer({
    host: '127.0.0.1',
    port: 0,
    consumers: { traces: consumer, logs: consumer },
    onError: (error) => {
      console.error(`sink ${i}: ${error.message}`);
    },
  });
  const address = await server.listen();
  servers.push(server);
  endpoints.push(`127.0.0.1:${address.port}`);
}

serve({
  stats: (): SinkStats => ({
    ...ownUsage(),
    spans: ledger.backends.reduce((n, b) => n + b.spans, 0),
    requests: ledger.backends.reduce((n, b) => n + b.requests, 0),
    traces: ledger.traces,
    splitTraces: ledger.splitTraces,
    perBackend: ledger.backends.map((b) => b.spans),
  }),
});
announce({ endpoints });
