import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Batch } from '../otlp/batch.ts';
import { Signal } from '../otlp/signal.ts';
import type { BatchConsumer } from '../transport/consumer.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from '../transport/export-result.ts';
import { fanOut } from './fanout.ts';

const BATCH: Batch = { signal: Signal.TRACES, bytes: new Uint8Array([1, 2, 3]), items: 1 };
const CONTEXT = { signal: new AbortController().signal };

function consumer(result: ExportResult, seen: Batch[]): BatchConsumer {
  return {
    consume: (batch) => {
      seen.push(batch);
      return Promise.resolve(result);
    },
  };
}

describe('fanOut', () => {
  it('gives every consumer the same batch and answers ok when all accept', async () => {
    const seen: Batch[] = [];

    const result = await fanOut([consumer(EXPORT_OK, seen), consumer(EXPORT_OK, seen)]).consume(BATCH, CONTEXT);

    assert.equal(result.kind, 'ok');
    assert.deepEqual(seen, [BATCH, BATCH]);
    assert.equal(seen[0], seen[1], 'shared, not copied');
  });

  it('answers retryable when any consumer is retryable, even if another failed for good', async () => {
    const seen: Batch[] = [];

    const result = await fanOut([
      consumer(permanent(new Error('bad')), seen),
      consumer(retryable(new Error('busy'), 1_000), seen),
      consumer(EXPORT_OK, seen),
    ]).consume(BATCH, CONTEXT);

    assert.equal(result.kind, 'retryable');
  });

  it('answers permanent when the worst answer is permanent', async () => {
    const result = await fanOut([consumer(EXPORT_OK, []), consumer(permanent(new Error('bad')), [])]).consume(
      BATCH,
      CONTEXT,
    );

    assert.equal(result.kind, 'permanent');
  });

  it('with no consumers, accepts (an output list may leave a signal unwired)', async () => {
    assert.equal((await fanOut([]).consume(BATCH, CONTEXT)).kind, 'ok');
  });
});
