import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { attr, body, string } from '../syntax/schema.ts';
import { createScope } from '../syntax/evaluate.ts';
import { SourceFile } from '../syntax/source.ts';
import type { ComponentDefinition } from './component.ts';
import { eraseDefinition } from './component.ts';
import { planConfig } from './loader.ts';
import { createRegistry } from './registry.ts';

const thing: ComponentDefinition<{ readonly value: string | undefined }> = {
  name: 'otelcol.exporter.thing',
  stability: 'generally-available',
  arguments: body({ value: attr('value', string()) }),
  placeholderExports: {},
  build: () => Promise.reject(new Error('not built in these tests')),
};
const registry = createRegistry([eraseDefinition(thing)]);

function plan(text: string): ReturnType<typeof planConfig> {
  return planConfig(new SourceFile('t.alloy', new TextEncoder().encode(text)), {
    registry,
    scope: createScope({ stdlib: createScope().stdlib }),
  });
}

function codes(text: string): string[] {
  return plan(text).diagnostics.map((d) => d.code);
}

describe('planConfig', () => {
  it('plans the components in dependency order', () => {
    const { plan: p, diagnostics } = plan(
      'otelcol.exporter.thing "b" { value = otelcol.exporter.thing.a.x }\notelcol.exporter.thing "a" {}\n',
    );

    assert.deepEqual(diagnostics, []);
    assert.deepEqual(
      p?.order.map((n) => n.id),
      ['otelcol.exporter.thing.a', 'otelcol.exporter.thing.b'],
    );
  });

  it('reports each top-level problem with its own code, all in one run', () => {
    const found = codes(
      [
        'log_level = "debug"',
        'otelcol.exporter.thang "x" {}',
        'otelcol.exporter.thing {}',
        'otelcol.exporter.thing "a" {}',
        'otelcol.exporter.thing "a" {}',
        'declare "d" {}',
        '',
      ].join('\n'),
    );

    assert.deepEqual(found, [
      'load/top-level-attribute',
      'load/unknown-component',
      'load/missing-label',
      'load/duplicate',
      'load/unsupported-block',
    ]);
  });

  it('suggests the nearest component name for a typo', () => {
    const [d] = plan('otelcol.exporter.thang "x" {}\n').diagnostics;

    assert.match(
      d?.message ?? '',
      /cannot find the definition of component name "otelcol\.exporter\.thang" \(did you mean "otelcol\.exporter\.thing"\?\)/,
    );
  });

  it('warns about a deprecated standard-library name, naming its replacement, and still plans', () => {
    const { plan: p, diagnostics } = plan('otelcol.exporter.thing "a" { value = env("X") }\n');

    assert.ok(p !== undefined);
    assert.deepEqual(
      diagnostics.map((d) => [d.severity, d.code]),
      [['warning', 'load/deprecated-function']],
    );
    assert.match(diagnostics.map((d) => d.message).join('\n'), /env is deprecated; use sys\.env instead/);
  });

  it('reads the logging block and refuses a level it does not know', () => {
    assert.deepEqual(plan('logging {\n  level = "debug"\n  format = "json"\n}\n').plan?.logging, {
      level: 'debug',
      format: 'json',
    });
    assert.deepEqual(codes('logging {\n  level = "loud"\n}\n'), ['decode/value']);
  });
});
