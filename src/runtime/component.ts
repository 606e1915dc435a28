/**
 * The component model (STYLE.md §5), after Alloy's `component.Component` and
 * `component.Registration`.
 *
 * A {@link ComponentDefinition} is a value: its name (`otelcol.exporter.loadbalancing`), its
 * argument schema, the exports it offers, and `build`. The loader decodes a block with the
 * schema and calls `build`, which must not bind ports or start timers: that is `start`'s job,
 * so that a configuration can be built, checked and thrown away without side effects (a
 * reload that fails halfway leaves nothing running).
 *
 * Lifecycle of a {@link Component}: `build` → `start` → any number of `update` → `shutdown`.
 * The host calls these one at a time per component, never concurrently.
 *
 * Exports are Alloy values (usually capsules holding a consumer or an auth handler) that are
 * fixed at build time: a component that gets new arguments keeps its exports and changes what
 * they do, so components reading them need no re-evaluation on `update`.
 */

import type { Clock } from '../internal/clock.ts';
import type { BodySchema } from '../syntax/schema.ts';
import type { Value } from '../syntax/value.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { MetricScope } from '../telemetry/metrics.ts';

/** Alloy's stability levels; `otel-lb run --stability.level` chooses the least stable allowed. */
export type Stability = 'experimental' | 'public-preview' | 'generally-available';

/** The exports of a component: name → value (`input` → a consumer capsule). */
export type ComponentExports = Readonly<Record<string, Value>>;

/** What a component gets from the host besides its arguments (Alloy's `component.Options`). */
export interface ComponentContext {
  /** `otelcol.exporter.loadbalancing.default`. */
  readonly id: string;
  /** A logger whose events carry `component_path` and `component_id`. */
  readonly logger: Logger;
  /** A metrics scope whose series carry `component_id`; unregistered by the host after shutdown. */
  readonly metrics: MetricScope;
  readonly clock: Clock;
  /**
   * Reports the component's health for `/-/healthy`: `undefined` is healthy, a string says
   * what is wrong. Components that never become unhealthy need not call it.
   */
  readonly setHealth: (problem: string | undefined) => void;
}

/**
 * A running component. Methods are called one at a time.
 *
 * @typeParam A - the decoded arguments.
 */
export interface Component<A> {
  /** Fixed at build time (see the module comment). */
  readonly exports: ComponentExports;
  /**
   * Starts the component's work (listen, resolve, connect). Resolves once it runs; rejects
   * with an error that says what failed (a port in use) — the host then stops the others.
   * `signal` aborts when the host gives up on starting.
   */
  start(signal: AbortSignal): Promise<void>;
  /**
   * Applies new arguments (a reload). Never called with arguments deep-equal to the current
   * ones. Must not lose accepted data. Rejects when the new arguments cannot be applied; the
   * component then keeps running as before.
   */
  update(args: A): Promise<void>;
  /**
   * Stops accepting work, delivers what was accepted until `deadlineMs` (an absolute
   * `clock.now()` time), then releases every resource. Idempotent; never rejects.
   */
  shutdown(deadlineMs: number): Promise<void>;
}

/**
 * A component kind. `E` names its exports and their capsule types, so that the loader can
 * check references before anything is built.
 */
export interface ComponentDefinition<A> {
  /** The block name, e.g. `otelcol.exporter.otlp`. */
  readonly name: `otelcol.${string}`;
  readonly stability: Stability;
  readonly arguments: BodySchema<A>;
  /**
   * Export name → a stand-in value of the right type (a capsule of the right type name that
   * refuses all work). The loader evaluates references to components that are not built
   * (`otel-lb validate`, or a dependency whose arguments are wrong) against these.
   */
  readonly placeholderExports: ComponentExports;
  /**
   * Checks decoded arguments for problems that need no I/O and no other component (one
   * resolver only, files that must exist come later). Messages say what to change.
   */
  readonly check?: (args: A) => readonly string[];
  /**
   * Builds the component without side effects. Rejects with an error when the arguments
   * cannot work (reported as `Failed to build component: building component: <message>`).
   */
  build(context: ComponentContext, args: A): Promise<Component<A>>;
}

/** A definition of any argument type, as registries hold them. */
export interface AnyComponentDefinition {
  readonly name: `otelcol.${string}`;
  readonly stability: Stability;
  readonly arguments: BodySchema<unknown>;
  readonly placeholderExports: ComponentExports;
  readonly check?: (args: unknown) => readonly string[];
  build(context: ComponentContext, args: unknown): Promise<Component<unknown>>;
}

/**
 * Erases a definition's argument type for a registry. Safe because the loader only ever
 * hands a definition the arguments its own schema decoded.
 */
export function eraseDefinition<A>(definition: ComponentDefinition<A>): AnyComponentDefinition {
  return definition as unknown as AnyComponentDefinition;
}
