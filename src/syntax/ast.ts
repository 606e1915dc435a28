/**
 * The syntax tree of an Alloy configuration file, as the parser builds it and the printer,
 * the evaluator and the loader read it.
 *
 * Every node carries `start` and `end`, byte offsets into its {@link SourceFile} (`end` is
 * exclusive), so that any diagnostic can point at the exact range. Nodes are plain,
 * read-only objects discriminated by `kind`; nothing here knows about components.
 *
 * Grammar (alloy-syntax.md §3):
 *
 *     File        = Body EOF .
 *     Body        = [ Statement { TERM Statement } ] [ TERM ] .
 *     Statement   = Attribute | Block .
 *     Attribute   = IDENT "=" Expression .
 *     Block       = IDENT { "." IDENT } [ STRING ] "{" Body "}" .
 *     Expression  = binary / unary / postfix / primary expressions, see parser.ts .
 */

import type { Pos } from './source.ts';
import type { BinaryOperator, UnaryOperator } from './token.ts';

/** Byte range of a node: `[start, end)`. */
export interface Span {
  readonly start: Pos;
  readonly end: Pos;
}

/** A `// line` or `/* block *\/` comment, kept for the printer. */
export interface Comment extends Span {
  /** The comment's text including its `//` or `/* … *\/` delimiters. */
  readonly text: string;
}

/** A run of comments with no blank line or code between them (Go's `ast.CommentGroup`). */
export interface CommentGroup extends Span {
  readonly comments: readonly Comment[];
}

/** A parsed file. */
export interface File extends Span {
  readonly kind: 'File';
  /** File name used in diagnostics. */
  readonly name: string;
  readonly body: Body;
  /** Every comment group of the file, in source order (the printer places them). */
  readonly comments: readonly CommentGroup[];
}

export type Body = readonly Statement[];

export type Statement = AttributeStatement | BlockStatement;

/** `name = value`. */
export interface AttributeStatement extends Span {
  readonly kind: 'Attribute';
  readonly name: Identifier;
  readonly value: Expression;
}

/** `a.b.c "label" { body }`. */
export interface BlockStatement extends Span {
  readonly kind: 'Block';
  /** The dotted name's fragments, e.g. `['otelcol', 'exporter', 'otlp']`. */
  readonly name: readonly string[];
  /** Range of the dotted name (`start` of the block is the name's start). */
  readonly nameStart: Pos;
  readonly nameEnd: Pos;
  /**
   * The label: the raw text between the quotes (labels are not unescaped), `undefined`
   * when there is none. An empty label `""` parses and is treated as no label.
   */
  readonly label: string | undefined;
  readonly labelStart: Pos | undefined;
  /** Offsets of the `{` and `}` of the body. */
  readonly lCurly: Pos;
  readonly rCurly: Pos;
  readonly body: Body;
}

/** An identifier with its position. */
export interface Identifier extends Span {
  readonly name: string;
}

export type Expression =
  | LiteralExpression
  | ArrayExpression
  | ObjectExpression
  | IdentifierExpression
  | AccessExpression
  | IndexExpression
  | CallExpression
  | UnaryExpression
  | BinaryExpression
  | ParenExpression;

/**
 * A literal. `raw` is the exact source text (`0x1F` is not a number in Alloy, but
 * `1e3`, `"a\tb"`, `true`, `null` are); `value` is its meaning:
 * - NUMBER: the integer as a `bigint` (may exceed int64 before evaluation checks it),
 * - FLOAT: a `number`,
 * - STRING: the unescaped string,
 * - BOOL: a `boolean`,
 * - NULL: `null`.
 */
export interface LiteralExpression extends Span {
  readonly kind: 'Literal';
  readonly token: 'NUMBER' | 'FLOAT' | 'STRING' | 'BOOL' | 'NULL';
  readonly raw: string;
  readonly value: bigint | number | string | boolean | null;
}

/** `[a, b, c]`. */
export interface ArrayExpression extends Span {
  readonly kind: 'Array';
  readonly elements: readonly Expression[];
  /** Offsets of `[` and `]`. */
  readonly lBrack: Pos;
  readonly rBrack: Pos;
}

/** One `key = value` of an object literal. */
export interface ObjectField extends Span {
  /**
   * The key: an identifier verbatim, or a quoted key's raw text between the quotes (not
   * unescaped; an empty quoted key keeps both quote characters, as Alloy does).
   */
  readonly name: string;
  /** True when the key was written as a string. */
  readonly quoted: boolean;
  readonly value: Expression;
}

/** `{ a = 1, "b" = 2 }`. */
export interface ObjectExpression extends Span {
  readonly kind: 'Object';
  readonly fields: readonly ObjectField[];
  /** Offsets of `{` and `}`. */
  readonly lCurly: Pos;
  readonly rCurly: Pos;
}

/** A bare name: a stdlib function or namespace, or the first fragment of a component ID. */
export interface IdentifierExpression extends Span {
  readonly kind: 'Identifier';
  readonly name: string;
}

/** `value.name`. */
export interface AccessExpression extends Span {
  readonly kind: 'Access';
  readonly value: Expression;
  readonly name: Identifier;
}

/** `value[index]`. */
export interface IndexExpression extends Span {
  readonly kind: 'Index';
  readonly value: Expression;
  readonly index: Expression;
  /** Offsets of `[` and `]`. */
  readonly lBrack: Pos;
  readonly rBrack: Pos;
}

/** `value(args…)`. */
export interface CallExpression extends Span {
  readonly kind: 'Call';
  readonly value: Expression;
  readonly args: readonly Expression[];
  /** Offsets of `(` and `)`. */
  readonly lParen: Pos;
  readonly rParen: Pos;
}

/** `!value`, `-value`. */
export interface UnaryExpression extends Span {
  readonly kind: 'Unary';
  readonly operator: UnaryOperator;
  readonly operand: Expression;
}

/** `left op right`. */
export interface BinaryExpression extends Span {
  readonly kind: 'Binary';
  readonly operator: BinaryOperator;
  readonly left: Expression;
  readonly right: Expression;
  /** Offset of the operator token. */
  readonly operatorPos: Pos;
}

/** `( inner )`: kept so that the printer can reproduce the parentheses. */
export interface ParenExpression extends Span {
  readonly kind: 'Paren';
  readonly inner: Expression;
}
