/**
 * Expression evaluation (alloy-syntax.md §4.3–§4.5) and reference discovery (§5.2).
 *
 * {@link evaluate} turns an expression into a {@link Value} against a {@link Scope}: the
 * variables the loader provides (component exports, nested by ID fragment:
 * `otelcol.exporter.otlp.default.input`) and then the standard library. It follows Alloy's
 * semantics exactly, quirks included: `&&` and `||` evaluate both sides, integer arithmetic
 * wraps at 64 bits, `2 ^ -1` is 2, `[1, 2][1.9]` is 2.
 *
 * Bad input never throws. The first error stops the evaluation and comes back as a
 * {@link Diagnostic} with Alloy's message and the byte range of the offending expression,
 * e.g. `"a" + 1` → `1 should be string, got number` at the `1`.
 *
 * {@link findTraversals} lists the dotted names an expression reads, for the loader's
 * dependency graph.
 */

import type { Body, Expression, IdentifierExpression, LiteralExpression } from './ast.ts';
import type { Diagnostic } from './diagnostics.ts';
import type { Pos } from './source.ts';
import type { BinaryOperator } from './token.ts';
import { createStdlib } from './stdlib.ts';
import {
  type CallResult,
  type NumberValue,
  type Value,
  type ValueProblem,
  FALSE,
  TRUE,
  INT64_MAX,
  UINT64_MAX,
  boolValue,
  compareStrings,
  fitKinds,
  floatValue,
  goQuote,
  intValue,
  nullValue,
  numberToFloat,
  numberToInt64,
  numberToUint64,
  objectValue,
  parseGoFloat,
  secretOf,
  secretValue,
  stringValue,
  typeOf,
  typeProblem,
  uintValue,
  valueProblem,
  valuesEqual,
} from './value.ts';

// ---------------------------------------------------------------------------------------------
// Scope

/**
 * What identifiers resolve to: first `variables`, then `stdlib` (a variable shadows a stdlib
 * name of the same spelling, as in Alloy). Immutable; build new scopes with
 * {@link withExports}.
 */
export interface Scope {
  readonly variables: ReadonlyMap<string, Value>;
  readonly stdlib: ReadonlyMap<string, Value>;
}

/**
 * A scope with the given variables and standard library (by default the one from
 * {@link createStdlib} reading `process.env`).
 */
export function createScope(
  options: { readonly variables?: ReadonlyMap<string, Value>; readonly stdlib?: ReadonlyMap<string, Value> } = {},
): Scope {
  return Object.freeze({
    variables: options.variables ?? new Map<string, Value>(),
    stdlib: options.stdlib ?? createStdlib(),
  });
}

/** The value `name` resolves to in `scope`, or `undefined`. */
export function lookup(scope: Scope, name: string): Value | undefined {
  return scope.variables.get(name) ?? scope.stdlib.get(name);
}

/**
 * A copy of `scope` where the component `id` (its name fragments and label, e.g.
 * `['otelcol', 'exporter', 'otlp', 'default']`) exports `exports`, reachable as
 * `otelcol.exporter.otlp.default`. Objects along the path are copied, never mutated.
 *
 * Throws `TypeError` if `id` is empty or a prefix of it already holds a non-object value
 * (the loader's duplicate-ID check rules both out).
 */
export function withExports(scope: Scope, id: readonly string[], exports: Value): Scope {
  const [first, ...rest] = id;
  if (first === undefined) throw new TypeError('withExports: empty component ID');
  const variables = new Map(scope.variables);
  variables.set(first, insertPath(variables.get(first), rest, exports, first));
  return Object.freeze({ variables, stdlib: scope.stdlib });
}

function insertPath(node: Value | undefined, path: readonly string[], leaf: Value, where: string): Value {
  const [head, ...rest] = path;
  if (head === undefined) return leaf;
  if (node !== undefined && node.type !== 'object') {
    throw new TypeError(`withExports: ${where} is not an object`);
  }
  const fields = new Map(node?.fields ?? []);
  fields.set(head, insertPath(fields.get(head), rest, leaf, `${where}.${head}`));
  return objectValue(fields);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/**
 * Which expression produced each value of one evaluation; used to position and word
 * diagnostics about values found wrong later (for example by the schema decoder).
 */
export type Origins = ReadonlyMap<Value, Expression>;

/** The result of {@link evaluate}. */
export type Evaluation =
  | { readonly ok: true; readonly value: Value; readonly origins: Origins }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** Marks a failed evaluation; the diagnostic is in {@link Evaluator.failure}. */
const FAILED = Symbol('failed');
type Failed = typeof FAILED;

/**
 * Evaluates `expr` against `scope`. Never throws for any input; stops at the first error,
 * which is returned as a diagnostic (code `eval/…`) positioned at the offending expression.
 * Pure apart from reading the environment through the scope's `sys.env`.
 */
export function evaluate(expr: Expression, scope: Scope): Evaluation {
  const evaluator = new Evaluator(scope);
  const value = evaluator.eval(expr);
  if (value === FAILED) {
    return { ok: false, diagnostics: evaluator.failure === undefined ? [] : [evaluator.failure] };
  }
  return { ok: true, value, origins: evaluator.origins };
}

const BINOP_TYPES: Readonly<Record<Exclude<BinaryOperator, '==' | '!='>, readonly string[]>> = {
  '||': ['bool'],
  '&&': ['bool'],
  '+': ['number', 'string', 'capsule'],
  '-': ['number'],
  '*': ['number'],
  '/': ['number'],
  '%': ['number'],
  '^': ['number'],
  '<': ['number', 'string'],
  '>': ['number', 'string'],
  '<=': ['number', 'string'],
  '>=': ['number', 'string'],
};

class Evaluator {
  readonly origins = new Map<Value, Expression>();
  failure: Diagnostic | undefined;
  readonly #scope: Scope;

  constructor(scope: Scope) {
    this.#scope = scope;
  }

  /**
   * The value of `expr`, or {@link FAILED} after recording the failure. Like Alloy, it
   * remembers which expression produced each value except null, which has no identity in Go
   * (`true && null` → `-:  should be one of [bool] for binop &&, got null`).
   */
  eval(expr: Expression): Value | Failed {
    const value = this.#evalNode(expr);
    if (value !== FAILED && value.type !== 'null') this.origins.set(value, expr);
    return value;
  }

  #fail(diagnostic: Diagnostic): Failed {
    this.failure = diagnostic;
    return FAILED;
  }

  #problem(problem: ValueProblem): Failed {
    return this.#fail(problemDiagnostic(problem, this.origins, 'eval'));
  }

  #evalNode(expr: Expression): Value | Failed {
    switch (expr.kind) {
      case 'Literal':
        return this.#literal(expr);
      case 'Array': {
        const elements: Value[] = [];
        for (const element of expr.elements) {
          const value = this.eval(element);
          if (value === FAILED) return FAILED;
          elements.push(value);
        }
        return Object.freeze({ type: 'array', elements: Object.freeze(elements) });
      }
      case 'Object': {
        const fields = new Map<string, Value>();
        for (const field of expr.fields) {
          const value = this.eval(field.value);
          if (value === FAILED) return FAILED;
          fields.set(field.name, value);
        }
        return Object.freeze({ type: 'object', fields });
      }
      case 'Identifier':
        return this.#identifier(expr);
      case 'Access':
        return this.#access(expr.value, expr.name.name, expr.name.start, expr.name.end);
      case 'Index':
        return this.#index(expr.value, expr.index);
      case 'Call':
        return this.#call(expr.value, expr.args);
      case 'Paren':
        return this.eval(expr.inner);
      case 'Unary': {
        const value = this.eval(expr.operand);
        if (value === FAILED) return FAILED;
        if (expr.operator === '!') {
          return value.type === 'bool' ? boolValue(!value.value) : this.#problem(typeProblem(value, 'bool'));
        }
        if (value.type !== 'number') return this.#problem(typeProblem(value, 'number'));
        return value.kind === 'float' ? floatValue(-value.value) : intValue(-numberToInt64(value));
      }
      case 'Binary': {
        const left = this.eval(expr.left);
        if (left === FAILED) return FAILED;
        const right = this.eval(expr.right);
        if (right === FAILED) return FAILED;
        const result = binaryOp(left, expr.operator, right);
        return 'problem' in result ? this.#problem(result.problem) : result.value;
      }
    }
  }

  #literal(expr: LiteralExpression): Value | Failed {
    switch (expr.token) {
      case 'NUMBER': {
        const value = parseIntegerLiteral(expr.raw);
        return value ?? this.#outOfRange(expr);
      }
      case 'FLOAT': {
        const f = parseGoFloat(expr.raw);
        return f === undefined ? this.#outOfRange(expr) : floatValue(f);
      }
      case 'STRING':
        return stringValue(typeof expr.value === 'string' ? expr.value : expr.raw);
      case 'BOOL':
        return expr.value === true || expr.raw === 'true' ? boolValue(true) : boolValue(false);
      case 'NULL':
        return nullValue();
    }
  }

  #outOfRange(expr: LiteralExpression): Failed {
    return this.#fail({
      severity: 'error',
      code: 'eval/literal',
      message: `strconv.ParseFloat: parsing ${goQuote(expr.raw)}: value out of range`,
      start: expr.start,
      end: expr.end,
    });
  }

  #identifier(expr: IdentifierExpression): Value | Failed {
    const value = lookup(this.#scope, expr.name);
    if (value !== undefined) return value;
    return this.#fail({
      severity: 'error',
      code: 'eval/unknown-identifier',
      message: `identifier ${goQuote(expr.name)} does not exist`,
      start: expr.start,
      end: expr.end,
    });
  }

  #access(target: Expression, name: string, nameStart: Pos, nameEnd: Pos): Value | Failed {
    const value = this.eval(target);
    if (value === FAILED) return FAILED;
    if (value.type === 'object') {
      const field = value.fields.get(name);
      if (field !== undefined) return field;
      return this.#fail({
        severity: 'error',
        code: 'eval/unknown-field',
        message: `field ${goQuote(name)} does not exist`,
        start: nameStart,
        end: nameEnd,
      });
    }
    if (value.type === 'capsule') {
      return this.#problem(
        valueProblem(value, 'expected object or array or a capsule convertible to an object, got capsule', 'type'),
      );
    }
    return this.#problem(
      valueProblem(value, `cannot access field ${goQuote(name)} on value of type ${typeOf(value)}`, 'type'),
    );
  }

  #index(target: Expression, indexExpr: Expression): Value | Failed {
    const value = this.eval(target);
    if (value === FAILED) return FAILED;
    const index = this.eval(indexExpr);
    if (index === FAILED) return FAILED;
    switch (value.type) {
      case 'array': {
        if (index.type !== 'number') return this.#problem(typeProblem(index, 'number'));
        const i = numberToInt64(index);
        const element = i >= 0n && i < BigInt(value.elements.length) ? value.elements[Number(i)] : undefined;
        if (element !== undefined) return element;
        return this.#problem(
          valueProblem(
            index,
            `index ${i.toString()} is out of range of array with length ${value.elements.length}`,
            'index-out-of-range',
          ),
        );
      }
      case 'object':
        if (index.type !== 'string') return this.#problem(typeProblem(index, 'string'));
        return value.fields.get(index.value) ?? nullValue();
      case 'capsule':
        return this.#problem(
          valueProblem(value, 'expected object or array or a capsule convertible to an object, got capsule', 'type'),
        );
      default:
        return this.#problem(valueProblem(value, `expected object or array, got ${typeOf(value)}`, 'type'));
    }
  }

  #call(callee: Expression, argExprs: readonly Expression[]): Value | Failed {
    const fn = this.eval(callee);
    if (fn === FAILED) return FAILED;
    if (fn.type !== 'function') return this.#problem(typeProblem(fn, 'function'));
    const args: Value[] = [];
    for (const argExpr of argExprs) {
      const arg = this.eval(argExpr);
      if (arg === FAILED) return FAILED;
      args.push(arg);
    }
    let result: CallResult;
    try {
      result = fn.call(args);
    } catch (err) {
      // Standard-library functions never throw; a host function (a component export) might.
      // Bad config must not crash the loader, so the exception becomes a diagnostic.
      const reason = err instanceof Error ? err.message : String(err);
      return this.#problem(valueProblem(fn, `failed: ${reason}`, 'call'));
    }
    if (result.ok) return result.value;
    const problem = typeof result.problem === 'string' ? valueProblem(fn, result.problem, 'call') : result.problem;
    return this.#problem(problem);
  }
}

/**
 * Go's `ParseInt(text, 0, 64)`, then `ParseUint`, then `ParseFloat`, as Alloy converts an
 * integer literal: `0755` is octal 493, `08` is the float 8, values above int64 become uint64
 * and values above uint64 floats. `undefined` when even the float is out of range.
 */
export function parseIntegerLiteral(raw: string): NumberValue | undefined {
  const octal = raw.length > 1 && raw.startsWith('0');
  if (!octal || /^[0-7]+$/.test(raw)) {
    const n = octal ? BigInt(`0o${raw.slice(1)}`) : BigInt(raw);
    if (n <= INT64_MAX) return intValue(n);
    if (n <= UINT64_MAX) return uintValue(n);
  }
  const f = parseGoFloat(raw);
  return f === undefined ? undefined : floatValue(f);
}

// ---------------------------------------------------------------------------------------------
// Operators

type OpResult = { readonly value: Value } | { readonly problem: ValueProblem };

/**
 * Applies a binary operator with Alloy's rules (alloy-syntax.md §4.3). Both operands are
 * already evaluated (`&&` and `||` do not short-circuit). Never throws.
 */
export function binaryOp(origLeft: Value, op: BinaryOperator, origRight: Value): OpResult {
  let left = origLeft;
  let right = origRight;
  if (left.type === 'capsule' || right.type === 'capsule') [left, right] = unwrapSecrets(left, right);

  if (op === '==') return { value: valuesEqual(left, right) ? TRUE : FALSE };
  if (op === '!=') return { value: valuesEqual(left, right) ? FALSE : TRUE };

  const allowed = BINOP_TYPES[op];
  if (!allowed.includes(left.type)) return { problem: binopTypeProblem(origLeft, left, op, allowed) };
  if (!allowed.includes(right.type)) return { problem: binopTypeProblem(origRight, right, op, allowed) };
  if (left.type !== right.type) return { problem: typeProblem(right, left.type) };

  if (left.type === 'bool' && right.type === 'bool') {
    return { value: boolValue(op === '||' ? left.value || right.value : left.value && right.value) };
  }
  if (left.type === 'string' && right.type === 'string') {
    if (op === '+') return { value: stringValue(left.value + right.value) };
    return { value: boolValue(compare(compareStrings(left.value, right.value), op)) };
  }
  if (left.type === 'capsule') {
    const secret = secretOf(left);
    if (secret === undefined) {
      return {
        problem: valueProblem(origLeft, `could not perform binop ${op} for unknown types lhs capsule rhs capsule`),
      };
    }
    // Go reads a non-secret right-hand capsule as the empty secret.
    return { value: secretValue(secret.reveal() + (secretOf(right)?.reveal() ?? '')) };
  }
  if (left.type === 'number' && right.type === 'number') return numberOp(left, op, right, origRight);
  // Unreachable: every allowed type is handled above.
  return { problem: typeProblem(right, left.type) };
}

function binopTypeProblem(orig: Value, value: Value, op: string, allowed: readonly string[]): ValueProblem {
  return valueProblem(orig, `should be one of [${allowed.join(' ')}] for binop ${op}, got ${typeOf(value)}`, 'type');
}

/** Go's `tryUnwrapCapsules`: a string meeting a secret becomes a secret. */
function unwrapSecrets(left: Value, right: Value): [Value, Value] {
  if (secretOf(left) !== undefined && right.type === 'string') return [left, secretValue(right.value)];
  if (left.type === 'string' && secretOf(right) !== undefined) return [secretValue(left.value), right];
  return [left, right];
}

function compare(order: number, op: BinaryOperator): boolean {
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

function numberOp(left: NumberValue, op: BinaryOperator, right: NumberValue, origRight: Value): OpResult {
  if ((op === '/' || op === '%') && isZero(right)) {
    return { problem: valueProblem(origRight, 'divide by zero error', 'divide-by-zero') };
  }
  const kind = fitKinds(left, right);
  if (kind === 'float') {
    const a = numberToFloat(left);
    const b = numberToFloat(right);
    switch (op) {
      case '+':
        return { value: floatValue(a + b) };
      case '-':
        return { value: floatValue(a - b) };
      case '*':
        return { value: floatValue(a * b) };
      case '/':
        return { value: floatValue(a / b) };
      case '%':
        return { value: floatValue(a % b) };
      case '^':
        return { value: floatValue(goPow(a, b)) };
      default:
        return { value: boolValue(compare(a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN, op)) };
    }
  }
  const convert = kind === 'int' ? numberToInt64 : numberToUint64;
  const make = kind === 'int' ? intValue : uintValue;
  const a = convert(left);
  const b = convert(right);
  switch (op) {
    case '+':
      return { value: make(a + b) };
    case '-':
      return { value: make(a - b) };
    case '*':
      return { value: make(a * b) };
    case '/':
      return { value: make(a / b) };
    case '%':
      return { value: make(a % b) };
    case '^':
      return { value: make(intPow(a, b)) };
    default:
      return { value: boolValue(compare(a < b ? -1 : a > b ? 1 : 0, op)) };
  }
}

function isZero(n: NumberValue): boolean {
  return n.kind === 'float' ? n.value === 0 : n.value === 0n;
}

/**
 * Alloy's integer power: repeated multiplication that wraps at 64 bits, where a negative
 * exponent leaves the base unchanged (`2 ^ -1` = 2). Computed by squaring, which gives the
 * same result modulo 2^64.
 */
function intPow(base: bigint, exponent: bigint): bigint {
  if (exponent === 0n || base === 1n) return 1n;
  if (base === 0n && exponent > 0n) return 0n;
  if (exponent < 0n) return base;
  let result = 1n;
  let b = BigInt.asUintN(64, base);
  let e = exponent;
  while (e > 0n) {
    if ((e & 1n) === 1n) result = BigInt.asUintN(64, result * b);
    b = BigInt.asUintN(64, b * b);
    e >>= 1n;
  }
  return result;
}

/** Go's `math.Pow`, which differs from `Math.pow` for a base of ±1. */
function goPow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

// ---------------------------------------------------------------------------------------------
// Diagnostics

/**
 * Renders a {@link ValueProblem} as Alloy's `makeDiagnostic` does: `<expression><path>
 * <message>`, positioned at the expression. Walking from the outer value to the offending
 * one, each path segment (`[2]`, `.key`) is appended; whenever a value's source expression
 * is known it becomes the expression, and when the previous value's was known too the path
 * starts again from it (so a literal deep inside is quoted on its own). When no value on the
 * path has a known source, `fallback` (if given) stands in for the top-level value, else
 * there is no expression and no position (`-:  should be array, got null`). `prefix` starts
 * the code (`eval/type`, `decode/value`).
 */
export function problemDiagnostic(
  problem: ValueProblem,
  origins: Origins,
  prefix: 'eval' | 'decode',
  fallback?: Expression,
): Diagnostic {
  let node = fallback;
  let path = '';
  let literal = false;
  let p = problem;
  for (;;) {
    if (p.kind === 'path') path += p.segment;
    const origin = origins.get(p.value);
    if (origin !== undefined) {
      if (literal) path = '';
      node = origin;
      literal = true;
    } else {
      literal = false;
    }
    if (p.kind === 'leaf') break;
    p = p.inner;
  }
  const message = `${node === undefined ? '' : printExpression(node)}${path} ${p.message}`;
  return {
    severity: 'error',
    code: `${prefix}/${p.code}`,
    message,
    start: node?.start,
    ...(node === undefined ? {} : { end: node.end }),
  };
}

/**
 * `expr` printed on one line in canonical form (`[1, 2]`, `{a = 1, "b-c" = 2}`, `f(x)[0]`),
 * as error messages quote expressions.
 */
export function printExpression(expr: Expression): string {
  switch (expr.kind) {
    case 'Literal':
      return expr.raw;
    case 'Array':
      return `[${expr.elements.map(printExpression).join(', ')}]`;
    case 'Object':
      // Quoted keys are re-quoted from their raw text, as the formatter does.
      return `{${expr.fields
        .map((f) => `${f.quoted && f.name !== '""' ? goQuote(f.name) : f.name} = ${printExpression(f.value)}`)
        .join(', ')}}`;
    case 'Identifier':
      return expr.name;
    case 'Access':
      return `${printExpression(expr.value)}.${expr.name.name}`;
    case 'Index':
      return `${printExpression(expr.value)}[${printExpression(expr.index)}]`;
    case 'Call':
      return `${printExpression(expr.value)}(${expr.args.map(printExpression).join(', ')})`;
    case 'Paren':
      return `(${printExpression(expr.inner)})`;
    case 'Unary':
      return `${expr.operator}${printExpression(expr.operand)}`;
    case 'Binary':
      return `${printExpression(expr.left)} ${expr.operator} ${printExpression(expr.right)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Traversals

/**
 * A dotted name read by an expression: an identifier followed by an unbroken chain of
 * `.name` accesses, with the byte range it spans.
 */
export interface Traversal {
  readonly names: readonly string[];
  readonly start: Pos;
  readonly end: Pos;
}

/**
 * The traversals of `expr` in source order (alloy-syntax.md §5.2): an index or a call ends a
 * traversal and its index or arguments are searched separately, so
 * `discovery.k.targets[0]["x"]` yields `discovery.k.targets`, and `sys.env("A")` yields
 * `sys.env`. The loader matches each against component IDs (shortest prefix first).
 */
export function findTraversals(expr: Expression): Traversal[] {
  const out: Traversal[] = [];
  collectTraversals(expr, out);
  return out;
}

/** The traversals of every attribute value in `body`, nested blocks included. */
export function findBodyTraversals(body: Body): Traversal[] {
  const out: Traversal[] = [];
  for (const stmt of body) {
    if (stmt.kind === 'Attribute') collectTraversals(stmt.value, out);
    else out.push(...findBodyTraversals(stmt.body));
  }
  return out;
}

function chainOf(expr: Expression): string[] | undefined {
  if (expr.kind === 'Identifier') return [expr.name];
  if (expr.kind !== 'Access') return undefined;
  const base = chainOf(expr.value);
  return base === undefined ? undefined : [...base, expr.name.name];
}

function collectTraversals(expr: Expression, out: Traversal[]): void {
  const names = chainOf(expr);
  if (names !== undefined) {
    out.push({ names, start: expr.start, end: expr.end });
    return;
  }
  switch (expr.kind) {
    case 'Literal':
    case 'Identifier':
      return;
    case 'Array':
      for (const element of expr.elements) collectTraversals(element, out);
      return;
    case 'Object':
      for (const field of expr.fields) collectTraversals(field.value, out);
      return;
    case 'Access':
      collectTraversals(expr.value, out);
      return;
    case 'Index':
      collectTraversals(expr.value, out);
      collectTraversals(expr.index, out);
      return;
    case 'Call':
      collectTraversals(expr.value, out);
      for (const arg of expr.args) collectTraversals(arg, out);
      return;
    case 'Paren':
      collectTraversals(expr.inner, out);
      return;
    case 'Unary':
      collectTraversals(expr.operand, out);
      return;
    case 'Binary':
      collectTraversals(expr.left, out);
      collectTraversals(expr.right, out);
      return;
  }
}
