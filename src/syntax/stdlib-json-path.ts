/**
 * `json_path(json, path)`: every value of a JSON document that a JSONPath expression
 * selects, as an array (empty when nothing matches), as Alloy's `json_path` does with the
 * ojg library. JSON integers stay integers (ojg reads them as int64), other numbers are
 * floats.
 *
 * Supported syntax: an optional root `$` (or `@`; `.a` and `a.b` are relative to the root),
 * child names (`.name`, `['name']`, `["name"]`, unions `['a','b']`), wildcards (`*`,
 * `[*]`), recursive descent (`..name`, `..*`), indexes (`[0]`, `[-1]`, `[0,2]`), slices
 * (`[1:3]`, `[::2]`) and filters (`[?(@.kind == "x" && @.n > 2)]` with `==`, `!=`, `<`,
 * `<=`, `>`, `>=`, `=~ /regex/`, `&&`, `||`, `!`, parentheses, and a bare path for
 * "exists"). Object members come out in document order.
 *
 * Error messages have ojg's shape (`... at 4 in $.a[`) but not necessarily its wording.
 * Pure; never throws.
 */

import { decodeGoJson } from './stdlib-json.ts';
import { arrayValue, compareStrings, numberToFloat, valuesEqual, type Value } from './value.ts';

/** The selected values, or an error message. */
export type JsonPathResult =
  { readonly ok: true; readonly value: Value } | { readonly ok: false; readonly error: string };

type Selector =
  | { readonly kind: 'names'; readonly names: readonly string[] }
  | { readonly kind: 'wild' }
  | { readonly kind: 'indexes'; readonly indexes: readonly number[] }
  | {
      readonly kind: 'slice';
      readonly start: number | undefined;
      readonly end: number | undefined;
      readonly step: number | undefined;
    }
  | { readonly kind: 'filter'; readonly expr: Filter };

interface Segment {
  readonly descendant: boolean;
  readonly selector: Selector;
}

interface Path {
  readonly root: '$' | '@';
  readonly segments: readonly Segment[];
}

type Filter =
  | { readonly kind: 'or' | 'and'; readonly left: Filter; readonly right: Filter }
  | { readonly kind: 'not'; readonly operand: Filter }
  | { readonly kind: 'compare'; readonly op: string; readonly left: Operand; readonly right: Operand }
  | { readonly kind: 'exists'; readonly operand: Operand };

type Operand =
  | { readonly kind: 'path'; readonly path: Path }
  | { readonly kind: 'literal'; readonly value: Value }
  | { readonly kind: 'regex'; readonly regex: RegExp };

const FAILED = Symbol('failed');
type Failed = typeof FAILED;

const NAME_CHAR = /[^.[\]()\s,=!<>&|'"~]/;

class PathParser {
  readonly #text: string;
  pos = 0;
  error: string | undefined;

  constructor(text: string) {
    this.#text = text;
  }

  #fail(message: string): Failed {
    this.error ??= `${message} at ${this.pos + 1} in ${this.#text}`;
    return FAILED;
  }

  #peek(n = 0): string | undefined {
    return this.#text[this.pos + n];
  }

  #space(): void {
    while (this.#peek() === ' ') this.pos++;
  }

  /** A whole path; inside a filter it stops at the first character that cannot continue it. */
  path(inFilter: boolean): Path | Failed {
    let root: '$' | '@' = '$';
    const c = this.#peek();
    if (c === '$' || c === '@') {
      root = c;
      this.pos++;
    } else if (c !== undefined && c !== '.' && c !== '[' && NAME_CHAR.test(c)) {
      // A bare first name: `a.b`.
      const name = this.#name();
      if (name === FAILED) return FAILED;
      const rest = this.#segments(inFilter);
      return rest === FAILED
        ? FAILED
        : { root, segments: [{ descendant: false, selector: { kind: 'names', names: [name] } }, ...rest] };
    }
    const segments = this.#segments(inFilter);
    return segments === FAILED ? FAILED : { root, segments };
  }

  #segments(inFilter: boolean): Segment[] | Failed {
    const out: Segment[] = [];
    for (;;) {
      const c = this.#peek();
      if (c === undefined) return out;
      if (c === '.') {
        this.pos++;
        let descendant = false;
        if (this.#peek() === '.') {
          descendant = true;
          this.pos++;
        }
        if (this.#peek() === '[') {
          const s = this.#bracket();
          if (s === FAILED) return FAILED;
          out.push({ descendant, selector: s });
          continue;
        }
        if (this.#peek() === '*') {
          this.pos++;
          out.push({ descendant, selector: { kind: 'wild' } });
          continue;
        }
        const name = this.#name();
        if (name === FAILED) return FAILED;
        out.push({ descendant, selector: { kind: 'names', names: [name] } });
        continue;
      }
      if (c === '[') {
        const s = this.#bracket();
        if (s === FAILED) return FAILED;
        out.push({ descendant: false, selector: s });
        continue;
      }
      if (inFilter) return out;
      return this.#fail('invalid character');
    }
  }

  #name(): string | Failed {
    const start = this.pos;
    while (this.#peek() !== undefined && NAME_CHAR.test(this.#peek() ?? '')) this.pos++;
    if (this.pos === start) return this.#fail('expected a name');
    return this.#text.slice(start, this.pos);
  }

  #quotedString(): string | Failed {
    const q = this.#peek();
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.#peek();
      if (c === undefined) return this.#fail('not terminated string');
      this.pos++;
      if (c === q) return out;
      if (c === '\\') {
        const e = this.#peek() ?? '';
        this.pos++;
        out += e === 'n' ? '\n' : e === 't' ? '\t' : e;
        continue;
      }
      out += c;
    }
  }

  #int(): number | undefined {
    const m = /^-?[0-9]+/.exec(this.#text.slice(this.pos));
    if (m === null) return undefined;
    this.pos += m[0].length;
    return Number(m[0]);
  }

  #bracket(): Selector | Failed {
    this.pos++;
    this.#space();
    const c = this.#peek();
    let selector: Selector | Failed;
    if (c === '*') {
      this.pos++;
      selector = { kind: 'wild' };
    } else if (c === '?') {
      this.pos++;
      this.#space();
      const paren = this.#peek() === '(';
      if (paren) this.pos++;
      const expr = this.#or();
      if (expr === FAILED) return FAILED;
      this.#space();
      if (paren) {
        if (this.#peek() !== ')') return this.#fail('expected )');
        this.pos++;
      }
      selector = { kind: 'filter', expr };
    } else if (c === "'" || c === '"') {
      const names: string[] = [];
      for (;;) {
        this.#space();
        const q = this.#peek();
        if (q !== "'" && q !== '"') return this.#fail('expected a string');
        const name = this.#quotedString();
        if (name === FAILED) return FAILED;
        names.push(name);
        this.#space();
        if (this.#peek() !== ',') break;
        this.pos++;
      }
      selector = { kind: 'names', names };
    } else {
      const first = this.#int();
      this.#space();
      if (this.#peek() === ':') {
        this.pos++;
        const end = this.#int();
        let step: number | undefined;
        if (this.#peek() === ':') {
          this.pos++;
          step = this.#int();
        }
        selector = { kind: 'slice', start: first, end, step };
      } else {
        if (first === undefined) return this.#fail('invalid bracket');
        const indexes = [first];
        while (this.#peek() === ',') {
          this.pos++;
          this.#space();
          const next = this.#int();
          if (next === undefined) return this.#fail('expected an index');
          indexes.push(next);
          this.#space();
        }
        selector = { kind: 'indexes', indexes };
      }
    }
    this.#space();
    if (this.#peek() !== ']') return this.#fail('expected ]');
    this.pos++;
    return selector;
  }

  #or(): Filter | Failed {
    let left = this.#and();
    for (;;) {
      if (left === FAILED) return FAILED;
      this.#space();
      if (this.#text.startsWith('||', this.pos)) {
        this.pos += 2;
        const right = this.#and();
        if (right === FAILED) return FAILED;
        left = { kind: 'or', left, right };
      } else {
        return left;
      }
    }
  }

  #and(): Filter | Failed {
    let left = this.#unary();
    for (;;) {
      if (left === FAILED) return FAILED;
      this.#space();
      if (this.#text.startsWith('&&', this.pos)) {
        this.pos += 2;
        const right = this.#unary();
        if (right === FAILED) return FAILED;
        left = { kind: 'and', left, right };
      } else {
        return left;
      }
    }
  }

  #unary(): Filter | Failed {
    this.#space();
    if (this.#peek() === '!' && this.#peek(1) !== '=') {
      this.pos++;
      const operand = this.#unary();
      return operand === FAILED ? FAILED : { kind: 'not', operand };
    }
    if (this.#peek() === '(') {
      this.pos++;
      const inner = this.#or();
      if (inner === FAILED) return FAILED;
      this.#space();
      if (this.#peek() !== ')') return this.#fail('expected )');
      this.pos++;
      return inner;
    }
    const left = this.#operand();
    if (left === FAILED) return FAILED;
    this.#space();
    const m = /^(==|!=|<=|>=|=~|<|>)/.exec(this.#text.slice(this.pos));
    if (m === null) return { kind: 'exists', operand: left };
    this.pos += m[0].length;
    this.#space();
    const right = this.#operand();
    if (right === FAILED) return FAILED;
    return { kind: 'compare', op: m[0], left, right };
  }

  #operand(): Operand | Failed {
    const c = this.#peek();
    if (c === '@' || c === '$') {
      const path = this.path(true);
      return path === FAILED ? FAILED : { kind: 'path', path };
    }
    if (c === "'" || c === '"') {
      const s = this.#quotedString();
      return s === FAILED ? FAILED : { kind: 'literal', value: { type: 'string', value: s } };
    }
    if (c === '/') {
      const end = this.#text.indexOf('/', this.pos + 1);
      if (end < 0) return this.#fail('not terminated regex');
      const source = this.#text.slice(this.pos + 1, end);
      this.pos = end + 1;
      try {
        return { kind: 'regex', regex: new RegExp(source, 'u') };
      } catch {
        return this.#fail('invalid regex');
      }
    }
    const m = /^(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|true|false|null)/.exec(this.#text.slice(this.pos));
    if (m === null) return this.#fail('expected a value');
    this.pos += m[0].length;
    const parsed = decodeGoJson(m[0], { integers: true });
    return parsed.ok ? { kind: 'literal', value: parsed.value } : this.#fail('expected a value');
  }
}

function children(value: Value): readonly Value[] {
  if (value.type === 'array') return value.elements;
  if (value.type === 'object') return [...value.fields.values()];
  return [];
}

function descendantsAndSelf(value: Value, out: Value[]): void {
  // Iterative pre-order walk: documents can nest deeply.
  const stack: Value[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === undefined) break;
    out.push(v);
    const kids = children(v);
    for (let i = kids.length - 1; i >= 0; i--) {
      const k = kids[i];
      if (k !== undefined) stack.push(k);
    }
  }
}

function select(value: Value, selector: Selector, root: Value, out: Value[]): void {
  switch (selector.kind) {
    case 'names':
      if (value.type === 'object') {
        for (const name of selector.names) {
          const v = value.fields.get(name);
          if (v !== undefined) out.push(v);
        }
      }
      return;
    case 'wild':
      out.push(...children(value));
      return;
    case 'indexes':
      if (value.type === 'array') {
        const n = value.elements.length;
        for (const i of selector.indexes) {
          const v = value.elements[i < 0 ? n + i : i];
          if (v !== undefined) out.push(v);
        }
      }
      return;
    case 'slice': {
      if (value.type !== 'array') return;
      const n = value.elements.length;
      const step = selector.step ?? 1;
      if (step === 0) return;
      const norm = (i: number): number => (i < 0 ? Math.max(n + i, 0) : Math.min(i, n));
      if (step > 0) {
        const start = norm(selector.start ?? 0);
        const end = norm(selector.end ?? n);
        for (let i = start; i < end; i += step) out.push(value.elements[i] ?? { type: 'null' });
      } else {
        const start = selector.start === undefined ? n - 1 : Math.min(norm(selector.start), n - 1);
        const end = selector.end === undefined ? -1 : norm(selector.end);
        for (let i = start; i > end; i += step) out.push(value.elements[i] ?? { type: 'null' });
      }
      return;
    }
    case 'filter':
      for (const child of children(value)) if (test(selector.expr, child, root)) out.push(child);
      return;
  }
}

function evaluatePath(path: Path, current: Value, root: Value): Value[] {
  let nodes: Value[] = [path.root === '$' ? root : current];
  for (const segment of path.segments) {
    const next: Value[] = [];
    for (const node of nodes) {
      if (segment.descendant) {
        const all: Value[] = [];
        descendantsAndSelf(node, all);
        for (const n of all) select(n, segment.selector, root, next);
      } else {
        select(node, segment.selector, root, next);
      }
    }
    nodes = next;
  }
  return nodes;
}

function operandValue(operand: Operand, current: Value, root: Value): Value | undefined {
  if (operand.kind === 'literal') return operand.value;
  if (operand.kind === 'regex') return undefined;
  return evaluatePath(operand.path, current, root)[0];
}

function compare(op: string, a: Value, b: Value): boolean {
  if (op === '==') return valuesEqual(a, b);
  if (op === '!=') return !valuesEqual(a, b);
  let order: number;
  if (a.type === 'number' && b.type === 'number') {
    const x = numberToFloat(a);
    const y = numberToFloat(b);
    order = x < y ? -1 : x > y ? 1 : 0;
  } else if (a.type === 'string' && b.type === 'string') {
    order = compareStrings(a.value, b.value);
  } else {
    return false;
  }
  switch (op) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    default:
      return order >= 0;
  }
}

function test(filter: Filter, current: Value, root: Value): boolean {
  switch (filter.kind) {
    case 'or':
      return test(filter.left, current, root) || test(filter.right, current, root);
    case 'and':
      return test(filter.left, current, root) && test(filter.right, current, root);
    case 'not':
      return !test(filter.operand, current, root);
    case 'exists':
      return operandValue(filter.operand, current, root) !== undefined;
    case 'compare': {
      const left = operandValue(filter.left, current, root);
      if (left === undefined) return false;
      if (filter.op === '=~') {
        return filter.right.kind === 'regex' && left.type === 'string' && filter.right.regex.test(left.value);
      }
      const right = operandValue(filter.right, current, root);
      return right !== undefined && compare(filter.op, left, right);
    }
  }
}

/** `json_path(json, path)`: the matches as an array, or an error message. */
export function jsonPath(json: string, path: string): JsonPathResult {
  const parser = new PathParser(path);
  const parsed = parser.path(false);
  if (parsed === FAILED) return { ok: false, error: parser.error ?? `invalid path ${path}` };
  const document = decodeGoJson(json, { integers: true });
  if (!document.ok) return document;
  return { ok: true, value: arrayValue(evaluatePath(parsed, document.value, document.value)) };
}
