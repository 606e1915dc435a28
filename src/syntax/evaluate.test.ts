import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  createScope,
  evaluate,
  findBodyTraversals,
  findTraversals,
  lookup,
  parseIntegerLiteral,
  printExpression,
  problemDiagnostic,
  withExports,
  type Scope,
} from './evaluate.ts';
import { parseExpression, parseFile } from './parser.ts';
import { SourceFile } from './source.ts';
import { createStdlib } from './stdlib.ts';
import {
  arrayValue,
  capsuleValue,
  elementProblem,
  functionValue,
  intValue,
  objectValue,
  secretOf,
  secretValue,
  stringValue,
  toValue,
  typeProblem,
  type Value,
} from './value.ts';
import { evaluateText } from '../../test/helpers/alloy-eval.ts';

const STDLIB = createStdlib({ env: (name) => (name === 'HOME' ? '/home/otel' : undefined) });
const SCOPE = createScope({ stdlib: STDLIB });

function run(text: string, scope: Scope = SCOPE): string {
  return evaluateText(text, scope);
}

describe('evaluate: values and operators (alloy-syntax.md §8 E32)', () => {
  const table: readonly (readonly [expression: string, result: string])[] = [
    ['5 / 2', '2'],
    ['-7 / 2', '-3'],
    ['5.0 / 2', '2.5f'],
    ['-7 % 3', '-1'],
    ['7.5 % 2', '1.5f'],
    ['-7.5 % 2', '-1.5f'],
    ['2 ^ 3 ^ 2', '512'],
    ['-2 ^ 2', '4'],
    ['2 ^ -1', '2'],
    ['0 ^ -1', '0'],
    ['5 ^ 0', '1'],
    ['2.0 ^ -1', '0.5f'],
    ['1 + 2.5', '3.5f'],
    ['3 == 3.0', 'true'],
    ['1 == "1"', 'false'],
    ['null == null', 'true'],
    ['null != 0', 'true'],
    ['[1, [2]] == [1, [2]]', 'true'],
    ['[1, 2] == [1]', 'false'],
    ['{a = 1} == {a = 1}', 'true'],
    ['{a = 1} == {a = 1, b = 2}', 'false'],
    ['"abc" < "abd"', 'true'],
    ['"Z" < "a"', 'true'],
    ['"\\uffff" < "\\U0001F600"', 'true'],
    ['1 == 2 != 3', 'true'],
    ['[1,2,3][1.9]', '2'],
    ['{a = 1, a = 2}', '{a = 2}'],
    ['{"a.b/c" = 2, d = 3}["a.b/c"]', '2'],
    ['18446744073709551615', '18446744073709551615u'],
    ['99999999999999999999', '100000000000000000000f'],
    ['`raw\\nline`', '"raw\\\\nline"'],
    ['"tab\\there"', '"tab\\there"'],
    ['true || false', 'true'],
    ['!true', 'false'],
    ['-(1.5)', '-1.5f'],
    ['-18446744073709551615', '1'],
    ['1 < 2.5', 'true'],
    ['2 >= 2', 'true'],
    ['"b" >= "a"', 'true'],
  ];

  for (const [expression, result] of table) {
    it(`${expression} → ${result}`, () => {
      assert.equal(run(expression), result);
    });
  }
});

describe('evaluate: integer literals and 64-bit wrapping (alloy-syntax.md §2.4, §4.3)', () => {
  const table: readonly (readonly [expression: string, result: string])[] = [
    ['0755', '493'],
    ['010', '8'],
    ['08', '8f'],
    ['09', '9f'],
    ['0189', '189f'],
    ['0', '0'],
    ['00', '0'],
    ['9223372036854775807', '9223372036854775807'],
    ['9223372036854775808', '9223372036854775808u'],
    ['9223372036854775807 + 1', '-9223372036854775808'],
    ['-9223372036854775807 - 2', '9223372036854775807'],
    ['4294967296 * 4294967296', '0'],
    ['3037000500 * 3037000500', '-9223372036709301616'],
    ['18446744073709551615 + 1', '0'],
    ['2 ^ 64', '0'],
    ['3 ^ 41', '-420491770248316829'],
    ['1e400', '1:1: strconv.ParseFloat: parsing "1e400": value out of range'],
  ];

  for (const [expression, result] of table) {
    it(`${expression} → ${result}`, () => {
      assert.equal(run(expression), result);
    });
  }

  it('converts integer literals as Go ParseInt, ParseUint, ParseFloat', () => {
    assert.deepEqual(parseIntegerLiteral('12'), intValue(12n));
    assert.equal(parseIntegerLiteral('1'.repeat(400)), undefined);
  });
});

describe('evaluate: errors (alloy-syntax.md §8 E33)', () => {
  const table: readonly (readonly [expression: string, error: string])[] = [
    ['1 / 0', '1:5: 0 divide by zero error'],
    ['1 % 0', '1:5: 0 divide by zero error'],
    ['1.0 / 0.0', '1:7: 0.0 divide by zero error'],
    ['"a" + 1', '1:7: 1 should be string, got number'],
    ['1 + "a"', '1:5: "a" should be number, got string'],
    ['1 < "a"', '1:5: "a" should be number, got string'],
    ['true && 1', '1:9: 1 should be one of [bool] for binop &&, got number'],
    ['1 && true', '1:1: 1 should be one of [bool] for binop &&, got number'],
    ['[1] + [2]', '1:1: [1] should be one of [number string capsule] for binop +, got array'],
    ['true < false', '1:1: true should be one of [number string] for binop <, got bool'],
    ['"a" - "b"', '1:1: "a" should be one of [number] for binop -, got string'],
    ['true && null', '-:  should be one of [bool] for binop &&, got null'],
    ['!1', '1:2: 1 should be bool, got number'],
    ['-"a"', '1:2: "a" should be number, got string'],
    ['[1,2][2]', '1:7: 2 index 2 is out of range of array with length 2'],
    ['[1,2][-1]', '1:7: -1 index -1 is out of range of array with length 2'],
    ['[1,2]["a"]', '1:7: "a" should be number, got string'],
    ['{a = 1}[0]', '1:9: 0 should be string, got number'],
    ['{a = 1}.b', '1:9: field "b" does not exist'],
    ['{a = 1}["b"]', 'null'],
    ['"abc"[0]', '1:1: "abc" expected object or array, got string'],
    ['(1).x', '1:1: (1) cannot access field "x" on value of type number'],
    ['nope', '1:1: identifier "nope" does not exist'],
    ['false && f()', '1:10: identifier "f" does not exist'],
    ['1()', '1:1: 1 should be function, got number'],
    ['sys.env("HOME", "x")', '1:1: sys.env expected 1 args, got 2'],
    ['join(["a", 1, true], ",")', '1:15: true should be string, got bool'],
    ['encoding.to_json([1])', '1:1: encoding.to_json jsonEncode only supports map'],
    ['{a = [1, 2 / 0]}', '1:14: 0 divide by zero error'],
  ];

  for (const [expression, error] of table) {
    it(`${expression} → ${error}`, () => {
      assert.equal(run(expression), error);
    });
  }

  it('positions an error at the whole offending expression, with a stable code', () => {
    const source = SourceFile.fromText('t.alloy', 'x + (1 + 2)');
    const parsed = parseExpression(source);
    assert.ok(parsed.expression);
    const scope = createScope({ variables: new Map([['x', stringValue('s')]]), stdlib: STDLIB });

    const result = evaluate(parsed.expression, scope);

    assert.ok(!result.ok);
    assert.deepEqual(result.diagnostics, [
      { severity: 'error', code: 'eval/type', message: '(1 + 2) should be string, got number', start: 4, end: 11 },
    ]);
  });

  it('turns an exception of a host function into a diagnostic at the callee', () => {
    const boom = functionValue('boom', () => {
      throw new Error('kaput');
    });
    const scope = createScope({ variables: new Map([['boom', boom]]), stdlib: STDLIB });

    assert.equal(run('boom(1)', scope), '1:1: boom failed: kaput');
  });

  it('evaluates every operand: && and || do not short-circuit', () => {
    assert.equal(run('true || nope'), '1:9: identifier "nope" does not exist');
  });
});

describe('evaluate: secrets (alloy-syntax.md §4.3, §4.8)', () => {
  const scope = createScope({
    variables: new Map<string, Value>([
      ['password', secretValue('hunter2')],
      ['other', secretValue('hunter2')],
      ['consumer', capsuleValue('otelcol.Consumer', {})],
    ]),
    stdlib: STDLIB,
  });

  const table: readonly (readonly [expression: string, result: string])[] = [
    ['password + "!"', 'secret'],
    ['"pre-" + password', 'secret'],
    ['password + password', 'secret'],
    ['nonsensitive("pre-" + password + "!")', '"pre-hunter2!"'],
    ['convert.nonsensitive(password)', '"hunter2"'],
    ['password == other', 'true'],
    ['password == "hunter2"', 'true'],
    ['password != "other"', 'true'],
    ['password < "x"', '1:1: password should be one of [number string] for binop <, got capsule'],
    ['to_upper(password)', '1:10: password secrets may not be converted into strings'],
    ['format("%s", password)', '"(secret)"'],
    ['consumer.input', '1:1: consumer expected object or array or a capsule convertible to an object, got capsule'],
    ['consumer[0]', '1:1: consumer expected object or array or a capsule convertible to an object, got capsule'],
    // The same value twice: Alloy remembers the expression that produced it last.
    ['consumer + consumer', '1:12: consumer could not perform binop + for unknown types lhs capsule rhs capsule'],
    ['consumer == consumer', 'true'],
    ['nonsensitive(consumer)', '1:14: consumer should be capsule, got capsule'],
  ];

  for (const [expression, result] of table) {
    it(`${expression} → ${result}`, () => {
      assert.equal(run(expression, scope), result);
    });
  }

  it('keeps the text of a concatenated secret hidden', () => {
    const parsed = parseExpression(SourceFile.fromText('', '"Bearer " + password'));
    assert.ok(parsed.expression);

    const result = evaluate(parsed.expression, scope);

    assert.ok(result.ok);
    assert.equal(String(secretOf(result.value)), '(secret)');
    assert.equal(secretOf(result.value)?.reveal(), 'Bearer hunter2');
  });
});

describe('evaluate: scopes and component exports (alloy-syntax.md §4.5, §5.2)', () => {
  const consumer = capsuleValue('otelcol.Consumer', { name: 'lb' });
  let scope = withExports(SCOPE, ['otelcol', 'exporter', 'loadbalancing', 'default'], objectValue({ input: consumer }));
  scope = withExports(scope, ['otelcol', 'exporter', 'otlp', 'backend'], objectValue({ input: consumer }));

  it('reaches exports through ordinary field accesses', () => {
    assert.equal(run('otelcol.exporter.loadbalancing.default.input', scope), 'capsule(otelcol.Consumer)');
    assert.equal(run('[otelcol.exporter.otlp.backend.input]', scope), '[capsule(otelcol.Consumer)]');
  });

  it('makes a namespace an object of everything under it', () => {
    assert.equal(
      run('otelcol.exporter', scope),
      '{loadbalancing = {default = {input = capsule(otelcol.Consumer)}}, otlp = {backend = {input = capsule(otelcol.Consumer)}}}',
    );
  });

  it('reports a wrong export field at the field name', () => {
    assert.equal(run('otelcol.exporter.otlp.backend.output', scope), '1:31: field "output" does not exist');
  });

  it('does not change the scope it starts from', () => {
    assert.equal(run('otelcol', SCOPE), '1:1: identifier "otelcol" does not exist');
  });

  it('lets a variable shadow a standard-library name', () => {
    const shadowing = withExports(SCOPE, ['sys', 'thing'], objectValue({ value: intValue(1n) }));

    assert.equal(run('sys.thing.value', shadowing), '1');
    assert.equal(run('sys.env("HOME")', shadowing), '1:5: field "env" does not exist');
    assert.equal(lookup(shadowing, 'concat')?.type, 'function');
  });

  it('refuses an empty ID or a path through a value that is not an object', () => {
    assert.throws(() => withExports(SCOPE, [], objectValue({})), TypeError);
    const leaf = withExports(SCOPE, ['a', 'b'], intValue(1n));
    assert.throws(() => withExports(leaf, ['a', 'b', 'c'], intValue(2n)), TypeError);
  });

  it('reads the environment through the injected sys.env', () => {
    assert.equal(run('sys.env("HOME")'), '"/home/otel"');
    assert.equal(run('env("UNSET")'), '""');
  });

  it('builds a default scope over process.env', () => {
    process.env.OTEL_LB_EVALUATE_TEST = 'yes';
    try {
      assert.equal(run('sys.env("OTEL_LB_EVALUATE_TEST")', createScope()), '"yes"');
    } finally {
      delete process.env.OTEL_LB_EVALUATE_TEST;
    }
  });

  it('accepts host values converted with toValue', () => {
    const hosted = withExports(
      SCOPE,
      ['discovery', 'k'],
      toValue({ targets: [{ __address__: 'a:1' }, { __address__: 'b:2' }], count: 2 }),
    );

    assert.equal(run('discovery.k.targets[1]["__address__"]', hosted), '"b:2"');
    assert.equal(run('discovery.k.count + 1', hosted), '3');
  });
});

describe('evaluate: traversals (alloy-syntax.md §5.2)', () => {
  function traversals(text: string): string[] {
    const parsed = parseExpression(SourceFile.fromText('', text));
    assert.ok(parsed.expression);
    return findTraversals(parsed.expression).map((t) => `${t.names.join('.')}@${t.start}-${t.end}`);
  }

  const table: readonly (readonly [expression: string, traversals: readonly string[]])[] = [
    ['otelcol.exporter.loadbalancing.default.input', ['otelcol.exporter.loadbalancing.default.input@0-44']],
    ['discovery.k.targets[0]["x"]', ['discovery.k.targets@0-19']],
    ['sys.env("A")', ['sys.env@0-7']],
    ['[a.b, c]', ['a.b@1-4', 'c@6-7']],
    ['{x = a.b.c, y = [d]}', ['a.b.c@5-10', 'd@17-18']],
    ['f(a.b)(c).d', ['f@0-1', 'a.b@2-5', 'c@7-8']],
    ['xs[i.j].k', ['xs@0-2', 'i.j@3-6']],
    ['-a.b + !(c)', ['a.b@1-4', 'c@9-10']],
    ['1 + "s"', []],
  ];

  for (const [expression, expected] of table) {
    it(`${expression} → ${expected.join(', ') || 'none'}`, () => {
      assert.deepEqual(traversals(expression), expected);
    });
  }

  it('walks every attribute of a body, nested blocks included', () => {
    const { file } = parseFile(
      SourceFile.fromText(
        '',
        'otelcol.receiver.otlp "in" {\n  grpc {}\n  output {\n    traces = [otelcol.exporter.otlp.out.input]\n    logs = concat([a.input], b)\n  }\n}\n',
      ),
    );
    assert.ok(file);
    const [block] = file.body;
    assert.ok(block?.kind === 'Block');

    assert.deepEqual(
      findBodyTraversals(block.body).map((t) => t.names.join('.')),
      ['otelcol.exporter.otlp.out.input', 'concat', 'a.input', 'b'],
    );
  });
});

describe('evaluate: diagnostics about values found wrong later', () => {
  it('quotes the innermost value whose source is known', () => {
    const parsed = parseExpression(SourceFile.fromText('', '[1, "a", true]'));
    assert.ok(parsed.expression?.kind === 'Array');
    const result = evaluate(parsed.expression, SCOPE);
    assert.ok(result.ok && result.value.type === 'array');
    const element = result.value.elements[2];
    assert.ok(element);

    const d = problemDiagnostic(
      elementProblem(result.value, 2, typeProblem(element, 'number')),
      result.origins,
      'decode',
    );

    assert.equal(d.message, 'true should be number, got bool');
    assert.equal(d.code, 'decode/type');
    assert.deepEqual([d.start, d.end], [9, 13]);
  });

  it('keeps the path from the last value whose source is known', () => {
    const parsed = parseExpression(SourceFile.fromText('', 'x'));
    assert.ok(parsed.expression);
    const inner = stringValue('a');
    const list = objectValue({ field1: arrayValue([intValue(1n), intValue(2n), inner]) });
    const scope = createScope({ variables: new Map([['x', list]]), stdlib: STDLIB });
    const result = evaluate(parsed.expression, scope);
    assert.ok(result.ok);
    const field = list.fields.get('field1');
    assert.ok(field?.type === 'array');

    const d = problemDiagnostic(
      {
        kind: 'path',
        value: list,
        segment: '.field1',
        inner: elementProblem(field, 2, typeProblem(inner, 'number')),
      },
      result.origins,
      'decode',
    );

    assert.equal(d.message, 'x.field1[2] should be number, got string');
    assert.deepEqual([d.start, d.end], [0, 1]);
  });

  it('has no position when no value has a known source', () => {
    const d = problemDiagnostic(typeProblem(intValue(1n), 'string'), new Map(), 'eval');

    assert.equal(d.message, ' should be string, got number');
    assert.equal(d.start, undefined);
  });

  it('prints expressions on one line in canonical form', () => {
    const parsed = parseExpression(SourceFile.fromText('', '{ a = [ 1 ,2 ], "b-c" = f( x )[0] , "x\\"y" = -(1+2) }'));
    assert.ok(parsed.expression);

    assert.equal(printExpression(parsed.expression), '{a = [1, 2], "b-c" = f(x)[0], "x\\\\\\"y" = -(1 + 2)}');
  });
});
