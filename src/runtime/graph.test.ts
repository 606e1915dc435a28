import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { buildGraph, type GraphNode } from './graph.ts';

const STDLIB = new Set(['env', 'sys', 'string', 'concat']);
const isGlobal = (name: string): boolean => STDLIB.has(name);

/** A node whose body references `refs` (dotted), positioned by index. */
function node(id: string, ...refs: string[]): GraphNode {
  return { id, start: 0, traversals: refs.map((r, i) => ({ names: r.split('.'), start: i * 10, end: i * 10 + 5 })) };
}

describe('buildGraph', () => {
  it('orders components after the components they read, keeping file order otherwise', () => {
    const graph = buildGraph(
      [
        node('otelcol.receiver.otlp.default', 'otelcol.exporter.loadbalancing.default.input'),
        node('otelcol.exporter.loadbalancing.default', 'otelcol.auth.basic.creds.handler'),
        node('otelcol.auth.basic.creds', 'env'),
        node('otelcol.exporter.debug.x'),
      ],
      isGlobal,
    );

    assert.deepEqual(graph.diagnostics, []);
    assert.deepEqual(graph.order, [
      'otelcol.auth.basic.creds',
      'otelcol.exporter.debug.x',
      'otelcol.exporter.loadbalancing.default',
      'otelcol.receiver.otlp.default',
    ]);
    assert.deepEqual(
      [...(graph.dependencies.get('otelcol.receiver.otlp.default') ?? [])],
      ['otelcol.exporter.loadbalancing.default'],
    );
  });

  it('matches the shortest prefix that is a component ID', () => {
    const graph = buildGraph([node('a.b', 'x.y.z.w'), node('x.y'), node('x.y.z')], isGlobal);

    assert.deepEqual([...(graph.dependencies.get('a.b') ?? [])], ['x.y']);
  });

  it('reports a reference to no component, with the whole traversal, at its position', () => {
    const graph = buildGraph([node('a.b', 'env', 'otelcol.exporter.foo.bar.input')], isGlobal);

    assert.deepEqual(
      graph.diagnostics.map((d) => [d.code, d.message, d.start]),
      [['graph/unknown-reference', 'component "otelcol.exporter.foo.bar.input" does not exist or is out of scope', 10]],
    );
  });

  it('reports a self reference', () => {
    const graph = buildGraph([node('a.b', 'a.b.input')], isGlobal);

    assert.deepEqual(
      graph.diagnostics.map((d) => d.message),
      ['self reference: a.b'],
    );
  });

  it('reports each cycle once, in file order, and still orders every node', () => {
    const graph = buildGraph(
      [node('c.one', 'c.two.input'), node('c.two', 'c.three.input'), node('c.three', 'c.one.input'), node('d.x')],
      isGlobal,
    );

    assert.deepEqual(
      graph.diagnostics.map((d) => [d.code, d.message]),
      [['graph/cycle', 'cycle: c.one, c.two, c.three']],
    );
    assert.equal(graph.order.length, 4);
  });
});
