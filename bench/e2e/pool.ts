/**
 * The pool of requests every run replays: OTLP trace export requests from the demo's
 * workload (a shop of 13 services, call trees of 5–50 spans, each service exporting its
 * own spans, so every trace reaches the load balancer in several requests). Generated once
 * per bench, before any run, so that generating (~40 µs per span) stays out of the
 * measurement, and written to a file that each load generator reads.
 *
 * File layout: per request, `uint32 BE spans`, `uint32 BE length`, then the request bytes.
 */

import { readFile, writeFile } from 'node:fs/promises';

import { Workload } from '../../src/demo/workload.ts';
import type { Batch } from '../../src/otlp/batch.ts';
import { Signal } from '../../src/otlp/signal.ts';

/** What the pool holds. */
export interface PoolSummary {
  readonly requests: number;
  readonly spans: number;
  readonly bytes: number;
  readonly traces: number;
}

/**
 * Generates `rounds` rounds of `tracesPerRound` traces with a fixed seed (the same pool
 * for every run and every bench) and writes them to `file`.
 */
export async function writePool(file: string, rounds: number, tracesPerRound: number): Promise<PoolSummary> {
  const workload = new Workload(42);
  const chunks: Buffer[] = [];
  let requests = 0;
  let spans = 0;
  let bytes = 0;
  let traces = 0;
  for (let r = 0; r < rounds; r++) {
    const round = workload.round(tracesPerRound);
    traces += round.traceIds.length;
    for (const batch of round.traces) {
      const header = Buffer.alloc(8);
      header.writeUInt32BE(batch.items, 0);
      header.writeUInt32BE(batch.bytes.length, 4);
      chunks.push(header, Buffer.from(batch.bytes));
      requests++;
      spans += batch.items;
      bytes += batch.bytes.length;
    }
  }
  await writeFile(file, Buffer.concat(chunks));
  return { requests, spans, bytes, traces };
}

/** Reads a pool written by {@link writePool}. */
export async function readPool(file: string): Promise<Batch[]> {
  const data = await readFile(file);
  const pool: Batch[] = [];
  for (let at = 0; at < data.length;) {
    const items = data.readUInt32BE(at);
    const length = data.readUInt32BE(at + 4);
    // A copy per request: each owns its memory, as a request from the network would.
    pool.push({ signal: Signal.TRACES, bytes: Buffer.from(data.subarray(at + 8, at + 8 + length)), items });
    at += 8 + length;
  }
  return pool;
}
