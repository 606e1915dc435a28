/**
 * CRC-32C (Castagnoli; iSCSI, SCTP, ext4, and the snappy framing format's checksum):
 * reflected, polynomial 0x1EDC6F41 (0x82F63B78 reversed), initial value and final XOR
 * 0xFFFFFFFF. Check value: `crc32c("123456789") === 0xE3069283`.
 *
 * Node has CRC-32/IEEE in `node:zlib` but no CRC-32C, and framed snappy checksums every
 * byte it carries, so this runs slicing-by-16 over sixteen 256-entry tables built once at
 * module load, reading aligned 32-bit words on little-endian hosts (~1.7 GB/s on the dev
 * machine, against ~0.5 GB/s for slicing-by-8 over single bytes).
 */

const SLICES = 16;

/** Sixteen 256-entry tables, table `k` at offset `256 * k`. Never written after module load. */
const TABLES: Int32Array = buildTables(0x82f63b78);

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function buildTables(reversedPolynomial: number): Int32Array {
  const tables = new Int32Array(SLICES * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) {
      c = c & 1 ? (c >>> 1) ^ reversedPolynomial : c >>> 1;
    }
    tables[n] = c;
  }
  // Table k advances the CRC of one byte followed by k zero bytes.
  for (let k = 1; k < SLICES; k++) {
    for (let n = 0; n < 256; n++) {
      const previous = tables[(k - 1) * 256 + n] as number;
      tables[k * 256 + n] = (previous >>> 8) ^ (tables[previous & 0xff] as number);
    }
  }
  return tables;
}

/**
 * Returns the CRC-32C of `bytes[start, end)` as an unsigned 32-bit integer (0 … 2³² − 1).
 * The bytes are only read. Pure and safe to call concurrently.
 *
 * @param start first byte to checksum; defaults to 0.
 * @param end one past the last byte; defaults to `bytes.length`.
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = TABLES;
  let crc = -1;
  let i = start;
  if (IS_LITTLE_ENDIAN && end - i >= 64) {
    // Bytes up to a 4-byte boundary of the underlying buffer, then 16 bytes per step as words.
    while (((bytes.byteOffset + i) & 3) !== 0) {
      crc = (t[(crc ^ (bytes[i++] as number)) & 0xff] as number) ^ (crc >>> 8);
    }
    const words = new Int32Array(bytes.buffer, bytes.byteOffset + i, (end - i) >>> 2);
    const wordsEnd = (words.length >>> 2) << 2;
    for (let w = 0; w < wordsEnd; w += 4) {
      const a = crc ^ (words[w] as number);
      const b = words[w + 1] as number;
      const c = words[w + 2] as number;
      const d = words[w + 3] as number;
      crc =
        (t[3840 + (a & 0xff)] as number) ^
        (t[3584 + ((a >>> 8) & 0xff)] as number) ^
        (t[3328 + ((a >>> 16) & 0xff)] as number) ^
        (t[3072 + (a >>> 24)] as number) ^
        (t[2816 + (b & 0xff)] as number) ^
        (t[2560 + ((b >>> 8) & 0xff)] as number) ^
        (t[2304 + ((b >>> 16) & 0xff)] as number) ^
        (t[2048 + (b >>> 24)] as number) ^
        (t[1792 + (c & 0xff)] as number) ^
        (t[1536 + ((c >>> 8) & 0xff)] as number) ^
        (t[1280 + ((c >>> 16) & 0xff)] as number) ^
        (t[1024 + (c >>> 24)] as number) ^
        (t[768 + (d & 0xff)] as number) ^
        (t[512 + ((d >>> 8) & 0xff)] as number) ^
        (t[256 + ((d >>> 16) & 0xff)] as number) ^
        (t[d >>> 24] as number);
    }
    i += wordsEnd * 4;
  }
  while (i < end) {
    crc = (t[(crc ^ (bytes[i++] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ -1) >>> 0;
}
