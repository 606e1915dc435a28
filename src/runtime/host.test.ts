import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createScope } from '../syntax/evaluate.ts';
import { attr, body, bool, capsule, list, string } from '../syntax/schema.ts';
import { SourceFile } from '../syntax/source.ts';
import { capsuleValue } from '../syntax/value.ts';
import type { Component, ComponentDefinition } from './component.ts';
import { eraseDefinition } from './component.ts';
import { Host } from './host.ts';
import { createRegistry } from './registry.ts';

/** What the fake components did, in order: `start x`, `update x`, `stop x`. */
type Journal = string[];

interface Sink {
  readonly id: string;
}

function isSink(x: unknown): x is Sink {
  return typeof x === 'object' && x !== null && 'id' in x;
}

function definitions(journal: Journal): ComponentDefinition<never>[] {
  const exporter: ComponentDefinition<{ readonly failStart: boolean; readonly tag: string }> = {
    name: 'otelcol.exporter.fake',
    stability: 'generally-available',
    arguments: body({
      failStart: attr('fail_start', bool(), { default: false }),
      tag: attr('tag', string(), { default: '' }),
    }),
    placeholderExports: { input: capsuleValue('test.Sink', { id: 'placeholder' }) },
    build: (context, args) => {
      const component: Component<typeof args> = {
        exports: { input: capsuleValue('test.Sink', { id: context.id }) },
        start: () => {
          journal.push(`start ${context.id}`);
          return args.failStart ? Promise.reject(new Error('port in use')) : Promise.resolve();
        },
        update: () => {
          journal.push(`update ${context.id}`);
          return Promise.resolve();
        },
        shutdown: () => {
          journal.push(`stop ${context.id}`);
          return Promise.resolve();
        },
      };
      return Promise.resolve(component);
    },
  };
  const receiver: ComponentDefinition<{ readonly output: readonly Sink[] }> = {
    name: 'otelcol.receiver.fake',
    stability: 'generally-available',
    arguments: body({ output: attr('output', list(capsule('test.Sink', isSink)), { default: [] }) }),
    placeholderExports: {},
    build: (context, args) => {
      let current = args.output.map((s) => s.id).join(',');
      const component: Component<typeof args> = {
        exports: {},
        start: () => {
          journal.push(`start ${context.id} -> ${current}`);
          return Promise.resolve();
        },
        update: (next) => {
          current = next.output.map((s) => s.id).join(',');
          journal.push(`update ${context.id} -> ${current}`);
          return Promise.resolve();
        },
        shutdown: () => {
          journal.push(`stop ${context.id}`);
          return Promise.resolve();
        },
      };
      return Promise.resolve(component);
    },
  };
  return [exporter as unknown as ComponentDefinition<never>, receiver as unknown as ComponentDefinition<never>];
}

function setup(): { host: Host; journal: Journal; load: (text: string) => ReturnType<Host['load']> } {
  const journal: Journal = [];
  const host = new Host({
    registry: createRegistry(definitions(journal).map((d) => eraseDefinition(d))),
    scope: createScope(),
  });
  const load = (text: string): ReturnType<Host['load']> =>
    host.load(new SourceFile('t.alloy', new TextEncoder().encode(text)));
  return { host, journal, load };
}

const E = 'otelcol.exporter.fake';
const R = 'otelcol.receiver.fake';

describe('Host', () => {
  it('starts what is read before what reads it, and stops in reverse order', async () => {
    const { host, journal, load } = setup();

    const result = await load(`${R} "r" { output = [${E}.a.input] }\n${E} "a" {}\n`);
    await host.shutdown(0);

    assert.equal(result.ok, true);
    assert.deepEqual(journal, [`start ${E}.a`, `start ${R}.r -> ${E}.a`, `stop ${R}.r`, `stop ${E}.a`]);
  });

  it('reloads without a gap: the new exporter starts, the receiver is repointed, then the old exporter stops', async () => {
    const { journal, load } = setup();
    await load(`${R} "r" { output = [${E}.a.input] }\n${E} "a" {}\n`);
    journal.length = 0;

    const result = await load(`${R} "r" { output = [${E}.b.input] }\n${E} "b" {}\n`);

    assert.equal(result.ok, true);
    assert.deepEqual(journal, [`start ${E}.b`, `update ${R}.r -> ${E}.b`, `stop ${E}.a`]);
  });

  it('stops a removed receiver before starting its replacement (which may want the same port)', async () => {
    const { journal, load } = setup();
    await load(`${R} "one" { output = [${E}.a.input] }\n${E} "a" {}\n`);
    journal.length = 0;

    await load(`${R} "two" { output = [${E}.a.input] }\n${E} "a" {}\n`);

    assert.deepEqual(journal, [`stop ${R}.one`, `start ${R}.two -> ${E}.a`]);
  });

  it('leaves components whose arguments did not change alone', async () => {
    const { journal, load } = setup();
    const text = `${R} "r" { output = [${E}.a.input] }\n${E} "a" { tag = "x" }\n`;
    await load(text);
    journal.length = 0;

    await load(text);
    await load(text.replace('"x"', '"y"'));

    assert.deepEqual(journal, [`update ${E}.a`]);
  });

  it('changes nothing when the new file has an error, and reports every error', async () => {
    const { journal, load } = setup();
    await load(`${R} "r" { output = [${E}.a.input] }\n${E} "a" {}\n`);
    journal.length = 0;

    const result = await load(`${R} "r" {\n  output = [${E}.b.input]\n  bogus = 1\n}\n${E} "b" { tag = 1 + "x" }\n`);

    assert.equal(result.ok, false);
    assert.deepEqual(
      result.diagnostics.map((d) => d.code),
      ['eval/type', 'decode/unknown-attribute'],
    );
    assert.deepEqual(journal, []);
  });

  it('keeps the running configuration when a new component fails to start', async () => {
    const { host, journal, load } = setup();
    await load(`${R} "r" { output = [${E}.a.input] }\n${E} "a" {}\n`);
    journal.length = 0;

    const result = await load(`${R} "r" { output = [${E}.b.input] }\n${E} "b" { fail_start = true }\n`);

    assert.equal(result.ok, false);
    assert.match(result.error?.message ?? '', /otelcol\.exporter\.fake\.b failed to start: port in use/);
    assert.deepEqual(journal, [`start ${E}.b`, `stop ${E}.b`]);
    assert.deepEqual(host.componentIds, [`${E}.a`, `${R}.r`]);
  });
});
