import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { createScope, type Scope } from './evaluate.ts';
import {
  DEPRECATED_STDLIB_NAMES,
  EXPERIMENTAL_STDLIB_NAMES,
  createStdlib,
  goPathJoin,
  goReplaceAll,
  goSplit,
  goTrim,
  goTrimSpace,
  normalizeVersion,
} from './stdlib.ts';
import { formatGoFloat } from './stdlib-format.ts';
import {
  arrayValue,
  boolValue,
  capsuleValue,
  floatValue,
  intValue,
  nullValue,
  objectValue,
  secretValue,
  stringValue,
  uintValue,
  type Value,
} from './value.ts';
import { evaluateText, showValue } from '../../test/helpers/alloy-eval.ts';

const ENV: Readonly<Record<string, string>> = { TEST_VAR: 'Hello!', EMPTY: '' };
const STDLIB = createStdlib({
  env: (name) => ENV[name],
  hostname: 'lb-0',
  os: 'linux',
  arch: 'amd64',
  version: '1.2.3',
});
const SCOPE = createScope({
  variables: new Map<string, Value>([
    ['secret', secretValue('foo')],
    ['consumer', capsuleValue('otelcol.Consumer', {})],
  ]),
  stdlib: STDLIB,
});

function run(text: string, scope: Scope = SCOPE): string {
  return evaluateText(text, scope);
}

type Table = readonly (readonly [expression: string, result: string])[];

function table(name: string, rows: Table): void {
  describe(name, () => {
    for (const [expression, result] of rows) {
      it(`${expression} → ${result}`, () => {
        assert.equal(run(expression), result);
      });
    }
  });
}

table('stdlib: sys.env and env', [
  ['sys.env("TEST_VAR")', '"Hello!"'],
  ['env("TEST_VAR")', '"Hello!"'],
  ['sys.env("UNSET")', '""'],
  ['sys.env("EMPTY")', '""'],
  ['sys.env()', '1:1: sys.env expected 1 args, got 0'],
  ['sys.env("a", "b")', '1:1: sys.env expected 1 args, got 2'],
  ['sys.env(1)', '""'],
  ['sys.env(true)', '1:9: true should be string, got bool'],
]);

table('stdlib: coalesce', [
  ['coalesce()', 'null'],
  ['coalesce("Hello!")', '"Hello!"'],
  ['coalesce(sys.env("TEST_VAR"), "World!")', '"Hello!"'],
  ['coalesce(sys.env("NON_DEFINED"), "World!")', '"World!"'],
  ['coalesce([], ["fallback"])', '["fallback"]'],
  ['coalesce(array.concat(["item"]), ["fallback"])', '["item"]'],
  ['coalesce(0, 1, 2)', '1'],
  ['coalesce(0.0, 2.5)', '2.5f'],
  ['coalesce(false, 1, 2)', '1'],
  ['coalesce(false, true)', 'true'],
  ['coalesce(encoding.from_json("[]"), true)', 'true'],
  ['coalesce(encoding.from_json("{}"), true)', 'true'],
  ['coalesce(encoding.from_json("{}"), false)', 'false'],
  ['coalesce([],null)', 'null'],
  ['coalesce(null, "", 0, false, [], {})', '{}'],
  ['coalesce(secret, "x")', 'secret'],
]);

table('stdlib: array.concat and concat', [
  ['concat([true, "foo"], [], [false, 1])', '[true, "foo", false, 1]'],
  ['array.concat([true, "foo"], [], [false, 1])', '[true, "foo", false, 1]'],
  ['array.concat()', '[]'],
  ['array.concat([1])', '[1]'],
  ['concat([1], "a")', '1:13: "a" should be array, got string'],
  ['concat(null)', '-:  should be array, got null'],
]);

table('stdlib: strings', [
  ['to_lower("String")', '"string"'],
  ['to_upper("string")', '"STRING"'],
  ['string.to_upper("straße")', '"STRAßE"'],
  ['string.to_lower("İ")', '"i"'],
  ['string.to_lower("ΣΑΣ")', '"σασ"'],
  ['to_upper(1)', '"1"'],
  ['to_upper(1.5)', '"1.5"'],
  ['to_upper(true)', '1:10: true should be string, got bool'],
  ['to_upper(null)', '""'],
  ['trim_space("   string \\n\\n")', '"string"'],
  ['string.trim_space("\\u00a0\\u0085x\\u3000")', '"x"'],
  ['string.trim_space("\\ufeffx")', '"\ufeffx"'],
  ['to_lower(to_upper(trim_space("   String   ")))', '"string"'],
  ['split("/aaa/bbb/ccc/ddd", "/")', '["", "aaa", "bbb", "ccc", "ddd"]'],
  ['split("/aaa/bbb/ccc/ddd", "/")[0]', '""'],
  ['string.split("a😀b", "")', '["a", "😀", "b"]'],
  ['string.split("", ",")', '[""]'],
  ['join(split("/aaa/bbb/ccc/ddd", "/"), "/")', '"/aaa/bbb/ccc/ddd"'],
  ['join(["foo", "bar", "baz"], ", ")', '"foo, bar, baz"'],
  ['join([0, 0, 1], ", ")', '"0, 0, 1"'],
  ['join(null, ",")', '""'],
  ['join("abc", ",")', '1:6: "abc" should be array, got string'],
  ['join([secret], ",")', '1:7: secret secrets may not be converted into strings'],
  ['replace("Hello World", " World", "!")', '"Hello!"'],
  ['string.replace("abc", "", "-")', '"-a-b-c-"'],
  ['string.replace("aaa", "a", "bb")', '"bbbbbb"'],
  ['trim("?!hello?!", "!?")', '"hello"'],
  ['trim("   hello! world.!  ", "! ")', '"hello! world."'],
  ['trim("abc", "")', '"abc"'],
  ['trim_prefix("helloworld", "hello")', '"world"'],
  ['trim_prefix("helloworld", "world")', '"helloworld"'],
  ['trim_suffix("helloworld", "world")', '"hello"'],
  ['string.trim_prefix("x", "")', '"x"'],
  ['string.format("Hello %s", "World")', '"Hello World"'],
  ['string.format("%#v", 1)', '"1"'],
  ['string.format("%#v", true)', '"true"'],
  ['string.format("%q", "hello")', '"\\"hello\\""'],
]);

table('stdlib: format, with Go fmt verbs', [
  ['format("%s=%d", "a", 1)', '"a=1"'],
  ['format("%v %v %v %v", 1, 1.5, "s", true)', '"1 1.5 s true"'],
  ['format("%d", 1.5)', '"%!d(float64=1.5)"'],
  ['format("%s", 1)', '"%!s(int=1)"'],
  ['format("%d", "x")', '"%!d(string=x)"'],
  ['format("%t", 1)', '"%!t(int=1)"'],
  ['format("%v", [1, "a"])', '"[1 a]"'],
  ['format("%d", [1, "a"])', '"[1 %!d(string=a)]"'],
  ['format("%v", {b = 2, a = [1, null]})', '"map[a:[1 <nil>] b:2]"'],
  ['format("%#v", [1, "a", null])', '"[]interface {}{1, \\"a\\", interface {}(nil)}"'],
  ['format("%#v", {a = 1})', '"map[string]interface {}{\\"a\\":1}"'],
  ['format("%v %s %d", null, null, null)', '"<nil> %!s(<nil>) %!d(<nil>)"'],
  ['format("%s")', '"%!s(MISSING)"'],
  ['format("a", 1, "x", null)', '"a%!(EXTRA int=1, string=x, <nil>)"'],
  ['format("%[2]s %[1]s", "a", "b")', '"b a"'],
  ['format("%[3]d", 1)', '"%!d(BADINDEX)"'],
  ['format("%")', '"%!(NOVERB)"'],
  ['format("%%")', '"%"'],
  ['format("%z", 1)', '"%!z(int=1)"'],
  ['format("%*d|%-*d|", 4, 1, 3, 2)', '"   1|2  |"'],
  ['format("%*d", "x", 1)', '"%!(BADWIDTH)1"'],
  ['format("%.*f", -1, 2.5)', '"%!(BADPREC)2.500000"'],
  ['format("%5s|%-5s|%.2s|%5.1s", "ab", "ab", "abc", "xyz")', '"   ab|ab   |ab|    x"'],
  [
    'format("%05d|%-5d|%+d|% d|%.3d|%x|%X|%#x|%o|%#o|%O|%b|%#b", -42, 42, 5, 5, 7, 255, 255, 255, 8, 8, 8, 5, 5)',
    '"-0042|42   |+5| 5|007|ff|FF|0xff|10|010|0o10|101|0b101"',
  ],
  ['format("%x", -255)', '"-ff"'],
  [
    'format("%d %v %#v", 18446744073709551615, 18446744073709551615, 18446744073709551615)',
    '"18446744073709551615 18446744073709551615 0xffffffffffffffff"',
  ],
  ['format("%c|%q|%U|%#U|%c", 65, 65, 9731, 9731, -1)', "\"A|'A'|U+2603|U+2603 '☃'|�\""],
  [
    'format("%q %+q %#q %x % X %#x", "é\\n", "é", "raw", "hi", "hi", "hi")',
    '"\\"é\\\\n\\" \\"\\\\u00e9\\" `raw` 6869 68 69 0x6869"',
  ],
  [
    'format("%f|%.2f|%8.3f|%-8.2f|%08.2f|%+.1f", 3.14159, 3.14159, 3.14159, 3.14159, -3.14159, 2.0)',
    '"3.141590|3.14|   3.142|3.14    |-0003.14|+2.0"',
  ],
  [
    'format("%e|%E|%.2e|%g|%G|%.3g|%g", 123456.789, 0.000123, 1.0, 123456.789, 1e-7, 3.14159, 1e21)',
    '"1.234568e+05|1.230000E-04|1.00e+00|123456.789|1E-07|3.14|1e+21"',
  ],
  ['format("%v %v %v %v %v", 1e6, 100000.0, 0.0001, 1e-5, 123456789.0)', '"1e+06 100000 0.0001 1e-05 1.23456789e+08"'],
  ['format("%.0f %.0f %.0f %.2f %.1f", 0.5, 1.5, 2.5, 0.125, 0.25)', '"0 2 2 0.12 0.2"'],
  ['format("%#g %#.3g %#v %#.0f", 1.0, 2.0, 1.0, 3.0)', '"1.00000 2.00 1 3."'],
  ['format("%b", 1.0)', '"4503599627370496p-52"'],
  ['format("%x %X %.1x", 1.5, 1.0, 1.96875)', '"0x1.8p+00 0X1P+00 0x1.0p+01"'],
  ['format("%v %5.1f|%v|%v", -0.0, -1.0 * 0.0, 1e300 * 1e300, -1e300 * 1e300)', '"-0  -0.0|+Inf|-Inf"'],
  [
    'format("%T %T %T %T %T %T %T", 1, 1.5, "s", true, [1], {}, null)',
    '"int float64 string bool []interface {} map[string]interface {} <nil>"',
  ],
  [
    'format("%T %v %s %d", secret, secret, secret, secret)',
    '"alloytypes.Secret (secret) (secret) %!d(alloytypes.Secret=(secret))"',
  ],
  ['format("%v", [secret])', '"[(secret)]"'],
  ['format("%v %T", consumer, consumer)', '"capsule(\\"otelcol.Consumer\\") otelcol.Consumer"'],
  ['format("%v", sys.env)', '"function"'],
  ['format("%v", encoding.from_base64("Zm9v"))', '"[102 111 111]"'],
  ['format()', '1:1: format expected at least 1 args, got 0'],
  ['format(1)', '"1"'],
]);

table('stdlib: encoding.from_json and json_decode', [
  ['json_decode("{\\"foo\\": \\"bar\\"}")', '{foo = "bar"}'],
  ['encoding.from_json("{\\"foo\\": \\"bar\\"}")', '{foo = "bar"}'],
  ['encoding.from_json("[0, 1, 2]")', '[0f, 1f, 2f]'],
  ['encoding.from_json("{\\"foo\\": null}")', '{foo = null}'],
  ['encoding.from_json("[0, null]")', '[0f, null]'],
  [
    'encoding.from_json(" {\\"a\\": {\\"b\\": [true, false, -1.5e3, \\"\\\\u00e9\\\\ud83d\\\\ude00\\\\n\\"]}} ")',
    '{a = {b = [true, false, -1500f, "é😀\\n"]}}',
  ],
  ['encoding.from_json("{\\"a\\": 1, \\"a\\": 2}")', '{a = 2f}'],
  ['encoding.from_json("\\"\\\\ud800\\"")', '"�"'],
  ['encoding.from_json("")', '1:1: encoding.from_json unexpected end of JSON input'],
  ['encoding.from_json("   ")', '1:1: encoding.from_json unexpected end of JSON input'],
  ['encoding.from_json("{\\"a\\" 1}")', "1:1: encoding.from_json invalid character '1' after object key"],
  [
    'encoding.from_json("{\\"a\\": 1 \\"b\\"}")',
    "1:1: encoding.from_json invalid character '\"' after object key:value pair",
  ],
  [
    'encoding.from_json("{\\"a\\": 1,}")',
    "1:1: encoding.from_json invalid character '}' looking for beginning of object key string",
  ],
  [
    'encoding.from_json("{a: 1}")',
    "1:1: encoding.from_json invalid character 'a' looking for beginning of object key string",
  ],
  ['encoding.from_json("[1,]")', "1:1: encoding.from_json invalid character ']' looking for beginning of value"],
  ['encoding.from_json("[1 2]")', "1:1: encoding.from_json invalid character '2' after array element"],
  ['encoding.from_json("01")', "1:1: encoding.from_json invalid character '1' after top-level value"],
  ['encoding.from_json("1 2")', "1:1: encoding.from_json invalid character '2' after top-level value"],
  ['encoding.from_json("-x")', "1:1: encoding.from_json invalid character 'x' in numeric literal"],
  ['encoding.from_json("1.x")', "1:1: encoding.from_json invalid character 'x' after decimal point in numeric literal"],
  ['encoding.from_json("1ex")', "1:1: encoding.from_json invalid character 'x' in exponent of numeric literal"],
  ['encoding.from_json("tru")', '1:1: encoding.from_json unexpected end of JSON input'],
  ['encoding.from_json("trUe")', "1:1: encoding.from_json invalid character 'U' in literal true (expecting 'u')"],
  ['encoding.from_json("nul1")', "1:1: encoding.from_json invalid character '1' in literal null (expecting 'l')"],
  ['encoding.from_json("\'a\'")', "1:1: encoding.from_json invalid character '\\'' looking for beginning of value"],
  ['encoding.from_json("\\"a\\tb\\"")', "1:1: encoding.from_json invalid character '\\t' in string literal"],
  ['encoding.from_json("\\"\\\\q\\"")', "1:1: encoding.from_json invalid character 'q' in string escape code"],
  [
    'encoding.from_json("\\"\\\\u12x4\\"")',
    "1:1: encoding.from_json invalid character 'x' in \\u hexadecimal character escape",
  ],
  [
    'encoding.from_json("1e999")',
    '1:1: encoding.from_json json: cannot unmarshal number 1e999 into Go value of type float64',
  ],
  ['encoding.from_json(1)', '1f'],
]);

describe('stdlib: encoding.from_json depth limit', () => {
  it('refuses documents nested deeper than 500 levels', () => {
    const deep = `${'['.repeat(501)}${']'.repeat(501)}`;

    assert.equal(
      run(`encoding.from_json("${deep}")`),
      "1:1: encoding.from_json invalid character '[' exceeded max depth",
    );
    assert.equal(run(`encoding.from_json("${'['.repeat(500)}${']'.repeat(500)}") == []`), 'false');
  });
});

table('stdlib: encoding.to_json', [
  [
    'encoding.to_json({"modules"={"http_2xx"={"prober"="http","timeout"="5s","http"={"headers"={"Authorization"=sys.env("TEST_VAR")}}}}})',
    '"{\\"modules\\":{\\"http_2xx\\":{\\"http\\":{\\"headers\\":{\\"Authorization\\":\\"Hello!\\"}},\\"prober\\":\\"http\\",\\"timeout\\":\\"5s\\"}}}"',
  ],
  [
    'encoding.to_json({b = [1, 1.5, null, true], a = "<&>\\u2028"})',
    '"{\\"a\\":\\"\\\\u003c\\\\u0026\\\\u003e\\\\u2028\\",\\"b\\":[1,1.5,null,true]}"',
  ],
  ['encoding.to_json({f = 1e21, g = 0.0000001, h = 100.0})', '"{\\"f\\":1e+21,\\"g\\":1e-7,\\"h\\":100}"'],
  ['encoding.to_json({s = secret})', '"{\\"s\\":\\"(secret)\\"}"'],
  ['encoding.to_json(12)', '1:1: encoding.to_json jsonEncode only supports map'],
  ['encoding.to_json([1])', '1:1: encoding.to_json jsonEncode only supports map'],
  ['encoding.to_json({x = 1e300 * 1e300})', '1:1: encoding.to_json json: unsupported value: +Inf'],
]);

table('stdlib: base64 and URL encodings', [
  ['base64_decode("Zm9vYmFyMTIzIT8kKiYoKSctPUB+") == encoding.from_base64("Zm9vYmFyMTIzIT8kKiYoKSctPUB+")', 'true'],
  ['encoding.from_base64("Zm9v")', '[102u, 111u, 111u]'],
  ['encoding.from_base64("Zm9v") == "foo"', 'false'],
  ['string.join([encoding.from_base64("Zm9vYmFyMTIzIT8kKiYoKSctPUB+")], "")', `"foobar123!?$*&()'-=@~"`],
  ['to_upper(encoding.from_base64("Zm9vYmFyMTIzIT8kKiYoKSctPUB+"))', '"FOOBAR123!?$*&()\'-=@~"'],
  ['to_upper(encoding.from_URLbase64("c3RyaW5nMTIzIT8kKiYoKSctPUB-"))', '"STRING123!?$*&()\'-=@~"'],
  ['to_upper(encoding.from_base64("Zm9v\\nYg=="))', '"FOOB"'],
  ['encoding.from_base64("")', '[]'],
  ['encoding.from_base64("Zm9")', '1:1: encoding.from_base64 illegal base64 data at input byte 0'],
  ['encoding.from_base64("Zm9vYg")', '1:1: encoding.from_base64 illegal base64 data at input byte 4'],
  ['encoding.from_base64("Zm9v!")', '1:1: encoding.from_base64 illegal base64 data at input byte 4'],
  ['encoding.from_base64("Zg==x")', '1:1: encoding.from_base64 illegal base64 data at input byte 4'],
  ['encoding.from_base64("Zg=")', '1:1: encoding.from_base64 illegal base64 data at input byte 3'],
  ['encoding.from_base64("=")', '1:1: encoding.from_base64 illegal base64 data at input byte 0'],
  [
    'encoding.from_base64("c3RyaW5nMTIzIT8kKiYoKSctPUB-")',
    '1:1: encoding.from_base64 illegal base64 data at input byte 27',
  ],
  ['encoding.to_base64("string123!?$*&()\'-=@~")', '"c3RyaW5nMTIzIT8kKiYoKSctPUB+"'],
  ['encoding.to_URLbase64("string123!?$*&()\'-=@~")', '"c3RyaW5nMTIzIT8kKiYoKSctPUB-"'],
  ['encoding.to_base64("é")', '"w6k="'],
  ['encoding.to_base64("")', '""'],
  ['encoding.url_encode("a b&c=d/é~_.-")', '"a+b%26c%3Dd%2F%C3%A9~_.-"'],
  ['encoding.url_decode("a+b%26c%3Dd%2F%C3%A9")', '"a b&c=d/é"'],
  ['encoding.url_decode("%zz")', '1:1: encoding.url_decode invalid URL escape "%zz"'],
  ['encoding.url_decode("abc%4")', '1:1: encoding.url_decode invalid URL escape "%4"'],
]);

table('stdlib: encoding.from_yaml and yaml_decode', [
  ['yaml_decode(`foo: bar`)', '{foo = "bar"}'],
  ['encoding.from_yaml(`foo: bar`)', '{foo = "bar"}'],
  ['encoding.from_yaml(`[0, 1, 2]`)', '[0, 1, 2]'],
  ['encoding.from_yaml(`[0.0, 1.0, 2.0]`)', '[0f, 1f, 2f]'],
  ['encoding.from_yaml(`foo: null`)', '{foo = null}'],
  ['encoding.from_yaml("[0, null]")', '[0, null]'],
  [
    'encoding.from_yaml("a: 1\\nb: [x, y]\\nc:\\n  d: true\\n  e: ~\\n")',
    '{a = 1, b = ["x", "y"], c = {d = true, e = null}}',
  ],
  ['encoding.from_yaml("list:\\n- a\\n- b\\nnext: 1")', '{list = ["a", "b"], next = 1}'],
  [
    'encoding.from_yaml("items:\\n  - name: x\\n    port: 80\\n  - name: y\\n    port: 0x1F\\n")',
    '{items = [{name = "x", port = 80}, {name = "y", port = 31}]}',
  ],
  ['encoding.from_yaml("- - a\\n  - b\\n- c")', '[["a", "b"], "c"]'],
  ['encoding.from_yaml("text: |\\n  line1\\n  line2\\n\\nafter: 1")', '{text = "line1\\nline2\\n", after = 1}'],
  ['encoding.from_yaml("text: >\\n  folded\\n  line\\n\\n  para\\nx: 2")', '{text = "folded line\\npara\\n", x = 2}'],
  ['encoding.from_yaml("keep: |+\\n  a\\n\\nstrip: |-\\n  b\\n")', '{keep = "a\\n\\n", strip = "b"}'],
  ['encoding.from_yaml("q: \\"a\\\\tb\\\\u00e9\\"\\ns: \'it\'\'s\'")', '{q = "a\\tbé", s = "it\'s"}'],
  ['encoding.from_yaml("plain: one\\n  two\\nn: 3")', '{plain = "one two", n = 3}'],
  [
    'encoding.from_yaml("base: &b\\n  x: 1\\n  y: 2\\nderived:\\n  <<: *b\\n  y: 3")',
    '{base = {x = 1, y = 2}, derived = {x = 1, y = 3}}',
  ],
  [
    'encoding.from_yaml("v: 0755\\nw: 08\\nx: 1_000\\ny: +12\\nt: 2001-12-14\\nu: yes\\nf: 1e3\\ng: -0o17")',
    '{v = 493, w = 8f, x = 1000, y = 12, t = "2001-12-14", u = "yes", f = 1000f, g = -15}',
  ],
  [
    'encoding.from_yaml("h: 18446744073709551615\\ni: .inf\\nj: True")',
    '{h = 18446744073709551615u, i = Infinityf, j = true}',
  ],
  ['encoding.from_yaml("k: !!str 123\\nl: !!float 1\\nm: !!int \\"7\\"")', '{k = "123", l = 1f, m = 7}'],
  ['encoding.from_yaml("{a: 1, b: [1, 2], c: {d: e}}")', '{a = 1, b = [1, 2], c = {d = "e"}}'],
  ['encoding.from_yaml("a: {x: 1,\\n  y: 2}\\nb: 3")', '{a = {x = 1, y = 2}, b = 3}'],
  ['encoding.from_yaml("url: http://x:80/path # comment\\nempty:\\n")', '{url = "http://x:80/path", empty = null}'],
  ['encoding.from_yaml("--- \\nfoo: 1\\n...\\n")', '{foo = 1}'],
  ['encoding.from_yaml("--- text")', '"text"'],
  ['encoding.from_yaml("# only a comment")', 'null'],
  ['encoding.from_yaml("")', 'null'],
  [
    'encoding.from_yaml("a: b:c\\nd: b#c\\ne: \\"x: y\\"\\nmy key: 1\\nf: \'q #not\' # c")',
    '{a = "b:c", d = "b#c", e = "x: y", my key = 1, f = "q #not"}',
  ],
  ['encoding.from_yaml("a:\\r\\n  b: 1\\r\\n  c: [1,\\r\\n    2]\\r\\n")', '{a = {b = 1, c = [1, 2]}}'],
  [
    'encoding.from_yaml("items:\\n  # comment\\n  - a: 1\\n    b:\\n      - x\\n\\n  - a: 2\\nlast: true")',
    '{items = [{a = 1, b = ["x"]}, {a = 2}], last = true}',
  ],
  ['encoding.from_yaml("seq:\\n  - 1\\n  -\\n  - 3\\n")', '{seq = [1, null, 3]}'],
  ['encoding.from_yaml("a: >-\\n  x\\n   indented\\n  y\\n")', '{a = "x\\n indented\\ny"}'],
  ['encoding.from_yaml("a: |2\\n    two\\n   one\\n")', '{a = "  two\\n one\\n"}'],
  ['encoding.from_yaml("k: v\\n---\\nsecond: doc")', '{k = "v"}'],
  ['encoding.from_yaml("e: \\"\\\\U0001F600\\"\\nnl: \\"a\\\\\\n  b\\"")', '{e = "😀", nl = "ab"}'],
  ['encoding.from_yaml("a: &x 1\\nb: *x\\nc: [*x, *x]")', '{a = 1, b = 1, c = [1, 1]}'],
  [
    'encoding.from_yaml("a: 1\\n  b: 2")',
    '1:1: encoding.from_yaml yaml: line 2: mapping values are not allowed in this context',
  ],
  [
    'encoding.from_yaml("a: b: c")',
    '1:1: encoding.from_yaml yaml: line 1: mapping values are not allowed in this context',
  ],
  [
    'encoding.from_yaml("a: - x")',
    '1:1: encoding.from_yaml yaml: line 1: block sequence entries are not allowed in this context',
  ],
  ['encoding.from_yaml("a: [1, 2")', "1:1: encoding.from_yaml yaml: line 1: did not find expected ',' or ']'"],
  ['encoding.from_yaml("a: *nope")', "1:1: encoding.from_yaml yaml: unknown anchor 'nope' referenced"],
  [
    'encoding.from_yaml("\\tfoo: 1")',
    '1:1: encoding.from_yaml yaml: line 1: found character that cannot start any token',
  ],
  [
    'encoding.from_yaml("a: 1\\na: 2")',
    '1:1: encoding.from_yaml yaml: unmarshal errors:\n  line 2: mapping key "a" already defined at line 1',
  ],
]);

table('stdlib: json_path', [
  ['json_path("{\\"a\\": \\"b\\"}", ".a")', '["b"]'],
  ['json_path("{\\"a\\": \\"b\\"}", ".nonexists")', '[]'],
  ['json_path("{\\"a\\": \\"b\\"}", ".a")[0]', '"b"'],
  [
    'json_path("[{\\"name\\": \\"Department\\",\\"value\\": \\"IT\\"},{\\"name\\":\\"ReferenceNumber\\",\\"value\\":\\"123456\\"}]", "[?(@.name == \\"Department\\")].value")',
    '["IT"]',
  ],
  ['json_path("{\\"a\\": {\\"b\\": [1, 2.5, 3]}}", "$.a.b[*]")', '[1, 2.5f, 3]'],
  ['json_path("{\\"a\\": {\\"b\\": [1, 2, 3]}}", "$.a.b[-1]")', '[3]'],
  ['json_path("{\\"a\\": {\\"b\\": [1, 2, 3]}}", "$.a.b[0,2]")', '[1, 3]'],
  ['json_path("{\\"a\\": {\\"b\\": [1, 2, 3, 4]}}", "$.a.b[1:3]")', '[2, 3]'],
  ['json_path("{\\"a\\": {\\"b\\": [1, 2, 3, 4]}}", "$.a.b[::2]")', '[1, 3]'],
  ['json_path("{\\"a\\": {\\"x\\": 1}, \\"b\\": {\\"x\\": 2}}", "$..x")', '[1, 2]'],
  ['json_path("{\\"a\\": 1, \\"b\\": 2}", "$.*")', '[1, 2]'],
  ['json_path("{\\"a b\\": 1}", "$[\'a b\']")', '[1]'],
  ['json_path("[{\\"n\\": 1}, {\\"n\\": 5}, {\\"m\\": 1}]", "$[?(@.n > 2)]")', '[{n = 5}]'],
  ['json_path("[{\\"n\\": 1}, {\\"n\\": 5}, {\\"m\\": 1}]", "$[?(@.n)].n")', '[1, 5]'],
  [
    'json_path("[{\\"s\\": \\"abc\\"}, {\\"s\\": \\"xyz\\"}]", "$[?(@.s =~ /^a/ || @.s == \'xyz\')].s")',
    '["abc", "xyz"]',
  ],
  ['json_path("[1", ".a")', '1:1: json_path unexpected end of JSON input'],
  ['json_path("{}", "$.a[")', '1:1: json_path invalid bracket at 5 in $.a['],
]);

table('stdlib: file.path_join', [
  ['file.path_join("this/is", "a/path")', '"this/is/a/path"'],
  ['file.path_join()', '""'],
  ['file.path_join("", "", "a", "", "b")', '"a/b"'],
  ['file.path_join("/a/b", "../c", "./d/")', '"/a/c/d"'],
  ['file.path_join("..", "..", "x")', '"../../x"'],
  ['file.path_join("/", "..")', '"/"'],
]);

table('stdlib: convert.nonsensitive and nonsensitive', [
  ['nonsensitive(secret)', '"foo"'],
  ['convert.nonsensitive(secret)', '"foo"'],
  ['convert.nonsensitive("plain")', '"plain"'],
  ['convert.nonsensitive(1)', '1:22: 1 should be capsule, got number'],
]);

table('stdlib: array.combine_maps (experimental)', [
  [
    'array.combine_maps([{"a" = "a1", "b" = "b1"}], [{"a" = "a1", "c" = "c1"}], ["a"])',
    '[{a = "a1", b = "b1", c = "c1"}]',
  ],
  [
    'array.combine_maps([{"a" = "a1", "b" = "b1"}, {"a" = "a1", "b" = "b1"}], [{"a" = "a1", "c" = "c1"}], ["a"])',
    '[{a = "a1", b = "b1", c = "c1"}, {a = "a1", b = "b1", c = "c1"}]',
  ],
  [
    'array.combine_maps([{"pod" = "a", "lbl" = "q"}, {"pod" = "b", "lbl" = "q"}], [{"pod" = "c", "lbl" = "q"}, {"pod" = "d", "lbl" = "q"}], ["lbl"])',
    '[{pod = "c", lbl = "q"}, {pod = "d", lbl = "q"}, {pod = "c", lbl = "q"}, {pod = "d", lbl = "q"}]',
  ],
  ['array.combine_maps([{"a" = 1, "b" = 2.2}], [{"a" = 1, "b" = "3.3"}], ["a"])', '[{a = 1, b = "3.3"}]'],
  ['array.combine_maps([{"a" = 1, "b" = 2.2}], [{"a" = 2, "b" = "3.3"}], ["a"])', '[]'],
  ['array.combine_maps([{"a" = 1, "b" = 2.2}], [{"a" = "1", "b" = "3.3"}], ["a"])', '[]'],
  ['array.combine_maps([{"a" = 1, "n" = 1.1}], [{"a" = 1, "n" = 2.1}, {"n" = 2.2}], ["a"])', '[{a = 1, n = 2.1f}]'],
  [
    'array.combine_maps([{"a" = 1, "b" = 3, "n" = 1.1}], [{"a" = 1, "b" = 3, "n" = 2.1}], ["a", "b"])',
    '[{a = 1, b = 3, n = 2.1f}]',
  ],
  ['array.combine_maps([{"a" = 1}, {"a" = 2}], [{"a" = 1, "x" = 9}], ["a"], true)', '[{a = 1, x = 9}, {a = 2}]'],
  ['array.combine_maps([{"a" = "a1", "b" = "b1"}], "a", ["a"])', '1:48: "a" should be array, got string'],
  ['array.combine_maps([{"a" = "a1", "b" = "b1"}], ["a"], ["a"])', '1:49: "a" should be object, got string'],
  [
    'array.combine_maps([{"a" = "a1"}], [{"a" = "a1"}], [])',
    '1:52: [] combine_maps: merge conditions must not be empty',
  ],
  ['array.combine_maps([], [])', '1:1: array.combine_maps combine_maps: expected 3 or 4 arguments, got 2'],
]);

table('stdlib: array.group_by (experimental)', [
  [
    'array.group_by([{k = "a", v = 1}, {k = "b", v = 2}, {k = "a", v = 3}, {v = 4}], "k", false)',
    '[{k = "a", items = [{k = "a", v = 1}, {k = "a", v = 3}]}, {k = "b", items = [{k = "b", v = 2}]}, {k = null, items = [{v = 4}]}]',
  ],
  ['array.group_by([{k = "a"}, {v = 4}], "k", true)', '[{k = "a", items = [{k = "a"}]}]'],
  ['array.group_by([1], "k", true)', '1:17: 1 should be object, got number'],
]);

table('stdlib: constants', [
  ['constants.hostname', '"lb-0"'],
  ['constants.os', '"linux"'],
  ['constants.arch', '"amd64"'],
  ['constants.version', '"v1.2.3"'],
  ['constants.nope', '1:11: field "nope" does not exist'],
]);

describe('stdlib: the library', () => {
  it('uses the same function value for a flat name and its namespaced name', () => {
    const pairs: readonly (readonly [flat: string, namespace: string, member: string])[] = [
      ['env', 'sys', 'env'],
      ['concat', 'array', 'concat'],
      ['format', 'string', 'format'],
      ['json_decode', 'encoding', 'from_json'],
      ['yaml_decode', 'encoding', 'from_yaml'],
      ['base64_decode', 'encoding', 'from_base64'],
      ['nonsensitive', 'convert', 'nonsensitive'],
      ['trim_space', 'string', 'trim_space'],
    ];
    for (const [flat, namespace, member] of pairs) {
      const ns = STDLIB.get(namespace);
      assert.ok(ns?.type === 'object');
      assert.equal(STDLIB.get(flat), ns.fields.get(member), flat);
    }
  });

  it('lists every deprecated flat name as an identifier of the library', () => {
    for (const name of DEPRECATED_STDLIB_NAMES) assert.ok(STDLIB.has(name), name);
    assert.equal(DEPRECATED_STDLIB_NAMES.has('coalesce'), false);
  });

  it('names the experimental functions by their full name', () => {
    assert.deepEqual([...EXPERIMENTAL_STDLIB_NAMES].sort(), ['array.combine_maps', 'array.group_by']);
  });

  it('defaults to the running host and process.env', () => {
    const lib = createStdlib();
    const constants = lib.get('constants');
    assert.ok(constants?.type === 'object');

    assert.equal(constants.fields.get('version')?.type, 'string');
    assert.deepEqual(constants.fields.get('version'), stringValue('v0.0.0'));
    assert.ok(
      ['amd64', 'arm64', '386', 'arm', 'ppc64le', 's390x', 'riscv64'].includes(
        showValue(constants.fields.get('arch') ?? nullValue()).slice(1, -1),
      ),
    );
  });

  it('normalises versions as Alloy does', () => {
    assert.deepEqual(['', ' 1.9.0 ', 'v1.9.0', '1.9', '2', 'v1.10.0-rc.1', 'devel'].map(normalizeVersion), [
      'v0.0.0',
      'v1.9.0',
      'v1.9.0',
      'v1.9.0',
      'v2.0.0',
      'v1.10.0-rc.1',
      'devel',
    ]);
  });

  it('has Go semantics in its string helpers', () => {
    assert.equal(goTrim('xxhixx', 'x'), 'hi');
    assert.equal(goTrimSpace('\t x \n'), 'x');
    assert.deepEqual(goSplit('a,b,,c', ','), ['a', 'b', '', 'c']);
    assert.equal(goReplaceAll('', '', '-'), '-');
    assert.equal(goPathJoin(['a', '', 'b/../c']), 'a/c');
  });

  it('formats floats as Go strconv.FormatFloat', () => {
    const cases: readonly (readonly [number, Parameters<typeof formatGoFloat>[1], number, string])[] = [
      [0, 'e', -1, '0e+00'],
      [0, 'g', -1, '0'],
      [1e21, 'f', -1, '1000000000000000000000'],
      [5e-324, 'g', -1, '5e-324'],
      [1.7976931348623157e308, 'e', 3, '1.798e+308'],
      [0.1, 'f', 20, '0.10000000000000000555'],
      [-0, 'f', 2, '-0.00'],
      [NaN, 'g', -1, 'NaN'],
      [-Infinity, 'f', 2, '-Inf'],
      [123456, 'g', 2, '1.2e+05'],
      [100, 'g', 3, '100'],
    ];
    for (const [f, fmt, prec, text] of cases) assert.equal(formatGoFloat(f, fmt, prec), text, `${f} ${fmt} ${prec}`);
  });
});

describe('stdlib: calls never throw', () => {
  const leaf = fc.oneof(
    fc.constant(nullValue()),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(intValue),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(uintValue),
    fc.double().map(floatValue),
    fc.string({ unit: 'binary' }).map(stringValue),
    fc
      .constantFrom('', '%v %d %[2]*.*f %!', '{"a":[1,2]}', 'a: [1]\n- x', 'Zm9v', '%zz', '$..a[?(@.b > 1)]')
      .map(stringValue),
    fc.boolean().map(boolValue),
    fc.constant(secretValue('s3cret')),
    fc.constant(capsuleValue('otelcol.Consumer', {})),
  );
  const value = fc.letrec<{ value: Value }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }).map(arrayValue),
      fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 3 }).map((d) => objectValue(d)),
    ),
  })).value;

  const functions: { name: string; call: (args: readonly Value[]) => unknown }[] = [];
  for (const [name, v] of STDLIB) {
    if (v.type === 'function') functions.push({ name, call: v.call });
    if (v.type === 'object') {
      for (const [member, f] of v.fields)
        if (f.type === 'function') functions.push({ name: `${name}.${member}`, call: f.call });
    }
  }

  it('covers every function of the library', () => {
    assert.ok(functions.length >= 40);
  });

  for (const fn of functions) {
    it(`${fn.name} returns a result for any arguments`, () => {
      fc.assert(
        fc.property(fc.array(value, { maxLength: 4 }), (args) => {
          const result = fn.call(args);
          assert.equal(typeof result, 'object');
        }),
        { numRuns: 150 },
      );
    });
  }
});
