/**
 * A deliberately small protobuf writer for tests: every function returns the bytes of one
 * thing (a varint, a tag, a whole field) and nothing is buffered, so a hand-assembled message
 * reads like its wire encoding:
 *
 * ```ts
 * const span = concatBytes([
 *   stringField(5, 'GET /'),
 *   bytesField(1, traceId),               // trace_id after name: legal, if unusual
 *   varintField(99, 7n),                  // an unknown field
 * ]);
 * const request = messageField(1, messageField(2, messageField(2, span)));
 * ```
 *
 * It is independent of `src/otlp/wire.ts` on purpose: tests use it to produce the odd
 * encodings the production reader must accept. It also writes things a canonical encoder
 * never would (padded varints, groups), and checks only what would make its own output
 * meaningless (a negative length, a field number out of range).
 */

/** Protobuf wire types. */
export const WireType = {
  VARINT: 0,
  I64: 1,
  LEN: 2,
  SGROUP: 3,
  EGROUP: 4,
  I32: 5,
} as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/** The largest field number protobuf allows (2^29 - 1). */
export const MAX_FIELD_NUMBER = 0x1fff_ffff;

const UINT64_MODULUS = 1n << 64n;
const encoder = new TextEncoder();

/**
 * The base-128 varint encoding of `value`. Negative values are written as their 64-bit
 * two's complement (ten bytes), which is how protobuf encodes negative `int32`/`int64`.
 *
 * @param minLength pads the encoding with redundant continuation bytes up to this many
 *   bytes (at most 10). Decoders must accept such non-minimal varints; 32-bit fields and
 *   lengths stay readable by every decoder only up to 5 bytes.
 */
export function encodeVarint(value: bigint | number, minLength = 1): Uint8Array {
  let rest = BigInt(value);
  if (rest < 0n) rest += UINT64_MODULUS;
  if (rest < 0n || rest >= UINT64_MODULUS) throw new RangeError(`varint out of range: ${value}`);
  if (minLength > 10) throw new RangeError(`a varint has at most 10 bytes, asked for ${minLength}`);
  const out: number[] = [];
  do {
    out.push(Number(rest & 0x7fn));
    rest >>= 7n;
  } while (rest > 0n);
  while (out.length < minLength) out.push(0);
  for (let i = 0; i < out.length - 1; i++) out[i] = (out[i] ?? 0) | 0x80;
  return Uint8Array.from(out);
}

/** The ZigZag mapping used by `sint32`/`sint64`: 0, -1, 1, -2, … become 0, 1, 2, 3, …. */
export function zigZag(value: bigint | number): bigint {
  const n = BigInt(value);
  return n >= 0n ? n << 1n : (-n << 1n) - 1n;
}

/** A field key: `(fieldNumber << 3) | wireType`, as a varint. */
export function encodeTag(fieldNumber: number, wireType: WireType): Uint8Array {
  if (!Number.isInteger(fieldNumber) || fieldNumber < 1 || fieldNumber > MAX_FIELD_NUMBER) {
    throw new RangeError(`field number out of range: ${fieldNumber}`);
  }
  return encodeVarint((BigInt(fieldNumber) << 3n) | BigInt(wireType));
}

/** The concatenation of `parts`, in order, into a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A varint field (`int32`, `int64`, `uint32`, `uint64`, `bool`, enums). */
export function varintField(fieldNumber: number, value: bigint | number | boolean, minLength = 1): Uint8Array {
  const n = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
  return concatBytes([encodeTag(fieldNumber, WireType.VARINT), encodeVarint(n, minLength)]);
}

/** A ZigZag varint field (`sint32`, `sint64`). */
export function sintField(fieldNumber: number, value: bigint | number): Uint8Array {
  return concatBytes([encodeTag(fieldNumber, WireType.VARINT), encodeVarint(zigZag(value))]);
}

/** A 4-byte little-endian field (`fixed32`, `sfixed32`; negative numbers as two's complement). */
export function fixed32Field(fieldNumber: number, value: number): Uint8Array {
  const body = new Uint8Array(4);
  new DataView(body.buffer).setUint32(0, value >>> 0, true);
  return concatBytes([encodeTag(fieldNumber, WireType.I32), body]);
}

/** An 8-byte little-endian field (`fixed64`, `sfixed64`; negative values as two's complement). */
export function fixed64Field(fieldNumber: number, value: bigint | number): Uint8Array {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(value)), true);
  return concatBytes([encodeTag(fieldNumber, WireType.I64), body]);
}

/** A `double` field (8 bytes, IEEE 754, little-endian; NaN, infinities and -0 kept). */
export function doubleField(fieldNumber: number, value: number): Uint8Array {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setFloat64(0, value, true);
  return concatBytes([encodeTag(fieldNumber, WireType.I64), body]);
}

/** A `float` field (4 bytes, IEEE 754, little-endian). */
export function floatField(fieldNumber: number, value: number): Uint8Array {
  const body = new Uint8Array(4);
  new DataView(body.buffer).setFloat32(0, value, true);
  return concatBytes([encodeTag(fieldNumber, WireType.I32), body]);
}

/**
 * A length-delimited field holding `payload` as it is (`bytes`, an embedded message, packed
 * scalars).
 *
 * @param lengthBytes pads the length prefix to this many bytes (see {@link encodeVarint}).
 */
export function bytesField(fieldNumber: number, payload: Uint8Array, lengthBytes = 1): Uint8Array {
  return concatBytes([encodeTag(fieldNumber, WireType.LEN), encodeVarint(payload.length, lengthBytes), payload]);
}

/** A `string` field, UTF-8 encoded (lone surrogates become U+FFFD, as TextEncoder does). */
export function stringField(fieldNumber: number, value: string): Uint8Array {
  return bytesField(fieldNumber, encoder.encode(value));
}

/** An embedded message field whose body is the concatenation of `fields`. */
export function messageField(fieldNumber: number, ...fields: Uint8Array[]): Uint8Array {
  return bytesField(fieldNumber, concatBytes(fields));
}

/**
 * A group (wire types 3 and 4): a start tag, `fields`, and the matching end tag. Groups are
 * deprecated, but a decoder must still skip one it finds under an unknown field number.
 */
export function groupField(fieldNumber: number, ...fields: Uint8Array[]): Uint8Array {
  return concatBytes([encodeTag(fieldNumber, WireType.SGROUP), ...fields, encodeTag(fieldNumber, WireType.EGROUP)]);
}

/** A packed repeated varint field (`repeated uint64`, …). */
export function packedVarintField(fieldNumber: number, values: readonly (bigint | number)[]): Uint8Array {
  return bytesField(fieldNumber, concatBytes(values.map((value) => encodeVarint(value))));
}

/** A packed repeated `fixed64` field. */
export function packedFixed64Field(fieldNumber: number, values: readonly (bigint | number)[]): Uint8Array {
  const body = new Uint8Array(8 * values.length);
  const view = new DataView(body.buffer);
  values.forEach((value, i) => {
    view.setBigUint64(8 * i, BigInt.asUintN(64, BigInt(value)), true);
  });
  return bytesField(fieldNumber, body);
}

/** A packed repeated `double` field. */
export function packedDoubleField(fieldNumber: number, values: readonly number[]): Uint8Array {
  const body = new Uint8Array(8 * values.length);
  const view = new DataView(body.buffer);
  values.forEach((value, i) => {
    view.setFloat64(8 * i, value, true);
  });
  return bytesField(fieldNumber, body);
}

/** Bytes from a hex string such as `"0a0b"` (whitespace ignored), for readable test vectors. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) throw new TypeError(`not even-length hex: ${JSON.stringify(text)}`);
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

/** The lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
