/**
 * From a configuration file to a plan of components (alloy-syntax.md §5): parse, check the
 * top level, match references into a graph, and decode each component's arguments.
 *
 * - The top level holds only blocks. `logging` is the one reserved block otel-lb reads
 *   (`level`, `format`); Alloy's other reserved blocks (`tracing`, `declare`, `import.*`, …)
 *   are reported as not supported. Every other block is a component: its name must be
 *   registered, it must have a label, and its ID (`name.label`) must be unique.
 * - {@link planConfig} is pure: it neither builds nor evaluates components. The host then
 *   walks {@link ConfigPlan.order}, decoding each component with {@link decodeComponent}
 *   against a scope holding the exports of the components before it.
 */

import type { BlockStatement } from '../syntax/ast.ts';
import type { Diagnostic } from '../syntax/diagnostics.ts';
import { createScope, findBodyTraversals, type Scope } from '../syntax/evaluate.ts';
import { parseFile } from '../syntax/parser.ts';
import { DEPRECATED_STDLIB_NAMES } from '../syntax/stdlib.ts';
import { attr, body, closest, string, type Infer } from '../syntax/schema.ts';
import type { SourceFile } from '../syntax/source.ts';
import type { AnyComponentDefinition } from './component.ts';
import { buildGraph } from './graph.ts';
import type { Registry } from './registry.ts';

/** One component block of the file. */
export interface ComponentNode {
  /** `otelcol.exporter.otlp.default`. */
  readonly id: string;
  /** The ID's fragments: `['otelcol', 'exporter', 'otlp', 'default']`. */
  readonly idParts: readonly string[];
  readonly definition: AnyComponentDefinition;
  readonly block: BlockStatement;
}

/** The `logging` block. */
export const loggingSchema = body({
  level: attr('level', string(), {
    default: 'info',
    check: (v) =>
      ['debug', 'info', 'warn', 'error'].includes(v)
        ? undefined
        : `unrecognized log level "${v}"; use "debug", "info", "warn" or "error"`,
  }),
  format: attr('format', string(), {
    default: 'logfmt',
    check: (v) =>
      ['logfmt', 'json'].includes(v) ? undefined : `unrecognized log format "${v}"; use "logfmt" or "json"`,
  }),
});
export type LoggingSettings = Infer<typeof loggingSchema>;

/** What {@link planConfig} found. */
export interface ConfigPlan {
  /** Components in dependency order: each after every component it reads. */
  readonly order: readonly ComponentNode[];
  /** ID → the IDs it reads. */
  readonly dependencies: ReadonlyMap<string, ReadonlySet<string>>;
  /** The `logging` block, if written. */
  readonly logging: LoggingSettings | undefined;
  /** The scope without component exports: the standard library. */
  readonly baseScope: Scope;
}

/** Options of {@link planConfig}. */
export interface PlanOptions {
  readonly registry: Registry;
  /** The standard library scope; default {@link createScope} (reading `process.env`). */
  readonly scope?: Scope;
}

const RESERVED_BLOCKS = new Set([
  'tracing',
  'argument',
  'export',
  'declare',
  'foreach',
  'import.file',
  'import.string',
  'import.http',
  'import.git',
  'remotecfg',
  'livedebugging',
  'http',
]);

/**
 * Parses `source` and plans its components. `plan` is `undefined` when there is any error;
 * `diagnostics` holds every problem found (warnings too), in file order per phase.
 */
export function planConfig(
  source: SourceFile,
  options: PlanOptions,
): { readonly plan: ConfigPlan | undefined; readonly diagnostics: readonly Diagnostic[] } {
  const parsed = parseFile(source);
  if (parsed.file === undefined) return { plan: undefined, diagnostics: parsed.diagnostics };
  const diagnostics: Diagnostic[] = [];
  const baseScope = options.scope ?? createScope();

  const nodes: ComponentNode[] = [];
  const declared = new Map<string, BlockStatement>();
  let logging: LoggingSettings | undefined;
  let loggingBlock: BlockStatement | undefined;

  for (const stmt of parsed.file.body) {
    if (stmt.kind === 'Attribute') {
      diagnostics.push({
        severity: 'error',
        code: 'load/top-level-attribute',
        message: `unrecognized attribute ${stmt.name.name}: the top level of a configuration file holds only blocks`,
        start: stmt.start,
        end: stmt.name.end,
      });
      continue;
    }
    const name = stmt.name.join('.');
    if (name === 'logging') {
      if (loggingBlock !== undefined) {
        diagnostics.push(
          blockError(stmt, 'load/duplicate', `block logging already declared at ${at(source, loggingBlock)}`),
        );
        continue;
      }
      loggingBlock = stmt;
      logging = loggingSchema.decode(stmt.body, baseScope, { start: stmt.nameStart, end: stmt.nameEnd }, diagnostics);
      continue;
    }
    if (RESERVED_BLOCKS.has(name)) {
      diagnostics.push(
        blockError(stmt, 'load/unsupported-block', `block ${name} is not supported by otel-lb; remove it`),
      );
      continue;
    }
    const definition = options.registry.get(name);
    if (definition === undefined) {
      const suggestion = closest(name, options.registry.names);
      const hint =
        suggestion === undefined
          ? `; otel-lb has ${options.registry.names.join(', ')}`
          : ` (did you mean "${suggestion}"?)`;
      diagnostics.push(
        blockError(stmt, 'load/unknown-component', `cannot find the definition of component name "${name}"${hint}`),
      );
      continue;
    }
    if (stmt.label === undefined || stmt.label === '') {
      diagnostics.push(blockError(stmt, 'load/missing-label', `component "${name}" must have a label`));
      continue;
    }
    const id = `${name}.${stmt.label}`;
    const previous = declared.get(id);
    if (previous !== undefined) {
      diagnostics.push(blockError(stmt, 'load/duplicate', `block ${id} already declared at ${at(source, previous)}`));
      continue;
    }
    declared.set(id, stmt);
    nodes.push({ id, idParts: [...stmt.name, stmt.label], definition, block: stmt });
  }

  const graphNodes = nodes.map((n) => ({
    id: n.id,
    start: n.block.nameStart,
    traversals: findBodyTraversals(n.block.body),
  }));
  const graph = buildGraph(graphNodes, (first) => baseScope.stdlib.has(first));
  diagnostics.push(...graph.diagnostics);
  for (const node of graphNodes) {
    for (const t of node.traversals) {
      const [name] = t.names;
      if (name === undefined || t.names.length !== 1 || !DEPRECATED_STDLIB_NAMES.has(name) || declared.has(name))
        continue;
      const value = baseScope.stdlib.get(name);
      const replacement = value?.type === 'function' && value.name !== name ? ` use ${value.name} instead` : '';
      diagnostics.push({
        severity: 'warning',
        code: 'load/deprecated-function',
        message: `${name} is deprecated;${replacement === '' ? ' see the standard library for its namespaced name' : replacement}`,
        start: t.start,
        end: t.end,
      });
    }
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { plan: undefined, diagnostics };

  const byId = new Map(nodes.map((n) => [n.id, n]));
  const order = graph.order.map((id) => byId.get(id)).filter((n): n is ComponentNode => n !== undefined);
  return {
    plan: Object.freeze({ order, dependencies: graph.dependencies, logging, baseScope }),
    diagnostics,
  };
}

/**
 * Decodes `node`'s arguments against `scope` (the exports of the components before it) and
 * runs the definition's own checks. `args` is `undefined` when there was an error; every
 * diagnostic is positioned in the file.
 */
export function decodeComponent(
  node: ComponentNode,
  scope: Scope,
): { readonly args: unknown; readonly ok: boolean; readonly diagnostics: readonly Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const where = { start: node.block.nameStart, end: node.block.nameEnd };
  const args = node.definition.arguments.decode(node.block.body, scope, where, diagnostics);
  if (args === undefined) return { args: undefined, ok: false, diagnostics };
  for (const message of node.definition.check?.(args) ?? []) {
    diagnostics.push({
      severity: 'error',
      code: 'load/invalid-arguments',
      message: `Failed to build component: decoding configuration: ${message}`,
      ...where,
    });
  }
  const ok = !diagnostics.some((d) => d.severity === 'error');
  return { args: ok ? args : undefined, ok, diagnostics };
}

function blockError(stmt: BlockStatement, code: string, message: string): Diagnostic {
  return { severity: 'error', code, message, start: stmt.nameStart, end: stmt.nameEnd };
}

function at(source: SourceFile, stmt: BlockStatement): string {
  const p = source.position(stmt.start);
  return `${p.file === '' ? '' : `${p.file}:`}${p.line}:${p.column}`;
}
