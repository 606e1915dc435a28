import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ErrorCode, OtelLbError } from '../../errors.ts';
import type { Batch } from '../../otlp/batch.ts';
import { decodeTracesRequest } from '../../otlp/proto/decoder.ts';
import { Signal } from '../../otlp/signal.ts';
import { RoutingKey } from '../../otlp/splitter.ts';
import type { ConsumeContext } from '../../transport/consumer.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from '../../transport/export-result.ts';
import type { OtlpClient } from '../../transport/otlp-client.ts';
import { DEFAULT_QUEUE_SETTINGS, type QueueSettings } from '../../transport/queue.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../transport/retry.ts';
import { FakeClock, settle } from '../../../test/helpers/fake-clock.ts';
import { buildTracesRequest } from '../../../test/helpers/otlp-builders.ts';
import { traceItemKeys } from '../../../test/helpers/otlp-items.ts';
import { LoadBalancer, type LoadBalancerOptions } from './load-balancer.ts';

/** A backend double: records what it accepted; answers from a script, then ok. */
class FakeBackend implements OtlpClient {
  readonly endpoint: string;
  readonly accepted: Batch[] = [];
  readonly script: ExportResult[] = [];
  calls = 0;
  closed = false;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(endpoint: string) {
    this.endpoint = endpoint;
  }

  /** Holds every call until {@link release}. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  async export(batch: Batch): Promise<ExportResult> {
    this.calls++;
    if (this.gate !== undefined) await this.gate;
    const result = this.script.shift() ?? EXPORT_OK;
    if (result.kind === 'ok') this.accepted.push(batch);
    return result;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  items(): number {
    return this.accepted.reduce((n, b) => n + b.items, 0);
  }

  traceIds(): Set<string> {
    const ids = new Set<string>();
    for (const b of this.accepted) {
      for (const rs of decodeTracesRequest(b.bytes).resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) ids.add(span.traceId ?? '');
      }
    }
    return ids;
  }
}

const CONTEXT: ConsumeContext = { signal: new AbortController().signal };
const FAST_RETRY: RetryPolicy = {
  ...DEFAULT_RETRY_POLICY,
  initialIntervalMs: 100,
  maxIntervalMs: 1_000,
  maxElapsedTimeMs: 10_000,
};

function setup(
  endpoints: string[],
  options: Partial<Omit<LoadBalancerOptions, 'queue'>> & { queue?: Partial<QueueSettings> } = {},
): {
  lb: LoadBalancer;
  backends: Map<string, FakeBackend>;
  clock: FakeClock;
  drops: { endpoint: string; reason: string; items: number }[];
} {
  const backends = new Map<string, FakeBackend>();
  const clock = new FakeClock();
  const drops: { endpoint: string; reason: string; items: number }[] = [];
  const lb = new LoadBalancer({
    routingKey: RoutingKey.TRACE_ID,
    retry: FAST_RETRY,
    merge: { maxBytes: 0 },
    clock,
    random: () => 0.5,
    onDrop: (endpoint, batch, reason) => drops.push({ endpoint, reason, items: batch.items }),
    ...options,
    endpoints,
    queue: { ...DEFAULT_QUEUE_SETTINGS, ...options.queue },
    createClient: (endpoint) => {
      const backend = backends.get(endpoint) ?? new FakeBackend(endpoint);
      backends.set(endpoint, backend);
      return backend;
    },
  });
  return { lb, backends, clock, drops };
}

function traces(seed: number): Batch {
  return { signal: Signal.TRACES, bytes: buildTracesRequest({ traces: 20, spansPerTrace: 10, seed }), items: -1 };
}

function totalItems(backends: Map<string, FakeBackend>): number {
  return [...backends.values()].reduce((n, b) => n + b.items(), 0);
}

/** Every trace ID is on exactly one backend. */
function assertNoSplitTraces(backends: Map<string, FakeBackend>): void {
  const seen = new Map<string, string>();
  for (const [endpoint, backend] of backends) {
    for (const id of backend.traceIds()) {
      const other = seen.get(id);
      assert.ok(other === undefined || other === endpoint, `trace ${id} on ${other ?? ''} and ${endpoint}`);
      seen.set(id, endpoint);
    }
  }
}

describe('LoadBalancer', () => {
  it('sends every span of a trace to one backend and accepts the request once queued', async () => {
    const { lb, backends } = setup(['a:4317', 'b:4317', 'c:4317']);

    for (let seed = 1; seed <= 5; seed++) assert.deepEqual(await lb.consume(traces(seed), CONTEXT), EXPORT_OK);
    await lb.shutdown(Date.now() + 60_000);

    assert.equal(totalItems(backends), 5 * 200);
    for (const b of backends.values()) assert.ok(b.items() > 0, `${b.endpoint} got nothing`);
    assertNoSplitTraces(backends);
    assert.equal(lb.stats().acceptedItems, 1000);
  });

  it('refuses a request whole, as retryable, when one of its backends has a full queue', async () => {
    const { lb, backends } = setup(['a:4317', 'b:4317'], { queue: { queueSize: 1, numConsumers: 1 } });
    for (const b of backends.values()) b.hold();
    // One request in flight at each backend, one queued at each: the queues are full.
    await lb.consume(traces(1), CONTEXT);
    await settle();
    await lb.consume(traces(2), CONTEXT);

    const refused = await lb.consume(traces(3), CONTEXT);

    if (refused.kind !== 'retryable') assert.fail(`expected retryable, got ${refused.kind}`);
    assert.ok(refused.retryAfterMs !== undefined && refused.retryAfterMs > 0);
    assert.ok(refused.error instanceof OtelLbError && refused.error.code === ErrorCode.LB_QUEUE_FULL);
    for (const b of backends.values()) b.release();
    await lb.shutdown(Date.now() + 60_000);
    assert.equal(totalItems(backends), 2 * 200, 'nothing of the refused request was sent');
    assert.equal(lb.stats().refusedRequests, 1);
  });

  it('retries only the part of the backend that failed', async () => {
    const { lb, backends, clock } = setup(['a:4317', 'b:4317']);
    const a = backends.get('a:4317');
    const b = backends.get('b:4317');
    assert.ok(a && b);
    a.script.push(retryable(new Error('down')), retryable(new Error('still down')));

    await lb.consume(traces(1), CONTEXT);
    await clock.advance(10_000);
    await lb.shutdown(clock.now() + 1_000);

    assert.equal(a.calls, 3);
    assert.equal(b.calls, 1);
    assert.equal(totalItems(backends), 200);
  });

  it('waits at least as long as the server asks (RetryInfo)', async () => {
    const { lb, backends, clock } = setup(['a:4317']);
    const a = backends.get('a:4317');
    assert.ok(a);
    a.script.push(retryable(new Error('busy'), 5_000));

    await lb.consume(traces(1), CONTEXT);
    await clock.advance(4_999);
    assert.equal(a.calls, 1);
    await clock.advance(1);
    assert.equal(a.calls, 2);
    await lb.shutdown(clock.now());
  });

  it('does not retry a permanent error, and reports the drop', async () => {
    const { lb, backends, clock, drops } = setup(['a:4317']);
    backends.get('a:4317')?.script.push(permanent(new Error('bad data')));

    await lb.consume(traces(1), CONTEXT);
    await clock.advance(60_000);
    await lb.shutdown(clock.now());

    assert.equal(backends.get('a:4317')?.calls, 1);
    assert.deepEqual(drops, [{ endpoint: 'a:4317', reason: 'permanent', items: 200 }]);
  });

  it('gives up after max_elapsed_time, and retries forever with 0', async () => {
    for (const maxElapsedTimeMs of [10_000, 0]) {
      const { lb, backends, clock, drops } = setup(['a:4317'], { retry: { ...FAST_RETRY, maxElapsedTimeMs } });
      const a = backends.get('a:4317');
      assert.ok(a);
      for (let i = 0; i < 100; i++) a.script.push(retryable(new Error('down')));

      await lb.consume(traces(1), CONTEXT);
      await clock.advance(60_000);

      if (maxElapsedTimeMs === 0) {
        assert.deepEqual(drops, []);
        assert.ok(a.calls > 50);
      } else {
        assert.deepEqual(drops, [{ endpoint: 'a:4317', reason: 'retries-exhausted', items: 200 }]);
      }
      await lb.shutdown(clock.now());
    }
  });

  it('merges queued parts for a backend into fewer requests, up to the size bound', async () => {
    const { lb, backends } = setup(['a:4317'], { queue: { numConsumers: 1 }, merge: { maxBytes: 1 << 20 } });
    const a = backends.get('a:4317');
    assert.ok(a);
    a.hold();
    for (let seed = 1; seed <= 10; seed++) await lb.consume(traces(seed), CONTEXT);

    a.release();
    await lb.shutdown(Date.now() + 60_000);

    assert.equal(a.accepted.length, 2, 'one request in flight when the others were queued, then one merged');
    assert.equal(a.items(), 2000);
    const expected = Array.from({ length: 10 }, (_, i) => traceItemKeys(traces(i + 1).bytes))
      .flat()
      .sort();
    assert.deepEqual(a.accepted.flatMap((b) => traceItemKeys(b.bytes)).sort(), expected);
  });

  it('merges per signal when traces and logs are queued in turn', async () => {
    const { lb, backends } = setup(['a:4317'], { queue: { numConsumers: 1 }, merge: { maxBytes: 1 << 20 } });
    const a = backends.get('a:4317');
    assert.ok(a);
    a.hold();
    const logs: Batch = {
      signal: Signal.LOGS,
      bytes: Uint8Array.of(0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x4a, 0x00),
      items: -1,
    };
    for (let seed = 1; seed <= 6; seed++) {
      await lb.consume(traces(seed), CONTEXT);
      await lb.consume(logs, CONTEXT);
    }

    a.release();
    await lb.shutdown(Date.now() + 60_000);

    assert.deepEqual(
      a.accepted.map((b) => b.signal),
      ['traces', 'logs', 'traces'],
      'one request in flight, then the oldest queued part with every other of its signal, then the rest',
    );
    assert.equal(a.items(), 6 * 200 + 6);
  });

  it('re-routes what is queued for a backend that leaves, losing nothing', async () => {
    const { lb, backends } = setup(['a:4317', 'b:4317', 'c:4317'], { queue: { numConsumers: 1 } });
    for (const b of backends.values()) b.hold();
    for (let seed = 1; seed <= 6; seed++) await lb.consume(traces(seed), CONTEXT);

    const change = lb.setEndpoints(['a:4317', 'b:4317']);
    for (const b of backends.values()) b.release();
    await change;
    await lb.shutdown(Date.now() + 60_000);

    // c's first request was in flight and completed; the rest of c's went to a and b.
    assert.equal(totalItems(backends), 6 * 200);
    assert.ok(lb.stats().reroutedBatches > 0);
    assert.equal(backends.get('c:4317')?.closed, true);
    assert.deepEqual(lb.endpoints, ['a:4317', 'b:4317']);
  });

  it('re-routes a batch whose backend leaves while it is being retried', async () => {
    const { lb, backends, clock, drops } = setup(['a:4317', 'b:4317']);
    const a = backends.get('a:4317');
    assert.ok(a);
    for (let i = 0; i < 10; i++) a.script.push(retryable(new Error('down')));
    await lb.consume(traces(1), CONTEXT);
    await clock.advance(50);

    await lb.setEndpoints(['b:4317']);
    await lb.shutdown(clock.now() + 1_000);

    assert.deepEqual(drops, []);
    assert.equal(backends.get('b:4317')?.items(), 200);
  });

  it('uses a backend that joins for the keys the new ring gives it', async () => {
    const { lb, backends } = setup(['a:4317']);
    await lb.setEndpoints(['a:4317', 'b:4317', 'c:4317']);

    await lb.consume(traces(1), CONTEXT);
    await lb.shutdown(Date.now() + 60_000);

    assert.ok((backends.get('b:4317')?.items() ?? 0) > 0);
    assert.ok((backends.get('c:4317')?.items() ?? 0) > 0);
    assertNoSplitTraces(backends);
  });

  it('keeps the ring when asked to use no backends', async () => {
    const { lb } = setup(['a:4317']);

    await assert.rejects(
      lb.setEndpoints([]),
      (err: unknown) => err instanceof OtelLbError && err.code === ErrorCode.LB_NO_BACKENDS,
    );

    assert.deepEqual(lb.endpoints, ['a:4317']);
    await lb.shutdown(Date.now());
  });

  it('waits for the backends when the queue is disabled, and reports their failure', async () => {
    const { lb, backends } = setup(['a:4317', 'b:4317'], {
      queue: { enabled: false },
      retry: { ...FAST_RETRY, enabled: false },
    });
    backends.get('a:4317')?.script.push(retryable(new Error('down')));

    const result = await lb.consume(traces(1), CONTEXT);

    assert.equal(result.kind, 'retryable');
    assert.ok((backends.get('b:4317')?.items() ?? 0) > 0, 'the healthy backend got its part');
    assert.deepEqual(await lb.consume(traces(2), CONTEXT), EXPORT_OK);
    await lb.shutdown(Date.now());
  });

  it('refuses an invalid request as permanent, with the byte offset', async () => {
    const { lb } = setup(['a:4317', 'b:4317']);

    const result = await lb.consume(
      { signal: Signal.TRACES, bytes: Uint8Array.of(0x0a, 0x05, 0x12), items: -1 },
      CONTEXT,
    );

    if (result.kind !== 'permanent') assert.fail(`expected permanent, got ${result.kind}`);
    assert.ok(result.error instanceof OtelLbError && result.error.code === ErrorCode.OTLP_MALFORMED);
    assert.equal(lb.stats().invalidRequests, 1);
    await lb.shutdown(Date.now());
  });

  it('delivers what is queued on shutdown within the deadline, then refuses new work', async () => {
    const { lb, backends, clock, drops } = setup(['a:4317']);
    const a = backends.get('a:4317');
    assert.ok(a);
    for (let i = 0; i < 1000; i++) a.script.push(retryable(new Error('down')));
    await lb.consume(traces(1), CONTEXT);

    const done = lb.shutdown(clock.now() + 2_000);
    await clock.advance(2_000);
    await done;

    assert.deepEqual(drops, [{ endpoint: 'a:4317', reason: 'shutdown', items: 200 }]);
    assert.equal((await lb.consume(traces(2), CONTEXT)).kind, 'retryable');
  });
});
