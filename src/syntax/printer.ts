/**
 * The formatter: prints a parsed file exactly as `alloy fmt` does, byte for byte, quirks
 * included (alloy-fmt.md).
 *
 * It is built the way Alloy's `syntax/printer` is, because the output depends on source
 * positions in ways that only the same structure reproduces:
 *
 * 1. a walker visits the AST and emits tokens and whitespace directives (blank, alignment
 *    point, newline, section break, indent, unindent), each token with its source position
 *    when it has one and an estimated one otherwise;
 * 2. a printer turns that stream into text, placing every comment before the first token
 *    whose (real or estimated) position follows it, and keeping blank lines around comments
 *    as in the source;
 * 3. an elastic tabstop writer (Go's `text/tabwriter`) aligns the cells that the alignment
 *    points delimit, so that consecutive `name = value` lines line up their `=`;
 * 4. a trimmer removes trailing blanks.
 *
 * Comments pass through steps 3 and 4 untouched (they are bracketed by an escape character).
 */

import type {
  ArrayExpression,
  AttributeStatement,
  BlockStatement,
  CallExpression,
  Comment,
  CommentGroup,
  Expression,
  File,
  ObjectExpression,
  Statement,
} from './ast.ts';
import type { Diagnostic } from './diagnostics.ts';
import { parseFile } from './parser.ts';
import { goQuote } from './value.ts';
import { utf8Length, type Pos, type SourceFile } from './source.ts';

/** What {@link formatSource} returns. */
export interface FormatResult {
  /** The formatted file (what `alloy fmt` prints), or `undefined` when the source does not parse. */
  readonly text: string | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Formats a configuration file as `alloy fmt` does: parses it and, if it parses, prints it
 * followed by one newline. Pure and synchronous.
 */
export function formatSource(source: SourceFile): FormatResult {
  const { file, diagnostics } = parseFile(source);
  if (file === undefined) return { text: undefined, diagnostics };
  return { text: `${printFile(file, source)}\n`, diagnostics };
}

/**
 * Prints a parsed file as Alloy's `printer.Fprint` does (without the newline `alloy fmt`
 * adds). `source` must be the file `file` was parsed from: line breaks, blank lines,
 * comments and alignment follow source positions.
 */
export function printFile(file: File, source: SourceFile): string {
  const printer = new Printer(source, file.comments);
  new Walker(printer, source).walkFile(file);
  printer.finish();
  return trim(tabwrite(printer.output()));
}

// ---------------------------------------------------------------------------------------
// Walker: AST → tokens and whitespace directives.

/** Whitespace directives, as in Alloy's printer (the value is the byte it writes). */
const WS = {
  IGNORE: 0,
  BLANK: 0x20,
  VTAB: 0x0b,
  NEWLINE: 0x0a,
  FORMFEED: 0x0c,
  INDENT: 0x3e,
  UNINDENT: 0x3c,
} as const;
type WS = (typeof WS)[keyof typeof WS];

/** Kinds of the last written token that matter: an integer literal before "." needs a space. */
const LAST = { WHITESPACE: 0, NUMBER: 1, DIV: 2, OTHER: 3 } as const;
type LAST = (typeof LAST)[keyof typeof LAST];

class Walker {
  readonly #p: Printer;
  readonly #source: SourceFile;

  constructor(printer: Printer, source: SourceFile) {
    this.#p = printer;
    this.#source = source;
  }

  #line(offset: Pos): number {
    return this.#source.line(offset);
  }

  /** Line of a node's last character (Alloy's `EndPos`). */
  #endLine(node: { readonly end: Pos }): number {
    return this.#source.line(node.end - 1);
  }

  #nodeLines(node: { readonly start: Pos; readonly end: Pos }): number {
    return this.#endLine(node) - this.#line(node.start) + 1;
  }

  walkFile(file: File): void {
    this.#walkStatements(file.body);
  }

  #walkStatements(statements: readonly Statement[]): void {
    const p = this.#p;
    let prev: Statement | undefined;
    for (const s of statements) {
      if (prev !== undefined) {
        // Blocks are always preceded by a blank line; other statements keep one from the source.
        if (s.kind === 'Block' || this.#line(s.start) - this.#endLine(prev) > 1) p.ws(WS.FORMFEED);
      }
      if (s.kind === 'Attribute') this.#walkAttribute(s);
      else this.#walkBlock(s);
      // A statement over several lines ends the alignment section.
      p.ws(this.#nodeLines(s) > 1 ? WS.FORMFEED : WS.NEWLINE);
      prev = s;
    }
  }

  #walkAttribute(s: AttributeStatement): void {
    const p = this.#p;
    p.at(s.name.start);
    p.text(s.name.name, LAST.OTHER);
    p.ws(WS.VTAB);
    p.token('=');
    p.ws(WS.BLANK);
    this.#walkExpression(s.value);
  }

  #walkBlock(s: BlockStatement): void {
    const p = this.#p;
    p.at(s.nameStart);
    p.text(s.name.join('.'), LAST.OTHER);
    if (s.label !== undefined && s.label !== '' && s.labelStart !== undefined) {
      p.ws(WS.BLANK);
      p.at(s.labelStart);
      p.text(goQuote(s.label), LAST.OTHER);
    }
    p.ws(WS.BLANK);
    p.at(s.lCurly);
    p.token('{');
    p.ws(WS.INDENT);
    if (s.body.length > 0) {
      p.ws(WS.FORMFEED);
      this.#walkStatements(s.body);
    } else {
      p.ws(WS.BLANK);
    }
    p.ws(WS.UNINDENT);
    p.at(s.rCurly);
    p.token('}');
  }

  #walkExpression(e: Expression): void {
    const p = this.#p;
    switch (e.kind) {
      case 'Literal':
        p.at(e.start);
        p.text(e.raw, e.token === 'NUMBER' ? LAST.NUMBER : LAST.OTHER);
        break;
      case 'Identifier':
        p.at(e.start);
        p.text(e.name, LAST.OTHER);
        break;
      case 'Array':
        this.#walkArray(e);
        break;
      case 'Object':
        this.#walkObject(e);
        break;
      case 'Access':
        this.#walkExpression(e.value);
        p.token('.');
        p.text(e.name.name, LAST.OTHER); // No position: the name's is estimated.
        break;
      case 'Index':
        this.#walkExpression(e.value);
        p.at(e.lBrack);
        p.token('[');
        this.#walkExpression(e.index);
        p.at(e.rBrack);
        p.token(']');
        break;
      case 'Call':
        this.#walkCall(e);
        break;
      case 'Unary':
        p.at(e.start);
        p.token(e.operator);
        this.#walkExpression(e.operand);
        break;
      case 'Binary':
        this.#walkExpression(e.left);
        p.ws(WS.BLANK);
        p.at(e.operatorPos);
        p.token(e.operator);
        p.ws(WS.BLANK);
        this.#walkExpression(e.right);
        break;
      case 'Paren':
        // Alloy writes parentheses without their positions.
        p.token('(');
        this.#walkExpression(e.inner);
        p.token(')');
        break;
    }
  }

  #walkArray(e: ArrayExpression): void {
    const p = this.#p;
    p.at(e.lBrack);
    p.token('[');
    let prevLine = this.#line(e.lBrack);
    e.elements.forEach((element, i) => {
      let isOwnLine = false;
      if (this.#line(element.start) !== prevLine) {
        // Indent before the newline, so that comments before the element are indented too.
        p.ws(WS.INDENT);
        p.ws(WS.FORMFEED);
        isOwnLine = true;
      } else if (i > 0) {
        p.ws(WS.BLANK);
      }
      prevLine = this.#endLine(element);
      this.#walkExpression(element);
      if (i + 1 < e.elements.length) p.token(',');
      if (isOwnLine) p.ws(WS.UNINDENT);
    });
    if (e.elements.length > 0 && this.#line(e.rBrack) !== prevLine) {
      p.token(',');
      p.ws(WS.INDENT);
      p.ws(WS.FORMFEED);
      p.ws(WS.UNINDENT);
    }
    p.at(e.rBrack);
    p.token(']');
  }

  #walkObject(e: ObjectExpression): void {
    const p = this.#p;
    const bytes = this.#source.bytes;
    p.at(e.lCurly);
    p.token('{');
    p.ws(WS.INDENT);
    let prevLine = this.#line(e.lCurly);
    e.fields.forEach((field, i) => {
      if (this.#line(field.start) !== prevLine) {
        // Fields keep aligning with the previous one if its value took one line.
        const before = e.fields[i - 1];
        p.ws(before !== undefined && this.#nodeLines(before.value) === 1 ? WS.NEWLINE : WS.FORMFEED);
      } else if (i > 0) {
        p.ws(WS.BLANK);
      }
      // Alloy's end of the key is its start plus the length of the key's text (quotes stripped).
      prevLine = this.#line(field.start + utf8Length(field.name) - 1);
      p.at(field.start);
      // A quoted key is re-quoted with Go's %q; `""` (a two-byte key token) stays as it is.
      const isRequoted = field.quoted && bytes[field.start + 1] !== bytes[field.start];
      p.text(isRequoted ? goQuote(field.name) : field.name, LAST.OTHER);
      p.ws(WS.VTAB);
      p.token('=');
      p.ws(WS.BLANK);
      this.#walkExpression(field.value);
      if (i + 1 < e.fields.length) p.token(',');
    });
    if (e.fields.length > 0 && this.#line(e.rCurly) !== prevLine) {
      p.token(',');
      p.ws(WS.FORMFEED);
    }
    p.ws(WS.UNINDENT);
    p.at(e.rCurly);
    p.token('}');
  }

  #walkCall(e: CallExpression): void {
    const p = this.#p;
    this.#walkExpression(e.value);
    p.token('(');
    let prevLine = this.#line(e.lParen);
    e.args.forEach((arg, i) => {
      let isOwnLine = false;
      if (this.#line(arg.start) !== prevLine) {
        p.ws(WS.FORMFEED);
        p.ws(WS.INDENT);
        isOwnLine = true;
      }
      this.#walkExpression(arg);
      prevLine = this.#endLine(arg);
      if (i + 1 < e.args.length) {
        p.token(',');
        p.ws(WS.BLANK);
      }
      if (isOwnLine) p.ws(WS.UNINDENT);
    });
    // Also with no arguments: `f(\n)` prints `f(,\n)` (an Alloy quirk).
    if (this.#line(e.rParen) !== prevLine) {
      p.token(',');
      p.ws(WS.FORMFEED);
    }
    p.token(')');
  }
}

// ---------------------------------------------------------------------------------------
// Printer: tokens, whitespace and comments → text for the tabwriter.

/** Marks the start and end of text the tabwriter and trimmer must pass through (a comment). */
const ESCAPE = '\ud800'; // A lone surrogate: never in text decoded from UTF-8.
const ESCAPE_CODE = 0xd800;

/** Most whitespace directives that may wait for the next token (Alloy's buffer size). */
const MAX_PENDING_WS = 16;

/** Most newlines written in a row: at most one blank line survives. */
const MAX_NEWLINES = 2;

class Printer {
  readonly #source: SourceFile;
  readonly #chunks: string[] = [];
  #isEmpty = true;
  #indent = 0;
  #last: LAST = LAST.WHITESPACE;
  /** Whitespace directives waiting for the next token. */
  #ws: WS[] = [];

  /** Source position assumed for the next token: set by at(), else estimated. */
  #posOffset = 0;
  #posLine = 1;
  /** Source line just after the last written text (0: nothing written yet). */
  #lastLine = 0;
  /** Output column (1 at the start of a line; only "is it 1" matters). */
  #column = 1;

  readonly #groups: readonly CommentGroup[];
  #groupIndex = 0;
  #group: CommentGroup | undefined;

  constructor(source: SourceFile, comments: readonly CommentGroup[]) {
    this.#source = source;
    this.#groups = comments;
    this.#nextGroup();
  }

  output(): string {
    return this.#chunks.join('');
  }

  #nextGroup(): void {
    for (;;) {
      const group = this.#groups[this.#groupIndex];
      this.#groupIndex++;
      if (group === undefined) {
        this.#group = undefined;
        return;
      }
      if (group.comments.length > 0) {
        this.#group = group;
        return;
      }
    }
  }

  #isCommentBefore(offset: number): boolean {
    return this.#group !== undefined && this.#group.start <= offset;
  }

  /** Queues a whitespace directive until the next token. */
  ws(w: WS): void {
    if (this.#ws.length === MAX_PENDING_WS) this.#writeWhitespace(this.#ws.length);
    this.#ws.push(w);
    this.#last = LAST.WHITESPACE;
  }

  /** The next token's source position. */
  at(offset: Pos): void {
    this.#posOffset = offset;
    this.#posLine = this.#source.line(offset);
  }

  /** Writes an operator or punctuation token. */
  token(text: string): void {
    // "1" followed by "." must stay apart, or it would read back as the float "1.".
    if (this.#last === LAST.NUMBER && text.startsWith('.')) this.#ws = [WS.BLANK];
    this.#write(text, text === '/' ? LAST.DIV : LAST.OTHER);
  }

  /** Writes an identifier or literal. */
  text(text: string, kind: LAST): void {
    this.#write(text, kind);
  }

  #write(text: string, kind: LAST): void {
    this.#last = kind;
    const offset = this.#posOffset;
    const line = this.#posLine;
    this.#flush(offset, line, false);
    this.#writeString(offset, line, text, false);
  }

  /** Writes the comments left at the end of the file; pending whitespace is dropped. */
  finish(): void {
    this.#flush(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true);
  }

  /** Writes the comments due before a token at `offset`, or else the pending whitespace. */
  #flush(offset: number, line: number, isEof: boolean): void {
    if (this.#isCommentBefore(offset)) this.#injectComments(offset, line, isEof);
    else if (!isEof) this.#writeWhitespace(this.#ws.length);
  }

  #injectComments(offset: number, line: number, isEof: boolean): void {
    let last: Comment | undefined;
    while (this.#group !== undefined && this.#group.start <= offset) {
      for (const c of this.#group.comments) {
        this.#writeCommentPrefix(line, c);
        this.#writeString(c.start, this.#source.line(c.start), c.text, true);
        last = c;
      }
      this.#nextGroup();
    }
    if (!isEof && last !== undefined) this.#writeCommentSuffix(line, last);
  }

  #writeCommentPrefix(nextLine: number, c: Comment): void {
    if (this.#isEmpty) return;
    const line = this.#source.line(c.start);
    if (line === this.#lastLine) {
      // After a token on the same line: a tab (an alignment cell), or a space when the
      // comment is followed by more code on its line.
      this.#writeByte(line === nextLine ? ' ' : '\t', 1);
      return;
    }
    // Apply pending indentation up to the first other directive, which becomes a no-op.
    const ws = this.#ws;
    let count = 0;
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i];
      if (w === WS.INDENT || w === WS.UNINDENT) continue;
      if (w !== WS.IGNORE) ws[i] = WS.IGNORE;
      count = i;
      break;
    }
    this.#writeWhitespace(count);
    const newlines = this.#lastLine > 0 ? line - this.#lastLine : 0;
    if (newlines > 0) this.#writeByte('\f', Math.min(newlines, MAX_NEWLINES));
  }

  #writeCommentSuffix(nextLine: number, last: Comment): void {
    // Alloy's end of a comment counts the bytes of its text, carriage returns removed.
    const endLine = this.#source.line(last.start + utf8Length(last.text) - 1);
    if (last.text.charCodeAt(1) === 0x2a && nextLine === endLine) this.#writeByte(' ', 1);
    const newlines = nextLine - this.#lastLine;
    let droppedFormfeed = false;
    const ws = this.#ws;
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i];
      if (w === WS.INDENT || w === WS.UNINDENT) continue;
      if (w === WS.FORMFEED) droppedFormfeed = true;
      ws[i] = WS.IGNORE;
    }
    this.#writeWhitespace(ws.length);
    if (newlines > 0) this.#writeByte(droppedFormfeed ? '\f' : '\n', Math.min(newlines, MAX_NEWLINES));
  }

  #writeString(offset: number, line: number, text: string, isComment: boolean): void {
    if (this.#column === 1) this.#writeIndent();
    this.#chunks.push(isComment ? ESCAPE + text + ESCAPE : text);
    this.#isEmpty = false;
    let newlines = 0;
    let lastNewline = -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x0a || c === 0x0c) {
        newlines++;
        lastNewline = i;
      }
    }
    const length = utf8Length(text);
    this.#posOffset = offset + length;
    this.#posLine = line + newlines;
    if (newlines > 0) this.#column = length - utf8Length(text.slice(0, lastNewline));
    else this.#column += length;
    this.#lastLine = this.#posLine;
  }

  #writeIndent(): void {
    if (this.#indent === 0) return;
    this.#chunks.push('\t'.repeat(this.#indent));
    this.#isEmpty = false;
    this.#column += this.#indent;
  }

  #writeByte(ch: string, n: number): void {
    if (this.#column === 1) this.#writeIndent();
    this.#chunks.push(n === 1 ? ch : ch.repeat(n));
    this.#isEmpty = false;
    if (ch === '\n' || ch === '\f') this.#column = 1;
    else this.#column += n;
  }

  /** Applies and removes the first `n` pending whitespace directives. */
  #writeWhitespace(n: number): void {
    const ws = this.#ws;
    for (let i = 0; i < n; i++) {
      const w = ws[i];
      if (w === WS.INDENT) this.#indent++;
      else if (w === WS.UNINDENT) this.#indent = Math.max(0, this.#indent - 1);
      else if (w !== undefined && w !== WS.IGNORE) this.#writeByte(String.fromCharCode(w), 1);
    }
    ws.splice(0, n);
  }
}

// ---------------------------------------------------------------------------------------
// Tabwriter: Go's text/tabwriter with minwidth 0, tabwidth 8, padding 1, padchar ' ',
// DiscardEmptyColumns | TabIndent; text between ESCAPE characters is one unbreakable run.

interface Cell {
  readonly start: number;
  readonly end: number;
  /** Width in code points, ESCAPE characters excluded. */
  readonly width: number;
  /** Ended by a TAB (a "hard" tab), not a VTAB. */
  readonly isHtab: boolean;
}

const TAB_WIDTH = 8;
const PADDING = 1;

function tabwrite(input: string): string {
  const out: string[] = [];
  let lines: Cell[][] = [[]];
  let cellStart = 0;
  let width = 0;
  let inEscape = false;

  const flush = (): void => {
    // The current cell is empty here: every flush follows a line break.
    formatLines(input, lines, out);
    lines = [[]];
  };

  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c === ESCAPE_CODE) {
      inEscape = !inEscape;
      continue;
    }
    if (inEscape || (c !== 0x09 && c !== 0x0b && c !== 0x0a && c !== 0x0c)) {
      if (c < 0xdc00 || c > 0xdfff) width++; // Count code points: skip low surrogates.
      continue;
    }
    const line = lines[lines.length - 1] ?? [];
    line.push({ start: cellStart, end: i, width, isHtab: c === 0x09 });
    cellStart = i + 1;
    width = 0;
    if (c === 0x0a || c === 0x0c) {
      const cellCount = line.length;
      lines.push([]);
      // A formfeed ends the section; a line of one cell cannot affect later lines.
      if (c === 0x0c || cellCount === 1) flush();
    }
  }
  if (cellStart < input.length) {
    lines[lines.length - 1]?.push({ start: cellStart, end: input.length, width, isHtab: false });
  }
  flush();
  return out.join('');
}

function formatLines(input: string, lines: readonly Cell[][], out: string[]): void {
  const widths: number[] = [];

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i] ?? [];
      let useTabs = true; // Leading empty cells are indentation: tabs.
      line.forEach((c, j) => {
        const w = widths[j];
        if (c.end === c.start) {
          if (w !== undefined) out.push(padding(c.width, w, useTabs));
        } else {
          useTabs = false;
          out.push(input.slice(c.start, c.end));
          if (w !== undefined) out.push(padding(c.width, w, false));
        }
      });
      if (i + 1 < lines.length) out.push('\n');
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    let start = line0;
    for (let row = line0; row < line1; row++) {
      if (column >= (lines[row]?.length ?? 0) - 1) continue;
      // A block of consecutive lines that all have a cell in this column.
      writeLines(start, row);
      start = row;
      let w = 0;
      let isDiscardable = true;
      for (; row < line1; row++) {
        const line = lines[row] ?? [];
        if (column >= line.length - 1) break;
        const c = line[column];
        if (c === undefined) break;
        w = Math.max(w, c.width + PADDING);
        if (c.width > 0 || c.isHtab) isDiscardable = false;
      }
      widths.push(isDiscardable ? 0 : w);
      format(start, row);
      widths.pop();
      start = row;
    }
    writeLines(start, line1);
  };

  format(0, lines.length);
}

function padding(textWidth: number, cellWidth: number, useTabs: boolean): string {
  if (useTabs) {
    const rounded = Math.ceil(cellWidth / TAB_WIDTH) * TAB_WIDTH;
    return '\t'.repeat(Math.ceil((rounded - textWidth) / TAB_WIDTH));
  }
  return ' '.repeat(cellWidth - textWidth);
}

// ---------------------------------------------------------------------------------------
// Trimmer: drops ESCAPE characters and blanks at the end of lines, outside escaped text.

function trim(text: string): string {
  let out = '';
  let pendingStart = -1; // Start of a run of spaces and tabs not yet written.
  let runStart = 0; // Start of text not yet written.
  let inEscape = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inEscape) {
      if (c === ESCAPE_CODE) {
        out += text.slice(runStart, i);
        runStart = i + 1;
        inEscape = false;
      }
      continue;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0b) {
      if (pendingStart < 0) {
        out += text.slice(runStart, i);
        pendingStart = i;
      }
      continue;
    }
    if (c === 0x0a || c === 0x0c) {
      if (pendingStart < 0) out += text.slice(runStart, i);
      out += '\n';
      pendingStart = -1;
      runStart = i + 1;
      continue;
    }
    if (pendingStart >= 0) {
      out += text.slice(pendingStart, i).replaceAll('\v', '\t');
      pendingStart = -1;
      runStart = i;
    }
    if (c === ESCAPE_CODE) {
      out += text.slice(runStart, i);
      runStart = i + 1;
      inEscape = true;
    }
  }
  if (inEscape || pendingStart < 0) out += text.slice(runStart);
  return out;
}
