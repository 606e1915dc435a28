/**
 * The load balancer's own metrics are exact: with one backend refusing everything, the items
 * counted as failed are exactly the ones routed to it, and the items counted as sent exactly
 * the ones the other backend took (the Collector counts a failing request once per failing
 * backend, for all its items: contrib #45015). Per-backend latency and outcome are recorded.
 */

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { loadBalancingDefinition } from '../../src/components/exporter-loadbalancing/definition.ts';
import { countItems } from '../../src/otlp/chunk.ts';
import type { BatchConsumer } from '../../src/transport/consumer.ts';
import { ErrorCode, OtelLbError } from '../../src/errors.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from '../../src/transport/export-result.ts';
import { GrpcServer } from '../../src/transport/grpc-server.ts';
import { exportedConsumer, startComponent } from '../helpers/component-harness.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';

interface Backend {
  readonly endpoint: string;
  readonly server: GrpcServer;
  items: number;
}

async function backend(refuse: boolean): Promise<Backend> {
  const state = { items: 0 };
  const consumer: BatchConsumer = {
    consume: (batch) => {
      const count = countItems(batch.signal, batch.bytes);
      if (count.ok) state.items += count.items;
      return Promise.resolve(refuse ? permanent(new Error('refused for the test')) : EXPORT_OK);
    },
  };
  const server = new GrpcServer({ host: '127.0.0.1', port: 0, consumers: { traces: consumer } });
  const { port } = await server.listen();
  return {
    endpoint: `127.0.0.1:${port}`,
    server,
    get items() {
      return state.items;
    },
  };
}

function sample(exposition: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const matches = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (matches) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('otelcol.exporter.loadbalancing telemetry', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('counts sent and failed items exactly, per backend, and records latency and outcome', async () => {
    const good = await backend(false);
    const bad = await backend(true);
    cleanups.push(
      () => good.server.close(0),
      () => bad.server.close(0),
    );
    const running = await startComponent(
      loadBalancingDefinition,
      `resolver {
        static {
          hostnames = ["${good.endpoint}", "${bad.endpoint}"]
        }
      }
      protocol {
        otlp {
          client {
            compression = "none"
            tls {
              insecure = true
            }
          }
          queue {
            enabled = false
          }
          retry {
            enabled = false
          }
        }
      }`,
    );
    cleanups.push(() => running.stop());
    const input = exportedConsumer(running.exports);

    let sent = 0;
    for (let i = 0; i < 5; i++) {
      const bytes = buildTracesRequest({ traces: 40, spansPerTrace: 5, seed: 10 + i });
      await input.consume({ signal: 'traces', bytes, items: 200 }, { signal: new AbortController().signal });
      sent += 200;
    }
    const text = running.registry.expose();

    assert.equal(good.items + bad.items, sent);
    assert.ok(bad.items > 0 && good.items > 0);
    assert.equal(sample(text, 'otelcol_exporter_sent_spans_total'), good.items);
    assert.equal(sample(text, 'otelcol_exporter_send_failed_spans_total'), bad.items);
    assert.equal(
      sample(text, 'otelcol_loadbalancer_backend_outcome_total', { endpoint: bad.endpoint, success: 'false' }),
      5,
    );
    assert.equal(
      sample(text, 'otelcol_loadbalancer_backend_outcome_total', { endpoint: good.endpoint, success: 'true' }),
      5,
    );
    assert.equal(
      sample(text, 'otelcol_loadbalancer_backend_latency_milliseconds_count', { endpoint: good.endpoint }),
      5,
    );
  });
});

describe('otelcol.exporter.loadbalancing queue memory limit', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('refuses requests as retryable once the queues hold memory_limit bytes, and counts them', async () => {
    const server = new GrpcServer({
      host: '127.0.0.1',
      port: 0,
      consumers: { traces: { consume: () => Promise.resolve(retryable(new Error('down for the test'))) } },
    });
    const { port } = await server.listen();
    cleanups.push(() => server.close(0));
    const running = await startComponent(
      loadBalancingDefinition,
      `resolver {
        static {
          hostnames = ["127.0.0.1:${port}"]
        }
      }
      protocol {
        otlp {
          client {
            compression = "none"
            tls {
              insecure = true
            }
          }
          queue {
            memory_limit = "64KiB"
          }
        }
      }`,
    );
    cleanups.push(() => running.stop(0));
    const input = exportedConsumer(running.exports);
    const bytes = buildTracesRequest({ traces: 20, spansPerTrace: 5 });

    let accepted = 0;
    let refused: ExportResult | undefined;
    while (refused === undefined) {
      const result = await input.consume(
        { signal: 'traces', bytes, items: 100 },
        { signal: new AbortController().signal },
      );
      if (result.kind === 'ok') accepted += bytes.length;
      else refused = result;
    }

    assert.equal(refused.kind, 'retryable');
    assert.ok(refused.error instanceof OtelLbError && refused.error.code === ErrorCode.LB_QUEUE_FULL);
    assert.ok(accepted <= 64 * 1024, `${accepted} bytes accepted`);
    assert.match(running.logs.text(), /sending queue memory limit/);
    await Promise.resolve();
    assert.equal(sample(running.registry.expose(), 'otelcol_exporter_enqueue_failed_spans_total'), 100);
  });
});
