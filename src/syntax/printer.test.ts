import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { formatDiagnostic } from './diagnostics.ts';
import { parseFile } from './parser.ts';
import { formatSource, printFile } from './printer.ts';
import { SourceFile } from './source.ts';

interface ConformanceCase {
  readonly id: string;
  readonly source: string;
  readonly parse: { readonly ok: boolean };
  readonly fmt: string | null;
}

const CASES = (
  JSON.parse(readFileSync(new URL('../../test/fixtures/alloy-conformance-dev.json', import.meta.url), 'utf8')) as {
    cases: ConformanceCase[];
  }
).cases;

function fmt(source: string): string | undefined {
  return formatSource(SourceFile.fromText('t.alloy', source)).text;
}

describe('printer: the conformance corpus (alloy fmt output computed by Alloy)', () => {
  for (const c of CASES) {
    if (c.fmt === null) {
      it(`${c.id}: does not format a file that does not parse`, () => {
        const result = formatSource(SourceFile.fromText('t.alloy', c.source));

        assert.equal(result.text, undefined);
        assert.ok(result.diagnostics.length > 0);
      });
      continue;
    }
    const expected = c.fmt;
    it(`${c.id}: prints exactly what alloy fmt prints, and formatting that again changes nothing`, () => {
      const once = fmt(c.source);
      const twice = once === undefined ? undefined : fmt(once);

      assert.equal(once, expected);
      assert.equal(twice, expected);
    });
  }
});

describe('printer: alloy-fmt.md examples', () => {
  // [name, input, output, output of a second pass when fmt is not idempotent]
  const table: readonly (readonly [name: string, input: string, output: string, second?: string])[] = [
    [
      'E1 alignment run; a blank line starts a new one',
      'port = 4317\nhostname = "sampler"\n\ntimeout = "5s"\nretries = 3\n',
      'port     = 4317\nhostname = "sampler"\n\ntimeout = "5s"\nretries = 3\n',
    ],
    [
      'E2 first line of a multi-line value aligns; the run ends after it',
      'a = 1\nendpoints = [\n  "x",\n]\nbb = 2\nc = 3\n',
      'a         = 1\nendpoints = [\n\t"x",\n]\nbb = 2\nc  = 3\n',
    ],
    [
      'E3 trailing comments form a column; an own-line comment ends the run',
      'interval = "10s" // how often\nport = "4317" // grpc\n// next group\nx = 1\nyy = 2\n',
      'interval = "10s"  // how often\nport     = "4317" // grpc\n// next group\nx  = 1\nyy = 2\n',
    ],
    [
      'E4 blank line before blocks (not after); empty blocks; label "" dropped',
      'a = 1\nb "" {\n}\nc {}\nd = 2\n',
      'a = 1\n\nb { }\n\nc { }\nd = 2\n',
    ],
    [
      'E5 blank lines collapse to one; none after { or before }',
      'blk {\n\n\n  x = 1\n\n\n\n  y = 2\n\n}\n',
      'blk {\n\tx = 1\n\n\ty = 2\n}\n',
    ],
    [
      'E6 one-line objects/arrays: tight, trailing comma dropped, fields align across lines',
      'first = { name = "a", weight = 1, }\nsecond_one = {n="bb",w=22}\nl = [ 1 , 2 , ]\n',
      'first      = {name = "a", weight = 1}\nsecond_one = {n    = "bb", w     = 22}\nl          = [1, 2]\n',
    ],
    [
      "E7 multi-line objects: `}` stays on the last field's line if it was there; a first field may share the `{` line",
      'tls = {\n  insecure = true,\n  server_name = "gw" }\nq = { size = 1,\n  workers = 2,\n}\n',
      'tls = {\n\tinsecure    = true,\n\tserver_name = "gw"}\nq = {size = 1,\n\tworkers = 2,\n}\n',
    ],
    [
      'E8 multi-line arrays keep per-line grouping; inner blank lines removed',
      'ports = [\n  4317, 4318,\n\n  55680,\n]\n',
      'ports = [\n\t4317, 4318,\n\t55680,\n]\n',
    ],
    [
      'E9 call arguments on new lines are indented; a trailing comma only when `)` is on its own line',
      'x = concat(["a"],\n  ["b"])\ny = f(\n  1,\n)\n',
      'x = concat(["a"],\n\t["b"])\ny = f(\n\t1,\n)\n',
    ],
    [
      'E10 operator spacing; parens tight; `1 .field`',
      'a=1+2*3\nb = - 1\nc = ( 1+2 )*3\nd = x . y [ 0 ]\ne = 1 .field\n',
      'a = 1 + 2 * 3\nb = -1\nc = (1 + 2) * 3\nd = x.y[0]\ne = 1 .field\n',
    ],
    ['E11 binary expression over several lines is joined', 'total = 1 +\n  2 +\n  3\n', 'total = 1 + 2 + 3\n'],
    [
      'E12 object whose last value spans lines gains `,` and a line break before `}`',
      'o = {list = [\n  1,\n]}\n',
      'o = {list = [\n\t\t1,\n\t],\n}\n',
    ],
    [
      'E13 literals are printed verbatim',
      'a = 007\nb = 1E3\nc = .5\nd = "\\u00e9\\x41"\ne = `raw\\n`\nf = TRUE\n',
      'a = 007\nb = 1E3\nc = .5\nd = "\\u00e9\\x41"\ne = `raw\\n`\nf = TRUE\n',
    ],
    [
      'E14 object keys: backtick and quoted keys are re-quoted with %q',
      'o = { `raw` = 1, "a.b" = 2, "" = 3 }\n',
      'o = {"raw" = 1, "a.b" = 2, "" = 3}\n',
    ],
    [
      'E15 comments at block edges',
      'blk { // header\n  // first\n  a = 1 // trailing\n\n  // last\n}\n',
      'blk { // header\n\t// first\n\ta = 1 // trailing\n\n\t// last\n}\n',
    ],
    [
      'E16 comment alone in an empty array/object is not indented',
      'blk {\n  l = [\n    // none yet\n  ]\n}\n',
      'blk {\n\tl = [\n\t// none yet\n\t]\n}\n',
    ],
    [
      'E17 comments before position-less tokens move after them',
      'endpoint /* grpc */ = "x"\nn = (1 /* c */)\nl = ["a" /* c */, "b"]\n',
      'endpoint = /* grpc */ "x"\nn        = (1) /* c */\nl        = ["a", /* c */ "b"]\n',
    ],
    [
      'E18 a comment between blocks replaces the forced blank line',
      'a {}\n// about b\nb {}\n',
      'a { }\n// about b\nb { }\n',
    ],
    [
      "E19 a block comment sharing a line joins the statement's first cell",
      'x = 1\n/* lead */ yy = 2\nzzz = 3\n',
      'x = 1\n/* lead */ yy = 2\nzzz           = 3\n',
    ],
    [
      'E20 widths count code points, not display columns',
      '日本 = 1\nyy = 2\nkey = "é"\n',
      '日本  = 1\nyy  = 2\nkey = "é"\n',
    ],
    [
      'E21 TAB inside a string becomes alignment padding',
      'x = "a\tb"\nlonger = "abc\td"\n',
      'x      = "a   b"\nlonger = "abc d"\n',
    ],
    [
      'E22 raw strings: lines not re-indented, trailing spaces trimmed',
      'blk {\n  s = `one   \n  two`\n}\n',
      'blk {\n\ts = `one\n  two`\n}\n',
    ],
    [
      'E23 BOM dropped, CRLF → LF outside strings, CRLF kept inside a raw string',
      '\ufeffa = 1\r\nb = `x\r\ny`\r\n// c\r\n',
      'a = 1\nb = `x\r\ny`\n// c\n',
    ],
    [
      'E24 end of file: leading/trailing blank lines dropped, one final newline',
      '\n\n\n/* managed by helm */\n\n\n\nlog_level = "warn"\n\n\n\n',
      '/* managed by helm */\n\nlog_level = "warn"\n',
    ],
    [
      'E25 field on the line after `name = {first,` gets extra TABs for a long name',
      'longname = {a = 1,\nb = 2,\n}\n',
      'longname = {a = 1,\n\t\tb    = 2,\n}\n',
    ],
    [
      'E26 NOT idempotent: quoted key with an escape is re-escaped each pass',
      'labels = { "team\\tname" = "sre" }\n',
      'labels = {"team\\\\tname" = "sre"}\n',
      'labels = {"team\\\\\\\\tname" = "sre"}\n',
    ],
    [
      'E27 NOT idempotent: joined statement is followed by FF, alignment appears on pass 2',
      'total = 1 +\n  2\nn = 3\n',
      'total = 1 + 2\nn = 3\n',
      'total = 1 + 2\nn     = 3\n',
    ],
    [
      "E28 NOT idempotent: leading TABs of a raw-string line share the name's column",
      'very_long_attribute_name = `x\n\ty`\n',
      'very_long_attribute_name = `x\n\t\t\t\ty`\n',
      'very_long_attribute_name = `x\n\t\t\t\t\t\t\ty`\n',
    ],
    ['E29 broken output: empty call with `)` on the next line', 'hosts = list(\n)\n', 'hosts = list(,\n)\n'],
  ];

  for (const [name, input, output, second] of table) {
    it(name, () => {
      const once = fmt(input);

      assert.equal(once, output);
      if (second !== undefined) assert.equal(fmt(output), second);
    });
  }

  it('E29 the broken output of an empty call over two lines does not parse', () => {
    const file = SourceFile.fromText('', 'hosts = list(,\n)\n');

    const result = formatSource(file);

    assert.equal(result.text, undefined);
    assert.deepEqual(
      result.diagnostics.map((d) => formatDiagnostic(d, file)),
      ['1:14: expected expression, got ,'],
    );
  });
});

describe('printer: files', () => {
  const table: readonly (readonly [name: string, input: string, output: string])[] = [
    ['an empty file formats to one newline', '', '\n'],
    ['a blank file formats to one newline', '\n\n  \n', '\n'],
    ['a BOM-only file formats to one newline', '\ufeff', '\n'],
    ['a file without a final newline gains one', 'a = 1', 'a = 1\n'],
    ['comments only', '// a\n\n\n/* b */', '// a\n\n/* b */\n'],
    ['nested blocks are indented with tabs', 'a {\nb {\nc = 1\n}\n}\n', 'a {\n\tb {\n\t\tc = 1\n\t}\n}\n'],
    ['one-line nested blocks are expanded', 'a { b { c = 1 } }\n', 'a {\n\tb {\n\t\tc = 1\n\t}\n}\n'],
  ];

  for (const [name, input, output] of table) {
    it(name, () => {
      assert.equal(fmt(input), output);
    });
  }

  it('prints a parsed file without the final newline that alloy fmt adds', () => {
    const source = SourceFile.fromText('', 'a   =   1\n');
    const { file } = parseFile(source);
    assert.ok(file);

    assert.equal(printFile(file, source), 'a = 1');
  });

  it('returns the parse diagnostics instead of text for a file that does not parse', () => {
    const source = SourceFile.fromText('t.alloy', 'a = [\n  1\n]\nb = {x: 1}\n');

    const result = formatSource(source);

    assert.equal(result.text, undefined);
    assert.deepEqual(
      result.diagnostics.map((d) => formatDiagnostic(d, source)),
      [
        "t.alloy:2:4: missing ',' in expression list",
        "t.alloy:4:7: illegal character U+003A ':'",
        't.alloy:4:7: expected =, got ILLEGAL',
      ],
    );
  });
});
