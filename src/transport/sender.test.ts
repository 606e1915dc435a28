import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Batch } from '../otlp/batch.ts';
import { Signal } from '../otlp/signal.ts';
import { FakeClock, settle } from '../../test/helpers/fake-clock.ts';
import { EXPORT_OK, retryable, type ExportResult } from './export-result.ts';
import type { OtlpClient } from './otlp-client.ts';
import { DEFAULT_RETRY_POLICY } from './retry.ts';
import { Sender, type SenderOptions } from './sender.ts';

/** A backend whose every call waits until the test answers it. */
class ManualBackend implements OtlpClient {
  readonly endpoint = 'backend:4317';
  readonly calls: { batch: Batch; answer: (result: ExportResult) => void }[] = [];

  export(batch: Batch): Promise<ExportResult> {
    return new Promise((resolve) => this.calls.push({ batch, answer: resolve }));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Sizes (items) of each call, in order. */
  sizes(): number[] {
    return this.calls.map((c) => c.batch.items);
  }
}

/** A one-span-sized batch of `n` bytes holding `items` items. */
function batch(items: number, bytes = 100): Batch {
  return { signal: Signal.TRACES, bytes: new Uint8Array(bytes), items };
}

function setup(overrides: Partial<SenderOptions> = {}): { sender: Sender; backend: ManualBackend; clock: FakeClock } {
  const backend = new ManualBackend();
  const clock = new FakeClock();
  const sender = new Sender({
    client: backend,
    queue: { enabled: true, numConsumers: 4, queueSize: 100 },
    retry: DEFAULT_RETRY_POLICY,
    merge: { maxBytes: 1_000 },
    clock,
    random: () => 0.5,
    ...overrides,
  });
  return { sender, backend, clock };
}

describe('Sender dispatch', () => {
  it('sends a batch at once when nothing is on the wire', () => {
    const { sender, backend } = setup();

    sender.offer(batch(1));

    assert.deepEqual(backend.sizes(), [1]);
  });

  it('holds batches behind the request on the wire and sends them merged when it is answered', async () => {
    const { sender, backend } = setup();
    sender.offer(batch(1));

    sender.offer(batch(2));
    sender.offer(batch(3));
    assert.deepEqual(backend.sizes(), [1], 'held while the first request is on the wire');
    backend.calls[0]?.answer(EXPORT_OK);
    await settle();

    assert.deepEqual(backend.sizes(), [1, 5]);
    assert.equal(backend.calls[1]?.batch.bytes.length, 200);
  });

  it('starts another send once a full merged request is waiting, up to num_consumers', () => {
    const { sender, backend } = setup({ queue: { enabled: true, numConsumers: 2, queueSize: 100 } });
    sender.offer(batch(1));

    for (let i = 0; i < 10; i++) sender.offer(batch(1));
    for (let i = 0; i < 10; i++) sender.offer(batch(1));

    assert.deepEqual(backend.sizes(), [1, 10], 'a second send for the first full 1,000 bytes; then 2 sends is the cap');
    assert.equal(sender.stats().queued, 10);
  });

  it('starts another send once half the queue is waiting, so that small queues never fill for merging', () => {
    const { sender, backend } = setup({ queue: { enabled: true, numConsumers: 2, queueSize: 4 } });
    sender.offer(batch(1));

    sender.offer(batch(1));
    assert.deepEqual(backend.sizes(), [1]);
    sender.offer(batch(1));

    assert.deepEqual(backend.sizes(), [1, 2]);
  });

  it('does not hold new batches behind a request that waits to be retried', async () => {
    const { sender, backend, clock } = setup();
    sender.offer(batch(1));
    backend.calls[0]?.answer(retryable(new Error('unavailable')));
    await settle();
    assert.equal(clock.pending, 1, 'the failed request sleeps before its retry');

    sender.offer(batch(2));

    assert.deepEqual(backend.sizes(), [1, 2]);
  });

  it('with merging disabled, sends every batch on its own at once', () => {
    const { sender, backend } = setup({ merge: { maxBytes: 0 } });

    sender.offer(batch(1));
    sender.offer(batch(2));

    assert.deepEqual(backend.sizes(), [1, 2]);
  });

  it('shutdown sends what is held without waiting for the wire, then resolves', async () => {
    const { sender, backend, clock } = setup();
    sender.offer(batch(1));
    sender.offer(batch(2));

    const done = sender.shutdown(clock.now() + 60_000);
    await settle();
    assert.deepEqual(backend.sizes(), [1, 2]);
    for (const call of backend.calls) call.answer(EXPORT_OK);
    await done;

    assert.equal(sender.stats().sentItems, 3);
  });

  it('retire hands held batches back for re-routing and waits for the send under way', async () => {
    const orphans: Batch[] = [];
    const { sender, backend } = setup({ onOrphan: (b) => orphans.push(b) });
    sender.offer(batch(1));
    sender.offer(batch(2));

    const retired = sender.retire();
    await settle();
    assert.deepEqual(
      orphans.map((b) => b.items),
      [2],
    );
    backend.calls[0]?.answer(EXPORT_OK);
    await retired;

    assert.deepEqual(backend.sizes(), [1]);
    assert.equal(sender.stats().sentItems, 1);
  });
});
