/**
 * The proof the demo and the benchmark show: which backend every trace reached. A ledger
 * sees every request each backend receives, notes the backend of each trace ID (of spans
 * and of log records alike), and counts the traces that reached more than one backend.
 */

import type { Batch } from '../otlp/batch.ts';
import { LOGS_SHAPE } from '../otlp/logs.ts';
import { Signal } from '../otlp/signal.ts';
import { RoutingKey, splitRequest, type KeyRouter } from '../otlp/splitter.ts';
import { TRACES_SHAPE } from '../otlp/traces.ts';
import type { BatchConsumer } from '../transport/consumer.ts';
import { EXPORT_OK, permanent, type ExportResult } from '../transport/export-result.ts';

/** Counters of one backend. */
export interface BackendTally {
  spans: number;
  logRecords: number;
  requests: number;
  bytes: number;
}

/** A trace ID folded to a number: its first 53 bits, plenty to tell traces apart here. */
function traceKey(key: Uint8Array, at: number): number {
  const low =
    ((key[at] as number) |
      ((key[at + 1] as number) << 8) |
      ((key[at + 2] as number) << 16) |
      ((key[at + 3] as number) << 24)) >>>
    0;
  const high = (key[at + 4] as number) | ((key[at + 5] as number) << 8) | (((key[at + 6] as number) & 0x1f) << 16);
  return high * 2 ** 32 + low;
}

/** Tracks where traces went. Not safe across processes; one per demo or benchmark run. */
export class TraceLedger {
  /** Trace → the backend it first reached. */
  private readonly owner = new Map<number, number>();
  private readonly split = new Set<number>();
  readonly backends: BackendTally[];

  constructor(backends: number) {
    this.backends = Array.from({ length: backends }, () => ({ spans: 0, logRecords: 0, requests: 0, bytes: 0 }));
  }

  /** Distinct traces seen. */
  get traces(): number {
    return this.owner.size;
  }

  /** Traces that reached more than one backend. */
  get splitTraces(): number {
    return this.split.size;
  }

  /** Records one request received by `backend`; an error for bytes that are not OTLP. */
  record(backend: number, batch: Batch): ExportResult {
    const router: KeyRouter = {
      backendCount: 1,
      route: (key, start) => {
        const k = traceKey(key, start);
        const first = this.owner.get(k);
        if (first === undefined) this.owner.set(k, backend);
        else if (first !== backend) this.split.add(k);
        return 0;
      },
      keyless: () => 0,
    };
    const shape = batch.signal === Signal.LOGS ? LOGS_SHAPE : TRACES_SHAPE;
    const result = splitRequest(shape, batch.bytes, RoutingKey.TRACE_ID, router);
    if (!result.ok) return permanent(result.error);
    const tally = this.backends[backend];
    if (tally !== undefined) {
      tally.requests++;
      tally.bytes += batch.bytes.length;
      if (batch.signal === Signal.LOGS) tally.logRecords += result.items;
      else tally.spans += result.items;
    }
    return EXPORT_OK;
  }

  /** A consumer that records what `backend` receives. */
  consumer(backend: number): BatchConsumer {
    return { consume: (batch) => Promise.resolve(this.record(backend, batch)) };
  }
}
