/**
 * Diagnostics: what the scanner, parser, evaluator, decoder and loader report about a
 * configuration. Bad config is data, not an exception (STYLE.md §3): every stage returns
 * all of its diagnostics and the CLI decides whether to exit.
 */

import { decodeRune, runeWidth, type Pos, type Position, type SourceFile } from './source.ts';

/** How bad a diagnostic is. Any `error` rejects the file. */
export type Severity = 'error' | 'warning';

/**
 * One finding about a configuration file.
 *
 * `code` is stable and meant for programs (`parse/expected-token`, `decode/missing-attribute`,
 * `graph/cycle`…); `message` is Alloy's wording, for people.
 */
export interface Diagnostic {
  readonly severity: Severity;
  readonly code: string;
  readonly message: string;
  /** Byte offset where the problem starts; `undefined` when it has no position. */
  readonly start: Pos | undefined;
  /** Byte offset where it ends (exclusive), when known. */
  readonly end?: Pos;
}

/**
 * Stable codes of the scanner's and parser's diagnostics. Messages are Alloy's, word for
 * word; programs branch on these codes.
 */
export const ParseCode = {
  /** `expected X, got Y`, `missing ',' in expression list`, `expected expression, got ,` … */
  EXPECTED_TOKEN: 'parse/expected-token',
  /** A character that cannot start a token, a NUL, a misplaced BOM, invalid UTF-8, a lone `&`/`|`. */
  ILLEGAL_CHARACTER: 'parse/illegal-character',
  /** `'x'`: Alloy has no single-quoted strings. */
  SINGLE_QUOTED_STRING: 'parse/single-quoted-string',
  /** A string without its closing quote (or with a raw newline inside `"…"`). */
  UNTERMINATED_STRING: 'parse/unterminated-string',
  /** A `/*` comment without its `*\/`. */
  UNTERMINATED_COMMENT: 'parse/unterminated-comment',
  /** An unknown or malformed escape sequence in a string. */
  INVALID_ESCAPE: 'parse/invalid-escape',
  /** A malformed number (`1e`). */
  INVALID_NUMBER: 'parse/invalid-number',
  /** A block label that is not a double-quoted identifier. */
  INVALID_LABEL: 'parse/invalid-label',
  /** `a.b = 1` or `a "x" = 1`: attribute names are single identifiers without a label. */
  INVALID_ATTRIBUTE_NAME: 'parse/invalid-attribute-name',
  /** `x = foo "bar" { … }`: a block where an expression belongs. */
  BLOCK_AS_EXPRESSION: 'parse/block-as-expression',
  /** Blocks or expressions nested deeper than the parser's limit (`MAX_NESTING`, 500 levels). */
  TOO_DEEP: 'parse/too-deep',
} as const;
export type ParseCode = (typeof ParseCode)[keyof typeof ParseCode];

/** Go's `token.Position.String()`: `file:line:col`, `line:col` without a file name, `-` without a position. */
function positionText(position: Position | undefined): string {
  if (position === undefined) return '-';
  const at = `${position.line}:${position.column}`;
  return position.file === '' ? at : `${position.file}:${at}`;
}

function startPosition(d: Diagnostic, source: SourceFile): Position | undefined {
  return d.start === undefined ? undefined : source.position(d.start);
}

/**
 * One diagnostic on one line, as Alloy prints it: `file:line:col: message` (the column counts
 * UTF-8 bytes), `line:col: message` when the source has no name, `-: message` when the
 * diagnostic has no position. `source` is the file the diagnostic's offsets refer to.
 */
export function formatDiagnostic(diagnostic: Diagnostic, source: SourceFile): string {
  return `${positionText(startPosition(diagnostic, source))}: ${diagnostic.message}`;
}

/**
 * A list of diagnostics as one line, the way Alloy's `diag.Diagnostics` reads as a Go error:
 * the first one plus `(and N more diagnostics)`; `no errors` for an empty list.
 */
export function formatDiagnosticList(diagnostics: readonly Diagnostic[], source: SourceFile): string {
  const [first] = diagnostics;
  if (first === undefined) return 'no errors';
  const head = formatDiagnostic(first, source);
  return diagnostics.length === 1 ? head : `${head} (and ${diagnostics.length - 1} more diagnostics)`;
}

/** Columns a tab takes in the pretty form. */
const TAB_WIDTH = 4;

/**
 * Every diagnostic in the pretty form `alloy run` prints (alloy-syntax.md §7), without colour:
 * a header `Error: file:line:col: message`, a blank line, the offending line with one line of
 * context before and after (numbered, tabs shown as 4 spaces, `\r` dropped) and a line of `^`
 * under the start..end columns; a range over several lines is drawn with `_` and `|` rails.
 * Diagnostics are separated by a blank line; the text ends with a newline. A diagnostic without
 * a position gets its header only.
 */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], source: SourceFile): string {
  let out = '';
  diagnostics.forEach((d, i) => {
    out += `${d.severity === 'error' ? 'Error' : 'Warning'}: ${formatDiagnostic(d, source)}\n`;
    if (d.start !== undefined) {
      const start = source.position(d.start);
      // The end is exclusive in a Diagnostic and inclusive in the drawing.
      const end = d.end === undefined || d.end <= d.start ? start : source.position(d.end - 1);
      out += formatRange(source, start, end);
    }
    if (i + 1 < diagnostics.length) out += '\n';
  });
  return out;
}

/** One character of a line: its 1-based byte column and code point (U+FFFD for a bad byte). */
function* lineRunes(bytes: Uint8Array, from: number, to: number): Generator<[column: number, cp: number]> {
  for (let i = from; i < to;) {
    const cp = decodeRune(bytes, i);
    const width = cp < 0 ? 1 : Math.min(runeWidth(cp), to - i);
    yield [i - from + 1, cp < 0 ? 0xfffd : cp];
    i += width;
  }
}

function inRange(line: number, column: number, start: Position, end: Position): boolean {
  if (line < start.line || line > end.line) return false;
  if (line === start.line) return column >= start.column;
  if (line === end.line) return column <= end.column;
  return true;
}

function formatRange(source: SourceFile, start: Position, end: Position): string {
  const bytes = source.bytes;
  const firstLine = Math.max(start.line - 1, 1);
  const lastLine = Math.min(end.line + 1, source.lineCount);
  const isMultiline = end.line > start.line;
  const width = String(lastLine).length;
  let out = '\n';
  for (let line = firstLine; line <= lastLine; line++) {
    const from = source.lineStarts[line - 1] ?? bytes.length;
    const next = source.lineStarts[line];
    const to = next === undefined ? bytes.length : next - 1;
    out += `${String(line).padStart(width)} | `;
    if (isMultiline) out += inRange(line, 0, start, end) ? '| ' : '  ';
    for (const [, cp] of lineRunes(bytes, from, to)) {
      if (cp === 0x0d) continue;
      out += cp === 0x09 || cp === 0x0b ? ' '.repeat(TAB_WIDTH) : String.fromCodePoint(cp);
    }
    out += '\n';
    if (line === start.line || (isMultiline && line === end.line)) {
      out += ' '.repeat(width);
      if (isMultiline) out += line === start.line ? ' |  _' : ' | |_';
      else out += ' | ';
      const blank = isMultiline ? '_' : ' ';
      for (const [column, cp] of lineRunes(bytes, from, to)) {
        if (line === end.line && column > end.column) break;
        if (cp === 0x09 || cp === 0x0b) out += blank.repeat(TAB_WIDTH);
        else out += inRange(line, column, start, end) ? '^' : blank;
      }
      out += '\n';
    }
  }
  return out;
}
