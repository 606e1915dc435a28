/**
 * Runs a configuration: builds its components in dependency order, starts them, applies
 * reloads, and stops them in reverse order (Alloy's controller, STYLE.md §6).
 *
 * A load (the first one or a reload) is all or nothing up to the point where something
 * starts:
 *
 * 1. plan: parse, top-level checks, references (`loader.ts`); any error → nothing changes;
 * 2. for each component in dependency order: decode its arguments against the exports of
 *    the ones before it; a component that exists already with the same kind is kept (its
 *    exports do not change), a new one is built (no side effects yet). A component that
 *    fails to decode stands in with placeholder exports, so that the ones reading it still
 *    report their own problems. Any error → the new components are dropped, nothing changes;
 * 3. apply, in an order that loses no data: start the new components that something reads
 *    (exporters, auth) → update the kept ones whose arguments changed, in dependency order
 *    (a receiver now points at its new exporter) → stop the removed components that nothing
 *    reads (receivers: they stop accepting and hand over what they took) → start the new
 *    ones that nothing reads (receivers) → stop the other removed components in reverse
 *    order (exporters deliver their queues first).
 *
 * If a new component fails to start in step 3, the reload stops there: the new components
 * started so far are stopped again, and the old configuration keeps running. A kept
 * component whose update fails keeps its previous arguments; the failure is reported.
 *
 * Loads and shutdown run one at a time; a second call waits for the first.
 */

import { systemClock, type Clock } from '../internal/clock.ts';
import type { Diagnostic } from '../syntax/diagnostics.ts';
import { withExports, type Scope } from '../syntax/evaluate.ts';
import type { SourceFile } from '../syntax/source.ts';
import { objectValue, Secret, type Value } from '../syntax/value.ts';
import { describeError, discardLogger, type Logger } from '../telemetry/logger.ts';
import { MetricsRegistry, type MetricScope } from '../telemetry/metrics.ts';
import type { Component, ComponentContext } from './component.ts';
import { decodeComponent, planConfig, type ComponentNode, type LoggingSettings } from './loader.ts';
import type { Registry } from './registry.ts';

/** Options of {@link Host}. */
export interface HostOptions {
  readonly registry: Registry;
  readonly logger?: Logger;
  /** Where components register their metrics; default a registry of its own. */
  readonly metrics?: MetricScope;
  readonly clock?: Clock;
  /** The scope without exports (standard library, environment); default the real one. */
  readonly scope?: Scope;
  /** Applies the file's `logging` block (level, format) to the process's logger. */
  readonly onLogging?: (settings: LoggingSettings) => void;
}

/** The outcome of {@link Host.load}. */
export interface LoadResult {
  readonly ok: boolean;
  /** Every error and warning, positioned in the file. */
  readonly diagnostics: readonly Diagnostic[];
  /** A failure that has no position (a component that could not start), when `ok` is false. */
  readonly error?: Error;
}

interface Running {
  readonly node: ComponentNode;
  readonly component: Component<unknown>;
  args: unknown;
  readonly metrics: MetricScope;
  /** Shared with the component's context, which sets it. */
  readonly health: { problem: string | undefined };
}

/** A component that is not healthy. */
export interface ComponentProblem {
  readonly id: string;
  readonly message: string;
}

/** The component host of `otel-lb run`. */
export class Host {
  private readonly registry: Registry;
  private readonly logger: Logger;
  private readonly metrics: MetricScope;
  private readonly clock: Clock;
  private readonly scope: Scope | undefined;
  private readonly onLogging: ((settings: LoggingSettings) => void) | undefined;
  private running = new Map<string, Running>();
  /** Component IDs in dependency order. */
  private order: readonly string[] = [];
  /** ID → the IDs it reads, of the running configuration. */
  private dependencies: ReadonlyMap<string, ReadonlySet<string>> = new Map();
  private queue: Promise<unknown> = Promise.resolve();
  private loaded = false;
  private closed = false;

  constructor(options: HostOptions) {
    this.registry = options.registry;
    this.logger = options.logger ?? discardLogger;
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.clock = options.clock ?? systemClock;
    this.scope = options.scope;
    this.onLogging = options.onLogging;
  }

  /** Whether a configuration has loaded and started. */
  get isReady(): boolean {
    return this.loaded && !this.closed;
  }

  /** IDs of the running components, in dependency order. */
  get componentIds(): readonly string[] {
    return this.order;
  }

  /** The components that reported a problem, for `/-/healthy`. */
  problems(): ComponentProblem[] {
    const out: ComponentProblem[] = [];
    for (const id of this.order) {
      const r = this.running.get(id);
      if (r?.health.problem !== undefined) out.push({ id, message: r.health.problem });
    }
    return out;
  }

  /**
   * Loads `source` (first load or reload). Resolves with the diagnostics; never rejects. On
   * failure the previous configuration, if any, keeps running untouched.
   */
  load(source: SourceFile, signal?: AbortSignal): Promise<LoadResult> {
    return this.serialize(() => this.loadNow(source, signal ?? new AbortController().signal, false));
  }

  /**
   * Checks `source` as {@link load} would, building every component but starting none (so no
   * port is bound and nothing is read from the network), then discards them. What
   * `otel-lb validate` runs. Never rejects.
   */
  check(source: SourceFile): Promise<LoadResult> {
    return this.serialize(() => this.loadNow(source, new AbortController().signal, true));
  }

  /**
   * Stops every component in reverse dependency order, each delivering what it accepted
   * until `deadlineMs` (absolute, `clock.now()`). Idempotent; never rejects.
   */
  shutdown(deadlineMs: number): Promise<void> {
    return this.serialize(async () => {
      if (this.closed) return;
      this.closed = true;
      const ids = [...this.order].reverse();
      for (const id of ids) {
        const r = this.running.get(id);
        if (r !== undefined) await this.stop(r, deadlineMs);
      }
      this.running = new Map();
      this.order = [];
    });
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async loadNow(source: SourceFile, signal: AbortSignal, dryRun: boolean): Promise<LoadResult> {
    if (this.closed) return { ok: false, diagnostics: [], error: new Error('otel-lb is shutting down') };
    const { plan, diagnostics: planDiagnostics } = planConfig(source, {
      registry: this.registry,
      ...(this.scope === undefined ? {} : { scope: this.scope }),
    });
    const diagnostics: Diagnostic[] = [...planDiagnostics];
    if (plan === undefined) return { ok: false, diagnostics };

    // Decode and build.
    let scope = plan.baseScope;
    const kept = new Map<string, { readonly running: Running; readonly args: unknown; readonly node: ComponentNode }>();
    const built: Running[] = [];
    let failed = false;
    for (const node of plan.order) {
      const decoded = decodeComponent(node, scope);
      diagnostics.push(...decoded.diagnostics);
      const existing = this.running.get(node.id);
      if (!decoded.ok) {
        failed = true;
        scope = withExports(scope, node.idParts, exportsObject(node.definition.placeholderExports));
        continue;
      }
      if (existing !== undefined && existing.node.definition === node.definition && !dryRun) {
        kept.set(node.id, { running: existing, args: decoded.args, node });
        scope = withExports(scope, node.idParts, exportsObject(existing.component.exports));
        continue;
      }
      if (failed) {
        // Something is wrong already: check the rest without building anything.
        scope = withExports(scope, node.idParts, exportsObject(node.definition.placeholderExports));
        continue;
      }
      const metrics = this.metrics.scope({ constLabels: { component_id: node.id, component_path: '/' } });
      const health = { problem: undefined as string | undefined };
      try {
        const component = await node.definition.build(this.contextFor(node, health, metrics), decoded.args);
        built.push({ node, component, args: decoded.args, metrics, health });
        scope = withExports(scope, node.idParts, exportsObject(component.exports));
      } catch (error) {
        failed = true;
        metrics.unregister();
        diagnostics.push({
          severity: 'error',
          code: 'load/build',
          message: `Failed to build component: building component: ${describeError(error)}`,
          start: node.block.nameStart,
          end: node.block.nameEnd,
        });
        scope = withExports(scope, node.idParts, exportsObject(node.definition.placeholderExports));
      }
    }
    if (failed || dryRun) {
      await this.discard(built);
      return { ok: !failed, diagnostics };
    }

    // Apply.
    const newIds = new Set(plan.order.map((n) => n.id));
    const readByOthers = new Set<string>();
    for (const deps of plan.dependencies.values()) for (const d of deps) readByOthers.add(d);
    const oldReadByOthers = new Set<string>();
    for (const r of this.running.values()) {
      for (const dep of this.dependenciesOf(r)) oldReadByOthers.add(dep);
    }
    const builtById = new Map(built.map((b) => [b.node.id, b]));
    const started: Running[] = [];
    const removed = [...this.order].filter((id) => !newIds.has(id) || !kept.has(id));

    const startAll = async (entries: readonly Running[]): Promise<Error | undefined> => {
      for (const entry of entries) {
        try {
          await entry.component.start(signal);
          started.push(entry);
        } catch (error) {
          return new Error(`${entry.node.id} failed to start: ${describeError(error)}`, { cause: error });
        }
      }
      return undefined;
    };

    const order = plan.order.map((n) => n.id);
    const firstWave = order.flatMap((id) => {
      const b = builtById.get(id);
      return b !== undefined && readByOthers.has(id) ? [b] : [];
    });
    const secondWave = order.flatMap((id) => {
      const b = builtById.get(id);
      return b !== undefined && !readByOthers.has(id) ? [b] : [];
    });

    const firstError = await startAll(firstWave);
    if (firstError !== undefined) {
      await this.discard([...started].reverse());
      await this.discard(built.filter((b) => !started.includes(b)));
      return { ok: false, diagnostics, error: firstError };
    }

    for (const id of order) {
      const k = kept.get(id);
      if (k === undefined || argsEqual(k.running.args, k.args)) continue;
      try {
        await k.running.component.update(k.args);
        k.running.args = k.args;
      } catch (error) {
        diagnostics.push({
          severity: 'error',
          code: 'load/update',
          message: `${id} could not apply its new arguments and keeps running with the previous ones: ${describeError(error)}`,
          start: k.node.block.nameStart,
          end: k.node.block.nameEnd,
        });
      }
    }

    const deadline = this.clock.now() + 30_000;
    const removedSources = removed.filter((id) => !oldReadByOthers.has(id));
    const removedOthers = removed.filter((id) => oldReadByOthers.has(id)).reverse();
    for (const id of removedSources) {
      const r = this.running.get(id);
      if (r !== undefined) await this.stop(r, deadline);
    }

    const secondError = await startAll(secondWave);

    for (const id of removedOthers) {
      const r = this.running.get(id);
      if (r !== undefined) await this.stop(r, deadline);
    }

    const next = new Map<string, Running>();
    for (const id of order) {
      const k = kept.get(id);
      if (k !== undefined) {
        next.set(id, { ...k.running, node: k.node });
        continue;
      }
      const b = builtById.get(id);
      if (b !== undefined && started.includes(b)) next.set(id, b);
    }
    await this.discard(built.filter((b) => !started.includes(b)));
    this.running = next;
    this.order = order.filter((id) => next.has(id));
    this.dependencies = plan.dependencies;
    if (plan.logging !== undefined) this.onLogging?.(plan.logging);
    if (secondError !== undefined) return { ok: false, diagnostics, error: secondError };
    this.loaded = true;
    return { ok: true, diagnostics };
  }

  private dependenciesOf(r: Running): ReadonlySet<string> {
    return this.dependencies.get(r.node.id) ?? new Set();
  }

  private contextFor(
    node: ComponentNode,
    health: { problem: string | undefined },
    metrics: MetricScope,
  ): ComponentContext {
    return {
      id: node.id,
      logger: this.logger.child({ component_path: '/', component_id: node.id }),
      metrics,
      clock: this.clock,
      setHealth: (problem) => {
        health.problem = problem;
      },
    };
  }

  private async stop(r: Running, deadlineMs: number): Promise<void> {
    try {
      await r.component.shutdown(deadlineMs);
    } catch (error) {
      this.logger.error('component failed to shut down', { component_id: r.node.id, err: error });
    }
    r.metrics.unregister();
  }

  /** Shuts down components that were built (and maybe started) but will not run. */
  private async discard(entries: readonly Running[]): Promise<void> {
    for (const entry of entries) await this.stop(entry, this.clock.now());
  }
}

function exportsObject(exports: Readonly<Record<string, Value>>): Value {
  return objectValue(exports);
}

/**
 * Deep equality of decoded arguments: plain data by value, secrets by their text, anything
 * else (consumers, handlers, class instances) by identity.
 */
export function argsEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Secret && b instanceof Secret) return a.equals(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => argsEqual(v, b[i]));
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map) || !(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !argsEqual(v, b.get(k))) return false;
    return true;
  }
  if (Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Readonly<Record<string, unknown>>;
  const rb = b as Readonly<Record<string, unknown>>;
  return ka.every((k) => Object.hasOwn(rb, k) && argsEqual(ra[k], rb[k]));
}
