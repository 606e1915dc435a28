/**
 * Evaluating Alloy expressions in tests: a value shown as source-like text with its number
 * kind (`2`, `2u`, `2.5f`, `secret`), or the failure as `line:col: message`.
 */

import assert from 'node:assert/strict';

import { formatDiagnostic } from '../../src/syntax/diagnostics.ts';
import { evaluate, type Scope } from '../../src/syntax/evaluate.ts';
import { parseExpression } from '../../src/syntax/parser.ts';
import { SourceFile } from '../../src/syntax/source.ts';
import { secretOf, type Value } from '../../src/syntax/value.ts';

/** The value as Alloy source-like text, with number kinds: `2`, `2u`, `2.5f`. */
export function showValue(v: Value): string {
  switch (v.type) {
    case 'null':
      return 'null';
    case 'number':
      return v.kind === 'float' ? `${String(v.value)}f` : `${v.value.toString()}${v.kind === 'uint' ? 'u' : ''}`;
    case 'string':
      return JSON.stringify(v.value);
    case 'bool':
      return String(v.value);
    case 'array':
      return `[${v.elements.map(showValue).join(', ')}]`;
    case 'object':
      return `{${[...v.fields].map(([k, x]) => `${k} = ${showValue(x)}`).join(', ')}}`;
    case 'function':
      return `function ${v.name}`;
    case 'capsule':
      return secretOf(v) === undefined ? `capsule(${v.typeName})` : 'secret';
  }
}

/** Evaluates one expression against `scope`: its value shown, or `line:col: message` of the failure. */
export function evaluateText(text: string, scope: Scope): string {
  const source = SourceFile.fromText('', text);
  const parsed = parseExpression(source);
  assert.ok(parsed.expression, `${text} parses`);
  const result = evaluate(parsed.expression, scope);
  if (result.ok) return showValue(result.value);
  return result.diagnostics.map((d) => formatDiagnostic(d, source)).join('; ');
}
