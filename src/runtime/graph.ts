/**
 * The component graph: which component's arguments read which other component's exports,
 * in what order to evaluate and start them, and what is wrong with the references
 * (alloy-syntax.md §5.2).
 *
 * Pure: component IDs and the traversals found in their bodies in, an order and
 * diagnostics out. The loader finds the traversals (`findTraversals` of the evaluator);
 * this module only matches them.
 */

import type { Diagnostic } from '../syntax/diagnostics.ts';
import type { Pos } from '../syntax/source.ts';

/** `a.b.c` as written in a component's body: an identifier and its unbroken `.name` chain. */
export interface Traversal {
  readonly names: readonly string[];
  readonly start: Pos;
  readonly end: Pos;
}

/** One component block, as the graph sees it. */
export interface GraphNode {
  /** `otelcol.exporter.otlp.default`. */
  readonly id: string;
  /** Where the block's name starts (for cycle diagnostics). */
  readonly start: Pos;
  readonly traversals: readonly Traversal[];
}

/** The result of {@link buildGraph}. */
export interface ComponentGraph {
  /** Every node ID in an order where each comes after all it depends on (stable otherwise). */
  readonly order: readonly string[];
  /** Node ID → the IDs it reads. */
  readonly dependencies: ReadonlyMap<string, ReadonlySet<string>>;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Matches every traversal to the component whose ID is its shortest matching prefix,
 * reports those that match none (unless their first name is a standard library name), and
 * orders the nodes; cycles and self references are errors.
 */
export function buildGraph(nodes: readonly GraphNode[], isGlobalName: (name: string) => boolean): ComponentGraph {
  const diagnostics: Diagnostic[] = [];
  const ids = new Set(nodes.map((n) => n.id));
  const dependencies = new Map<string, Set<string>>();

  for (const node of nodes) {
    const deps = new Set<string>();
    dependencies.set(node.id, deps);
    for (const traversal of node.traversals) {
      const target = matchComponent(traversal.names, ids);
      if (target === undefined) {
        const first = traversal.names[0] ?? '';
        if (!isGlobalName(first)) {
          diagnostics.push({
            severity: 'error',
            code: 'graph/unknown-reference',
            message: `component "${traversal.names.join('.')}" does not exist or is out of scope`,
            start: traversal.start,
            end: traversal.end,
          });
        }
        continue;
      }
      if (target === node.id) {
        diagnostics.push({
          severity: 'error',
          code: 'graph/self-reference',
          message: `self reference: ${node.id}`,
          start: traversal.start,
          end: traversal.end,
        });
        continue;
      }
      deps.add(target);
    }
  }

  const order = topologicalOrder(nodes, dependencies, diagnostics);
  return { order, dependencies, diagnostics };
}

/** The shortest prefix of `names` that is a component ID. */
function matchComponent(names: readonly string[], ids: ReadonlySet<string>): string | undefined {
  let prefix = '';
  for (let i = 0; i < names.length; i++) {
    prefix = i === 0 ? (names[0] ?? '') : `${prefix}.${names[i] ?? ''}`;
    if (ids.has(prefix)) return prefix;
  }
  return undefined;
}

/**
 * Kahn's algorithm, taking ready nodes in file order so that the order is stable. Nodes
 * left over are on or behind a cycle; each strongly connected component is reported once.
 */
function topologicalOrder(
  nodes: readonly GraphNode[],
  dependencies: ReadonlyMap<string, ReadonlySet<string>>,
  diagnostics: Diagnostic[],
): string[] {
  const remaining = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const node of nodes) {
    const deps = dependencies.get(node.id) ?? new Set<string>();
    remaining.set(node.id, deps.size);
    for (const dep of deps) {
      const list = dependents.get(dep) ?? [];
      list.push(node.id);
      dependents.set(dep, list);
    }
  }
  const order: string[] = [];
  const done = new Set<string>();
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const node of nodes) {
      if (done.has(node.id) || remaining.get(node.id) !== 0) continue;
      done.add(node.id);
      order.push(node.id);
      progressed = true;
      for (const dependent of dependents.get(node.id) ?? []) {
        remaining.set(dependent, (remaining.get(dependent) ?? 1) - 1);
      }
    }
  }
  if (order.length === nodes.length) return order;

  const stuck = nodes.filter((n) => !done.has(n.id));
  for (const cycle of stronglyConnected(stuck, dependencies)) {
    if (cycle.length < 2) continue;
    const first = stuck.find((n) => n.id === cycle[0]);
    diagnostics.push({
      severity: 'error',
      code: 'graph/cycle',
      message: `cycle: ${cycle.join(', ')}`,
      start: first?.start,
    });
  }
  // Still give every node a place, so that callers can report per component.
  for (const node of stuck) order.push(node.id);
  return order;
}

/** Tarjan's strongly connected components among `nodes`, each in file order. */
function stronglyConnected(
  nodes: readonly GraphNode[],
  dependencies: ReadonlyMap<string, ReadonlySet<string>>,
): string[][] {
  const position = new Map(nodes.map((n, i) => [n.id, i]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result: string[][] = [];
  let next = 0;

  const visit = (id: string): void => {
    index.set(id, next);
    low.set(id, next);
    next++;
    stack.push(id);
    onStack.add(id);
    for (const dep of dependencies.get(id) ?? []) {
      if (!position.has(dep)) continue;
      if (!index.has(dep)) {
        visit(dep);
        low.set(id, Math.min(low.get(id) ?? 0, low.get(dep) ?? 0));
      } else if (onStack.has(dep)) {
        low.set(id, Math.min(low.get(id) ?? 0, index.get(dep) ?? 0));
      }
    }
    if (low.get(id) === index.get(id)) {
      const component: string[] = [];
      for (;;) {
        const top = stack.pop();
        if (top === undefined) break;
        onStack.delete(top);
        component.push(top);
        if (top === id) break;
      }
      component.sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));
      result.push(component);
    }
  };
  for (const node of nodes) if (!index.has(node.id)) visit(node.id);
  return result;
}
