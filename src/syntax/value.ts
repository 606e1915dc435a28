/**
 * Evaluated values of the Alloy language (alloy-syntax.md §4.1) and the conversion rules that
 * apply when a value is assigned to a typed attribute or function parameter (§4.6).
 *
 * A {@link Value} is a small frozen object discriminated by `type`. Numbers keep Alloy's three
 * kinds: `int` and `uint` are 64-bit integers held as `bigint` (always wrapped to 64 bits, as
 * Go's arithmetic does), `float` is a JS `number`. Objects are `ReadonlyMap`s, so that any key
 * (`__proto__`, `a.b/c`) is safe. Functions come only from the standard library; capsules are
 * opaque host values (a consumer, an auth handler, a {@link Secret}) tagged with a type name
 * such as `otelcol.Consumer`.
 *
 * Conversions never throw: they return a {@link Conversion}, whose failure carries a
 * {@link ValueProblem} that the evaluator turns into a positioned diagnostic.
 *
 * Everything here is immutable and safe to share between concurrent evaluations.
 */

import { decodeRune, runeWidth } from './source.ts';

// ---------------------------------------------------------------------------------------------
// Value types

/** Type names as Alloy spells them in messages (`should be string, got number`). */
export type TypeName = 'null' | 'number' | 'string' | 'bool' | 'array' | 'object' | 'function' | 'capsule';

export interface NullValue {
  readonly type: 'null';
}

/** A signed 64-bit integer. `value` is always within int64 range. */
export interface IntValue {
  readonly type: 'number';
  readonly kind: 'int';
  readonly value: bigint;
}

/** An unsigned 64-bit integer. `value` is always within uint64 range. */
export interface UintValue {
  readonly type: 'number';
  readonly kind: 'uint';
  readonly value: bigint;
}

/** A float64. */
export interface FloatValue {
  readonly type: 'number';
  readonly kind: 'float';
  readonly value: number;
}

export type NumberValue = IntValue | UintValue | FloatValue;

export interface StringValue {
  readonly type: 'string';
  readonly value: string;
}

export interface BoolValue {
  readonly type: 'bool';
  readonly value: boolean;
}

export interface ArrayValue {
  readonly type: 'array';
  readonly elements: readonly Value[];
  /**
   * Set when the array is Go's `[]byte` (what `encoding.from_base64` returns): it behaves as an
   * array of numbers, but assigning it to a string attribute or parameter yields the text.
   */
  readonly bytes?: Uint8Array;
}

export interface ObjectValue {
  readonly type: 'object';
  readonly fields: ReadonlyMap<string, Value>;
}

/**
 * The outcome of calling a function. A failure is either a problem with one of the arguments
 * (positioned at that argument) or a plain message about the call itself, which the evaluator
 * reports at the callee (`sys.env expected 1 args, got 2`).
 */
export type CallResult =
  { readonly ok: true; readonly value: Value } | { readonly ok: false; readonly problem: ValueProblem | string };

/** A standard-library function. Calls must not throw for any argument values. */
export interface FunctionValue {
  readonly type: 'function';
  /** Name used in documentation, e.g. `string.format`. */
  readonly name: string;
  readonly call: (args: readonly Value[]) => CallResult;
}

/**
 * An opaque host value. `typeName` identifies what it holds (`otelcol.Consumer`,
 * `otelcol.Handler`, {@link SECRET_TYPE}); two capsules only convert into each other when the
 * names are equal.
 */
export class CapsuleValue {
  readonly type = 'capsule' as const;
  readonly typeName: string;
  readonly value: unknown;

  constructor(typeName: string, value: unknown) {
    this.typeName = typeName;
    this.value = value;
    Object.freeze(this);
  }
}

export type Value =
  | NullValue
  | IntValue
  | UintValue
  | FloatValue
  | StringValue
  | BoolValue
  | ArrayValue
  | ObjectValue
  | FunctionValue
  | CapsuleValue;

// ---------------------------------------------------------------------------------------------
// Secrets

const REDACTED = '(secret)';

/**
 * A sensitive string (a password, a token, a private key). It prints as `(secret)` through
 * `String()`, template literals, `JSON.stringify` and `util.inspect`, and exposes its text
 * only through {@link Secret.reveal}. Immutable.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    Object.freeze(this);
  }

  /** The secret text. Call it only where the text is needed (a header, a TLS key). */
  reveal(): string {
    return this.#value;
  }

  /** True when both secrets hold the same text. */
  equals(other: Secret): boolean {
    return this.#value === other.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}

/** The capsule type name of secrets, as Alloy's messages spell it (`capsule("alloytypes.Secret")`). */
export const SECRET_TYPE = 'alloytypes.Secret';

// ---------------------------------------------------------------------------------------------
// Constructors

/**
 * The null value. Nulls have no identity in Alloy: the evaluator never records where one came
 * from, so a problem with a null has no position (`true && null` → `-:  should be one of
 * [bool] for binop &&, got null`).
 */
export const NULL: NullValue = Object.freeze({ type: 'null' });
export const TRUE: BoolValue = Object.freeze({ type: 'bool', value: true });
export const FALSE: BoolValue = Object.freeze({ type: 'bool', value: false });

/** A null value (a fresh object; equal to every other null). */
export function nullValue(): NullValue {
  return Object.freeze({ type: 'null' });
}

/** An int64; `value` is wrapped to 64 bits. */
export function intValue(value: bigint): IntValue {
  return Object.freeze({ type: 'number', kind: 'int', value: BigInt.asIntN(64, value) });
}

/** A uint64; `value` is wrapped to 64 bits. */
export function uintValue(value: bigint): UintValue {
  return Object.freeze({ type: 'number', kind: 'uint', value: BigInt.asUintN(64, value) });
}

export function floatValue(value: number): FloatValue {
  return Object.freeze({ type: 'number', kind: 'float', value });
}

export function stringValue(value: string): StringValue {
  return Object.freeze({ type: 'string', value });
}

export function boolValue(value: boolean): BoolValue {
  return Object.freeze({ type: 'bool', value });
}

export function arrayValue(elements: readonly Value[]): ArrayValue {
  return Object.freeze({ type: 'array', elements: Object.freeze([...elements]) });
}

/** Go's `[]byte`: an array of uint numbers that converts to text when a string is expected. */
export function bytesValue(bytes: Uint8Array): ArrayValue {
  const copy = Uint8Array.from(bytes);
  const elements = Object.freeze(Array.from(copy, (b) => uintValue(BigInt(b))));
  return Object.freeze({ type: 'array', elements, bytes: copy });
}

/** An object; later entries win when a key repeats (as in an object literal). */
export function objectValue(fields: Iterable<readonly [string, Value]> | Readonly<Record<string, Value>>): ObjectValue {
  const entries = isIterable(fields) ? fields : Object.entries(fields);
  const map = new Map<string, Value>();
  for (const [key, value] of entries) map.set(key, value);
  return Object.freeze({ type: 'object', fields: map });
}

export function functionValue(name: string, call: (args: readonly Value[]) => CallResult): FunctionValue {
  return Object.freeze({ type: 'function', name, call });
}

export function capsuleValue(typeName: string, value: unknown): CapsuleValue {
  return new CapsuleValue(typeName, value);
}

/** A capsule holding `secret` (a string is wrapped first). */
export function secretValue(secret: Secret | string): CapsuleValue {
  return new CapsuleValue(SECRET_TYPE, typeof secret === 'string' ? new Secret(secret) : secret);
}

function isIterable(x: object): x is Iterable<readonly [string, Value]> {
  return Symbol.iterator in x;
}

/** The {@link Secret} inside `value`, or `undefined` when it is not a secret capsule. */
export function secretOf(value: Value): Secret | undefined {
  return value.type === 'capsule' && value.value instanceof Secret ? value.value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Host values → Alloy values

/**
 * A JavaScript value that {@link toValue} can turn into an Alloy value: what components put in
 * their exports. Host objects that are not plain data must be wrapped with
 * {@link capsuleValue} first.
 */
export type HostValue =
  | null
  | undefined
  | string
  | number
  | bigint
  | boolean
  | Secret
  | CapsuleValue
  | readonly HostValue[]
  | { readonly [key: string]: HostValue };

/**
 * Converts plain data to an Alloy value: integers become ints, other numbers floats,
 * `null`/`undefined` null, arrays arrays, plain objects objects, a {@link Secret} a secret
 * capsule; a {@link CapsuleValue} is kept as it is.
 */
export function toValue(host: HostValue): Value {
  if (host === null || host === undefined) return NULL;
  switch (typeof host) {
    case 'string':
      return stringValue(host);
    case 'boolean':
      return host ? TRUE : FALSE;
    case 'bigint':
      return host < 0n || host <= INT64_MAX ? intValue(host) : uintValue(host);
    case 'number':
      return Number.isSafeInteger(host) ? intValue(BigInt(host)) : floatValue(host);
    default:
      break;
  }
  if (host instanceof CapsuleValue) return host;
  if (host instanceof Secret) return secretValue(host);
  if (isHostArray(host)) return arrayValue(host.map(toValue));
  return objectValue(Object.entries(host).map(([k, v]) => [k, toValue(v)] as const));
}

function isHostArray(host: object): host is readonly HostValue[] {
  return Array.isArray(host);
}

// ---------------------------------------------------------------------------------------------
// Type names

/** The value's type name (`capsule` for every capsule). */
export function typeOf(value: Value): TypeName {
  return value.type;
}

/** Like {@link typeOf}, but capsules say what they hold: `capsule("otelcol.Consumer")`. */
export function describe(value: Value): string {
  return value.type === 'capsule' ? `capsule(${goQuote(value.typeName)})` : value.type;
}

// ---------------------------------------------------------------------------------------------
// Numbers

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;
const TWO_63 = 2 ** 63;

/** Go's `int64(f)` on amd64: truncation; NaN and out-of-range values give MinInt64. */
export function floatToInt64(f: number): bigint {
  if (Number.isNaN(f) || f >= TWO_63 || f < -TWO_63) return INT64_MIN;
  return BigInt(Math.trunc(f));
}

/** Go's `uint64(f)` on amd64 (values ≥ 2^63 go through the int64 conversion of f − 2^63). */
export function floatToUint64(f: number): bigint {
  if (Number.isNaN(f)) return 1n << 63n;
  if (f < TWO_63) return BigInt.asUintN(64, floatToInt64(f));
  return BigInt.asUintN(64, floatToInt64(f - TWO_63)) ^ (1n << 63n);
}

/** The number as an int64, as Go's `Number.Int()` computes it. */
export function numberToInt64(n: NumberValue): bigint {
  return n.kind === 'float' ? floatToInt64(n.value) : BigInt.asIntN(64, n.value);
}

/** The number as a uint64, as Go's `Number.Uint()` computes it. */
export function numberToUint64(n: NumberValue): bigint {
  return n.kind === 'float' ? floatToUint64(n.value) : BigInt.asUintN(64, n.value);
}

/** The number as a float64. */
export function numberToFloat(n: NumberValue): number {
  return n.kind === 'float' ? n.value : Number(n.value);
}

/**
 * Decimal text of a number, as Alloy converts a number to a string: integers in base 10,
 * floats in the shortest form that reads back exactly, never in exponent form
 * (`1e20` → `"100000000000000000000"`, `.9` → `"0.9"`).
 */
export function formatNumber(n: NumberValue): string {
  return n.kind === 'float' ? formatFloatPlain(n.value) : n.value.toString();
}

/** Go's `strconv.FormatFloat(f, 'f', -1, 64)`. */
export function formatFloatPlain(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const { digits, exponent } = shortestDigits(f);
  const sign = f < 0 ? '-' : '';
  const point = exponent + 1;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * The shortest decimal digits that identify `|f|` (finite, non-zero), and the decimal
 * exponent of the first digit: `1234.5` → `{ digits: '12345', exponent: 3 }`.
 */
export function shortestDigits(f: number): { digits: string; exponent: number } {
  const text = Math.abs(f).toExponential();
  const e = text.indexOf('e');
  return { digits: text.slice(0, e).replace('.', ''), exponent: Number(text.slice(e + 1)) };
}

// ---------------------------------------------------------------------------------------------
// Strings

/** Compares strings by their UTF-8 bytes (= code point order), as Go does. */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort after every BMP code point in UTF-8.
    if (x >= 0xd800 && x <= 0xdfff) x += 0x10000;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x10000;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** True when Go's `strconv.IsPrint` holds for the code point. */
export function isGoPrintable(codePoint: number): boolean {
  return PRINTABLE.test(String.fromCodePoint(codePoint));
}

/** Go's `strconv.Quote` (`%q`): a double-quoted string with Go escapes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    out += quoteRune(ch, '"');
  }
  return `${out}"`;
}

/** One character of a Go-quoted string or rune literal, escaped if needed. */
export function quoteRune(ch: string, quote: '"' | "'"): string {
  const c = ch.codePointAt(0) ?? 0xfffd;
  if (ch === quote || ch === '\\') return `\\${ch}`;
  if (c < 0x80 && c >= 0x20 && c !== 0x7f) return ch;
  switch (c) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
    default:
      break;
  }
  if (c < 0x20 || c === 0x7f) return `\\x${hex(c, 2)}`;
  if (c >= 0xd800 && c <= 0xdfff) return '\\ufffd';
  if (isGoPrintable(c)) return ch;
  return c < 0x10000 ? `\\u${hex(c, 4)}` : `\\U${hex(c, 8)}`;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

const utf8Decoder = new TextDecoder('utf-8');

/**
 * Text of UTF-8 bytes. Each byte that is not part of a valid sequence becomes U+FFFD, as
 * Go's decoders do (JavaScript's `TextDecoder` would merge some of them).
 */
export function decodeUtf8(bytes: Uint8Array): string {
  let out = '';
  let validStart = 0;
  for (let i = 0; i < bytes.length;) {
    if ((bytes[i] ?? 0) < 0x80) {
      i++;
      continue;
    }
    const cp = decodeRune(bytes, i);
    if (cp >= 0) {
      i += runeWidth(cp);
      continue;
    }
    out += `${utf8Decoder.decode(bytes.subarray(validStart, i))}\ufffd`;
    i++;
    validStart = i;
  }
  return out + utf8Decoder.decode(bytes.subarray(validStart));
}

// ---------------------------------------------------------------------------------------------
// Equality

/**
 * Alloy's `==`: different types are never equal; numbers compare by value across kinds
 * (`3 == 3.0`); arrays element-wise; objects by key set and values; functions never; secrets
 * by their text; other capsules when they hold the same host object.
 */
export function valuesEqual(a: Value, b: Value): boolean {
  switch (a.type) {
    case 'null':
      return b.type === 'null';
    case 'number':
      if (b.type !== 'number') return false;
      switch (fitKinds(a, b)) {
        case 'uint':
          return numberToUint64(a) === numberToUint64(b);
        case 'int':
          return numberToInt64(a) === numberToInt64(b);
        default:
          return numberToFloat(a) === numberToFloat(b);
      }
    case 'string':
    case 'bool':
      return b.type === a.type && a.value === b.value;
    case 'array':
      return (
        b.type === 'array' &&
        a.elements.length === b.elements.length &&
        a.elements.every((x, i) => {
          const y = b.elements[i];
          return y !== undefined && valuesEqual(x, y);
        })
      );
    case 'object':
      if (b.type !== 'object' || a.fields.size !== b.fields.size) return false;
      for (const [key, x] of a.fields) {
        const y = b.fields.get(key);
        if (y === undefined || !valuesEqual(x, y)) return false;
      }
      return true;
    case 'function':
      return false;
    case 'capsule': {
      if (b.type !== 'capsule' || a.typeName !== b.typeName) return false;
      const x = secretOf(a);
      const y = secretOf(b);
      if (x !== undefined && y !== undefined) return x.equals(y);
      return Object.is(a.value, b.value);
    }
  }
}

/** The kind two numbers are combined in: float beats int beats uint. */
export function fitKinds(a: NumberValue, b: NumberValue): NumberValue['kind'] {
  if (a.kind === 'float' || b.kind === 'float') return 'float';
  if (a.kind === 'int' || b.kind === 'int') return 'int';
  return 'uint';
}

// ---------------------------------------------------------------------------------------------
// Problems and conversions

/**
 * Why a value was refused, with the path from the value that was checked down to the
 * offending part. The evaluator renders it as `<expression><path> <message>`, positioned at
 * the deepest value whose source expression it knows (alloy-syntax.md §4.6 item 5).
 *
 * `code` is the last segment of the diagnostic code: `type` for a wrong type, `value` for a
 * value of the right type that is not acceptable, and a few evaluation-specific ones.
 */
export type ValueProblem =
  | { readonly kind: 'leaf'; readonly value: Value; readonly message: string; readonly code: string }
  | { readonly kind: 'path'; readonly value: Value; readonly segment: string; readonly inner: ValueProblem };

/** `<value> should be <expected>, got <type>`. */
export function typeProblem(value: Value, expected: string): ValueProblem {
  return { kind: 'leaf', value, message: `should be ${expected}, got ${typeOf(value)}`, code: 'type' };
}

/** `<value> <message>`. */
export function valueProblem(value: Value, message: string, code = 'value'): ValueProblem {
  return { kind: 'leaf', value, message, code };
}

/** A problem with element `index` of the array `value`. */
export function elementProblem(value: Value, index: number, inner: ValueProblem): ValueProblem {
  return { kind: 'path', value, segment: `[${index}]`, inner };
}

/** A problem with field `key` of the object `value`. */
export function fieldProblem(value: Value, key: string, inner: ValueProblem): ValueProblem {
  return { kind: 'path', value, segment: `.${key}`, inner };
}

/** A successful or failed conversion. */
export type Conversion<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: ValueProblem };

export function converted<T>(value: T): Conversion<T> {
  return { ok: true, value };
}

export function refused<T>(problem: ValueProblem): Conversion<T> {
  return { ok: false, problem };
}

/** Message Alloy gives when a secret is used where a plain string is required. */
export const SECRET_TO_STRING = 'secrets may not be converted into strings';

/**
 * A value as a string (§4.6): strings as they are, numbers as decimal text, Go `[]byte`
 * arrays as their text, null as `""`. Secrets are refused (`secrets may not be converted
 * into strings`); everything else is a type error.
 */
export function convertToString(value: Value): Conversion<string> {
  switch (value.type) {
    case 'string':
      return converted(value.value);
    case 'null':
      return converted('');
    case 'number':
      return converted(formatNumber(value));
    case 'array':
      if (value.bytes !== undefined) return converted(decodeUtf8(value.bytes));
      break;
    case 'capsule':
      if (secretOf(value) !== undefined) return refused(valueProblem(value, SECRET_TO_STRING));
      break;
    default:
      break;
  }
  return refused(typeProblem(value, 'string'));
}

/**
 * A value as a number (§4.6): numbers as they are, null as int 0, and strings that parse
 * whole: a leading `-` means a base-10 int64, a `.`, `e` or `E` a float, anything else a
 * base-10 uint64 (`" 12"`, `"0x10"`, `""` are refused).
 */
export function convertToNumber(value: Value): Conversion<NumberValue> {
  if (value.type === 'number') return converted(value);
  if (value.type === 'null') return converted(intValue(0n));
  if (value.type !== 'string') return refused(typeProblem(value, 'number'));
  const parsed = parseNumberString(value.value);
  return parsed === undefined ? refused(typeProblem(value, 'number')) : converted(parsed);
}

function parseNumberString(s: string): NumberValue | undefined {
  if (s === '') return undefined;
  if (s.startsWith('-')) {
    if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
    const n = BigInt(s);
    return n < INT64_MIN || n > INT64_MAX ? undefined : intValue(n);
  }
  if (/[.eE]/.test(s)) {
    const f = parseGoFloat(s);
    return f === undefined ? undefined : floatValue(f);
  }
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n > UINT64_MAX ? undefined : uintValue(n);
}

/**
 * Go's `strconv.ParseFloat(s, 64)` for decimal text (with `inf`, `infinity` and `nan`);
 * `undefined` on a syntax error or when the value is out of range.
 */
export function parseGoFloat(s: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(s)) return undefined;
  const f = Number(s);
  return Number.isFinite(f) ? f : undefined;
}

/** A value as a bool: only bools (and null, as `false`) convert. */
export function convertToBool(value: Value): Conversion<boolean> {
  if (value.type === 'bool') return converted(value.value);
  if (value.type === 'null') return converted(false);
  return refused(typeProblem(value, 'bool'));
}

/** The text of a secret parameter: strings and secrets are accepted, null is `""`. */
export function convertToSecretText(value: Value): Conversion<string> {
  if (value.type === 'string') return converted(value.value);
  if (value.type === 'null') return converted('');
  const secret = secretOf(value);
  if (secret !== undefined) return converted(secret.reveal());
  return refused(typeProblem(value, 'capsule'));
}

/**
 * Converts every element of an array with `convert`; null is an empty array. Failures name
 * the element (`[2]`).
 */
export function convertElements<T>(value: Value, convert: (element: Value) => Conversion<T>): Conversion<T[]> {
  if (value.type === 'null') return converted([]);
  if (value.type !== 'array') return refused(typeProblem(value, 'array'));
  const out: T[] = [];
  for (let i = 0; i < value.elements.length; i++) {
    const element = value.elements[i] ?? NULL;
    const result = convert(element);
    if (!result.ok) return refused(elementProblem(value, i, result.problem));
    out.push(result.value);
  }
  return converted(out);
}

/**
 * Converts every field of an object with `convert`; null is an empty object. Failures name
 * the field (`.key`).
 */
export function convertFields<T>(value: Value, convert: (field: Value) => Conversion<T>): Conversion<[string, T][]> {
  if (value.type === 'null') return converted([]);
  if (value.type !== 'object') return refused(typeProblem(value, 'object'));
  const out: [string, T][] = [];
  for (const [key, field] of value.fields) {
    const result = convert(field);
    if (!result.ok) return refused(fieldProblem(value, key, result.problem));
    out.push([key, result.value]);
  }
  return converted(out);
}
