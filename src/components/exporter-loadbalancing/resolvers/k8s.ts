/**
 * The `kubernetes` resolver (contrib's `resolver_k8s.go`; `k8s` in upstream YAML): watches the
 * `discovery.k8s.io/v1` EndpointSlices of one Service (label selector
 * `kubernetes.io/service-name=<name>`) and turns every ready endpoint into `address:port`,
 * once per configured port.
 *
 * - `service` is `name` or `name.namespace`. Without a namespace, the one in the pod's
 *   service-account namespace file, else `default` (as upstream).
 * - All slices of the service are merged. An endpoint whose `conditions.ready` or
 *   `conditions.serving` is `false` is left out (contrib #50436); unset means ready, as the
 *   API defines it. Every address of an endpoint counts (IPv6 in brackets).
 * - `returnHostnames`: `<hostname>.<service>.<namespace>` instead of the addresses (a headless
 *   Service of a StatefulSet). A slice with a ready endpoint that has no hostname is not
 *   applied (its previous state stays) and counts as a failed resolution, as upstream.
 * - `timeoutMs` is what upstream does with `timeout`: the `timeoutSeconds` of each list and
 *   watch request (whole seconds, rounded up), after which the API server ends it; a watch
 *   that ends so is resumed from the last resourceVersion. Ours also abandons a list not
 *   answered within those seconds, and a watch still open 10 s past them (a half-open
 *   connection).
 * - List, then watch from the list's resourceVersion; `410 Gone` (an expired
 *   resourceVersion, as a status or as an ERROR event) relists at once. Any other failure
 *   (refused connection, broken stream, error status, a watch that ends at once with no
 *   event) is reported through `onError`, keeps the current set, and is retried after an
 *   exponential backoff (1 s doubling to 30 s, ±20 % jitter, back to 1 s once a watch
 *   delivers an event or runs its full time), with a fresh list. It never gives up.
 * - Telemetry: each list and each applied ADDED, MODIFIED or DELETED event is a successful
 *   resolution; each failure above a failed one. An event that does not change the set
 *   changes nothing (contrib #35658).
 *
 * The API server and its credentials come from the injected `kubeConfig`, else from
 * `KUBECONFIG`, else from the pod's service account (in-cluster), else from
 * `~/.kube/config`, the order of upstream's controller-runtime. `@kubernetes/client-node` is
 * loaded only then, at start, because importing it costs about a second. Requests use its
 * `KubeConfig` for TLS, proxies and every authentication kind (tokens, exec plugins, OIDC);
 * list and watch themselves are plain HTTP GETs here, not its `ListWatch` informer, which in
 * version 1.4 stops for good on the first non-410 error, has no backoff, can open a watch
 * after `stop()`, and cannot cancel a request whose response has not begun, so a stuck API
 * server would keep `shutdown()` waiting.
 *
 * RBAC: the service account needs `get`, `list` and `watch` on `endpointslices` in API group
 * `discovery.k8s.io` in the service's namespace; a `403` says so in the error.
 */

import { existsSync, readFileSync } from 'node:fs';
import http, { STATUS_CODES, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import path from 'node:path';

import type { KubeConfig } from '@kubernetes/client-node';

import { systemClock, type Clock } from '../../../internal/clock.ts';
import { backoffMs, type RetryPolicy } from '../../../transport/retry.ts';
import {
  BackgroundResolver,
  DEFAULT_PORT,
  ResolverName,
  joinHostPort,
  parsePort,
  positiveMs,
  toError,
  withDeadline,
  type ResolverCommonOptions,
} from './resolver.ts';

/** Upstream's (and Alloy ≤ v1.19's) default `timeout`. */
export const DEFAULT_K8S_TIMEOUT_MS = 1_000;
/** Where a pod finds its own namespace. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
/** The namespace used when `service` names none and the namespace file is missing. */
export const DEFAULT_K8S_NAMESPACE = 'default';
/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Backoff after a failure: 1 s, doubling, at most 30 s, ±20 %. */
export const DEFAULT_K8S_BACKOFF_INITIAL_MS = 1_000;
export const DEFAULT_K8S_BACKOFF_MAX_MS = 30_000;

/** Slices asked for per list page (client-go's pager uses the same). */
const LIST_PAGE_SIZE = 500;
/** How long past its `timeoutSeconds` a watch may stay open before it counts as dead. */
const WATCH_GRACE_MS = 10_000;
const MAX_LIST_PAGE_BYTES = 64 * 1024 * 1024;
const MAX_WATCH_EVENT_BYTES = 16 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** DNS-1123 label: what Service and namespace names must be. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SERVICE_ACCOUNT_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Options of {@link K8sResolver}. */
export interface K8sResolverOptions extends ResolverCommonOptions {
  /** `name` or `name.namespace` of the Service; required. */
  readonly service: string;
  /**
   * The ports combined with every address, as numbers or decimal strings (`["34621"]`);
   * duplicates are dropped. Default: `[4317]`.
   */
  readonly ports?: readonly (number | string)[];
  /** The `timeoutSeconds` of list and watch requests, in milliseconds. Default: 1000. */
  readonly timeoutMs?: number;
  /** Publish `<hostname>.<service>.<namespace>:<port>` instead of addresses. Default: false. */
  readonly returnHostnames?: boolean;
  /**
   * The API server and credentials (tests, embedders). Default: `KUBECONFIG`, else
   * in-cluster, else `~/.kube/config`, loaded at start.
   */
  readonly kubeConfig?: KubeConfig;
  /**
   * The environment that the default configuration is looked up in (`KUBECONFIG`,
   * `KUBERNETES_SERVICE_HOST`, `HOME`). Default: `process.env`.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The file holding the pod's namespace. Default: {@link SERVICE_ACCOUNT_NAMESPACE_FILE}. */
  readonly namespaceFile?: string;
  /** First wait after a failure. Default: 1000. */
  readonly backoffInitialMs?: number;
  /** Longest wait after failures. Default: 30000. */
  readonly backoffMaxMs?: number;
  /** Returns a number in [0, 1) for the backoff's jitter. Default: `Math.random`. */
  readonly random?: () => number;
  /** Default: the system clock. */
  readonly clock?: Clock;
}

/** The API server answered with an error status (a `Status` object), or a watch sent one. */
export class K8sApiError extends Error {
  /** The HTTP status, or the `code` of a watch's ERROR event (410: expired resourceVersion). */
  readonly statusCode: number;
  /** The Status `reason` (`Forbidden`, `Expired`, …), when the server gave one. */
  readonly reason: string | undefined;

  constructor(statusCode: number, reason: string | undefined, message: string) {
    super(message);
    this.name = 'K8sApiError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

/** What `onError` receives for a failed list or watch: the cause, and when the retry comes. */
export class K8sResolutionError extends Error {
  /** Milliseconds until the next attempt. */
  readonly retryInMs: number;

  constructor(message: string, retryInMs: number, options: ErrorOptions) {
    super(message, options);
    this.name = 'K8sResolutionError';
    this.retryInMs = retryInMs;
  }
}

/** The parts of an EndpointSlice the resolver reads. */
interface SliceView {
  readonly name: string;
  readonly resourceVersion: string;
  readonly endpoints: readonly EndpointView[];
}

interface EndpointView {
  readonly addresses: readonly string[];
  readonly ready: boolean | undefined;
  readonly serving: boolean | undefined;
  readonly hostname: string | undefined;
}

type Phase = 'loading the Kubernetes configuration' | 'listing' | 'watching';

/** Watches the EndpointSlices of a Kubernetes Service and publishes its ready endpoints. */
export class K8sResolver extends BackgroundResolver {
  /** The Service's name. */
  readonly serviceName: string;
  /** The Service's namespace (given, from the namespace file, or `default`). */
  readonly namespace: string;
  /** The ports, parsed and de-duplicated. */
  readonly ports: readonly number[];
  private readonly timeoutSeconds: number;
  private readonly returnHostnames: boolean;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly policy: RetryPolicy;
  private readonly random: () => number;
  private readonly clock: Clock;
  private kubeConfig: KubeConfig | undefined;
  /** Hosts of every slice applied, by slice name. */
  private slices = new Map<string, readonly string[]>();

  /**
   * Reads the namespace file when `service` names no namespace; makes no request yet.
   *
   * @throws TypeError for an empty or malformed `service`, an empty or invalid `ports`, a
   *   timeout that is not a positive number of milliseconds, or a bad backoff.
   */
  constructor(options: K8sResolverOptions) {
    const where = 'kubernetes resolver';
    super(ResolverName.K8S, where, options);
    const { name, namespace } = parseService(options.service, where, () =>
      namespaceFromFile(options.namespaceFile ?? SERVICE_ACCOUNT_NAMESPACE_FILE, (error) => {
        options.onError?.(error);
      }),
    );
    this.serviceName = name;
    this.namespace = namespace;
    const ports = options.ports ?? [DEFAULT_PORT];
    if (ports.length === 0) {
      throw new TypeError(`${where}: \`ports\` is empty: list at least one port, e.g. [4317]`);
    }
    this.ports = Object.freeze([...new Set(ports.map((p, i) => parsePort(p, `${where}: \`ports\`[${i}]`)))]);
    const timeoutMs = positiveMs(options.timeoutMs ?? DEFAULT_K8S_TIMEOUT_MS, `${where}: \`timeout\``, '1s');
    this.timeoutSeconds = Math.ceil(timeoutMs / 1000);
    this.returnHostnames = options.returnHostnames ?? false;
    this.kubeConfig = options.kubeConfig;
    this.env = options.env ?? process.env;
    const initial = positiveMs(options.backoffInitialMs ?? DEFAULT_K8S_BACKOFF_INITIAL_MS, `${where}: backoff`, '1s');
    const max = positiveMs(
      options.backoffMaxMs ?? Math.max(DEFAULT_K8S_BACKOFF_MAX_MS, initial),
      `${where}: backoff`,
      '1s',
    );
    this.policy = {
      enabled: true,
      initialIntervalMs: initial,
      multiplier: 2,
      maxIntervalMs: Math.max(initial, max),
      randomizationFactor: 0.2,
      maxElapsedTimeMs: 0,
    };
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? systemClock;
  }

  /** List, then watch, forever; never rejects. The first resolution is the first list. */
  protected async run(firstDone: () => void): Promise<void> {
    const signal = this.stopSignal;
    let resourceVersion = '';
    let attempt = 0;
    let expiredInARow = 0;
    while (!this.isStopped()) {
      let phase: Phase = 'loading the Kubernetes configuration';
      try {
        const kubeConfig = await this.config();
        if (resourceVersion === '') {
          phase = 'listing';
          resourceVersion = await this.list(kubeConfig);
          firstDone();
        }
        phase = 'watching';
        const startedAt = this.clock.now();
        const events = await this.watch(kubeConfig, resourceVersion, (rv) => {
          resourceVersion = rv;
          attempt = 0;
          expiredInARow = 0;
        });
        const lastedMs = this.clock.now() - startedAt;
        if (events === 0 && lastedMs < (this.timeoutSeconds * 1000) / 2) {
          throw new Error(
            `the API server ended the watch after ${lastedMs} ms, before its timeout of ${this.timeoutSeconds} s, without sending an event`,
          );
        }
        attempt = 0;
      } catch (error) {
        firstDone();
        if (this.isStopped()) return;
        const cause = toError(error);
        resourceVersion = '';
        if (isExpired(cause) && expiredInARow === 0) {
          expiredInARow++;
          continue; // relist at once
        }
        const waitMs = backoffMs(this.policy, attempt, this.random);
        attempt++;
        this.fail(phase, cause, waitMs);
        try {
          await this.clock.sleep(waitMs, signal);
        } catch {
          return; // stopped
        }
      }
    }
  }

  /** The configuration to use, loaded on first use. */
  private async config(): Promise<KubeConfig> {
    this.kubeConfig ??= await loadDefaultKubeConfig(this.env);
    return this.kubeConfig;
  }

  /** Lists every slice of the service (all pages), applies them, returns the resourceVersion. */
  private async list(kubeConfig: KubeConfig): Promise<string> {
    return withDeadline(
      this.clock,
      this.timeoutSeconds * 1000,
      this.stopSignal,
      `listing the EndpointSlices of ${this.describe()}`,
      async (signal) => {
        const items: SliceView[] = [];
        let resourceVersion: string;
        let continueToken = '';
        do {
          const query = new URLSearchParams({
            labelSelector: `${SERVICE_NAME_LABEL}=${this.serviceName}`,
            limit: String(LIST_PAGE_SIZE),
            timeoutSeconds: String(this.timeoutSeconds),
          });
          if (continueToken !== '') query.set('continue', continueToken);
          const response = await get(kubeConfig, `${this.collectionPath()}?${query.toString()}`, signal);
          const body = await readBody(
            response,
            response.statusCode === 200 ? MAX_LIST_PAGE_BYTES : MAX_ERROR_BODY_BYTES,
          );
          if (response.statusCode !== 200) throw statusError(response.statusCode ?? 0, body, 'the list request');
          const page = parseList(body);
          items.push(...page.items);
          resourceVersion = page.resourceVersion;
          continueToken = page.continueToken;
        } while (continueToken !== '');
        if (signal.aborted) throw toError(signal.reason);
        this.applyList(items);
        return resourceVersion;
      },
    );
  }

  /**
   * Watches from `resourceVersion` until the server ends the watch; calls `progress` with
   * the resourceVersion of each event. Returns how many events came; rejects on a broken
   * stream, an error status or an ERROR event.
   */
  private watch(kubeConfig: KubeConfig, resourceVersion: string, progress: (rv: string) => void): Promise<number> {
    return withDeadline(
      this.clock,
      this.timeoutSeconds * 1000 + WATCH_GRACE_MS,
      this.stopSignal,
      `watching the EndpointSlices of ${this.describe()}`,
      async (signal) => {
        const query = new URLSearchParams({
          watch: 'true',
          labelSelector: `${SERVICE_NAME_LABEL}=${this.serviceName}`,
          resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(this.timeoutSeconds),
        });
        const response = await get(kubeConfig, `${this.collectionPath()}?${query.toString()}`, signal);
        if (response.statusCode !== 200) {
          const body = await readBody(response, MAX_ERROR_BODY_BYTES);
          throw statusError(response.statusCode ?? 0, body, 'the watch request');
        }
        let events = 0;
        for await (const line of lines(response, MAX_WATCH_EVENT_BYTES)) {
          if (line.trim() === '') continue;
          events++;
          const rv = this.applyEvent(line);
          if (rv !== undefined) progress(rv);
        }
        return events;
      },
    );
  }

  /** Makes `items` the whole state. */
  private applyList(items: readonly SliceView[]): void {
    const next = new Map<string, readonly string[]>();
    for (const slice of items) {
      const hosts = this.hostsOf(slice);
      if (hosts !== undefined) next.set(slice.name, hosts);
      else {
        const kept = this.slices.get(slice.name);
        if (kept !== undefined) next.set(slice.name, kept);
      }
    }
    this.slices = next;
    this.publisher.resolution(true);
    this.publish();
  }

  /** Applies one watch event; returns its resourceVersion (none for unknown types). */
  private applyEvent(line: string): string | undefined {
    const event = parseWatchEvent(line);
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const slice = parseSlice(event.object);
        const hosts = this.hostsOf(slice);
        if (hosts !== undefined) {
          this.slices.set(slice.name, hosts);
          this.publisher.resolution(true);
          this.publish();
        }
        return slice.resourceVersion;
      }
      case 'DELETED': {
        const slice = parseSlice(event.object);
        this.slices.delete(slice.name);
        this.publisher.resolution(true);
        this.publish();
        return slice.resourceVersion;
      }
      case 'BOOKMARK':
        return resourceVersionOf(event.object);
      case 'ERROR':
        throw statusError(0, event.object, 'the watch');
      default:
        return undefined;
    }
  }

  /**
   * The hosts of a slice's ready endpoints, or undefined (reported, counted as a failed
   * resolution) when `returnHostnames` is set and a ready endpoint has no hostname.
   */
  private hostsOf(slice: SliceView): readonly string[] | undefined {
    const hosts: string[] = [];
    for (const endpoint of slice.endpoints) {
      if (endpoint.ready === false || endpoint.serving === false) continue;
      if (!this.returnHostnames) {
        hosts.push(...endpoint.addresses);
        continue;
      }
      if (endpoint.hostname === undefined || endpoint.hostname === '') {
        this.publisher.fail(
          new Error(
            `kubernetes resolver: EndpointSlice "${slice.name}" of ${this.describe()} has a ready endpoint ` +
              `(${endpoint.addresses.join(', ')}) without a hostname, so \`return_hostnames\` cannot name it; ` +
              `the slice's previous state stays. Hostnames are set for the pods of a StatefulSet whose ` +
              `spec.serviceName is this (headless) Service; turn \`return_hostnames\` off otherwise`,
          ),
        );
        return undefined;
      }
      hosts.push(`${endpoint.hostname}.${this.serviceName}.${this.namespace}`);
    }
    return hosts;
  }

  private publish(): void {
    const endpoints: string[] = [];
    for (const hosts of this.slices.values()) {
      for (const host of hosts) {
        for (const port of this.ports) endpoints.push(joinHostPort(host, port));
      }
    }
    this.publisher.publish(endpoints);
  }

  private collectionPath(): string {
    return `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/endpointslices`;
  }

  private describe(): string {
    return `service "${this.serviceName}" in namespace "${this.namespace}"`;
  }

  private fail(phase: Phase, cause: Error, retryInMs: number): void {
    const what = phase === 'loading the Kubernetes configuration' ? phase : `${phase} the EndpointSlices`;
    this.publisher.fail(
      new K8sResolutionError(
        `kubernetes resolver: ${what} of ${this.describe()} failed (${cause.message}); ` +
          `keeping the last ${this.publisher.endpoints.length} endpoint(s) and retrying in ${retryInMs} ms; ` +
          this.hint(phase, cause),
        retryInMs,
        { cause },
      ),
    );
  }

  private hint(phase: Phase, cause: Error): string {
    if (phase === 'loading the Kubernetes configuration') {
      return 'run otel-lb in a pod with a service account, or point KUBECONFIG at a kubeconfig file';
    }
    const status = cause instanceof K8sApiError ? cause.statusCode : undefined;
    const server = this.kubeConfig?.getCurrentCluster()?.server ?? 'the API server';
    switch (status) {
      case 403:
        return (
          `grant otel-lb's service account the "get", "list" and "watch" verbs on "endpointslices" ` +
          `(API group "discovery.k8s.io") in namespace "${this.namespace}", e.g. with a Role and a RoleBinding`
        );
      case 401:
        return `${server} did not accept the credentials: check the service-account token or the user in the kubeconfig`;
      case 404:
        return `${server} does not serve discovery.k8s.io/v1 EndpointSlices (Kubernetes 1.21 or later does)`;
      case 410:
        return 'the resourceVersion expired again right after a fresh list';
      default:
        return `check that ${server} is reachable and healthy`;
    }
  }
}

/**
 * Splits `service` into name and namespace; `namespace()` is asked only when `service`
 * names none, and falls back to `default`.
 *
 * @throws TypeError when `service` is empty or not `name` / `name.namespace` of DNS labels.
 */
export function parseService(
  service: string,
  where: string,
  namespace: () => string | undefined,
): { readonly name: string; readonly namespace: string } {
  const value = service.trim();
  if (value === '') {
    throw new TypeError(`${where}: \`service\` is empty: give the Service's name, or "name.namespace"`);
  }
  const parts = value.split('.');
  const [name = '', ns] = parts;
  if (parts.length > 2 || !DNS_LABEL.test(name) || (ns !== undefined && !DNS_LABEL.test(ns))) {
    throw new TypeError(
      `${where}: \`service\` "${service}" is not "name" or "name.namespace" (lowercase DNS labels, ` +
        `e.g. "otel-backends.observability"); give the Service's name and namespace, not its DNS name`,
    );
  }
  return { name, namespace: ns ?? namespace() ?? DEFAULT_K8S_NAMESPACE };
}

/**
 * The namespace in `file` (trimmed), or undefined when the file does not exist or is
 * empty. Other read errors go to `onError` and also give undefined.
 */
export function namespaceFromFile(file: string, onError: (error: Error) => void): string | undefined {
  try {
    const namespace = readFileSync(file, 'utf8').trim();
    return namespace === '' ? undefined : namespace;
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) {
      onError(
        new Error(
          `kubernetes resolver: reading the pod's namespace from ${file} failed; using namespace ` +
            `"${DEFAULT_K8S_NAMESPACE}". Write \`service\` as "name.namespace" to choose one`,
          { cause: error },
        ),
      );
    }
    return undefined;
  }
}

/**
 * The default configuration, as upstream's controller-runtime finds it: the files in
 * `KUBECONFIG`, else the pod's service account (in-cluster), else `~/.kube/config`.
 *
 * @throws Error when there is none, or a file cannot be read or parsed.
 */
export async function loadDefaultKubeConfig(env: Readonly<Record<string, string | undefined>>): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  const files = (env['KUBECONFIG'] ?? '').split(path.delimiter).filter((file) => file !== '');
  const [first, ...rest] = files;
  if (first !== undefined) {
    config.loadFromFile(first);
    for (const file of rest) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      config.mergeConfig(more);
    }
    return config;
  }
  if ((env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && existsSync(SERVICE_ACCOUNT_TOKEN_FILE)) {
    config.loadFromCluster();
    return config;
  }
  const home = path.join(env['HOME'] ?? homedir(), '.kube', 'config');
  if (existsSync(home)) {
    config.loadFromFile(home);
    return config;
  }
  throw new Error(
    `no Kubernetes configuration found: KUBECONFIG is unset, this is not a pod with a service account ` +
      `(KUBERNETES_SERVICE_HOST or ${SERVICE_ACCOUNT_TOKEN_FILE} is missing), and ${home} does not exist`,
  );
}

/** One GET against the current cluster of `kubeConfig`, with its TLS settings and credentials. */
async function get(kubeConfig: KubeConfig, pathAndQuery: string, signal: AbortSignal): Promise<IncomingMessage> {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) {
    throw new Error('the Kubernetes configuration has no current cluster: set its current-context');
  }
  const url = new URL(cluster.server.replace(/\/+$/, '') + pathAndQuery);
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kubeConfig.applyToHTTPSOptions(options);
  signal.throwIfAborted();
  return new Promise<IncomingMessage>((resolve, reject) => {
    const withSignal = { ...options, signal };
    const request =
      url.protocol === 'http:' ? http.request(url, withSignal, resolve) : https.request(url, withSignal, resolve);
    request.once('error', reject);
    request.end();
  });
}

/** The body of `response` as text, at most `maxBytes`. */
async function readBody(response: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > maxBytes) {
      response.destroy();
      throw new Error(`the API server's answer is larger than ${maxBytes} bytes`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The newline-delimited lines of `response`, each at most `maxBytes`. */
async function* lines(response: IncomingMessage, maxBytes: number): AsyncGenerator<string> {
  response.setEncoding('utf8');
  let pending = '';
  for await (const chunk of response) {
    pending += String(chunk);
    for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
    if (pending.length > maxBytes) throw new Error(`a watch event is larger than ${maxBytes} bytes`);
  }
  if (pending.trim() !== '') yield pending;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not JSON: ${JSON.stringify(text.slice(0, 200))}`, { cause: error });
  }
}

/** A K8sApiError for an error status `code` (0: take it from the Status in `body`). */
function statusError(code: number, body: unknown, what: string): K8sApiError {
  const status = typeof body === 'string' ? safeJson(body) : body;
  const statusCode = isRecord(status) && typeof status['code'] === 'number' && code === 0 ? status['code'] : code;
  const reason = isRecord(status) && typeof status['reason'] === 'string' ? status['reason'] : undefined;
  const detail =
    isRecord(status) && typeof status['message'] === 'string'
      ? status['message']
      : typeof body === 'string'
        ? body.slice(0, 200)
        : JSON.stringify(body);
  const label = STATUS_CODES[statusCode] ?? 'error';
  return new K8sApiError(statusCode, reason, `${what} answered ${statusCode} ${label}: ${detail}`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isExpired(error: Error): boolean {
  return error instanceof K8sApiError && error.statusCode === 410;
}

function parseList(body: string): {
  readonly items: SliceView[];
  readonly resourceVersion: string;
  readonly continueToken: string;
} {
  const list = parseJson(body, 'the list answer');
  if (!isRecord(list) || !Array.isArray(list['items'])) {
    throw new Error('the list answer is not an EndpointSliceList (no "items" array)');
  }
  const metadata = isRecord(list['metadata']) ? list['metadata'] : {};
  return {
    items: list['items'].map(parseSlice),
    resourceVersion: typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : '',
    continueToken: typeof metadata['continue'] === 'string' ? metadata['continue'] : '',
  };
}

function parseWatchEvent(line: string): { readonly type: string; readonly object: unknown } {
  const event = parseJson(line, 'a watch event');
  if (!isRecord(event) || typeof event['type'] !== 'string') {
    throw new Error(`a watch event has no "type": ${line.slice(0, 200)}`);
  }
  return { type: event['type'], object: event['object'] };
}

function resourceVersionOf(object: unknown): string | undefined {
  const metadata = isRecord(object) ? object['metadata'] : undefined;
  const rv = isRecord(metadata) ? metadata['resourceVersion'] : undefined;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

/** Reads what the resolver needs from an EndpointSlice; throws when it is not one. */
function parseSlice(value: unknown): SliceView {
  const metadata = isRecord(value) ? value['metadata'] : undefined;
  const name = isRecord(metadata) ? metadata['name'] : undefined;
  if (!isRecord(value) || typeof name !== 'string' || name === '') {
    throw new Error(`an object from the API server is not an EndpointSlice with a name: ${JSON.stringify(value)}`);
  }
  const endpoints = Array.isArray(value['endpoints']) ? value['endpoints'] : [];
  return {
    name,
    resourceVersion: resourceVersionOf(value) ?? '',
    endpoints: endpoints.filter(isRecord).map((endpoint): EndpointView => {
      const conditions = isRecord(endpoint['conditions']) ? endpoint['conditions'] : {};
      const addresses = Array.isArray(endpoint['addresses']) ? endpoint['addresses'] : [];
      return {
        addresses: addresses.filter((a): a is string => typeof a === 'string' && a !== ''),
        ready: typeof conditions['ready'] === 'boolean' ? conditions['ready'] : undefined,
        serving: typeof conditions['serving'] === 'boolean' ? conditions['serving'] : undefined,
        hostname: typeof endpoint['hostname'] === 'string' ? endpoint['hostname'] : undefined,
      };
    }),
  };
}
