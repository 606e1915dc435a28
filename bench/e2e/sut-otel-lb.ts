/**
 * SUT `otel-lb`: what `otelcol.exporter.loadbalancing` with `routing_key = "traceID"` runs:
 * a {@link GrpcServer} receiver handing each request to a {@link LoadBalancer} on the
 * default ring, with the default queue, retry and merge settings, and a {@link GrpcClient}
 * per sink. Nothing is tuned for the bench.
 *
 * With `--workers N` (N > 1) this process becomes a `node:cluster` primary that forks N
 * workers, each running the same receiver and load balancer on one shared port: the ring
 * depends only on the set of endpoints, so every worker routes a trace ID alike. The
 * primary only hands out connections (round-robin) and sums the workers' figures; it never
 * loads the data path's modules (they cost a process ~40 MB of RSS, mostly stripping their
 * types), so that the run's peak RSS is the workers' and the bare primary's.
 */

import cluster, { type Worker } from 'node:cluster';

import { announce, ownUsage, serve, type ProcessUsage } from './rpc.ts';
import { parseSutArgs, type SutArgs } from './sut-args.ts';

/** Starts the receiver and the load balancer; resolves to the receiver's port. */
async function startOtelLb(args: SutArgs, port: number): Promise<number> {
  const [
    { LoadBalancer },
    { RoutingKey },
    { GrpcClient },
    { GrpcServer },
    { DEFAULT_QUEUE_SETTINGS },
    { DEFAULT_RETRY_POLICY },
    { DEFAULT_MERGE_SETTINGS },
  ] = await Promise.all([
    import('../../src/components/exporter-loadbalancing/load-balancer.ts'),
    import('../../src/otlp/splitter.ts'),
    import('../../src/transport/grpc-client.ts'),
    import('../../src/transport/grpc-server.ts'),
    import('../../src/transport/queue.ts'),
    import('../../src/transport/retry.ts'),
    import('../../src/transport/sender.ts'),
  ]);
  const lb = new LoadBalancer({
    routingKey: RoutingKey.TRACE_ID,
    endpoints: args.endpoints,
    queue: DEFAULT_QUEUE_SETTINGS,
    retry: DEFAULT_RETRY_POLICY,
    merge: DEFAULT_MERGE_SETTINGS,
    createClient: (endpoint) => new GrpcClient({ endpoint, compression: args.compression }),
    onDrop: (endpoint, _batch, reason, result) => {
      console.error(
        `otel-lb: dropped a batch for ${endpoint} (${reason}): ${result?.kind === 'ok' ? '' : (result?.error.message ?? '')}`,
      );
    },
  });
  const receiver = new GrpcServer({
    host: '127.0.0.1',
    port,
    consumers: { traces: lb, logs: lb },
    onError: (error) => {
      console.error(`otel-lb receiver: ${error.message}`);
    },
  });
  return (await receiver.listen()).port;
}

/** Messages between the cluster primary and its workers. */
type WorkerMessage = { kind: 'listening'; port: number } | { kind: 'usage'; id: number; usage: ProcessUsage };

const args = parseSutArgs();

if (args.workers === 1) {
  const port = await startOtelLb(args, 0);
  serve({ stats: () => ownUsage() });
  announce({ port });
} else if (cluster.isPrimary) {
  const workers: Worker[] = [];
  let nextId = 1;
  const waiting = new Map<number, (usage: ProcessUsage) => void>();
  const listening: Promise<number>[] = [];
  for (let i = 0; i < args.workers; i++) {
    const worker = cluster.fork();
    workers.push(worker);
    listening.push(
      new Promise((resolve, reject) => {
        worker.on('message', (message: WorkerMessage) => {
          if (message.kind === 'listening') resolve(message.port);
          else waiting.get(message.id)?.(message.usage);
        });
        worker.once('exit', (code) => {
          reject(new Error(`otel-lb worker exited with ${String(code)}`));
        });
      }),
    );
  }
  cluster.on('exit', (worker, code, signal) => {
    console.error(`otel-lb worker ${worker.id} exited (${signal || `code ${code}`})`);
  });
  const ports = new Set(await Promise.all(listening));
  if (ports.size !== 1) throw new Error(`workers listen on different ports: ${[...ports].join(', ')}`);
  const usageOf = (worker: Worker): Promise<ProcessUsage> =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, (usage) => {
        waiting.delete(id);
        resolve(usage);
      });
      worker.send({ kind: 'usage', id });
    });
  serve(
    {
      stats: async (): Promise<ProcessUsage> => {
        const all = [ownUsage(), ...(await Promise.all(workers.map(usageOf)))];
        // Peak RSS of the whole SUT: the sum of each process's peak (an upper bound).
        return { cpuS: all.reduce((n, u) => n + u.cpuS, 0), peakRssMb: all.reduce((n, u) => n + u.peakRssMb, 0) };
      },
    },
    () => {
      for (const worker of workers) worker.process.kill('SIGKILL');
    },
  );
  announce({ port: [...ports][0] });
} else {
  // A worker: port 0 in a cluster means one port, picked once and shared by every worker.
  const port = await startOtelLb(args, 0);
  process.on('message', (message: { kind: string; id: number }) => {
    if (message.kind === 'usage') {
      process.send?.({ kind: 'usage', id: message.id, usage: ownUsage() } satisfies WorkerMessage);
    }
  });
  process.once('disconnect', () => {
    // eslint-disable-next-line no-restricted-syntax -- a worker must not outlive its primary
    process.exit(0);
  });
  process.send?.({ kind: 'listening', port } satisfies WorkerMessage);
}
