import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { Signal } from '../../otlp/signal.ts';
import { RoutingKey } from '../../otlp/splitter.ts';
import { RingName, keyBytes } from './hash-ring/hash-ring.ts';
import { buildRing } from './hash-ring/rings.ts';
import { KeyEncoding, createKeyRouter, keyEncodingFor } from './routing.ts';

interface GoldenEndpoints {
  readonly endpoint: { readonly v2_linear_probe: string; readonly v1_legacy: string };
}
interface GoldenRingCase {
  readonly id: string;
  readonly endpoints: string[];
  readonly traces: { trace_id_hex: string; traces_key_raw16: GoldenEndpoints; logs_key_hex32: GoldenEndpoints }[];
  readonly services: { service_name: string; key_raw_value: GoldenEndpoints }[];
}

const golden = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/upstream-ring.json', import.meta.url), 'utf8'),
) as { ring_cases: GoldenRingCase[] };
// Log records: hex keys on upstream-v2 (v0.154+), raw bytes on upstream-v1 (every release).
const VERSIONS = [
  { ring: RingName.UPSTREAM_V2, key: 'v2_linear_probe', logsKey: 'logs_key_hex32' },
  { ring: RingName.UPSTREAM_V1, key: 'v1_legacy', logsKey: 'traces_key_raw16' },
] as const;

describe('keyEncodingFor', () => {
  it('hashes log trace IDs as hex on upstream-v2 only', () => {
    assert.equal(keyEncodingFor(RingName.UPSTREAM_V2, Signal.LOGS, RoutingKey.TRACE_ID), KeyEncoding.HEX);
    assert.equal(keyEncodingFor(RingName.UPSTREAM_V1, Signal.LOGS, RoutingKey.TRACE_ID), KeyEncoding.RAW);
    assert.equal(keyEncodingFor(RingName.UPSTREAM_V2, Signal.TRACES, RoutingKey.TRACE_ID), KeyEncoding.RAW);
    assert.equal(keyEncodingFor(RingName.UPSTREAM_V2, Signal.LOGS, RoutingKey.SERVICE), KeyEncoding.RAW);
    assert.equal(keyEncodingFor(RingName.OTEL_LB_V1, Signal.LOGS, RoutingKey.TRACE_ID), KeyEncoding.RAW);
  });
});

describe('createKeyRouter', () => {
  for (const { ring: ringName, key, logsKey } of VERSIONS) {
    it(`routes spans, log records and services exactly as the Collector does on ${ringName}`, () => {
      let checked = 0;
      for (const c of golden.ring_cases) {
        const ring = buildRing(ringName, c.endpoints);
        const traces = createKeyRouter({ ring, signal: Signal.TRACES, routingKey: RoutingKey.TRACE_ID });
        const logs = createKeyRouter({ ring, signal: Signal.LOGS, routingKey: RoutingKey.TRACE_ID });
        const services = [Signal.TRACES, Signal.LOGS].map((signal) =>
          createKeyRouter({ ring, signal, routingKey: RoutingKey.SERVICE }),
        );
        for (const t of c.traces) {
          const id = Buffer.from(t.trace_id_hex, 'hex');
          assert.equal(
            ring.endpoints[traces.route(id, 0, 16)],
            t.traces_key_raw16.endpoint[key],
            `${c.id} span ${t.trace_id_hex}`,
          );
          assert.equal(
            ring.endpoints[logs.route(id, 0, 16)],
            t[logsKey].endpoint[key],
            `${c.id} log ${t.trace_id_hex}`,
          );
          checked += 2;
        }
        for (const s of c.services) {
          const name = keyBytes(s.service_name);
          for (const router of services)
            assert.equal(
              ring.endpoints[router.route(name, 0, name.length)],
              s.key_raw_value.endpoint[key],
              `${c.id} service ${s.service_name}`,
            );
          checked += 2;
        }
      }
      assert.ok(checked > 4000);
    });
  }

  it('sends a trace ID to the same backend for spans and log records on the default ring', () => {
    const ring = buildRing(RingName.OTEL_LB_V1, ['a:4317', 'b:4317', 'c:4317', 'd:4317']);
    const traces = createKeyRouter({ ring, signal: Signal.TRACES, routingKey: RoutingKey.TRACE_ID });
    const logs = createKeyRouter({ ring, signal: Signal.LOGS, routingKey: RoutingKey.TRACE_ID });
    for (const c of golden.ring_cases[0]?.traces ?? []) {
      const id = Buffer.from(c.trace_id_hex, 'hex');
      assert.equal(logs.route(id, 0, 16), traces.route(id, 0, 16));
    }
  });

  it('rotates key-less requests through the backends by default', () => {
    const ring = buildRing(RingName.OTEL_LB_V1, ['a:4317', 'b:4317', 'c:4317']);
    const router = createKeyRouter({ ring, signal: Signal.LOGS, routingKey: RoutingKey.TRACE_ID });

    const picks = Array.from({ length: 6 }, () => router.keyless());

    assert.deepEqual(picks, [0, 1, 2, 0, 1, 2]);
  });

  it('uses the keyless function it is given', () => {
    const ring = buildRing(RingName.UPSTREAM_V2, ['a:4317', 'b:4317']);
    const router = createKeyRouter({ ring, signal: Signal.TRACES, routingKey: RoutingKey.TRACE_ID, keyless: () => 1 });

    assert.equal(router.keyless(), 1);
    assert.equal(router.backendCount, 2);
  });
});
