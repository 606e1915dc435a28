import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { format, inspect } from 'node:util';

import { createScope, evaluate } from './evaluate.ts';
import { parseExpression } from './parser.ts';
import { SourceFile } from './source.ts';
import { createStdlib } from './stdlib.ts';
import {
  INT64_MIN,
  Secret,
  SECRET_TYPE,
  arrayValue,
  boolValue,
  bytesValue,
  capsuleValue,
  compareStrings,
  convertElements,
  convertFields,
  convertToBool,
  convertToNumber,
  convertToSecretText,
  convertToString,
  decodeUtf8,
  describe as describeValue,
  floatToInt64,
  floatToUint64,
  floatValue,
  formatFloatPlain,
  functionValue,
  goQuote,
  intValue,
  nullValue,
  objectValue,
  secretOf,
  secretValue,
  stringValue,
  toValue,
  typeOf,
  uintValue,
  valuesEqual,
  type Conversion,
  type ValueProblem,
} from './value.ts';

function problemText(p: ValueProblem): string {
  return p.kind === 'leaf' ? p.message : `${p.segment} ${problemText(p.inner)}`;
}

function outcome<T>(c: Conversion<T>): T | string {
  return c.ok ? c.value : `refused: ${problemText(c.problem)}`;
}

describe('value: secrets never print', () => {
  const secret = new Secret('hunter2');
  const capsule = secretValue(secret);

  const renderings: readonly (readonly [name: string, render: () => string])[] = [
    ['String()', () => String(secret)],
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- what is tested: interpolating the object itself
    ['a template literal', () => `pw: ${secret}`],
    // eslint-disable-next-line @typescript-eslint/restrict-plus-operands -- what is tested: concatenating the object itself
    ['concatenation', () => 'pw: ' + secret],
    ['toString()', () => secret.toString()],
    ['JSON.stringify', () => JSON.stringify(secret)],
    ['JSON.stringify of an object holding it', () => JSON.stringify({ password: secret, list: [secret] })],
    ['util.inspect', () => inspect(secret)],
    ['util.inspect of an object holding it', () => inspect({ nested: { password: secret } }, { depth: 10 })],
    ['util.inspect of its capsule', () => inspect(capsule, { depth: 10 })],
    ['util.format %s, %o and %j', () => format('%s %o %j %O', secret, secret, secret, { secret })],
    ['an error message', () => new Error(`bad ${String(secret)}`).message],
    ['Symbol.toPrimitive', () => secret[Symbol.toPrimitive]()],
  ];

  for (const [name, render] of renderings) {
    it(`through ${name}`, () => {
      const text = render();

      assert.doesNotMatch(text, /hunter2/);
      assert.match(text, /\(secret\)/);
    });
  }

  it('through the language: string.format and encoding.to_json', () => {
    const scope = createScope({
      variables: new Map([['pw', capsule]]),
      stdlib: createStdlib({ env: () => undefined }),
    });
    for (const text of [
      'string.format("%s %v %q %x %#v %T", pw, pw, pw, pw, [pw], pw)',
      'encoding.to_json({pw = pw})',
    ]) {
      const parsed = parseExpression(SourceFile.fromText('', text));
      assert.ok(parsed.expression);

      const result = evaluate(parsed.expression, scope);

      assert.ok(result.ok && result.value.type === 'string');
      assert.doesNotMatch(result.value.value, /hunter2/);
      assert.match(result.value.value, /\(secret\)/);
    }
  });

  it('keeps no enumerable copy of its text', () => {
    assert.deepEqual(Object.keys(secret), []);
    assert.deepEqual(Object.getOwnPropertyNames(secret), []);
  });

  it('reveals the text only when asked, and compares by text', () => {
    assert.equal(secret.reveal(), 'hunter2');
    assert.ok(secret.equals(new Secret('hunter2')));
    assert.ok(!secret.equals(new Secret('other')));
    assert.equal(secretOf(capsule), secret);
    assert.equal(secretOf(stringValue('x')), undefined);
    assert.equal(capsule.typeName, SECRET_TYPE);
  });

  it('is immutable', () => {
    assert.ok(Object.isFrozen(secret));
    assert.ok(Object.isFrozen(capsule));
  });
});

describe('value: conversions for typed attributes and parameters (alloy-syntax.md §4.6)', () => {
  const toStringTable: readonly (readonly [
    name: string,
    value: Parameters<typeof convertToString>[0],
    result: string,
  ])[] = [
    ['a string', stringValue('x'), 'x'],
    ['an int', intValue(24n), '24'],
    ['a uint', uintValue(18446744073709551615n), '18446744073709551615'],
    ['a float', floatValue(3.9), '3.9'],
    ['a float below one', floatValue(0.9), '0.9'],
    ['a large float, without exponent', floatValue(1e20), '100000000000000000000'],
    ['a tiny float, without exponent', floatValue(1.5e-7), '0.00000015'],
    ['null', nullValue(), ''],
    ['bytes', bytesValue(new TextEncoder().encode('héllo')), 'héllo'],
    ['a bool', boolValue(true), 'refused: should be string, got bool'],
    ['an array', arrayValue([intValue(1n)]), 'refused: should be string, got array'],
    ['an object', objectValue({}), 'refused: should be string, got object'],
    ['a secret', secretValue('s'), 'refused: secrets may not be converted into strings'],
    ['another capsule', capsuleValue('otelcol.Consumer', {}), 'refused: should be string, got capsule'],
  ];
  for (const [name, value, result] of toStringTable) {
    it(`string ← ${name}`, () => {
      assert.equal(outcome(convertToString(value)), result);
    });
  }

  const toNumberTable: readonly (readonly [text: string, result: string])[] = [
    ['12', 'uint 12'],
    ['-3', 'int -3'],
    ['1e3', 'float 1000'],
    ['2.5', 'float 2.5'],
    ['18446744073709551615', 'uint 18446744073709551615'],
    ['18446744073709551616', 'refused: should be number, got string'],
    ['-9223372036854775809', 'refused: should be number, got string'],
    [' 12', 'refused: should be number, got string'],
    ['0x10', 'refused: should be number, got string'],
    ['', 'refused: should be number, got string'],
    ['1.2.3', 'refused: should be number, got string'],
  ];
  for (const [text, result] of toNumberTable) {
    it(`number ← "${text}"`, () => {
      const c = convertToNumber(stringValue(text));
      assert.equal(c.ok ? `${c.value.kind} ${String(c.value.value)}` : outcome(c), result);
    });
  }

  it('number ← null is 0, a bool is refused', () => {
    assert.deepEqual(outcome(convertToNumber(nullValue())), intValue(0n));
    assert.equal(outcome(convertToNumber(boolValue(true))), 'refused: should be number, got bool');
  });

  it('bool ← only bools and null', () => {
    assert.equal(outcome(convertToBool(boolValue(true))), true);
    assert.equal(outcome(convertToBool(nullValue())), false);
    assert.equal(outcome(convertToBool(stringValue('true'))), 'refused: should be bool, got string');
  });

  it('secret text ← strings and secrets', () => {
    assert.equal(outcome(convertToSecretText(stringValue('a'))), 'a');
    assert.equal(outcome(convertToSecretText(secretValue('b'))), 'b');
    assert.equal(outcome(convertToSecretText(nullValue())), '');
    assert.equal(outcome(convertToSecretText(intValue(1n))), 'refused: should be capsule, got number');
  });

  it('names the path of an element or field that does not convert', () => {
    const list = arrayValue([intValue(1n), stringValue('a'), boolValue(false)]);
    const object = objectValue({ ok: stringValue('x'), bad: arrayValue([]) });

    assert.deepEqual(outcome(convertElements(arrayValue(list.elements.slice(0, 2)), convertToString)), ['1', 'a']);
    assert.equal(outcome(convertElements(list, convertToString)), 'refused: [2] should be string, got bool');
    assert.equal(outcome(convertFields(object, convertToString)), 'refused: .bad should be string, got array');
    assert.deepEqual(outcome(convertElements(nullValue(), convertToString)), []);
    assert.equal(outcome(convertElements(stringValue('a'), convertToString)), 'refused: should be array, got string');
  });
});

describe('value: equality (alloy-syntax.md §4.3)', () => {
  const equal: readonly (readonly [
    name: string,
    a: Parameters<typeof valuesEqual>[0],
    b: Parameters<typeof valuesEqual>[0],
    result: boolean,
  ])[] = [
    ['int and float of the same value', intValue(3n), floatValue(3), true],
    ['uint and int of the same value', uintValue(3n), intValue(3n), true],
    ['uint max and int -1', uintValue(18446744073709551615n), intValue(-1n), true],
    ['different types', intValue(1n), stringValue('1'), false],
    ['null and null', nullValue(), nullValue(), true],
    ['arrays element-wise', toValue([1, [2]]), toValue([1, [2]]), true],
    ['arrays of different length', toValue([1]), toValue([1, 2]), false],
    ['objects by keys and values', toValue({ a: 1, b: 'x' }), toValue({ b: 'x', a: 1 }), true],
    ['objects with different keys', toValue({ a: 1 }), toValue({ b: 1 }), false],
    [
      'functions never',
      functionValue('f', () => ({ ok: true, value: nullValue() })),
      functionValue('f', () => ({ ok: true, value: nullValue() })),
      false,
    ],
    ['secrets by text', secretValue('a'), secretValue('a'), true],
    ['capsules by identity', capsuleValue('x', {}), capsuleValue('x', {}), false],
    ['NaN', floatValue(NaN), floatValue(NaN), false],
  ];
  for (const [name, a, b, result] of equal) {
    it(`${name} → ${String(result)}`, () => {
      assert.equal(valuesEqual(a, b), result);
    });
  }

  it('compares strings by UTF-8 bytes, as Go does', () => {
    assert.equal(compareStrings('a', 'b'), -1);
    assert.equal(compareStrings('\uffff', '\u{1f600}'), -1);
    assert.equal(compareStrings('ab', 'a'), 1);
    assert.equal(compareStrings('x', 'x'), 0);
  });
});

describe('value: construction and host values', () => {
  it('wraps integers to 64 bits', () => {
    assert.equal(intValue(2n ** 63n).value, INT64_MIN);
    assert.equal(uintValue(-1n).value, 2n ** 64n - 1n);
  });

  it("converts floats to integers as Go's int64() does on amd64", () => {
    assert.equal(floatToInt64(2.9), 2n);
    assert.equal(floatToInt64(-2.9), -2n);
    assert.equal(floatToInt64(NaN), INT64_MIN);
    assert.equal(floatToInt64(1e300), INT64_MIN);
    assert.equal(floatToUint64(2 ** 63), 2n ** 63n);
  });

  it('turns plain host data into values', () => {
    const v = toValue({
      n: 1,
      f: 1.5,
      big: 2n ** 63n,
      s: 'x',
      b: true,
      none: null,
      list: [1],
      secret: new Secret('s'),
    });

    assert.ok(v.type === 'object');
    assert.deepEqual(
      [...v.fields].map(([k, x]) => `${k}:${typeOf(x)}`),
      ['n:number', 'f:number', 'big:number', 's:string', 'b:bool', 'none:null', 'list:array', 'secret:capsule'],
    );
  });

  it('keeps objects safe for any key', () => {
    const v = objectValue([['__proto__', intValue(1n)]]);

    assert.equal(v.fields.get('__proto__')?.type, 'number');
    assert.equal(Object.getPrototypeOf(v.fields), Map.prototype);
  });

  it('describes capsules by what they hold', () => {
    assert.equal(describeValue(capsuleValue('otelcol.Consumer', {})), 'capsule("otelcol.Consumer")');
    assert.equal(describeValue(intValue(1n)), 'number');
  });

  it("makes bytes an array of numbers that converts to text (Go's []byte)", () => {
    const bytes = bytesValue(Uint8Array.from([0x66, 0x6f, 0x6f]));

    assert.equal(bytes.elements.length, 3);
    assert.deepEqual(outcome(convertToString(bytes)), 'foo');
  });

  it('decodes invalid UTF-8 one U+FFFD per bad byte', () => {
    assert.equal(decodeUtf8(Uint8Array.from([0x61, 0xe2, 0x82, 0x62])), 'a\ufffd\ufffdb');
    assert.equal(decodeUtf8(Uint8Array.from([0xc3, 0xa9])), 'é');
  });

  it("quotes as Go's %q", () => {
    assert.equal(goQuote('a"b\\c\n\t\u0007\u00a0é😀\u0000'), '"a\\"b\\\\c\\n\\t\\a\\u00a0é😀\\x00"');
  });

  it("prints floats as Go's FormatFloat(f, 'f', -1)", () => {
    assert.deepEqual([0, -0, 1.5, 1e21, 1e-7, 123456789.125, NaN, Infinity, -Infinity].map(formatFloatPlain), [
      '0',
      '-0',
      '1.5',
      '1000000000000000000000',
      '0.0000001',
      '123456789.125',
      'NaN',
      '+Inf',
      '-Inf',
    ]);
  });
});
