import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { LoadBalancer } from '../components/exporter-loadbalancing/load-balancer.ts';
import { RoutingKey } from '../otlp/splitter.ts';
import { EXPORT_OK } from '../transport/export-result.ts';
import { DEFAULT_QUEUE_SETTINGS } from '../transport/queue.ts';
import { DEFAULT_RETRY_POLICY } from '../transport/retry.ts';
import { TraceLedger } from './ledger.ts';
import { Workload } from './workload.ts';

describe('TraceLedger', () => {
  it('counts a trace that reaches two backends as split, once', () => {
    const ledger = new TraceLedger(2);
    const round = new Workload(7).round(3);
    const [first, second] = round.traces;
    assert.ok(first && second);

    ledger.record(0, first);
    ledger.record(0, second);
    const before = ledger.splitTraces;
    ledger.record(1, first);
    ledger.record(1, first);

    assert.equal(before, 0);
    assert.ok(ledger.splitTraces > 0);
    assert.ok(ledger.splitTraces <= 3);
    assert.equal(ledger.backends[1]?.spans, 2 * first.items);
  });

  it('sees no split trace behind the load balancer, spans and logs together', async () => {
    const ledger = new TraceLedger(3);
    const endpoints = ['sink-0:4317', 'sink-1:4317', 'sink-2:4317'];
    const lb = new LoadBalancer({
      routingKey: RoutingKey.TRACE_ID,
      endpoints,
      queue: DEFAULT_QUEUE_SETTINGS,
      retry: DEFAULT_RETRY_POLICY,
      merge: { maxBytes: 1 << 20 },
      createClient: (endpoint) => ({
        endpoint,
        export: (batch) => Promise.resolve(ledger.record(endpoints.indexOf(endpoint), batch)),
        close: () => Promise.resolve(),
      }),
    });
    const workload = new Workload(1);
    let spans = 0;
    let logs = 0;

    for (let i = 0; i < 5; i++) {
      const round = workload.round(40);
      spans += round.spans;
      logs += round.logRecords;
      for (const batch of [...round.traces, ...round.logs]) {
        assert.deepEqual(await lb.consume(batch, { signal: new AbortController().signal }), EXPORT_OK);
      }
    }
    await lb.shutdown(Date.now() + 10_000);

    assert.equal(ledger.splitTraces, 0);
    assert.equal(ledger.traces, 200);
    assert.equal(
      ledger.backends.reduce((n, b) => n + b.spans, 0),
      spans,
    );
    assert.equal(
      ledger.backends.reduce((n, b) => n + b.logRecords, 0),
      logs,
    );
    for (const b of ledger.backends) assert.ok(b.spans > 0);
  });
});
