/**
 * The resolver contract of `otelcol.exporter.loadbalancing` (STYLE.md §5), as contrib's
 * `resolver.go` defines it for the Collector: a resolver discovers the backends' endpoints
 * and tells its listeners whenever the set changes. The load balancer applies each set with
 * `LoadBalancer.setEndpoints`.
 *
 * Every resolver here shares these rules:
 * - Endpoints are `host:port` strings, IPv6 literals in brackets (`[::1]:4317`), sorted
 *   byte-wise and de-duplicated ({@link normalizeEndpoints}), so that the ring depends on
 *   the set only, never on the order a source listed it in.
 * - Listeners hear about a set only when it differs from the previous one: a resolution
 *   that finds the same backends changes nothing (contrib #35658).
 * - A failed resolution keeps the last good set; it is counted and reported through
 *   `onError`, never thrown.
 * - Everything that waits uses the injected {@link Clock}, and stops on `shutdown()` or
 *   when the signal given to `start()` aborts.
 *
 * Resolvers report to a {@link ResolverTelemetry}, a minimal sink that the metrics
 * registry implements with upstream's metric names.
 */

import { isIPv6 } from 'node:net';

import type { Clock } from '../../../internal/clock.ts';
import { normalizeEndpoints } from '../hash-ring/hash-ring.ts';

/** The port a backend gets when its address names none (OTLP/gRPC's port). */
export const DEFAULT_PORT = 4317;

/**
 * Resolver kinds, as upstream's metric attribute `resolver` spells them (contrib's
 * `metadata.yaml`: `aws`, `dns`, `k8s`, `static`).
 */
export const ResolverName = {
  STATIC: 'static',
  DNS: 'dns',
  K8S: 'k8s',
  AWS: 'aws',
} as const;
export type ResolverName = (typeof ResolverName)[keyof typeof ResolverName];

/** Receives each new endpoint set: sorted, de-duplicated, frozen. */
export type EndpointsListener = (endpoints: readonly string[]) => void;

/**
 * A source of backend endpoints.
 *
 * Lifecycle: construct, register listeners with {@link Resolver.onChange}, then
 * {@link Resolver.start} once. The resolver runs until {@link Resolver.shutdown} or until
 * the signal given to `start` aborts. Methods are safe to call in any order after
 * construction; listeners run synchronously, one set at a time, in registration order.
 */
export interface Resolver {
  /** The resolver's kind, for metric attributes and log lines. */
  readonly name: ResolverName;
  /**
   * The current endpoint set (sorted, de-duplicated, frozen); empty until a resolution
   * has found backends. A late listener reads this instead of waiting for a change.
   */
  readonly endpoints: readonly string[];
  /**
   * Registers `listener`, called with every new endpoint set from now on (not with the
   * current one). A listener that throws is reported through the resolver's `onError`;
   * the others still run. Returns a function that unregisters the listener.
   */
  onChange(listener: EndpointsListener): () => void;
  /**
   * Starts resolving. Resolves once the first resolution has finished, whether it found
   * backends or not (an empty or failed first answer is not fatal: the resolver keeps
   * trying in the background), or as soon as `signal` aborts. Never rejects.
   *
   * @throws TypeError when called twice.
   */
  start(signal: AbortSignal): Promise<void>;
  /**
   * Stops every timer, lookup and watch, and forgets the listeners. Resolves once nothing
   * of the resolver runs any more. Idempotent; safe before `start`.
   */
  shutdown(): Promise<void>;
}

/**
 * Where resolvers report what they do. The telemetry registry implements it as upstream's
 * metrics; {@link ResolverStats} keeps plain counters (tests, status page). Methods are
 * called synchronously and must not throw.
 */
export interface ResolverTelemetry {
  /**
   * One resolution ended (a DNS lookup, a Kubernetes list or watch event, the static
   * list): `otelcol_loadbalancer_num_resolutions{resolver, success}` (counter).
   */
  resolution(resolver: ResolverName, success: boolean): void;
  /**
   * The endpoint set changed and now holds `count` backends:
   * `otelcol_loadbalancer_num_backends{resolver}` (gauge, set to `count`) and
   * `otelcol_loadbalancer_num_backend_updates{resolver}` (counter, plus one).
   */
  backendsChanged(resolver: ResolverName, count: number): void;
}

/** Telemetry that records nothing. */
export const NO_RESOLVER_TELEMETRY: ResolverTelemetry = Object.freeze({
  resolution: () => undefined,
  backendsChanged: () => undefined,
});

/** Counters of one resolver, as {@link ResolverStats.snapshot} returns them. */
export interface ResolverCounters {
  readonly resolutionsSucceeded: number;
  readonly resolutionsFailed: number;
  /** Backends in the current set. */
  readonly backends: number;
  /** How many times the set changed. */
  readonly backendUpdates: number;
}

/** A {@link ResolverTelemetry} that counts in memory, per resolver kind. */
export class ResolverStats implements ResolverTelemetry {
  private readonly counters = new Map<ResolverName, ResolverCounters>();

  resolution(resolver: ResolverName, success: boolean): void {
    const c = this.get(resolver);
    this.counters.set(
      resolver,
      success
        ? { ...c, resolutionsSucceeded: c.resolutionsSucceeded + 1 }
        : { ...c, resolutionsFailed: c.resolutionsFailed + 1 },
    );
  }

  backendsChanged(resolver: ResolverName, count: number): void {
    const c = this.get(resolver);
    this.counters.set(resolver, { ...c, backends: count, backendUpdates: c.backendUpdates + 1 });
  }

  /** The counters of `resolver` now (all zero if it reported nothing). */
  snapshot(resolver: ResolverName): ResolverCounters {
    return this.get(resolver);
  }

  private get(resolver: ResolverName): ResolverCounters {
    return (
      this.counters.get(resolver) ?? { resolutionsSucceeded: 0, resolutionsFailed: 0, backends: 0, backendUpdates: 0 }
    );
  }
}

/** Options every resolver accepts. */
export interface ResolverCommonOptions {
  /** Default: {@link NO_RESOLVER_TELEMETRY}. */
  readonly telemetry?: ResolverTelemetry;
  /**
   * A resolution failed (the last good set stays), or a listener threw. For a log line;
   * must not throw. Default: ignore.
   */
  readonly onError?: (error: Error) => void;
}

/**
 * The part every resolver shares: holds the current set, normalises and compares new
 * ones, counts changes and calls the listeners. Not a resolver by itself.
 */
export class EndpointPublisher {
  private readonly name: ResolverName;
  private readonly telemetry: ResolverTelemetry;
  private readonly onError: (error: Error) => void;
  private listeners: EndpointsListener[] = [];
  private current: readonly string[] = Object.freeze([]);

  constructor(name: ResolverName, options: ResolverCommonOptions) {
    this.name = name;
    this.telemetry = options.telemetry ?? NO_RESOLVER_TELEMETRY;
    this.onError = options.onError ?? (() => undefined);
  }

  get endpoints(): readonly string[] {
    return this.current;
  }

  onChange(listener: EndpointsListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Counts one resolution. */
  resolution(success: boolean): void {
    this.telemetry.resolution(this.name, success);
  }

  /** Counts a failed resolution and reports `error`. */
  fail(error: Error): void {
    this.telemetry.resolution(this.name, false);
    this.onError(error);
  }

  /**
   * Makes `endpoints` (any order, duplicates allowed) the current set. Returns whether it
   * differed from the previous one; only then are the change counted and the listeners
   * called.
   */
  publish(endpoints: Iterable<string>): boolean {
    const next = normalizeEndpoints(endpoints);
    if (sameEndpoints(next, this.current)) return false;
    this.current = Object.freeze(next);
    this.telemetry.backendsChanged(this.name, next.length);
    for (const listener of [...this.listeners]) {
      try {
        listener(this.current);
      } catch (error) {
        this.onError(
          new Error(`a listener of the ${this.name} resolver threw while applying ${next.length} endpoints`, {
            cause: error,
          }),
        );
      }
    }
    return true;
  }

  /** Forgets every listener (shutdown). */
  close(): void {
    this.listeners = [];
  }
}

/**
 * The lifecycle of a resolver that keeps resolving in the background (`dns`, `kubernetes`,
 * `aws_cloud_map`), so that each of them writes only its own rules, in
 * {@link BackgroundResolver.run}:
 * - `start` may be called once; it ties its signal to the resolver's own stop signal and
 *   resolves once `run` reports that the first resolution has ended (found backends, found
 *   none or failed), or once `run` returns. For a signal already aborted, or after
 *   `shutdown`, it resolves at once and runs nothing.
 * - `shutdown` aborts the stop signal, forgets the listeners and waits for `run` to return.
 * - The endpoint set and its listeners are an {@link EndpointPublisher}'s.
 */
export abstract class BackgroundResolver implements Resolver {
  readonly name: ResolverName;
  protected readonly publisher: EndpointPublisher;
  /** How errors name the resolver, e.g. `dns resolver`. */
  private readonly label: string;
  private readonly stop = new AbortController();
  private started = false;
  private running: Promise<void> = Promise.resolve();

  protected constructor(name: ResolverName, label: string, options: ResolverCommonOptions) {
    this.name = name;
    this.label = label;
    this.publisher = new EndpointPublisher(name, options);
  }

  get endpoints(): readonly string[] {
    return this.publisher.endpoints;
  }

  onChange(listener: EndpointsListener): () => void {
    return this.publisher.onChange(listener);
  }

  start(signal: AbortSignal): Promise<void> {
    if (this.started) throw new TypeError(`${this.label}: start() was called twice; call it once`);
    this.started = true;
    if (signal.aborted) this.stop.abort(signal.reason);
    else {
      signal.addEventListener(
        'abort',
        () => {
          this.stop.abort(signal.reason);
        },
        { once: true },
      );
    }
    if (this.isStopped()) return Promise.resolve();
    const { promise: first, resolve: firstDone } = Promise.withResolvers<undefined>();
    this.running = this.run(() => {
      firstDone(undefined);
    });
    return Promise.race([first, this.running]);
  }

  async shutdown(): Promise<void> {
    this.stop.abort();
    this.publisher.close();
    await this.running;
  }

  /**
   * Resolves until {@link BackgroundResolver.stopSignal} aborts, calling `firstDone` once
   * the first resolution has ended (calling it again does nothing). Called once, by
   * `start`. Must not reject: failures go to the publisher.
   */
  protected abstract run(firstDone: () => void): Promise<void>;

  /** Aborts on `shutdown()` or when the signal given to `start` aborts. */
  protected get stopSignal(): AbortSignal {
    return this.stop.signal;
  }

  protected isStopped(): boolean {
    return this.stop.signal.aborted;
  }
}

/**
 * A {@link BackgroundResolver} that resolves at once and then `intervalMs` after each
 * resolution ended, so that resolutions never overlap (`dns`, `aws_cloud_map`). The
 * first one resolves `start`.
 */
export abstract class PollingResolver extends BackgroundResolver {
  /** Waits between resolutions. */
  protected abstract readonly clock: Clock;
  /** Time from the end of one resolution to the start of the next. */
  protected abstract readonly intervalMs: number;

  /** One resolution; must not reject, and should do nothing once stopped. */
  protected abstract resolveOnce(): Promise<void>;

  protected async run(firstDone: () => void): Promise<void> {
    const signal = this.stopSignal;
    await this.resolveOnce();
    firstDone();
    while (!signal.aborted) {
      try {
        await this.clock.sleep(this.intervalMs, signal);
      } catch {
        return; // stopped
      }
      await this.resolveOnce();
    }
  }
}

/**
 * `value`, checked to be a positive, finite number of milliseconds.
 *
 * @throws TypeError naming `where`, with `example` as a duration to give instead.
 */
export function positiveMs(value: number, where: string, example: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${where}: ${value} ms is not a positive duration: give e.g. "${example}"`);
  }
  return value;
}

/** Whether two normalised endpoint lists are equal. */
export function sameEndpoints(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((e, i) => e === b[i]);
}

/** What changed between two endpoint sets, for a log line per change. */
export function diffEndpoints(
  before: readonly string[],
  after: readonly string[],
): { readonly added: readonly string[]; readonly removed: readonly string[] } {
  const was = new Set(before);
  const is = new Set(after);
  return {
    added: after.filter((e) => !was.has(e)),
    removed: before.filter((e) => !is.has(e)),
  };
}

/**
 * Parses a port given as a number or a decimal string (`4317`, `"34621"`).
 *
 * @throws TypeError naming `where` when it is not a whole number from 1 to 65535.
 */
export function parsePort(value: number | string, where: string): number {
  const port = typeof value === 'number' ? value : /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new TypeError(`${where}: port ${JSON.stringify(value)} is not valid: give a whole number from 1 to 65535`);
  }
  return port;
}

/** `host:port`, with an IPv6 literal put in brackets (`[::1]:4317`). */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Normalises one configured endpoint to `host:port`: keeps an explicit port, appends
 * `defaultPort` when there is none, and brackets IPv6 literals. Accepted forms:
 * `host`, `host:port`, `1.2.3.4`, `1.2.3.4:port`, `::1`, `[::1]`, `[::1]:port`.
 *
 * Upstream appends the default port only when the string has no `:` at all, so a bare
 * IPv6 literal reaches the dialler without a port; here it gets brackets and the port.
 *
 * @throws TypeError naming `where` for an empty host, an empty or invalid port, or an
 *   unclosed bracket.
 */
export function endpointWithPort(raw: string, defaultPort: number, where: string): string {
  const value = raw.trim();
  const bad = (why: string): TypeError =>
    new TypeError(`${where}: endpoint ${JSON.stringify(raw)} ${why}: write it as "host:port" or "[ipv6]:port"`);
  if (value === '') throw bad('is empty');
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) throw bad('has no closing "]"');
    const host = value.slice(1, close);
    if (!isIPv6(host)) throw bad('has brackets around something that is not an IPv6 address');
    const rest = value.slice(close + 1);
    if (rest === '') return `[${host}]:${defaultPort}`;
    if (!rest.startsWith(':')) throw bad('has text after "]" that is not ":port"');
    return `[${host}]:${parsePort(rest.slice(1), where)}`;
  }
  if (isIPv6(value)) return `[${value}]:${defaultPort}`;
  const colon = value.lastIndexOf(':');
  if (colon < 0) return `${value}:${defaultPort}`;
  if (value.indexOf(':') !== colon) throw bad('has several ":" but is not an IPv6 address');
  const host = value.slice(0, colon);
  if (host === '') throw bad('has no host');
  return `${host}:${parsePort(value.slice(colon + 1), where)}`;
}

/** Splits a normalised `host:port` or `[ipv6]:port` endpoint. */
export function splitHostPort(endpoint: string): { readonly host: string; readonly port: number } {
  const colon = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, colon);
  return {
    host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host,
    port: Number(endpoint.slice(colon + 1)),
  };
}

/**
 * Runs `work` with a signal that aborts when `timeoutMs` passes on `clock` or when
 * `parent` aborts, whichever comes first. Resolves with what `work` resolves with; rejects
 * with what it rejects with, with an `Error` saying `what` took too long on timeout, or
 * with `parent`'s reason on abort, without waiting for `work` to notice.
 */
export function withDeadline<T>(
  clock: Clock,
  timeoutMs: number,
  parent: AbortSignal,
  what: string,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const controller = new AbortController();
    const timer = new AbortController();
    const cleanup = (): void => {
      timer.abort();
      parent.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      cleanup();
      controller.abort(parent.reason);
      reject(toError(parent.reason));
    };
    if (parent.aborted) {
      onAbort();
      return;
    }
    parent.addEventListener('abort', onAbort, { once: true });
    clock.sleep(timeoutMs, timer.signal).then(
      () => {
        const error = new Error(`${what} took longer than its timeout of ${timeoutMs} ms`);
        cleanup();
        controller.abort(error);
        reject(error);
      },
      () => undefined,
    );
    let running: Promise<T>;
    try {
      running = work(controller.signal);
    } catch (error) {
      cleanup();
      reject(toError(error));
      return;
    }
    running.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(toError(error));
      },
    );
  });
}

/** `value` if it is an Error, else an Error describing it. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
