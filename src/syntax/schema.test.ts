import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createScope } from './evaluate.ts';
import { parseFile } from './parser.ts';
import {
  attr,
  block,
  blocks,
  body,
  bool,
  bytes,
  duration,
  int,
  list,
  map,
  parseBase2Bytes,
  parseGoDuration,
  refine,
  secret,
  string,
  type BodySchema,
} from './schema.ts';
import { SourceFile } from './source.ts';

/** Decodes `text` (the body of a block `x { … }`) with `schema`; diagnostics as `line:col code message`. */
function decode<T>(schema: BodySchema<T>, text: string): { value: T | undefined; problems: string[] } {
  const source = new SourceFile('t.alloy', new TextEncoder().encode(`x {\n${text}\n}\n`));
  const { file } = parseFile(source);
  const stmt = file?.body[0];
  assert.ok(stmt?.kind === 'Block', 'test config must parse');
  const diagnostics: Parameters<BodySchema<T>['decode']>[3] = [];
  const value = schema.decode(
    stmt.body,
    createScope({ stdlib: createScope().stdlib }),
    { start: stmt.nameStart, end: stmt.nameEnd },
    diagnostics,
  );
  const problems = diagnostics.map((d) => {
    const p = d.start === undefined ? undefined : source.position(d.start);
    return `${p === undefined ? '-' : `${p.line}:${p.column}`} ${d.code} ${d.message}`;
  });
  return { value, problems };
}

const tls = body({ insecure: attr('insecure', bool(), { default: false }) });
const client = body({
  endpoint: attr('endpoint', string(), { required: true }),
  timeoutMs: attr('timeout', duration(), { default: 5_000 }),
  size: attr('size', bytes(), { default: 512 * 1024 }),
  headers: attr('headers', map(string()), { default: new Map<string, string>() }),
  count: attr('count', int(), { default: 10, check: (v) => (v < 1 ? 'count must be at least 1' : undefined) }),
  tls: block('tls', tls, { omitted: 'defaults' }),
  extra: block('extra', tls),
  header: blocks('header', body({ key: attr('key', string(), { required: true }) })),
});

describe('schema decoding', () => {
  it('applies defaults for omitted attributes and blocks, and a block its own defaults when written empty', () => {
    const { value, problems } = decode(client, 'endpoint = "a:1"\nextra {}');

    assert.deepEqual(problems, []);
    assert.ok(value !== undefined);
    assert.equal(value.timeoutMs, 5_000);
    assert.deepEqual(value.tls, { insecure: false });
    assert.deepEqual(value.extra, { insecure: false });
    assert.deepEqual(value.header, []);
    assert.equal(decode(client, 'endpoint = "a:1"').value?.extra, undefined);
  });

  it('turns null into the zero value, numbers into strings, whole-string numbers into numbers, and truncates floats', () => {
    const { value, problems } = decode(client, 'endpoint = 4317\ntimeout = null\ncount = "12"\nsize = "1.5MiB"');
    const truncated = decode(client, 'endpoint = "a:1"\ncount = 2.9').value;

    assert.deepEqual(problems, []);
    assert.ok(value !== undefined);
    assert.equal(value.endpoint, '4317');
    assert.equal(value.timeoutMs, 0);
    assert.equal(value.count, 12);
    assert.equal(value.size, 1.5 * 1024 * 1024);
    assert.equal(truncated?.count, 2);
  });

  it('reports every problem of a body with Alloy messages, positioned, and a suggestion for typos', () => {
    const { value, problems } = decode(
      client,
      [
        'endpont = "a"',
        'timeout = "5"',
        'tls = {}',
        'count { }',
        'count = 0',
        'headers = { a = [1] }',
        'extra "label" {}',
        'header {}',
      ].join('\n'),
    );

    assert.equal(value, undefined);
    assert.deepEqual(problems, [
      '2:1 decode/unknown-attribute unrecognized attribute name "endpont" (did you mean "endpoint"?)',
      '3:11 decode/value "5" time: missing unit in duration "5"',
      '4:1 decode/kind "tls" must be a block, but is used as an attribute',
      '5:1 decode/kind "count" must be an attribute, but is used as a block',
      '6:9 decode/value count must be at least 1',
      '7:17 decode/type [1] should be string, got array',
      '8:1 decode/label block "extra" does not support specifying labels',
      '9:1 decode/missing-attribute missing required attribute "key"',
      '1:1 decode/missing-attribute missing required attribute "endpoint"',
    ]);
  });

  it('refuses an attribute or a non-repeatable block given twice, and keeps repeatable blocks in order', () => {
    const twice = decode(client, 'endpoint = "a"\nendpoint = "b"\ntls {}\ntls {}').problems;
    const repeated = decode(client, 'endpoint = "a"\nheader { key = "x" }\nheader { key = "y" }').value;

    assert.deepEqual(twice, [
      '3:1 decode/duplicate attribute "endpoint" may only be provided once',
      '5:1 decode/duplicate block "tls" may only be specified once',
    ]);
    assert.deepEqual(
      repeated?.header.map((h) => h.key),
      ['x', 'y'],
    );
  });

  it('keeps secrets secret, and takes only strings or secrets for them', () => {
    const schema = body({ password: attr('password', secret()) });

    const { value } = decode(schema, 'password = "hunter2"');
    const refused = decode(schema, 'password = 1');

    assert.equal(String(value?.password), '(secret)');
    assert.equal(JSON.stringify(value), '{"password":"(secret)"}');
    assert.equal(value?.password?.reveal(), 'hunter2');
    assert.deepEqual(refused.problems, ['2:12 decode/type 1 should be string or secret, got number']);
  });

  it('maps a decoded body with refine, reporting issues at the field they name', () => {
    const resolver = refine(body({ a: block('a', tls), b: block('b', tls) }), (v, report) => {
      if (v.a !== undefined && v.b !== undefined) report({ message: 'only one of a and b', field: 'b' });
      return v.a !== undefined ? 'a' : 'b';
    });

    assert.equal(decode(resolver, 'a {}').value, 'a');
    assert.deepEqual(decode(resolver, 'a {}\nb {}').problems, ['3:1 decode/validation only one of a and b']);
  });

  it('decodes lists element by element, naming the element that is wrong', () => {
    const schema = body({ ports: attr('ports', list(int()), { default: [4317] }) });

    assert.deepEqual(decode(schema, 'ports = ["34621", 4318]').value?.ports, [34621, 4318]);
    assert.deepEqual(decode(schema, 'ports = [1, true]').problems, [
      '2:13 decode/type true should be number, got bool',
    ]);
  });
});

describe('parseGoDuration', () => {
  const cases: readonly (readonly [string, number | string])[] = [
    ['5s', 5_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    ['300ms', 300],
    ['2us', 0.002],
    ['2µs', 0.002],
    ['-3m', -180_000],
    ['0', 0],
    ['5', 'time: missing unit in duration "5"'],
    ['', 'time: invalid duration ""'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['5S', 'time: unknown unit "S" in duration "5S"'],
    ['.s', 'time: invalid duration ".s"'],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} → ${String(expected)}`, () => {
      assert.equal(parseGoDuration(text), expected);
    });
  }
});

describe('parseBase2Bytes', () => {
  const cases: readonly (readonly [string, number | string])[] = [
    ['512KiB', 512 * 1024],
    ['4MiB', 4 * 1024 * 1024],
    ['4MB', 4 * 1024 * 1024],
    ['1MiB512KiB', 1.5 * 1024 * 1024],
    ['1.5MiB', 1.5 * 1024 * 1024],
    ['0', 0],
    ['512', 'units: unknown unit  in 512'],
    ['1kB', 'units: unknown unit kB in 1kB'],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} → ${String(expected)}`, () => {
      assert.equal(parseBase2Bytes(text), expected);
    });
  }
});
