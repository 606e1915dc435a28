/**
 * Source text of a configuration file and the mapping from byte offsets to the line:column
 * positions that diagnostics report.
 *
 * Alloy works on UTF-8 bytes, and so does this package: every position in the AST is a
 * {@link Pos}, a byte offset into {@link SourceFile.bytes}. A column is the byte offset
 * within its line plus one, exactly as Alloy reports it (`métrica = 1 2` puts the stray `2`
 * at column 14, not 13); a tab counts as one column and a leading byte-order mark counts
 * towards the columns of line 1. Lines are split on `\n` only, so `\r` is part of a line.
 */

/** A byte offset into a {@link SourceFile}'s bytes, 0-based. */
export type Pos = number;

/** A human-facing position: 1-based line, 1-based column counted in UTF-8 bytes. */
export interface Position {
  /** The file name given to the {@link SourceFile}; `''` when there is none. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/**
 * One configuration file: its name, its UTF-8 bytes and its line table. Immutable; safe to
 * share between concurrent readers.
 */
export class SourceFile {
  /** File name used in diagnostics (may be empty). */
  readonly name: string;
  /** The UTF-8 encoded text, exactly as read (a BOM, if any, is kept). */
  readonly bytes: Uint8Array;
  /** Byte offset of the first byte of every line; `lineStarts[0]` is 0. */
  readonly lineStarts: readonly number[];
  /** True when every byte is ASCII, so that byte offsets are also string indices. */
  readonly #isAscii: boolean;
  #decoded: string | undefined;

  constructor(name: string, bytes: Uint8Array) {
    this.name = name;
    this.bytes = bytes;
    const starts = [0];
    let ascii = true;
    for (let i = 0, n = bytes.length; i < n; i++) {
      const b = bytes[i] ?? 0;
      if (b === 0x0a) starts.push(i + 1);
      else if (b >= 0x80) ascii = false;
    }
    this.lineStarts = starts;
    this.#isAscii = ascii;
  }

  /** A source file holding `text` encoded as UTF-8 (lone surrogates become U+FFFD). */
  static fromText(name: string, text: string): SourceFile {
    return new SourceFile(name, utf8Encoder.encode(text));
  }

  /** Number of bytes. */
  get size(): number {
    return this.bytes.length;
  }

  /** The whole file as a string (invalid UTF-8 sequences become U+FFFD). */
  get content(): string {
    this.#decoded ??= utf8Decoder.decode(this.bytes);
    return this.#decoded;
  }

  /** The text of the bytes `[start, end)`, decoded as UTF-8. */
  text(start: Pos, end: Pos): string {
    if (this.#isAscii) return this.content.slice(start, end);
    return utf8Decoder.decode(this.bytes.subarray(start, end));
  }

  /** 1-based line number of the byte at `offset` (offsets past the end are on the last line). */
  line(offset: Pos): number {
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  /** The {@link Position} of the byte at `offset`. */
  position(offset: Pos): Position {
    const line = this.line(offset);
    return { file: this.name, line, column: offset - (this.lineStarts[line - 1] ?? 0) + 1 };
  }

  /** Number of lines (a file ending in `\n` has an empty last line). */
  get lineCount(): number {
    return this.lineStarts.length;
  }

  /** The text of 1-based line `line` without its `\n`; `''` for a line that does not exist. */
  lineText(line: number): string {
    const start = this.lineStarts[line - 1];
    if (start === undefined) return '';
    const next = this.lineStarts[line];
    return this.text(start, next === undefined ? this.bytes.length : next - 1);
  }
}

/** Number of bytes `text` takes in UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD). */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        // A surrogate pair: 2 UTF-16 units, 4 bytes.
        n += 2;
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

/**
 * Decodes the UTF-8 sequence that starts at `bytes[offset]` (which must be in range), with Go's
 * `utf8.DecodeRune` rules: overlong forms, surrogates and code points above U+10FFFF are
 * invalid. Returns the code point, or -1 when the bytes are not valid UTF-8 (the caller then
 * treats the one byte at `offset` as U+FFFD, as Go does). The width of a valid result is
 * {@link runeWidth} of it.
 */
export function decodeRune(bytes: Uint8Array, offset: number): number {
  const n = bytes.length;
  const b0 = bytes[offset] ?? 0;
  if (b0 < 0x80) return b0;
  if (b0 < 0xc2 || b0 > 0xf4 || offset + 1 >= n) return -1;
  const b1 = bytes[offset + 1] ?? 0;
  if (b0 < 0xe0) return (b1 & 0xc0) === 0x80 ? ((b0 & 0x1f) << 6) | (b1 & 0x3f) : -1;
  // The second byte's range depends on the first (no overlong forms, no surrogates, ≤ U+10FFFF).
  const lo = b0 === 0xe0 ? 0xa0 : b0 === 0xf0 ? 0x90 : 0x80;
  const hi = b0 === 0xed ? 0x9f : b0 === 0xf4 ? 0x8f : 0xbf;
  if (b1 < lo || b1 > hi || offset + 2 >= n) return -1;
  const b2 = bytes[offset + 2] ?? 0;
  if ((b2 & 0xc0) !== 0x80) return -1;
  if (b0 < 0xf0) return ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
  if (offset + 3 >= n) return -1;
  const b3 = bytes[offset + 3] ?? 0;
  if ((b3 & 0xc0) !== 0x80) return -1;
  return ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
}

/** Number of UTF-8 bytes of code point `cp` (1 to 4). */
export function runeWidth(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}
