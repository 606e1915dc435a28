/**
 * The compression codecs of OTLP over gRPC and HTTP behind one interface: `node:zlib` for
 * gzip, zlib/deflate and zstd, the `snappy` package (prebuilt N-API) for snappy blocks, and
 * `snappy-framed.ts` for the snappy framing format.
 *
 * Formats, and what the peers call them:
 *
 * | kind            | bytes                               | gRPC `grpc-encoding` | HTTP `Content-Encoding` |
 * |-----------------|-------------------------------------|----------------------|-------------------------|
 * | `gzip`          | RFC 1952 gzip                       | `gzip`               | `gzip`                  |
 * | `zlib`          | RFC 1950 zlib (deflate + 2-byte header, Adler-32) | `deflate` (sent), `zlib` (accepted) | `zlib` |
 * | `deflate`       | RFC 1950 zlib when compressing; zlib or raw RFC 1951 when decompressing | `deflate` | `deflate` |
 * | `zstd`          | RFC 8878 zstd frames                | `zstd`               | `zstd`                  |
 * | `snappy`        | snappy block format                 | (not used)           | `snappy`                |
 * | `snappy-framed` | snappy framing format               | `snappy`             | `x-snappy-framed`       |
 * | `none`          | as is                               | `identity`           | `identity` / absent     |
 *
 * `zlib` and `deflate` are the same bytes: HTTP's `deflate` coding is the zlib format
 * (RFC 9110 §8.4.1.2), the Go Collector's confighttp writes `compress/zlib` for both names,
 * and grpc-js (and gRPC core) send zlib-wrapped data under `grpc-encoding: deflate`. The Go
 * Collector's gRPC side knows only gzip, snappy (framed, via golang/snappy) and zstd. A
 * `deflate` decoder also accepts raw deflate, which some HTTP clients send by mistake.
 *
 * Levels are chosen for throughput, because compression is on the forwarding hot path and
 * the hop to a backend is usually a fast network: gzip/zlib level 1 (Go's `BestSpeed`) ran
 * 1.75× faster than level 6 on a 600 KB OTLP request for 10% larger output; zstd level 1
 * ran 1.8× faster than level 3 (its default) for 7% larger output.
 */

import { promisify } from 'node:util';
import zlib from 'node:zlib';

import { compress as compressSnappyBlock, uncompress as uncompressSnappyBlock } from 'snappy';

import { decodeFramedSnappy, encodeFramedSnappy, snappyBlockLength } from './snappy-framed.ts';

/** A compression format; see the module comment for the wire names of each. */
export type Compression = 'gzip' | 'zlib' | 'deflate' | 'zstd' | 'snappy' | 'snappy-framed' | 'none';

/** Every {@link Compression}, for validation and error messages. */
export const COMPRESSIONS: readonly Compression[] = Object.freeze([
  'gzip',
  'zlib',
  'deflate',
  'zstd',
  'snappy',
  'snappy-framed',
  'none',
]);

/**
 * Outcome of {@link decompress}: the bytes, or why there are none. `too-large` means the
 * output would pass `maxBytes` (answer 413 / RESOURCE_EXHAUSTED); `corrupt` means the input
 * is not valid data of that format (answer 400 / INVALID_ARGUMENT or INTERNAL). `message`
 * names the format and the problem, for the client.
 */
export type DecompressResult =
  { ok: true; bytes: Uint8Array } | { ok: false; reason: 'too-large' | 'corrupt'; message: string };

/** gzip and zlib level (1 = fastest … 9 = smallest). */
export const DEFLATE_LEVEL = 1;
/** zstd level (negative = faster … 22 = smallest; zstd's own default is 3). */
export const ZSTD_LEVEL = 1;
/**
 * Smallest bound on the zstd window when decompressing, as a power of two: 8 MiB, the size
 * the zstd specification asks every decoder to support. The bound grows with `maxBytes`
 * (a frame of known size uses its size as its window). Without it a 20-byte frame could
 * declare a 2 GiB window and make the decoder allocate it.
 */
const ZSTD_MIN_WINDOW_LOG = 23;
const ZSTD_MAX_WINDOW_LOG = 30;

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);
const deflateAsync = promisify(zlib.deflate);
const inflateAsync = promisify(zlib.inflate);
const inflateRawAsync = promisify(zlib.inflateRaw);
const zstdCompressAsync = promisify(zlib.zstdCompress);
const zstdDecompressAsync = promisify(zlib.zstdDecompress);

const ZSTD_COMPRESS_PARAMS = Object.freeze({ [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL });

/**
 * zlib's output chunk size for an input of `inputBytes`: zlib's default 16 KiB chunks make
 * large outputs slow (one allocation and one callback per chunk, then a concatenation);
 * 64 KiB–1 MiB chunks sized from the input decompressed 600 KB requests 1.6× faster.
 */
function chunkSizeFor(inputBytes: number, ratio: number): number {
  return Math.min(1 << 20, Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(inputBytes * ratio + 1))));
}

/**
 * Compresses `data` with `kind` (`none` returns `data` itself). The work runs on the libuv
 * thread pool, off the event loop. Safe to call concurrently; `data` is only read and must
 * not change until the promise settles.
 *
 * Rejects only when the native codec fails (out of memory): callers turn that into a
 * permanent failure of the one request.
 */
export async function compress(kind: Compression, data: Uint8Array): Promise<Uint8Array> {
  switch (kind) {
    case 'none':
      return data;
    case 'gzip':
      return gzipAsync(data, { level: DEFLATE_LEVEL, chunkSize: chunkSizeFor(data.length, 0.5) });
    case 'zlib':
    case 'deflate':
      return deflateAsync(data, { level: DEFLATE_LEVEL, chunkSize: chunkSizeFor(data.length, 0.5) });
    case 'zstd':
      return zstdCompressAsync(data, { params: ZSTD_COMPRESS_PARAMS, chunkSize: chunkSizeFor(data.length, 0.5) });
    case 'snappy':
      return compressSnappyBlock(data);
    case 'snappy-framed':
      return encodeFramedSnappy(data);
  }
}

/**
 * Decompresses `data`, producing at most `maxBytes` bytes: the limit is enforced while
 * decompressing (zlib and zstd stop as soon as their output passes it; snappy's declared
 * lengths are checked before anything is decompressed), so a compression bomb never makes
 * it allocate much past `maxBytes`. zstd frames that need a window larger than
 * max(8 MiB, `maxBytes` rounded up to a power of two) are refused as too large.
 *
 * Empty input decodes to empty output for every format. The work runs on the libuv thread
 * pool. Never rejects; safe to call concurrently; `data` is only read and the result may
 * share memory with it (`none`, small framed snappy streams).
 *
 * @param maxBytes largest acceptable output in bytes (≥ 0).
 */
export async function decompress(kind: Compression, data: Uint8Array, maxBytes: number): Promise<DecompressResult> {
  if (data.length === 0) return { ok: true, bytes: data };
  switch (kind) {
    case 'none':
      return data.length <= maxBytes ? { ok: true, bytes: data } : tooLarge(kind, maxBytes);
    case 'gzip':
      return inflateWith(kind, gunzipAsync, data, maxBytes, {});
    case 'zlib':
      return inflateWith(kind, inflateAsync, data, maxBytes, {});
    case 'deflate':
      return inflateWith(kind, hasZlibHeader(data) ? inflateAsync : inflateRawAsync, data, maxBytes, {});
    case 'zstd':
      return inflateWith(kind, zstdDecompressAsync, data, maxBytes, {
        params: { [zlib.constants.ZSTD_d_windowLogMax]: zstdWindowLogMax(maxBytes) },
      });
    case 'snappy':
      return decompressSnappyBlock(data, maxBytes);
    case 'snappy-framed':
      return decodeFramedSnappy(data, maxBytes);
  }
}

type Inflate = (data: Uint8Array, options: zlib.ZlibOptions & zlib.ZstdOptions) => Promise<Buffer>;

async function inflateWith(
  kind: Compression,
  inflate: Inflate,
  data: Uint8Array,
  maxBytes: number,
  options: zlib.ZstdOptions,
): Promise<DecompressResult> {
  try {
    const bytes = await inflate(data, {
      ...options,
      // zlib refuses a maxOutputLength below 1; the check below covers maxBytes = 0.
      maxOutputLength: Math.max(1, maxBytes),
      chunkSize: chunkSizeFor(data.length, 4),
    });
    return bytes.length <= maxBytes ? { ok: true, bytes } : tooLarge(kind, maxBytes);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') return tooLarge(kind, maxBytes);
    if (code === 'ZSTD_error_frameParameter_windowTooLarge') {
      return {
        ok: false,
        reason: 'too-large',
        message: `zstd data needs a window larger than ${2 ** zstdWindowLogMax(maxBytes)} bytes, more than the limit of ${maxBytes} bytes allows`,
      };
    }
    return corrupt(kind, error instanceof Error ? error.message : String(error));
  }
}

async function decompressSnappyBlock(data: Uint8Array, maxBytes: number): Promise<DecompressResult> {
  const length = snappyBlockLength(data);
  if (length < 0) return corrupt('snappy', 'bad length preamble');
  if (length > maxBytes) return tooLarge('snappy', maxBytes);
  try {
    const bytes = await uncompressSnappyBlock(data, { asBuffer: true });
    if (typeof bytes === 'string' || bytes.length !== length) return corrupt('snappy', 'length mismatch');
    return { ok: true, bytes };
  } catch (error) {
    return corrupt('snappy', error instanceof Error ? error.message : String(error));
  }
}

/** log2 of the largest zstd window accepted when the output may be `maxBytes` long. */
function zstdWindowLogMax(maxBytes: number): number {
  return Math.min(ZSTD_MAX_WINDOW_LOG, Math.max(ZSTD_MIN_WINDOW_LOG, Math.ceil(Math.log2(maxBytes + 1))));
}

/** Whether `data` starts with an RFC 1950 header: deflate method, and a valid check sum. */
function hasZlibHeader(data: Uint8Array): boolean {
  const cmf = data[0] ?? 0;
  const flg = data[1] ?? 0;
  return data.length >= 2 && (cmf & 0x0f) === 8 && cmf >>> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

function tooLarge(kind: Compression, maxBytes: number): DecompressResult {
  return {
    ok: false,
    reason: 'too-large',
    message: `${kind} data decompresses to more than the limit of ${maxBytes} bytes`,
  };
}

function corrupt(kind: Compression, detail: string): DecompressResult {
  return { ok: false, reason: 'corrupt', message: `${kind} data is corrupt: ${detail}` };
}
