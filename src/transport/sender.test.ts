import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Batch } from '../otlp/batch.ts';
import { Signal } from '../otlp/signal.ts';
import { FakeClock, settle } from '../../test/helpers/fake-clock.ts';
import { EXPORT_OK, retryable, type ExportResult } from './export-result.ts';
import type { OtlpClient } from './otlp-client.ts';
import { DEFAULT_RETRY_POLICY } from './retry.ts';
import { MemoryBudget } from './queue.ts';
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

/** A {@link ManualBackend} that takes merged requests as their parts. */
class MergingBackend extends ManualBackend {
  readonly merged: { batches: readonly Batch[]; answer: (result: ExportResult) => void }[] = [];

  exportMerged(batches: readonly Batch[]): Promise<ExportResult> {
    return new Promise((resolve) => this.merged.push({ batches, answer: resolve }));
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

  it('hands merged batches to exportMerged as they are, not copied together, when the client has it', async () => {
    const backend = new MergingBackend();
    const { sender } = setup({ client: backend });
    const [b1, b2, b3] = [batch(1), batch(2), batch(3)];
    sender.offer(b1);
    sender.offer(b2);
    sender.offer(b3);

    backend.calls[0]?.answer(EXPORT_OK);
    await settle();

    assert.deepEqual(backend.sizes(), [1], 'a single batch still goes through export');
    assert.equal(backend.merged.length, 1);
    const merged = backend.merged[0]!;
    assert.equal(merged.batches.length, 2);
    assert.equal(merged.batches[0], b2);
    assert.equal(merged.batches[1], b3);
    merged.answer(EXPORT_OK);
    await settle();
    assert.equal(sender.stats().sentItems, 6);
  });

  it('reports a merged request given up on once, as the concatenation of its batches', async () => {
    const backend = new MergingBackend();
    const drops: { items: number; bytes: number; reason: string }[] = [];
    const { sender } = setup({
      client: backend,
      retry: { ...DEFAULT_RETRY_POLICY, enabled: false },
      onDrop: (b, reason) => drops.push({ items: b.items, bytes: b.bytes.length, reason }),
    });
    sender.offer(batch(1));
    sender.offer(batch(2, 100));
    sender.offer(batch(3, 50));
    backend.calls[0]?.answer(EXPORT_OK);
    await settle();

    backend.merged[0]?.answer(retryable(new Error('unavailable')));
    await settle();

    assert.deepEqual(drops, [{ items: 5, bytes: 150, reason: 'retry-disabled' }]);
    assert.equal(sender.stats().droppedItems, 5);
  });

  it('after retire, hands the batches of a merged request that fails back one by one', async () => {
    const backend = new MergingBackend();
    const orphans: Batch[] = [];
    const { sender } = setup({ client: backend, onOrphan: (b) => orphans.push(b) });
    const [b2, b3] = [batch(2), batch(3)];
    sender.offer(batch(1));
    sender.offer(b2);
    sender.offer(b3);
    backend.calls[0]?.answer(EXPORT_OK);
    await settle();

    const retired = sender.retire();
    backend.merged[0]?.answer(retryable(new Error('unavailable')));
    await retired;

    assert.equal(orphans.length, 2);
    assert.equal(orphans[0], b2);
    assert.equal(orphans[1], b3);
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

describe('Sender memory budget', () => {
  it('refuses batches past the byte limit, admits re-routed ones past it, and frees bytes once delivered', async () => {
    const memory = new MemoryBudget(250);
    const { sender, backend } = setup({ memory, merge: { maxBytes: 0 } });

    assert.equal(sender.offer(batch(1, 100)), true);
    assert.equal(sender.offer(batch(1, 100)), true);
    assert.equal(sender.hasRoom(1, 100), false);
    assert.equal(sender.offer(batch(1, 100)), false);
    assert.equal(memory.usedBytes, 200);
    assert.equal(sender.offer(batch(1, 100), true), true);
    assert.equal(memory.usedBytes, 300);

    await settle();
    for (const call of backend.calls) call.answer(EXPORT_OK);
    await settle();

    assert.equal(memory.usedBytes, 0);
    assert.equal(sender.offer(batch(1, 100)), true);
  });

  it('frees the bytes of a batch given up on', async () => {
    const memory = new MemoryBudget(1_000);
    const { sender, backend } = setup({ memory, retry: { ...DEFAULT_RETRY_POLICY, enabled: false } });

    sender.offer(batch(1, 300));
    await settle();
    backend.calls[0]?.answer(retryable(new Error('down')));
    await settle();

    assert.equal(memory.usedBytes, 0);
  });
});
