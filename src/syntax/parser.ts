/**
 * The parser: recursive descent from {@link Scanner} tokens to the {@link File} of ast.ts,
 * reporting the diagnostics Alloy's `syntax/parser` reports, with the same messages, at the
 * same positions, in the same order.
 *
 * Grammar (alloy-syntax.md §3; TERM is a TERMINATOR token):
 *
 *     File           = Body EOF .
 *     Body           = [ Statement { TERM Statement } ] [ TERM ] .
 *     Statement      = Attribute | Block .
 *     Attribute      = IDENT "=" Expression .
 *     Block          = BlockName "{" Body "}" .
 *     BlockName      = IDENT { "." IDENT } [ STRING ] .
 *
 *     Expression     = BinOpExpr .
 *     BinOpExpr      = OrExpr .
 *     OrExpr         = AndExpr { "||" AndExpr } .
 *     AndExpr        = CmpExpr { "&&" CmpExpr } .
 *     CmpExpr        = AddExpr { ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) AddExpr } .
 *     AddExpr        = MulExpr { ( "+" | "-" ) MulExpr } .
 *     MulExpr        = PowExpr { ( "*" | "/" | "%" ) PowExpr } .
 *     PowExpr        = UnaryExpr [ "^" PowExpr ] .
 *     UnaryExpr      = ( "!" | "-" ) UnaryExpr | OperExpr .
 *     OperExpr       = PrimaryExpr { "." IDENT | "[" Expression "]" | "(" [ ExpressionList ] ")" } .
 *     PrimaryExpr    = IDENT | NUMBER | FLOAT | STRING | BOOL | NULL | "(" Expression ")"
 *                    | "[" [ ExpressionList ] "]" | "{" [ FieldList ] "}" .
 *     ExpressionList = Expression { "," Expression } [ "," ] .
 *     FieldList      = Field { "," Field } [ "," ] .
 *     Field          = ( STRING | IDENT ) "=" Expression .
 *
 * Error behaviour (alloy-syntax.md §3.3): the parser never stops at the first error. It
 * drops a second "expected …"/"missing …" error on the same line as the previous one, skips
 * to the next statement, and keeps going; scanner errors are never dropped. Any error
 * rejects the whole file: {@link ParseResult.file} is then `undefined`.
 */

import type {
  AttributeStatement,
  BlockStatement,
  Body,
  Comment,
  CommentGroup,
  Expression,
  File,
  Identifier,
  LiteralExpression,
  ObjectField,
  Statement,
} from './ast.ts';
import { ParseCode, type Diagnostic } from './diagnostics.ts';
import { Scanner, isValidIdentifier } from './scanner.ts';
import { goQuote } from './value.ts';
import { utf8Length, type Pos, type SourceFile } from './source.ts';
import { Token, binaryPrecedence, tokenName, type BinaryOperator, type UnaryOperator } from './token.ts';

/** What {@link parseFile} returns. */
export interface ParseResult {
  /** The syntax tree; `undefined` when there is any diagnostic (Alloy rejects the whole file). */
  readonly file: File | undefined;
  /** Every diagnostic, in Alloy's order (scanner errors as the scanner meets them). */
  readonly diagnostics: readonly Diagnostic[];
}

/** What {@link parseExpression} returns. */
export interface ExpressionParseResult {
  /** The expression; `undefined` when there is any diagnostic. */
  readonly expression: Expression | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Parses a whole configuration file. Never throws for bad input: syntax errors come back as
 * diagnostics (codes `parse/...`). Pure and synchronous; parsing 1 MB takes a few tens of
 * milliseconds.
 */
export function parseFile(source: SourceFile): ParseResult {
  const p = new Parser(source);
  const file = p.parseFile();
  return { file: p.diagnostics.length === 0 ? file : undefined, diagnostics: p.diagnostics };
}

/**
 * Parses one expression that must fill the whole source (Alloy's `parser.ParseExpression`),
 * for tests and tools that evaluate a single expression.
 */
export function parseExpression(source: SourceFile): ExpressionParseResult {
  const p = new Parser(source);
  const expression = p.parseExpression();
  p.expect(Token.TERMINATOR);
  return { expression: p.diagnostics.length === 0 ? expression : undefined, diagnostics: p.diagnostics };
}

/** A block name read before knowing whether it starts an attribute or a block. */
interface BlockName {
  readonly fragments: string[];
  readonly start: Pos;
  end: Pos;
  label: string;
  labelPos: Pos | undefined;
}

/** Tokens at which a failed expression stops skipping (Alloy's `statementEnd`). */
function isStatementEnd(tok: Token): boolean {
  return (
    tok === Token.TERMINATOR ||
    tok === Token.RPAREN ||
    tok === Token.RCURLY ||
    tok === Token.RBRACK ||
    tok === Token.COMMA
  );
}

/**
 * How deeply blocks and expressions may nest (counting every operator of a chain such as
 * `a + b + c` as a level). Alloy has no limit; this one keeps the recursive passes over the
 * tree (evaluation, printing) far from the stack limit. Real configurations nest a few
 * levels deep.
 */
export const MAX_NESTING = 500;

const LITERAL_NAMES = {
  [Token.NUMBER]: 'NUMBER',
  [Token.FLOAT]: 'FLOAT',
  [Token.STRING]: 'STRING',
  [Token.BOOL]: 'BOOL',
  [Token.NULL]: 'NULL',
} as const;

class Parser {
  readonly #source: SourceFile;
  readonly #scanner: Scanner;
  readonly diagnostics: Diagnostic[] = [];
  readonly #comments: CommentGroup[] = [];

  /** Current token, its start and end offsets. */
  #tok: Token = Token.EOF;
  #pos: Pos = 0;
  #end: Pos = 0;
  /** Line of the last error reported through #addError (0: none yet). */
  #lastErrorLine = 0;
  /** Current nesting depth (see {@link MAX_NESTING}). */
  #nesting = 0;
  /** Set once the nesting limit is hit: the rest of the file is skipped, and no more parse errors are reported. */
  #abandoned = false;

  constructor(source: SourceFile) {
    this.#source = source;
    this.#scanner = new Scanner(
      source,
      (offset, message, code) => {
        this.#report(offset, message, code);
      },
      {
        includeComments: true,
      },
    );
    this.#next();
  }

  #report(start: Pos, message: string, code: ParseCode, end?: Pos): void {
    const d: Diagnostic =
      end === undefined
        ? { severity: 'error', code, message, start }
        : { severity: 'error', code, message, start, end };
    this.diagnostics.push(d);
  }

  /** Reports an error at the current token, unless the previous one was on the same line. */
  #addError(message: string, code: ParseCode = ParseCode.EXPECTED_TOKEN): void {
    if (this.#abandoned) return;
    const line = this.#source.line(this.#pos);
    if (line === this.#lastErrorLine) return;
    this.#lastErrorLine = line;
    this.#report(this.#pos, message, code);
  }

  /** The current token, read through a call so that TypeScript does not narrow it across #next(). */
  #current(): Token {
    return this.#tok;
  }

  /** The current token's text (see {@link Scanner.text}). */
  #lit(): string {
    return this.#scanner.text();
  }

  /** Advances to the next token that is not a comment, collecting comment groups. */
  #next(): void {
    this.#next0();
    while (this.#tok === Token.COMMENT) this.#consumeCommentGroup();
  }

  #next0(): void {
    this.#tok = this.#scanner.scan();
    this.#pos = this.#scanner.pos;
    this.#end = this.#scanner.end;
  }

  /** Collects comments that each start at most one line after the previous one ends. */
  #consumeCommentGroup(): void {
    const list: Comment[] = [];
    let endLine = this.#source.line(this.#pos);
    while (this.#tok === Token.COMMENT && this.#source.line(this.#pos) <= endLine + 1) {
      const text = this.#lit();
      endLine = this.#source.line(this.#pos);
      if (text.charCodeAt(1) === 0x2a) {
        for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x0a) endLine++;
      }
      list.push({ start: this.#pos, end: this.#end, text });
      this.#next0();
    }
    const first = list[0];
    const last = list[list.length - 1];
    if (first !== undefined && last !== undefined) {
      this.#comments.push({ start: first.start, end: last.end, comments: list });
    }
  }

  /**
   * Enters one more level of nesting. Past {@link MAX_NESTING} it reports the problem at the
   * current token, skips the rest of the file and returns false.
   */
  #enter(levels = 1): boolean {
    if (this.#nesting + levels > MAX_NESTING) {
      if (!this.#abandoned) {
        this.#report(this.#pos, `blocks and expressions nest more than ${MAX_NESTING} levels deep`, ParseCode.TOO_DEEP);
        this.#abandoned = true;
      }
      this.#advance(Token.EOF);
      return false;
    }
    this.#nesting += levels;
    return true;
  }

  #leave(levels = 1): void {
    this.#nesting -= levels;
  }

  /** A stand-in for an expression that could not be parsed. */
  #placeholder(start: Pos): LiteralExpression {
    return { kind: 'Literal', token: 'NULL', raw: 'null', value: null, start, end: start };
  }

  /** Skips tokens up to (not including) `to` or EOF. */
  #advance(to: Token): void {
    while (this.#tok !== Token.EOF && this.#tok !== to) this.#next();
  }

  /** Consumes the current token, reporting an error if it is not `t`; returns its offset. */
  expect(t: Token): Pos {
    const pos = this.#pos;
    if (this.#tok !== t) this.#addError(`expected ${tokenName(t)}, got ${tokenName(this.#tok)}`);
    this.#next();
    return pos;
  }

  /** File = Body EOF . */
  parseFile(): File {
    const body = this.#parseBody(Token.EOF);
    return {
      kind: 'File',
      name: this.#source.name,
      body,
      comments: this.#comments,
      start: 0,
      end: this.#source.size,
    };
  }

  /** Body = [ Statement { TERM Statement } ] [ TERM ] . Stops at `until` without consuming it. */
  #parseBody(until: Token): Body {
    const body: Statement[] = [];
    while (this.#tok !== until && this.#tok !== Token.EOF) {
      const stmt = this.#parseStatement();
      if (stmt !== undefined) body.push(stmt);
      if (this.#tok === until) break;
      if (this.#tok !== Token.TERMINATOR) {
        this.#addError(`expected TERMINATOR, got ${tokenName(this.#tok)}`);
        this.#consumeStatement();
      }
      this.#next();
    }
    return body;
  }

  /** Skips the rest of a statement: up to a TERMINATOR outside any (), [] or {} pair. */
  #consumeStatement(): void {
    let curly = 0;
    let brack = 0;
    let paren = 0;
    while (this.#tok !== Token.EOF) {
      switch (this.#tok) {
        case Token.LCURLY:
          curly++;
          break;
        case Token.RCURLY:
          curly--;
          break;
        case Token.LBRACK:
          brack++;
          break;
        case Token.RBRACK:
          brack--;
          break;
        case Token.LPAREN:
          paren++;
          break;
        case Token.RPAREN:
          paren--;
          break;
        case Token.TERMINATOR:
          // Pairs may be negative when the statement started inside a pair.
          if (curly <= 0 && brack <= 0 && paren <= 0) return;
          break;
        default:
          break;
      }
      this.#next();
    }
  }

  /**
   * Statement = Attribute | Block .
   * Attribute = IDENT "=" Expression .
   * Block     = BlockName "{" Body "}" .
   */
  #parseStatement(): Statement | undefined {
    const name = this.#parseBlockName();
    if (name === undefined) {
      this.#advance(Token.IDENT);
      return undefined;
    }
    switch (this.#tok) {
      case Token.ASSIGN: {
        this.#next();
        if (name.fragments.length !== 1) {
          const joined = name.fragments.join('.');
          this.#report(
            name.start,
            'attribute names may only consist of a single identifier with no "."',
            ParseCode.INVALID_ATTRIBUTE_NAME,
            name.start + utf8Length(joined),
          );
        } else if (name.labelPos !== undefined) {
          this.#report(
            name.labelPos,
            'attribute names may not have labels',
            ParseCode.INVALID_ATTRIBUTE_NAME,
            name.labelPos + utf8Length(name.label) + 2,
          );
        }
        const first = name.fragments[0] ?? '';
        const ident: Identifier = { name: first, start: name.start, end: name.start + utf8Length(first) };
        const value = this.parseExpression();
        const attr: AttributeStatement = { kind: 'Attribute', name: ident, value, start: name.start, end: value.end };
        return attr;
      }
      case Token.LCURLY: {
        const lCurly = this.expect(Token.LCURLY);
        const entered = this.#enter();
        const body = entered ? this.#parseBody(Token.RCURLY) : [];
        if (entered) this.#leave();
        const rCurly = this.expect(Token.RCURLY);
        const block: BlockStatement = {
          kind: 'Block',
          name: name.fragments,
          nameStart: name.start,
          nameEnd: name.end,
          label: name.label === '' ? undefined : name.label,
          labelStart: name.label === '' ? undefined : name.labelPos,
          lCurly,
          rCurly,
          body,
          start: name.start,
          end: rCurly + 1,
        };
        return block;
      }
      default:
        if (name.fragments.length === 1 && name.label === '') {
          // Could be an attribute or a block: say both.
          this.#addError(`expected attribute assignment or block body, got ${tokenName(this.#tok)}`);
        } else {
          this.#addError(`expected block body, got ${tokenName(this.#tok)}`);
        }
        this.#advance(Token.IDENT);
        return undefined;
    }
  }

  /** BlockName = IDENT { "." IDENT } [ STRING ] . */
  #parseBlockName(): BlockName | undefined {
    if (this.#tok !== Token.IDENT) {
      this.#addError(`expected identifier, got ${tokenName(this.#tok)}`);
      return undefined;
    }
    const name: BlockName = {
      fragments: [this.#lit()],
      start: this.#pos,
      end: this.#end,
      label: '',
      labelPos: undefined,
    };
    this.#next();
    while (this.#current() === Token.DOT) {
      this.#next();
      // Carry on even when the name is malformed, to report as much as possible.
      if (this.#current() !== Token.IDENT) this.#addError(`expected identifier, got ${tokenName(this.#tok)}`);
      name.fragments.push(this.#lit());
      name.end = this.#end;
      this.#next();
    }
    if (this.#current() !== Token.ASSIGN && this.#current() !== Token.LCURLY) {
      if (this.#current() === Token.STRING) {
        const lit = this.#lit();
        if (!lit.startsWith('"')) {
          this.#addError(
            `expected block label to be a double quoted string, but got ${goQuote(lit)}`,
            ParseCode.INVALID_LABEL,
          );
        }
        // A non-empty label must be an identifier; `""` is the same as no label.
        if (this.#end - this.#pos > 2) {
          name.label = lit.slice(1, -1);
          if (!isValidIdentifier(name.label)) {
            this.#addError(
              `expected block label to be a valid identifier, but got ${goQuote(name.label)}`,
              ParseCode.INVALID_LABEL,
            );
          }
        }
        name.labelPos = this.#pos;
      } else {
        this.#addError(`expected block label, got ${tokenName(this.#tok)}`);
      }
      this.#next();
    }
    return name;
  }

  /** Expression = BinOpExpr . */
  parseExpression(): Expression {
    if (!this.#enter()) return this.#placeholder(this.#pos);
    const expr = this.#parseBinOp(1);
    this.#leave();
    return expr;
  }

  /**
   * BinOpExpr = OrExpr .
   * OrExpr    = AndExpr { "||" AndExpr } .
   * AndExpr   = CmpExpr { "&&" CmpExpr } .
   * CmpExpr   = AddExpr { cmp_op AddExpr } .
   * AddExpr   = MulExpr { add_op MulExpr } .
   * MulExpr   = PowExpr { mul_op PowExpr } .
   *
   * One function for every left-associative level: `inPrec` is the lowest precedence this
   * call may consume; operands are parsed one level up.
   */
  #parseBinOp(inPrec: number): Expression {
    let left = this.#parsePowExpr();
    // Each operator of a chain deepens the (left-leaning) tree by one level.
    let chain = 0;
    for (;;) {
      const tok = this.#tok;
      const prec = binaryPrecedence(tok);
      if (prec < inPrec || !this.#enter()) {
        this.#leave(chain);
        return left;
      }
      chain++;
      const operatorPos = this.#pos;
      this.#next();
      const right = this.#parseBinOp(prec + 1);
      left = {
        kind: 'Binary',
        operator: tokenName(tok) as BinaryOperator,
        left,
        right,
        operatorPos,
        start: left.start,
        end: right.end,
      };
    }
  }

  /** PowExpr = UnaryExpr [ "^" PowExpr ] .  (right associative) */
  #parsePowExpr(): Expression {
    const left = this.#parseUnaryExpr();
    if (this.#tok !== Token.POW) return left;
    const operatorPos = this.#pos;
    this.#next();
    if (!this.#enter()) return left;
    const right = this.#parsePowExpr();
    this.#leave();
    return { kind: 'Binary', operator: '^', left, right, operatorPos, start: left.start, end: right.end };
  }

  /**
   * UnaryExpr  = ( "!" | "-" ) UnaryExpr | OperExpr .
   * OperExpr   = PrimaryExpr { AccessExpr | IndexExpr | CallExpr } .
   * AccessExpr = "." IDENT .
   * IndexExpr  = "[" Expression "]" .
   * CallExpr   = "(" [ ExpressionList ] ")" .
   */
  #parseUnaryExpr(): Expression {
    if (this.#tok === Token.NOT || this.#tok === Token.SUB) {
      const operator: UnaryOperator = this.#tok === Token.NOT ? '!' : '-';
      const start = this.#pos;
      this.#next();
      if (!this.#enter()) return this.#placeholder(start);
      const operand = this.#parseUnaryExpr();
      this.#leave();
      return { kind: 'Unary', operator, operand, start, end: operand.end };
    }

    let primary = this.#parsePrimaryExpr();
    // Each postfix operation deepens the tree by one level.
    let chain = 0;
    for (;;) {
      if (this.#tok === Token.DOT || this.#tok === Token.LBRACK || this.#tok === Token.LPAREN) {
        if (!this.#enter()) break;
        chain++;
      }
      switch (this.#tok) {
        case Token.DOT: {
          this.#next();
          const text = this.#lit();
          const end = this.#end;
          const start = this.expect(Token.IDENT);
          primary = { kind: 'Access', value: primary, name: { name: text, start, end }, start: primary.start, end };
          break;
        }
        case Token.LBRACK: {
          const lBrack = this.expect(Token.LBRACK);
          const index = this.parseExpression();
          const rBrack = this.expect(Token.RBRACK);
          primary = { kind: 'Index', value: primary, index, lBrack, rBrack, start: primary.start, end: rBrack + 1 };
          break;
        }
        case Token.LPAREN: {
          const lParen = this.expect(Token.LPAREN);
          const args = this.#current() === Token.RPAREN ? [] : this.#parseExpressionList(Token.RPAREN);
          const rParen = this.expect(Token.RPAREN);
          primary = { kind: 'Call', value: primary, args, lParen, rParen, start: primary.start, end: rParen + 1 };
          break;
        }
        case Token.STRING:
        case Token.LCURLY: {
          // Probably a block assigned to an attribute (`x = foo "bar" { … }`): parse it as one
          // to say so; if it is not one, give up on the statement.
          if (this.#tok === Token.STRING) this.#next();
          if (this.#tok !== Token.LCURLY) {
            this.expect(Token.LCURLY);
            this.#consumeStatement();
            this.#leave(chain);
            return primary;
          }
          this.#next();
          if (!this.#enter()) break;
          this.#parseBody(Token.RCURLY);
          this.#leave();
          const isClosed = this.#current() === Token.RCURLY;
          const rCurly = this.expect(Token.RCURLY);
          if (!isClosed) {
            this.#consumeStatement();
            this.#leave(chain);
            return primary;
          }
          this.#report(primary.start, 'cannot use a block as an expression', ParseCode.BLOCK_AS_EXPRESSION, rCurly + 1);
          break;
        }
        default:
          this.#leave(chain);
          return primary;
      }
    }
    this.#leave(chain);
    return primary;
  }

  /**
   * PrimaryExpr  = LiteralValue | ArrayExpr | ObjectExpr .
   * LiteralValue = IDENT | STRING | NUMBER | FLOAT | BOOL | NULL | "(" Expression ")" .
   * ArrayExpr    = "[" [ ExpressionList ] "]" .
   * ObjectExpr   = "{" [ FieldList ] "}" .
   */
  #parsePrimaryExpr(): Expression {
    const start = this.#pos;
    switch (this.#tok) {
      case Token.IDENT: {
        const name = this.#lit();
        const end = this.#end;
        this.#next();
        return { kind: 'Identifier', name, start, end };
      }
      case Token.STRING:
      case Token.NUMBER:
      case Token.FLOAT:
      case Token.BOOL:
      case Token.NULL: {
        const literal = makeLiteral(this.#tok, this.#lit(), start, this.#end);
        this.#next();
        return literal;
      }
      case Token.LPAREN: {
        this.#next();
        const inner = this.parseExpression();
        const rParen = this.expect(Token.RPAREN);
        return { kind: 'Paren', inner, start, end: rParen + 1 };
      }
      case Token.LBRACK: {
        this.#next();
        const elements = this.#current() === Token.RBRACK ? [] : this.#parseExpressionList(Token.RBRACK);
        const rBrack = this.expect(Token.RBRACK);
        return { kind: 'Array', elements, lBrack: start, rBrack, start, end: rBrack + 1 };
      }
      case Token.LCURLY: {
        this.#next();
        // Alloy tests for "]" here, not "}": `{]` reports "expected }, got ]".
        const fields = this.#current() === Token.RBRACK ? [] : this.#parseFieldList(Token.RCURLY);
        const rCurly = this.expect(Token.RCURLY);
        return { kind: 'Object', fields, lCurly: start, rCurly, start, end: rCurly + 1 };
      }
      default: {
        this.#addError(`expected expression, got ${tokenName(this.#tok)}`);
        const placeholder: LiteralExpression = {
          kind: 'Literal',
          token: 'NULL',
          raw: 'null',
          value: null,
          start,
          end: start,
        };
        while (this.#tok !== Token.EOF && !isStatementEnd(this.#tok)) this.#next();
        return placeholder;
      }
    }
  }

  /** ExpressionList = Expression { "," Expression } [ "," ] . */
  #parseExpressionList(until: Token): Expression[] {
    const list: Expression[] = [];
    while (this.#tok !== until && this.#tok !== Token.EOF) {
      list.push(this.parseExpression());
      if (this.#tok === until) break;
      if (this.#tok !== Token.COMMA) this.#addError("missing ',' in expression list");
      this.#next();
    }
    return list;
  }

  /** FieldList = Field { "," Field } [ "," ] . */
  #parseFieldList(until: Token): ObjectField[] {
    const list: ObjectField[] = [];
    while (this.#tok !== until && this.#tok !== Token.EOF) {
      list.push(this.#parseField());
      if (this.#tok === until) break;
      if (this.#tok !== Token.COMMA) this.#addError("missing ',' in field list");
      this.#next();
    }
    return list;
  }

  /** Field = ( STRING | IDENT ) "=" Expression . */
  #parseField(): ObjectField {
    const start = this.#pos;
    let name = '';
    let quoted = false;
    if (this.#tok === Token.STRING || this.#tok === Token.IDENT) {
      name = this.#lit();
      if (this.#tok === Token.STRING) {
        quoted = true;
        // The key is the raw text between the quotes; `""` stays as it is (Alloy's rule).
        if (this.#end - this.#pos > 2) name = name.slice(1, -1);
      }
      this.#next();
    } else {
      this.#addError(`expected field name (string or identifier), got ${tokenName(this.#tok)}`);
      this.#advance(Token.ASSIGN);
    }
    this.expect(Token.ASSIGN);
    const value = this.parseExpression();
    return { name, quoted, value, start, end: value.end };
  }
}

function makeLiteral(tok: keyof typeof LITERAL_NAMES, raw: string, start: Pos, end: Pos): LiteralExpression {
  const token = LITERAL_NAMES[tok];
  let value: LiteralExpression['value'];
  switch (tok) {
    case Token.NUMBER:
      value = BigInt(raw);
      break;
    case Token.FLOAT:
      value = Number(raw);
      break;
    case Token.STRING:
      value = unquoteString(raw);
      break;
    case Token.BOOL:
      value = raw === 'true';
      break;
    case Token.NULL:
      value = null;
      break;
  }
  return { kind: 'Literal', token, raw, value, start, end };
}

const utf8Decoder = new TextDecoder('utf-8');

/**
 * The value of a string literal as written in the source (quotes included): escapes of a
 * `"…"` string are resolved with Go's rules; a `` `…` `` string is taken verbatim without its
 * carriage returns. `\xNN` and octal escapes are bytes: a run of them is decoded as UTF-8
 * (bytes that do not form UTF-8 become U+FFFD, since a JS string cannot hold them).
 * Malformed escapes (already reported by the scanner) are kept as written.
 */
export function unquoteString(raw: string): string {
  if (raw.startsWith('`')) return raw.slice(1, -1).replaceAll('\r', '');
  const body = raw.slice(1, -1);
  if (!body.includes('\\')) return body;
  let out = '';
  let bytes: number[] = [];
  const flushBytes = (): void => {
    if (bytes.length > 0) {
      out += utf8Decoder.decode(new Uint8Array(bytes));
      bytes = [];
    }
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? '';
    if (c !== '\\') {
      flushBytes();
      out += c;
      continue;
    }
    const e = body[i + 1] ?? '';
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      flushBytes();
      out += simple;
      i++;
      continue;
    }
    const digits = e >= '0' && e <= '7' ? 3 : e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    const first = e >= '0' && e <= '7' ? i + 1 : i + 2;
    const text = body.slice(first, first + digits);
    const base = digits === 3 ? 8 : 16;
    const valid = digits > 0 && text.length === digits && (base === 8 ? OCTAL : HEX).test(text);
    if (!valid) {
      flushBytes();
      out += c;
      continue;
    }
    const n = parseInt(text, base);
    if (digits <= 3) {
      bytes.push(n & 0xff);
    } else {
      flushBytes();
      out += n <= 0x10ffff && !(n >= 0xd800 && n < 0xe000) ? String.fromCodePoint(n) : '\ufffd';
    }
    i = first + digits - 1;
  }
  flushBytes();
  return out;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
};

const OCTAL = /^[0-7]+$/;
const HEX = /^[0-9a-fA-F]+$/;
