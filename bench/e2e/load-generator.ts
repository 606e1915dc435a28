/**
 * The load-generating client, a child process of `run.ts`: `concurrency` calls in flight
 * at all times, spread over `connections` {@link GrpcClient}s (one HTTP/2 connection each,
 * so that a SUT with several workers or threads gets several connections to share), each
 * sending the next request of the pre-generated pool (`pool.ts`) as soon as its previous
 * one is answered: a closed loop, so every SUT is driven as hard as it can take.
 *
 * A refused request (retryable: a full queue, an overloaded backend) is sent again after a
 * short pause, as an SDK would after its backoff, so that nothing of the pool is skipped;
 * refusals are counted. Latency is measured per successful call, from `export()` to its
 * result, so it includes the client's compression.
 *
 * With gzip the pool is compressed once (at the first gzip run) and sent as it is by a
 * {@link PrecompressedClient}, unless `precompressed` is false: then GrpcClient compresses
 * every call, as an SDK does, and the load generator competes with the SUT for the CPU.
 *
 * Operations (see `rpc.ts`): `start {port, compression, precompressed}`, `mark` (open the measuring
 * window: reset the counters), `stop` (close the window, stop sending, wait for the calls
 * in flight, reply with the window's figures).
 */

import { parseArgs } from 'node:util';

import type { Batch } from '../../src/otlp/batch.ts';
import { compress, type Compression } from '../../src/transport/compression.ts';
import { GrpcClient } from '../../src/transport/grpc-client.ts';
import type { OtlpClient } from '../../src/transport/otlp-client.ts';
import { readPool } from './pool.ts';
import { PrecompressedClient } from './precompressed-client.ts';
import { announce, ownUsage, serve } from './rpc.ts';

/** Arguments of `start`. */
export interface LoadStart {
  readonly port: number;
  readonly compression: Compression;
  /** Send compressed runs from a pool compressed beforehand (default true). */
  readonly precompressed: boolean;
}

/** The reply to `stop`: what the client saw in the measuring window, and in total. */
export interface LoadReport {
  /** Length of the window, in seconds (mark to stop). */
  readonly windowS: number;
  /** Calls answered OK in the window, with their spans and uncompressed request bytes. */
  readonly calls: number;
  readonly spans: number;
  readonly bytes: number;
  /** Latency of those calls, in milliseconds. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Retryable refusals and other failures in the window. */
  readonly refused: number;
  readonly failed: number;
  readonly lastError: string;
  /** CPU seconds this process used in the window. */
  readonly cpuS: number;
  /** Spans acknowledged since `start`, warm-up included (for the delivery check). */
  readonly totalAckedSpans: number;
}

const { values } = parseArgs({
  options: {
    pool: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    connections: { type: 'string', default: '4' },
  },
});
if (values.pool === undefined) throw new Error('--pool FILE is required');
const pool = await readPool(values.pool);
const concurrency = Number(values.concurrency);
const connectionCount = Number(values.connections);

/** Pause before sending a refused request again (the SUT's retry-after is capped to this). */
const REFUSED_PAUSE_MS = 50;

/** The pool's gzip bytes, made at the first run that needs them. */
let gzipped: WeakMap<Batch, Uint8Array> | undefined;
async function gzippedPool(): Promise<WeakMap<Batch, Uint8Array>> {
  if (gzipped === undefined) {
    const map = new WeakMap<Batch, Uint8Array>();
    for (const batch of pool) map.set(batch, await compress('gzip', batch.bytes));
    gzipped = map;
  }
  return gzipped;
}

class Load {
  private readonly clients: OtlpClient[];
  private readonly workers: Promise<void>[] = [];
  private stopping = false;
  private next = 0;
  private totalAckedSpans = 0;
  // The window's counters.
  private windowStart = performance.now();
  private cpuAtStart = 0;
  private latencies = new Float64Array(1 << 16);
  private calls = 0;
  private spans = 0;
  private bytes = 0;
  private refused = 0;
  private failed = 0;
  private lastError = '';

  constructor(args: LoadStart, wire: WeakMap<Batch, Uint8Array> | undefined) {
    const endpoint = `127.0.0.1:${args.port}`;
    this.clients = Array.from({ length: connectionCount }, () =>
      wire === undefined
        ? new GrpcClient({ endpoint, compression: args.compression, timeoutMs: 30_000 })
        : new PrecompressedClient(endpoint, wire),
    );
    for (let i = 0; i < concurrency; i++) this.workers.push(this.work(this.clients[i % connectionCount] as OtlpClient));
  }

  mark(): void {
    this.windowStart = performance.now();
    this.cpuAtStart = ownUsage().cpuS;
    this.calls = this.spans = this.bytes = this.refused = this.failed = 0;
    this.lastError = '';
  }

  async stop(): Promise<LoadReport> {
    const windowS = (performance.now() - this.windowStart) / 1000;
    const cpuS = ownUsage().cpuS - this.cpuAtStart;
    const sorted = this.latencies.subarray(0, this.calls).sort();
    const report: Omit<LoadReport, 'totalAckedSpans'> = {
      windowS,
      calls: this.calls,
      spans: this.spans,
      bytes: this.bytes,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      refused: this.refused,
      failed: this.failed,
      lastError: this.lastError,
      cpuS,
    };
    this.stopping = true;
    await Promise.all(this.workers);
    await Promise.all(this.clients.map((c) => c.close()));
    return { ...report, totalAckedSpans: this.totalAckedSpans };
  }

  private async work(client: OtlpClient): Promise<void> {
    while (!this.stopping) {
      const batch = pool[this.next++ % pool.length] as Batch;
      for (;;) {
        const started = performance.now();
        const result = await client.export(batch);
        const ms = performance.now() - started;
        if (result.kind === 'ok') {
          this.totalAckedSpans += batch.items;
          this.record(ms, batch);
          break;
        }
        this.lastError = result.error.message;
        if (result.kind === 'permanent') {
          this.failed++;
          break;
        }
        this.refused++;
        // stop() may have run while the call was under way.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by stop() across the await
        if (this.stopping) break;
        await new Promise((resolve) => setTimeout(resolve, Math.min(result.retryAfterMs ?? 10, REFUSED_PAUSE_MS)));
      }
    }
  }

  private record(ms: number, batch: Batch): void {
    if (this.calls === this.latencies.length) {
      const grown = new Float64Array(this.latencies.length * 2);
      grown.set(this.latencies);
      this.latencies = grown;
    }
    this.latencies[this.calls++] = ms;
    this.spans += batch.items;
    this.bytes += batch.bytes.length;
  }
}

/** The value below which `q` of the sorted samples lie (nearest rank). */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

let load: Load | undefined;
serve({
  start: async (args: LoadStart) => {
    const precompressed = args.compression === 'gzip' && args.precompressed;
    load = new Load(args, precompressed ? await gzippedPool() : undefined);
    return null;
  },
  mark: () => {
    load?.mark();
    return null;
  },
  stop: async () => {
    if (load === undefined) throw new Error('not started');
    const report = await load.stop();
    load = undefined;
    return report;
  },
});
announce({ requests: pool.length });
