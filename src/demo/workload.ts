/**
 * A generator of realistic OTLP traffic for the demo and the end-to-end benchmark: a small
 * shop of services whose requests fan out into call trees of 5–50 spans with attributes,
 * events and errors, plus a few log records, most of them inside a span.
 *
 * Like real SDKs, every service exports its own spans: the spans of one trace reach
 * otel-lb in several requests from several services, which is exactly why a trace-aware
 * load balancer is needed. Deterministic for a given seed.
 */

import type { Batch } from '../otlp/batch.ts';
import { encodeLogsRequest, encodeTracesRequest } from '../otlp/proto/decoder.ts';
import type { KeyValue, LogRecord, Span } from '../otlp/proto/messages.ts';
import { Signal } from '../otlp/signal.ts';

/** The services of the demo shop and the operations each one serves. */
const SERVICES: readonly { name: string; operations: readonly string[]; calls: readonly string[] }[] = [
  {
    name: 'frontend',
    operations: ['GET /', 'GET /product/{id}', 'POST /cart', 'POST /checkout'],
    calls: ['cart', 'catalog', 'checkout', 'ads', 'recommendation', 'currency'],
  },
  {
    name: 'checkout',
    operations: ['PlaceOrder'],
    calls: ['cart', 'payment', 'shipping', 'email', 'currency', 'catalog'],
  },
  { name: 'cart', operations: ['GetCart', 'AddItem', 'EmptyCart'], calls: ['redis'] },
  { name: 'catalog', operations: ['ListProducts', 'GetProduct', 'SearchProducts'], calls: ['postgres'] },
  { name: 'payment', operations: ['Charge'], calls: [] },
  { name: 'shipping', operations: ['GetQuote', 'ShipOrder'], calls: ['quote'] },
  { name: 'quote', operations: ['calculate'], calls: [] },
  { name: 'email', operations: ['SendOrderConfirmation'], calls: [] },
  { name: 'currency', operations: ['Convert', 'GetSupportedCurrencies'], calls: [] },
  { name: 'ads', operations: ['GetAds'], calls: [] },
  { name: 'recommendation', operations: ['ListRecommendations'], calls: ['catalog'] },
  { name: 'redis', operations: ['HGET', 'HSET'], calls: [] },
  { name: 'postgres', operations: ['SELECT products', 'SELECT inventory'], calls: [] },
];

/** Service names, in a fixed order (for display). */
export const DEMO_SERVICES: readonly string[] = SERVICES.map((s) => s.name);

/** One round of traffic: a request per service that had spans, and a few log requests. */
export interface WorkloadRound {
  readonly traces: Batch[];
  readonly logs: Batch[];
  /** Spans and log records in this round. */
  readonly spans: number;
  readonly logRecords: number;
  /** Trace IDs (hex) started in this round. */
  readonly traceIds: string[];
}

/** A small deterministic PRNG (mulberry32). */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function str(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}

function int(key: string, value: number): KeyValue {
  return { key, value: { intValue: String(value) } };
}

/**
 * Generates rounds of traffic. `tracesPerRound` traces start in each round; all their
 * spans are in that round's requests (split by service).
 */
export class Workload {
  private readonly random: () => number;
  private clockNs: bigint;

  constructor(seed = 1) {
    this.random = createRandom(seed);
    this.clockNs = 1_700_000_000_000_000_000n;
  }

  private hex(bytes: number): string {
    let out = '';
    for (let i = 0; i < bytes; i++)
      out += Math.floor(this.random() * 256)
        .toString(16)
        .padStart(2, '0');
    return out;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  /** Builds one round of `tracesPerRound` traces. */
  round(tracesPerRound: number): WorkloadRound {
    const spansByService = new Map<string, Span[]>();
    const logsByService = new Map<string, LogRecord[]>();
    const traceIds: string[] = [];
    let spanCount = 0;
    let logCount = 0;
    for (let t = 0; t < tracesPerRound; t++) {
      const traceId = this.hex(16);
      traceIds.push(traceId);
      const target = 5 + Math.floor(this.random() * 46);
      const start = (this.clockNs += 1_000_000n);
      // Grow a call tree breadth-first until it has `target` spans.
      const queue: { service: string; parent: string; depth: number }[] = [
        { service: 'frontend', parent: '', depth: 0 },
      ];
      let made = 0;
      while (made < target) {
        const node = queue.shift() ?? { service: 'frontend', parent: '', depth: 0 };
        const def = SERVICES.find((s) => s.name === node.service) ?? SERVICES[0];
        if (def === undefined) break;
        const spanId = this.hex(8);
        const isError = this.random() < 0.03;
        const durationNs = BigInt(Math.floor(200_000 + this.random() * 50_000_000));
        const begin = start + BigInt(made) * 100_000n;
        const span: Span = {
          traceId,
          spanId,
          ...(node.parent === '' ? {} : { parentSpanId: node.parent }),
          name: this.pick(def.operations),
          kind: node.parent === '' ? 2 : this.random() < 0.5 ? 3 : 2,
          startTimeUnixNano: String(begin),
          endTimeUnixNano: String(begin + durationNs),
          attributes: [
            str('rpc.system', def.name === 'frontend' ? 'http' : 'grpc'),
            str('net.peer.name', `${def.name}.shop.svc.cluster.local`),
            int('http.status_code', isError ? 500 : 200),
            str('app.user_id', `user-${Math.floor(this.random() * 5000)}`),
          ],
          ...(isError
            ? {
                events: [
                  {
                    timeUnixNano: String(begin + durationNs / 2n),
                    name: 'exception',
                    attributes: [
                      str('exception.type', 'TimeoutError'),
                      str(
                        'exception.message',
                        `deadline exceeded calling ${this.pick(def.calls.length > 0 ? def.calls : ['db'])}`,
                      ),
                    ],
                  },
                ],
                status: { code: 2, message: 'internal error' },
              }
            : { status: { code: 1 } }),
        };
        const list = spansByService.get(def.name) ?? [];
        list.push(span);
        spansByService.set(def.name, list);
        made++;
        if (this.random() < 0.15) {
          const logs = logsByService.get(def.name) ?? [];
          logs.push({
            timeUnixNano: String(begin),
            severityNumber: isError ? 17 : 9,
            severityText: isError ? 'ERROR' : 'INFO',
            body: { stringValue: `${span.name ?? ''} handled in ${Number(durationNs / 1_000n)} µs` },
            attributes: [str('code.function', span.name ?? '')],
            traceId,
            spanId,
            flags: 1,
          });
          logsByService.set(def.name, logs);
          logCount++;
        }
        for (const callee of def.calls) {
          if (this.random() < 0.6 && node.depth < 6)
            queue.push({ service: callee, parent: spanId, depth: node.depth + 1 });
        }
      }
      spanCount += made;
    }
    // A few logs without trace context, as background noise.
    const background = logsByService.get('frontend') ?? [];
    for (let i = 0; i < Math.ceil(tracesPerRound / 10); i++) {
      background.push({
        timeUnixNano: String(this.clockNs),
        severityNumber: 9,
        severityText: 'INFO',
        body: { stringValue: 'health check ok' },
      });
      logCount++;
    }
    logsByService.set('frontend', background);

    const resource = (service: string): { attributes: KeyValue[] } => ({
      attributes: [
        str('service.name', service),
        str('service.namespace', 'shop'),
        str('host.name', `${service}-7d9f8-${service.length}x`),
        str('telemetry.sdk.language', 'nodejs'),
      ],
    });
    const scope = { name: '@opentelemetry/instrumentation-http', version: '0.57.0' };
    const traces: Batch[] = [];
    for (const [service, spans] of spansByService) {
      traces.push({
        signal: Signal.TRACES,
        bytes: encodeTracesRequest({
          resourceSpans: [{ resource: resource(service), scopeSpans: [{ scope, spans }] }],
        }),
        items: spans.length,
      });
    }
    const logs: Batch[] = [];
    for (const [service, records] of logsByService) {
      logs.push({
        signal: Signal.LOGS,
        bytes: encodeLogsRequest({
          resourceLogs: [{ resource: resource(service), scopeLogs: [{ scope, logRecords: records }] }],
        }),
        items: records.length,
      });
    }
    return { traces, logs, spans: spanCount, logRecords: logCount, traceIds };
  }
}
