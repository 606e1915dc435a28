/**
 * Alloy's standard library (alloy-syntax.md §6): the functions and constants every
 * configuration can use, with Alloy's semantics and error messages.
 *
 * {@link createStdlib} builds the identifiers that the evaluator falls back to after the
 * scope's variables (see `createScope` in evaluate.ts). Namespaces are objects of functions,
 * exactly as in Alloy, so `sys.env("X")` is the access `sys` → `.env` followed by a call, and
 * `sys` alone is an ordinary object value:
 *
 * | name | namespace members |
 * |---|---|
 * | `sys` | `env` |
 * | `string` | `format`, `join`, `replace`, `split`, `to_lower`, `to_upper`, `trim`, `trim_prefix`, `trim_suffix`, `trim_space` |
 * | `array` | `concat`, `combine_maps`*, `group_by`* |
 * | `encoding` | `from_json`, `from_yaml`, `from_base64`, `from_URLbase64`, `to_base64`, `to_URLbase64`, `url_encode`, `url_decode`, `to_json` |
 * | `convert` | `nonsensitive` |
 * | `file` | `path_join` |
 * | `constants` | `hostname`, `os`, `arch`, `version` (strings, not functions) |
 *
 * plus the top-level functions `coalesce` and `json_path`, and the deprecated flat names
 * listed in {@link DEPRECATED_STDLIB_NAMES} (`env`, `concat`, `format`, `json_decode`, …),
 * which are the very same function values as their namespaced versions. (*) are
 * experimental ({@link EXPERIMENTAL_STDLIB_NAMES}); Alloy refuses them unless run with
 * `--stability.level=experimental`, a check that belongs to the loader.
 *
 * Calls never throw. Argument problems come back positioned at the argument
 * (`to_upper(true)` → `true should be string, got bool`), count problems at the callee
 * (`sys.env expected 1 args, got 2`), and failures of the function itself as
 * `<callee> <Go's error text>` (`encoding.from_json unexpected end of JSON input`).
 *
 * Where this deliberately differs from Alloy: secrets never turn into text. `format` and
 * `to_json` render a secret as `(secret)` (Alloy prints its content); `convert.nonsensitive`
 * is the only way to read one.
 */

import { hostname as osHostname } from 'node:os';
import { decodeBase64, encodeBase64, queryEscape, queryUnescape } from './stdlib-encoding.ts';
import { goSprintf } from './stdlib-format.ts';
import { decodeGoJson, encodeGoJson } from './stdlib-json.ts';
import { jsonPath } from './stdlib-json-path.ts';
import { decodeGoYaml } from './stdlib-yaml.ts';
import {
  type CallResult,
  type Conversion,
  type FunctionValue,
  type Value,
  arrayValue,
  bytesValue,
  convertElements,
  convertToBool,
  convertToSecretText,
  convertToString,
  decodeUtf8,
  converted,
  refused,
  secretOf,
  functionValue,
  nullValue,
  objectValue,
  stringValue,
  typeProblem,
  valueProblem,
  valuesEqual,
} from './value.ts';

/** How the standard library reaches the host; every member has a real default. */
export interface StdlibOptions {
  /**
   * Reads an environment variable for `sys.env`/`env`; `undefined` (or `''`) when unset.
   * Default: `process.env`. Called at evaluation time, never cached.
   */
  readonly env?: (name: string) => string | undefined;
  /** `constants.hostname`. Default: `os.hostname()`. */
  readonly hostname?: string;
  /** `constants.os`, a Go `GOOS` name. Default: the running platform (`linux`, `darwin`, `windows`…). */
  readonly os?: string;
  /** `constants.arch`, a Go `GOARCH` name. Default: the running architecture (`amd64`, `arm64`…). */
  readonly arch?: string;
  /** `constants.version`, normalised to `vX.Y.Z`; default `v0.0.0` (Alloy's "unknown"). */
  readonly version?: string;
}

/** The deprecated flat names: they still work, but Alloy logs a warning for each use. */
export const DEPRECATED_STDLIB_NAMES: ReadonlySet<string> = new Set([
  'env',
  'nonsensitive',
  'concat',
  'json_decode',
  'yaml_decode',
  'base64_decode',
  'format',
  'join',
  'replace',
  'split',
  'to_lower',
  'to_upper',
  'trim',
  'trim_prefix',
  'trim_suffix',
  'trim_space',
]);

/** Full names of the experimental identifiers (usable only at stability level experimental). */
export const EXPERIMENTAL_STDLIB_NAMES: ReadonlySet<string> = new Set(['array.combine_maps', 'array.group_by']);

// ---------------------------------------------------------------------------------------------
// Calling conventions

/** Converts an argument to a parameter's type, as Go's decoder does (§4.6). */
type Param<T> = (value: Value) => Conversion<T>;

const anyParam: Param<Value> = (value) => converted(value);
const stringParam: Param<string> = convertToString;
const stringsParam: Param<string[]> = (value) => convertElements(value, convertToString);
const boolParam: Param<boolean> = convertToBool;
const secretParam: Param<string> = convertToSecretText;

function ok(value: Value): CallResult {
  return { ok: true, value };
}

/** A failure of the function itself: Alloy reports `<callee> <message>` at the callee. */
function fail(message: string): CallResult {
  return { ok: false, problem: message };
}

/** Converts every argument with `param`, stopping at the first that does not convert. */
function convertAll<T>(param: Param<T>, args: readonly Value[]): Conversion<T[]> {
  const out: T[] = [];
  for (const arg of args) {
    const result = param(arg);
    if (!result.ok) return result;
    out.push(result.value);
  }
  return converted(out);
}

function arityError(expected: number, got: number): CallResult {
  return fail(`expected ${expected} args, got ${got}`);
}

/** A function of one parameter. */
function fn1<A>(name: string, a: Param<A>, impl: (a: A) => CallResult): FunctionValue {
  return functionValue(name, (args) => {
    if (args.length !== 1) return arityError(1, args.length);
    const [x] = args;
    if (x === undefined) return arityError(1, 0);
    const ca = a(x);
    return ca.ok ? impl(ca.value) : { ok: false, problem: ca.problem };
  });
}

/** A function of two parameters. */
function fn2<A, B>(name: string, a: Param<A>, b: Param<B>, impl: (a: A, b: B) => CallResult): FunctionValue {
  return functionValue(name, (args) => {
    const [x, y] = args;
    if (args.length !== 2 || x === undefined || y === undefined) return arityError(2, args.length);
    const ca = a(x);
    if (!ca.ok) return { ok: false, problem: ca.problem };
    const cb = b(y);
    return cb.ok ? impl(ca.value, cb.value) : { ok: false, problem: cb.problem };
  });
}

/** A function of three parameters. */
function fn3<A, B, C>(
  name: string,
  a: Param<A>,
  b: Param<B>,
  c: Param<C>,
  impl: (a: A, b: B, c: C) => CallResult,
): FunctionValue {
  return functionValue(name, (args) => {
    const [x, y, z] = args;
    if (args.length !== 3 || x === undefined || y === undefined || z === undefined) {
      return arityError(3, args.length);
    }
    const ca = a(x);
    if (!ca.ok) return { ok: false, problem: ca.problem };
    const cb = b(y);
    if (!cb.ok) return { ok: false, problem: cb.problem };
    const cc = c(z);
    return cc.ok ? impl(ca.value, cb.value, cc.value) : { ok: false, problem: cc.problem };
  });
}

/** A variadic function: `head` leading parameters, then any number of `rest`. */
function variadic<H, R>(
  name: string,
  head: readonly Param<H>[],
  rest: Param<R>,
  impl: (head: H[], rest: R[]) => CallResult,
): FunctionValue {
  return functionValue(name, (args) => {
    if (args.length < head.length) return fail(`expected at least ${head.length} args, got ${args.length}`);
    const h: H[] = [];
    for (const [i, param] of head.entries()) {
      const arg = args[i];
      if (arg === undefined) break;
      const result = param(arg);
      if (!result.ok) return { ok: false, problem: result.problem };
      h.push(result.value);
    }
    const r = convertAll(rest, args.slice(head.length));
    return r.ok ? impl(h, r.value) : { ok: false, problem: r.problem };
  });
}

// ---------------------------------------------------------------------------------------------
// Strings (Go's `strings` package)

/** Go's `unicode.IsSpace`. */
function isGoSpace(c: number): boolean {
  switch (c) {
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x20:
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200a;
  }
}

function trimRunes(s: string, drop: (cp: number) => boolean): string {
  const runes = Array.from(s);
  let start = 0;
  let end = runes.length;
  while (start < end && drop(runes[start]?.codePointAt(0) ?? 0)) start++;
  while (end > start && drop(runes[end - 1]?.codePointAt(0) ?? 0)) end--;
  return start === 0 && end === runes.length ? s : runes.slice(start, end).join('');
}

/** Go's `strings.Trim`: drops leading and trailing runes found in `cutset`. */
export function goTrim(s: string, cutset: string): string {
  if (s === '' || cutset === '') return s;
  const set = new Set(Array.from(cutset, (ch) => ch.codePointAt(0) ?? 0));
  return trimRunes(s, (cp) => set.has(cp));
}

/** Go's `strings.TrimSpace` (Unicode white space, not U+FEFF). */
export function goTrimSpace(s: string): string {
  return trimRunes(s, isGoSpace);
}

/**
 * Go's simple (one rune to one rune) case mapping. JavaScript applies the full mapping,
 * which can change the length (`ß` → `SS`); where it would, Go keeps the rune, except for
 * the few runes whose simple mapping differs from the full one.
 */
function mapCase(s: string, upper: boolean): string {
  let out = '';
  for (const ch of s) {
    const mapped = upper ? ch.toUpperCase() : ch.toLowerCase();
    if (mapped.length === ch.length || Array.from(mapped).length === 1) {
      out += mapped;
      continue;
    }
    const c = ch.codePointAt(0) ?? 0;
    if (!upper && c === 0x130) out += 'i';
    else if (upper && isIotaSubscriptLower(c)) out += String.fromCodePoint(c + 8);
    else if (upper && (c === 0x1fb3 || c === 0x1fc3 || c === 0x1ff3)) out += String.fromCodePoint(c + 9);
    else out += ch;
  }
  return out;
}

/** Greek letters with ypogegrammeni whose simple uppercase is the titlecase letter 8 above. */
function isIotaSubscriptLower(c: number): boolean {
  return (c >= 0x1f80 && c <= 0x1f87) || (c >= 0x1f90 && c <= 0x1f97) || (c >= 0x1fa0 && c <= 0x1fa7);
}

/** Go's `strings.Split`: an empty separator splits into runes. */
export function goSplit(s: string, sep: string): string[] {
  if (sep === '') return Array.from(s);
  return s.split(sep);
}

/** Go's `strings.ReplaceAll`: an empty `old` matches before every rune and at the end. */
export function goReplaceAll(s: string, old: string, replacement: string): string {
  if (old === '') return replacement + Array.from(s).join(replacement) + (s === '' ? '' : replacement);
  return s.split(old).join(replacement);
}

/** Go's `path.Clean`. */
function cleanPath(path: string): string {
  if (path === '') return '.';
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length > 0 && out.at(-1) !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(segment);
  }
  const joined = (rooted ? '/' : '') + out.join('/');
  return joined === '' ? '.' : joined;
}

/** Go's `filepath.Join` with `/` separators: empty leading elements skipped, the result cleaned. */
export function goPathJoin(elements: readonly string[]): string {
  const first = elements.findIndex((e) => e !== '');
  return first < 0 ? '' : cleanPath(elements.slice(first).join('/'));
}

// ---------------------------------------------------------------------------------------------
// Arrays and objects

/** Go's `reflect.Value.IsZero` as `coalesce` applies it, plus its empty-array/object rule. */
function isEmptyForCoalesce(value: Value): boolean {
  switch (value.type) {
    case 'null':
      return true;
    case 'number':
      // -0.0 is not Go's zero value (its bits are not all zero).
      return value.kind === 'float' ? value.value === 0 && !Object.is(value.value, -0) : value.value === 0n;
    case 'string':
      return value.value === '';
    case 'bool':
      return !value.value;
    case 'array':
      return value.elements.length === 0;
    case 'object':
      return value.fields.size === 0;
    case 'function':
      return false;
    case 'capsule':
      return value.value === undefined || value.value === null || secretOf(value)?.reveal() === '';
  }
}

const coalesce = functionValue('coalesce', (args) => {
  for (const arg of args) if (!isEmptyForCoalesce(arg)) return ok(arg);
  return ok(args.at(-1) ?? nullValue());
});

const concat = functionValue('array.concat', (args) => {
  const out: Value[] = [];
  for (const arg of args) {
    if (arg.type !== 'array') return { ok: false, problem: typeProblem(arg, 'array') };
    out.push(...arg.elements);
  }
  if (args.length === 1 && args[0] !== undefined) return ok(args[0]);
  return ok(arrayValue(out));
});

/** Checks that `arg` is an array of objects (Alloy's messages for `combine_maps`). */
function objectsOf(arg: Value): Conversion<readonly Value[]> {
  if (arg.type !== 'array') return refused(typeProblem(arg, 'array'));
  for (const element of arg.elements) {
    if (element.type !== 'object') return refused(typeProblem(element, 'object'));
  }
  return converted(arg.elements);
}

function fieldsOf(value: Value): ReadonlyMap<string, Value> {
  return value.type === 'object' ? value.fields : new Map();
}

const combineMaps = functionValue('array.combine_maps', (args) => {
  if (args.length !== 3 && args.length !== 4) {
    return fail(`combine_maps: expected 3 or 4 arguments, got ${args.length}`);
  }
  const [leftArg, rightArg, keysArg, keepArg] = args;
  if (leftArg === undefined || rightArg === undefined || keysArg === undefined) {
    return fail(`combine_maps: expected 3 or 4 arguments, got ${args.length}`);
  }
  const left = objectsOf(leftArg);
  if (!left.ok) return left;
  const right = objectsOf(rightArg);
  if (!right.ok) return right;
  if (keysArg.type !== 'array') return { ok: false, problem: typeProblem(keysArg, 'array') };
  if (keysArg.elements.length === 0) {
    return { ok: false, problem: valueProblem(keysArg, 'combine_maps: merge conditions must not be empty') };
  }
  const keys = stringsParam(keysArg);
  if (!keys.ok) return { ok: false, problem: keys.problem };
  let keepUnmatched = false;
  if (keepArg !== undefined) {
    const keep = boolParam(keepArg);
    if (!keep.ok) return { ok: false, problem: keep.problem };
    keepUnmatched = keep.value;
  }
  const out: Value[] = [];
  for (const l of left.value) {
    const lf = fieldsOf(l);
    let matched = false;
    for (const r of right.value) {
      const rf = fieldsOf(r);
      const join = keys.value.every((key) => {
        const a = lf.get(key);
        const b = rf.get(key);
        return a !== undefined && b !== undefined && a.type === b.type && valuesEqual(a, b);
      });
      if (join) {
        matched = true;
        out.push(objectValue([...lf, ...rf]));
      }
    }
    if (!matched && keepUnmatched) out.push(l);
  }
  return ok(arrayValue(out));
});

const groupBy = fn3('array.group_by', anyParam, stringParam, boolParam, (list, key, dropMissing) => {
  const objects = objectsOf(list);
  if (!objects.ok) return objects;
  const groups: { key: Value; items: Value[] }[] = [];
  for (const item of objects.value) {
    const v = fieldsOf(item).get(key) ?? nullValue();
    if (v.type === 'null' && dropMissing) continue;
    const group = groups.find((g) => valuesEqual(g.key, v));
    if (group === undefined) groups.push({ key: v, items: [item] });
    else group.items.push(item);
  }
  return ok(
    arrayValue(
      groups.map((g) =>
        objectValue([
          [key, g.key],
          ['items', arrayValue(g.items)],
        ]),
      ),
    ),
  );
});

// ---------------------------------------------------------------------------------------------
// The library

const utf8 = new TextEncoder();

/** Go `GOOS` names of Node.js platforms. */
const GO_OS: Readonly<Record<string, string>> = { win32: 'windows', sunos: 'solaris' };
/** Go `GOARCH` names of Node.js architectures (`ppc64` is little-endian on the platforms Node runs on). */
const GO_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  ppc64: 'ppc64le',
  mipsel: 'mipsle',
  loong64: 'loong64',
};

/** Alloy's `normalizeVersion`: `v` + the semantic version, `v0.0.0` when empty. */
export function normalizeVersion(version: string): string {
  const v = version.trim();
  if (v === '') return 'v0.0.0';
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/.exec(v);
  if (m === null) return v;
  const [, major = '0', minor = '0', patch = '0', suffix = ''] = m;
  return `v${Number(major)}.${Number(minor)}.${Number(patch)}${suffix}`;
}

/**
 * The standard library as identifier → value, for `createScope`. Pure apart from `env`,
 * which is read at each call. Safe to share between evaluations.
 */
export function createStdlib(options: StdlibOptions = {}): ReadonlyMap<string, Value> {
  const readEnv = options.env ?? ((name: string) => process.env[name]);

  const env = fn1('sys.env', stringParam, (name) => ok(stringValue(readEnv(name) ?? '')));
  const nonsensitive = fn1('convert.nonsensitive', secretParam, (text) => ok(stringValue(text)));

  const fromJson = fn1('encoding.from_json', stringParam, (text) => {
    const r = decodeGoJson(text);
    return r.ok ? ok(r.value) : fail(r.error);
  });
  const fromYaml = fn1('encoding.from_yaml', stringParam, (text) => {
    const r = decodeGoYaml(text);
    return r.ok ? ok(r.value) : fail(r.error);
  });
  const base64Decoder = (name: string, alphabet: 'std' | 'url'): FunctionValue =>
    fn1(name, stringParam, (text) => {
      const r = decodeBase64(utf8.encode(text), alphabet);
      return 'bytes' in r ? ok(bytesValue(r.bytes)) : fail(r.error);
    });
  const fromBase64 = base64Decoder('encoding.from_base64', 'std');
  const fromUrlBase64 = base64Decoder('encoding.from_URLbase64', 'url');
  const toBase64 = fn1('encoding.to_base64', stringParam, (text) =>
    ok(stringValue(encodeBase64(utf8.encode(text), 'std'))),
  );
  const toUrlBase64 = fn1('encoding.to_URLbase64', stringParam, (text) =>
    ok(stringValue(encodeBase64(utf8.encode(text), 'url'))),
  );
  const urlEncode = fn1('encoding.url_encode', stringParam, (text) => ok(stringValue(queryEscape(utf8.encode(text)))));
  const urlDecode = fn1('encoding.url_decode', stringParam, (text) => {
    const r = queryUnescape(utf8.encode(text));
    return 'bytes' in r ? ok(stringValue(decodeUtf8(r.bytes))) : fail(r.error);
  });
  const toJson = fn1('encoding.to_json', anyParam, (value) => {
    const r = encodeGoJson(value);
    return 'text' in r ? ok(stringValue(r.text)) : fail(r.error);
  });

  const format = variadic('string.format', [stringParam], anyParam, ([f = ''], rest) =>
    ok(stringValue(goSprintf(f, rest))),
  );
  const join = fn2('string.join', stringsParam, stringParam, (elems, sep) => ok(stringValue(elems.join(sep))));
  const replace = fn3('string.replace', stringParam, stringParam, stringParam, (s, old, replacement) =>
    ok(stringValue(goReplaceAll(s, old, replacement))),
  );
  const split = fn2('string.split', stringParam, stringParam, (s, sep) =>
    ok(arrayValue(goSplit(s, sep).map(stringValue))),
  );
  const toLower = fn1('string.to_lower', stringParam, (s) => ok(stringValue(mapCase(s, false))));
  const toUpper = fn1('string.to_upper', stringParam, (s) => ok(stringValue(mapCase(s, true))));
  const trim = fn2('string.trim', stringParam, stringParam, (s, cutset) => ok(stringValue(goTrim(s, cutset))));
  const trimPrefix = fn2('string.trim_prefix', stringParam, stringParam, (s, prefix) =>
    ok(stringValue(prefix !== '' && s.startsWith(prefix) ? s.slice(prefix.length) : s)),
  );
  const trimSuffix = fn2('string.trim_suffix', stringParam, stringParam, (s, suffix) =>
    ok(stringValue(suffix !== '' && s.endsWith(suffix) ? s.slice(0, s.length - suffix.length) : s)),
  );
  const trimSpace = fn1('string.trim_space', stringParam, (s) => ok(stringValue(goTrimSpace(s))));

  const pathJoin = variadic('file.path_join', [], stringParam, (_, elements) => ok(stringValue(goPathJoin(elements))));

  const jsonPathFn = fn2('json_path', stringParam, stringParam, (json, path) => {
    const r = jsonPath(json, path);
    return r.ok ? ok(r.value) : fail(r.error);
  });

  const constants = objectValue({
    hostname: stringValue(options.hostname ?? osHostname()),
    os: stringValue(options.os ?? GO_OS[process.platform] ?? process.platform),
    arch: stringValue(options.arch ?? GO_ARCH[process.arch] ?? process.arch),
    version: stringValue(normalizeVersion(options.version ?? '')),
  });

  return new Map<string, Value>([
    ['constants', constants],
    ['coalesce', coalesce],
    ['json_path', jsonPathFn],
    ['sys', objectValue({ env })],
    ['convert', objectValue({ nonsensitive })],
    ['array', objectValue({ concat, combine_maps: combineMaps, group_by: groupBy })],
    [
      'encoding',
      objectValue({
        from_json: fromJson,
        from_yaml: fromYaml,
        from_base64: fromBase64,
        from_URLbase64: fromUrlBase64,
        to_base64: toBase64,
        to_URLbase64: toUrlBase64,
        url_encode: urlEncode,
        url_decode: urlDecode,
        to_json: toJson,
      }),
    ],
    [
      'string',
      objectValue({
        format,
        join,
        replace,
        split,
        to_lower: toLower,
        to_upper: toUpper,
        trim,
        trim_prefix: trimPrefix,
        trim_suffix: trimSuffix,
        trim_space: trimSpace,
      }),
    ],
    ['file', objectValue({ path_join: pathJoin })],
    // Deprecated flat names: the same function values.
    ['env', env],
    ['nonsensitive', nonsensitive],
    ['concat', concat],
    ['json_decode', fromJson],
    ['yaml_decode', fromYaml],
    ['base64_decode', fromBase64],
    ['format', format],
    ['join', join],
    ['replace', replace],
    ['split', split],
    ['to_lower', toLower],
    ['to_upper', toUpper],
    ['trim', trim],
    ['trim_prefix', trimPrefix],
    ['trim_suffix', trimSuffix],
    ['trim_space', trimSpace],
  ]);
}
