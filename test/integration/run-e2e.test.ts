/**
 * `otel-lb run` as a user runs it: the OpenTelemetry JS SDK's OTLP/gRPC exporters → otel-lb
 * (a receiver and a static-resolver load balancer, configured in Alloy) → 3 sink backends.
 * Every span and log record arrives once, every trace whole on one backend; with
 * `hash_ring = "upstream-v2"` each trace lands where the Collector's ring puts it.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { context, trace } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';

import { buildRing } from '../../src/components/exporter-loadbalancing/hash-ring/rings.ts';
import { createKeyRouter } from '../../src/components/exporter-loadbalancing/routing.ts';
import { SinkPool } from '../helpers/sink-backend.ts';
import { startRun, writeConfig, type OtelLbProcess } from '../helpers/otel-lb-process.ts';

const SERVICES = ['frontend', 'checkout', 'payment', 'inventory'];
const TRACES = 120;

interface Workload {
  readonly spans: Map<string, ReadableSpan[]>;
  readonly logs: Map<string, ReturnType<InMemoryLogRecordExporter['getFinishedLogRecords']>>;
  readonly traceIds: Set<string>;
  readonly spanCount: number;
  readonly logCount: number;
}

/** Traces that cross every service, recorded per service as each service's SDK would export them. */
async function record(): Promise<Workload> {
  const spanRecorders = new Map(SERVICES.map((s) => [s, new InMemorySpanExporter()]));
  const logRecorders = new Map(SERVICES.map((s) => [s, new InMemoryLogRecordExporter()]));
  const providers = SERVICES.map(
    (s) =>
      new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': s }),
        spanProcessors: [new SimpleSpanProcessor({ exporter: spanRecorders.get(s) ?? new InMemorySpanExporter() })],
      }),
  );
  const loggers = SERVICES.map(
    (s) =>
      new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': s }),
        processors: [
          new SimpleLogRecordProcessor({ exporter: logRecorders.get(s) ?? new InMemoryLogRecordExporter() }),
        ],
      }),
  );
  const traceIds = new Set<string>();
  for (let t = 0; t < TRACES; t++) {
    const root = providers[0]?.getTracer('shop').startSpan(`GET /page/${t}`);
    if (root === undefined) throw new Error('no provider');
    traceIds.add(root.spanContext().traceId);
    const rootContext = trace.setSpan(context.active(), root);
    for (let s = 1; s < SERVICES.length; s++) {
      const child = providers[s]?.getTracer('shop').startSpan(`call ${SERVICES[s] ?? ''}`, {}, rootContext);
      const childContext = trace.setSpan(rootContext, child ?? root);
      loggers[s]?.getLogger('shop').emit({ body: `log ${t}-${s}`, context: childContext });
      child?.end();
    }
    loggers[0]?.getLogger('shop').emit({ body: `log ${t}-0`, context: rootContext });
    root.end();
  }
  await Promise.all([...providers, ...loggers].map((p) => p.forceFlush()));
  const spans = new Map([...spanRecorders].map(([s, r]) => [s, r.getFinishedSpans()]));
  const logs = new Map([...logRecorders].map(([s, r]) => [s, r.getFinishedLogRecords()]));
  let spanCount = 0;
  for (const list of spans.values()) spanCount += list.length;
  let logCount = 0;
  for (const list of logs.values()) logCount += list.length;
  return { spans, logs, traceIds, spanCount, logCount };
}

function exportResult(code: { code: number; error?: Error }): void {
  assert.equal(code.code, 0, code.error?.message);
}

/** Sends the workload through otel-lb in chunks of 25 items per request, each service with its own exporters. */
async function send(port: number, workload: Workload): Promise<void> {
  const url = `http://127.0.0.1:${port}`;
  for (const service of SERVICES) {
    const traceExporter = new OTLPTraceExporter({ url });
    const logExporter = new OTLPLogExporter({ url });
    const spans = workload.spans.get(service) ?? [];
    for (let i = 0; i < spans.length; i += 25) {
      exportResult(
        await new Promise((resolve) => {
          traceExporter.export(spans.slice(i, i + 25), resolve);
        }),
      );
    }
    const logs = workload.logs.get(service) ?? [];
    for (let i = 0; i < logs.length; i += 25) {
      exportResult(
        await new Promise((resolve) => {
          logExporter.export(logs.slice(i, i + 25), resolve);
        }),
      );
    }
    await traceExporter.shutdown();
    await logExporter.shutdown();
  }
}

function config(endpoints: readonly string[], ring?: string): string {
  return `otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "127.0.0.1:0"
  }
  output {
    traces = [otelcol.exporter.loadbalancing.default.input]
    logs   = [otelcol.exporter.loadbalancing.default.input]
  }
}

otelcol.exporter.loadbalancing "default" {
${ring === undefined ? '' : `  hash_ring = "${ring}"\n`}  resolver {
    static {
      hostnames = [${endpoints.map((e) => `"${e}"`).join(', ')}]
    }
  }
  protocol {
    otlp {
      client {
        tls {
          insecure = true
        }
      }
    }
  }
}
`;
}

async function receiverPort(proc: OtelLbProcess): Promise<number> {
  const started = await proc.waitForMessage('Starting GRPC server', 'otelcol.receiver.otlp.default');
  return Number(String(started['endpoint']).split(':').pop());
}

describe('otel-lb run, end to end with the OpenTelemetry JS SDK', () => {
  let workload: Workload;
  before(async () => {
    workload = await record();
  });

  for (const ring of [undefined, 'upstream-v2'] as const) {
    describe(ring === undefined ? 'default ring' : `hash_ring = "${ring}"`, () => {
      let sinks: SinkPool;
      let proc: OtelLbProcess;
      let files: ReturnType<typeof writeConfig>;

      before(async () => {
        sinks = await SinkPool.start(3);
        files = writeConfig(config(sinks.endpoints, ring));
        proc = (await startRun(files.file)).process;
        await send(await receiverPort(proc), workload);
        await sinks.until(() => sinks.spans.length >= workload.spanCount && sinks.logs.length >= workload.logCount);
      });
      after(async () => {
        await proc.stop();
        await sinks.close();
        files.cleanup();
      });

      it('delivers every span and log record exactly once', () => {
        const spanIds = sinks.spans.map((s) => s.id);
        assert.equal(spanIds.length, workload.spanCount);
        assert.equal(new Set(spanIds).size, workload.spanCount);
        const bodies = sinks.logs.map((l) => l.id);
        assert.equal(bodies.length, workload.logCount);
        assert.equal(new Set(bodies).size, workload.logCount);
      });

      it('delivers every trace whole to one backend, spread over all of them', () => {
        const backendOf = new Map<string, Set<string>>();
        for (const item of [...sinks.spans, ...(ring === undefined ? sinks.logs : [])]) {
          const set = backendOf.get(item.traceId) ?? new Set<string>();
          set.add(item.backend);
          backendOf.set(item.traceId, set);
        }
        assert.equal(backendOf.size, workload.traceIds.size);
        const split = [...backendOf].filter(([, set]) => set.size > 1);
        assert.deepEqual(split, []);
        const used = new Set([...backendOf.values()].flatMap((s) => [...s]));
        assert.equal(used.size, 3);
      });

      if (ring === 'upstream-v2') {
        it('puts each trace where the Collector contrib ring (v0.131 to v0.156) puts it', () => {
          const upstream = buildRing('upstream-v2', sinks.endpoints);
          const router = createKeyRouter({ ring: upstream, signal: 'traces', routingKey: 'traceID' });
          for (const span of sinks.spans) {
            const key = Buffer.from(span.traceId, 'hex');
            assert.equal(span.backend, upstream.endpoints[router.route(key, 0, key.length)], span.traceId);
          }
        });
      }
    });
  }
});
