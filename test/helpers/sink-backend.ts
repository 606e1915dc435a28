/**
 * OTLP/gRPC sink backends for end-to-end tests: real servers on 127.0.0.1 (port 0) that
 * decode what they receive and remember which span and log record reached which backend,
 * with promises that resolve once a given number of items has arrived (no sleeping).
 */

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

/** A set of sinks sharing one ledger of what arrived. */
export class SinkPool {
  readonly spans: SeenItem[] = [];
  readonly logs: SeenItem[] = [];
  private readonly servers: GrpcServer[] = [];
  private readonly endpointsList: string[] = [];
  private waiters: { readonly done: () => boolean; readonly resolve: () => void }[] = [];
  /** What the sinks answer; ok unless a test changes it. */
  result: ExportResult = EXPORT_OK;

  /** Starts `n` sinks. */
  static async start(n: number): Promise<SinkPool> {
    const pool = new SinkPool();
    for (let i = 0; i < n; i++) await pool.add();
    return pool;
  }

  get endpoints(): readonly string[] {
    return this.endpointsList;
  }

  /** Starts one more sink; resolves to its endpoint. */
  async add(): Promise<string> {
    let endpoint = '';
    const consumer: BatchConsumer = {
      consume: (batch) => Promise.resolve(this.record(endpoint, batch)),
    };
    const server = new GrpcServer({ host: '127.0.0.1', port: 0, consumers: { traces: consumer, logs: consumer } });
    const address = await server.listen();
    endpoint = `127.0.0.1:${address.port}`;
    this.servers.push(server);
    this.endpointsList.push(endpoint);
    return endpoint;
  }

  /** Resolves once `predicate` holds (checked after every batch). */
  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ done: predicate, resolve });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close(0)));
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
    const still = [];
    for (const w of this.waiters) {
      if (w.done()) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
    return EXPORT_OK;
  }
}
