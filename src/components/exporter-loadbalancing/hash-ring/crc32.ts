/**
 * CRC-32/IEEE (the zlib, PNG and Ethernet checksum; Go's `crc32.ChecksumIEEE`): reflected,
 * polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF. Check value:
 * `crc32("123456789") === 0xCBF43926`.
 *
 * The upstream-compatible hash rings hash every routing key with it, so it sits on the hot
 * path. It runs slicing-by-8 over eight 256-entry tables built once at module load; pure
 * JavaScript beats `node:zlib`'s native `crc32` for the short keys (16 to 40 bytes) we hash,
 * because crossing into C++ costs more than the checksum itself.
 */

/** Eight 256-entry tables, table `k` at offset `256 * k`. Never written after module load. */
const TABLES: Uint32Array = buildTables(0xedb88320);

function buildTables(reversedPolynomial: number): Uint32Array {
  const tables = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) {
      c = c & 1 ? (c >>> 1) ^ reversedPolynomial : c >>> 1;
    }
    tables[n] = c;
  }
  // Table k advances the CRC of one byte followed by k zero bytes.
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const previous = tables[(k - 1) * 256 + n] as number;
      tables[k * 256 + n] = (previous >>> 8) ^ (tables[previous & 0xff] as number);
    }
  }
  return tables;
}

/**
 * Returns the CRC-32/IEEE of `bytes[start, end)` as an unsigned 32-bit integer
 * (0 … 2³² − 1). The bytes are only read.
 *
 * Pure and safe to call concurrently.
 *
 * @param start first byte to hash; defaults to 0.
 * @param end one past the last byte to hash; defaults to `bytes.length`.
 * @throws RangeError unless `0 <= start <= end <= bytes.length` (all integers).
 */
export function crc32(bytes: Uint8Array, start = 0, end: number = bytes.length): number {
  return crc32Update(0, bytes, start, end);
}

/**
 * Extends a CRC-32/IEEE with more bytes, as Go's `crc32.Update(crc, crc32.IEEETable, p)`:
 * `crc32Update(crc32(a), b) === crc32(a ‖ b)`, and `crc32Update(0, b) === crc32(b)`.
 * Lets a caller hash a common prefix once and then each of several suffixes.
 *
 * Pure and safe to call concurrently.
 *
 * @param crc the CRC-32 of the bytes before these, as returned by {@link crc32} (0 for none).
 * @param start first byte to hash; defaults to 0.
 * @param end one past the last byte to hash; defaults to `bytes.length`.
 * @returns the CRC-32 of the preceding bytes followed by `bytes[start, end)`, unsigned.
 * @throws RangeError unless `0 <= start <= end <= bytes.length` (all integers).
 */
export function crc32Update(crc: number, bytes: Uint8Array, start = 0, end: number = bytes.length): number {
  // Checked once here so that every read in the loops below is in bounds.
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= bytes.length)) {
    throw new RangeError(`crc32: invalid range [${start}, ${end}) of a ${bytes.length}-byte array`);
  }
  const t = TABLES;
  let c = ~crc;
  let i = start;
  for (const last8 = end - 8; i <= last8; i += 8) {
    const lo =
      c ^
      ((bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24));
    c =
      (t[1792 + (lo & 0xff)] as number) ^
      (t[1536 + ((lo >>> 8) & 0xff)] as number) ^
      (t[1280 + ((lo >>> 16) & 0xff)] as number) ^
      (t[1024 + (lo >>> 24)] as number) ^
      (t[768 + (bytes[i + 4] as number)] as number) ^
      (t[512 + (bytes[i + 5] as number)] as number) ^
      (t[256 + (bytes[i + 6] as number)] as number) ^
      (t[bytes[i + 7] as number] as number);
  }
  for (; i < end; i++) {
    c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return ~c >>> 0;
}
