import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';

import { Compressor, Decompressor, compressSync as snappyBlockCompressSync } from 'snappy';

import { buildTracesRequest, createRandom } from '../../test/helpers/otlp-builders.ts';
import { compress, decompress, type Compression, type DecompressResult } from './compression.ts';
import { crc32c } from './crc32c.ts';
import { decodeFramedSnappy, encodeFramedSnappy, maskChecksum } from './snappy-framed.ts';

const CODECS: readonly Compression[] = ['gzip', 'zlib', 'deflate', 'zstd', 'snappy', 'snappy-framed', 'none'];
const MiB = 1024 * 1024;

/** CRC-32C one bit at a time, straight from the definition: the reference for the fast one. */
function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function expectBytes(result: DecompressResult): Uint8Array {
  assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.message}`);
  return result.bytes;
}

function expectFailure(result: DecompressResult, reason: 'too-large' | 'corrupt'): void {
  assert.ok(!result.ok, 'expected a failure');
  assert.equal(result.reason, reason, result.message);
}

describe('crc32c', () => {
  const vectors: readonly [string, Uint8Array, number][] = [
    ['the check value of "123456789"', Buffer.from('123456789'), 0xe3069283],
    ['32 zero bytes (RFC 3720 B.4)', new Uint8Array(32), 0x8a9136aa],
    ['32 bytes of 0xff (RFC 3720 B.4)', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['bytes 0 to 31 (RFC 3720 B.4)', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ['bytes 31 down to 0 (RFC 3720 B.4)', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    ['no bytes', new Uint8Array(0), 0],
  ];
  for (const [name, bytes, expected] of vectors) {
    it(`matches ${name}`, () => {
      assert.equal(crc32c(bytes), expected);
    });
  }

  it('agrees with the bitwise definition at every alignment and length', () => {
    const random = createRandom(7);
    const buffer = random.bytes(2_000);

    for (let start = 0; start < 9; start++) {
      for (let length = 0; length < 300; length += 7) {
        const view = buffer.subarray(start, start + length);
        assert.equal(crc32c(view), crc32cBitwise(view), `start ${start}, length ${length}`);
        assert.equal(crc32c(buffer, start, start + length), crc32cBitwise(view), `range ${start}+${length}`);
      }
    }
    assert.equal(crc32c(buffer, 3), crc32cBitwise(buffer.subarray(3)));
  });
});

describe('framed snappy', () => {
  // "Hello, World!" does not shrink, so it travels as an uncompressed chunk. The masked
  // CRC-32C of the text is 0xc3538582 (little-endian 82 85 53 c3); these are also the bytes
  // that golang/snappy's and Rust snap's framed writers produce.
  const HELLO_FRAMED = hex(`
    ff 06 00 00 73 4e 61 50 70 59
    01 11 00 00 82 85 53 c3 48 65 6c 6c 6f 2c 20 57 6f 72 6c 64 21`);

  it('encodes a short text as the stream identifier and one uncompressed chunk', async () => {
    assert.deepEqual(Buffer.from(await encodeFramedSnappy(Buffer.from('Hello, World!'))), HELLO_FRAMED);
    assert.equal(maskChecksum(crc32cBitwise(Buffer.from('Hello, World!'))), 0xc3538582);
  });

  it('decodes a hand-made compressed chunk', async () => {
    // A snappy block for 100 × "a": length 100 (0x64), literal "a" (tag 0x00), copy 64 bytes
    // from offset 1 (tag 0xfe, 01 00), copy 35 bytes from offset 1 (tag 0x8a, 01 00).
    const block = hex('64 00 61 fe 01 00 8a 01 00');
    const text = Buffer.alloc(100, 'a');
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(maskChecksum(crc32cBitwise(text)));
    const framed = Buffer.concat([hex('ff 06 00 00 73 4e 61 50 70 59'), hex('00 0d 00 00'), crc, block]);

    const decoded = expectBytes(await decodeFramedSnappy(framed, 1_000));

    assert.deepEqual(Buffer.from(decoded), text);
  });

  it('reads what an independent implementation (Rust snap) writes, and the reverse', async () => {
    const text = buildTracesRequest({ traces: 60 });
    const theirs = new Compressor();
    const theirFramed = Buffer.concat([theirs.update(text), await theirs.finish()]);

    const ours = await encodeFramedSnappy(text);
    const reader = new Decompressor();
    const theyRead = Buffer.concat([reader.update(ours), await reader.finish()]);

    assert.deepEqual(Buffer.from(expectBytes(await decodeFramedSnappy(theirFramed, MiB))), Buffer.from(text));
    assert.deepEqual(theyRead, Buffer.from(text));
  });

  it('skips padding and reserved skippable chunks, and accepts a repeated stream identifier', async () => {
    const framed = Buffer.concat([
      hex('ff 06 00 00 73 4e 61 50 70 59'),
      hex('fe 03 00 00 00 00 00'),
      HELLO_FRAMED,
      hex('80 01 00 00 42'),
      HELLO_FRAMED.subarray(10),
    ]);

    const decoded = expectBytes(await decodeFramedSnappy(framed, 1_000));

    assert.equal(Buffer.from(decoded).toString(), 'Hello, World!Hello, World!');
  });

  const corruptCases: readonly [string, Buffer][] = [
    ['a stream without the identifier', HELLO_FRAMED.subarray(10)],
    ['a bad identifier', Buffer.concat([hex('ff 06 00 00 73 4e 61 50 70 5a'), HELLO_FRAMED.subarray(10)])],
    ['a wrong checksum', Buffer.concat([HELLO_FRAMED.subarray(0, 14), hex('00'), HELLO_FRAMED.subarray(15)])],
    ['a truncated chunk', HELLO_FRAMED.subarray(0, HELLO_FRAMED.length - 1)],
    ['a truncated chunk header', Buffer.concat([HELLO_FRAMED, hex('01 11')])],
    ['a reserved unskippable chunk', Buffer.concat([HELLO_FRAMED, hex('02 01 00 00 00')])],
    [
      'a data chunk too short for its checksum',
      Buffer.concat([HELLO_FRAMED.subarray(0, 10), hex('01 02 00 00 00 00')]),
    ],
    [
      'a chunk over 64 KiB',
      Buffer.concat([HELLO_FRAMED.subarray(0, 10), hex('00 09 00 00 00 00 00 00 81 80 05 00 00')]),
    ],
    [
      'a compressed chunk that does not decode',
      Buffer.concat([HELLO_FRAMED.subarray(0, 10), hex('00 07 00 00 00 00 00 00 05 ff ff')]),
    ],
  ];
  for (const [name, framed] of corruptCases) {
    it(`reports ${name} as corrupt`, async () => {
      expectFailure(await decodeFramedSnappy(framed, MiB), 'corrupt');
    });
  }
});

describe('compress and decompress', () => {
  const random = createRandom(11);
  const inputs: readonly [string, Uint8Array][] = [
    ['nothing', new Uint8Array(0)],
    ['a short text', Buffer.from('hello, otel-lb')],
    ['an OTLP request of 600 KB', buildTracesRequest()],
    ['200 KB of random bytes', random.bytes(200_000)],
  ];
  for (const kind of CODECS) {
    for (const [name, input] of inputs) {
      it(`round-trips ${name} through ${kind}`, async () => {
        const compressed = await compress(kind, input);

        const result = await decompress(kind, compressed, input.length);

        assert.deepEqual(Buffer.from(expectBytes(result)), Buffer.from(input));
      });
    }
  }

  it('writes what the standard decoders read', async () => {
    const input = buildTracesRequest({ traces: 20 });

    assert.deepEqual(zlib.gunzipSync(await compress('gzip', input)), Buffer.from(input));
    assert.deepEqual(zlib.inflateSync(await compress('zlib', input)), Buffer.from(input));
    assert.deepEqual(zlib.inflateSync(await compress('deflate', input)), Buffer.from(input));
    assert.deepEqual(zlib.zstdDecompressSync(await compress('zstd', input)), Buffer.from(input));
  });

  it('reads raw deflate as deflate, but not as zlib', async () => {
    const raw = zlib.deflateRawSync(Buffer.from('raw deflate, as some HTTP clients send it'));

    assert.equal(
      Buffer.from(expectBytes(await decompress('deflate', raw, 1_000))).toString(),
      'raw deflate, as some HTTP clients send it',
    );
    expectFailure(await decompress('zlib', raw, 1_000), 'corrupt');
  });

  for (const kind of CODECS) {
    it(`${kind}: accepts exactly maxBytes and refuses one byte more`, async () => {
      const input = buildTracesRequest({ traces: 10 });
      const compressed = await compress(kind, input);

      expectBytes(await decompress(kind, compressed, input.length));
      expectFailure(await decompress(kind, compressed, input.length - 1), 'too-large');
    });
  }

  describe('compression bombs stop at maxBytes', () => {
    const zeros = new Uint8Array(64 * MiB);
    const bombs: readonly [Compression, () => Promise<Uint8Array> | Uint8Array][] = [
      ['gzip', () => zlib.gzipSync(zeros, { level: 9 })],
      ['zlib', () => zlib.deflateSync(zeros, { level: 9 })],
      ['deflate', () => zlib.deflateRawSync(zeros, { level: 9 })],
      ['zstd', () => zlib.zstdCompressSync(zeros)],
      ['snappy', () => snappyBlockCompressSync(zeros)],
      ['snappy-framed', () => encodeFramedSnappy(zeros)],
    ];
    for (const [kind, makeBomb] of bombs) {
      it(`${kind}: 64 MiB of zeros against a 1 MiB limit`, async () => {
        const bomb = await makeBomb();
        assert.ok(bomb.length * 16 < zeros.length, `the bomb is ${bomb.length} bytes`);

        expectFailure(await decompress(kind, bomb, MiB), 'too-large');
      });
    }

    it('snappy: a block that declares 4 GiB is refused before it is decompressed', async () => {
      const lying = hex('ff ff ff ff 0f 00 61');

      expectFailure(await decompress('snappy', lying, MiB), 'too-large');
    });

    it('snappy-framed: chunks are counted before any is decompressed', async () => {
      // 40 chunks that each declare 64 KiB but hold 2 bytes: 2.5 MiB declared, 1 MiB allowed.
      const chunk = hex('00 09 00 00 00 00 00 00 80 80 04 00 61');
      const framed = Buffer.concat([hex('ff 06 00 00 73 4e 61 50 70 59'), ...Array.from({ length: 40 }, () => chunk)]);

      expectFailure(await decompress('snappy-framed', framed, MiB), 'too-large');
    });

    it('zstd: a frame that asks for a 128 MiB window is refused', async () => {
      const encoder = zlib.createZstdCompress({ params: { [zlib.constants.ZSTD_c_windowLog]: 27 } });
      const chunks: Buffer[] = [];
      encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
      encoder.end(Buffer.alloc(1_000, 1));
      await once(encoder, 'end');

      expectFailure(await decompress('zstd', Buffer.concat(chunks), MiB), 'too-large');
    });
  });

  describe('corrupt input', () => {
    const garbage = Buffer.from('this is not compressed data at all, not in any format');
    for (const kind of CODECS.filter((k) => k !== 'none')) {
      it(`${kind}: garbage is corrupt`, async () => {
        expectFailure(await decompress(kind, garbage, MiB), 'corrupt');
      });

      it(`${kind}: a truncated stream is corrupt`, async () => {
        const compressed = await compress(kind, buildTracesRequest({ traces: 10 }));

        expectFailure(await decompress(kind, compressed.subarray(0, compressed.length - 3), MiB), 'corrupt');
      });
    }
  });
});
