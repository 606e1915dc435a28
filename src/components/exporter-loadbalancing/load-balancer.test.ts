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
import { RingName, type HashRing } from './hash-ring/hash-ring.ts';
import { buildOtelLbV1Ring } from './hash-ring/otel-lb-v1.ts';
import { buildRing } from './hash-ring/rings.ts';
import { LoadBalancer, type LoadBalancerOptions, type RingBuilder, type RingChange } from './load-balancer.ts';

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

/** Ring changes as they happen; `next()` waits for the next one. */
class RingChanges {
  readonly seen: RingChange[] = [];
  private readonly waiting: ((change: RingChange) => void)[] = [];

  readonly onRingChange = (change: RingChange): void => {
    this.seen.push(change);
    for (const resolve of this.waiting.splice(0)) resolve(change);
  };

  next(): Promise<RingChange> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** A ring builder the test finishes by hand, build by build. */
class ScriptedRingBuilder {
  readonly builds: {
    readonly endpoints: readonly string[];
    readonly finish: () => void;
    readonly fail: (error: Error) => void;
  }[] = [];

  readonly build: RingBuilder = (name, endpoints) =>
    new Promise<HashRing>((resolve, reject) => {
      this.builds.push({
        endpoints,
        finish: () => {
          resolve(buildRing(name, endpoints));
        },
        fail: reject,
      });
    });

  /** The endpoints of every build asked for so far. */
  asked(): (readonly string[])[] {
    return this.builds.map((b) => b.endpoints);
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
  changes: RingChanges;
} {
  const backends = new Map<string, FakeBackend>();
  const clock = new FakeClock();
  const changes = new RingChanges();
  const drops: { endpoint: string; reason: string; items: number }[] = [];
  const lb = new LoadBalancer({
    routingKey: RoutingKey.TRACE_ID,
    retry: FAST_RETRY,
    merge: { maxBytes: 0 },
    clock,
    random: () => 0.5,
    onDrop: (endpoint, batch, reason) => drops.push({ endpoint, reason, items: batch.items }),
    onRingChange: changes.onRingChange,
    ...options,
    endpoints,
    queue: { ...DEFAULT_QUEUE_SETTINGS, ...options.queue },
    createClient: (endpoint) => {
      const backend = backends.get(endpoint) ?? new FakeBackend(endpoint);
      backends.set(endpoint, backend);
      return backend;
    },
  });
  return { lb, backends, clock, drops, changes };
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
    const { lb, backends, changes } = setup(['a:4317', 'b:4317', 'c:4317'], { queue: { numConsumers: 1 } });
    for (const b of backends.values()) b.hold();
    for (let seed = 1; seed <= 6; seed++) await lb.consume(traces(seed), CONTEXT);

    const swapped = changes.next();
    const change = lb.setEndpoints(['a:4317', 'b:4317']);
    await swapped;
    assert.equal(backends.get('c:4317')?.closed, false, 'c still has a request in flight');
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
  it('keeps routing on the old ring while the new one is built, then swaps between two requests', async () => {
    const builder = new ScriptedRingBuilder();
    const { lb, backends, changes } = setup(['a:4317'], { buildRing: builder.build });

    const change = lb.setEndpoints(['a:4317', 'b:4317', 'c:4317']);
    await settle();
    assert.deepEqual(await lb.consume(traces(1), CONTEXT), EXPORT_OK, 'ingest does not wait for the build');
    assert.deepEqual(lb.endpoints, ['a:4317']);
    const swapped = changes.next();
    builder.builds[0]?.finish();
    assert.deepEqual(await swapped, {
      endpoints: ['a:4317', 'b:4317', 'c:4317'],
      added: ['b:4317', 'c:4317'],
      removed: [],
    });
    await change;
    await lb.consume(traces(2), CONTEXT);
    await lb.shutdown(Date.now() + 60_000);

    assert.ok((backends.get('a:4317')?.items() ?? 0) >= 200, 'the request during the build went to a');
    assert.ok((backends.get('b:4317')?.items() ?? 0) > 0 && (backends.get('c:4317')?.items() ?? 0) > 0);
    assert.equal(totalItems(backends), 400);
    assert.equal(lb.stats().ringChanges, 1);
  });

  it('starts the senders of new backends before the ring that uses them', async () => {
    const builder = new ScriptedRingBuilder();
    const ringWhenMade = new Map<string, readonly string[]>();
    const holder: { lb?: LoadBalancer } = {};
    const lb = new LoadBalancer({
      routingKey: RoutingKey.TRACE_ID,
      endpoints: ['a:4317'],
      queue: DEFAULT_QUEUE_SETTINGS,
      retry: FAST_RETRY,
      merge: { maxBytes: 0 },
      buildRing: builder.build,
      createClient: (endpoint) => {
        ringWhenMade.set(endpoint, holder.lb?.endpoints ?? []);
        return new FakeBackend(endpoint);
      },
    });
    holder.lb = lb;

    const change = lb.setEndpoints(['a:4317', 'b:4317']);
    await settle();
    assert.equal(ringWhenMade.has('b:4317'), false, 'nothing is started for a set still being built');
    builder.builds[0]?.finish();
    await change;

    assert.deepEqual(ringWhenMade.get('b:4317'), ['a:4317'], "b's sender was made while the old ring was in use");
    assert.deepEqual(lb.endpoints, ['a:4317', 'b:4317']);
    await lb.shutdown(Date.now());
  });

  it('coalesces changes: the latest set wins and a build for an outdated set is discarded', async () => {
    const builder = new ScriptedRingBuilder();
    const { lb, changes } = setup(['a:4317'], { buildRing: builder.build });

    const first = lb.setEndpoints(['a:4317', 'b:4317']);
    await settle();
    const second = lb.setEndpoints(['a:4317', 'c:4317']);
    const third = lb.setEndpoints(['a:4317', 'd:4317', 'e:4317']);
    builder.builds[0]?.finish();
    await settle();
    builder.builds[1]?.finish();
    await Promise.all([first, second, third]);

    assert.deepEqual(builder.asked(), [
      ['a:4317', 'b:4317'],
      ['a:4317', 'd:4317', 'e:4317'],
    ]);
    assert.deepEqual(lb.endpoints, ['a:4317', 'd:4317', 'e:4317']);
    assert.deepEqual(
      changes.seen.map((c) => c.endpoints),
      [['a:4317', 'd:4317', 'e:4317']],
    );
    assert.equal(lb.stats().discardedRingBuilds, 1);
    assert.equal(lb.stats().ringChanges, 1);
    assert.deepEqual([...lb.stats().backends.keys()], ['a:4317', 'd:4317', 'e:4317']);
    await lb.shutdown(Date.now());
  });

  it('goes back to the set in use without a build when a burst ends where it began', async () => {
    const builder = new ScriptedRingBuilder();
    const { lb } = setup(['a:4317'], { buildRing: builder.build });

    const away = lb.setEndpoints(['b:4317']);
    await settle();
    const back = lb.setEndpoints(['a:4317']);
    builder.builds[0]?.finish();
    await Promise.all([away, back]);

    assert.equal(builder.builds.length, 1);
    assert.deepEqual(lb.endpoints, ['a:4317']);
    assert.equal(lb.stats().ringChanges, 0);
    await lb.shutdown(Date.now());
  });

  it('keeps the ring when no ring can be built from the new set', async () => {
    const builder = new ScriptedRingBuilder();
    const { lb } = setup(['a:4317'], { buildRing: builder.build });

    const change = lb.setEndpoints(['a:4317', 'b:4317']);
    await settle();
    builder.builds[0]?.fail(new OtelLbError(ErrorCode.LB_TOO_MANY_BACKENDS, 'too many'));

    await assert.rejects(
      change,
      (err: unknown) => err instanceof OtelLbError && err.code === ErrorCode.LB_TOO_MANY_BACKENDS,
    );
    assert.deepEqual(lb.endpoints, ['a:4317']);
    await lb.shutdown(Date.now());
  });

  it('abandons a change being built on shutdown', async () => {
    const builder = new ScriptedRingBuilder();
    const { lb } = setup(['a:4317'], { buildRing: builder.build });
    const change = lb.setEndpoints(['a:4317', 'b:4317']);
    await settle();

    await lb.shutdown(Date.now());

    await assert.rejects(
      change,
      (err: unknown) => err instanceof OtelLbError && err.code === ErrorCode.LB_SHUTTING_DOWN,
    );
    await assert.rejects(
      lb.setEndpoints(['b:4317']),
      (err: unknown) => err instanceof OtelLbError && err.code === ErrorCode.LB_SHUTTING_DOWN,
    );
    assert.deepEqual(lb.endpoints, ['a:4317']);
  });

  it('builds otel-lb-v1 rings in a worker thread that place every key as the inline build does', async () => {
    const endpoints = Array.from({ length: 37 }, (_, i) => `10.0.0.${i}:4317`);
    const { lb, backends } = setup(['a:4317'], { ring: RingName.OTEL_LB_V1 });

    await lb.setEndpoints(endpoints);
    for (let seed = 1; seed <= 20; seed++) await lb.consume(traces(seed), CONTEXT);
    await lb.shutdown(Date.now() + 60_000);

    const inline = buildOtelLbV1Ring(endpoints);
    let checked = 0;
    for (const [endpoint, backend] of backends) {
      for (const id of backend.traceIds()) {
        const key = Buffer.from(id, 'hex');
        assert.equal(inline.endpoints[inline.locate(key, 0, key.length)], endpoint, `trace ${id}`);
        checked++;
      }
    }
    assert.equal(checked, 20 * 20);
    assert.equal(totalItems(backends), 20 * 200);
  });

  it('closes a backend that left only after its request in flight is answered', async () => {
    const { lb, backends, changes } = setup(['a:4317', 'b:4317']);
    const a = backends.get('a:4317');
    assert.ok(a);
    a.hold();
    await lb.consume(traces(1), CONTEXT);
    await settle();

    const swapped = changes.next();
    const change = lb.setEndpoints(['b:4317']);
    await swapped;
    assert.equal(a.closed, false);
    a.release();
    await change;

    assert.equal(a.closed, true);
    assert.ok(a.items() > 0, 'a delivered what it was sending');
    await lb.shutdown(Date.now() + 60_000);
    assert.equal(totalItems(backends), 200);
  });

  it('answers with the outcome of the re-routed parts when the queue is disabled and a backend leaves', async () => {
    const { lb, backends, clock, drops } = setup(['a:4317', 'b:4317'], { queue: { enabled: false } });
    const a = backends.get('a:4317');
    assert.ok(a);
    for (let i = 0; i < 10; i++) a.script.push(retryable(new Error('down')));
    const answer = lb.consume(traces(1), CONTEXT);
    await clock.advance(50);

    await lb.setEndpoints(['b:4317']);

    assert.deepEqual(await answer, EXPORT_OK);
    assert.deepEqual(drops, []);
    assert.equal(backends.get('b:4317')?.items(), 200);
    assert.ok(lb.stats().reroutedBatches > 0);
    await lb.shutdown(clock.now());
  });
});
