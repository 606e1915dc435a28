/**
 * Lexical tokens of the Alloy configuration language and the names diagnostics use for
 * them (`expected TERMINATOR, got IDENT`), as in Alloy's `syntax/token`.
 *
 * Tokens are small integers so that the scanner and parser compare numbers, not strings;
 * {@link tokenName} gives the spelling used in messages.
 */

/** Every token kind. */
export const Token = {
  /** Bad input: an illegal character, a single-quoted string. */
  ILLEGAL: 0,
  EOF: 1,
  /** `// …` or `/* … *\/`; only seen by the parser, which collects comments for the printer. */
  COMMENT: 2,

  IDENT: 3,
  NUMBER: 4,
  FLOAT: 5,
  STRING: 6,
  /** `true` or `false`. */
  BOOL: 7,
  NULL: 8,

  OR: 9,
  AND: 10,
  NOT: 11,
  ASSIGN: 12,
  EQ: 13,
  NEQ: 14,
  LT: 15,
  LTE: 16,
  GT: 17,
  GTE: 18,
  ADD: 19,
  SUB: 20,
  MUL: 21,
  DIV: 22,
  MOD: 23,
  POW: 24,
  LCURLY: 25,
  RCURLY: 26,
  LPAREN: 27,
  RPAREN: 28,
  LBRACK: 29,
  RBRACK: 30,
  COMMA: 31,
  DOT: 32,

  /** A newline (or end of file, or a comment reaching the end of its line) that ends a statement. */
  TERMINATOR: 33,
} as const;
export type Token = (typeof Token)[keyof typeof Token];

const NAMES: readonly string[] = [
  'ILLEGAL',
  'EOF',
  'COMMENT',
  'IDENT',
  'NUMBER',
  'FLOAT',
  'STRING',
  'BOOL',
  'NULL',
  '||',
  '&&',
  '!',
  '=',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ',',
  '.',
  'TERMINATOR',
];

/** The name of `token` as Alloy spells it in messages: `IDENT`, `TERMINATOR`, `}`, `==`. */
export function tokenName(token: Token): string {
  return NAMES[token] ?? 'ILLEGAL';
}

/** Binary operators, spelled as in the source. */
export type BinaryOperator = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%' | '^';

/** Unary (prefix) operators. */
export type UnaryOperator = '!' | '-';

/**
 * Precedence of `token` as a binary operator, 1 (`||`) to 6 (`^`); 0 when it is not one.
 * Unary operators bind tighter (7) and postfix `.x`, `[i]`, `(args)` tightest (8).
 */
export function binaryPrecedence(token: Token): number {
  switch (token) {
    case Token.OR:
      return 1;
    case Token.AND:
      return 2;
    case Token.EQ:
    case Token.NEQ:
    case Token.LT:
    case Token.LTE:
    case Token.GT:
    case Token.GTE:
      return 3;
    case Token.ADD:
    case Token.SUB:
      return 4;
    case Token.MUL:
    case Token.DIV:
    case Token.MOD:
      return 5;
    case Token.POW:
      return 6;
    default:
      return 0;
  }
}

/** The keyword token for an identifier-shaped word: `true`/`false` → BOOL, `null` → NULL, else IDENT. */
export function lookupKeyword(word: string): Token {
  switch (word) {
    case 'true':
    case 'false':
      return Token.BOOL;
    case 'null':
      return Token.NULL;
    default:
      return Token.IDENT;
  }
}
