import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import type { Expression, File } from './ast.ts';
import { ParseCode, formatDiagnostic, type Diagnostic } from './diagnostics.ts';
import { MAX_NESTING, parseExpression, parseFile } from './parser.ts';
import { Scanner } from './scanner.ts';
import { SourceFile } from './source.ts';
import { Token } from './token.ts';

interface ConformanceCase {
  readonly id: string;
  readonly source: string;
  readonly parse: {
    readonly ok: boolean;
    readonly errors: readonly { line: number; column: number; message: string }[];
  };
  readonly fmt: string | null;
}

const FIXTURES = new URL('../../test/fixtures/', import.meta.url);
const CASES = (
  JSON.parse(readFileSync(new URL('alloy-conformance-dev.json', FIXTURES), 'utf8')) as { cases: ConformanceCase[] }
).cases;

/** `line:col: message` of every diagnostic, in order. */
function errorsOf(source: string): string[] {
  const file = SourceFile.fromText('', source);
  return parseFile(file).diagnostics.map((d) => formatDiagnostic(d, file));
}

function parseOk(source: string): File {
  const result = parseFile(SourceFile.fromText('t.alloy', source));
  assert.deepEqual(result.diagnostics, []);
  assert.ok(result.file);
  return result.file;
}

/** The expression's shape with explicit parentheses: `((1 + (2 * 3)) - 4)`. */
function shape(expr: Expression): string {
  switch (expr.kind) {
    case 'Literal':
      return expr.raw;
    case 'Identifier':
      return expr.name;
    case 'Binary':
      return `(${shape(expr.left)} ${expr.operator} ${shape(expr.right)})`;
    case 'Unary':
      return `(${expr.operator}${shape(expr.operand)})`;
    case 'Paren':
      return shape(expr.inner);
    case 'Access':
      return `${shape(expr.value)}.${expr.name.name}`;
    case 'Index':
      return `${shape(expr.value)}[${shape(expr.index)}]`;
    case 'Call':
      return `${shape(expr.value)}(${expr.args.map(shape).join(', ')})`;
    case 'Array':
      return `[${expr.elements.map(shape).join(', ')}]`;
    case 'Object':
      return `{${expr.fields.map((f) => `${f.name} = ${shape(f.value)}`).join(', ')}}`;
  }
}

function expressionShape(text: string): string {
  const result = parseExpression(SourceFile.fromText('', text));
  assert.deepEqual(result.diagnostics, []);
  assert.ok(result.expression);
  return shape(result.expression);
}

describe('parser: the conformance corpus (diagnostics computed by Alloy)', () => {
  it('holds 125 cases', () => {
    assert.equal(CASES.length, 125);
  });

  for (const c of CASES) {
    it(`${c.id}: ${c.parse.ok ? 'parses' : 'reports every diagnostic in order'}`, () => {
      const expected = c.parse.errors.map((e) => `${e.line}:${e.column}: ${e.message}`);

      const result = parseFile(SourceFile.fromText('', c.source));

      assert.deepEqual(
        result.diagnostics.map((d) => formatDiagnostic(d, SourceFile.fromText('', c.source))),
        expected,
      );
      assert.equal(result.file !== undefined, c.parse.ok);
    });
  }
});

/**
 * Goldens: every `/* ERROR "regex" *\/` comment expects a diagnostic at the start of the
 * token just before it (`/* ERROR HERE "regex" *\/`: just after that token), whose message
 * matches the regex; the file must produce exactly those diagnostics, in any order.
 */
describe('parser: goldens in test/fixtures/parser', () => {
  const dir = new URL('parser/', FIXTURES);
  const files = readdirSync(dir).filter((f) => f.endsWith('.alloy'));

  it('has golden files', () => {
    assert.ok(files.length >= 4);
  });

  for (const name of files) {
    it(`${name}: reports every marked error, at its token, and nothing else`, () => {
      const source = new SourceFile(name, readFileSync(new URL(name, dir)));
      const expected = expectedErrors(source);

      const { diagnostics, file } = parseFile(source);

      assert.equal(file, undefined);
      assert.ok(expected.length > 0, 'a golden file marks at least one error');
      const unmatched = [...diagnostics];
      for (const want of expected) {
        const index = unmatched.findIndex((d) => d.start === want.offset && want.regex.test(d.message));
        const where = formatDiagnostic(
          { severity: 'error', code: '', message: want.regex.source, start: want.offset },
          source,
        );
        assert.ok(
          index >= 0,
          `expected ${where}; got:\n${diagnostics.map((d) => formatDiagnostic(d, source)).join('\n')}`,
        );
        unmatched.splice(index, 1);
      }
      assert.deepEqual(
        unmatched.map((d) => formatDiagnostic(d, source)),
        [],
        'diagnostics without an ERROR marker',
      );
    });
  }
});

const MARKER = /^\/\* ERROR (HERE )?"((?:[^"\\]|\\.)*)" \*\/$/;

/** The ERROR markers of a golden file (Alloy's `error_test.go` convention). */
function expectedErrors(source: SourceFile): { offset: number; regex: RegExp }[] {
  const out: { offset: number; regex: RegExp }[] = [];
  const scanner = new Scanner(source, () => undefined, { includeComments: true });
  let prev = 0;
  let here = 0;
  for (;;) {
    const tok = scanner.scan();
    if (tok === Token.EOF) return out;
    if (tok === Token.COMMENT) {
      const m = MARKER.exec(scanner.text());
      if (m !== null) out.push({ offset: m[1] === undefined ? prev : here, regex: new RegExp(m[2] ?? '') });
      continue;
    }
    if (tok === Token.TERMINATOR) continue;
    prev = scanner.pos;
    here = scanner.end;
  }
}

describe('parser: statements (alloy-syntax.md §3.1 and §8)', () => {
  // `first`: the spec gives the first diagnostics only; the follow-on ones are not checked.
  const table: readonly (readonly [name: string, source: string, errors: readonly string[], first?: 'first'])[] = [
    [
      'E1 two attributes on one line',
      'a "x" {\n  resolver { dns { hostname = "h" port = "34621" } }\n}\nb "c" { username = "u" password = "p" }\n',
      ['2:35: expected TERMINATOR, got IDENT', '4:24: expected TERMINATOR, got IDENT', '5:1: expected }, got EOF'],
    ],
    [
      'E2 two attributes in a one-line block',
      'a { b = 1 c = 2 }\n',
      ['1:11: expected TERMINATOR, got IDENT', '2:1: expected }, got EOF'],
    ],
    ['E3 semicolon', 'a = 1; b = 2', ["1:6: illegal character U+003B ';'", '1:6: expected TERMINATOR, got ILLEGAL']],
    ['E4 hash comment', '# comment', ["1:1: illegal character U+0023 '#'", '1:1: expected identifier, got ILLEGAL']],
    [
      'E5 single quotes',
      "a = 'x'",
      ['1:5: illegal single-quoted string; use double quotes', '1:5: expected expression, got ILLEGAL'],
    ],
    ['E6 multi-line array without the last comma', 'a = [\n  1,\n  2\n]', ["3:4: missing ',' in expression list"]],
    [
      'E7 object fields need commas on separate lines',
      'a = {\n  x = 1\n  y = 2,\n}',
      ["2:8: missing ',' in field list"],
    ],
    ['E8 newline after [ is ignored', 'a = [\n1, 2]', []],
    ['E9 an operator may end a line', 'a = 1 +\n  2', []],
    ['E9 an operator may not begin one', 'a = 1\n  + 2', ['2:3: expected identifier, got +']],
    ['E10 no hex literals', 'a = 0x1F', ['1:6: expected TERMINATOR, got IDENT']],
    ['E11 octal-looking literals parse', 'a = 0755', []],
    ['E12 exponent without digits', 'a = 1e', ['1:5: exponent has no digits']],
    ['E12 1.e5 is a float', 'a = 1.e5', []],
    ['E12 1..2', 'a = 1..2', ['1:7: expected TERMINATOR, got FLOAT']],
    ['E12 x.0', 'a = x.0', ['1:6: expected TERMINATOR, got FLOAT']],
    [
      'E13 label not an identifier',
      'foo "my-label" {\n}',
      ['1:5: expected block label to be a valid identifier, but got "my-label"'],
    ],
    [
      'E14 raw string label',
      'foo `lbl` {}',
      ['1:5: expected block label to be a double quoted string, but got "`lbl`"'],
    ],
    [
      'E15 dotted attribute name',
      'a.b = 1',
      ['1:1: attribute names may only consist of a single identifier with no "."'],
    ],
    ['E15 attribute with a label', 'a "x" = 1', ['1:3: attribute names may not have labels']],
    ['E16 brace on the next line', 'foo "x"\n{}', ['1:8: expected block body, got TERMINATOR']],
    ['E16 label on the next line', 'b\n"x" {}', ['1:2: expected block label, got TERMINATOR'], 'first'],
    ['E17 true as a name', 'true = 1', ['1:1: expected identifier, got BOOL']],
    ['E17 null as a name', 'null = 1', ['1:1: expected identifier, got NULL']],
    ['E17 digit first', '1abc = 2', ['1:1: expected identifier, got NUMBER']],
    ['E17 dash in a name', 'my-attr = 1', ['1:3: expected block label, got -']],
    ['E18 number as a field name', 'a = { 1 = 2 }', ['1:7: expected field name (string or identifier), got NUMBER']],
    ['E18 colon in a field', 'a = { x: 1 }', ["1:8: illegal character U+003A ':'", '1:8: expected =, got ILLEGAL']],
    ['E19 quoted keys with dots', 'a = { "a.b/c" = 2, d = 3 }', []],
    ['E20 unterminated string', 'a = "abc\n', ['1:5: string literal not terminated']],
    ['E20 unknown escape', 'a = "\\q"', ['1:7: unknown escape sequence']],
    ["E20 \\' is not an escape", 'a = "\\\'"', ['1:7: unknown escape sequence']],
    ['E20 short \\u', 'a = "\\u12"', ["1:7: illegal character U+0022 '\"' in escape sequence"]],
    ['E20 surrogate \\u', 'a = "\\uD800"', ['1:7: escape sequence is invalid Unicode code point']],
    ['E21 raw string over lines', 'a = `line1\nline2`', []],
    ['E22 unterminated block comment', 'a = 1 /* abc', ['1:7: block comment not terminated']],
    [
      'E23 comments end statements only when they end the line',
      'a = 1 // c\nb = 2 /* c */\nc = 3 /* multi\nline */ d = 4\n',
      [],
    ],
    ['E23 a same-line block comment does not', 'e = 1 /* c */ f = 2', ['1:15: expected TERMINATOR, got IDENT']],
    // At the start of the value, as in the corpus case error/block-assigned-to-attribute
    // (the spec's 1:5 for this example is off by one).
    ['E24 block as an expression', 'rw = foo.bar "x" {\n}', ['1:6: cannot use a block as an expression']],
    ['E24 string after a value', 'a = "x" "y"', ['1:12: expected {, got TERMINATOR']],
    ['E25 trailing comma in a call', 'a = f(1, 2,)', []],
    ['E25 multi-line call without the last comma', 'a = f(\n  1,\n  2\n)', ["3:4: missing ',' in expression list"]],
    ['E25 empty call over two lines', 'a = f(\n)', []],
    ['E25 newline before )', 'a = (1\n)', ['1:7: expected ), got TERMINATOR'], 'first'],
    ['E26 keyword after .', 'a = b.null', ['1:7: expected IDENT, got NULL']],
    ['E27 single &', 'a = true & false', ['1:11: missing second & in &&']],
    ['E27 single |', 'a = true | false', ['1:11: missing second | in ||']],
    ['E28 no unary +', 'a = +1', ['1:5: expected expression, got +']],
    ['E28 double unary', 'a = --1\nb = !!true', []],
    ['E29 two blocks on one line', 'a {} b {}', ['1:6: expected TERMINATOR, got IDENT']],
    ['E29 attribute then block', 'x = 1 a {}', ['1:7: expected TERMINATOR, got IDENT']],
    ['E30 form feed', 'a = 1\f', ['1:6: illegal character U+000C'], 'first'],
    ['only one label', 'a.b "x" "y" {}', ['1:9: expected block body, got STRING']],
    ['a name then a number', 'foo 1', ['1:5: expected block label, got NUMBER']],
    ['an empty label then a number', 'foo "" 1', ['1:8: expected attribute assignment or block body, got NUMBER']],
    ['E38 empty file', '', []],
    ['E38 comments only', '// a\n/* b */\n', []],
    ['E38 no trailing newline', 'a = 1', []],
    ['E38 CRLF', 'a = 1\r\nb {\r\n  c = 2\r\n}\r\n', []],
    ['E38 leading BOM', '\ufeffa = 1\n', []],
    [
      'a BOM elsewhere',
      'a = 1\n\ufeffb = 2',
      ['2:1: illegal byte order mark', '2:1: expected identifier, got ILLEGAL'],
    ],
    ['a NUL byte', 'a = "\0"', ['1:6: illegal character NUL']],
    ['columns count UTF-8 bytes', 'métrica = 1 2', ['1:14: expected TERMINATOR, got NUMBER']],
    ['a BOM counts towards the columns of line 1', '\ufeffa = 1 2', ['1:10: expected TERMINATOR, got NUMBER']],
    ['a tab is one column', '\ta = 1 2', ['1:8: expected TERMINATOR, got NUMBER']],
    [
      'ILLEGAL characters: non-breaking space',
      'a\u00a0= 1',
      ['1:2: illegal character U+00A0', '1:2: expected block label, got ILLEGAL'],
    ],
  ];

  for (const [name, source, errors, first] of table) {
    it(name, () => {
      const actual = errorsOf(source);

      assert.deepEqual(first === undefined ? actual : actual.slice(0, errors.length), errors);
    });
  }

  it('reports invalid UTF-8 as an illegal encoding', () => {
    const file = new SourceFile('', Uint8Array.from([0x61, 0x20, 0x3d, 0x20, 0x22, 0xff, 0x22]));

    const { diagnostics } = parseFile(file);

    assert.deepEqual(
      diagnostics.map((d) => formatDiagnostic(d, file)),
      ['1:6: illegal UTF-8 encoding'],
    );
  });

  it('gives every diagnostic a stable code and a position', () => {
    const file = SourceFile.fromText('t.alloy', 'a = \'x\'\nb.c = 1\nx = y "z" {}\nfoo "1x" {}\n');

    const { diagnostics } = parseFile(file);

    assert.deepEqual(
      diagnostics.map((d) => d.code),
      [
        ParseCode.SINGLE_QUOTED_STRING,
        ParseCode.EXPECTED_TOKEN,
        ParseCode.INVALID_ATTRIBUTE_NAME,
        ParseCode.BLOCK_AS_EXPRESSION,
        ParseCode.INVALID_LABEL,
      ],
    );
    for (const d of diagnostics) assert.equal(typeof d.start, 'number');
  });

  it('rejects the whole file when anything is wrong', () => {
    const result = parseFile(SourceFile.fromText('', 'a = 1\nb = \n'));

    assert.equal(result.file, undefined);
    assert.equal(result.diagnostics.length, 1);
  });
});

describe('parser: expressions (alloy-syntax.md §3.2)', () => {
  const table: readonly (readonly [source: string, shape: string])[] = [
    ['-2 ^ 2', '((-2) ^ 2)'],
    ['2 ^ 3 ^ 2', '(2 ^ (3 ^ 2))'],
    ['2 ^ -1', '(2 ^ (-1))'],
    ['1 + 2 * 3 - 4 / 2 % 3', '((1 + (2 * 3)) - ((4 / 2) % 3))'],
    ['!x == y && z || w', '((((!x) == y) && z) || w)'],
    ['5 - 3 - 1', '((5 - 3) - 1)'],
    ['1 == 2 != 3', '((1 == 2) != 3)'],
    ['1 < 2 == true', '((1 < 2) == true)'],
    ['a || b && c', '(a || (b && c))'],
    ['a && b == c', '(a && (b == c))'],
    ['a == b + c', '(a == (b + c))'],
    ['a + b * c', '(a + (b * c))'],
    ['a * b ^ c', '(a * (b ^ c))'],
    ['--1', '(-(-1))'],
    ['!!true', '(!(!true))'],
    ['1 - -1', '(1 - (-1))'],
    ['(a.b.c)(1, 3 * xs[i * 2]).field', 'a.b.c(1, (3 * xs[(i * 2)])).field'],
    ['f(1)(2)["k"]', 'f(1)(2)["k"]'],
    ['-a.b[0]', '(-a.b[0])'],
    ['[1, [2, 3], {a = 1, "b c" = [4]}]', '[1, [2, 3], {a = 1, b c = [4]}]'],
    ['f()', 'f()'],
    ['{}', '{}'],
    ['[]', '[]'],
  ];

  for (const [source, expected] of table) {
    it(`parses ${source} as ${expected}`, () => {
      assert.equal(expressionShape(source), expected);
    });
  }

  it('keeps literals verbatim in raw and decoded in value', () => {
    const file = parseOk(
      'a = 0755\nb = 1E3\nc = .5\nd = "a\\tb\\x41\\u00e9"\ne = `r\\n`\nf = true\ng = null\nh = 1.\n',
    );
    const literals = file.body.map((s) => (s.kind === 'Attribute' && s.value.kind === 'Literal' ? s.value : undefined));

    assert.deepEqual(
      literals.map((l) => [l?.token, l?.raw, l?.value]),
      [
        ['NUMBER', '0755', 755n],
        ['FLOAT', '1E3', 1000],
        ['FLOAT', '.5', 0.5],
        ['STRING', '"a\\tb\\x41\\u00e9"', 'a\tbAé'],
        ['STRING', '`r\\n`', 'r\\n'],
        ['BOOL', 'true', true],
        ['NULL', 'null', null],
        ['FLOAT', '1.', 1],
      ],
    );
  });

  it('drops carriage returns from raw strings', () => {
    const file = parseOk('a = `x\r\ny`\n');
    const [stmt] = file.body;

    assert.ok(stmt?.kind === 'Attribute' && stmt.value.kind === 'Literal');
    assert.equal(stmt.value.value, 'x\ny');
  });

  it('keeps a tab inside a double-quoted string', () => {
    assert.equal(expressionShape('"a\tb"'), '"a\tb"');
  });

  it('does not unescape quoted object keys; an empty key keeps its quotes (E19)', () => {
    const file = parseOk('a = { "x\\"y" = 2, "" = 3, z = 4 }\n');
    const [stmt] = file.body;

    assert.ok(stmt?.kind === 'Attribute' && stmt.value.kind === 'Object');
    assert.deepEqual(
      stmt.value.fields.map((f) => [f.name, f.quoted]),
      [
        ['x\\"y', true],
        ['""', true],
        ['z', false],
      ],
    );
  });

  it('gives blocks their name fragments and raw label; an empty label is no label', () => {
    const file = parseOk('otelcol.exporter.otlp "métrica" {\n  tls { }\n}\nfoo "" {}\n');
    const [first, second] = file.body;

    assert.ok(first?.kind === 'Block' && second?.kind === 'Block');
    assert.deepEqual(first.name, ['otelcol', 'exporter', 'otlp']);
    assert.equal(first.label, 'métrica');
    assert.equal(first.body[0]?.kind, 'Block');
    assert.equal(second.label, undefined);
  });

  it('records byte offsets on every node', () => {
    const source = 'x = [1, "é"]\n';
    const file = parseOk(source);
    const [stmt] = file.body;

    assert.ok(stmt?.kind === 'Attribute' && stmt.value.kind === 'Array');
    assert.deepEqual([stmt.start, stmt.end], [0, 13]);
    assert.deepEqual(
      stmt.value.elements.map((e) => [e.start, e.end]),
      [
        [5, 6],
        [8, 12],
      ],
    );
  });

  it('parses one expression that must fill the source', () => {
    const result = parseExpression(SourceFile.fromText('', '1 + 2 3'));

    assert.equal(result.expression, undefined);
    assert.deepEqual(
      result.diagnostics.map((d) => d.message),
      ['expected TERMINATOR, got NUMBER'],
    );
  });
});

describe('parser: hostile input', () => {
  const deep = (open: string, close: string, inner = '1'): string =>
    `a = ${open.repeat(MAX_NESTING + 10)}${inner}${close.repeat(MAX_NESTING + 10)}`;

  const table: readonly (readonly [name: string, source: string])[] = [
    ['nested arrays', deep('[', ']', '')],
    ['nested parentheses', deep('(', ')')],
    ['nested objects', deep('{a = ', '}')],
    ['nested calls', deep('f(', ')', '')],
    ['nested unary operators', `a = ${'-'.repeat(100_000)}1`],
    ['a long operator chain', `a = ${'1 + '.repeat(100_000)}1`],
    ['a long power chain', `a = ${'2 ^ '.repeat(100_000)}1`],
    ['a long access chain', `a = x${'.y'.repeat(100_000)}`],
    ['a long index chain', `a = x${'[0]'.repeat(100_000)}`],
    ['nested blocks', `${'a {\n'.repeat(MAX_NESTING + 10)}${'}\n'.repeat(MAX_NESTING + 10)}`],
  ];

  for (const [name, source] of table) {
    it(`reports ${name} beyond ${MAX_NESTING} levels as one diagnostic instead of overflowing the stack`, () => {
      const { file, diagnostics } = parseFile(SourceFile.fromText('', source));

      assert.equal(file, undefined);
      assert.deepEqual(
        diagnostics.map((d: Diagnostic) => [d.code, d.message]),
        [[ParseCode.TOO_DEEP, `blocks and expressions nest more than ${MAX_NESTING} levels deep`]],
      );
    });
  }

  it('accepts nesting well below the limit', () => {
    parseOk(`a = ${'['.repeat(100)}${']'.repeat(100)}\nb = ${'1 + '.repeat(200)}1\n`);
  });

  it('never throws, whatever the bytes', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alphabet = [
      'a',
      '=',
      '{',
      '}',
      '[',
      ']',
      '(',
      ')',
      '"',
      '`',
      '/',
      '*',
      '\n',
      ' ',
      '1',
      '.',
      ',',
      '-',
      '#',
      'é',
      '\\',
    ];
    for (let n = 0; n < 2000; n++) {
      const length = Math.floor(random() * 40);
      let text = '';
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)] ?? '';

      const result = parseFile(SourceFile.fromText('', text));

      assert.equal(result.file === undefined, result.diagnostics.length > 0);
    }
  });
});
