/**
 * The scanner: UTF-8 bytes in, {@link Token}s out, as Alloy's `syntax/scanner` does it,
 * including every diagnostic it reports and where.
 *
 * Lexical grammar (alloy-syntax.md §2):
 *
 *     letter        = Unicode letter (category L) | "_" .
 *     digit         = "0" … "9" .
 *     unicode_digit = digit | Unicode decimal digit (category Nd) .
 *     digits        = digit { digit } .
 *     whitespace    = " " | "\t" | "\r" | "\n" (unless it is a TERMINATOR) .
 *
 *     COMMENT       = "//" { any but "\n" } | "/*" { any } "*\/" .
 *     IDENT         = letter { letter | unicode_digit } .      (not true, false or null)
 *     BOOL          = "true" | "false" .
 *     NULL          = "null" .
 *     NUMBER        = digits .
 *     FLOAT         = ( digits "." [ digits ] | "." digits ) [ exponent ] | digits exponent .
 *     exponent      = ( "e" | "E" ) [ "+" | "-" ] digits .
 *     STRING        = '"' { any but '"', "\\" or "\n" | escape } '"' | "`" { any but "`" } "`" .
 *     escape        = "\\" ( "a" | "b" | "f" | "n" | "r" | "t" | "v" | "\\" | '"'
 *                          | octal octal octal | "x" hex hex | "u" hex*4 | "U" hex*8 ) .
 *     operator      = "||" | "&&" | "!" | "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-"
 *                   | "*" | "/" | "%" | "^" | "{" | "}" | "(" | ")" | "[" | "]" | "," | "." .
 *     TERMINATOR    = "\n" | EOF | the start of a comment that reaches the end of its line,
 *                     when the previous token is IDENT, NUMBER, FLOAT, STRING, BOOL, NULL,
 *                     ")", "]" or "}" (§2.8) .
 *
 * A leading byte-order mark is skipped (its bytes still count towards the columns of line 1).
 * Errors go to the handler given to the constructor and scanning carries on, returning the
 * most plausible token (a lone `&` is still `&&`), so that the parser can report more.
 *
 * Performance: the scanner works on the bytes; identifiers, numbers and whitespace are read
 * without building strings. Token text is only materialised when the parser asks for it.
 */

import { ParseCode } from './diagnostics.ts';
import { decodeRune, runeWidth, type Pos, type SourceFile } from './source.ts';
import { Token } from './token.ts';

/** Receives each lexical error: where (byte offset), the message and its stable code. */
export type ScanErrorHandler = (offset: Pos, message: string, code: ParseCode) => void;

/** Options of a {@link Scanner}. */
export interface ScannerOptions {
  /** Return comments as {@link Token.COMMENT} tokens instead of skipping them. Default false. */
  readonly includeComments?: boolean;
}

const EOF = -1;
const BOM = 0xfeff;

const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const SPACE = 0x20;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const BACKQUOTE = 0x60;
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const STAR = 0x2a;
const DOT = 0x2e;
const EQUALS = 0x3d;

const LETTER = /^\p{L}$/u;
const DECIMAL_DIGIT = /^\p{Nd}$/u;
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function isDecimal(ch: number): boolean {
  return ch >= 0x30 && ch <= 0x39;
}

/** Alloy's `isLetter`: ASCII letters, `_`, and any Unicode letter. */
export function isLetter(ch: number): boolean {
  const lower = ch | 0x20;
  if (lower >= 0x61 && lower <= 0x7a) return ch < 0x80;
  if (ch === 0x5f) return true;
  return ch >= 0x80 && LETTER.test(String.fromCodePoint(ch));
}

/** Alloy's `isDigit`: ASCII digits and any Unicode decimal digit. */
export function isDigit(ch: number): boolean {
  return isDecimal(ch) || (ch >= 0x80 && DECIMAL_DIGIT.test(String.fromCodePoint(ch)));
}

/** Whether Go's `strconv.IsPrint` holds: letters, marks, numbers, punctuation, symbols and ASCII space. */
export function isPrintable(ch: number): boolean {
  return ch >= 0 && ch <= 0x10ffff && PRINTABLE.test(String.fromCodePoint(ch));
}

/** Go's `%#U`: `U+003B ';'`, or `U+00A0` for a character that is not printable. */
export function formatCodePoint(ch: number): string {
  const hex = `U+${ch.toString(16).toUpperCase().padStart(4, '0')}`;
  return isPrintable(ch) ? `${hex} '${String.fromCodePoint(ch)}'` : hex;
}

/**
 * True when `text` is exactly one identifier (what a block label must be): a letter first,
 * then letters and digits, and not `true`, `false` or `null`.
 */
export function isValidIdentifier(text: string): boolean {
  if (text === '' || text === 'true' || text === 'false' || text === 'null') return false;
  let first = true;
  for (const c of text) {
    const cp = c.codePointAt(0) ?? 0;
    if (first ? !isLetter(cp) : !isLetter(cp) && !isDigit(cp)) return false;
    first = false;
  }
  return true;
}

function digitValue(ch: number): number {
  if (isDecimal(ch)) return ch - 0x30;
  const lower = ch | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return 16;
}

/**
 * Tokenizer over one {@link SourceFile}. Call {@link scan} until it returns {@link Token.EOF};
 * after each call {@link pos} and {@link end} give the token's byte range and
 * {@link text} its source text. Not safe for concurrent use (it is a cursor).
 */
export class Scanner {
  readonly #source: SourceFile;
  readonly #bytes: Uint8Array;
  readonly #size: number;
  readonly #onError: ScanErrorHandler;
  readonly #includeComments: boolean;

  /** Current character (a code point, U+FFFD for invalid UTF-8, or EOF). */
  #ch = EOF;
  /** Byte offset of `#ch`. */
  #offset = 0;
  /** Byte offset just after `#ch`. */
  #readOffset = 0;
  /** Whether the next newline (or EOF) is a TERMINATOR. */
  #insertTerm = false;
  /** Carriage returns in the last comment (they are dropped from its text). */
  #commentCRs = 0;
  #commentIsBlock = false;
  #token: Token = Token.EOF;
  #errorCount = 0;

  /** Byte offset where the last token starts. */
  pos: Pos = 0;
  /** Byte offset just after the last token's text (equal to `pos` for TERMINATOR and EOF). */
  end: Pos = 0;

  constructor(source: SourceFile, onError: ScanErrorHandler, options: ScannerOptions = {}) {
    this.#source = source;
    this.#bytes = source.bytes;
    this.#size = source.bytes.length;
    this.#onError = onError;
    this.#includeComments = options.includeComments ?? false;
    this.#next();
    if (this.#ch === BOM) this.#next();
  }

  /** Number of errors reported so far. */
  get errorCount(): number {
    return this.#errorCount;
  }

  /**
   * The last token's text: an identifier, keyword or literal exactly as written (strings
   * with their quotes), the offending character of ILLEGAL, a comment without any carriage
   * return (a line comment's final `\r`, and every `\r` of a block comment except one between
   * `*` and `/`, are dropped as Go's scanner does), `''` for TERMINATOR and EOF.
   */
  text(): string {
    if (this.#token === Token.TERMINATOR || this.#token === Token.EOF) return '';
    const raw = this.#source.text(this.pos, this.end);
    if (this.#token !== Token.COMMENT || this.#commentCRs === 0) return raw;
    return stripCommentCRs(raw, this.#commentCRs, this.#commentIsBlock);
  }

  #error(offset: Pos, message: string, code: ParseCode): void {
    this.#errorCount++;
    this.#onError(offset, message, code);
  }

  /** Reads the next character into `#ch`, reporting NUL, invalid UTF-8 and a misplaced BOM. */
  #next(): void {
    const at = this.#readOffset;
    if (at >= this.#size) {
      this.#offset = this.#size;
      this.#ch = EOF;
      return;
    }
    this.#offset = at;
    let ch = this.#bytes[at] ?? 0;
    let width = 1;
    if (ch === 0) {
      this.#error(at, 'illegal character NUL', ParseCode.ILLEGAL_CHARACTER);
    } else if (ch >= 0x80) {
      ch = decodeRune(this.#bytes, at);
      if (ch < 0) {
        ch = 0xfffd;
        this.#error(at, 'illegal UTF-8 encoding', ParseCode.ILLEGAL_CHARACTER);
      } else {
        width = runeWidth(ch);
        if (ch === BOM && at > 0) this.#error(at, 'illegal byte order mark', ParseCode.ILLEGAL_CHARACTER);
      }
    }
    this.#readOffset = at + width;
    this.#ch = ch;
  }

  /** The current character, read through a call so that TypeScript does not narrow it across #next(). */
  #char(): number {
    return this.#ch;
  }

  #peek(): number {
    return this.#readOffset < this.#size ? (this.#bytes[this.#readOffset] ?? 0) : 0;
  }

  #skipWhitespace(): void {
    for (;;) {
      const ch = this.#ch;
      if (ch === SPACE || ch === TAB || ch === CR || (ch === LF && !this.#insertTerm)) this.#next();
      else return;
    }
  }

  /** Scans the next token; see {@link pos}, {@link end} and {@link text} for its details. */
  scan(): Token {
    for (;;) {
      this.#skipWhitespace();
      const pos = this.#offset;
      this.pos = pos;
      let insertTerm = false;
      let tok: Token;
      const ch = this.#ch;

      if (isLetter(ch)) {
        tok = this.#scanIdentifier();
        insertTerm = true;
      } else if (isDecimal(ch) || (ch === DOT && isDecimal(this.#peek()))) {
        tok = this.#scanNumber();
        insertTerm = true;
      } else {
        this.#next(); // `ch` is now the token's first character and `#ch` the one after it.
        switch (ch) {
          case EOF:
            if (this.#insertTerm) {
              this.#insertTerm = false;
              return this.#finish(Token.TERMINATOR, pos);
            }
            tok = Token.EOF;
            break;
          case LF:
            // Only reached when a terminator is due: otherwise #skipWhitespace eats newlines.
            this.#insertTerm = false;
            return this.#finish(Token.TERMINATOR, pos);
          case APOSTROPHE:
            this.#error(pos, 'illegal single-quoted string; use double quotes', ParseCode.SINGLE_QUOTED_STRING);
            this.#scanString(APOSTROPHE, true, false);
            tok = Token.ILLEGAL;
            insertTerm = true;
            break;
          case QUOTE:
            this.#scanString(QUOTE, true, false);
            tok = Token.STRING;
            insertTerm = true;
            break;
          case BACKQUOTE:
            this.#scanString(BACKQUOTE, false, true);
            tok = Token.STRING;
            insertTerm = true;
            break;
          case 0x7c: // |
            if (this.#ch === 0x7c) this.#next();
            else this.#error(this.#offset, 'missing second | in ||', ParseCode.ILLEGAL_CHARACTER);
            tok = Token.OR;
            break;
          case 0x26: // &
            if (this.#ch === 0x26) this.#next();
            else this.#error(this.#offset, 'missing second & in &&', ParseCode.ILLEGAL_CHARACTER);
            tok = Token.AND;
            break;
          case 0x21: // ! !=
            tok = this.#switch2(Token.NOT, Token.NEQ);
            break;
          case EQUALS: // = ==
            tok = this.#switch2(Token.ASSIGN, Token.EQ);
            break;
          case 0x3c: // < <=
            tok = this.#switch2(Token.LT, Token.LTE);
            break;
          case 0x3e: // > >=
            tok = this.#switch2(Token.GT, Token.GTE);
            break;
          case 0x2b:
            tok = Token.ADD;
            break;
          case 0x2d:
            tok = Token.SUB;
            break;
          case STAR:
            tok = Token.MUL;
            break;
          case SLASH:
            if (this.#ch === SLASH || this.#ch === STAR) {
              // A comment. If a terminator is due and the comment reaches the end of its
              // line, the terminator comes first, positioned at the comment.
              if (this.#insertTerm && this.#findLineEnd()) {
                this.#ch = SLASH;
                this.#offset = pos;
                this.#readOffset = pos + 1;
                this.#insertTerm = false;
                return this.#finish(Token.TERMINATOR, pos);
              }
              this.#scanComment();
              if (!this.#includeComments) {
                this.#insertTerm = false;
                continue;
              }
              tok = Token.COMMENT;
            } else {
              tok = Token.DIV;
            }
            break;
          case 0x25:
            tok = Token.MOD;
            break;
          case 0x5e:
            tok = Token.POW;
            break;
          case 0x7b:
            tok = Token.LCURLY;
            break;
          case 0x7d:
            tok = Token.RCURLY;
            insertTerm = true;
            break;
          case 0x28:
            tok = Token.LPAREN;
            break;
          case 0x29:
            tok = Token.RPAREN;
            insertTerm = true;
            break;
          case 0x5b:
            tok = Token.LBRACK;
            break;
          case 0x5d:
            tok = Token.RBRACK;
            insertTerm = true;
            break;
          case 0x2c:
            tok = Token.COMMA;
            break;
          case DOT:
            tok = Token.DOT; // A fraction starting with "." was handled above.
            break;
          default:
            // #next() has already reported a misplaced BOM; don't report it twice.
            if (ch !== BOM) {
              this.#error(pos, `illegal character ${formatCodePoint(ch)}`, ParseCode.ILLEGAL_CHARACTER);
            }
            insertTerm = this.#insertTerm; // An illegal character keeps the pending terminator.
            tok = Token.ILLEGAL;
        }
      }
      this.#insertTerm = insertTerm;
      return this.#finish(tok, this.#offset);
    }
  }

  #finish(tok: Token, end: Pos): Token {
    this.#token = tok;
    this.end = end;
    return tok;
  }

  #switch2(single: Token, withEquals: Token): Token {
    if (this.#ch === EQUALS) {
      this.#next();
      return withEquals;
    }
    return single;
  }

  /** Scans an identifier or keyword; `#ch` is its first character (a letter). */
  #scanIdentifier(): Token {
    const start = this.#offset;
    const bytes = this.#bytes;
    const size = this.#size;
    // Fast path: ASCII letters, digits and "_".
    let i = this.#readOffset;
    while (i < size) {
      const b = bytes[i] ?? 0;
      if ((b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f || (b >= 0x30 && b <= 0x39)) i++;
      else break;
    }
    this.#readOffset = i;
    this.#next();
    if (this.#ch >= 0x80) {
      while (isLetter(this.#ch) || isDigit(this.#ch)) this.#next();
    }
    const length = this.#offset - start;
    if (length === 4) {
      if (matches(bytes, start, 'true')) return Token.BOOL;
      if (matches(bytes, start, 'null')) return Token.NULL;
    } else if (length === 5 && matches(bytes, start, 'false')) {
      return Token.BOOL;
    }
    return Token.IDENT;
  }

  #scanNumber(): Token {
    const start = this.#offset;
    let tok: Token = Token.NUMBER;
    if (this.#ch !== DOT) this.#digits();
    if (this.#ch === DOT) {
      tok = Token.FLOAT;
      this.#next();
      this.#digits();
    }
    if ((this.#ch | 0x20) === 0x65) {
      tok = Token.FLOAT;
      this.#next();
      if (this.#ch === 0x2b || this.#ch === 0x2d) this.#next();
      if (this.#digits() === 0) this.#error(start, 'exponent has no digits', ParseCode.INVALID_NUMBER);
    }
    return tok;
  }

  #digits(): number {
    let count = 0;
    while (isDecimal(this.#ch)) {
      this.#next();
      count++;
    }
    return count;
  }

  /** Scans a string whose opening quote has been consumed. */
  #scanString(until: number, escape: boolean, multiline: boolean): void {
    const start = this.#offset - 1;
    for (;;) {
      const ch = this.#ch;
      if ((!multiline && ch === LF) || ch === EOF) {
        this.#error(start, 'string literal not terminated', ParseCode.UNTERMINATED_STRING);
        return;
      }
      this.#next();
      if (ch === until) return;
      if (escape && ch === BACKSLASH) this.#scanEscape();
    }
  }

  /** Checks an escape sequence; on error stops at the offending character without consuming it. */
  #scanEscape(): void {
    const at = this.#offset;
    let n: number;
    let base: number;
    let max: number;
    switch (this.#ch) {
      case 0x61: // a b f n r t v \ "
      case 0x62:
      case 0x66:
      case 0x6e:
      case 0x72:
      case 0x74:
      case 0x76:
      case BACKSLASH:
      case QUOTE:
        this.#next();
        return;
      case 0x30:
      case 0x31:
      case 0x32:
      case 0x33:
      case 0x34:
      case 0x35:
      case 0x36:
      case 0x37:
        n = 3;
        base = 8;
        max = 255;
        break;
      case 0x78: // x
        this.#next();
        n = 2;
        base = 16;
        max = 255;
        break;
      case 0x75: // u
        this.#next();
        n = 4;
        base = 16;
        max = 0x10ffff;
        break;
      case 0x55: // U
        this.#next();
        n = 8;
        base = 16;
        max = 0x10ffff;
        break;
      default: {
        const message = this.#ch === EOF ? 'escape sequence not terminated' : 'unknown escape sequence';
        this.#error(at, message, ParseCode.INVALID_ESCAPE);
        return;
      }
    }
    let x = 0;
    for (; n > 0; n--) {
      const d = digitValue(this.#ch);
      if (d >= base) {
        const message =
          this.#char() === EOF
            ? 'escape sequence not terminated'
            : `illegal character ${formatCodePoint(this.#ch)} in escape sequence`;
        this.#error(at, message, ParseCode.INVALID_ESCAPE);
        return;
      }
      x = x * base + d;
      this.#next();
    }
    if (x > max || (x >= 0xd800 && x < 0xe000)) {
      this.#error(at, 'escape sequence is invalid Unicode code point', ParseCode.INVALID_ESCAPE);
    }
  }

  /** Scans a comment whose first "/" has been consumed (`#ch` is the second "/" or "*"). */
  #scanComment(): void {
    const start = this.#offset - 1;
    let crs = 0;
    let isBlock = false;
    if (this.#ch === SLASH) {
      this.#next();
      while (this.#char() !== LF && this.#char() !== EOF) {
        if (this.#char() === CR) crs++;
        this.#next();
      }
    } else {
      isBlock = true;
      this.#next();
      let closed = false;
      while (this.#ch !== EOF) {
        const ch = this.#ch;
        if (ch === CR) crs++;
        this.#next();
        if (ch === STAR && this.#ch === SLASH) {
          this.#next();
          closed = true;
          break;
        }
      }
      if (!closed) this.#error(start, 'block comment not terminated', ParseCode.UNTERMINATED_COMMENT);
    }
    this.#commentCRs = crs;
    this.#commentIsBlock = isBlock;
  }

  /**
   * Whether the comment starting at the "/" just consumed (and any comments following it on
   * the same line) reaches the end of the line. Restores the scanner's position either way.
   */
  #findLineEnd(): boolean {
    const start = this.#offset - 1;
    try {
      while (this.#ch === SLASH || this.#ch === STAR) {
        if (this.#ch === SLASH) return true; // A line comment always reaches the end of its line.
        this.#next();
        while (this.#char() !== EOF) {
          const ch = this.#char();
          if (ch === LF) return true;
          this.#next();
          if (ch === STAR && this.#char() === SLASH) {
            this.#next();
            break;
          }
        }
        this.#skipWhitespace(); // A terminator is pending, so this stops at a newline.
        const after = this.#char();
        if (after === EOF || after === LF) return true;
        if (after !== SLASH) return false;
        this.#next();
      }
      return false;
    } finally {
      this.#ch = SLASH;
      this.#offset = start;
      this.#readOffset = start + 1;
      this.#next();
    }
  }
}

function matches(bytes: Uint8Array, offset: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    if (bytes[offset + i] !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** Drops carriage returns from a comment's text exactly as Go's scanner does. */
function stripCommentCRs(text: string, crs: number, isBlock: boolean): string {
  let s = text;
  let remaining = crs;
  if (s.endsWith('\r')) {
    s = s.slice(0, -1);
    remaining--;
  }
  if (remaining === 0) return s;
  let out = '';
  for (let j = 0; j < s.length; j++) {
    const c = s.charAt(j);
    // Go keeps a "\r" only in a block comment, after "/*" and between "*" and "/".
    if (c !== '\r' || (isBlock && out.length > 2 && out.endsWith('*') && s[j + 1] === '/')) out += c;
  }
  return out;
}
