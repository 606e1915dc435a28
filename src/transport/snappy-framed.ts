/**
 * The snappy framing format (https://github.com/google/snappy/blob/main/framing_format.txt),
 * which is what the Go Collector's gRPC `snappy` codec sends and accepts (it wraps
 * `github.com/golang/snappy`'s `NewBufferedWriter` / `NewReader`). The `snappy` package
 * supplies the block format; the framing and its CRC-32C are done here, so that the
 * uncompressed size of every chunk is checked against the limit before anything is
 * decompressed.
 *
 * ```
 * stream  = stream-identifier { chunk }
 * chunk   = type(1) length(3, little-endian) body(length)
 * 0xff    stream identifier, body "sNaPpY"; may repeat (concatenated streams)
 * 0x00    compressed data:   masked CRC-32C(4, LE) of the uncompressed data, snappy block
 * 0x01    uncompressed data: masked CRC-32C(4, LE), the data
 * 0xfe    padding; 0x80–0xfd reserved skippable; 0x02–0x7f reserved unskippable (an error)
 * ```
 *
 * A data chunk holds at most 65,536 uncompressed bytes.
 */

import { compress as compressBlock, uncompress as uncompressBlock } from 'snappy';

import { crc32c } from './crc32c.ts';

/** Largest uncompressed size of one data chunk. */
const MAX_CHUNK_BYTES = 65_536;
const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_STREAM_IDENTIFIER = 0xff;
/** `ff 06 00 00 "sNaPpY"` */
const STREAM_IDENTIFIER = Uint8Array.of(0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59);
const CHUNK_HEADER_BYTES = 4;
const CRC_BYTES = 4;

/** The checksum as stored in a chunk: rotated right by 15 bits plus a constant. */
export function maskChecksum(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Outcome of {@link decodeFramedSnappy}, shaped like `DecompressResult` of `compression.ts`. */
export type FramedDecodeResult =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly reason: 'too-large' | 'corrupt'; readonly message: string };

/**
 * Compresses `data` into a framed snappy stream: the stream identifier, then one chunk per
 * 64 KiB of input, stored uncompressed when snappy saves less than 1/8 (as golang/snappy
 * does). Empty input gives the stream identifier alone. The chunks are compressed
 * concurrently on the libuv thread pool.
 *
 * Safe to call concurrently; `data` is only read. Rejects only if the native codec fails
 * (out of memory).
 */
export async function encodeFramedSnappy(data: Uint8Array): Promise<Uint8Array> {
  const chunkCount = Math.ceil(data.length / MAX_CHUNK_BYTES);
  const pending: Promise<Buffer>[] = new Array<Promise<Buffer>>(chunkCount);
  for (let c = 0; c < chunkCount; c++) {
    pending[c] = compressBlock(data.subarray(c * MAX_CHUNK_BYTES, (c + 1) * MAX_CHUNK_BYTES));
  }
  const blocks = await Promise.all(pending);

  let size = STREAM_IDENTIFIER.length;
  const useBlock = new Array<boolean>(chunkCount);
  for (let c = 0; c < chunkCount; c++) {
    const rawLength = Math.min(MAX_CHUNK_BYTES, data.length - c * MAX_CHUNK_BYTES);
    const block = blocks[c] as Buffer;
    const compressed = block.length < rawLength - (rawLength >>> 3);
    useBlock[c] = compressed;
    size += CHUNK_HEADER_BYTES + CRC_BYTES + (compressed ? block.length : rawLength);
  }

  const out = Buffer.allocUnsafe(size);
  out.set(STREAM_IDENTIFIER, 0);
  let pos = STREAM_IDENTIFIER.length;
  for (let c = 0; c < chunkCount; c++) {
    const start = c * MAX_CHUNK_BYTES;
    const end = Math.min(data.length, start + MAX_CHUNK_BYTES);
    const body = useBlock[c] === true ? (blocks[c] as Buffer) : data.subarray(start, end);
    const length = CRC_BYTES + body.length;
    out[pos] = useBlock[c] === true ? CHUNK_COMPRESSED : CHUNK_UNCOMPRESSED;
    out[pos + 1] = length & 0xff;
    out[pos + 2] = (length >>> 8) & 0xff;
    out[pos + 3] = length >>> 16;
    out.writeUInt32LE(maskChecksum(crc32c(data, start, end)), pos + 4);
    out.set(body, pos + 8);
    pos += CHUNK_HEADER_BYTES + length;
  }
  return out;
}

/** One data chunk found by the first pass of {@link decodeFramedSnappy}. */
interface DataChunk {
  readonly compressed: boolean;
  /** Where the body starts and ends (after the checksum), in the input. */
  readonly start: number;
  readonly end: number;
  readonly maskedCrc: number;
  /** Uncompressed length: the block's declared length, or the body length. */
  readonly length: number;
}

/**
 * Reads the varint length preamble of a snappy block at `data[start, end)`: the block's
 * uncompressed length, or -1 when the preamble is truncated or longer than 32 bits.
 */
export function snappyBlockLength(data: Uint8Array, start = 0, end = data.length): number {
  let result = 0;
  for (let i = 0; i < 5 && start + i < end; i++) {
    const b = data[start + i] as number;
    result += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return result <= 0xffffffff ? result : -1;
  }
  return -1;
}

function corrupt(message: string): FramedDecodeResult {
  return { ok: false, reason: 'corrupt', message: `framed snappy data is corrupt: ${message}` };
}

/**
 * Decodes a framed snappy stream of at most `maxBytes` uncompressed bytes. The first pass
 * reads every chunk header and declared length, so a stream that would exceed `maxBytes`
 * is refused before anything is allocated or decompressed; then the blocks are
 * decompressed concurrently on the libuv thread pool and every chunk's CRC-32C checked.
 *
 * Empty input decodes to empty output (as golang/snappy's reader does). Never rejects; safe
 * to call concurrently.
 */
export async function decodeFramedSnappy(data: Uint8Array, maxBytes: number): Promise<FramedDecodeResult> {
  const chunks: DataChunk[] = [];
  let total = 0;
  let pos = 0;
  while (pos < data.length) {
    if (pos + CHUNK_HEADER_BYTES > data.length) return corrupt(`truncated chunk header at byte ${pos}`);
    const type = data[pos] as number;
    const length = (data[pos + 1] as number) | ((data[pos + 2] as number) << 8) | ((data[pos + 3] as number) << 16);
    const bodyStart = pos + CHUNK_HEADER_BYTES;
    const bodyEnd = bodyStart + length;
    if (bodyEnd > data.length) {
      return corrupt(`chunk at byte ${pos} declares ${length} bytes but only ${data.length - bodyStart} remain`);
    }
    if (pos === 0 && type !== CHUNK_STREAM_IDENTIFIER) {
      return corrupt(`the stream does not start with the stream identifier (chunk type 0x${type.toString(16)})`);
    }
    if (type === CHUNK_COMPRESSED || type === CHUNK_UNCOMPRESSED) {
      if (length < CRC_BYTES) return corrupt(`data chunk at byte ${pos} is too short for its checksum`);
      const start = bodyStart + CRC_BYTES;
      const compressed = type === CHUNK_COMPRESSED;
      const chunkLength = compressed ? snappyBlockLength(data, start, bodyEnd) : bodyEnd - start;
      if (chunkLength < 0) return corrupt(`bad block length in the chunk at byte ${pos}`);
      if (chunkLength > MAX_CHUNK_BYTES) {
        return corrupt(`chunk at byte ${pos} holds ${chunkLength} bytes, more than the ${MAX_CHUNK_BYTES} allowed`);
      }
      total += chunkLength;
      if (total > maxBytes) {
        return {
          ok: false,
          reason: 'too-large',
          message: `framed snappy data decompresses to more than the limit of ${maxBytes} bytes`,
        };
      }
      const maskedCrc =
        ((data[bodyStart] as number) |
          ((data[bodyStart + 1] as number) << 8) |
          ((data[bodyStart + 2] as number) << 16) |
          ((data[bodyStart + 3] as number) << 24)) >>>
        0;
      chunks.push({ compressed, start, end: bodyEnd, maskedCrc, length: chunkLength });
    } else if (type === CHUNK_STREAM_IDENTIFIER) {
      if (length !== 6 || !STREAM_IDENTIFIER.every((b, i) => data[pos + i] === b)) {
        return corrupt(`bad stream identifier at byte ${pos}`);
      }
    } else if (type < 0x80) {
      return corrupt(`reserved unskippable chunk type 0x${type.toString(16)} at byte ${pos}`);
    }
    // Padding (0xfe) and reserved skippable chunks (0x80–0xfd) are skipped.
    pos = bodyEnd;
  }

  let blocks: (Uint8Array | undefined)[];
  try {
    blocks = await Promise.all(
      chunks.map((chunk) =>
        chunk.compressed
          ? uncompressBlock(data.subarray(chunk.start, chunk.end), { asBuffer: true }).then(asBytes)
          : Promise.resolve(undefined),
      ),
    );
  } catch (error) {
    return corrupt(`a snappy block does not decode (${error instanceof Error ? error.message : String(error)})`);
  }

  const out = chunks.length === 1 ? undefined : Buffer.allocUnsafe(total);
  let outPos = 0;
  for (let c = 0; c < chunks.length; c++) {
    const chunk = chunks[c] as DataChunk;
    const block = blocks[c];
    const bytes = block ?? data.subarray(chunk.start, chunk.end);
    if (bytes.length !== chunk.length) {
      return corrupt(`chunk ${c} decodes to ${bytes.length} bytes but declares ${chunk.length}`);
    }
    if (maskChecksum(crc32c(bytes)) !== chunk.maskedCrc) return corrupt(`checksum mismatch in chunk ${c}`);
    if (out === undefined) return { ok: true, bytes };
    out.set(bytes, outPos);
    outPos += bytes.length;
  }
  return { ok: true, bytes: out ?? new Uint8Array(0) };
}

function asBytes(value: string | Buffer): Uint8Array {
  if (typeof value === 'string') throw new TypeError('snappy returned a string although asBuffer was set');
  return value;
}
