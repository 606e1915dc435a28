/**
 * Issue 6, end to end through the configuration: every option of the gRPC `client`, the queue,
 * the retry and `debug_metrics` works in `otelcol.exporter.loadbalancing` (static resolver,
 * several backends) and in `otelcol.exporter.otlp` (one backend) alike, with Alloy's defaults
 * and validation.
 *
 * The configuration runs in a real {@link Host} (the one `otel-lb run` uses, on the real
 * clock) behind an `otelcol.receiver.otlp`; the backends are `@grpc/grpc-js` servers, an
 * independent implementation, which record what they saw (`:authority`, `grpc-encoding`,
 * metadata, the client certificate, the items) and answer scripted statuses. Metrics are read
 * from the host's registry, logs from its JSON lines at debug level. Everything waits on
 * events; nothing sleeps.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, it } from 'node:test';

import * as grpc from '@grpc/grpc-js';

import { builtinRegistry } from '../../src/cli/config-file.ts';
import { loadBalancingDefinition } from '../../src/components/exporter-loadbalancing/definition.ts';
import { exporterOtlpDefinition } from '../../src/components/exporter-otlp/definition.ts';
import { balancerOf, keepaliveOptions } from '../../src/components/config/transport-options.ts';
import { Host } from '../../src/runtime/host.ts';
import { formatDiagnostics, type Diagnostic } from '../../src/syntax/diagnostics.ts';
import { createScope } from '../../src/syntax/evaluate.ts';
import { SourceFile } from '../../src/syntax/source.ts';
import { createStdlib } from '../../src/syntax/stdlib.ts';
import { createLogger, type LogStream } from '../../src/telemetry/logger.ts';
import { MetricsRegistry } from '../../src/telemetry/metrics.ts';
import type { Batch } from '../../src/otlp/batch.ts';
import type { ExportResult } from '../../src/transport/export-result.ts';
import { GrpcClient } from '../../src/transport/grpc-client.ts';
import { GrpcError } from '../../src/transport/grpc-protocol.ts';
import { GrpcStatus } from '../../src/transport/grpc-status.ts';
import { expectArguments } from '../helpers/component-harness.ts';
import { GrpcJsBackend, requestItems, Watch, type BackendSecurity } from '../helpers/grpcjs-backend.ts';
import { OtelLbProcess, writeConfig } from '../helpers/otel-lb-process.ts';
import { buildLogsRequest, buildTracesRequest } from '../helpers/otlp-builders.ts';
import { notifyingScope } from '../helpers/notifying-metrics.ts';
import { fixturePath, fixturePem } from '../helpers/tls-fixtures.ts';

// ---------------------------------------------------------------------------------------------
// Secrets and the environment the configurations read with sys.env

const USERNAME = 'tenant-a';
const PASSWORD = 'pw-6c1e93-never-print-me';
const BASIC = `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}`;
const CLIENT_KEY_PEM = fixturePem('client.key');
/** A line from the middle of the client key: it must never be printed. */
const KEY_LINE = CLIENT_KEY_PEM.split('\n')[5] ?? '';
const ENV: Readonly<Record<string, string>> = {
  OTEL_LB_TEST_BASIC_PASSWORD: PASSWORD,
  OTEL_LB_TEST_CLIENT_KEY: CLIENT_KEY_PEM,
};

/** The places secrets must not reach. */
function assertNoSecrets(text: string): void {
  assert.ok(KEY_LINE.length > 20);
  assert.equal(text.includes(PASSWORD), false, 'the password was printed');
  assert.equal(text.includes(BASIC.slice('Basic '.length)), false, 'the basic credentials were printed');
  assert.equal(text.includes(KEY_LINE), false, 'the client key was printed');
}

// ---------------------------------------------------------------------------------------------
// Configurations

type Kind = 'loadbalancing' | 'otlp';
const KINDS: readonly Kind[] = ['loadbalancing', 'otlp'];
const EXPORTER_ID: Readonly<Record<Kind, string>> = {
  loadbalancing: 'otelcol.exporter.loadbalancing.out',
  otlp: 'otelcol.exporter.otlp.out',
};

/** The inside of an exporter: client attributes and blocks, queue and retry bodies, top-level extras. */
interface ExporterParts {
  readonly client?: string;
  readonly queue?: string;
  readonly retry?: string;
  readonly extra?: string;
}

function indent(text: string, by: string): string {
  return text
    .trim()
    .split('\n')
    .map((line) => (line.trim() === '' ? '' : `${by}${line.trim()}`))
    .join('\n');
}

/**
 * The exporter block of `kind` sending to `endpoints` (the load balancer's static hostnames,
 * or the OTLP exporter's endpoint: the first one).
 */
function exporterBlock(kind: Kind, endpoints: readonly string[], parts: ExporterParts): string {
  const client = indent(parts.client ?? '', '        ');
  const queue = indent(parts.queue ?? '', '        ');
  const retry = indent(parts.retry ?? '', '        ');
  const extra = indent(parts.extra ?? '', '  ');
  if (kind === 'loadbalancing') {
    return `otelcol.exporter.loadbalancing "out" {
  resolver {
    static {
      hostnames = [${endpoints.map((e) => JSON.stringify(e)).join(', ')}]
    }
  }
  protocol {
    otlp {
      client {
${client}
      }
      queue {
${queue}
      }
      retry {
${retry}
      }
    }
  }
${extra}
}
`;
  }
  return `otelcol.exporter.otlp "out" {
  client {
    endpoint = ${JSON.stringify(endpoints[0] ?? '')}
${indent(parts.client ?? '', '    ')}
  }
  sending_queue {
${indent(parts.queue ?? '', '    ')}
  }
  retry_on_failure {
${indent(parts.retry ?? '', '    ')}
  }
${extra}
}
`;
}

const RECEIVER = (kind: Kind): string => `otelcol.receiver.otlp "in" {
  grpc {
    endpoint = "127.0.0.1:0"
  }
  output {
    traces = [${EXPORTER_ID[kind]}.input]
    logs   = [${EXPORTER_ID[kind]}.input]
  }
}
`;

const BASIC_AUTH = `otelcol.auth.basic "creds" {
  username = "${USERNAME}"
  password = sys.env("OTEL_LB_TEST_BASIC_PASSWORD")
}
`;

const CLEARTEXT = `tls {
  insecure = true
}`;

/** Retries every 10-20 ms, never giving up within a test. */
const FAST_RETRY = `initial_interval     = "10ms"
max_interval         = "20ms"
multiplier           = 1.5
randomization_factor = 0
max_elapsed_time     = "1m"`;

// ---------------------------------------------------------------------------------------------
// otel-lb in a Host, fed through its receiver

type LogEntry = Readonly<Record<string, unknown>>;

/** The host's log stream: JSON lines kept as text and as entries; notifies the watch. */
class LogWatch implements LogStream {
  readonly entries: LogEntry[] = [];
  text = '';
  private readonly watch: Watch;

  constructor(watch: Watch) {
    this.watch = watch;
  }

  write(chunk: string): void {
    this.text += chunk;
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null) this.entries.push(parsed as LogEntry);
    }
    this.watch.notify();
  }

  /** The `dropping data` events of the exporter. */
  drops(): LogEntry[] {
    return this.entries.filter((e) => e['msg'] === 'dropping data');
  }

  /** Items in the `dropping data` events. */
  droppedItems(): number {
    return this.drops().reduce((sum, e) => sum + Number(e['items']), 0);
  }
}

interface Subject {
  readonly kind: Kind;
  readonly logs: LogWatch;
  readonly registry: MetricsRegistry;
  /** Sends one request to the receiver and resolves with its answer. */
  send(batch: Batch): Promise<ExportResult>;
  /** The sum of the samples of `name` (the exporter's own series only), with `labels`. */
  metric(name: string, labels?: Readonly<Record<string, string>>): number;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function hostScope() {
  return createScope({ stdlib: createStdlib({ env: (name) => ENV[name] }) });
}

/** Loads `config` in a Host (debug-level JSON logs), and connects to its receiver. */
async function startSubject(kind: Kind, config: string, watch: Watch): Promise<Subject> {
  const logs = new LogWatch(watch);
  const registry = new MetricsRegistry();
  const host = new Host({
    registry: builtinRegistry(),
    logger: createLogger({ level: 'debug', format: 'json', stream: logs }),
    metrics: notifyingScope(registry, () => {
      watch.notify();
    }),
    scope: hostScope(),
  });
  const source = SourceFile.fromText('config.alloy', config);
  const loaded = await host.load(source);
  cleanups.push(() => host.shutdown(Date.now() + 2_000));
  assert.ok(loaded.ok, `${formatDiagnostics(loaded.diagnostics, source)}\n${String(loaded.error?.message)}\n${config}`);
  const started = logs.entries.find((e) => e['msg'] === 'Starting GRPC server');
  assert.ok(started !== undefined);
  const client = new GrpcClient({ endpoint: String(started['endpoint']), compression: 'none', timeoutMs: 20_000 });
  cleanups.push(() => client.close());
  const exporter = EXPORTER_ID[kind];
  return {
    kind,
    logs,
    registry,
    send: (batch) => client.export(batch),
    metric: (name, labels = {}) => sample(registry.expose(), name, { component_id: exporter, ...labels }),
  };
}

function sample(exposition: string, name: string, labels: Readonly<Record<string, string>>): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

async function startBackends(n: number, security: BackendSecurity, watch: Watch): Promise<GrpcJsBackend[]> {
  const backends: GrpcJsBackend[] = [];
  for (let i = 0; i < n; i++) {
    const backend = await GrpcJsBackend.start({ security, watch });
    cleanups.push(() => {
      backend.close();
    });
    backends.push(backend);
  }
  return backends;
}

/** The backends of `kind`: three for the load balancer, one for the OTLP exporter. */
function backendCount(kind: Kind): number {
  return kind === 'loadbalancing' ? 3 : 1;
}

function traces(seed: number, count = 12): Batch {
  const bytes = buildTracesRequest({ traces: count, spansPerTrace: 3, services: 3, seed });
  return { signal: 'traces', bytes, items: count * 3 };
}

function logs(seed: number): Batch {
  const bytes = buildLogsRequest({ logRecords: 30, services: 3, tracedFraction: 1, seed });
  return { signal: 'logs', bytes, items: 30 };
}

function itemsOf(batches: readonly Batch[]): string[] {
  return batches.flatMap((b) => requestItems(b.signal === 'logs' ? 'logs' : 'traces', b.bytes));
}

function accepted(backends: readonly GrpcJsBackend[]): string[] {
  return backends.flatMap((b) => b.accepted);
}

function sorted(items: readonly string[]): string[] {
  return [...items].sort();
}

function grpcStatusOf(result: ExportResult): number | undefined {
  if (result.kind === 'ok') return GrpcStatus.OK;
  return result.error instanceof GrpcError ? result.error.grpcStatus : undefined;
}

const TEST = { timeout: 20_000 };

// ---------------------------------------------------------------------------------------------

for (const kind of KINDS) {
  describe(`otelcol.exporter.${kind} client options against grpc-js backends`, () => {
    it(
      'sends over mTLS with basic auth from sys.env, extra headers, gzip and the authority; every item arrives once',
      TEST,
      async () => {
        // prepare
        const watch = new Watch();
        const backends = await startBackends(backendCount(kind), 'mtls', watch);
        const subject = await startSubject(
          kind,
          BASIC_AUTH +
            RECEIVER(kind) +
            exporterBlock(
              kind,
              backends.map((b) => b.endpoint),
              {
                client: `compression       = "gzip"
                auth              = otelcol.auth.basic.creds.handler
                headers           = { "X-Tenant" = "acme" }
                authority         = "otlp.example.internal:4317"
                balancer_name     = "round_robin"
                read_buffer_size  = "2MiB"
                write_buffer_size = "1MiB"
                tls {
                  ca_file     = ${JSON.stringify(fixturePath('ca.crt'))}
                  cert_file   = ${JSON.stringify(fixturePath('client.crt'))}
                  key_file    = ${JSON.stringify(fixturePath('client.key'))}
                  server_name = "localhost"
                  min_version = "1.2"
                }
                keepalive {
                  ping_wait             = "30s"
                  ping_response_timeout = "5s"
                  ping_without_stream   = true
                }`,
                retry: FAST_RETRY,
              },
            ),
          watch,
        );
        const batches = [traces(1), traces(2), traces(3), logs(4), logs(5)];
        const expected = itemsOf(batches);
        assert.equal(new Set(expected).size, expected.length, 'the test items are distinct');

        // test
        for (const batch of batches) assert.deepEqual(await subject.send(batch), { kind: 'ok' });
        const spans = itemsOf(batches.filter((b) => b.signal === 'traces')).length;
        await watch.until(
          () =>
            subject.metric('otelcol_exporter_sent_spans_total') >= spans &&
            subject.metric('otelcol_exporter_sent_log_records_total') >= 60,
        );

        // verify
        assert.deepEqual(sorted(accepted(backends)), sorted(expected));
        for (const backend of backends) {
          assert.ok(backend.calls.length > 0, `backend ${backend.endpoint} got nothing`);
          for (const call of backend.calls) {
            assert.equal(call.authority, 'otlp.example.internal:4317');
            assert.equal(call.encoding, 'gzip');
            assert.equal(call.metadata['authorization'], BASIC);
            assert.equal(call.metadata['x-tenant'], 'acme');
            assert.equal(call.clientCertificate, 'otel-lb test client');
          }
        }
        assert.equal(subject.metric('otelcol_exporter_sent_spans_total'), spans);
        assert.equal(subject.metric('otelcol_exporter_sent_log_records_total'), 60);
        assert.equal(subject.metric('otelcol_exporter_send_failed_spans_total'), 0);
        assertNoSecrets(subject.logs.text);
      },
    );

    it(
      'retries injected UNAVAILABLE answers: nothing lost, nothing twice, sent_spans is what arrived',
      TEST,
      async () => {
        // prepare
        const watch = new Watch();
        const backends = await startBackends(backendCount(kind), 'cleartext', watch);
        for (const backend of backends) backend.failFirst(3);
        const subject = await startSubject(
          kind,
          RECEIVER(kind) +
            exporterBlock(
              kind,
              backends.map((b) => b.endpoint),
              {
                client: `compression   = "none"
                balancer_name = "pick_first"
                ${CLEARTEXT}`,
                retry: FAST_RETRY,
                extra: `debug_metrics {
                disable_high_cardinality_metrics = false
              }`,
              },
            ),
          watch,
        );
        const batches = [traces(11), traces(12), traces(13), traces(14)];
        const expected = itemsOf(batches);

        // test
        for (const batch of batches) assert.deepEqual(await subject.send(batch), { kind: 'ok' });
        await watch.until(() => subject.metric('otelcol_exporter_sent_spans_total') >= expected.length);

        // verify
        assert.deepEqual(sorted(accepted(backends)), sorted(expected));
        for (const backend of backends) {
          assert.ok(backend.calls.length > 3, `backend ${backend.endpoint} got ${backend.calls.length} calls`);
          assert.equal(backend.answered(grpc.status.UNAVAILABLE), 3);
          for (const call of backend.calls) {
            assert.equal(call.encoding, 'identity');
            assert.equal(call.authority, backend.endpoint, 'the default :authority is the endpoint');
          }
          if (kind === 'loadbalancing') {
            assert.equal(
              subject.metric('otelcol_loadbalancer_backend_outcome_total', {
                endpoint: backend.endpoint,
                success: 'false',
              }),
              3,
            );
            assert.equal(
              subject.metric('otelcol_loadbalancer_backend_outcome_total', {
                endpoint: backend.endpoint,
                success: 'true',
              }),
              backend.answered(grpc.status.OK),
            );
          }
        }
        assert.equal(subject.metric('otelcol_exporter_sent_spans_total'), accepted(backends).length);
        assert.equal(subject.metric('otelcol_exporter_send_failed_spans_total'), 0);
        assert.deepEqual(subject.logs.drops(), []);
      },
    );

    it(
      'gives up on a backend down for longer than max_elapsed_time: its items count as failed, the others arrive',
      TEST,
      async () => {
        // prepare
        const watch = new Watch();
        const backends = await startBackends(backendCount(kind), 'cleartext', watch);
        // The load balancer: one of three answers UNAVAILABLE for ever. The OTLP exporter: its
        // only backend is down (the port refuses connections).
        const failing = backends[0]!;
        if (kind === 'loadbalancing') failing.failAll();
        else failing.close();
        const healthy = backends.filter((b) => b !== failing);
        const subject = await startSubject(
          kind,
          RECEIVER(kind) +
            exporterBlock(
              kind,
              backends.map((b) => b.endpoint),
              {
                client: CLEARTEXT,
                retry: `initial_interval     = "20ms"
                max_interval         = "20ms"
                randomization_factor = 0
                max_elapsed_time     = "300ms"`,
              },
            ),
          watch,
        );
        const batches = [traces(21), traces(22), traces(23)];
        const total = itemsOf(batches).length;

        // test
        for (const batch of batches) assert.deepEqual(await subject.send(batch), { kind: 'ok' });
        await watch.until(
          () =>
            subject.logs.droppedItems() + accepted(healthy).length >= total &&
            subject.metric('otelcol_exporter_sent_spans_total') >= accepted(healthy).length,
        );

        // verify
        const failed = subject.logs.droppedItems();
        assert.ok(failed > 0);
        assert.equal(failed + accepted(healthy).length, total);
        if (kind === 'loadbalancing') {
          assert.equal(failing.seenItems().size, failed, 'the failed items are those routed to the failing backend');
          assert.deepEqual(failing.accepted, []);
          assert.ok(failing.answered(grpc.status.UNAVAILABLE) >= subject.logs.drops().length);
          for (const item of failing.seenItems()) assert.equal(accepted(healthy).includes(item), false);
        }
        assert.equal(subject.metric('otelcol_exporter_send_failed_spans_total'), failed);
        assert.equal(subject.metric('otelcol_exporter_sent_spans_total'), accepted(healthy).length);
        for (const drop of subject.logs.drops()) {
          assert.equal(drop['level'], 'warn');
          assert.equal(drop['component_id'], EXPORTER_ID[kind]);
          assert.equal(drop['endpoint'], failing.endpoint);
          assert.equal(drop['reason'], 'retries-exhausted');
          assert.ok(Number(drop['items']) > 0);
        }
      },
    );

    it('with the queue off, the answer waits for the backend and carries its refusal', TEST, async () => {
      // prepare
      const watch = new Watch();
      const backends = await startBackends(backendCount(kind), 'cleartext', watch);
      const subject = await startSubject(
        kind,
        RECEIVER(kind) +
          exporterBlock(
            kind,
            backends.map((b) => b.endpoint),
            { client: CLEARTEXT, queue: 'enabled = false', retry: FAST_RETRY },
          ),
        watch,
      );
      for (const backend of backends) backend.hold();
      let released = false;

      // test: the answer comes only after the backends have answered
      const answer = subject.send(traces(31)).then((result) => ({ result, released }));
      await watch.until(() => backends.reduce((n, b) => n + b.calls.reduce((m, c) => m + c.items.length, 0), 0) === 36);
      released = true;
      for (const backend of backends) backend.release();
      const first = await answer;

      // verify
      assert.deepEqual(first.result, { kind: 'ok' });
      assert.equal(first.released, true, 'the answer came before the backend answered');
      assert.equal(accepted(backends).length, 36);

      // test: a refusal reaches the caller, and is not retried
      const refusing = backends[0]!;
      refusing.failAll({ code: grpc.status.PERMISSION_DENIED, details: 'tenant acme may not write here' });
      const refused = await subject.send(traces(32, 40));

      // verify
      assert.equal(refused.kind, 'permanent');
      assert.equal(grpcStatusOf(refused), GrpcStatus.PERMISSION_DENIED);
      assert.equal(refusing.answered(grpc.status.PERMISSION_DENIED), 1);
      const refusedItems = refusing.calls
        .filter((c) => c.status === grpc.status.PERMISSION_DENIED)
        .reduce((n, c) => n + c.items.length, 0);
      assert.equal(subject.metric('otelcol_exporter_send_failed_spans_total'), refusedItems);
      assert.equal(accepted(backends).length, 36 + 120 - refusedItems);
      assert.equal(subject.logs.drops().length, 1);
      assert.equal(subject.logs.drops()[0]?.['reason'], 'permanent');
    });

    it('answers retryable when the queue is full, and counts it in enqueue_failed', TEST, async () => {
      // prepare
      const watch = new Watch();
      const [backend] = await startBackends(1, 'cleartext', watch);
      assert.ok(backend !== undefined);
      const subject = await startSubject(
        kind,
        RECEIVER(kind) +
          exporterBlock(kind, [backend.endpoint], {
            client: CLEARTEXT,
            queue: `queue_size    = 1
              num_consumers = 1`,
            retry: FAST_RETRY,
          }),
        watch,
      );
      backend.hold();
      const [onWire, queued, refused] = [traces(41), traces(42), traces(43)];

      // test
      assert.deepEqual(await subject.send(onWire), { kind: 'ok' });
      await watch.until(() => backend.calls.length === 1);
      assert.deepEqual(await subject.send(queued), { kind: 'ok' });
      const full = await subject.send(refused);

      // verify
      assert.equal(full.kind, 'retryable');
      assert.equal(full.retryAfterMs, 1_000);
      // RESOURCE_EXHAUSTED with RetryInfo, retryable in OTLP, from both exporters (issue 6
      // regression: the OTLP exporter's full queue answered UNAVAILABLE, unlike the load
      // balancer's and unlike what the README promises).
      assert.equal(grpcStatusOf(full), GrpcStatus.RESOURCE_EXHAUSTED);
      assert.equal(subject.metric('otelcol_exporter_enqueue_failed_spans_total'), refused.items);
      backend.release();
      await watch.until(() => subject.metric('otelcol_exporter_sent_spans_total') >= onWire.items + queued.items);
      assert.deepEqual(sorted(backend.accepted), sorted(itemsOf([onWire, queued])));
      assert.equal(subject.metric('otelcol_exporter_sent_spans_total'), onWire.items + queued.items);
    });

    it(
      'with wait_for_ready, a call made while the backend is down waits for it; without, it fails at once',
      TEST,
      async () => {
        for (const waitForReady of [true, false]) {
          // prepare: a port that takes TCP connections and resets them before the TLS handshake
          // (so no connection is ever ready), until the backend replaces it
          const watch = new Watch();
          const refuser = net.createServer((socket) => socket.destroy());
          refuser.listen(0, '127.0.0.1');
          await once(refuser, 'listening');
          const port = (refuser.address() as net.AddressInfo).port;
          const tried = once(refuser, 'connection');
          const subject = await startSubject(
            kind,
            RECEIVER(kind) +
              exporterBlock(kind, [`127.0.0.1:${port}`], {
                client: `wait_for_ready = ${waitForReady}
                  tls {
                    ca_file = ${JSON.stringify(fixturePath('ca.crt'))}
                  }`,
                queue: 'enabled = false',
                retry: 'enabled = false',
              }),
            watch,
          );

          // test
          const answer = subject.send(traces(51));
          await tried;
          await new Promise<void>((resolve) => {
            refuser.close(() => {
              resolve();
            });
          });
          if (!waitForReady) {
            const result = await answer;
            assert.equal(result.kind, 'retryable');
            assert.equal(grpcStatusOf(result), GrpcStatus.UNAVAILABLE);
            continue;
          }
          const backend = await GrpcJsBackend.start({ port, security: 'tls', watch });
          cleanups.push(() => {
            backend.close();
          });

          // verify
          assert.deepEqual(await answer, { kind: 'ok' });
          assert.deepEqual(sorted(backend.accepted), sorted(itemsOf([traces(51)])));
        }
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------

for (const kind of KINDS) {
  describe(`debug_metrics of otelcol.exporter.${kind}`, () => {
    for (const level of ['none', 'basic', 'normal'] as const) {
      it(`records what level "${level}" asks for`, TEST, async () => {
        const watch = new Watch();
        const backends = await startBackends(backendCount(kind), 'cleartext', watch);
        const subject = await startSubject(
          kind,
          RECEIVER(kind) +
            exporterBlock(
              kind,
              backends.map((b) => b.endpoint),
              { client: CLEARTEXT, extra: `debug_metrics {\nlevel = "${level}"\n}` },
            ),
          watch,
        );

        await subject.send(traces(61));
        await watch.until(() => accepted(backends).length >= 36);
        // The sent counter moves once the exporter has read the backend's answer.
        await watch.until(() => level === 'none' || subject.metric('otelcol_exporter_sent_spans_total') === 36);

        const exposition = subject.registry.expose();
        const perBackend = level === 'normal' && kind === 'loadbalancing';
        assert.equal(exposition.includes('otelcol_exporter_sent_spans_total{'), level !== 'none');
        assert.equal(exposition.includes('otelcol_exporter_queue_capacity{'), level !== 'none');
        assert.equal(exposition.includes('otelcol_loadbalancer_backend_latency_milliseconds_count{'), perBackend);
        assert.equal(exposition.includes('otelcol_loadbalancer_backend_outcome_total{'), perBackend);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------

describe('client, queue and retry defaults and mapping', () => {
  it("applies Alloy's defaults when the blocks are omitted or empty", () => {
    const lb = expectArguments(
      loadBalancingDefinition,
      `resolver {
        static {
          hostnames = ["a:4317"]
        }
      }
      protocol {
        otlp {
          client {}
        }
      }`,
    ).args;
    const otlp = expectArguments(exporterOtlpDefinition, 'client {\nendpoint = "a:4317"\n}').args;

    for (const [client, queue, retry, debugMetrics] of [
      [lb.protocol.otlp.client, lb.protocol.otlp.queue, lb.protocol.otlp.retry, lb.debugMetrics],
      [otlp.client, otlp.sendingQueue, otlp.retryOnFailure, otlp.debugMetrics],
    ] as const) {
      assert.equal(client.compression, 'gzip');
      assert.equal(client.readBufferSizeBytes, 0);
      assert.equal(client.writeBufferSizeBytes, 512 * 1024);
      assert.equal(client.waitForReady, false);
      assert.deepEqual([...client.headers], []);
      assert.equal(client.balancerName, 'round_robin');
      assert.equal(client.authority, '');
      assert.equal(client.auth, undefined);
      assert.equal(client.keepalive, undefined);
      assert.equal(client.tls.insecure, false);
      assert.equal(client.tls.insecureSkipVerify, false);
      assert.deepEqual(
        { enabled: queue.enabled, numConsumers: queue.numConsumers, queueSize: queue.queueSize },
        { enabled: true, numConsumers: 10, queueSize: 1000 },
      );
      assert.deepEqual(
        { ...retry },
        {
          enabled: true,
          initialIntervalMs: 5_000,
          randomizationFactor: 0.5,
          multiplier: 1.5,
          maxIntervalMs: 30_000,
          maxElapsedTimeMs: 300_000,
        },
      );
      assert.deepEqual({ ...debugMetrics }, { disableHighCardinalityMetrics: true, level: 'detailed' });
    }
    assert.equal(lb.protocol.otlp.timeoutMs, 5_000);
    assert.equal(otlp.timeoutMs, 5_000);
  });

  it("maps wait_for_ready, balancer_name and keepalive (ping_wait raised to gRPC's 10 s minimum)", () => {
    const client = `wait_for_ready = true
      balancer_name  = "pick_first"
      keepalive {
        ping_wait             = "1s"
        ping_response_timeout = "5s"
        ping_without_stream   = true
      }`;
    const lb = expectArguments(
      loadBalancingDefinition,
      `resolver {
        static {
          hostnames = ["a:4317"]
        }
      }
      protocol {
        otlp {
          client {
            ${client}
          }
        }
      }`,
    ).args.protocol.otlp.client;
    const otlp = expectArguments(exporterOtlpDefinition, `client {\nendpoint = "a:4317"\n${client}\n}`).args.client;

    for (const args of [lb, otlp]) {
      const raised: string[] = [];
      assert.equal(args.waitForReady, true);
      assert.equal(balancerOf(args.balancerName), 'pick_first');
      assert.deepEqual(
        keepaliveOptions(args.keepalive, (message) => raised.push(message)),
        { pingWaitMs: 10_000, pingResponseTimeoutMs: 5_000, pingWithoutStream: true },
      );
      assert.equal(raised.length, 1);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Validation, as `otel-lb validate` and `otel-lb run` load a file

interface InvalidCase {
  readonly name: string;
  readonly parts: ExporterParts;
  /** The text of the line the diagnostic must point at. */
  readonly at: string;
  readonly code: string;
  readonly message: RegExp;
}

const INVALID: readonly InvalidCase[] = [
  {
    name: 'multiplier = 1',
    parts: { retry: 'multiplier = 1' },
    at: 'multiplier = 1',
    code: 'decode/value',
    message: /multiplier must be greater than 1\.0/,
  },
  {
    name: 'queue_size = 0 with the queue on',
    parts: { queue: 'queue_size = 0' },
    at: 'queue_size = 0',
    code: 'decode/validation',
    message: /queue_size must be greater than zero/,
  },
  {
    name: 'ca_pem with ca_file',
    parts: {
      client: `tls {
        ca_pem  = "-----BEGIN CERTIFICATE-----"
        ca_file = "/etc/ssl/ca.crt"
      }`,
    },
    at: 'ca_pem',
    code: 'decode/validation',
    message: /at most one of ca_pem and ca_file/,
  },
  {
    name: 'an unknown cipher suite',
    parts: { client: 'tls {\ncipher_suites = ["TLS_ROT13_WITH_NOTHING"]\n}' },
    at: 'cipher_suites',
    code: 'decode/validation',
    message: /invalid TLS cipher suite: "TLS_ROT13_WITH_NOTHING"/,
  },
  {
    name: 'compression = "lz4"',
    parts: { client: 'compression = "lz4"' },
    at: 'compression = "lz4"',
    code: 'decode/value',
    message: /unrecognized compression type "lz4"/,
  },
  {
    name: 'balancer_name = "random"',
    parts: { client: 'balancer_name = "random"' },
    at: 'balancer_name = "random"',
    code: 'decode/value',
    message: /balancer_name "random"/,
  },
  {
    name: 'otelcol.auth.basic over tls { insecure = true }',
    parts: { client: `auth = otelcol.auth.basic.creds.handler\n${CLEARTEXT}` },
    at: 'auth = otelcol.auth.basic.creds.handler',
    code: 'decode/validation',
    message: /otelcol\.auth\.basic\.creds .*TLS/,
  },
];

/** Checks `text` as `otel-lb validate` does. */
async function check(
  text: string,
): Promise<{ readonly ok: boolean; readonly diagnostics: readonly Diagnostic[]; readonly source: SourceFile }> {
  const source = SourceFile.fromText('config.alloy', text);
  const host = new Host({ registry: builtinRegistry(), scope: hostScope() });
  const result = await host.check(source);
  return { ok: result.ok, diagnostics: result.diagnostics, source };
}

/** The 1-based line of the first line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  assert.ok(index >= 0, `"${needle}" is not in the configuration`);
  return index + 1;
}

for (const kind of KINDS) {
  describe(`otelcol.exporter.${kind} validation`, () => {
    for (const c of INVALID) {
      it(`refuses ${c.name}, with a position`, async () => {
        const text = BASIC_AUTH + exporterBlock(kind, ['127.0.0.1:4317'], c.parts);

        const { ok, diagnostics, source } = await check(text);

        assert.equal(ok, false);
        const errors = diagnostics.filter((d) => d.severity === 'error');
        assert.equal(errors.length, 1, formatDiagnostics(diagnostics, source));
        const [error] = errors;
        assert.ok(error?.start !== undefined);
        assert.equal(error.code, c.code);
        assert.match(error.message, c.message);
        assert.equal(source.position(error.start).line, lineOf(text, c.at));
        assertNoSecrets(error.message);
      });
    }

    it('accepts queue_size = 0 with the queue off', async () => {
      const { ok, diagnostics } = await check(
        exporterBlock(kind, ['127.0.0.1:4317'], { queue: 'enabled = false\nqueue_size = 0' }),
      );

      assert.equal(ok, true);
      assert.deepEqual(diagnostics, []);
    });
  });
}

describe('otel-lb validate', () => {
  it('prints each bad client, queue and retry option at its position, and no secret', TEST, async () => {
    const text =
      BASIC_AUTH +
      exporterBlock('loadbalancing', ['127.0.0.1:4317'], {
        client: `compression = "lz4"
          tls {
            cert_file = "/etc/ssl/client.crt"
            key_file  = "/etc/ssl/client.key"
            key_pem   = sys.env("OTEL_LB_TEST_CLIENT_KEY")
          }`,
        retry: 'multiplier = 1',
      }) +
      exporterBlock('otlp', ['127.0.0.1:4317'], {
        client: `auth = otelcol.auth.basic.creds.handler\n${CLEARTEXT}`,
        queue: 'queue_size = 0',
      }).replace('"out"', '"other"');
    const file = writeConfig(text);
    cleanups.push(() => {
      file.cleanup();
    });

    const proc = new OtelLbProcess(['validate', file.file], { ...process.env, ...ENV });
    const { code } = await proc.exited;

    assert.equal(code, 1);
    for (const needle of ['compression = "lz4"', 'key_pem', 'multiplier = 1', 'auth = otelcol', 'queue_size = 0']) {
      assert.match(proc.stderr, new RegExp(`config\\.alloy:${lineOf(text, needle)}:\\d+`), needle);
    }
    assertNoSecrets(proc.stderr);
  });
});

// ---------------------------------------------------------------------------------------------

describe('secrets in the client options', () => {
  for (const kind of KINDS) {
    it(
      `otelcol.exporter.${kind}: the password and the key PEM never reach the logs, even when sends fail`,
      TEST,
      async () => {
        const watch = new Watch();
        const backends = await startBackends(backendCount(kind), 'mtls', watch);
        for (const backend of backends)
          backend.failAll({ code: grpc.status.UNAUTHENTICATED, details: 'bad credentials' });
        const subject = await startSubject(
          kind,
          BASIC_AUTH +
            RECEIVER(kind) +
            exporterBlock(
              kind,
              backends.map((b) => b.endpoint),
              {
                client: `auth = otelcol.auth.basic.creds.handler
                tls {
                  ca_pem    = ${JSON.stringify(fixturePem('ca.crt'))}
                  cert_pem  = ${JSON.stringify(fixturePem('client.crt'))}
                  key_pem   = sys.env("OTEL_LB_TEST_CLIENT_KEY")
                }`,
                queue: 'enabled = false',
                retry: 'enabled = false',
              },
            ),
          watch,
        );

        const answers = [await subject.send(traces(71)), await subject.send(traces(72))];
        await watch.until(() => subject.logs.droppedItems() >= 72);

        for (const backend of backends) {
          for (const call of backend.calls) {
            assert.equal(call.metadata['authorization'], BASIC);
            assert.equal(call.clientCertificate, 'otel-lb test client');
          }
        }
        for (const answer of answers) {
          assert.ok(answer.kind !== 'ok');
          assert.equal(grpcStatusOf(answer), GrpcStatus.UNAUTHENTICATED);
          // The caller's error, with its causes, as `util.inspect` prints it.
          assertNoSecrets(inspect(answer.error, { depth: 10 }));
        }
        assert.ok(subject.logs.drops().every((d) => typeof d['err'] === 'string' && d['err'] !== ''));
        assertNoSecrets(subject.logs.text);
      },
    );
  }
});
