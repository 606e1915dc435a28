/**
 * Component tests from config text (STYLE.md §7): a component body in the Alloy language in,
 * decoded arguments or a built and started component out, through the real parser, evaluator
 * and schema decoder, as the loader runs them.
 *
 * ```ts
 * const { args } = expectArguments(debugExporterDefinition, 'verbosity = "Detailed"');
 * const running = await startComponent(batchProcessorDefinition, 'output { traces = [otelcol.exporter.debug.sink.input] }', {
 *   exports: { 'otelcol.exporter.debug.sink': sink.exports },
 * });
 * await running.clock.advance(200); running.logs.entries(); await running.stop();
 * ```
 *
 * Other components appear only through their exports (`exports`), injected into the scope
 * as the host does after building them; {@link recordingOutput} makes a consumer to point
 * `output` blocks at. Logs go to memory as JSON lines ({@link LogRecorder}), time is a
 * {@link FakeClock}, metrics a registry of their own.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { handlerType, type AuthHandler } from '../../src/components/config/auth.ts';
import {
  SwitchableConsumer,
  consumerCapsule,
  consumerType,
  type OtelConsumer,
} from '../../src/components/config/consumer.ts';
import type { Signal } from '../../src/otlp/signal.ts';
import type {
  AnyComponentDefinition,
  Component,
  ComponentContext,
  ComponentDefinition,
  ComponentExports,
} from '../../src/runtime/component.ts';
import type { BlockStatement } from '../../src/syntax/ast.ts';
import type { Diagnostic } from '../../src/syntax/diagnostics.ts';
import type { BodySchema } from '../../src/syntax/schema.ts';
import { createScope, withExports, type Scope } from '../../src/syntax/evaluate.ts';
import { parseFile } from '../../src/syntax/parser.ts';
import type { BatchConsumer } from '../../src/transport/consumer.ts';
import { SourceFile } from '../../src/syntax/source.ts';
import { objectValue } from '../../src/syntax/value.ts';
import { createLogger, type LogStream } from '../../src/telemetry/logger.ts';
import { MetricsRegistry } from '../../src/telemetry/metrics.ts';
import { RecordingConsumer } from './batch-consumers.ts';
import { FakeClock } from './fake-clock.ts';

/** Options of the decode and start helpers. */
export interface HarnessOptions {
  /** Exports of other components by ID (`otelcol.exporter.debug.sink` → `{ input: … }`). */
  readonly exports?: Readonly<Record<string, ComponentExports>>;
  /** The component's label; default `test`. */
  readonly label?: string;
}

/** What {@link decodeArguments} found. */
export interface Decoded<A> {
  /** `undefined` when there was an error. */
  readonly args: A | undefined;
  /** Every diagnostic, warnings included: decoding's, then the definition's `check`. */
  readonly diagnostics: readonly Diagnostic[];
  readonly source: SourceFile;
}

function scopeWith(exports: Readonly<Record<string, ComponentExports>> | undefined): Scope {
  let scope = createScope();
  for (const [id, values] of Object.entries(exports ?? {}))
    scope = withExports(scope, id.split('.'), objectValue(values));
  return scope;
}

/** What decoding needs of a definition. */
interface Decodable<A> {
  readonly arguments: BodySchema<A>;
  readonly check?: (args: A) => readonly string[];
}

function decodeBlock<A>(
  definition: Decodable<A>,
  block: BlockStatement,
  scope: Scope,
  diagnostics: Diagnostic[],
): A | undefined {
  const where = { start: block.nameStart, end: block.nameEnd };
  const args = definition.arguments.decode(block.body, scope, where, diagnostics);
  if (args === undefined) return undefined;
  const before = diagnostics.length;
  for (const message of definition.check?.(args) ?? []) {
    diagnostics.push({
      severity: 'error',
      code: 'load/invalid-arguments',
      message: `Failed to build component: decoding configuration: ${message}`,
      ...where,
    });
  }
  return diagnostics.length > before ? undefined : args;
}

/**
 * Decodes `body` (the inside of one `<definition.name> "<label>" { … }` block) with the
 * definition's schema and `check`. Parse errors fail the test.
 */
export function decodeArguments<A>(
  definition: ComponentDefinition<A>,
  body: string,
  options: HarnessOptions = {},
): Decoded<A> {
  const source = SourceFile.fromText('test.alloy', `${definition.name} "${options.label ?? 'test'}" {\n${body}\n}\n`);
  const parsed = parseFile(source);
  assert.deepEqual(parsed.diagnostics, [], 'the test config does not parse');
  const block = parsed.file?.body[0];
  assert.ok(block?.kind === 'Block');
  const diagnostics: Diagnostic[] = [];
  const args = decodeBlock(definition, block, scopeWith(options.exports), diagnostics);
  return { args, diagnostics, source };
}

/** Decodes `body` and fails the test on any error; returns the arguments and any warnings. */
export function expectArguments<A>(
  definition: ComponentDefinition<A>,
  body: string,
  options: HarnessOptions = {},
): { readonly args: A; readonly warnings: readonly Diagnostic[] } {
  const decoded = decodeArguments(definition, body, options);
  const errors = decoded.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, [], `unexpected errors decoding:\n${body}`);
  assert.ok(decoded.args !== undefined);
  return { args: decoded.args, warnings: decoded.diagnostics };
}

/** Decodes `body`, expects it to fail, and returns the error diagnostics with their line:column. */
export function expectErrors<A>(
  definition: ComponentDefinition<A>,
  body: string,
  options: HarnessOptions = {},
): readonly (Diagnostic & { readonly line: number | undefined })[] {
  const decoded = decodeArguments(definition, body, options);
  assert.equal(decoded.args, undefined, `decoding succeeded:\n${body}`);
  const errors = decoded.diagnostics.filter((d) => d.severity === 'error');
  assert.ok(errors.length > 0);
  // The body starts on line 2 of the generated file.
  return errors.map((d) => ({
    ...d,
    line: d.start === undefined ? undefined : decoded.source.position(d.start).line - 1,
  }));
}

/**
 * Decodes every block of a whole configuration file whose component is one of
 * `definitions` (erased with `eraseDefinition`), as the loader would, against the placeholder exports of every such block
 * (blocks of other components are skipped). Parse errors fail the test.
 */
export function decodeConfig(
  text: string,
  definitions: readonly AnyComponentDefinition[],
): { readonly ids: readonly string[]; readonly diagnostics: readonly Diagnostic[] } {
  const parsed = parseFile(SourceFile.fromText('example.alloy', text));
  assert.deepEqual(parsed.diagnostics, [], 'the example does not parse');
  const byName = new Map<string, AnyComponentDefinition>(definitions.map((d) => [d.name, d]));
  const blocks: { readonly id: string; readonly definition: AnyComponentDefinition; readonly block: BlockStatement }[] =
    [];
  for (const stmt of parsed.file?.body ?? []) {
    if (stmt.kind !== 'Block') continue;
    const definition = byName.get(stmt.name.join('.'));
    if (definition === undefined || stmt.label === undefined) continue;
    blocks.push({ id: `${stmt.name.join('.')}.${stmt.label}`, definition, block: stmt });
  }
  const scope = scopeWith(Object.fromEntries(blocks.map((b) => [b.id, b.definition.placeholderExports])));
  const diagnostics: Diagnostic[] = [];
  for (const b of blocks) decodeBlock<unknown>(b.definition, b.block, scope, diagnostics);
  return { ids: blocks.map((b) => b.id), diagnostics };
}

/** The ```alloy fenced blocks of a Markdown file, for README examples used as fixtures. */
export function alloyExamples(markdownUrl: URL): string[] {
  const text = readFileSync(markdownUrl, 'utf8');
  return [...text.matchAll(/^```alloy\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

/** One log event as the JSON format writes it. */
export type LogEntry = Readonly<Record<string, unknown>> & { readonly level: string; readonly msg: string };

/** A log stream that keeps every JSON line in memory. */
export class LogRecorder implements LogStream {
  private readonly lines: string[] = [];

  write(chunk: string): void {
    this.lines.push(chunk);
  }

  /** Every event so far, parsed. */
  entries(): LogEntry[] {
    return this.lines.map((line) => {
      const parsed: unknown = JSON.parse(line);
      assert.ok(typeof parsed === 'object' && parsed !== null && 'level' in parsed && 'msg' in parsed);
      const { level, msg } = parsed;
      assert.ok(typeof level === 'string' && typeof msg === 'string');
      return { ...parsed, level, msg };
    });
  }

  /** Every line as written, for checks that nothing secret was printed. */
  text(): string {
    return this.lines.join('');
  }
}

/** A component context for tests, with what it records. */
export interface TestContext extends ComponentContext {
  readonly clock: FakeClock;
  readonly logs: LogRecorder;
  readonly registry: MetricsRegistry;
  /** The last `setHealth` report. */
  readonly health: () => string | undefined;
}

/** A context for component `id` (`<name>.<label>`): debug-level JSON logs in memory, a fake clock. */
export function testContext(id: string): TestContext {
  const clock = new FakeClock();
  const logs = new LogRecorder();
  const registry = new MetricsRegistry();
  let health: string | undefined;
  return {
    id,
    logger: createLogger({ level: 'debug', format: 'json', stream: logs, clock }).child({
      component_path: '/',
      component_id: id,
    }),
    metrics: registry.scope({ constLabels: { component_id: id, component_path: '/' } }),
    clock,
    setHealth: (problem) => {
      health = problem;
    },
    logs,
    registry,
    health: () => health,
  };
}

/** A started component and its test context. */
export interface Running<A> extends TestContext {
  readonly args: A;
  readonly component: Component<A>;
  readonly exports: ComponentExports;
  /** Decodes `body` against the same exports and applies it with `update`. */
  update(body: string): Promise<void>;
  /** Shuts down with a deadline `deadlineMs` after the fake clock's now (default 1000). */
  stop(deadlineMs?: number): Promise<void>;
}

/** Decodes `body` (failing the test on errors), builds and starts the component. */
export async function startComponent<A>(
  definition: ComponentDefinition<A>,
  body: string,
  options: HarnessOptions = {},
): Promise<Running<A>> {
  const { args } = expectArguments(definition, body, options);
  const context = testContext(`${definition.name}.${options.label ?? 'test'}`);
  const component = await definition.build(context, args);
  await component.start(new AbortController().signal);
  return {
    ...context,
    args,
    component,
    exports: component.exports,
    update: async (next) => {
      await component.update(expectArguments(definition, next, options).args);
    },
    stop: (deadlineMs = 1000) => component.shutdown(context.clock.now() + deadlineMs),
  };
}

/** Exports `{ input }` of a component `id` whose input is `consumer`, for `output` blocks to list. */
export function consumerExports(
  id: string,
  consumer: BatchConsumer,
  signals: readonly Signal[] = ['traces', 'logs', 'metrics'],
): ComponentExports {
  return { input: consumerCapsule(new SwitchableConsumer(id, signals, consumer)) };
}

/** A consumer for `output` blocks that records every batch; `exports` holds it as `input`. */
export function recordingOutput(
  id: string,
  signals: readonly Signal[] = ['traces', 'logs', 'metrics'],
): { readonly recorder: RecordingConsumer; readonly exports: ComponentExports } {
  const recorder = new RecordingConsumer();
  return { recorder, exports: consumerExports(id, recorder, signals) };
}

/** The auth handler a component exports as `name` (default `handler`); fails the test otherwise. */
export function exportedHandler(exports: ComponentExports, name = 'handler'): AuthHandler {
  const value = exports[name];
  assert.ok(value !== undefined, `no export ${name}`);
  const converted = handlerType().convert(value);
  assert.ok(converted.ok, `export ${name} is not an otelcol.Handler`);
  return converted.value;
}

/** The consumer a component exports as `name` (default `input`); fails the test otherwise. */
export function exportedConsumer(exports: ComponentExports, name = 'input'): OtelConsumer {
  const value = exports[name];
  assert.ok(value !== undefined, `no export ${name}`);
  const converted = consumerType().convert(value);
  assert.ok(converted.ok, `export ${name} is not an otelcol.Consumer`);
  return converted.value;
}
