/**
 * JSON for the standard library, with Go's `encoding/json` behaviour and error messages:
 * {@link decodeGoJson} for `encoding.from_json` (alias `json_decode`) and
 * {@link encodeGoJson} for `encoding.to_json`.
 *
 * Decoding follows `json.Unmarshal` into `any`: numbers become floats, objects objects
 * (a repeated key: the last wins), invalid UTF-8 and lone surrogate escapes become U+FFFD.
 * Syntax errors read as Go's (`invalid character '}' looking for beginning of object key
 * string`, `unexpected end of JSON input`). Nesting deeper than 500 levels is refused with
 * Go's message for its own limit of 10,000 (`invalid character '[' exceeded max depth`), so
 * that the recursive passes over values (equality, `format`, decoding) stay far from the
 * stack limit. The parser itself is iterative.
 *
 * Encoding follows `json.Marshal` of `map[string]any`: keys sorted, `<`, `>`, `&`, U+2028
 * and U+2029 escaped, floats in Go's shortest form. A secret encodes as `"(secret)"`.
 *
 * Pure; never throws.
 */

import { formatGoFloat } from './stdlib-format.ts';
import {
  type Value,
  arrayValue,
  boolValue,
  compareStrings,
  decodeUtf8,
  floatValue,
  goQuote,
  INT64_MAX,
  INT64_MIN,
  intValue,
  NULL,
  objectValue,
  parseGoFloat,
  secretOf,
  stringValue,
} from './value.ts';

/** A decoded value, or Go's error text. */
export type JsonResult = { readonly ok: true; readonly value: Value } | { readonly ok: false; readonly error: string };

const MAX_DEPTH = 500;
const utf8 = new TextEncoder();

/** Go's `quoteChar`: how a byte appears in a syntax error. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  return `'${goQuote(String.fromCharCode(c)).slice(1, -1)}'`;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** Marks a syntax error; the message is in {@link JsonParser.error}. */
const FAILED = Symbol('failed');
type Failed = typeof FAILED;

type Frame =
  | { readonly kind: 'array'; readonly items: Value[] }
  | { readonly kind: 'object'; readonly fields: Map<string, Value>; key: string };

const ascii = new TextDecoder('latin1');

class JsonParser {
  readonly #b: Uint8Array;
  #pos = 0;
  /** Go's syntax error, once one is found. */
  error: string | undefined;
  /** The first number that does not fit a float64 (Go reports it after the syntax check). */
  rangeError: string | undefined;

  readonly #integers: boolean;

  constructor(bytes: Uint8Array, integers: boolean) {
    this.#b = bytes;
    this.#integers = integers;
  }

  #fail(context: string): Failed {
    const c = this.#b[this.#pos];
    this.error = c === undefined ? 'unexpected end of JSON input' : `invalid character ${quoteChar(c)} ${context}`;
    return FAILED;
  }

  #skipSpace(): number | undefined {
    while (isSpace(this.#b[this.#pos])) this.#pos++;
    return this.#b[this.#pos];
  }

  /** After a key: the `:` (the cursor ends past it). */
  #colon(): Failed | undefined {
    if (this.#skipSpace() !== 0x3a) return this.#fail('after object key');
    this.#pos++;
    return undefined;
  }

  /** The start of a container: the depth check Go makes when it pushes a parse state. */
  #open(depth: number): Failed | undefined {
    if (depth >= MAX_DEPTH) return this.#fail('exceeded max depth');
    this.#pos++;
    return undefined;
  }

  parse(): Value | Failed {
    const stack: Frame[] = [];
    let value: Value | Failed;
    for (;;) {
      // A value starts here.
      const c = this.#skipSpace();
      if (c === 0x7b) {
        if (this.#open(stack.length) === FAILED) return FAILED;
        const next = this.#skipSpace();
        if (next === 0x7d) {
          this.#pos++;
          value = objectValue([]);
        } else {
          if (next !== 0x22) return this.#fail('looking for beginning of object key string');
          const key = this.#string();
          if (key === FAILED || this.#colon() === FAILED) return FAILED;
          stack.push({ kind: 'object', fields: new Map(), key });
          continue;
        }
      } else if (c === 0x5b) {
        if (this.#open(stack.length) === FAILED) return FAILED;
        if (this.#skipSpace() === 0x5d) {
          this.#pos++;
          value = arrayValue([]);
        } else {
          stack.push({ kind: 'array', items: [] });
          continue;
        }
      } else if (c === 0x22) {
        const text = this.#string();
        value = text === FAILED ? FAILED : stringValue(text);
      } else if (c === 0x2d || isDigit(c)) {
        value = this.#number();
      } else if (c === 0x74) {
        value = this.#literal('true', boolValue(true));
      } else if (c === 0x66) {
        value = this.#literal('false', boolValue(false));
      } else if (c === 0x6e) {
        value = this.#literal('null', NULL);
      } else {
        return this.#fail('looking for beginning of value');
      }
      if (value === FAILED) return FAILED;

      // The value is complete: add it to its container, closing containers as they end.
      for (;;) {
        const frame = stack.at(-1);
        if (frame === undefined) {
          if (this.#skipSpace() !== undefined) return this.#fail('after top-level value');
          return value;
        }
        if (frame.kind === 'array') frame.items.push(value);
        else frame.fields.set(frame.key, value);
        const next = this.#skipSpace();
        if (next === 0x2c) {
          this.#pos++;
          if (frame.kind === 'object') {
            if (this.#skipSpace() !== 0x22) return this.#fail('looking for beginning of object key string');
            const key = this.#string();
            if (key === FAILED || this.#colon() === FAILED) return FAILED;
            frame.key = key;
          }
          break;
        }
        if (frame.kind === 'array') {
          if (next !== 0x5d) return this.#fail('after array element');
          value = arrayValue(frame.items);
        } else {
          if (next !== 0x7d) return this.#fail('after object key:value pair');
          value = objectValue(frame.fields);
        }
        this.#pos++;
        stack.pop();
      }
    }
  }

  #literal(word: string, value: Value): Value | Failed {
    this.#pos++;
    for (let i = 1; i < word.length; i++) {
      if (this.#b[this.#pos] !== word.charCodeAt(i))
        return this.#fail(`in literal ${word} (expecting '${word[i] ?? ''}')`);
      this.#pos++;
    }
    return value;
  }

  /** A number, with Go's scanner states. */
  #number(): Value | Failed {
    const b = this.#b;
    const start = this.#pos;
    if (b[this.#pos] === 0x2d) {
      this.#pos++;
      if (!isDigit(b[this.#pos])) return this.#fail('in numeric literal');
    }
    if (b[this.#pos] === 0x30) this.#pos++;
    else while (isDigit(b[this.#pos])) this.#pos++;
    if (b[this.#pos] === 0x2e) {
      this.#pos++;
      if (!isDigit(b[this.#pos])) return this.#fail('after decimal point in numeric literal');
      while (isDigit(b[this.#pos])) this.#pos++;
    }
    if (b[this.#pos] === 0x65 || b[this.#pos] === 0x45) {
      this.#pos++;
      if (b[this.#pos] === 0x2b || b[this.#pos] === 0x2d) this.#pos++;
      if (!isDigit(b[this.#pos])) return this.#fail('in exponent of numeric literal');
      while (isDigit(b[this.#pos])) this.#pos++;
    }
    const text = ascii.decode(b.subarray(start, this.#pos));
    if (this.#integers && !/[.eE]/.test(text)) {
      const n = BigInt(text);
      if (n >= INT64_MIN && n <= INT64_MAX) return intValue(n);
    }
    const f = parseGoFloat(text);
    if (f === undefined) {
      this.rangeError ??= `json: cannot unmarshal number ${text} into Go value of type float64`;
      return floatValue(0);
    }
    return floatValue(f);
  }

  /** A string starting at its opening quote; returns the unescaped text. */
  #string(): string | Failed {
    const b = this.#b;
    this.#pos++;
    let out = '';
    let runStart = this.#pos;
    for (;;) {
      const c = b[this.#pos];
      if (c === undefined) return this.#fail('');
      if (c === 0x22) {
        out += decodeUtf8(b.subarray(runStart, this.#pos));
        this.#pos++;
        return out;
      }
      if (c < 0x20) return this.#fail('in string literal');
      if (c !== 0x5c) {
        this.#pos++;
        continue;
      }
      out += decodeUtf8(b.subarray(runStart, this.#pos));
      this.#pos++;
      const e = b[this.#pos];
      switch (e) {
        case 0x22:
        case 0x5c:
        case 0x2f:
          out += String.fromCharCode(e);
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          const unit = this.#hex4();
          if (unit === FAILED) return FAILED;
          if (unit >= 0xd800 && unit < 0xdc00 && b[this.#pos + 1] === 0x5c && b[this.#pos + 2] === 0x75) {
            // A surrogate pair is two escapes.
            const save = this.#pos;
            this.#pos += 2;
            const low = this.#hex4();
            if (low === FAILED) return FAILED;
            if (low >= 0xdc00 && low < 0xe000) {
              out += String.fromCharCode(unit, low);
              break;
            }
            this.#pos = save;
          }
          out += unit >= 0xd800 && unit < 0xe000 ? '\ufffd' : String.fromCharCode(unit);
          break;
        }
        default:
          return this.#fail('in string escape code');
      }
      this.#pos++;
      runStart = this.#pos;
    }
  }

  /** Four hex digits after `\u` (the cursor is on the `u` and ends on the last digit). */
  #hex4(): number | Failed {
    let n = 0;
    for (let i = 0; i < 4; i++) {
      this.#pos++;
      const v = hexValue(this.#b[this.#pos]);
      if (v < 0) return this.#fail('in \\u hexadecimal character escape');
      n = n * 16 + v;
    }
    return n;
  }
}

/**
 * `json.Unmarshal(text, &any)`: the value or Go's error message. With `integers`, numbers
 * written without a fraction or exponent that fit an int64 become ints (as the JSONPath
 * library behind `json_path` reads them) instead of floats.
 */
export function decodeGoJson(text: string, options: { readonly integers?: boolean } = {}): JsonResult {
  const parser = new JsonParser(utf8.encode(text), options.integers ?? false);
  const value = parser.parse();
  if (value === FAILED) return { ok: false, error: parser.error ?? 'unexpected end of JSON input' };
  if (parser.rangeError !== undefined) return { ok: false, error: parser.rangeError };
  return { ok: true, value };
}

// ---------------------------------------------------------------------------------------------
// Encoding

const HEX = '0123456789abcdef';

/** Go's JSON string encoding (HTML-safe). */
function encodeString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) out += `\\u00${HEX[c >> 4] ?? ''}${HEX[c & 15] ?? ''}`;
    else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd';
    else out += ch;
  }
  return `${out}"`;
}

/** Go's JSON float encoding: shortest, exponent form below 1e-6 and from 1e21. */
function encodeFloat(f: number): string | undefined {
  if (!Number.isFinite(f)) return undefined;
  const abs = Math.abs(f);
  const exponent = abs !== 0 && (abs < 1e-6 || abs >= 1e21);
  let text = formatGoFloat(f, exponent ? 'e' : 'f', -1);
  if (exponent) text = text.replace(/e-0(\d)$/, 'e-$1');
  return text;
}

/** `json.Marshal` of the Go value Alloy decodes `value` into; an error text on failure. */
function encodeValue(value: Value): { text: string } | { error: string } {
  switch (value.type) {
    case 'null':
      return { text: 'null' };
    case 'bool':
      return { text: value.value ? 'true' : 'false' };
    case 'string':
      return { text: encodeString(value.value) };
    case 'number': {
      if (value.kind !== 'float') return { text: value.value.toString() };
      const text = encodeFloat(value.value);
      return text === undefined
        ? { error: `json: unsupported value: ${formatGoFloat(value.value, 'g', -1)}` }
        : { text };
    }
    case 'array': {
      const parts: string[] = [];
      for (const element of value.elements) {
        const r = encodeValue(element);
        if ('error' in r) return r;
        parts.push(r.text);
      }
      return { text: `[${parts.join(',')}]` };
    }
    case 'object': {
      const keys = [...value.fields.keys()].sort(compareStrings);
      const parts: string[] = [];
      for (const key of keys) {
        const field = value.fields.get(key);
        if (field === undefined) continue;
        const r = encodeValue(field);
        if ('error' in r) return r;
        parts.push(`${encodeString(key)}:${r.text}`);
      }
      return { text: `{${parts.join(',')}}` };
    }
    case 'function':
      return { error: 'json: unsupported type: function' };
    case 'capsule':
      if (secretOf(value) !== undefined) return { text: '"(secret)"' };
      return { error: `json: unsupported type: ${value.typeName}` };
  }
}

/**
 * `encoding.to_json`: only objects are accepted (`jsonEncode only supports map`), as in
 * Alloy. Returns the JSON text or the error message.
 */
export function encodeGoJson(value: Value): { readonly text: string } | { readonly error: string } {
  if (value.type !== 'object') return { error: 'jsonEncode only supports map' };
  return encodeValue(value);
}
