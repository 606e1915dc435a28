/**
 * Test doubles of {@link BatchConsumer} for receiver tests: one that records every batch and
 * answers with a set result, and one that holds every call until the test releases it, so
 * that tests can act while a call is in flight without sleeping.
 */

import type { Batch } from '../../src/otlp/batch.ts';
import type { BatchConsumer, ConsumeContext } from '../../src/transport/consumer.ts';
import { EXPORT_OK, type ExportResult } from '../../src/transport/export-result.ts';

/** One call a consumer received. */
export interface ConsumedCall {
  readonly batch: Batch;
  readonly context: ConsumeContext;
}

/** Records every call and answers each with `result` (ok unless the test changes it). */
export class RecordingConsumer implements BatchConsumer {
  readonly calls: ConsumedCall[] = [];
  result: ExportResult = EXPORT_OK;

  consume(batch: Batch, context: ConsumeContext): Promise<ExportResult> {
    this.calls.push({ batch, context });
    return Promise.resolve(this.result);
  }
}

/** A call held by a {@link GateConsumer}. */
export interface HeldCall extends ConsumedCall {
  /** Answers the call. */
  release(result?: ExportResult): void;
  /** Resolves with the signal's reason once the server aborts the call. */
  readonly aborted: Promise<unknown>;
}

/** Holds every call until the test releases it. */
export class GateConsumer implements BatchConsumer {
  private readonly arrived: HeldCall[] = [];
  private readonly waiting: ((call: HeldCall) => void)[] = [];

  consume(batch: Batch, context: ConsumeContext): Promise<ExportResult> {
    return new Promise((resolve) => {
      const aborted = new Promise<unknown>((onAbort) => {
        if (context.signal.aborted) onAbort(context.signal.reason);
        context.signal.addEventListener('abort', () => {
          onAbort(context.signal.reason);
        });
      });
      const call: HeldCall = {
        batch,
        context,
        aborted,
        release: (result = EXPORT_OK) => {
          resolve(result);
        },
      };
      const waiter = this.waiting.shift();
      if (waiter === undefined) this.arrived.push(call);
      else waiter(call);
    });
  }

  /** The next call to arrive (or the oldest one not yet taken). */
  nextCall(): Promise<HeldCall> {
    const call = this.arrived.shift();
    if (call !== undefined) return Promise.resolve(call);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}
