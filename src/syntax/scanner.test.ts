import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Scanner, formatCodePoint, isValidIdentifier } from './scanner.ts';
import { SourceFile } from './source.ts';
import { Token, tokenName } from './token.ts';

/** Every token as `NAME text@line:col`, and every error as `line:col message`. */
function scanAll(text: string, includeComments = false): { tokens: string[]; errors: string[] } {
  const source = SourceFile.fromText('', text);
  const errors: string[] = [];
  const scanner = new Scanner(
    source,
    (offset, message) => {
      const p = source.position(offset);
      errors.push(`${p.line}:${p.column} ${message}`);
    },
    { includeComments },
  );
  const tokens: string[] = [];
  for (;;) {
    const tok = scanner.scan();
    const p = source.position(scanner.pos);
    // Operators are their own text; literals, identifiers and comments show theirs.
    const text = tok <= Token.NULL ? scanner.text() : '';
    tokens.push(`${tokenName(tok)}${text === '' ? '' : ` ${text}`}@${p.line}:${p.column}`);
    if (tok === Token.EOF) return { tokens, errors };
  }
}

function tokens(text: string): string[] {
  const result = scanAll(text);
  assert.deepEqual(result.errors, []);
  return result.tokens;
}

describe('scanner: tokens (alloy-syntax.md §2)', () => {
  const table: readonly (readonly [name: string, source: string, tokens: readonly string[]])[] = [
    [
      'identifiers, Unicode letters included',
      'otelcol _x métrica a1',
      ['IDENT otelcol@1:1', 'IDENT _x@1:9', 'IDENT métrica@1:12', 'IDENT a1@1:21', 'TERMINATOR@1:23', 'EOF@1:23'],
    ],
    [
      'keywords',
      'true false null',
      ['BOOL true@1:1', 'BOOL false@1:6', 'NULL null@1:12', 'TERMINATOR@1:16', 'EOF@1:16'],
    ],
    [
      'words that are plain identifiers',
      'if for local import declare',
      [
        'IDENT if@1:1',
        'IDENT for@1:4',
        'IDENT local@1:8',
        'IDENT import@1:14',
        'IDENT declare@1:21',
        'TERMINATOR@1:28',
        'EOF@1:28',
      ],
    ],
    ['integers', '0 4317 0755', ['NUMBER 0@1:1', 'NUMBER 4317@1:3', 'NUMBER 0755@1:8', 'TERMINATOR@1:12', 'EOF@1:12']],
    [
      'floats',
      '1.5 .5 1. 1e3 2.5E-3 1e+3',
      [
        'FLOAT 1.5@1:1',
        'FLOAT .5@1:5',
        'FLOAT 1.@1:8',
        'FLOAT 1e3@1:11',
        'FLOAT 2.5E-3@1:15',
        'FLOAT 1e+3@1:22',
        'TERMINATOR@1:26',
        'EOF@1:26',
      ],
    ],
    [
      'no hex prefix: 0x1F is a number and an identifier',
      '0x1F',
      ['NUMBER 0@1:1', 'IDENT x1F@1:2', 'TERMINATOR@1:5', 'EOF@1:5'],
    ],
    [
      'a dot before a digit starts a float',
      'x.0 1..2',
      ['IDENT x@1:1', 'FLOAT .0@1:2', 'FLOAT 1.@1:5', 'FLOAT .2@1:7', 'TERMINATOR@1:9', 'EOF@1:9'],
    ],
    [
      'a dash is an operator, not part of a name',
      'my-attr',
      ['IDENT my@1:1', '-@1:3', 'IDENT attr@1:4', 'TERMINATOR@1:8', 'EOF@1:8'],
    ],
    [
      'strings keep their quotes in the token text',
      '"a\\n" `raw`',
      ['STRING "a\\n"@1:1', 'STRING `raw`@1:7', 'TERMINATOR@1:12', 'EOF@1:12'],
    ],
    ['a raw string may span lines', '`a\nb`', ['STRING `a\nb`@1:1', 'TERMINATOR@2:3', 'EOF@2:3']],
    ['${} is literal text', '"${x}"', ['STRING "${x}"@1:1', 'TERMINATOR@1:7', 'EOF@1:7']],
    [
      'every operator',
      '|| && ! = == != < <= > >= + - * / % ^ { } ( ) [ ] , .',
      [
        '||@1:1',
        '&&@1:4',
        '!@1:7',
        '=@1:9',
        '==@1:11',
        '!=@1:14',
        '<@1:17',
        '<=@1:19',
        '>@1:22',
        '>=@1:24',
        '+@1:27',
        '-@1:29',
        '*@1:31',
        '/@1:33',
        '%@1:35',
        '^@1:37',
        '{@1:39',
        '}@1:41',
        '(@1:43',
        ')@1:45',
        '[@1:47',
        ']@1:49',
        ',@1:51',
        '.@1:53',
        'EOF@1:54',
      ],
    ],
    [
      'operators without spaces',
      'a==b!=c<=d',
      [
        'IDENT a@1:1',
        '==@1:2',
        'IDENT b@1:4',
        '!=@1:5',
        'IDENT c@1:7',
        '<=@1:8',
        'IDENT d@1:10',
        'TERMINATOR@1:11',
        'EOF@1:11',
      ],
    ],
    [
      'a leading BOM is skipped but counts towards the columns',
      '\ufeffa',
      ['IDENT a@1:4', 'TERMINATOR@1:5', 'EOF@1:5'],
    ],
    ['CR is whitespace', 'a\r\nb', ['IDENT a@1:1', 'TERMINATOR@1:3', 'IDENT b@2:1', 'TERMINATOR@2:2', 'EOF@2:2']],
  ];

  for (const [name, source, expected] of table) {
    it(name, () => {
      assert.deepEqual(tokens(source), expected);
    });
  }
});

describe('scanner: terminators (alloy-syntax.md §2.8)', () => {
  const after: readonly (readonly [kind: string, source: string])[] = [
    ['IDENT', 'a'],
    ['NUMBER', '1'],
    ['FLOAT', '1.5'],
    ['STRING', '"s"'],
    ['BOOL', 'true'],
    ['NULL', 'null'],
    [')', ')'],
    [']', ']'],
    ['}', '}'],
  ];
  for (const [kind, source] of after) {
    it(`turns the newline after ${kind} into a TERMINATOR`, () => {
      const toks = tokens(`${source}\nx`);

      assert.equal(toks[1], 'TERMINATOR@1:' + String(source.length + 1));
    });
  }

  const notAfter = ['+', ',', '(', '[', '{', '=', '.', '||', '!'];
  for (const source of notAfter) {
    it(`treats the newline after ${source} as whitespace`, () => {
      const toks = tokens(`${source}\nx`);

      assert.equal(toks[1], 'IDENT x@2:1');
    });
  }

  it('ends the input with a TERMINATOR when one is due', () => {
    assert.deepEqual(tokens('a'), ['IDENT a@1:1', 'TERMINATOR@1:2', 'EOF@1:2']);
    assert.deepEqual(tokens('a +'), ['IDENT a@1:1', '+@1:3', 'EOF@1:4']);
  });

  it('places the TERMINATOR at a // comment that ends the line', () => {
    assert.deepEqual(tokens('a // c\nb'), [
      'IDENT a@1:1',
      'TERMINATOR@1:3',
      'IDENT b@2:1',
      'TERMINATOR@2:2',
      'EOF@2:2',
    ]);
  });

  it('places the TERMINATOR at a block comment followed only by blanks up to the end of the line', () => {
    assert.deepEqual(tokens('a /* c */  \nb'), [
      'IDENT a@1:1',
      'TERMINATOR@1:3',
      'IDENT b@2:1',
      'TERMINATOR@2:2',
      'EOF@2:2',
    ]);
  });

  it('places the TERMINATOR at a block comment that spans lines', () => {
    assert.deepEqual(tokens('a /* c\n */ b'), [
      'IDENT a@1:1',
      'TERMINATOR@1:3',
      'IDENT b@2:5',
      'TERMINATOR@2:6',
      'EOF@2:6',
    ]);
  });

  it('inserts nothing for a block comment followed by more tokens on its line', () => {
    assert.deepEqual(tokens('a /* c */ b'), ['IDENT a@1:1', 'IDENT b@1:11', 'TERMINATOR@1:12', 'EOF@1:12']);
  });

  it('returns comments, without carriage returns, when asked to', () => {
    const { tokens: toks } = scanAll('a // c\r\n/* x\r\ny */', true);

    assert.deepEqual(toks, ['IDENT a@1:1', 'TERMINATOR@1:3', 'COMMENT // c@1:3', 'COMMENT /* x\ny */@2:1', 'EOF@3:5']);
  });
});

describe('scanner: errors (alloy-syntax.md §2)', () => {
  const table: readonly (readonly [name: string, source: string, errors: readonly string[]])[] = [
    ['#', '#', ["1:1 illegal character U+0023 '#'"]],
    [';', 'a;', ["1:2 illegal character U+003B ';'"]],
    [':', 'a:', ["1:2 illegal character U+003A ':'"]],
    ['form feed', '\f', ['1:1 illegal character U+000C']],
    ['vertical tab', '\v', ['1:1 illegal character U+000B']],
    ['non-breaking space', '\u00a0', ['1:1 illegal character U+00A0']],
    ['NUL', 'a\0', ['1:2 illegal character NUL', '1:2 illegal character U+0000']],
    ['NUL inside a string', '"a\0"', ['1:3 illegal character NUL']],
    ['a BOM after the start', 'a\ufeff', ['1:2 illegal byte order mark']],
    ['single quotes', "'x'", ['1:1 illegal single-quoted string; use double quotes']],
    ['a lone &', 'a & b', ['1:4 missing second & in &&']],
    ['a lone |', 'a | b', ['1:4 missing second | in ||']],
    ['a newline inside "…"', '"abc\n"', ['1:1 string literal not terminated', '2:1 string literal not terminated']],
    ['end of input inside "…"', '"abc', ['1:1 string literal not terminated']],
    ['end of input inside `…`', '`abc', ['1:1 string literal not terminated']],
    ['an unterminated block comment', 'a /* b', ['1:3 block comment not terminated']],
    ['an exponent without digits', '1e', ['1:1 exponent has no digits']],
    ['an unknown escape', '"\\q"', ['1:3 unknown escape sequence']],
    ["\\' is not an escape", '"\\\'"', ['1:3 unknown escape sequence']],
    [
      'a bad hex digit (reported after the backslash)',
      '"\\xZZ"',
      ["1:3 illegal character U+005A 'Z' in escape sequence"],
    ],
    ['a short \\u', '"\\u12"', ["1:3 illegal character U+0022 '\"' in escape sequence"]],
    ['a surrogate \\u', '"\\uD800"', ['1:3 escape sequence is invalid Unicode code point']],
    ['a \\U beyond U+10FFFF', '"\\U00110000"', ['1:3 escape sequence is invalid Unicode code point']],
    ['an octal escape above 255', '"\\400"', ['1:3 escape sequence is invalid Unicode code point']],
  ];

  for (const [name, source, errors] of table) {
    it(`reports ${name}`, () => {
      assert.deepEqual(scanAll(source).errors, errors);
    });
  }

  it('accepts every valid escape', () => {
    assert.deepEqual(scanAll('"\\a\\b\\f\\n\\r\\t\\v\\\\\\"\\101\\x41\\u00e9\\U0001F600"').errors, []);
  });

  it('keeps scanning after an error, with the most plausible token', () => {
    assert.deepEqual(scanAll('a & b').tokens, ['IDENT a@1:1', '&&@1:3', 'IDENT b@1:5', 'TERMINATOR@1:6', 'EOF@1:6']);
    assert.deepEqual(scanAll("'x' y").tokens, ["ILLEGAL 'x'@1:1", 'IDENT y@1:5', 'TERMINATOR@1:6', 'EOF@1:6']);
  });

  it('reports invalid UTF-8 once per bad byte', () => {
    const source = new SourceFile('', Uint8Array.from([0x61, 0xff, 0xfe]));
    const errors: string[] = [];

    const scanner = new Scanner(source, (offset, message) => errors.push(`${offset} ${message}`));
    while (scanner.scan() !== Token.EOF);

    assert.deepEqual(errors.slice(0, 2), ['1 illegal UTF-8 encoding', '2 illegal UTF-8 encoding']);
  });
});

describe('scanner: helpers', () => {
  it("formats code points as Go's %#U", () => {
    assert.equal(formatCodePoint(0x3b), "U+003B ';'");
    assert.equal(formatCodePoint(0xa0), 'U+00A0');
    assert.equal(formatCodePoint(0x1f600), "U+1F600 '😀'");
  });

  it('tells which labels are identifiers', () => {
    assert.deepEqual(
      ['default', 'métrica', '_x', 'a1', '', '1x', 'a.b', 'my-label', 'true', 'null'].map(isValidIdentifier),
      [true, true, true, true, false, false, false, false, false, false],
    );
  });
});
