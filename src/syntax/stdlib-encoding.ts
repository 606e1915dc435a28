/**
 * Base64 and URL query encodings for the standard library, with the behaviour and error
 * messages of Go's `encoding/base64` (`StdEncoding`, `URLEncoding`) and `net/url`
 * (`QueryEscape`, `QueryUnescape`), which Alloy's `encoding.*` functions call.
 *
 * Pure; never throws.
 */

import { decodeUtf8, goQuote } from './value.ts';

const STD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Which base64 alphabet: standard (`+/`) or URL-safe (`-_`); both padded with `=`. */
export type Base64Alphabet = 'std' | 'url';

function decodeMap(alphabet: string): Int16Array {
  const map = new Int16Array(256).fill(-1);
  for (let i = 0; i < alphabet.length; i++) map[alphabet.charCodeAt(i)] = i;
  return map;
}

const DECODE = { std: decodeMap(STD_ALPHABET), url: decodeMap(URL_ALPHABET) } as const;
const ALPHABET = { std: STD_ALPHABET, url: URL_ALPHABET } as const;
const PAD = 0x3d;

function isNewline(c: number | undefined): boolean {
  return c === 0x0a || c === 0x0d;
}

function corrupt(at: number): { readonly error: string } {
  return { error: `illegal base64 data at input byte ${at}` };
}

/**
 * Go's `Encoding.DecodeString` for a padded encoding: the bytes, or Go's error
 * (`illegal base64 data at input byte N`, N counting input bytes). Newlines are skipped.
 */
export function decodeBase64(src: Uint8Array, alphabet: Base64Alphabet): { bytes: Uint8Array } | { error: string } {
  const map = DECODE[alphabet];
  const out: number[] = [];
  let si = 0;
  while (si < src.length) {
    // One quantum: up to four symbols (Go's decodeQuantum).
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let j = 0;
    let trailing: number | undefined;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return { bytes: Uint8Array.from(out) };
        return corrupt(si - j);
      }
      const c = src[si] ?? 0;
      si++;
      const v = map[c] ?? -1;
      if (v >= 0) {
        dbuf[j] = v;
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== PAD) return corrupt(si - 1);
      // Padding: the end of the data.
      if (j === 0 || j === 1) return corrupt(si - 1);
      if (j === 2) {
        while (si < src.length && isNewline(src[si])) si++;
        if (si === src.length) return corrupt(src.length);
        if (src[si] !== PAD) return corrupt(si - 1);
        si++;
      }
      while (si < src.length && isNewline(src[si])) si++;
      if (si < src.length) trailing = si;
      dlen = j;
      break;
    }
    const val = ((dbuf[0] ?? 0) << 18) | ((dbuf[1] ?? 0) << 12) | ((dbuf[2] ?? 0) << 6) | (dbuf[3] ?? 0);
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    out.push(...bytes.slice(0, dlen - 1));
    if (trailing !== undefined) return corrupt(trailing);
    if (dlen < 4) break;
  }
  return { bytes: Uint8Array.from(out) };
}

/** Go's `Encoding.EncodeToString` (padded). */
export function encodeBase64(src: Uint8Array, alphabet: Base64Alphabet): string {
  const chars = ALPHABET[alphabet];
  let out = '';
  let i = 0;
  for (; i + 2 < src.length; i += 3) {
    const v = ((src[i] ?? 0) << 16) | ((src[i + 1] ?? 0) << 8) | (src[i + 2] ?? 0);
    out += (chars[(v >> 18) & 63] ?? '') + (chars[(v >> 12) & 63] ?? '');
    out += (chars[(v >> 6) & 63] ?? '') + (chars[v & 63] ?? '');
  }
  const rest = src.length - i;
  if (rest > 0) {
    const v = ((src[i] ?? 0) << 16) | (rest === 2 ? (src[i + 1] ?? 0) << 8 : 0);
    out += (chars[(v >> 18) & 63] ?? '') + (chars[(v >> 12) & 63] ?? '');
    out += rest === 2 ? `${chars[(v >> 6) & 63] ?? ''}=` : '==';
  }
  return out;
}

const HEX_UPPER = '0123456789ABCDEF';

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e
  );
}

/** Go's `url.QueryEscape`: unreserved bytes as they are, space as `+`, the rest `%XX`. */
export function queryEscape(src: Uint8Array): string {
  let out = '';
  for (const c of src) {
    if (isUnreserved(c)) out += String.fromCharCode(c);
    else if (c === 0x20) out += '+';
    else out += `%${HEX_UPPER[c >> 4] ?? ''}${HEX_UPPER[c & 15] ?? ''}`;
  }
  return out;
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * Go's `url.QueryUnescape`: `%XX` and `+` decoded; a bad escape gives
 * `invalid URL escape "%zz"` (the quoted text is at most three bytes of the input).
 */
export function queryUnescape(src: Uint8Array): { bytes: Uint8Array } | { error: string } {
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i] ?? 0;
    if (c === 0x25) {
      const hi = hexValue(src[i + 1]);
      const lo = hexValue(src[i + 2]);
      if (i + 2 >= src.length || hi < 0 || lo < 0) {
        const bad = decodeUtf8(src.subarray(i, i + 3));
        return { error: `invalid URL escape ${goQuote(bad)}` };
      }
      out.push((hi << 4) | lo);
      i += 2;
    } else if (c === 0x2b) {
      out.push(0x20);
    } else {
      out.push(c);
    }
  }
  return { bytes: Uint8Array.from(out) };
}
