/**
 * `string.format` (alias `format`): Go's `fmt.Sprintf`, as Alloy calls it, ported verb for
 * verb so that configs format exactly as they do under Alloy (alloy-syntax.md §6).
 *
 * Alloy hands each argument to Go as `any`, decoded the way `value.Decode` fills an
 * interface: numbers become `int` (or `uint64` above int64, `float64` for floats), arrays
 * `[]interface {}`, objects `map[string]interface {}`, null `nil`; capsules and functions
 * pass through. Go's rules follow from that: `%d` of a float renders inline as
 * `%!d(float64=1.5)`, `%v` of `[1, "a"]` is `[1 a]`, of an object `map[a:1 b:2]` (keys
 * sorted), a missing argument is `%!d(MISSING)`, a surplus one `%!(EXTRA int=1)`.
 *
 * Deliberate difference from Alloy: a secret prints as `(secret)` under every verb (Go
 * would print its text, since `alloytypes.Secret` is a string type). Use
 * `convert.nonsensitive` to format the text on purpose. Other capsules and functions, which
 * Go prints as struct dumps or addresses, print as `capsule("<type>")` and `function`.
 *
 * Also here: {@link formatGoFloat}, Go's `strconv.FormatFloat(f, fmt, prec, 64)` with
 * correct rounding (ties to even on the exact binary value), shared with `encoding.to_json`.
 *
 * Pure; never throws.
 */

import { compareStrings, goQuote, INT64_MAX, isGoPrintable, quoteRune, secretOf, type Value } from './value.ts';

// ---------------------------------------------------------------------------------------------
// Arguments as Go sees them

/** An argument after Alloy's decoding into `any`. */
type GoArg =
  | { readonly t: 'nil' }
  | { readonly t: 'int'; readonly v: bigint }
  | { readonly t: 'uint64'; readonly v: bigint }
  | { readonly t: 'float64'; readonly v: number }
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'slice'; readonly v: readonly GoArg[] }
  | { readonly t: 'map'; readonly v: readonly (readonly [string, GoArg])[] }
  | { readonly t: 'secret' }
  | { readonly t: 'opaque'; readonly typeName: string; readonly text: string };

const NIL: GoArg = { t: 'nil' };
const REDACTED = '(secret)';

/** Alloy's `decodeAny`: the Go value a function parameter of type `any` receives. */
function toGoArg(value: Value): GoArg {
  switch (value.type) {
    case 'null':
      return NIL;
    case 'number':
      if (value.kind === 'float') return { t: 'float64', v: value.value };
      if (value.kind === 'uint' && value.value > INT64_MAX) return { t: 'uint64', v: value.value };
      return { t: 'int', v: value.value };
    case 'string':
      return { t: 'string', v: value.value };
    case 'bool':
      return { t: 'bool', v: value.value };
    case 'array':
      return { t: 'slice', v: value.elements.map(toGoArg) };
    case 'object': {
      const entries = [...value.fields].map(([k, v]) => [k, toGoArg(v)] as const);
      entries.sort((a, b) => compareStrings(a[0], b[0]));
      return { t: 'map', v: entries };
    }
    case 'function':
      return { t: 'opaque', typeName: 'func', text: 'function' };
    case 'capsule':
      if (secretOf(value) !== undefined) return { t: 'secret' };
      return { t: 'opaque', typeName: value.typeName, text: `capsule(${goQuote(value.typeName)})` };
  }
}

/** Go's `reflect.TypeOf(arg).String()`. */
function goTypeName(arg: GoArg): string {
  switch (arg.t) {
    case 'nil':
      return '<nil>';
    case 'slice':
      return '[]interface {}';
    case 'map':
      return 'map[string]interface {}';
    case 'secret':
      return 'alloytypes.Secret';
    case 'opaque':
      return arg.typeName;
    default:
      return arg.t;
  }
}

// ---------------------------------------------------------------------------------------------
// Sprintf

/**
 * Go's `fmt.Sprintf(format, args...)` over Alloy values. Never throws; every mismatch is
 * rendered inline as Go does.
 */
export function goSprintf(format: string, args: readonly Value[]): string {
  const p = new GoPrinter(args.map(toGoArg));
  p.doPrintf(format);
  return p.buf;
}

const LDIGITS = '0123456789abcdefx';
const UDIGITS = '0123456789ABCDEFX';
const MAX_WIDTH = 1e6;

function tooLarge(x: number): boolean {
  return x > MAX_WIDTH || x < -MAX_WIDTH;
}

function isDigit(c: string | undefined): c is string {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Number of code points (Go counts runes for width and precision). */
function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is one code point.
    if (c < 0xdc00 || c > 0xdfff || i === 0 || s.charCodeAt(i - 1) < 0xd800 || s.charCodeAt(i - 1) > 0xdbff) n++;
  }
  return n;
}

const utf8 = new TextEncoder();

/** The printer state of one `Sprintf` call (Go's `pp` and `fmt`). */
class GoPrinter {
  buf = '';
  readonly #args: readonly GoArg[];

  // Flags of the current directive.
  widPresent = false;
  precPresent = false;
  minus = false;
  plus = false;
  sharp = false;
  space = false;
  zero = false;
  plusV = false;
  sharpV = false;
  wid = 0;
  prec = 0;

  #reordered = false;
  #goodArgNum = true;

  constructor(args: readonly GoArg[]) {
    this.#args = args;
  }

  #clearFlags(): void {
    this.widPresent = false;
    this.precPresent = false;
    this.minus = false;
    this.plus = false;
    this.sharp = false;
    this.space = false;
    this.zero = false;
    this.plusV = false;
    this.sharpV = false;
    this.wid = 0;
    this.prec = 0;
  }

  // --- padding -------------------------------------------------------------------------

  #writePadding(n: number): void {
    if (n <= 0) return;
    this.buf += (this.zero && !this.minus ? '0' : ' ').repeat(n);
  }

  /** Go's `pad`/`padString`: `s` padded to the width, on the left unless `-`. */
  #pad(s: string): void {
    if (!this.widPresent || this.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.wid - runeCount(s);
    if (!this.minus) {
      this.#writePadding(width);
      this.buf += s;
    } else {
      this.buf += s;
      this.#writePadding(width);
    }
  }

  /** `#pad` with the zero flag off (numbers that did their own zero padding). */
  #padNoZero(s: string): void {
    const zero = this.zero;
    this.zero = false;
    this.#pad(s);
    this.zero = zero;
  }

  // --- the format loop -----------------------------------------------------------------

  #parseNum(s: string, start: number, end: number): { num: number; isNum: boolean; next: number } {
    if (start >= end) return { num: 0, isNum: false, next: end };
    let num = 0;
    let isNum = false;
    let i = start;
    for (; i < end && isDigit(s[i]); i++) {
      if (tooLarge(num)) return { num: 0, isNum: false, next: end };
      num = num * 10 + (s.charCodeAt(i) - 48);
      isNum = true;
    }
    return { num, isNum, next: i };
  }

  /** `[n]` at `format[i]`: the argument index it selects. */
  #argNumber(argNum: number, format: string, i: number): { argNum: number; i: number; found: boolean } {
    if (format.length <= i || format[i] !== '[') return { argNum, i, found: false };
    this.#reordered = true;
    let index = 0;
    let wid = 1;
    let ok = false;
    if (format.length - i >= 3) {
      for (let j = i + 1; j < format.length; j++) {
        if (format[j] === ']') {
          const { num, isNum, next } = this.#parseNum(format, i + 1, j);
          wid = j - i + 1;
          if (isNum && next === j) {
            index = num - 1;
            ok = true;
          }
          break;
        }
      }
    }
    if (ok && index >= 0 && index < this.#args.length) return { argNum: index, i: i + wid, found: true };
    this.#goodArgNum = false;
    return { argNum, i: i + wid, found: ok };
  }

  /** Go's `intFromArg`: a `*` width or precision. */
  #intFromArg(argNum: number): { num: number; isInt: boolean; argNum: number } {
    const arg = this.#args[argNum];
    if (arg === undefined) return { num: 0, isInt: false, argNum };
    let num = 0;
    let isInt = false;
    if (arg.t === 'int' || (arg.t === 'uint64' && arg.v <= INT64_MAX)) {
      num = Number(arg.v);
      isInt = true;
    }
    if (tooLarge(num)) {
      num = 0;
      isInt = false;
    }
    return { num, isInt, argNum: argNum + 1 };
  }

  doPrintf(format: string): void {
    const end = format.length;
    let argNum = 0;
    this.#reordered = false;
    let i = 0;
    formatLoop: while (i < end) {
      let afterIndex: boolean;
      this.#goodArgNum = true;
      const lasti = i;
      while (i < end && format[i] !== '%') i++;
      if (i > lasti) this.buf += format.slice(lasti, i);
      if (i >= end) break;
      i++;

      this.#clearFlags();
      simpleFormat: for (; i < end; i++) {
        const c = format[i] ?? '';
        switch (c) {
          case '#':
            this.sharp = true;
            break;
          case '0':
            this.zero = true;
            break;
          case '+':
            this.plus = true;
            break;
          case '-':
            this.minus = true;
            break;
          case ' ':
            this.space = true;
            break;
          default: {
            const arg = this.#args[argNum];
            if (c >= 'a' && c <= 'z' && arg !== undefined) {
              if (c === 'v') this.#setV();
              this.#printArg(arg, c);
              argNum++;
              i++;
              continue formatLoop;
            }
            break simpleFormat;
          }
        }
      }

      ({ argNum, i, found: afterIndex } = this.#argNumber(argNum, format, i));

      if (i < end && format[i] === '*') {
        i++;
        const r = this.#intFromArg(argNum);
        this.wid = r.num;
        this.widPresent = r.isInt;
        argNum = r.argNum;
        if (!this.widPresent) this.buf += '%!(BADWIDTH)';
        if (this.wid < 0) {
          this.wid = -this.wid;
          this.minus = true;
          this.zero = false;
        }
        afterIndex = false;
      } else {
        const r = this.#parseNum(format, i, end);
        this.wid = r.num;
        this.widPresent = r.isNum;
        i = r.next;
        if (afterIndex && this.widPresent) this.#goodArgNum = false;
      }

      if (i + 1 < end && format[i] === '.') {
        i++;
        if (afterIndex) this.#goodArgNum = false;
        ({ argNum, i, found: afterIndex } = this.#argNumber(argNum, format, i));
        if (i < end && format[i] === '*') {
          i++;
          const r = this.#intFromArg(argNum);
          this.prec = r.num;
          this.precPresent = r.isInt;
          argNum = r.argNum;
          if (this.prec < 0) {
            this.prec = 0;
            this.precPresent = false;
          }
          if (!this.precPresent) this.buf += '%!(BADPREC)';
          afterIndex = false;
        } else {
          const r = this.#parseNum(format, i, end);
          this.prec = r.num;
          this.precPresent = r.isNum;
          i = r.next;
          if (!this.precPresent) {
            this.prec = 0;
            this.precPresent = true;
          }
        }
      }

      if (!afterIndex) ({ argNum, i } = this.#argNumber(argNum, format, i));

      if (i >= end) {
        this.buf += '%!(NOVERB)';
        break;
      }

      const verb = String.fromCodePoint(format.codePointAt(i) ?? 0xfffd);
      i += verb.length;

      const arg = this.#args[argNum];
      if (verb === '%') {
        this.buf += '%';
      } else if (!this.#goodArgNum) {
        this.buf += `%!${verb}(BADINDEX)`;
      } else if (arg === undefined) {
        this.buf += `%!${verb}(MISSING)`;
      } else {
        if (verb === 'v') this.#setV();
        this.#printArg(arg, verb);
        argNum++;
      }
    }

    if (!this.#wasReordered() && argNum < this.#args.length) {
      this.#clearFlags();
      this.buf += '%!(EXTRA ';
      this.#args.slice(argNum).forEach((arg, n) => {
        if (n > 0) this.buf += ', ';
        if (arg.t === 'nil') {
          this.buf += '<nil>';
        } else {
          this.buf += `${goTypeName(arg)}=`;
          this.#printArg(arg, 'v');
        }
      });
      this.buf += ')';
    }
  }

  /** Whether a directive used an explicit argument index (`%[2]d`): then no EXTRA check. */
  #wasReordered(): boolean {
    return this.#reordered;
  }

  /** `%#v` and `%+v` are their own formats: the flags move to sharpV/plusV. */
  #setV(): void {
    this.sharpV = this.sharp;
    this.sharp = false;
    this.plusV = this.plus;
    this.plus = false;
  }

  // --- arguments -----------------------------------------------------------------------

  #badVerb(verb: string, arg: GoArg): void {
    this.buf += `%!${verb}(`;
    if (arg.t === 'nil') {
      this.buf += '<nil>';
    } else {
      this.buf += `${goTypeName(arg)}=`;
      this.#printArg(arg, 'v');
    }
    this.buf += ')';
  }

  #printArg(arg: GoArg, verb: string): void {
    if (arg.t === 'nil') {
      if (verb === 'T' || verb === 'v') this.#pad('<nil>');
      else this.#badVerb(verb, arg);
      return;
    }
    if (verb === 'T') {
      this.#fmtS(goTypeName(arg));
      return;
    }
    if (verb === 'p') {
      // Go prints the address of a slice, map or function; there is none to show here.
      this.#badVerb(verb, arg);
      return;
    }
    this.#printValue(arg, verb);
  }

  #printValue(arg: GoArg, verb: string): void {
    switch (arg.t) {
      case 'nil':
        // An element of a slice or map: a nil interface.
        this.buf += this.sharpV ? 'interface {}(nil)' : '<nil>';
        return;
      case 'bool':
        if (verb === 't' || verb === 'v') this.#pad(arg.v ? 'true' : 'false');
        else this.#badVerb(verb, arg);
        return;
      case 'int':
        this.#fmtIntegerVerb(BigInt.asUintN(64, arg.v), true, verb, arg);
        return;
      case 'uint64':
        this.#fmtIntegerVerb(arg.v, false, verb, arg);
        return;
      case 'float64':
        this.#fmtFloatVerb(arg.v, verb, arg);
        return;
      case 'string':
        this.#fmtStringVerb(arg.v, verb, arg);
        return;
      case 'secret':
        this.#fmtStringVerb(REDACTED, verb, arg);
        return;
      case 'opaque':
        if (verb === 'v' || verb === 's') this.#pad(arg.text);
        else this.#badVerb(verb, arg);
        return;
      case 'slice':
        if (this.sharpV) {
          this.buf += '[]interface {}{';
          arg.v.forEach((e, n) => {
            if (n > 0) this.buf += ', ';
            this.#printValue(e, verb);
          });
          this.buf += '}';
        } else {
          this.buf += '[';
          arg.v.forEach((e, n) => {
            if (n > 0) this.buf += ' ';
            this.#printValue(e, verb);
          });
          this.buf += ']';
        }
        return;
      case 'map':
        this.buf += this.sharpV ? 'map[string]interface {}{' : 'map[';
        arg.v.forEach(([k, v], n) => {
          if (n > 0) this.buf += this.sharpV ? ', ' : ' ';
          this.#printValue({ t: 'string', v: k }, verb);
          this.buf += ':';
          this.#printValue(v, verb);
        });
        this.buf += this.sharpV ? '}' : ']';
        return;
    }
  }

  // --- integers ------------------------------------------------------------------------

  #fmtIntegerVerb(u: bigint, isSigned: boolean, verb: string, arg: GoArg): void {
    switch (verb) {
      case 'v':
        if (this.sharpV && !isSigned) {
          const sharp = this.sharp;
          this.sharp = true;
          this.#fmtInteger(u, 16, false, 'v', LDIGITS);
          this.sharp = sharp;
        } else {
          this.#fmtInteger(u, 10, isSigned, verb, LDIGITS);
        }
        return;
      case 'd':
        this.#fmtInteger(u, 10, isSigned, verb, LDIGITS);
        return;
      case 'b':
        this.#fmtInteger(u, 2, isSigned, verb, LDIGITS);
        return;
      case 'o':
      case 'O':
        this.#fmtInteger(u, 8, isSigned, verb, LDIGITS);
        return;
      case 'x':
        this.#fmtInteger(u, 16, isSigned, verb, LDIGITS);
        return;
      case 'X':
        this.#fmtInteger(u, 16, isSigned, verb, UDIGITS);
        return;
      case 'c':
        this.#pad(String.fromCodePoint(validRune(u)));
        return;
      case 'q': {
        const ch = String.fromCodePoint(validRune(u));
        this.#pad(`'${this.plus ? quoteRuneAscii(ch) : quoteRune(ch, "'")}'`);
        return;
      }
      case 'U':
        this.#fmtUnicode(u);
        return;
      default:
        this.#badVerb(verb, arg);
    }
  }

  /** Go's `fmt.fmtInteger`: `u` holds the 64 bits of the value. */
  #fmtInteger(value: bigint, base: number, isSigned: boolean, verb: string, digits: string): void {
    const negative = isSigned && BigInt.asIntN(64, value) < 0n;
    const u = negative ? BigInt.asUintN(64, -BigInt.asIntN(64, value)) : value;

    let prec = 0;
    if (this.precPresent) {
      prec = this.prec;
      if (prec === 0 && u === 0n) {
        const zero = this.zero;
        this.zero = false;
        this.#writePadding(this.wid);
        this.zero = zero;
        return;
      }
    } else if (this.zero && !this.minus && this.widPresent) {
      prec = this.wid;
      if (negative || this.plus || this.space) prec--;
    }

    let s = u.toString(base);
    if (digits === UDIGITS) s = s.toUpperCase();
    if (s.length < prec) s = '0'.repeat(prec - s.length) + s;

    if (this.sharp) {
      if (base === 2) s = `0b${s}`;
      else if (base === 8 && !s.startsWith('0')) s = `0${s}`;
      else if (base === 16) s = `0${digits[16] ?? 'x'}${s}`;
    }
    if (verb === 'O') s = `0o${s}`;
    if (negative) s = `-${s}`;
    else if (this.plus) s = `+${s}`;
    else if (this.space) s = ` ${s}`;
    this.#padNoZero(s);
  }

  /** `%U`: `U+0041`, with `#` also the character: `U+0041 'A'`. */
  #fmtUnicode(u: bigint): void {
    const prec = this.precPresent && this.prec > 4 ? this.prec : 4;
    let s = u.toString(16).toUpperCase();
    if (s.length < prec) s = '0'.repeat(prec - s.length) + s;
    s = `U+${s}`;
    if (this.sharp && u <= 0x10ffffn && isGoPrintable(Number(u))) s += ` '${String.fromCodePoint(Number(u))}'`;
    this.#padNoZero(s);
  }

  // --- floats --------------------------------------------------------------------------

  #fmtFloatVerb(v: number, verb: string, arg: GoArg): void {
    switch (verb) {
      case 'v':
        this.#fmtFloat(v, 'g', -1);
        return;
      case 'b':
      case 'g':
      case 'G':
      case 'x':
      case 'X':
        this.#fmtFloat(v, verb, -1);
        return;
      case 'f':
      case 'e':
      case 'E':
        this.#fmtFloat(v, verb, 6);
        return;
      case 'F':
        this.#fmtFloat(v, 'f', 6);
        return;
      default:
        this.#badVerb(verb, arg);
    }
  }

  /** Go's `fmt.fmtFloat`. */
  #fmtFloat(v: number, verb: FloatFormat, defaultPrec: number): void {
    const prec = this.precPresent ? this.prec : defaultPrec;
    const formatted = formatGoFloat(v, verb, prec);
    let num = formatted.startsWith('-') || formatted.startsWith('+') ? formatted : `+${formatted}`;
    if (this.space && num.startsWith('+') && !this.plus) num = ` ${num.slice(1)}`;
    if (num[1] === 'I' || num[1] === 'N') {
      if (num[1] === 'N' && !this.space && !this.plus) num = num.slice(1);
      this.#padNoZero(num);
      return;
    }
    if (this.sharp && verb !== 'b') {
      let digits = 0;
      if (verb === 'g' || verb === 'G' || verb === 'x') digits = prec === -1 ? 6 : prec;
      let tail = '';
      let body = num;
      let hasDecimalPoint = false;
      let sawNonzeroDigit = false;
      for (let i = 1; i < body.length; i++) {
        const c = body[i];
        if (c === '.') {
          hasDecimalPoint = true;
        } else if (c === 'p' || c === 'P' || ((c === 'e' || c === 'E') && verb !== 'x' && verb !== 'X')) {
          tail = body.slice(i);
          body = body.slice(0, i);
          break;
        } else {
          if (c !== '0') sawNonzeroDigit = true;
          if (sawNonzeroDigit) digits--;
        }
      }
      if (!hasDecimalPoint) {
        if (body.length === 2 && body[1] === '0') digits--;
        body += '.';
      }
      if (digits > 0) body += '0'.repeat(digits);
      num = body + tail;
    }
    if (this.plus || !num.startsWith('+')) {
      if (this.zero && !this.minus && this.widPresent && this.wid > num.length) {
        this.buf += num[0] ?? '';
        this.#writePadding(this.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.#pad(num);
      return;
    }
    this.#pad(num.slice(1));
  }

  // --- strings -------------------------------------------------------------------------

  #fmtStringVerb(v: string, verb: string, arg: GoArg): void {
    switch (verb) {
      case 'v':
        if (this.sharpV) this.#fmtQ(v);
        else this.#fmtS(v);
        return;
      case 's':
        this.#fmtS(v);
        return;
      case 'x':
        this.#fmtSx(v, LDIGITS);
        return;
      case 'X':
        this.#fmtSx(v, UDIGITS);
        return;
      case 'q':
        this.#fmtQ(v);
        return;
      default:
        this.#badVerb(verb, arg);
    }
  }

  #truncate(s: string): string {
    if (!this.precPresent) return s;
    let n = this.prec;
    let i = 0;
    for (const ch of s) {
      n--;
      if (n < 0) return s.slice(0, i);
      i += ch.length;
    }
    return s;
  }

  #fmtS(s: string): void {
    this.#pad(this.#truncate(s));
  }

  #fmtSx(s: string, digits: string): void {
    const bytes = utf8.encode(s);
    let length = bytes.length;
    if (this.precPresent && this.prec < length) length = this.prec;
    let width = 2 * length;
    if (width > 0) {
      if (this.space) {
        if (this.sharp) width *= 2;
        width += length - 1;
      } else if (this.sharp) {
        width += 2;
      }
    } else {
      if (this.widPresent) this.#writePadding(this.wid);
      return;
    }
    if (this.widPresent && this.wid > width && !this.minus) this.#writePadding(this.wid - width);
    const prefix = `0${digits[16] ?? 'x'}`;
    let out = this.sharp ? prefix : '';
    for (let i = 0; i < length; i++) {
      if (this.space && i > 0) {
        out += ' ';
        if (this.sharp) out += prefix;
      }
      const c = bytes[i] ?? 0;
      out += (digits[c >> 4] ?? '') + (digits[c & 0xf] ?? '');
    }
    this.buf += out;
    if (this.widPresent && this.wid > width && this.minus) this.#writePadding(this.wid - width);
  }

  #fmtQ(v: string): void {
    const s = this.#truncate(v);
    if (this.sharp && canBackquote(s)) {
      this.#pad(`\`${s}\``);
      return;
    }
    this.#pad(this.plus ? quoteAscii(s) : goQuote(s));
  }
}

/** `rune(c)`, with U+FFFD for values that are not a valid code point (as Go encodes them). */
function validRune(u: bigint): number {
  if (u > 0x10ffffn) return 0xfffd;
  const c = Number(u);
  return c >= 0xd800 && c <= 0xdfff ? 0xfffd : c;
}

/** Go's `strconv.CanBackquote`. */
function canBackquote(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c === 0xfeff || (c >= 0xd800 && c <= 0xdfff)) return false;
    if ((c < 0x20 && c !== 0x09) || c === 0x60 || c === 0x7f) return false;
  }
  return true;
}

/** One character of Go's `strconv.QuoteToASCII` (non-ASCII becomes `\u`/`\U`). */
function quoteRuneAscii(ch: string, quote: '"' | "'" = "'"): string {
  const c = ch.codePointAt(0) ?? 0xfffd;
  if (c < 0x80) return quoteRune(ch, quote);
  if (c >= 0xd800 && c <= 0xdfff) return '\\ufffd';
  return c < 0x10000 ? `\\u${c.toString(16).padStart(4, '0')}` : `\\U${c.toString(16).padStart(8, '0')}`;
}

/** Go's `strconv.QuoteToASCII`. */
function quoteAscii(s: string): string {
  let out = '"';
  for (const ch of s) out += quoteRuneAscii(ch, '"');
  return `${out}"`;
}

// ---------------------------------------------------------------------------------------------
// strconv.FormatFloat

/** The formats of Go's `strconv.FormatFloat`. */
export type FloatFormat = 'b' | 'e' | 'E' | 'f' | 'g' | 'G' | 'x' | 'X';

/** Decimal digits `0.d1d2…dn × 10^dp` (no leading or trailing zeros; empty for zero). */
interface Decimal {
  d: string;
  dp: number;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** Sign, 53-bit mantissa and binary exponent: `|f| = mant × 2^exp`. */
function floatBits(f: number): { neg: boolean; mant: bigint; exp: number; biased: number } {
  f64[0] = f;
  const bits = u64[0] ?? 0n;
  const neg = bits >> 63n === 1n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  if (biased === 0) return { neg, mant: frac, exp: -1074, biased };
  return { neg, mant: frac | (1n << 52n), exp: biased - 1075, biased };
}

/** The exact decimal expansion of `|f|` (finite). */
function exactDecimal(f: number): Decimal {
  const { mant, exp } = floatBits(f);
  if (mant === 0n) return { d: '', dp: 0 };
  let digits: string;
  let dp: number;
  if (exp >= 0) {
    digits = (mant << BigInt(exp)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-exp)).toString();
    dp = digits.length + exp;
  }
  return { d: digits.replace(/0+$/, ''), dp };
}

/** The shortest digits that read back as `|f|` (finite), as Go's shortest formatting finds them. */
function shortestDecimal(f: number): Decimal {
  if (f === 0) return { d: '', dp: 0 };
  const text = Math.abs(f).toExponential();
  const e = text.indexOf('e');
  return { d: text.slice(0, e).replace('.', '').replace(/0+$/, ''), dp: Number(text.slice(e + 1)) + 1 };
}

/** Go's `decimal.Round(nd)`: round half to even at `nd` digits. */
function roundDecimal(a: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= a.d.length) return a;
  const next = a.d.charCodeAt(nd) - 48;
  let up: boolean;
  if (next === 5 && nd + 1 === a.d.length) up = nd > 0 && (a.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = next >= 5;
  if (!up) return { d: a.d.slice(0, nd).replace(/0+$/, ''), dp: a.dp };
  let i = nd - 1;
  while (i >= 0 && a.d[i] === '9') i--;
  if (i < 0) return { d: '1', dp: a.dp + 1 };
  return { d: a.d.slice(0, i) + String.fromCharCode(a.d.charCodeAt(i) + 1), dp: a.dp };
}

function fmtE(neg: boolean, d: Decimal, prec: number, fmt: 'e' | 'E'): string {
  let out = neg ? '-' : '';
  out += d.d[0] ?? '0';
  if (prec > 0) {
    out += '.';
    const frac = d.d.slice(1, prec + 1);
    out += frac + '0'.repeat(prec - frac.length);
  }
  let exp = d.d === '' ? 0 : d.dp - 1;
  const sign = exp < 0 ? '-' : '+';
  exp = Math.abs(exp);
  return `${out}${fmt}${sign}${exp < 10 ? `0${exp}` : String(exp)}`;
}

function fmtF(neg: boolean, d: Decimal, prec: number): string {
  let out = neg ? '-' : '';
  if (d.dp > 0) {
    const int = d.d.slice(0, d.dp);
    out += int + '0'.repeat(d.dp - int.length);
  } else {
    out += '0';
  }
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) {
      const j = d.dp + i - 1;
      out += d.d[j] ?? '0';
    }
  }
  return out;
}

/** `%b`: `mantissa p ± exponent`. */
function fmtB(f: number): string {
  const { neg, mant, exp } = floatBits(f);
  return `${neg ? '-' : ''}${mant.toString()}p${exp >= 0 ? '+' : '-'}${Math.abs(exp)}`;
}

/** `%x`: `0x1.8p+01`, as Go's `fmtX`. */
function fmtX(f: number, prec: number, fmt: 'x' | 'X'): string {
  const bits = floatBits(f);
  let mant = bits.mant;
  let exp = bits.biased === 0 ? -1022 : bits.biased - 1023;
  if (mant === 0n) exp = 0;
  const mask60 = (1n << 60n) - 1n;
  mant <<= 8n; // leading 1 (if any) at bit 60
  while (mant !== 0n && (mant & (1n << 60n)) === 0n) {
    mant <<= 1n;
    exp--;
  }
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4);
    const extra = (mant << shift) & mask60;
    mant >>= 60n - shift;
    if ((extra | (mant & 1n)) > 1n << 59n) mant++;
    mant <<= 60n - shift;
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n;
      exp++;
    }
  }
  const hex = fmt === 'X' ? '0123456789ABCDEF' : '0123456789abcdef';
  let out = `${bits.neg ? '-' : ''}0${fmt}${(mant >> 60n) & 1n}`;
  mant = (mant << 4n) & ((1n << 64n) - 1n);
  if (prec < 0 && mant !== 0n) {
    out += '.';
    while (mant !== 0n) {
      out += hex[Number((mant >> 60n) & 15n)] ?? '';
      mant = (mant << 4n) & ((1n << 64n) - 1n);
    }
  } else if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) {
      out += hex[Number((mant >> 60n) & 15n)] ?? '';
      mant = (mant << 4n) & ((1n << 64n) - 1n);
    }
  }
  const sign = exp < 0 ? '-' : '+';
  const e = Math.abs(exp);
  return `${out}${fmt === 'X' ? 'P' : 'p'}${sign}${e < 10 ? `0${e}` : String(e)}`;
}

/**
 * Go's `strconv.FormatFloat(f, fmt, prec, 64)`: `prec` -1 means the shortest text that reads
 * back exactly; otherwise digits are rounded half to even from the exact binary value, so
 * `%.0f` of 2.5 is `2` and of 3.5 is `4`.
 */
export function formatGoFloat(f: number, fmt: FloatFormat, prec: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (fmt === 'b') return fmtB(f);
  if (fmt === 'x' || fmt === 'X') return fmtX(f, prec, fmt);
  const neg = f < 0 || Object.is(f, -0);
  const shortest = prec < 0;
  let d: Decimal;
  let p = prec;
  if (shortest) {
    d = shortestDecimal(f);
    if (fmt === 'e' || fmt === 'E') p = Math.max(d.d.length - 1, 0);
    else if (fmt === 'f') p = Math.max(d.d.length - d.dp, 0);
    else p = d.d.length;
  } else {
    d = exactDecimal(f);
    if (fmt === 'e' || fmt === 'E') d = roundDecimal(d, p + 1);
    else if (fmt === 'f') d = roundDecimal(d, d.dp + p);
    else {
      if (p === 0) p = 1;
      d = roundDecimal(d, p);
    }
  }
  if (fmt === 'e' || fmt === 'E') return fmtE(neg, d, p, fmt);
  if (fmt === 'f') return fmtF(neg, d, p);
  // %g / %G
  let eprec = p;
  if (eprec > d.d.length && d.d.length >= d.dp) eprec = d.d.length;
  if (shortest) eprec = 6;
  const exp = d.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (p > d.d.length) p = d.d.length;
    return fmtE(neg, d, p - 1, fmt === 'g' ? 'e' : 'E');
  }
  if (p > d.dp) p = d.d.length;
  return fmtF(neg, d, Math.max(p - d.dp, 0));
}
