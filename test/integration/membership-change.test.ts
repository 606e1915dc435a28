/**
 * Backend changes without loss, under steady load, for every resolver: backends are added,
 * removed, and one is killed and then removed while a load generator keeps sending traces
 * whose spans arrive over many requests (each service exports its own spans), as they do in
 * production. A ledger records every span sent, acknowledged and received (by which
 * backend); after each change it shows:
 *
 * - lost: acknowledged spans that never arrived (must be 0);
 * - duplicates: spans that arrived twice. None when a backend is added or removed; when one
 *   is killed, a span it took just before it died may have lost its answer with the
 *   connection, and is then sent again elsewhere (at-least-once, as any OTLP exporter);
 * - split traces against their bound: a trace can only be split when some of its spans
 *   were placed on the old ring and some on the new one, i.e. it had a span sent before the
 *   swap and a span that arrived after it. Every split trace must be one of those;
 * - moved routes: the share of the scenario's trace IDs whose owner differs between the old
 *   and the new ring (the default ring, built here with `buildRing`), against the least a
 *   ring can move (k/N when k of N backends leave, k/(N + k) when k join);
 * - placement: every span arrived at its trace's owner on the old or the new ring, and no
 *   span sent after the swap reached a backend that left.
 *
 * The static, dns and kubernetes resolvers run in a Host from configuration text, fed over
 * OTLP/gRPC through `otelcol.receiver.otlp`: the static set changes by reloading an edited
 * configuration (which keeps the load balancer), dns by rewriting dnsmasq's records, and
 * kubernetes through a fake API server (endpoints added, turned not ready, deleted). The
 * configuration cannot point the aws_cloud_map resolver at a fake Cloud Map (the SDK puts
 * `data-` in front of the endpoint's host name for `DiscoverInstances`, and nothing in the
 * configuration turns that off), so that one runs the real resolver, through the AWS SDK
 * against the fake, feeding the load balancer built from the same decoded arguments as the
 * component builds it (instances turn unhealthy or are deregistered between polls).
 *
 * Everything waits on events: acknowledgements, spans arriving at the sinks, the load
 * balancer's swap (its `backends changed` log line, written in the same turn as the swap),
 * connections reset at a killed sink. Nothing sleeps and nothing asserts on timing.
 */

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';

import { builtinRegistry } from '../../src/cli/config-file.ts';
import { mergeSettings, queueSettings, retryPolicy } from '../../src/components/config/queue-retry.ts';
import { ringOf, routingKeyOf } from '../../src/components/exporter-loadbalancing/arguments.ts';
import { loadBalancingDefinition } from '../../src/components/exporter-loadbalancing/definition.ts';
import { compressionOf } from '../../src/components/config/transport-options.ts';
import { DEFAULT_RING } from '../../src/components/exporter-loadbalancing/hash-ring/hash-ring.ts';
import { buildRing } from '../../src/components/exporter-loadbalancing/hash-ring/rings.ts';
import { LoadBalancer, type RingChange } from '../../src/components/exporter-loadbalancing/load-balancer.ts';
import { AwsCloudMapResolver } from '../../src/components/exporter-loadbalancing/resolvers/aws-cloud-map.ts';
import { encodeTracesRequest } from '../../src/otlp/proto/decoder.ts';
import { SpanKind, type ResourceSpans, type Span } from '../../src/otlp/proto/messages.ts';
import { Signal } from '../../src/otlp/signal.ts';
import { Host } from '../../src/runtime/host.ts';
import { SourceFile } from '../../src/syntax/source.ts';
import { createLogger, type LogStream } from '../../src/telemetry/logger.ts';
import type { ExportResult } from '../../src/transport/export-result.ts';
import { GrpcClient } from '../../src/transport/grpc-client.ts';
import { expectArguments } from '../helpers/component-harness.ts';
import { Dnsmasq, findDnsmasq } from '../helpers/dnsmasq.ts';
import { FakeCloudMap, type FakeInstance } from '../helpers/fake-cloud-map.ts';
import { FakeK8sApi } from '../helpers/fake-k8s-api.ts';
import { createRandom, type Random } from '../helpers/otlp-builders.ts';
import { SinkPool } from '../helpers/sink-backend.ts';

const DNSMASQ = findDnsmasq();
const SKIP_DNS =
  DNSMASQ === undefined
    ? 'dnsmasq is not installed (Debian package dnsmasq-base; .ci/run installs it): skipping the dns resolver'
    : false;
if (SKIP_DNS !== false) console.log(`# ${SKIP_DNS}`);

// The load: 4 exports in flight at once, each carrying one span of each of 16 traces picked
// among 48 open ones; a trace closes after its 6th span, and a new one opens in its place.
const SERVICES = ['frontend', 'checkout', 'payment', 'inventory'];
const CONCURRENCY = 4;
const OPEN_TRACES = 48;
const TRACES_PER_REQUEST = 16;
const SPANS_PER_TRACE = 6;
/**
 * Spans sent and not arrived yet, at most, before the next request goes out: the load is
 * paced by what the backends take (a client that outruns them only fills queues).
 */
const WINDOW_SPANS = 1_500;
/** Requests acknowledged before a change starts, and after it is in use, in each scenario. */
const REQUESTS_BEFORE = 120;
const REQUESTS_AFTER = 120;
/** Requests acknowledged after a kill before the killed backend is removed. */
const REQUESTS_WHILE_DEAD = 40;
/** Connections reset at a killed sink before it is removed: its parts failed and were retried. */
const RESETS_WHILE_DEAD = 3;
/** How long a scenario may wait for an event before it fails with the ledger's state (a hang guard). */
const HANG_MS = 30_000;

const DNS_NAME = 'backends.otel-lb.test';
const K8S_NAMESPACE = 'observability';
const K8S_SERVICE = 'sampling-backends';
const CLOUD_MAP_NAMESPACE = 'apps.local';
const CLOUD_MAP_SERVICE = 'tail-sampling';
/** Five loopback addresses: DNS, Kubernetes and Cloud Map answer with these and one port. */
const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];

// ---------------------------------------------------------------------------------------
// Ledger and load generator

/** One span the generator sent. */
interface SentSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Sending order, from 0 (the first attempt; a request sent again keeps it). */
  readonly sent: number;
  acked: boolean;
}

/** Every span sent in one scenario, by span ID and by trace. */
class Ledger {
  readonly spans = new Map<string, SentSpan>();
  readonly traces = new Map<string, SentSpan[]>();
  sentCount = 0;
  ackedCount = 0;

  add(traceId: string, spanId: string): SentSpan {
    assert.ok(!this.spans.has(spanId), `span ID ${spanId} generated twice`);
    const span: SentSpan = { traceId, spanId, sent: this.sentCount++, acked: false };
    this.spans.set(spanId, span);
    const trace = this.traces.get(traceId) ?? [];
    trace.push(span);
    this.traces.set(traceId, trace);
    return span;
  }

  ack(spans: readonly SentSpan[]): void {
    for (const span of spans) {
      if (span.acked) continue;
      span.acked = true;
      this.ackedCount++;
    }
  }
}

/** Sends one OTLP traces request to otel-lb and answers with otel-lb's answer. */
type SendTraces = (bytes: Uint8Array, items: number) => Promise<ExportResult>;

interface OpenTrace {
  readonly traceId: string;
  readonly firstService: number;
  next: number;
}

/**
 * Steady load: {@link CONCURRENCY} loops, each sending a request in the turn after its
 * previous one was answered, as long as fewer than {@link WINDOW_SPANS} spans are on their
 * way. A request refused as retryable (a full queue) is sent again, whole, once more spans
 * have reached the sinks.
 */
class LoadGenerator {
  readonly ledger = new Ledger();
  ackedRequests = 0;
  retriedRequests = 0;
  private readonly send: SendTraces;
  private readonly sinks: SinkPool;
  private readonly random: Random;
  private readonly open: OpenTrace[] = [];
  /** Spans of this ledger seen at a sink, and how far `sinks.spans` has been read. */
  private readonly arrived = new Set<string>();
  private scanned = 0;
  private closing = false;
  private failure: Error | undefined;
  private loops: Promise<void>[] = [];
  private waiters: {
    readonly done: () => boolean;
    readonly resolve: () => void;
    readonly reject: (e: Error) => void;
  }[] = [];

  constructor(send: SendTraces, sinks: SinkPool, seed: number) {
    this.send = send;
    this.sinks = sinks;
    this.random = createRandom(seed);
  }

  start(): void {
    for (let i = 0; i < CONCURRENCY; i++) {
      this.loops.push(
        this.loop().catch((error: unknown) => {
          this.failure = error instanceof Error ? error : new Error(String(error));
          this.wake();
        }),
      );
    }
  }

  /** Resolves once `n` requests have been acknowledged in all. */
  untilAcked(n: number): Promise<void> {
    return this.until(() => this.ackedRequests >= n);
  }

  /** Opens no new trace, sends the rest of the open ones, and resolves once all are acknowledged. */
  async finish(): Promise<void> {
    this.closing = true;
    await Promise.all(this.loops);
    if (this.failure !== undefined) throw this.failure;
  }

  private until(done: () => boolean): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ done, resolve, reject });
    });
  }

  private wake(): void {
    const still = [];
    for (const w of this.waiters) {
      if (this.failure !== undefined) w.reject(this.failure);
      else if (w.done()) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** Spans sent that have not arrived at any sink yet. */
  private onTheirWay(): number {
    for (; this.scanned < this.sinks.spans.length; this.scanned++) {
      const id = this.sinks.spans[this.scanned]?.id ?? '';
      if (this.ledger.spans.has(id)) this.arrived.add(id);
    }
    return this.ledger.sentCount - this.arrived.size;
  }

  private async loop(): Promise<void> {
    for (;;) {
      // A later turn, as after network I/O, so that the rest of the process runs meanwhile.
      await new Promise<void>((resolve) => {
        setImmediate(resolve);
      });
      await this.sinks.until(() => this.onTheirWay() < WINDOW_SPANS);
      const request = this.nextRequest();
      if (request === undefined) return;
      for (;;) {
        const received = this.sinks.spans.length;
        const result = await this.send(request.bytes, request.spans.length);
        if (result.kind === 'ok') break;
        if (result.kind === 'permanent')
          throw new Error('otel-lb refused a request as permanent', { cause: result.error });
        this.retriedRequests++;
        await this.sinks.until(() => this.sinks.spans.length > received);
      }
      this.ledger.ack(request.spans);
      this.ackedRequests++;
      this.wake();
    }
  }

  /** The next span of up to {@link TRACES_PER_REQUEST} open traces, grouped by service. */
  private nextRequest(): { readonly bytes: Uint8Array; readonly spans: readonly SentSpan[] } | undefined {
    if (!this.closing) {
      while (this.open.length < OPEN_TRACES) {
        this.open.push({ traceId: this.random.hex(16), firstService: this.random.int(SERVICES.length), next: 0 });
      }
    }
    if (this.open.length === 0) return undefined;
    for (let i = 0; i < Math.min(TRACES_PER_REQUEST, this.open.length); i++) {
      const j = i + this.random.int(this.open.length - i);
      const picked = this.open[j] as OpenTrace;
      this.open[j] = this.open[i] as OpenTrace;
      this.open[i] = picked;
    }
    const picked = this.open.slice(0, TRACES_PER_REQUEST);
    const byService = new Map<number, Span[]>();
    const spans: SentSpan[] = [];
    for (const trace of picked) {
      const index = trace.next++;
      const service = (trace.firstService + index) % SERVICES.length;
      const span = this.ledger.add(trace.traceId, this.random.hex(8));
      spans.push(span);
      const start = 1_704_067_200_000_000_000n + BigInt(span.sent) * 1_000_000n;
      const list = byService.get(service) ?? [];
      list.push({
        traceId: span.traceId,
        spanId: span.spanId,
        name: `${SERVICES[service] ?? ''} step ${index}`,
        kind: SpanKind.SERVER,
        startTimeUnixNano: String(start),
        endTimeUnixNano: String(start + 500_000n),
      });
      byService.set(service, list);
    }
    for (let i = this.open.length - 1; i >= 0; i--) {
      if ((this.open[i]?.next ?? 0) >= SPANS_PER_TRACE) this.open.splice(i, 1);
    }
    const resourceSpans: ResourceSpans[] = [...byService].map(([service, list]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICES[service] ?? '' } }] },
      scopeSpans: [{ scope: { name: 'shop' }, spans: list }],
    }));
    return { bytes: encodeTracesRequest({ resourceSpans }), spans };
  }
}

// ---------------------------------------------------------------------------------------
// The system under test

/** The ledger's counters at the instant the new ring was swapped in. */
interface SwapMark {
  readonly change: Pick<RingChange, 'added' | 'removed'>;
  /** Spans sent before the swap. */
  readonly sent: number;
  /** Spans received (by any sink) before the swap. */
  readonly received: number;
  /** Requests acknowledged before the swap. */
  readonly acked: number;
}

/** One-shot listeners of the load balancer's swaps, called in the swap's own turn. */
class SwapWatch {
  private listeners: ((change: Pick<RingChange, 'added' | 'removed'>) => void)[] = [];

  /** Resolves at the next swap with `mark()` taken in the same turn. */
  next(mark: () => Omit<SwapMark, 'change'>): Promise<SwapMark> {
    return new Promise((resolve) => {
      this.listeners.push((change) => {
        resolve({ change, ...mark() });
      });
    });
  }

  fire(change: Pick<RingChange, 'added' | 'removed'>): void {
    for (const listener of this.listeners.splice(0)) listener(change);
  }
}

/** How a backend leaves: gone from the answer, or still listed but not ready / unhealthy. */
type Removal = 'delete' | 'unready';

/** otel-lb with one resolver, and the knob that changes what that resolver finds. */
interface Subject {
  readonly send: SendTraces;
  readonly swaps: SwapWatch;
  /** Data otel-lb gave up on (must stay empty). */
  readonly drops: string[];
  /** Makes the resolver find `endpoints`; resolves once the change is started (not applied). */
  apply(endpoints: readonly string[], removal: Removal): Promise<void>;
  close(): Promise<void>;
}

/** A JSON-lines log in memory that hands each entry to `onEntry` as it is written. */
class LogWatch implements LogStream {
  readonly entries: Record<string, unknown>[] = [];
  onEntry: (entry: Record<string, unknown>) => void = () => undefined;
  private waiters: { readonly match: (e: Record<string, unknown>) => boolean; readonly resolve: () => void }[] = [];

  write(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line === '') continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      this.entries.push(entry);
      this.onEntry(entry);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(entry)) return true;
        w.resolve();
        return false;
      });
    }
  }

  /** Resolves with the first entry, logged so far or later, that matches. */
  find(match: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const found = this.entries.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => {
      this.waiters.push({
        match,
        resolve: () => {
          resolve(this.entries.find(match) ?? {});
        },
      });
    });
  }
}

function list(text: unknown): string[] {
  return typeof text === 'string' && text !== '' ? text.split(',') : [];
}

const RETRY = `retry {
        initial_interval = "20ms"
        max_interval     = "100ms"
      }`;

function hostConfig(resolver: string): string {
  return `otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "127.0.0.1:0"
  }
  output {
    traces = [otelcol.exporter.loadbalancing.default.input]
  }
}

otelcol.exporter.loadbalancing "default" {
  resolver {
${resolver}
  }
  protocol {
    otlp {
      client {
        tls {
          insecure = true
        }
      }
      ${RETRY}
    }
  }
}
`;
}

function staticResolver(endpoints: readonly string[]): string {
  return `    static {
      hostnames = [${endpoints.map((e) => `"${e}"`).join(', ')}]
    }`;
}

/** otel-lb in a Host, from configuration text, fed through its OTLP/gRPC receiver. */
class HostSubject implements Subject {
  readonly swaps = new SwapWatch();
  readonly drops: string[] = [];
  readonly logs = new LogWatch();
  private readonly host = new Host({
    registry: builtinRegistry(),
    logger: createLogger({ format: 'json', stream: this.logs }),
  });
  private client: GrpcClient | undefined;
  applyChange: (endpoints: readonly string[], removal: Removal) => Promise<void> = () => Promise.resolve();

  /** Loads `config`, waits until the load balancer has `endpoints`, and connects to the receiver. */
  static async start(config: string, endpoints: readonly string[]): Promise<HostSubject> {
    const subject = new HostSubject();
    subject.logs.onEntry = (entry) => {
      if (entry['msg'] === 'backends changed') {
        subject.swaps.fire({ added: list(entry['added']), removed: list(entry['removed']) });
      } else if (entry['msg'] === 'dropping data') {
        subject.drops.push(JSON.stringify(entry));
      }
    };
    await subject.load(config);
    const started = await subject.logs.find((e) => e['msg'] === 'Starting GRPC server');
    await subject.logs.find(
      (e) => e['msg'] === 'backends in use' && e['endpoints'] === [...endpoints].sort().join(','),
    );
    subject.client = new GrpcClient({ endpoint: String(started['endpoint']), compression: 'none' });
    return subject;
  }

  readonly send: SendTraces = (bytes, items) => {
    if (this.client === undefined) throw new Error('not started');
    return this.client.export({ signal: Signal.TRACES, bytes, items });
  };

  /** Loads `config` (the first load, or a reload); resolves once it is applied. */
  async load(config: string): Promise<void> {
    const result = await this.host.load(SourceFile.fromText('membership.alloy', config));
    assert.ok(result.ok, `${result.error?.message ?? ''} ${JSON.stringify(result.diagnostics)}`);
  }

  apply(endpoints: readonly string[], removal: Removal): Promise<void> {
    return this.applyChange(endpoints, removal);
  }

  async close(): Promise<void> {
    await this.client?.close();
    await this.host.shutdown(Date.now() + 5_000);
  }
}

/**
 * The aws_cloud_map resolver through the AWS SDK against the fake, feeding a load balancer
 * made from the decoded arguments as the component makes it; requests go straight to it.
 */
class CloudMapSubject implements Subject {
  readonly swaps = new SwapWatch();
  readonly drops: string[] = [];
  private readonly fake: FakeCloudMap;
  private readonly resolver: AwsCloudMapResolver;
  private readonly lb: LoadBalancer;
  private readonly stop = new AbortController();
  private instances = new Map<string, FakeInstance>();

  private constructor(fake: FakeCloudMap, initial: readonly string[]) {
    this.fake = fake;
    this.setInstances(initial, 'delete');
    const { args } = expectArguments(
      loadBalancingDefinition,
      `resolver {
  aws_cloud_map {
    namespace    = "${CLOUD_MAP_NAMESPACE}"
    service_name = "${CLOUD_MAP_SERVICE}"
    interval     = "20ms"
    timeout      = "2s"
  }
}
protocol {
  otlp {
    client {
      tls {
        insecure = true
      }
    }
    ${RETRY}
  }
}`,
    );
    if (args.resolver.kind !== 'aws_cloud_map') throw new Error('expected the aws_cloud_map resolver');
    this.resolver = new AwsCloudMapResolver({
      namespace: args.resolver.namespace,
      serviceName: args.resolver.serviceName,
      intervalMs: args.resolver.intervalMs,
      timeoutMs: args.resolver.timeoutMs,
      clientConfig: {
        endpoint: fake.url,
        region: 'us-west-2',
        credentials: { accessKeyId: 'AKIDFAKECLOUDMAP', secretAccessKey: 'fake-secret-key' },
        disableHostPrefix: true,
        maxAttempts: 1,
      },
    });
    const otlp = args.protocol.otlp;
    this.lb = new LoadBalancer({
      routingKey: routingKeyOf(args),
      ring: ringOf(args),
      endpoints: initial,
      queue: queueSettings(otlp.queue),
      retry: retryPolicy(otlp.retry),
      merge: mergeSettings(otlp.queue),
      createClient: (endpoint) =>
        new GrpcClient({
          endpoint,
          compression: compressionOf(otlp.client.compression),
          timeoutMs: otlp.timeoutMs,
          waitForReady: otlp.client.waitForReady,
        }),
      onRingChange: (change) => {
        this.swaps.fire(change);
      },
      onDrop: (endpoint, batch, reason) => {
        this.drops.push(`${batch.items} items for ${endpoint}: ${reason}`);
      },
    });
  }

  static async start(fake: FakeCloudMap, initial: readonly string[]): Promise<CloudMapSubject> {
    const subject = new CloudMapSubject(fake, initial);
    subject.resolver.onChange((endpoints) => {
      // As the component: an empty answer keeps the last set.
      if (endpoints.length > 0) void subject.lb.setEndpoints(endpoints);
    });
    await subject.resolver.start(subject.stop.signal);
    assert.deepEqual(subject.resolver.endpoints, [...initial].sort());
    return subject;
  }

  readonly send: SendTraces = (bytes, items) =>
    this.lb.consume({ signal: Signal.TRACES, bytes, items }, { signal: this.stop.signal });

  apply(endpoints: readonly string[], removal: Removal): Promise<void> {
    this.setInstances(endpoints, removal);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.resolver.shutdown();
    await this.lb.shutdown(Date.now() + 5_000);
  }

  /** Registers `endpoints` as healthy instances; the others are deregistered or turn unhealthy. */
  private setInstances(endpoints: readonly string[], removal: Removal): void {
    const wanted = new Set(endpoints);
    const next = new Map<string, FakeInstance>();
    for (const endpoint of new Set([...this.instances.keys(), ...endpoints])) {
      const isWanted = wanted.has(endpoint);
      if (!isWanted && removal === 'delete') continue;
      const [ip = '', port = ''] = endpoint.split(':');
      next.set(endpoint, {
        id: `i-${ip.replaceAll('.', '-')}`,
        attributes: { AWS_INSTANCE_IPV4: ip, AWS_INSTANCE_PORT: port },
        health: isWanted ? 'HEALTHY' : 'UNHEALTHY',
      });
    }
    this.instances = next;
    this.fake.setInstances(CLOUD_MAP_NAMESPACE, CLOUD_MAP_SERVICE, [...next.values()]);
  }
}

// ---------------------------------------------------------------------------------------
// Scenarios

/** The owner of `traceId` on `ring`. */
function ownerOn(ring: ReturnType<typeof buildRing>, traceId: string): string {
  const key = Buffer.from(traceId, 'hex');
  return ring.endpoints[ring.locate(key, 0, key.length)] ?? '';
}

/** The least share of keys any ring must move from `before` to `after`. */
function idealMovedShare(before: readonly string[], after: readonly string[]): number {
  const kept = before.filter((e) => after.includes(e)).length;
  return 1 - kept * Math.min(1 / before.length, 1 / after.length);
}

/** Rejects with what `state()` says when `promise` has not settled within {@link HANG_MS}. */
async function guard<T>(promise: Promise<T>, what: string, state: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: nothing happened for ${HANG_MS} ms; ${state()}`));
    }, HANG_MS);
    timer.unref();
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

interface ScenarioOptions {
  readonly subject: Subject;
  readonly sinks: SinkPool;
  readonly before: readonly string[];
  readonly after: readonly string[];
  readonly removal: Removal;
  /** A backend to kill (its sink closed) before the change, under load. */
  readonly kill?: string;
  readonly seed: number;
}

/** What one scenario measured. */
interface Figures {
  readonly spans: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly traces: number;
  readonly split: number;
  /** Split traces whose spans were all sent before the swap. */
  readonly splitSentBefore: number;
  /** Traces in flight across the change: a span sent before the swap, one arriving after it. */
  readonly bound: number;
  /** Traces with spans sent both before and after the swap (a subset of `bound`). */
  readonly spanning: number;
  /** Requests acknowledged between the start of the change and the swap. */
  readonly ackedDuringChange: number;
  readonly moved: number;
  readonly ideal: number;
  readonly limit: number;
  /** Spans that reached a new owner although they were sent before the swap to one that left. */
  readonly rerouted: number;
  readonly retriedRequests: number;
}

/**
 * Runs the load, makes the change under it, lets the load run on over the new ring, closes
 * every trace, waits until every acknowledged span has arrived, and checks the ledger.
 */
async function runScenario(t: TestContext, options: ScenarioOptions): Promise<Figures> {
  const { subject, sinks, before, after } = options;
  const generator = new LoadGenerator(subject.send, sinks, options.seed);
  const ledger = generator.ledger;
  const state = (): string =>
    `${ledger.sentCount} spans sent, ${ledger.ackedCount} acknowledged, ${generator.ackedRequests} requests acknowledged, ` +
    `${sinks.spans.length} spans received in all; drops: ${subject.drops.join('; ') || 'none'}`;

  // prepare: steady load over the old ring
  generator.start();
  await guard(generator.untilAcked(REQUESTS_BEFORE), 'warming up', state);
  if (options.kill !== undefined) {
    const killed = options.kill;
    await sinks.kill(killed);
    const acked = generator.ackedRequests;
    await guard(generator.untilAcked(acked + REQUESTS_WHILE_DEAD), 'sending while a backend is dead', state);
    await guard(
      sinks.until(() => sinks.resets(killed) >= RESETS_WHILE_DEAD),
      'retrying the dead backend',
      state,
    );
  }

  // test: the change, under load
  const swapped = subject.swaps.next(() => ({
    sent: ledger.sentCount,
    received: sinks.spans.length,
    acked: generator.ackedRequests,
  }));
  const ackedAtChange = generator.ackedRequests;
  await subject.apply(after, options.removal);
  const mark = await guard(swapped, 'waiting for the new ring', state);
  await guard(generator.untilAcked(generator.ackedRequests + REQUESTS_AFTER), 'sending over the new ring', state);
  await guard(generator.finish(), 'closing the traces', state);
  const seen = new Set<string>();
  let scanned = 0;
  let arrived = 0;
  await guard(
    sinks.until(() => {
      for (; scanned < sinks.spans.length; scanned++) {
        const id = sinks.spans[scanned]?.id ?? '';
        if (ledger.spans.get(id)?.acked === true && !seen.has(id)) {
          seen.add(id);
          arrived++;
        }
      }
      return arrived === ledger.ackedCount;
    }),
    'waiting for every acknowledged span to arrive',
    () => `${ledger.ackedCount - arrived} acknowledged spans missing; ${state()}`,
  );

  // verify
  assert.deepEqual(
    { added: [...mark.change.added].sort(), removed: [...mark.change.removed].sort() },
    {
      added: after.filter((e) => !before.includes(e)).sort(),
      removed: before.filter((e) => !after.includes(e)).sort(),
    },
    'the swap changed what the resolver changed',
  );
  assert.deepEqual(subject.drops, [], 'nothing was given up on');
  const oldRing = buildRing(DEFAULT_RING, before);
  const newRing = buildRing(DEFAULT_RING, after);
  const departed = new Set(before.filter((e) => !after.includes(e)));

  // Every receipt of this scenario's spans, in arrival order.
  const receipts = new Map<string, { readonly backend: string; readonly index: number }[]>();
  sinks.spans.forEach((item, index) => {
    if (!ledger.spans.has(item.id)) return;
    const list = receipts.get(item.id) ?? [];
    list.push({ backend: item.backend, index });
    receipts.set(item.id, list);
  });

  let lost = 0;
  let duplicates = 0;
  let rerouted = 0;
  const misplaced: string[] = [];
  const lateAtDeparted: string[] = [];
  const duplicatedElsewhere: string[] = [];
  for (const span of ledger.spans.values()) {
    const got = receipts.get(span.spanId) ?? [];
    if (span.acked && got.length === 0) lost++;
    duplicates += Math.max(0, got.length - 1);
    if (got.length > 1 && !got.some((r) => r.backend === options.kill)) duplicatedElsewhere.push(span.spanId);
    const oldOwner = ownerOn(oldRing, span.traceId);
    const newOwner = ownerOn(newRing, span.traceId);
    for (const r of got) {
      if (r.backend !== oldOwner && r.backend !== newOwner) misplaced.push(`${span.spanId} at ${r.backend}`);
      if (departed.has(r.backend) && span.sent >= mark.sent) lateAtDeparted.push(span.spanId);
    }
    if (departed.has(oldOwner) && span.sent < mark.sent && got.some((r) => r.backend === newOwner)) rerouted++;
  }
  assert.equal(lost, 0, `acknowledged spans lost; ${state()}`);
  assert.deepEqual(misplaced.slice(0, 10), [], 'every span arrived at its owner on the old or the new ring');
  assert.deepEqual(lateAtDeparted.slice(0, 10), [], 'nothing sent after the swap reached a backend that left');
  assert.deepEqual(duplicatedElsewhere.slice(0, 10), [], 'only a killed backend can cause duplicates');
  if (options.kill === undefined) assert.equal(duplicates, 0, 'no duplicates without a dead backend');

  // Split traces, and the traces that could be: a span sent before the swap and one arriving
  // after it (in flight across the change). Those with spans sent on both sides of the swap
  // are among them; so are those whose spans were all sent before it, some of which were
  // still on their way to otel-lb at the swap (routed on the new ring) or queued or retrying
  // for a backend that left (re-routed to its successor).
  let split = 0;
  let bound = 0;
  let spanning = 0;
  let splitSentBefore = 0;
  const unbounded: string[] = [];
  for (const [traceId, spans] of ledger.traces) {
    const backends = new Set<string>();
    let sentBefore = false;
    let sentAfter = false;
    let arrivedAfter = false;
    for (const span of spans) {
      if (span.sent < mark.sent) sentBefore = true;
      else sentAfter = true;
      for (const r of receipts.get(span.spanId) ?? []) {
        backends.add(r.backend);
        if (r.index >= mark.received) arrivedAfter = true;
      }
    }
    const inFlight = sentBefore && arrivedAfter;
    if (inFlight) bound++;
    if (sentBefore && sentAfter) spanning++;
    if (backends.size > 1) {
      split++;
      if (!inFlight) unbounded.push(traceId);
      else if (!sentAfter) splitSentBefore++;
    }
  }
  assert.deepEqual(unbounded.slice(0, 10), [], 'only traces in flight across the change were split');
  assert.ok(bound > 0, 'the load was steady across the change');

  // Moved routes over the scenario's trace IDs.
  let moved = 0;
  for (const traceId of ledger.traces.keys()) if (ownerOn(oldRing, traceId) !== ownerOn(newRing, traceId)) moved++;
  const n = ledger.traces.size;
  const share = moved / n;
  const ideal = idealMovedShare(before, after);
  const limit = 1.1 * ideal + 3 * Math.sqrt((ideal * (1 - ideal)) / n);
  assert.ok(
    share <= limit,
    `moved ${share.toFixed(3)} of the routes; ideal ${ideal.toFixed(3)}, limit ${limit.toFixed(3)}`,
  );
  if (options.kill !== undefined) assert.ok(rerouted > 0, 'spans held for the dead backend were re-routed');

  const figures: Figures = {
    spans: ledger.sentCount,
    lost,
    duplicates,
    traces: n,
    split,
    splitSentBefore,
    bound,
    spanning,
    ackedDuringChange: mark.acked - ackedAtChange,
    moved: share,
    ideal,
    limit,
    rerouted,
    retriedRequests: generator.retriedRequests,
  };
  t.diagnostic(
    `${before.length} -> ${after.length} backends: ${figures.spans} spans in ${n} traces; lost ${lost}, duplicates ${duplicates}; ` +
      `split traces ${split}, ${splitSentBefore} of them sent before the swap (bound: ${bound} in flight across the change, ` +
      `${spanning} sent on both sides of it); moved routes ${share.toFixed(3)} (ideal ${ideal.toFixed(3)}, limit ${limit.toFixed(3)}); ` +
      `re-routed spans ${rerouted}; requests acknowledged during the change ${figures.ackedDuringChange}, refused and sent again ${figures.retriedRequests}`,
  );
  return figures;
}

/**
 * The three scenarios for one resolver, over five sinks: 3 backends → 5 (two added) → 3 (two
 * others removed) → one killed under load, then removed → 2.
 */
function scenarios(
  name: string,
  setup: () => Promise<{ readonly subject: Subject; readonly sinks: SinkPool; readonly cleanup?: () => Promise<void> }>,
  seed: number,
): void {
  describe(name, () => {
    let subject: Subject | undefined;
    let sinks: SinkPool | undefined;
    let cleanup: (() => Promise<void>) | undefined;
    const ready = (): { subject: Subject; sinks: SinkPool; e: readonly string[] } => {
      if (subject === undefined || sinks === undefined) throw new Error('setup failed');
      return { subject, sinks, e: sinks.endpoints };
    };
    before(async () => {
      ({ subject, sinks, cleanup } = await setup());
    });
    after(async () => {
      await subject?.close();
      await sinks?.close();
      await cleanup?.();
    });

    it('adds backends under load: nothing lost, only traces in flight split, about 2/5 of the routes move', async (t) => {
      const { subject, sinks, e } = ready();
      await runScenario(t, {
        subject,
        sinks,
        before: e.slice(0, 3),
        after: e.slice(0, 5),
        removal: 'delete',
        seed,
      });
    });

    it('removes backends under load: what they held is re-routed, nothing lost, about 2/5 of the routes move', async (t) => {
      const { subject, sinks, e } = ready();
      await runScenario(t, {
        subject,
        sinks,
        before: e.slice(0, 5),
        after: [e[1], e[2], e[4]].filter((x) => x !== undefined),
        removal: 'unready',
        seed: seed + 1,
      });
    });

    it('kills a backend under load, then removes it: its failing parts are re-routed, nothing lost', async (t) => {
      const { subject, sinks, e } = ready();
      const dead = e[2] ?? '';
      await runScenario(t, {
        subject,
        sinks,
        before: [e[1], e[2], e[4]].filter((x) => x !== undefined),
        after: [e[1], e[4]].filter((x) => x !== undefined),
        removal: 'delete',
        kill: dead,
        seed: seed + 2,
      });
    });
  });
}

describe('membership changes under steady load', { timeout: 300_000 }, () => {
  scenarios(
    'static resolver: the configuration is reloaded with another set',
    async () => {
      const sinks = await SinkPool.start(5);
      const initial = sinks.endpoints.slice(0, 3);
      const subject = await HostSubject.start(hostConfig(staticResolver(initial)), initial);
      subject.applyChange = async (endpoints) => {
        // A reload that changes only the resolver; it resolves once the new set is in use.
        await subject.load(hostConfig(staticResolver(endpoints)));
      };
      return { subject, sinks };
    },
    100,
  );

  describe('dns resolver', { skip: SKIP_DNS }, () => {
    scenarios(
      'dns resolver: dnsmasq answers with other A records',
      async () => {
        const sinks = await SinkPool.startOnOnePort(HOSTS);
        const records = (endpoints: readonly string[]): string[] =>
          endpoints.map((e) => `${e.slice(0, e.lastIndexOf(':'))} ${DNS_NAME}`);
        const initial = sinks.endpoints.slice(0, 3);
        const dnsmasq = await Dnsmasq.start(DNSMASQ ?? 'dnsmasq', records(initial));
        const subject = await HostSubject.start(
          hostConfig(`    dns {
      hostname = "${DNS_NAME}"
      port     = "${sinks.port}"
      server   = "${dnsmasq.server}"
      interval = "20ms"
      timeout  = "1s"
    }`),
          initial,
        );
        subject.applyChange = (endpoints) => dnsmasq.setRecords(records(endpoints));
        return { subject, sinks, cleanup: () => dnsmasq.stop() };
      },
      200,
    );
  });

  scenarios(
    'kubernetes resolver: the fake API server adds endpoints, turns them not ready, deletes them',
    async () => {
      const sinks = await SinkPool.startOnOnePort(HOSTS);
      const api = await FakeK8sApi.start();
      const dir = await mkdtemp(path.join(tmpdir(), 'otel-lb-membership-'));
      const kubeconfig = path.join(dir, 'kubeconfig');
      await writeFile(kubeconfig, api.kubeConfigYaml());
      const previous = process.env['KUBECONFIG'];
      process.env['KUBECONFIG'] = kubeconfig;
      /** Addresses in the slice, and whether each is ready. */
      const listed = new Map<string, boolean>();
      const put = (endpoints: readonly string[], removal: Removal): void => {
        const wanted = new Set(endpoints.map((e) => e.slice(0, e.lastIndexOf(':'))));
        for (const address of [...listed.keys()]) {
          if (wanted.has(address)) continue;
          if (removal === 'delete') listed.delete(address);
          else listed.set(address, false);
        }
        for (const address of wanted) listed.set(address, true);
        api.put({
          name: `${K8S_SERVICE}-abcde`,
          namespace: K8S_NAMESPACE,
          service: K8S_SERVICE,
          endpoints: [...listed].map(([address, ready]) => ({ addresses: [address], ready })),
        });
      };
      const initial = sinks.endpoints.slice(0, 3);
      put(initial, 'delete');
      const subject = await HostSubject.start(
        hostConfig(`    kubernetes {
      service = "${K8S_SERVICE}.${K8S_NAMESPACE}"
      ports   = [${sinks.port}]
    }`),
        initial,
      );
      subject.applyChange = (endpoints, removal) => {
        put(endpoints, removal);
        return Promise.resolve();
      };
      const cleanup = async (): Promise<void> => {
        if (previous === undefined) delete process.env['KUBECONFIG'];
        else process.env['KUBECONFIG'] = previous;
        await api.close();
        await rm(dir, { recursive: true, force: true });
      };
      return { subject, sinks, cleanup };
    },
    300,
  );

  scenarios(
    'aws_cloud_map resolver: instances turn unhealthy or are deregistered between polls',
    async () => {
      const sinks = await SinkPool.startOnOnePort(HOSTS);
      const fake = await FakeCloudMap.start();
      const subject = await CloudMapSubject.start(fake, sinks.endpoints.slice(0, 3));
      return { subject, sinks, cleanup: () => fake.close() };
    },
    400,
  );
});
