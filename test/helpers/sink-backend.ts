/**
 * OTLP/gRPC sink backends for end-to-end tests: real servers on 127.0.0.1 (port 0) that
 * decode what they receive and remember which span and log record reached which backend,
 * with promises that resolve once a given number of items has arrived (no sleeping).
 *
 * Sinks can also share one port on several loopback addresses (127.0.0.2, 127.0.0.3, …:
 * Linux routes all of 127.0.0.0/8 to the loopback interface), as the backends of a DNS name
 * or a Kubernetes service do, and a sink can be killed: it stops answering, and every
 * connection made to its address afterwards is reset and counted.
 */

import net from 'node:net';

import type { Batch } from '../../src/otlp/batch.ts';
import { decodeLogsRequest, decodeTracesRequest } from '../../src/otlp/proto/decoder.ts';
import type { BatchConsumer } from '../../src/transport/consumer.ts';
import { EXPORT_OK, type ExportResult } from '../../src/transport/export-result.ts';
import { GrpcServer } from '../../src/transport/grpc-server.ts';

/** One span or log record as a sink saw it. */
export interface SeenItem {
  readonly backend: string;
  readonly traceId: string;
  /** The span ID, or the log record's body. */
  readonly id: string;
  readonly service: string;
}

/** The decoder gives bytes fields as lower-case hex. */
function hex(bytes: string | null | undefined): string {
  return bytes ?? '';
}

function serviceOf(
  attributes: readonly { key?: string | null; value?: { stringValue?: string | null } | null }[] | null | undefined,
): string {
  return attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? '';
}

/** Where one sink listens. */
export interface SinkAddress {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0 (a free port). */
  readonly port?: number;
}

/** A set of sinks sharing one ledger of what arrived. */
export class SinkPool {
  readonly spans: SeenItem[] = [];
  readonly logs: SeenItem[] = [];
  private readonly servers: GrpcServer[] = [];
  private readonly endpointsList: string[] = [];
  private readonly byEndpoint = new Map<string, GrpcServer>();
  /** Killed sinks: the listener that resets connections in their place, and how many it reset. */
  private readonly killed = new Map<string, { readonly listener: net.Server; resets: number }>();
  private waiters: { readonly done: () => boolean; readonly resolve: () => void }[] = [];
  /** What the sinks answer; ok unless a test changes it. */
  result: ExportResult = EXPORT_OK;

  /** Starts `n` sinks. */
  static async start(n: number): Promise<SinkPool> {
    const pool = new SinkPool();
    for (let i = 0; i < n; i++) await pool.add();
    return pool;
  }

  /**
   * Starts one sink on each of `hosts` (loopback addresses), all on the same free port, so
   * that the endpoints differ only in their address. Tries another port when one is taken
   * on some address.
   */
  static async startOnOnePort(hosts: readonly string[]): Promise<SinkPool> {
    for (let attempt = 0; ; attempt++) {
      const pool = new SinkPool();
      try {
        let port = 0;
        for (const host of hosts) {
          const endpoint = await pool.add({ host, port });
          port = Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
        }
        return pool;
      } catch (error) {
        await pool.close();
        if (attempt >= 4 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      }
    }
  }

  get endpoints(): readonly string[] {
    return this.endpointsList;
  }

  /** The port every sink listens on; throws when they differ. */
  get port(): number {
    const ports = new Set(this.endpointsList.map((e) => Number(e.slice(e.lastIndexOf(':') + 1))));
    const [port] = ports;
    if (ports.size !== 1 || port === undefined) throw new Error(`the sinks listen on ${ports.size} ports`);
    return port;
  }

  /** Starts one more sink (by default on 127.0.0.1, on a free port); resolves to its endpoint. */
  async add(address: SinkAddress = {}): Promise<string> {
    const host = address.host ?? '127.0.0.1';
    let endpoint = '';
    const consumer: BatchConsumer = {
      consume: (batch) => Promise.resolve(this.record(endpoint, batch)),
    };
    const server = new GrpcServer({ host, port: address.port ?? 0, consumers: { traces: consumer, logs: consumer } });
    const bound = await server.listen();
    endpoint = `${host}:${bound.port}`;
    this.servers.push(server);
    this.endpointsList.push(endpoint);
    this.byEndpoint.set(endpoint, server);
    return endpoint;
  }

  /**
   * Kills the sink at `endpoint`, as a backend that crashes: its calls in progress fail,
   * and from then on every connection to its address is accepted and reset at once (so
   * clients see their calls fail and retry), and counted in {@link SinkPool.resets}.
   */
  async kill(endpoint: string): Promise<void> {
    const server = this.byEndpoint.get(endpoint);
    if (server === undefined) throw new Error(`no sink at ${endpoint}`);
    this.byEndpoint.delete(endpoint);
    const closed = server.close(0);
    const state = { listener: net.createServer(), resets: 0 };
    state.listener.on('connection', (socket) => {
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      state.resets++;
      this.wake();
    });
    const colon = endpoint.lastIndexOf(':');
    await new Promise<void>((resolve, reject) => {
      state.listener.once('error', reject);
      state.listener.listen(Number(endpoint.slice(colon + 1)), endpoint.slice(0, colon), () => {
        state.listener.off('error', reject);
        resolve();
      });
    });
    this.killed.set(endpoint, state);
    await closed;
  }

  /** Connections reset at a killed sink's address since it was killed. */
  resets(endpoint: string): number {
    return this.killed.get(endpoint)?.resets ?? 0;
  }

  /** Resolves once `predicate` holds (checked after every batch and every reset connection). */
  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ done: predicate, resolve });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close(0)));
    await Promise.all(
      [...this.killed.values()].map(
        ({ listener }) =>
          new Promise<void>((resolve) => {
            listener.close(() => {
              resolve();
            });
          }),
      ),
    );
    this.killed.clear();
  }

  private record(backend: string, batch: Batch): ExportResult {
    if (this.result.kind !== 'ok') return this.result;
    if (batch.signal === 'traces') {
      for (const rs of decodeTracesRequest(batch.bytes).resourceSpans ?? []) {
        const service = serviceOf(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const span of ss.spans ?? []) {
            this.spans.push({ backend, traceId: hex(span.traceId), id: hex(span.spanId), service });
          }
        }
      }
    } else if (batch.signal === 'logs') {
      for (const rl of decodeLogsRequest(batch.bytes).resourceLogs ?? []) {
        const service = serviceOf(rl.resource?.attributes);
        for (const sl of rl.scopeLogs ?? []) {
          for (const record of sl.logRecords ?? []) {
            this.logs.push({ backend, traceId: hex(record.traceId), id: record.body?.stringValue ?? '', service });
          }
        }
      }
    }
    this.wake();
    return EXPORT_OK;
  }

  private wake(): void {
    const still = [];
    for (const w of this.waiters) {
      if (w.done()) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}
