/**
 * A fake Kubernetes API server for the kubernetes resolver's tests: serves
 * `discovery.k8s.io/v1` EndpointSlices on 127.0.0.1 (port 0; HTTPS with the test CA, or
 * plain HTTP) and speaks the real list/watch protocol:
 *
 * - `GET /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices?labelSelector=k=v[,k=v]`
 *   lists (`limit` and `continue` page through it) with the collection's resourceVersion.
 * - `…&watch=true&resourceVersion=N` streams newline-delimited JSON events (`ADDED`,
 *   `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR`) after N, replaying the history first;
 *   without N (or "0") it starts with an ADDED per object. `timeoutSeconds` ends the watch
 *   cleanly. A resourceVersion older than the history ({@link FakeK8sApi.expireHistory})
 *   gets the API server's answer: status 200, one ERROR event with code 410 (`Expired`).
 * - A bearer token is required when one is configured (401 otherwise); faults can be
 *   injected per request kind ({@link FakeK8sApi.fail}: 403, 410, 500, …); watches can be
 *   broken (sockets destroyed) or ended cleanly; the server can stop and restart on the
 *   same port.
 *
 * Everything a test waits for is an event: {@link FakeK8sApi.nextRequest} resolves when a
 * matching request has been handled (for a watch: once it is registered, so later changes
 * reach it).
 */

import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

import { KubeConfig } from '@kubernetes/client-node';

const TLS_DIR = new URL('../fixtures/tls/', import.meta.url);
const COLLECTION = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/;

/** One endpoint of a fake slice. */
export interface FakeEndpoint {
  readonly addresses: readonly string[];
  /** Omitted: no `ready` condition at all (which means ready). */
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly hostname?: string;
  readonly zone?: string;
}

/** A slice to store: `service` becomes its `kubernetes.io/service-name` label. */
export interface FakeSlice {
  readonly name: string;
  readonly service: string;
  readonly namespace?: string;
  readonly endpoints: readonly FakeEndpoint[];
  readonly addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  readonly labels?: Readonly<Record<string, string>>;
}

/** A request the server handled. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly isWatch: boolean;
  readonly authorization: string | undefined;
  /** The status it was answered with (200 for a watch that started streaming). */
  readonly status: number;
}

/** An injected failure: the next `times` requests of `kind` get this status. */
export interface FakeFault {
  readonly status: number;
  readonly reason: string;
  readonly message?: string;
  readonly kind?: 'list' | 'watch' | 'any';
  /** Default: 1; Infinity until {@link FakeK8sApi.clearFaults}. */
  readonly times?: number;
}

type JsonObject = Record<string, unknown>;

interface StoredObject {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly object: JsonObject;
}

interface HistoryEvent {
  readonly resourceVersion: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly stored: StoredObject;
}

interface LiveWatch {
  readonly namespace: string;
  readonly selector: ReadonlyMap<string, string>;
  readonly response: ServerResponse;
  readonly timer: NodeJS.Timeout | undefined;
}

interface Waiter {
  readonly predicate: (request: RecordedRequest) => boolean;
  readonly resolve: (request: RecordedRequest) => void;
}

/** Options of {@link FakeK8sApi.start}. */
export interface FakeK8sApiOptions {
  /** Serve HTTPS with the test server certificate (default) or plain HTTP. */
  readonly tls?: boolean;
  /** The bearer token clients must send. Default: none required. */
  readonly token?: string;
}

/** An in-memory API server holding EndpointSlices; see the module comment. */
export class FakeK8sApi {
  readonly requests: RecordedRequest[] = [];
  private readonly tls: boolean;
  private readonly token: string | undefined;
  private server: http.Server | https.Server;
  private port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly objects = new Map<string, StoredObject>();
  private history: HistoryEvent[] = [];
  private resourceVersion = 1000;
  /** Watches from a resourceVersion below this get 410. */
  private oldestWatchable = 0;
  private readonly watches = new Set<LiveWatch>();
  private faults: { fault: FakeFault; left: number }[] = [];
  private waiters: Waiter[] = [];
  private watchClosedWaiters: (() => void)[] = [];

  private constructor(options: FakeK8sApiOptions) {
    this.tls = options.tls ?? true;
    this.token = options.token;
    this.server = this.createServer();
  }

  /** Starts a server on 127.0.0.1, on a free port. */
  static async start(options: FakeK8sApiOptions = {}): Promise<FakeK8sApi> {
    const api = new FakeK8sApi(options);
    await api.listen(0);
    return api;
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** The collection's resourceVersion now. */
  get currentResourceVersion(): string {
    return String(this.resourceVersion);
  }

  /** Watches open now. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** A client configuration for this server: its CA and the token (when set). */
  kubeConfig(): KubeConfig {
    const config = new KubeConfig();
    config.loadFromClusterAndUser(
      this.tls
        ? {
            name: 'fake',
            server: this.url,
            caData: readFileSync(new URL('ca.crt', TLS_DIR)).toString('base64'),
            skipTLSVerify: false,
          }
        : { name: 'fake', server: this.url, skipTLSVerify: true },
      this.token === undefined ? { name: 'tester' } : { name: 'tester', token: this.token },
    );
    return config;
  }

  /** A kubeconfig file's text for this server (for `KUBECONFIG`). */
  kubeConfigYaml(): string {
    return this.kubeConfig().exportConfig();
  }

  /** Creates or replaces a slice (ADDED or MODIFIED); returns its new resourceVersion. */
  put(slice: FakeSlice): string {
    const namespace = slice.namespace ?? 'default';
    const key = `${namespace}/${slice.name}`;
    const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const resourceVersion = ++this.resourceVersion;
    const labels = { 'kubernetes.io/service-name': slice.service, ...slice.labels };
    const stored: StoredObject = {
      namespace,
      name: slice.name,
      labels,
      object: {
        kind: 'EndpointSlice',
        apiVersion: 'discovery.k8s.io/v1',
        metadata: {
          name: slice.name,
          namespace,
          labels,
          resourceVersion: String(resourceVersion),
          uid: `uid-${namespace}-${slice.name}`,
        },
        addressType: slice.addressType ?? 'IPv4',
        endpoints: slice.endpoints.map((e) => ({
          addresses: e.addresses,
          conditions: {
            ...(e.ready === undefined ? {} : { ready: e.ready }),
            ...(e.serving === undefined ? {} : { serving: e.serving }),
          },
          ...(e.hostname === undefined ? {} : { hostname: e.hostname }),
          ...(e.zone === undefined ? {} : { zone: e.zone }),
        })),
        ports: [{ name: 'otlp-grpc', port: 4317, protocol: 'TCP' }],
      },
    };
    this.objects.set(key, stored);
    this.record({ resourceVersion, type, stored });
    return String(resourceVersion);
  }

  /** Deletes a slice (DELETED); returns the deletion's resourceVersion. */
  delete(name: string, namespace = 'default'): string {
    const key = `${namespace}/${name}`;
    const stored = this.objects.get(key);
    if (stored === undefined) throw new Error(`fake API: no slice ${key} to delete`);
    this.objects.delete(key);
    const resourceVersion = ++this.resourceVersion;
    const metadata = { ...asObject(stored.object['metadata']), resourceVersion: String(resourceVersion) };
    this.record({ resourceVersion, type: 'DELETED', stored: { ...stored, object: { ...stored.object, metadata } } });
    return String(resourceVersion);
  }

  /** Deletes every slice (a DELETED event each). */
  deleteAll(): void {
    for (const stored of [...this.objects.values()]) this.delete(stored.name, stored.namespace);
  }

  /** Sends a BOOKMARK at the current resourceVersion to every open watch. */
  bookmark(): void {
    const line = eventLine('BOOKMARK', {
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: { resourceVersion: this.currentResourceVersion },
    });
    for (const watch of this.watches) watch.response.write(line);
  }

  /** Sends an ERROR event with `code` to every open watch, then ends them (as the API server does). */
  sendWatchError(code: number, reason: string, message: string): void {
    const line = eventLine('ERROR', statusObject(code, reason, message));
    for (const watch of [...this.watches]) {
      watch.response.write(line);
      this.endWatch(watch);
    }
  }

  /**
   * Forgets the history, as a compaction does: the collection moves to a new
   * resourceVersion, and a watch from any earlier one gets 410 Expired.
   */
  expireHistory(): void {
    this.oldestWatchable = ++this.resourceVersion;
    this.history = [];
  }

  /** Injects a failure (see {@link FakeFault}). */
  fail(fault: FakeFault): void {
    this.faults.push({ fault, left: fault.times ?? 1 });
  }

  /** Answers every request with 403, as RBAC does, until {@link FakeK8sApi.clearFaults}. */
  forbid(): void {
    this.fail({
      status: 403,
      reason: 'Forbidden',
      message:
        'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:default:otel-lb" cannot ' +
        'list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "default"',
      kind: 'any',
      times: Infinity,
    });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Destroys the connection of every open watch (no clean end of the stream). */
  breakWatches(): void {
    for (const watch of [...this.watches]) {
      this.forget(watch);
      watch.response.socket?.destroy();
    }
  }

  /** Ends every open watch cleanly, as its timeout would. */
  endWatches(): void {
    for (const watch of [...this.watches]) this.endWatch(watch);
  }

  /** Resolves with the next request, from now on, that `predicate` accepts (once handled). */
  nextRequest(predicate: (request: RecordedRequest) => boolean = () => true): Promise<RecordedRequest> {
    return new Promise((resolve) => {
      this.waiters.push({ predicate, resolve });
    });
  }

  /** Resolves with the next watch that started streaming. */
  nextWatch(): Promise<RecordedRequest> {
    return this.nextRequest((r) => r.isWatch && r.status === 200);
  }

  /** Resolves with the first watch that started streaming after the next list. */
  nextWatchAfterList(): Promise<RecordedRequest> {
    let listed = false;
    return this.nextRequest((r) => {
      if (!r.isWatch && r.status === 200) listed = true;
      return listed && r.isWatch && r.status === 200;
    });
  }

  /** Resolves when a watch open now (or the next one) is closed, from either side. */
  nextWatchClosed(): Promise<void> {
    return new Promise((resolve) => {
      this.watchClosedWaiters.push(resolve);
    });
  }

  /** Stops listening and drops every connection (the objects and history stay). */
  async stop(): Promise<void> {
    for (const watch of [...this.watches]) this.forget(watch);
    const closed = once(this.server, 'close');
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Listens again on the same port, with the same objects (and history unless `expireHistory`). */
  async restart(options: { readonly expireHistory?: boolean } = {}): Promise<void> {
    if (options.expireHistory === true) this.expireHistory();
    this.server = this.createServer();
    await this.listen(this.port);
  }

  /** Stops for good. */
  async close(): Promise<void> {
    if (this.server.listening) await this.stop();
  }

  private createServer(): http.Server | https.Server {
    const handler = (request: IncomingMessage, response: ServerResponse): void => {
      this.handle(request, response);
    };
    const server = this.tls
      ? https.createServer(
          { cert: readFileSync(new URL('server.crt', TLS_DIR)), key: readFileSync(new URL('server.key', TLS_DIR)) },
          handler,
        )
      : http.createServer(handler);
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    return server;
  }

  private async listen(port: number): Promise<void> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://fake');
    const isWatch = url.searchParams.get('watch') === 'true';
    const status = this.answer(request, response, url, isWatch);
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      isWatch,
      authorization: request.headers.authorization,
      status,
    };
    this.requests.push(recorded);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(recorded)) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(recorded);
      }
    }
  }

  /** Answers one request; returns the status. */
  private answer(request: IncomingMessage, response: ServerResponse, url: URL, isWatch: boolean): number {
    if (this.token !== undefined && request.headers.authorization !== `Bearer ${this.token}`) {
      return sendStatus(response, 401, 'Unauthorized', 'Unauthorized');
    }
    const match = COLLECTION.exec(url.pathname);
    const namespace = match?.[1];
    if (request.method !== 'GET' || namespace === undefined) {
      return sendStatus(
        response,
        404,
        'NotFound',
        `the server could not find the requested resource (${url.pathname})`,
      );
    }
    const fault = this.takeFault(isWatch ? 'watch' : 'list');
    if (fault !== undefined) {
      return sendStatus(response, fault.status, fault.reason, fault.message ?? fault.reason);
    }
    const selector = parseSelector(url.searchParams.get('labelSelector') ?? '');
    if (selector === undefined) {
      return sendStatus(response, 400, 'BadRequest', 'unable to parse requirement: only k=v selectors are faked');
    }
    return isWatch
      ? this.startWatch(response, decodeURIComponent(namespace), selector, url.searchParams)
      : this.list(response, decodeURIComponent(namespace), selector, url.searchParams);
  }

  private list(
    response: ServerResponse,
    namespace: string,
    selector: ReadonlyMap<string, string>,
    query: URLSearchParams,
  ): number {
    const matching = [...this.objects.values()]
      .filter((o) => o.namespace === namespace && matches(o.labels, selector))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const limit = Number(query.get('limit') ?? '0');
    let offset = 0;
    let listResourceVersion = this.resourceVersion;
    const token = query.get('continue');
    if (token !== null && token !== '') {
      const parsed = asObject(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
      offset = Number(parsed['offset']);
      listResourceVersion = Number(parsed['resourceVersion']);
      if (listResourceVersion < this.oldestWatchable) {
        return sendStatus(
          response,
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result.',
        );
      }
    }
    const end = limit > 0 ? offset + limit : matching.length;
    const items = matching.slice(offset, end).map((o) => o.object);
    const more = end < matching.length;
    const body = {
      kind: 'EndpointSliceList',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: {
        resourceVersion: String(listResourceVersion),
        ...(more
          ? {
              continue: Buffer.from(JSON.stringify({ offset: end, resourceVersion: listResourceVersion })).toString(
                'base64url',
              ),
            }
          : {}),
      },
      items,
    };
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(body));
    return 200;
  }

  private startWatch(
    response: ServerResponse,
    namespace: string,
    selector: ReadonlyMap<string, string>,
    query: URLSearchParams,
  ): number {
    const requested = query.get('resourceVersion') ?? '';
    response.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    response.flushHeaders();
    const from = requested === '' || requested === '0' ? undefined : Number(requested);
    if (from !== undefined && from < this.oldestWatchable) {
      response.end(
        eventLine('ERROR', statusObject(410, 'Expired', `too old resource version: ${from} (${this.oldestWatchable})`)),
      );
      return 200;
    }
    const seconds = Number(query.get('timeoutSeconds') ?? '0');
    const watch: LiveWatch = {
      namespace,
      selector,
      response,
      timer:
        seconds > 0
          ? setTimeout(() => {
              this.endWatch(watch);
            }, seconds * 1000).unref()
          : undefined,
    };
    this.watches.add(watch);
    response.once('close', () => {
      this.forget(watch);
    });
    if (from === undefined) {
      for (const stored of this.objects.values()) {
        if (stored.namespace === namespace && matches(stored.labels, selector)) {
          response.write(eventLine('ADDED', stored.object));
        }
      }
    } else {
      for (const event of this.history) {
        if (event.resourceVersion > from) this.deliver(watch, event);
      }
    }
    return 200;
  }

  private record(event: HistoryEvent): void {
    this.history.push(event);
    for (const watch of this.watches) this.deliver(watch, event);
  }

  private deliver(watch: LiveWatch, event: HistoryEvent): void {
    if (event.stored.namespace !== watch.namespace || !matches(event.stored.labels, watch.selector)) return;
    watch.response.write(eventLine(event.type, event.stored.object));
  }

  private endWatch(watch: LiveWatch): void {
    this.forget(watch);
    watch.response.end();
  }

  private forget(watch: LiveWatch): void {
    if (watch.timer !== undefined) clearTimeout(watch.timer);
    if (!this.watches.delete(watch)) return;
    for (const wake of this.watchClosedWaiters.splice(0)) wake();
  }

  private takeFault(kind: 'list' | 'watch'): FakeFault | undefined {
    const entry = this.faults.find((f) => (f.fault.kind ?? 'any') === 'any' || f.fault.kind === kind);
    if (entry === undefined) return undefined;
    entry.left--;
    if (entry.left <= 0) this.faults = this.faults.filter((f) => f !== entry);
    return entry.fault;
  }
}

/** One watch event as the API server writes it: a JSON object and a newline. */
export function eventLine(type: string, object: unknown): string {
  return `${JSON.stringify({ type, object })}\n`;
}

function statusObject(code: number, reason: string, message: string): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function sendStatus(response: ServerResponse, code: number, reason: string, message: string): number {
  response.writeHead(code, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(statusObject(code, reason, message)));
  return code;
}

function parseSelector(text: string): Map<string, string> | undefined {
  const selector = new Map<string, string>();
  for (const term of text.split(',')) {
    if (term.trim() === '') continue;
    const match = /^\s*([^=!\s]+)\s*==?\s*([^=!\s]*)\s*$/.exec(term);
    if (match === null) return undefined;
    selector.set(match[1] ?? '', match[2] ?? '');
  }
  return selector;
}

function matches(labels: Readonly<Record<string, string>>, selector: ReadonlyMap<string, string>): boolean {
  for (const [key, value] of selector) if (labels[key] !== value) return false;
  return true;
}

function asObject(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null ? (value as JsonObject) : {};
}
