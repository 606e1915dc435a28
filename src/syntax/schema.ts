/**
 * Typed decoding of block bodies into component arguments (alloy-syntax.md §4.6, STYLE.md §4).
 *
 * A component declares its arguments once, as a schema value built from these combinators,
 * and infers its TypeScript type from it:
 *
 * ```ts
 * const dnsSchema = body({
 *   hostname: attr('hostname', string(), { required: true }),
 *   port: attr('port', string(), { default: '4317' }),
 *   intervalMs: attr('interval', duration(), { default: 5_000 }),
 * });
 * type Dns = Infer<typeof dnsSchema>; // { readonly hostname: string; readonly port: string; … }
 * ```
 *
 * The snake_case names of the language and the camelCase names of TypeScript meet only here.
 * Decoding follows Alloy: a block present in the body starts from its own defaults and an
 * omitted one takes the parent's default (often "absent"); `null` is the type's zero value;
 * numbers convert to strings and whole-string numbers to numbers; durations and byte sizes
 * parse as Go and alecthomas/units do. Every problem is a {@link Diagnostic} with Alloy's
 * message, positioned at the offending statement or value; a missing required attribute or
 * block is positioned at the enclosing block (Alloy gives it no position). Decoding never
 * throws and reports every problem of a body, not only the first.
 *
 * Decoded values are deeply frozen.
 */

import type { AttributeStatement, Body, BlockStatement } from './ast.ts';
import type { Diagnostic } from './diagnostics.ts';
import { evaluate, problemDiagnostic, type Scope } from './evaluate.ts';
import type { Pos } from './source.ts';
import {
  Secret,
  convertElements,
  convertFields,
  convertToBool,
  convertToNumber,
  convertToSecretText,
  convertToString,
  converted,
  goQuote,
  numberToFloat,
  numberToInt64,
  refused,
  secretOf,
  typeProblem,
  valueProblem,
  type Conversion,
  type Value,
} from './value.ts';

// ---------------------------------------------------------------------------------------------
// Value types

/**
 * How an attribute's evaluated value becomes a TypeScript value. `name` is the type as the
 * reference docs write it (`duration`, `list(string)`), for help texts.
 */
export interface ValueType<T> {
  readonly name: string;
  convert(value: Value): Conversion<T>;
}

/** `string`: strings, numbers as decimal text, `null` as `""`; secrets are refused. */
export function string(): ValueType<string> {
  return { name: 'string', convert: convertToString };
}

/** `bool`. */
export function bool(): ValueType<boolean> {
  return { name: 'bool', convert: convertToBool };
}

/** `number` as a float64. */
export function float(): ValueType<number> {
  return {
    name: 'number',
    convert(value) {
      const n = convertToNumber(value);
      return n.ok ? converted(numberToFloat(n.value)) : n;
    },
  };
}

/**
 * `number` as an integer: floats are truncated toward zero (Alloy: `num_consumers = 2.9` is 2).
 * Values outside the safe integer range are refused.
 */
export function int(): ValueType<number> {
  return {
    name: 'number',
    convert(value) {
      const n = convertToNumber(value);
      if (!n.ok) return n;
      const i = numberToInt64(n.value);
      if (i > BigInt(Number.MAX_SAFE_INTEGER) || i < BigInt(Number.MIN_SAFE_INTEGER)) {
        return refused(valueProblem(value, `is out of range (at most ${Number.MAX_SAFE_INTEGER})`));
      }
      return converted(Number(i));
    },
  };
}

/** `secret`: a string or a secret, as a {@link Secret} that never prints. */
export function secret(): ValueType<Secret> {
  return {
    name: 'secret',
    convert(value) {
      const existing = secretOf(value);
      if (existing !== undefined) return converted(existing);
      const text = convertToSecretText(value);
      if (!text.ok) return refused(typeProblem(value, 'string or secret'));
      return converted(new Secret(text.value));
    },
  };
}

/**
 * A "string or secret" attribute (`otelcol.auth.headers` `value`): a plain string stays a
 * string, a secret stays a {@link Secret}.
 */
export function stringOrSecret(): ValueType<string | Secret> {
  return {
    name: 'string or secret',
    convert(value) {
      const existing = secretOf(value);
      if (existing !== undefined) return converted(existing);
      return convertToString(value);
    },
  };
}

/** `duration`: a Go duration string (`"5s"`, `"1m30s"`), in milliseconds (fractions kept). */
export function duration(): ValueType<number> {
  return {
    name: 'duration',
    convert(value) {
      const text = convertToString(value);
      if (!text.ok) return refused(typeProblem(value, 'duration'));
      if (value.type === 'null') return converted(0);
      const parsed = parseGoDuration(text.value);
      return typeof parsed === 'number' ? converted(parsed) : refused(valueProblem(value, parsed));
    },
  };
}

/** A byte size (`"512KiB"`, `"4MiB"`; powers of 1024, alecthomas/units `ParseBase2Bytes`), in bytes. */
export function bytes(): ValueType<number> {
  return {
    name: 'bytes',
    convert(value) {
      const text = convertToString(value);
      if (!text.ok) return refused(typeProblem(value, 'string'));
      if (value.type === 'null') return converted(0);
      const parsed = parseBase2Bytes(text.value);
      return typeof parsed === 'number' ? converted(parsed) : refused(valueProblem(value, parsed));
    },
  };
}

/** `list(T)`: `null` is an empty list; problems name the element (`[2]`). */
export function list<T>(element: ValueType<T>): ValueType<readonly T[]> {
  return {
    name: `list(${element.name})`,
    convert: (value) => convertElements(value, (e) => element.convert(e)),
  };
}

/** `map(T)`: an object; `null` is an empty map; problems name the key. */
export function map<T>(element: ValueType<T>): ValueType<ReadonlyMap<string, T>> {
  return {
    name: `map(${element.name})`,
    convert(value) {
      const fields = convertFields(value, (f) => element.convert(f));
      return fields.ok ? converted(new Map(fields.value)) : fields;
    },
  };
}

/**
 * `capsule(<typeName>)`: a host value exported by a component (a consumer, an auth handler).
 * `isT` checks what the capsule holds; a capsule of another type, or anything else, is
 * refused as Alloy does (`should be capsule("otelcol.Handler"), got …`).
 */
export function capsule<T>(typeName: string, isT: (x: unknown) => x is T): ValueType<T> {
  return {
    name: `capsule(${typeName})`,
    convert(value) {
      if (value.type === 'capsule' && value.typeName === typeName && isT(value.value)) return converted(value.value);
      return refused(typeProblem(value, `capsule(${goQuote(typeName)})`));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Go duration and byte-size parsing

const DURATION_UNITS_NS: ReadonlyMap<string, number> = new Map([
  ['ns', 1],
  ['us', 1e3],
  ['µs', 1e3],
  ['μs', 1e3],
  ['ms', 1e6],
  ['s', 1e9],
  ['m', 60e9],
  ['h', 3600e9],
]);

/**
 * Go's `time.ParseDuration`, in milliseconds; on failure the error text Go gives
 * (`time: unknown unit "d" in duration "1d"`).
 */
export function parseGoDuration(text: string): number | string {
  const invalid = `time: invalid duration ${goQuote(text)}`;
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return invalid;
  let totalNs = 0;
  while (s !== '') {
    const number = /^([0-9]*)(\.([0-9]*))?/.exec(s);
    const whole = number?.[1] ?? '';
    const fraction = number?.[3] ?? '';
    if (whole === '' && fraction === '') return invalid;
    s = s.slice(number?.[0].length ?? 0);
    const unitMatch = /^[^0-9.]*/.exec(s);
    const unit = unitMatch?.[0] ?? '';
    if (unit === '') return `time: missing unit in duration ${goQuote(text)}`;
    const scale = DURATION_UNITS_NS.get(unit);
    if (scale === undefined) return `time: unknown unit ${goQuote(unit)} in duration ${goQuote(text)}`;
    s = s.slice(unit.length);
    totalNs += Number(`${whole === '' ? '0' : whole}.${fraction === '' ? '0' : fraction}`) * scale;
    if (totalNs > 2 ** 63) return invalid;
  }
  const ms = totalNs / 1e6;
  return negative ? -ms : ms;
}

const UNITS_IEC: ReadonlyMap<string, number> = unitMap('iB');
const UNITS_OLD: ReadonlyMap<string, number> = unitMap('B');

function unitMap(suffix: string): ReadonlyMap<string, number> {
  const out = new Map<string, number>([['B', 1]]);
  let scale = 1;
  for (const prefix of ['K', 'M', 'G', 'T', 'P', 'E']) {
    scale *= 1024;
    out.set(`${prefix}${suffix}`, scale);
  }
  return out;
}

/**
 * alecthomas/units `ParseBase2Bytes` (`"512KiB"`, `"4MB"` = 4 MiB, `"1.5MiB"`), in bytes; on
 * failure its error text (`units: unknown unit  in 512`).
 */
export function parseBase2Bytes(text: string): number | string {
  const first = parseUnit(text, UNITS_IEC);
  return typeof first === 'number' ? first : parseUnit(text, UNITS_OLD);
}

function parseUnit(text: string, units: ReadonlyMap<string, number>): number | string {
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return `units: invalid ${text}`;
  let total = 0;
  while (s !== '') {
    const number = /^([0-9]*)(\.([0-9]*))?/.exec(s);
    const whole = number?.[1] ?? '';
    const fraction = number?.[3] ?? '';
    if (whole === '' && fraction === '') return `units: invalid ${text}`;
    s = s.slice(number?.[0].length ?? 0);
    const unit = /^[^0-9.]*/.exec(s)?.[0] ?? '';
    s = s.slice(unit.length);
    const scale = units.get(unit);
    if (scale === undefined) return `units: unknown unit ${unit} in ${text}`;
    total += Number(`${whole === '' ? '0' : whole}.${fraction === '' ? '0' : fraction}`) * scale;
  }
  if (total > 2 ** 63) return 'units: overflow parsing unit';
  return Math.trunc(negative ? -total : total);
}

// ---------------------------------------------------------------------------------------------
// Fields and bodies

/** A problem that a value check or a body validation found, before it gets a position. */
export interface Issue {
  readonly message: string;
  /** Default `error`. */
  readonly severity?: 'error' | 'warning';
  /**
   * The TypeScript name of the field it is about (`hostname`), to position the diagnostic at
   * that field's statement; absent: the enclosing block.
   */
  readonly field?: string;
  /** Stable code; default `decode/validation`. */
  readonly code?: string;
}

interface FieldBase<T> {
  /** The language name (`max_elapsed_time`). */
  readonly name: string;
  /** Decoded value when the body does not mention the field. */
  readonly absent: { readonly kind: 'value'; readonly value: T } | { readonly kind: 'required' };
  /** Problems with an accepted value (enumerations, ranges), positioned at its statement. */
  check(value: T): Issue | string | undefined;
}

/** An attribute field (`name = value`). */
export interface AttrField<T> extends FieldBase<T> {
  readonly kind: 'attr';
  readonly type: ValueType<T>;
}

/** A nested block field (`name { … }`), at most once, or `repeatable`. */
export interface BlockField<T> extends FieldBase<T> {
  readonly kind: 'block';
  readonly repeatable: boolean;
  /** For a repeatable block, `T` is the array of the element schema's type. */
  readonly schema: BodySchema<unknown>;
}

export type Field<T> = AttrField<T> | BlockField<T>;

interface AttrOptions<T> {
  readonly check?: (value: T) => Issue | string | undefined;
}

/**
 * An attribute. With `required: true` it must be written; with `default` an omitted one
 * takes that value; otherwise an omitted one is `undefined`. `check` refuses accepted
 * values with a message of its own (`invalid routing key "x"`), positioned at the value.
 */
export function attr<T>(
  name: string,
  type: ValueType<T>,
  options: (AttrOptions<T> & { readonly required: true }) | (AttrOptions<T> & { readonly default: T }),
): AttrField<T>;
export function attr<T>(name: string, type: ValueType<T>, options?: AttrOptions<T>): AttrField<T | undefined>;
export function attr<T>(
  name: string,
  type: ValueType<T>,
  options: AttrOptions<T> & { readonly required?: boolean; readonly default?: T } = {},
): AttrField<T> | AttrField<T | undefined> {
  const userCheck = options.check;
  const check = (v: T | undefined): Issue | string | undefined =>
    userCheck === undefined || v === undefined ? undefined : userCheck(v);
  if (options.required === true) return { kind: 'attr', name, type, absent: { kind: 'required' }, check };
  if ('default' in options) {
    return { kind: 'attr', name, type, absent: { kind: 'value', value: options.default }, check };
  }
  const optional: ValueType<T | undefined> = type;
  return { kind: 'attr', name, type: optional, absent: { kind: 'value', value: undefined }, check };
}

interface BlockOptions<T> {
  readonly check?: (value: T) => Issue | string | undefined;
}

/**
 * A nested block that may appear once. `required: true`: it must be written; `omitted:
 * 'defaults'`: an omitted block decodes as if written empty (the exporters' queue and retry);
 * `omitted: value`: that value; otherwise an omitted block is `undefined`.
 */
export function block<T>(
  name: string,
  schema: BodySchema<T>,
  options: (BlockOptions<T> & { readonly required: true }) | (BlockOptions<T> & { readonly omitted: 'defaults' }),
): BlockField<T>;
export function block<T, U>(
  name: string,
  schema: BodySchema<T>,
  options: BlockOptions<T | U> & { readonly omitted: { readonly value: U } },
): BlockField<T | U>;
export function block<T>(name: string, schema: BodySchema<T>, options?: BlockOptions<T>): BlockField<T | undefined>;
export function block<T>(
  name: string,
  schema: BodySchema<T>,
  options: BlockOptions<T> & {
    readonly required?: boolean;
    readonly omitted?: 'defaults' | { readonly value: unknown };
  } = {},
): BlockField<unknown> {
  const userCheck = options.check;
  const check = (v: unknown): Issue | string | undefined =>
    userCheck === undefined || v === undefined ? undefined : userCheck(v as T);
  const base = { kind: 'block' as const, name, repeatable: false, schema: schema as BodySchema<unknown>, check };
  if (options.required === true) return { ...base, absent: { kind: 'required' } };
  const omitted = options.omitted;
  if (omitted === 'defaults') {
    const defaults = schema.defaults();
    if (defaults === undefined)
      throw new TypeError(`block ${name}: its schema has required fields, so it has no defaults`);
    return { ...base, absent: { kind: 'value', value: defaults } };
  }
  if (omitted !== undefined) return { ...base, absent: { kind: 'value', value: omitted.value } };
  return { ...base, absent: { kind: 'value', value: undefined } };
}

/** A repeatable block (`header { … }` written any number of times), in source order. */
export function blocks<T>(
  name: string,
  schema: BodySchema<T>,
  options: BlockOptions<readonly T[]> = {},
): BlockField<readonly T[]> {
  return {
    kind: 'block',
    name,
    repeatable: true,
    schema,
    absent: { kind: 'value', value: Object.freeze([]) },
    check: (v) => options.check?.(v),
  };
}

type FieldValue<F> = F extends Field<infer T> ? T : never;

/** The decoded shape of a record of fields. */
export type FieldsValue<F extends Readonly<Record<string, Field<unknown>>>> = {
  readonly [K in keyof F]: FieldValue<F[K]>;
};

/** Where a decoded body came from, for positioning validation problems. */
export interface BodyLocation {
  /** The enclosing block's start (its name). */
  readonly start: Pos | undefined;
  readonly end?: Pos;
  /** Start and end of the statement of each field that was written, by TypeScript name. */
  readonly fields: ReadonlyMap<string, { readonly start: Pos; readonly end: Pos }>;
}

/**
 * A decoder of one block body into `T`. Build with {@link body}; adapt with
 * {@link refine}.
 */
export interface BodySchema<T> {
  /** The decoded value of an empty body, or `undefined` when a field is required. */
  defaults(): T | undefined;
  /**
   * Decodes `statements` (the block body), evaluating attributes against `scope`. Appends
   * every problem to `diagnostics`; returns `undefined` when there was an error.
   * `where` is the enclosing block's range, for problems without a statement of their own.
   */
  decode(
    statements: Body,
    scope: Scope,
    where: Pick<BodyLocation, 'start' | 'end'>,
    diagnostics: Diagnostic[],
  ): T | undefined;
  /** The attribute and block names this body accepts, for help texts and "did you mean". */
  readonly fieldNames: readonly string[];
}

/** The TypeScript type a schema decodes to. */
export type Infer<S> = S extends BodySchema<infer T> ? T : never;

interface BodyOptions<T> {
  /**
   * Cross-field checks (Alloy's `Validate()`), run when every field decoded. Issues with a
   * `field` are positioned at that field's statement (or the block when it was omitted).
   */
  readonly validate?: (value: T) => readonly Issue[];
}

/**
 * A block body made of `fields` (TypeScript name → field). Unknown names, attributes used as
 * blocks and the reverse, repeats and labels are errors with Alloy's messages.
 */
export function body<F extends Readonly<Record<string, Field<unknown>>>>(
  fields: F,
  options: BodyOptions<FieldsValue<F>> = {},
): BodySchema<FieldsValue<F>> {
  const byName = new Map<string, { readonly key: string; readonly field: Field<unknown> }>();
  for (const [key, field] of Object.entries(fields)) {
    if (byName.has(field.name)) throw new TypeError(`schema: field name ${field.name} is declared twice`);
    byName.set(field.name, { key, field });
  }
  const fieldNames = [...byName.keys()];

  const schema: BodySchema<FieldsValue<F>> = {
    fieldNames,
    defaults() {
      const out: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(fields)) {
        if (field.absent.kind === 'required') return undefined;
        out[key] = field.absent.value;
      }
      return deepFreeze(out) as FieldsValue<F>;
    },
    decode(statements, scope, where, diagnostics) {
      const errorsBefore = countErrors(diagnostics);
      const out: Record<string, unknown> = {};
      const seen = new Map<string, { readonly start: Pos; readonly end: Pos }>();
      const repeated = new Map<string, unknown[]>();

      for (const stmt of statements) {
        const name = stmt.kind === 'Attribute' ? stmt.name.name : stmt.name.join('.');
        const entry = byName.get(name);
        if (entry === undefined) {
          diagnostics.push(unknownField(stmt, name, fieldNames));
          continue;
        }
        const { key, field } = entry;
        if (stmt.kind === 'Attribute' && field.kind === 'block') {
          diagnostics.push(at(stmt, `${goQuote(name)} must be a block, but is used as an attribute`, 'decode/kind'));
          continue;
        }
        if (stmt.kind === 'Block' && field.kind === 'attr') {
          diagnostics.push(at(stmt, `${goQuote(name)} must be an attribute, but is used as a block`, 'decode/kind'));
          continue;
        }
        if (stmt.kind === 'Attribute' && field.kind === 'attr') {
          if (seen.has(key)) {
            diagnostics.push(at(stmt, `attribute ${goQuote(name)} may only be provided once`, 'decode/duplicate'));
            continue;
          }
          seen.set(key, { start: stmt.start, end: stmt.end });
          const value = decodeAttribute(stmt, field, scope, diagnostics);
          if (value.ok) out[key] = value.value;
          continue;
        }
        if (stmt.kind === 'Block' && field.kind === 'block') {
          if (stmt.label !== undefined && stmt.label !== '') {
            diagnostics.push(at(stmt, `block ${goQuote(name)} does not support specifying labels`, 'decode/label'));
            continue;
          }
          if (!field.repeatable && seen.has(key)) {
            diagnostics.push(at(stmt, `block ${goQuote(name)} may only be specified once`, 'decode/duplicate'));
            continue;
          }
          if (!seen.has(key)) seen.set(key, { start: stmt.start, end: stmt.end });
          const decoded = field.schema.decode(
            stmt.body,
            scope,
            { start: stmt.nameStart, end: stmt.nameEnd },
            diagnostics,
          );
          if (decoded === undefined) continue;
          if (field.repeatable) {
            const items = repeated.get(key) ?? [];
            items.push(decoded);
            repeated.set(key, items);
          } else if (applyCheck(field, decoded, { start: stmt.nameStart, end: stmt.nameEnd }, diagnostics)) {
            out[key] = decoded;
          }
        }
      }

      for (const [key, items] of repeated) {
        const field = fields[key];
        const frozen = deepFreeze(items);
        if (field !== undefined && applyCheck(field, frozen, seen.get(key) ?? where, diagnostics)) out[key] = frozen;
      }

      for (const [key, field] of Object.entries(fields)) {
        if (seen.has(key)) continue;
        if (field.absent.kind === 'required') {
          diagnostics.push({
            severity: 'error',
            code: field.kind === 'attr' ? 'decode/missing-attribute' : 'decode/missing-block',
            message: `missing required ${field.kind === 'attr' ? 'attribute' : 'block'} ${goQuote(field.name)}`,
            start: where.start,
            ...(where.end === undefined ? {} : { end: where.end }),
          });
        } else {
          out[key] = field.absent.value;
        }
      }

      if (countErrors(diagnostics) > errorsBefore) return undefined;
      const value = deepFreeze(out) as FieldsValue<F>;
      if (options.validate !== undefined) {
        const location: BodyLocation = { ...where, fields: seen };
        for (const issue of options.validate(value)) diagnostics.push(issueDiagnostic(issue, location));
        if (countErrors(diagnostics) > errorsBefore) return undefined;
      }
      return value;
    },
  };
  return schema;
}

/**
 * A schema that decodes as `inner` and then maps the value with `transform`, which may
 * report issues (positioned as {@link body}'s `validate` does) and return `undefined` to
 * fail. Defaults are transformed too (with issues ignored).
 */
export function refine<T, U>(
  inner: BodySchema<T>,
  transform: (value: T, report: (issue: Issue) => void) => U | undefined,
): BodySchema<U> {
  return {
    fieldNames: inner.fieldNames,
    defaults() {
      const d = inner.defaults();
      return d === undefined ? undefined : transform(d, () => undefined);
    },
    decode(statements, scope, where, diagnostics) {
      const value = inner.decode(statements, scope, where, diagnostics);
      if (value === undefined) return undefined;
      const fieldsAt = new Map<string, { start: Pos; end: Pos }>();
      for (const stmt of statements) {
        const name = stmt.kind === 'Attribute' ? stmt.name.name : stmt.name.join('.');
        if (!fieldsAt.has(name)) fieldsAt.set(name, { start: stmt.start, end: stmt.end });
      }
      const state = { failed: false };
      const result = transform(value, (issue) => {
        const location: BodyLocation = { ...where, fields: fieldsAt };
        const d = issueDiagnostic(issue, location);
        if (d.severity === 'error') state.failed = true;
        diagnostics.push(d);
      });
      return state.failed || result === undefined ? undefined : deepFreeze(result);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Decoding helpers

function decodeAttribute<T>(
  stmt: AttributeStatement,
  field: AttrField<T>,
  scope: Scope,
  diagnostics: Diagnostic[],
): Conversion<T> | { readonly ok: false } {
  const evaluation = evaluate(stmt.value, scope);
  if (!evaluation.ok) {
    diagnostics.push(...evaluation.diagnostics);
    return { ok: false };
  }
  const conversion = field.type.convert(evaluation.value);
  if (!conversion.ok) {
    diagnostics.push(problemDiagnostic(conversion.problem, evaluation.origins, 'decode', stmt.value));
    return { ok: false };
  }
  const frozen = deepFreeze(conversion.value);
  if (!applyCheck(field, frozen, { start: stmt.value.start, end: stmt.value.end }, diagnostics)) return { ok: false };
  return converted(frozen);
}

function applyCheck<T>(
  field: Field<T>,
  value: T,
  where: { readonly start: Pos | undefined; readonly end?: Pos | undefined },
  diagnostics: Diagnostic[],
): boolean {
  const found = field.check(value);
  if (found === undefined) return true;
  const issue: Issue = typeof found === 'string' ? { message: found } : found;
  diagnostics.push({
    severity: issue.severity ?? 'error',
    code: issue.code ?? 'decode/value',
    message: issue.message,
    start: where.start,
    ...(where.end === undefined ? {} : { end: where.end }),
  });
  return (issue.severity ?? 'error') !== 'error';
}

function issueDiagnostic(issue: Issue, location: BodyLocation): Diagnostic {
  const at = issue.field === undefined ? undefined : location.fields.get(issue.field);
  const start = at?.start ?? location.start;
  const end = at?.end ?? location.end;
  return {
    severity: issue.severity ?? 'error',
    code: issue.code ?? 'decode/validation',
    message: issue.message,
    start,
    ...(end === undefined ? {} : { end }),
  };
}

function at(stmt: AttributeStatement | BlockStatement, message: string, code: string): Diagnostic {
  const end = stmt.kind === 'Attribute' ? stmt.name.end : stmt.nameEnd;
  return { severity: 'error', code, message, start: stmt.start, end };
}

function unknownField(stmt: AttributeStatement | BlockStatement, name: string, known: readonly string[]): Diagnostic {
  const kind = stmt.kind === 'Attribute' ? 'attribute' : 'block';
  const suggestion = closest(name, known);
  const hint = suggestion === undefined ? '' : ` (did you mean ${goQuote(suggestion)}?)`;
  return at(stmt, `unrecognized ${kind} name ${goQuote(name)}${hint}`, `decode/unknown-${kind}`);
}

/** The known name nearest to `name` by edit distance, if it is near enough to be a typo. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function countErrors(diagnostics: readonly Diagnostic[]): number {
  let n = 0;
  for (const d of diagnostics) if (d.severity === 'error') n++;
  return n;
}

/** Freezes plain objects, arrays and maps recursively; leaves class instances (secrets, handlers) alone. */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) {
    for (const v of value as unknown[]) deepFreeze(v);
    return Object.freeze(value);
  }
  if (value instanceof Map) {
    for (const v of (value as Map<unknown, unknown>).values()) deepFreeze(v);
    return Object.freeze(value);
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
