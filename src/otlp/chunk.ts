/**
 * Counts the items of an OTLP export request and cuts it into requests of at most N items,
 * on the wire format, without decoding it into objects: what `otelcol.processor.batch`
 * needs for `send_batch_max_size`.
 *
 * Items are spans (traces), log records (logs) and data points (metrics, as the Collector
 * counts them). Each signal's request is a tree of length-delimited wrappers over its items:
 *
 * ```
 * traces   ExportTraceServiceRequest → ResourceSpans → ScopeSpans → Span
 * logs     ExportLogsServiceRequest  → ResourceLogs  → ScopeLogs  → LogRecord
 * metrics  ExportMetricsServiceRequest → ResourceMetrics → ScopeMetrics → Metric
 *            → Gauge | Sum | Histogram | ExponentialHistogram | Summary → data point
 * ```
 *
 * Chunks are cut as the Collector's batch processor splits (`splitTraces`, `splitMetrics`):
 * items stay in request order, every chunk but the last holds exactly `maxItems` items, and
 * a wrapper whose items all fit into the chunk being filled is copied whole, byte for byte.
 * A wrapper whose items straddle two chunks is repeated in both, under a fresh length
 * prefix, with all its fields other than its children (resource, scope, `schema_url`, a
 * metric's name, unit and temporality, unknown fields) copied byte for byte; fields before
 * the first child stay before the children and the others after them, so that canonical
 * input gives canonical chunks. Items themselves are never re-encoded. Wrappers without
 * items (an empty `ScopeSpans`, a metric without data points) go with the chunk being
 * filled when they are met, so nothing of the request is lost. Request-level unknown
 * fields (OTLP defines none) are dropped from cut requests, as the splitter drops them.
 *
 * Protobuf merges repeated occurrences of a message, so chunks concatenated again decode to
 * the input's content; a metric that writes two different members of its `data` oneof (a
 * producer bug; protobuf keeps the last) has the points of both counted and cut.
 *
 * Malformed input (bad varints, lengths past their message, a wrong wire type on a field
 * the walk reads, unclosed groups, field number 0) gives a {@link WireFormatError} with the
 * byte offset; nothing here throws for bad input. Only the framing down to the items is
 * validated; bytes inside an item are copied as they are.
 *
 * Cost: counting is one pass over the framing; cutting reads each wrapper's framing once
 * per level it is cut at (at most five) and copies the bytes once.
 */

import { ErrorCode } from '../errors.ts';
import type { Signal } from './signal.ts';
import { WireFault, WireFormatError, WireReader, WireType, varintSize, wireTypeName, writeVarint } from './wire.ts';

/** One level of a request's wrapper tree: which fields of it are its children, for messages its name. */
interface Level {
  /** Message name, e.g. `ResourceSpans`. */
  readonly name: string;
  /** Field numbers of its children (the next level, or the items at the last level). */
  readonly childFields: readonly number[];
  /** Child field name, e.g. `scope_spans`. */
  readonly childName: string;
}

const LAYOUTS: Readonly<Record<Signal, readonly Level[]>> = {
  traces: [
    { name: 'ExportTraceServiceRequest', childFields: [1], childName: 'resource_spans' },
    { name: 'ResourceSpans', childFields: [2], childName: 'scope_spans' },
    { name: 'ScopeSpans', childFields: [2], childName: 'spans' },
  ],
  logs: [
    { name: 'ExportLogsServiceRequest', childFields: [1], childName: 'resource_logs' },
    { name: 'ResourceLogs', childFields: [2], childName: 'scope_logs' },
    { name: 'ScopeLogs', childFields: [2], childName: 'log_records' },
  ],
  metrics: [
    { name: 'ExportMetricsServiceRequest', childFields: [1], childName: 'resource_metrics' },
    { name: 'ResourceMetrics', childFields: [2], childName: 'scope_metrics' },
    { name: 'ScopeMetrics', childFields: [2], childName: 'metrics' },
    // gauge = 5, sum = 7, histogram = 9, exponential_histogram = 10, summary = 11
    { name: 'Metric', childFields: [5, 7, 9, 10, 11], childName: 'data' },
    { name: 'Metric data', childFields: [1], childName: 'data_points' },
  ],
};

/** One cut of a request. */
export interface Chunk {
  /** A complete export request of the same signal. */
  readonly bytes: Uint8Array;
  /** Items (spans, log records, data points) in `bytes`. */
  readonly items: number;
}

/** Outcome of {@link countItems}. */
export type CountResult =
  { readonly ok: true; readonly items: number } | { readonly ok: false; readonly error: WireFormatError };

/** Outcome of {@link chunkRequest}: the chunks in request order, or why the input is invalid. */
export type ChunkResult =
  | { readonly ok: true; readonly chunks: readonly Chunk[]; readonly items: number }
  | { readonly ok: false; readonly error: WireFormatError };

/**
 * Counts the items of a `signal` request and checks its framing down to them. Never throws.
 */
export function countItems(signal: Signal, request: Uint8Array): CountResult {
  const walk = new Walk(signal, request);
  try {
    return { ok: true, items: walk.count(0, 0, request.length) };
  } catch (err) {
    return { ok: false, error: walk.describe(err) };
  }
}

/**
 * Cuts a `signal` request into requests of at most `maxItems` items (see the module
 * comment). With `maxItems` of 0 or less, or a request that already fits, the one chunk is
 * the input itself. A request without items gives one chunk of 0 items (the input). Never
 * throws.
 */
export function chunkRequest(signal: Signal, request: Uint8Array, maxItems: number): ChunkResult {
  const walk = new Walk(signal, request);
  try {
    const items = walk.count(0, 0, request.length);
    if (maxItems <= 0 || items <= maxItems) return { ok: true, chunks: [{ bytes: request, items }], items };
    return { ok: true, chunks: new Cutter(walk, Math.max(1, Math.floor(maxItems))).run(), items };
  } catch (err) {
    return { ok: false, error: walk.describe(err) };
  }
}

/** A byte range [start, end) of the input. */
interface Range {
  readonly start: number;
  readonly end: number;
}

/** One child of a wrapper: its field (tag included) spans [fieldStart, bodyEnd). */
interface Child {
  readonly field: number;
  readonly fieldStart: number;
  readonly bodyStart: number;
  readonly bodyEnd: number;
}

/** A wrapper's own fields, split around its first child, and its children. */
interface Scan {
  readonly head: readonly Range[];
  readonly tail: readonly Range[];
  readonly children: readonly Child[];
}

/** Reads the framing of one request, for counting and cutting. */
class Walk {
  readonly signal: Signal;
  readonly buf: Uint8Array;
  readonly levels: readonly Level[];
  readonly reader: WireReader;

  constructor(signal: Signal, buf: Uint8Array) {
    this.signal = signal;
    this.buf = buf;
    this.levels = LAYOUTS[signal];
    this.reader = new WireReader(buf);
  }

  /** Items under the wrapper at `level` whose body is [start, end). */
  count(level: number, start: number, end: number): number {
    const r = this.reader;
    const spec = this.levels[level];
    if (spec === undefined) throw new TypeError(`no level ${level} in a ${this.signal} request`);
    const isLast = level === this.levels.length - 1;
    let n = 0;
    r.pos = start;
    while (r.pos < end) {
      const tagStart = r.pos;
      const tag = r.uint32(end);
      const field = tag >>> 3;
      if (field === 0) throw new WireFault(tagStart, 'field number 0 is not valid');
      if (spec.childFields.includes(field)) {
        this.expectLen(tag, tagStart, spec);
        const bodyEnd = r.lengthEnd(end);
        if (isLast) {
          n++;
        } else {
          n += this.count(level + 1, r.pos, bodyEnd);
        }
        r.pos = bodyEnd;
      } else {
        r.skip(field, tag & 7, end, tagStart);
      }
    }
    return n;
  }

  /** The fields of the wrapper at `level` whose body is [start, end). */
  scan(level: number, start: number, end: number): Scan {
    const r = this.reader;
    const spec = this.levels[level];
    if (spec === undefined) throw new TypeError(`no level ${level} in a ${this.signal} request`);
    const head: Range[] = [];
    const tail: Range[] = [];
    const children: Child[] = [];
    r.pos = start;
    while (r.pos < end) {
      const tagStart = r.pos;
      const tag = r.uint32(end);
      const field = tag >>> 3;
      if (field === 0) throw new WireFault(tagStart, 'field number 0 is not valid');
      if (spec.childFields.includes(field)) {
        this.expectLen(tag, tagStart, spec);
        const bodyEnd = r.lengthEnd(end);
        children.push({ field, fieldStart: tagStart, bodyStart: r.pos, bodyEnd });
        r.pos = bodyEnd;
      } else {
        r.skip(field, tag & 7, end, tagStart);
        pushRange(children.length === 0 ? head : tail, tagStart, r.pos);
      }
    }
    return { head, tail, children };
  }

  private expectLen(tag: number, tagStart: number, spec: Level): void {
    if ((tag & 7) !== WireType.LEN) {
      throw new WireFault(
        tagStart,
        `${spec.name}.${spec.childName} has wire type ${wireTypeName(tag & 7)}; a length-delimited field was expected`,
      );
    }
  }

  describe(err: unknown): WireFormatError {
    if (!(err instanceof WireFault)) {
      return new WireFormatError(
        ErrorCode.OTLP_MALFORMED,
        this.reader.pos,
        `internal error while reading the OTLP ${this.signal} request at byte ${this.reader.pos}: ${String(err)}`,
      );
    }
    return new WireFormatError(
      err.code,
      err.offset,
      `invalid OTLP ${this.signal} request at byte ${err.offset}: ${err.message}; the payload is not a valid protobuf message`,
      { cause: err },
    );
  }
}

function pushRange(ranges: Range[], start: number, end: number): void {
  const last = ranges[ranges.length - 1];
  if (last !== undefined && last.end === start) ranges[ranges.length - 1] = { start: last.start, end };
  else ranges.push({ start, end });
}

/** A wrapper of the chunk being built: a fresh length prefix over copied fields and children. */
interface Wrapper {
  readonly kind: 'wrapper';
  /** Field number in the parent; 0 for the request itself (no tag, no length). */
  readonly field: number;
  readonly scan: Scan;
  readonly children: (Wrapper | Range)[];
  /** Size of the body, set by {@link measure}. */
  size: number;
}

function isWrapper(piece: Wrapper | Range): piece is Wrapper {
  return 'kind' in piece;
}

const EMPTY_SCAN: Scan = { head: [], tail: [], children: [] };

/** Cuts one request into chunks, greedily, in order (see the module comment). */
class Cutter {
  private readonly walk: Walk;
  private readonly maxItems: number;
  private readonly chunks: Chunk[] = [];
  /** The open wrappers of the chunk being filled, from the request down. */
  private path: Wrapper[];
  private remaining: number;

  constructor(walk: Walk, maxItems: number) {
    this.walk = walk;
    this.maxItems = maxItems;
    this.path = [newWrapper(0, EMPTY_SCAN)];
    this.remaining = maxItems;
  }

  run(): Chunk[] {
    const buf = this.walk.buf;
    // Request-level fields other than resources are dropped (module comment).
    const request = this.walk.scan(0, 0, buf.length);
    this.fill(0, request);
    if (this.remaining < this.maxItems) this.flush(false);
    return this.chunks;
  }

  /** Adds the children of the wrapper at `level` (open as the last of `path`). */
  private fill(level: number, scan: Scan): void {
    const walk = this.walk;
    const isLast = level === walk.levels.length - 1;
    for (const child of scan.children) {
      const whole: Range = { start: child.fieldStart, end: child.bodyEnd };
      if (isLast) {
        if (this.remaining === 0) this.flush(true);
        this.attach(level, whole);
        this.remaining--;
        continue;
      }
      const n = walk.count(level + 1, child.bodyStart, child.bodyEnd);
      if (n === 0) {
        this.attach(level, whole);
        continue;
      }
      if (this.remaining === 0) this.flush(true);
      if (n <= this.remaining) {
        this.attach(level, whole);
        this.remaining -= n;
        continue;
      }
      const inner = walk.scan(level + 1, child.bodyStart, child.bodyEnd);
      const wrapper = newWrapper(child.field, inner);
      this.attach(level, wrapper);
      this.path.push(wrapper);
      this.fill(level + 1, inner);
      this.path.pop();
    }
  }

  private attach(level: number, piece: Wrapper | Range): void {
    const parent = this.path[level];
    if (parent === undefined) throw new TypeError(`no open wrapper at level ${level}`);
    parent.children.push(piece);
  }

  /** Ends the chunk being filled; with `reopen`, starts the next one under copies of the open wrappers. */
  private flush(reopen: boolean): void {
    const root = this.path[0];
    if (root === undefined) throw new TypeError('no open request');
    const size = measure(root);
    const out = new Uint8Array(size);
    const written = write(out, 0, root, this.walk.buf);
    if (written !== size) throw new Error(`chunker wrote ${written} bytes of ${size}`);
    this.chunks.push({ bytes: out, items: this.maxItems - this.remaining });
    if (!reopen) return;
    const path: Wrapper[] = [newWrapper(0, EMPTY_SCAN)];
    for (let i = 1; i < this.path.length; i++) {
      const open = this.path[i];
      const parent = path[i - 1];
      if (open === undefined || parent === undefined) throw new TypeError('broken wrapper path');
      const copy = newWrapper(open.field, open.scan);
      parent.children.push(copy);
      path.push(copy);
    }
    this.path = path;
    this.remaining = this.maxItems;
  }
}

function newWrapper(field: number, scan: Scan): Wrapper {
  return { kind: 'wrapper', field, scan, children: [], size: 0 };
}

function rangesSize(ranges: readonly Range[]): number {
  let n = 0;
  for (const r of ranges) n += r.end - r.start;
  return n;
}

/** Computes the body size of `w` and its wrappers; returns the size of `w` as written (tag and length included). */
function measure(w: Wrapper): number {
  let size = rangesSize(w.scan.head) + rangesSize(w.scan.tail);
  for (const c of w.children) size += isWrapper(c) ? measure(c) : c.end - c.start;
  w.size = size;
  return w.field === 0 ? size : varintSize((w.field << 3) | WireType.LEN) + varintSize(size) + size;
}

function write(out: Uint8Array, pos: number, w: Wrapper, src: Uint8Array): number {
  if (w.field !== 0) {
    pos = writeVarint(out, pos, (w.field << 3) | WireType.LEN);
    pos = writeVarint(out, pos, w.size);
  }
  for (const r of w.scan.head) pos = copy(out, pos, src, r);
  for (const c of w.children) pos = isWrapper(c) ? write(out, pos, c, src) : copy(out, pos, src, c);
  for (const r of w.scan.tail) pos = copy(out, pos, src, r);
  return pos;
}

function copy(out: Uint8Array, pos: number, src: Uint8Array, r: Range): number {
  out.set(src.subarray(r.start, r.end), pos);
  return pos + r.end - r.start;
}
