/**
 * Records what a resolver reports (its telemetry, endpoint sets and errors) and lets a test
 * wait for it, so that tests of resolvers against real or fake servers wait on the
 * resolver's own events, never on the wall clock.
 */

import {
  ResolverStats,
  type Resolver,
  type ResolverCommonOptions,
  type ResolverCounters,
  type ResolverName,
  type ResolverTelemetry,
} from '../../src/components/exporter-loadbalancing/resolvers/resolver.ts';

/**
 * The telemetry, `onChange` listener and `onError` of one resolver. Counts only what is
 * reported under that resolver's name, as the metrics do.
 */
export class ResolverRecorder implements ResolverTelemetry {
  /** Every endpoint set published, in order. */
  readonly changes: (readonly string[])[] = [];
  /** Every error reported through `onError`, in order. */
  readonly errors: Error[] = [];
  private readonly name: ResolverName;
  private readonly stats = new ResolverStats();
  private waiters: (() => void)[] = [];

  constructor(name: ResolverName) {
    this.name = name;
  }

  resolution(resolver: ResolverName, success: boolean): void {
    this.stats.resolution(resolver, success);
    this.wake();
  }

  backendsChanged(resolver: ResolverName, count: number): void {
    this.stats.backendsChanged(resolver, count);
    this.wake();
  }

  readonly onChange = (endpoints: readonly string[]): void => {
    this.changes.push(endpoints);
    this.wake();
  };

  readonly onError = (error: Error): void => {
    this.errors.push(error);
    this.wake();
  };

  /** The resolver's counters now. */
  counters(): ResolverCounters {
    return this.stats.snapshot(this.name);
  }

  /** Successful resolutions so far. */
  get successes(): number {
    return this.counters().resolutionsSucceeded;
  }

  /** Failed resolutions so far. */
  get failures(): number {
    return this.counters().resolutionsFailed;
  }

  /** Resolutions of either outcome so far. */
  get resolutions(): number {
    return this.successes + this.failures;
  }

  /** How many times the endpoint set changed, as the telemetry counted it. */
  get updates(): number {
    return this.counters().backendUpdates;
  }

  /** Resolves once `condition` holds (checked after each report). */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Endpoint set number `n` (0-based), once it has come. */
  async change(n: number): Promise<readonly string[]> {
    await this.until(() => this.changes.length > n);
    return this.changes[n] ?? [];
  }

  /** Error number `n` (0-based), once it has come. */
  async error(n: number): Promise<Error> {
    await this.until(() => this.errors.length > n);
    return this.errors[n] ?? new Error('unreachable');
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/**
 * Makes a resolver with `make`, which spreads the given `telemetry` and `onError` into its
 * options, and registers the recorder as its listener.
 */
export function recordResolver<R extends Resolver>(
  name: ResolverName,
  make: (recording: Required<ResolverCommonOptions>) => R,
): { readonly resolver: R; readonly recorder: ResolverRecorder } {
  const recorder = new ResolverRecorder(name);
  const resolver = make({ telemetry: recorder, onError: recorder.onError });
  resolver.onChange(recorder.onChange);
  return { resolver, recorder };
}
