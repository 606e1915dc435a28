/**
 * The protobuf wire format, as far as otel-lb needs it to walk OTLP requests without
 * decoding them: varints, tags, length-delimited fields, skipping of any field (groups
 * included), and the writer side for the few headers the splitter emits.
 *
 * Everything here works on `(bytes, offset)` pairs and never allocates on the happy path.
 * Malformed input raises {@link WireFormatError}, which carries the byte offset of the
 * problem; the public entry points of `otlp/` catch it and return it as a value, so no
 * exception ever escapes to the caller.
 */

import { ErrorCode, OtelLbError } from '../errors.ts';

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

/** Names of wire types, for error messages. */
const WIRE_TYPE_NAMES = [
  'varint',
  'fixed64',
  'length-delimited',
  'group start',
  'group end',
  'fixed32',
  'invalid (6)',
  'invalid (7)',
];

/** How deeply groups inside unknown fields may nest before the input is rejected. */
export const MAX_GROUP_DEPTH = 32;

/**
 * A protobuf payload that is not well formed. `offset` is the byte offset in the payload
 * where the problem was found; `code` is `ERR_OTLP_MALFORMED` or, for a trace ID of the
 * wrong length, `ERR_OTLP_BAD_TRACE_ID`.
 */
export class WireFormatError extends OtelLbError {
  readonly offset: number;

  constructor(code: ErrorCode, offset: number, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'WireFormatError';
    this.offset = offset;
  }
}

/**
 * What the readers throw: the offset and the bare problem. The walk that catches it adds
 * where in the request it happened and returns a {@link WireFormatError}.
 */
export class WireFault extends Error {
  readonly offset: number;
  readonly code: ErrorCode;

  constructor(offset: number, problem: string, code: ErrorCode = ErrorCode.OTLP_MALFORMED) {
    super(problem);
    this.name = 'WireFault';
    this.offset = offset;
    this.code = code;
  }
}

/** Name of a wire type for messages. */
export function wireTypeName(wireType: number): string {
  return WIRE_TYPE_NAMES[wireType & 7] ?? String(wireType);
}

/**
 * A cursor over a payload. `pos` advances as fields are read; every read is bounded by an
 * explicit `end` so that a nested message can never read past its own length.
 *
 * Not safe for concurrent use; create one per walk (it is two fields and a reference).
 */
export class WireReader {
  readonly buf: Uint8Array;
  pos: number;

  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  /**
   * Reads a varint that must fit in 32 bits unsigned (tags and lengths). Longer encodings
   * of small values (up to 10 bytes, as protobuf allows) are accepted.
   */
  uint32(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < end) {
      const b0 = buf[pos] as number;
      if (b0 < 0x80) {
        this.pos = pos + 1;
        return b0;
      }
    }
    const start = pos;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= end) throw new WireFault(start, 'truncated varint');
      const b = buf[pos++] as number;
      if (shift < 28) {
        result |= (b & 0x7f) << shift;
      } else if (shift === 28) {
        if ((b & 0x70) !== 0)
          throw new WireFault(start, 'varint does not fit in 32 bits where a tag or length was expected');
        result |= (b & 0x0f) << 28;
      } else if ((b & 0x7f) !== 0) {
        throw new WireFault(start, 'varint does not fit in 32 bits where a tag or length was expected');
      }
      if (b < 0x80) break;
      shift += 7;
      if (shift >= 70) throw new WireFault(start, 'varint longer than 10 bytes');
    }
    this.pos = pos;
    return result >>> 0;
  }

  /** Reads the length of a length-delimited field and returns the end of its body. */
  lengthEnd(end: number): number {
    const at = this.pos;
    const len = this.uint32(end);
    const bodyEnd = this.pos + len;
    if (bodyEnd > end) {
      throw new WireFault(
        at,
        `length ${len} runs past the end of the enclosing message (${end - this.pos} bytes left)`,
      );
    }
    return bodyEnd;
  }

  /** Skips a varint of up to 10 bytes; a 10th byte may only hold the 64th bit. */
  skipVarint(end: number): void {
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    for (;;) {
      if (pos >= end) throw new WireFault(start, 'truncated varint');
      const b = buf[pos++] as number;
      if (b < 0x80) {
        if (pos - start === 10 && b > 1) throw new WireFault(start, 'varint does not fit in 64 bits');
        break;
      }
      if (pos - start >= 10) throw new WireFault(start, 'varint longer than 10 bytes');
    }
    this.pos = pos;
  }

  /**
   * Skips the value of a field whose tag (field number `field`, wire type `wireType`) has
   * just been read; `tagStart` is where that tag began, for error messages.
   */
  skip(field: number, wireType: number, end: number, tagStart: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.skipVarint(end);
        return;
      case WireType.I64:
        if (this.pos + 8 > end) throw new WireFault(this.pos, 'truncated fixed64 value');
        this.pos += 8;
        return;
      case WireType.LEN:
        this.pos = this.lengthEnd(end);
        return;
      case WireType.I32:
        if (this.pos + 4 > end) throw new WireFault(this.pos, 'truncated fixed32 value');
        this.pos += 4;
        return;
      case WireType.SGROUP:
        this.skipGroup(field, end, tagStart);
        return;
      default:
        throw new WireFault(
          tagStart,
          `field ${field} has wire type ${wireTypeName(wireType)}, which is not valid where a field starts`,
        );
    }
  }

  /** Skips the fields of a group up to and including its matching end-group tag. */
  private skipGroup(field: number, end: number, tagStart: number): void {
    // Groups are skipped iteratively with an explicit stack of field numbers, so that
    // hostile nesting costs neither stack depth nor more than MAX_GROUP_DEPTH entries.
    const open: number[] = [field];
    while (open.length > 0) {
      if (this.pos >= end)
        throw new WireFault(tagStart, `group (field ${field}) is not closed before the end of its message`);
      const at = this.pos;
      const tag = this.uint32(end);
      const f = tag >>> 3;
      const wt = tag & 7;
      if (f === 0) throw new WireFault(at, 'field number 0 is not valid');
      if (wt === WireType.EGROUP) {
        if (f !== open[open.length - 1])
          throw new WireFault(at, `end of group ${f} does not match the open group ${open[open.length - 1] ?? '?'}`);
        open.pop();
      } else if (wt === WireType.SGROUP) {
        if (open.length >= MAX_GROUP_DEPTH)
          throw new WireFault(at, `groups nested deeper than ${MAX_GROUP_DEPTH} levels`);
        open.push(f);
      } else {
        this.skip(f, wt, end, at);
      }
    }
  }
}

/** Number of bytes of the varint encoding of an unsigned 32-bit value. */
export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Writes an unsigned 32-bit varint at `pos`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  let v = value >>> 0;
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

/** The one-byte tag of a length-delimited field with a field number below 16. */
export function lenTag(field: number): number {
  return (field << 3) | WireType.LEN;
}
