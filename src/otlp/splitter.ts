/**
 * Splits one OTLP export request into one request per backend, on the wire format,
 * without decoding it into objects.
 *
 * Two routing modes:
 * - **by trace ID**, per item (span, log record): each backend's request holds the items
 *   whose trace ID maps to it, under copies of their original `Resource*` and `Scope*`
 *   wrappers (resource, scope, `schema_url` and unknown fields copied byte for byte, with
 *   fresh length prefixes);
 * - **by resource attribute `service.name`**, per `Resource*`: whole `Resource*` messages
 *   are copied as they are.
 *
 * Items are never re-encoded: every span or log record reaches its backend byte for byte.
 * When every item of a request maps to one backend, that backend gets the input buffer
 * itself. Request-level unknown fields (OTLP defines none) are dropped from split requests,
 * as the Collector drops them: copied into every part they would multiply.
 *
 * Behaviour for odd but valid input:
 * - an item without a trace ID (field absent, zero length, or the all-zero ID that OTLP
 *   defines as invalid) has no trace to keep together; all such items of one request go
 *   to the backend chosen by {@link KeyRouter.keyless}, asked at most once per request;
 * - a resource without `service.name`, or whose `service.name` is not a string, routes
 *   with the empty key, so that all of them meet on one backend;
 * - repeated fields follow protobuf's merge rules: the last `trace_id` of an item wins; the
 *   first `service.name` attribute of the (merged) resource wins; a `KeyValue.value`
 *   written twice resolves to the last oneof member set;
 * - containers without items (an empty `ScopeSpans`, a `ResourceSpans` without scopes)
 *   carry no data and are left out of split requests, and cost nothing to skip;
 * - a request without items yields no parts.
 *
 * Malformed input (truncated varint, a length past the end of its message, a wrong wire
 * type on a field the walker reads, a group left open or nested too deeply, field number
 * 0, a trace ID that is neither empty nor 16 bytes) yields a {@link WireFormatError} with
 * the byte offset. Only the fields the walker reads are validated: bytes inside an item
 * beyond its top-level field framing are forwarded as they are.
 *
 * Cost: one pass over the request's framing plus one copy of the bytes; allocation is a
 * handful of typed arrays per request (sized by items, never by declared lengths) and one
 * buffer per part. A part repeats the resource and scope of its items, so a split
 * request's parts together hold the input plus one copy of each resource and scope per
 * extra backend it reaches, as with any per-trace split.
 */

import { ErrorCode } from '../errors.ts';
import { AttributeField, RequestField, TRACE_ID_BYTES, type SignalShape } from './signal.ts';
import {
  WireFault,
  WireFormatError,
  WireReader,
  WireType,
  lenTag,
  varintSize,
  wireTypeName,
  writeVarint,
} from './wire.ts';

/**
 * Maps routing keys to backends. Implemented by the load balancer on top of a hash ring.
 * Called synchronously during a split; must not throw.
 */
export interface KeyRouter {
  /** Number of backends; every index returned below is in `[0, backendCount)`. */
  readonly backendCount: number;
  /** Backend for the key held in `key[start, end)` (a trace ID, or `service.name` bytes). */
  route(key: Uint8Array, start: number, end: number): number;
  /** Backend for the items of the current request that have no trace ID. */
  keyless(): number;
}

/** One backend's share of a request. */
export interface SplitPart {
  /** Backend index, as returned by the {@link KeyRouter}. */
  readonly backend: number;
  /** A complete export request of the same signal, ready to send. */
  readonly bytes: Uint8Array;
  /** Number of items (spans, log records) in `bytes`. */
  readonly items: number;
}

/** Outcome of a split: the parts in ascending backend order, or why the input is invalid. */
export type SplitResult =
  | { readonly ok: true; readonly parts: readonly SplitPart[]; readonly items: number }
  | { readonly ok: false; readonly error: WireFormatError };

const EMPTY = new Uint8Array(0);
/** Initial capacity of the per-container tables; they grow by doubling. */
const INITIAL_CAPACITY = 16;
/** The run table starts at one entry per this many request bytes (a typical small item). */
const BYTES_PER_RUN_GUESS = 128;
const SMALL_COPY_BYTES = 32;
/** A reused split keeps run tables up to this many entries (16 bytes each) between requests. */
const MAX_RETAINED_RUNS = 1 << 14;

/** What a reused walk routes with between splits: nothing (it holds no ring alive). */
const NO_ROUTER: KeyRouter = Object.freeze({ backendCount: 1, route: () => 0, keyless: () => 0 });

/** The bytes of `service.name`. */
const SERVICE_NAME = new TextEncoder().encode('service.name');

/** How a request is split: the values of the `routing_key` argument that apply to it. */
export const RoutingKey = {
  /** Per item, by trace ID. */
  TRACE_ID: 'traceID',
  /** Per resource, by the `service.name` resource attribute. */
  SERVICE: 'service',
} as const;
export type RoutingKey = (typeof RoutingKey)[keyof typeof RoutingKey];

/** Splits `request` by `routingKey`; see {@link splitByTraceId} and {@link splitByService}. */
export function splitRequest(
  shape: SignalShape,
  request: Uint8Array,
  routingKey: RoutingKey,
  router: KeyRouter,
): SplitResult {
  return routingKey === RoutingKey.SERVICE
    ? splitByService(shape, request, router)
    : splitByTraceId(shape, request, router);
}

/** Splits by the trace ID of every item. See the module comment for the rules. */
export function splitByTraceId(shape: SignalShape, request: Uint8Array, router: KeyRouter): SplitResult {
  return run(new TraceIdWalk(shape, request, router));
}

/** Splits by the `service.name` attribute of every resource. See the module comment. */
export function splitByService(shape: SignalShape, request: Uint8Array, router: KeyRouter): SplitResult {
  return run(new ServiceWalk(shape, request, router));
}

/**
 * {@link splitRequest} with working tables kept from one request to the next, so that a
 * split allocates little more than its parts (the tables of a fresh split cost about as
 * much as the walk of a small request). Results are the same as `splitRequest`'s. Holds no
 * reference to a request, its router or its parts between splits; tables grown past
 * {@link MAX_RETAINED_RUNS} entries by a huge request are let go after it.
 *
 * One split at a time: not for concurrent use (splits are synchronous, so one instance per
 * load balancer is enough).
 */
export class Splitter {
  #byTraceId: TraceIdWalk | undefined;
  #byService: ServiceWalk | undefined;

  /** Splits `request` by `routingKey`, as {@link splitRequest}. */
  split(shape: SignalShape, request: Uint8Array, routingKey: RoutingKey, router: KeyRouter): SplitResult {
    let walk: Walk;
    if (routingKey === RoutingKey.SERVICE) {
      walk = this.#byService?.reset(shape, request, router) ?? new ServiceWalk(shape, request, router);
      this.#byService = undefined;
    } else {
      walk = this.#byTraceId?.reset(shape, request, router) ?? new TraceIdWalk(shape, request, router);
      this.#byTraceId = undefined;
    }
    const result = run(walk);
    walk.release();
    if (walk instanceof TraceIdWalk) this.#byTraceId = walk;
    else if (walk instanceof ServiceWalk) this.#byService = walk;
    return result;
  }
}

function run(walk: Walk): SplitResult {
  try {
    walk.scanRequest();
    return { ok: true, parts: walk.build(), items: walk.items };
  } catch (err) {
    return { ok: false, error: walk.describe(err) };
  }
}

function checkBackendCount(router: KeyRouter): void {
  if (!Number.isInteger(router.backendCount) || router.backendCount < 1) {
    throw new TypeError(`KeyRouter.backendCount must be a positive integer, got ${String(router.backendCount)}`);
  }
}

/** True for the all-zero trace ID, which OTLP defines as invalid (no trace). */
function isZeroTraceId(buf: Uint8Array, at: number): boolean {
  if (buf[at] !== 0) return false;
  for (let i = 1; i < TRACE_ID_BYTES; i++) if (buf[at + i] !== 0) return false;
  return true;
}

/** Initial size of the run tables for `buf`: one entry per typical small item. */
function runsGuess(buf: Uint8Array): number {
  return Math.max(INITIAL_CAPACITY, Math.ceil(buf.length / BYTES_PER_RUN_GUESS));
}

function grow(a: Int32Array<ArrayBuffer>, min: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(Math.max(min, a.length * 2));
  next.set(a);
  return next;
}

function copyRange(out: Uint8Array, pos: number, src: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n <= SMALL_COPY_BYTES) {
    for (let i = 0; i < n; i++) out[pos + i] = src[start + i] as number;
  } else {
    out.set(src.subarray(start, end), pos);
  }
  return pos + n;
}

/**
 * A growable list of [start, end) byte ranges. Ranges of one container are pushed
 * together; a range adjacent to the container's previous one is merged into it.
 */
class RangeList {
  start = new Int32Array(INITIAL_CAPACITY);
  end = new Int32Array(INITIAL_CAPACITY);
  length = 0;

  /** Empties the list for the next request, letting go of tables a huge one grew. */
  reset(): void {
    this.length = 0;
    if (this.start.length > MAX_RETAINED_RUNS) {
      this.start = new Int32Array(INITIAL_CAPACITY);
      this.end = new Int32Array(INITIAL_CAPACITY);
    }
  }

  push(start: number, end: number, containerFirst: number): void {
    const n = this.length;
    if (n > containerFirst && this.end[n - 1] === start) {
      this.end[n - 1] = end;
      return;
    }
    if (n === this.start.length) {
      this.start = grow(this.start, n + 1);
      this.end = grow(this.end, n + 1);
    }
    this.start[n] = start;
    this.end[n] = end;
    this.length = n + 1;
  }

  /** Copies ranges [first, last) of `src` to `out` at `pos`; returns the position after. */
  copy(out: Uint8Array, pos: number, src: Uint8Array, first: number, last: number): number {
    for (let i = first; i < last; i++) pos = copyRange(out, pos, src, this.start[i] as number, this.end[i] as number);
    return pos;
  }
}

/**
 * The scopes or the resources of a request: for each, its fields other than its children
 * (as ranges in `others`), how many of those ranges come before the first child (`head`),
 * and their total size. `writeHead`/`writeTail` copy the fields before / after the
 * children, so that a canonical input yields canonical outputs.
 */
class Containers {
  readonly others = new RangeList();
  private othersFirst = new Int32Array(INITIAL_CAPACITY);
  private othersEnd = new Int32Array(INITIAL_CAPACITY);
  private head = new Int32Array(INITIAL_CAPACITY);
  private bytes = new Int32Array(INITIAL_CAPACITY);
  length = 0;

  /** Forgets every container, for the next request. */
  reset(): void {
    this.others.reset();
    this.length = 0;
    if (this.head.length > MAX_RETAINED_RUNS) {
      this.othersFirst = new Int32Array(INITIAL_CAPACITY);
      this.othersEnd = new Int32Array(INITIAL_CAPACITY);
      this.head = new Int32Array(INITIAL_CAPACITY);
      this.bytes = new Int32Array(INITIAL_CAPACITY);
    }
  }

  /** Starts the next container; returns its index. */
  open(): number {
    const n = this.length;
    if (n === this.othersFirst.length) {
      this.othersFirst = grow(this.othersFirst, n + 1);
      this.othersEnd = grow(this.othersEnd, n + 1);
      this.head = grow(this.head, n + 1);
      this.bytes = grow(this.bytes, n + 1);
    }
    this.othersFirst[n] = this.others.length;
    this.head[n] = -1;
    this.bytes[n] = 0;
    this.length = n + 1;
    return n;
  }

  /** Records a field [start, end) of container `c` (the one open now) that is not a child. */
  addOther(c: number, start: number, end: number): void {
    this.others.push(start, end, this.othersFirst[c] as number);
    this.bytes[c] = (this.bytes[c] as number) + end - start;
  }

  /** Notes that container `c` has reached a child; the first call fixes its head. */
  markChild(c: number): void {
    if ((this.head[c] as number) < 0) this.head[c] = this.others.length - (this.othersFirst[c] as number);
  }

  close(c: number): void {
    this.othersEnd[c] = this.others.length;
    this.markChild(c);
  }

  /** Forgets container `c`, which must be the last one opened, and its fields. */
  discard(c: number): void {
    this.others.length = this.othersFirst[c] as number;
    this.length = c;
  }

  /** Total size of container `c`'s fields that are not children. */
  otherBytes(c: number): number {
    return this.bytes[c] as number;
  }

  writeHead(c: number, out: Uint8Array, pos: number, src: Uint8Array): number {
    const first = this.othersFirst[c] as number;
    return this.others.copy(out, pos, src, first, first + (this.head[c] as number));
  }

  writeTail(c: number, out: Uint8Array, pos: number, src: Uint8Array): number {
    const first = this.othersFirst[c] as number;
    return this.others.copy(out, pos, src, first + (this.head[c] as number), this.othersEnd[c] as number);
  }
}

/** State shared by both walks: the reader, counters for error context, part assembly. */
abstract class Walk {
  shape: SignalShape;
  buf: Uint8Array;
  router: KeyRouter;
  reader: WireReader;
  items = 0;
  /** Per backend: number of items (the first `router.backendCount` entries). */
  itemsPerBackend: Int32Array<ArrayBuffer>;
  firstBackend = -1;
  isSplit = false;
  /**
   * Where the walk is, for error messages: how deep (0 request, 1 resource, 2 scope,
   * 3 item) and the index of the current resource, scope (in its resource) and item (in
   * its scope).
   */
  depth = 0;
  resourceNo = -1;
  scopeNo = -1;
  itemNo = -1;

  constructor(shape: SignalShape, buf: Uint8Array, router: KeyRouter) {
    this.shape = shape;
    this.buf = buf;
    this.router = router;
    this.reader = new WireReader(buf);
    checkBackendCount(router);
    this.itemsPerBackend = new Int32Array(router.backendCount);
  }

  /** Prepares this walk for another request; returns it. */
  reset(shape: SignalShape, buf: Uint8Array, router: KeyRouter): this {
    checkBackendCount(router);
    this.shape = shape;
    this.buf = buf;
    this.router = router;
    this.reader = new WireReader(buf);
    this.items = 0;
    this.firstBackend = -1;
    this.isSplit = false;
    this.depth = 0;
    this.resourceNo = -1;
    this.scopeNo = -1;
    this.itemNo = -1;
    const n = router.backendCount;
    if (this.itemsPerBackend.length < n) this.itemsPerBackend = new Int32Array(n);
    else this.itemsPerBackend.fill(0, 0, n);
    return this;
  }

  /** Drops the references to the request and its router once the split is done. */
  release(): void {
    this.buf = EMPTY;
    this.reader = new WireReader(EMPTY);
    this.router = NO_ROUTER;
  }

  /** Walks `Export*ServiceRequest`. */
  scanRequest(): void {
    const r = this.reader;
    const end = this.buf.length;
    while (r.pos < end) {
      const tagStart = r.pos;
      const tag = r.uint32(end);
      const field = tag >>> 3;
      if (field === RequestField.RESOURCES) {
        this.resourceNo++;
        this.scopeNo = -1;
        this.depth = 1;
        this.expectLen(tag, tagStart, `${this.shape.requestName}.${this.shape.resourcesField}`);
        const bodyEnd = r.lengthEnd(end);
        this.scanResource(tagStart, r.pos, bodyEnd);
        this.depth = 0;
        r.pos = bodyEnd;
      } else {
        // OTLP defines no other request field. Unknown ones are validated and dropped, as
        // the Collector drops them: copied into every part they would multiply.
        this.skipField(tag, tagStart, end);
      }
    }
  }

  /** Walks one `Resource*` whose field starts at `fieldStart` and whose body is [start, end). */
  abstract scanResource(fieldStart: number, start: number, end: number): void;
  abstract build(): SplitPart[];

  protected countItem(backend: number): void {
    this.items++;
    this.itemsPerBackend[backend] = (this.itemsPerBackend[backend] as number) + 1;
    if (this.firstBackend !== backend) {
      if (this.firstBackend < 0) this.firstBackend = backend;
      else this.isSplit = true;
    }
  }

  protected countItems(backend: number, n: number): void {
    if (n === 0) return;
    this.items += n;
    this.itemsPerBackend[backend] = (this.itemsPerBackend[backend] as number) + n;
    if (this.firstBackend !== backend) {
      if (this.firstBackend < 0) this.firstBackend = backend;
      else this.isSplit = true;
    }
  }

  /** Skips a field we do not interpret, rejecting field number 0. */
  protected skipField(tag: number, tagStart: number, end: number): void {
    const field = tag >>> 3;
    if (field === 0) throw new WireFault(tagStart, 'field number 0 is not valid');
    this.reader.skip(field, tag & 7, end, tagStart);
  }

  protected expectLen(tag: number, tagStart: number, what: string): void {
    if ((tag & 7) !== WireType.LEN) {
      throw new WireFault(
        tagStart,
        `${what} has wire type ${wireTypeName(tag & 7)}; a length-delimited field was expected`,
      );
    }
  }

  /** Parts for the trivial cases; undefined when the request really is split. */
  protected trivialParts(): SplitPart[] | undefined {
    if (this.items === 0) return [];
    if (!this.isSplit) return [{ backend: this.firstBackend, bytes: this.buf, items: this.items }];
    return undefined;
  }

  /** Turns what a scan threw into a {@link WireFormatError} that says where it happened. */
  describe(err: unknown): WireFormatError {
    if (!(err instanceof WireFault)) {
      // Not a wire fault: a bug in the walker. Still a value, never an escaping exception.
      return new WireFormatError(
        ErrorCode.OTLP_MALFORMED,
        this.reader.pos,
        `internal error while reading the OTLP ${this.shape.signal} request at byte ${this.reader.pos}: ${String(err)}`,
      );
    }
    let path = '';
    if (this.depth >= 1) path += `${this.shape.resourcesField}[${this.resourceNo}]`;
    if (this.depth >= 2) path += `.${this.shape.scopesField}[${this.scopeNo}]`;
    if (this.depth >= 3) path += `.${this.shape.itemsField}[${this.itemNo}]`;
    const context = path === '' ? '' : ` (${path})`;
    const fix =
      err.code === ErrorCode.OTLP_BAD_TRACE_ID
        ? 'OTLP trace IDs are 16 bytes, or empty when absent; fix the producer that set it'
        : 'the payload is not a valid protobuf message: check that the sender speaks OTLP protobuf and that the body is not truncated or still compressed';
    return new WireFormatError(
      err.code,
      err.offset,
      `invalid OTLP ${this.shape.signal} request at byte ${err.offset}${context}: ${err.message}; ${fix}`,
      { cause: err },
    );
  }
}

/**
 * Split by trace ID. The scan records "runs": maximal byte ranges of adjacent items of one
 * scope that go to the same backend (each item's tag and length prefix included), plus the
 * other fields of every scope and resource split into those before the first item ("head")
 * and after it ("tail"), so that a canonical input yields canonical outputs.
 */
class TraceIdWalk extends Walk {
  private runStart: Int32Array<ArrayBuffer>;
  private runEnd: Int32Array<ArrayBuffer>;
  private runBackend: Int32Array<ArrayBuffer>;
  private runScope: Int32Array<ArrayBuffer>;
  private runs = 0;

  private readonly resources = new Containers();
  private readonly scopes = new Containers();
  /** Per scope: the index of its resource. */
  private scopeResource = new Int32Array(INITIAL_CAPACITY);

  private keylessBackend = -1;
  private traceIdField: number;
  // Scratch of `build`, kept for the next request.
  private offsets = new Int32Array(INITIAL_CAPACITY);
  private fill = new Int32Array(INITIAL_CAPACITY);
  private order = new Int32Array(INITIAL_CAPACITY);
  private scopeSizes = new Int32Array(INITIAL_CAPACITY);
  private resSizes = new Int32Array(INITIAL_CAPACITY);

  constructor(shape: SignalShape, buf: Uint8Array, router: KeyRouter) {
    super(shape, buf, router);
    this.traceIdField = shape.traceIdField;
    const runs = runsGuess(buf);
    this.runStart = new Int32Array(runs);
    this.runEnd = new Int32Array(runs);
    this.runBackend = new Int32Array(runs);
    this.runScope = new Int32Array(runs);
  }

  override reset(shape: SignalShape, buf: Uint8Array, router: KeyRouter): this {
    super.reset(shape, buf, router);
    this.traceIdField = shape.traceIdField;
    this.runs = 0;
    this.resources.reset();
    this.scopes.reset();
    this.keylessBackend = -1;
    const runs = runsGuess(buf);
    if (this.runStart.length < runs || this.runStart.length > MAX_RETAINED_RUNS) {
      this.runStart = new Int32Array(runs);
      this.runEnd = new Int32Array(runs);
      this.runBackend = new Int32Array(runs);
      this.runScope = new Int32Array(runs);
    }
    if (this.scopeResource.length > MAX_RETAINED_RUNS) this.scopeResource = new Int32Array(INITIAL_CAPACITY);
    if (this.order.length > MAX_RETAINED_RUNS) {
      this.order = new Int32Array(INITIAL_CAPACITY);
      this.scopeSizes = new Int32Array(INITIAL_CAPACITY);
      this.resSizes = new Int32Array(INITIAL_CAPACITY);
    }
    return this;
  }

  scanResource(_fieldStart: number, start: number, end: number): void {
    const r = this.reader;
    const resources = this.resources;
    const res = resources.open();
    const runsBefore = this.runs;
    r.pos = start;
    while (r.pos < end) {
      const tagStart = r.pos;
      const tag = r.uint32(end);
      if (tag >>> 3 === RequestField.SCOPES) {
        this.scopeNo++;
        this.itemNo = -1;
        this.depth = 2;
        this.expectLen(tag, tagStart, `${this.shape.resourceName}.${this.shape.scopesField}`);
        const bodyEnd = r.lengthEnd(end);
        resources.markChild(res);
        this.scanScope(res, r.pos, bodyEnd);
        this.depth = 1;
        r.pos = bodyEnd;
      } else {
        this.skipField(tag, tagStart, end);
        resources.addOther(res, tagStart, r.pos);
      }
    }
    // A resource without items carries no data: forgetting it keeps hostile floods of
    // empty containers from costing memory.
    if (this.runs === runsBefore) resources.discard(res);
    else resources.close(res);
  }

  private scanScope(res: number, start: number, end: number): void {
    const r = this.reader;
    const scopes = this.scopes;
    const sc = scopes.open();
    if (sc === this.scopeResource.length) this.scopeResource = grow(this.scopeResource, sc + 1);
    this.scopeResource[sc] = res;
    const firstRun = this.runs;
    r.pos = start;
    while (r.pos < end) {
      const tagStart = r.pos;
      const tag = r.uint32(end);
      if (tag >>> 3 === RequestField.ITEMS) {
        this.itemNo++;
        this.depth = 3;
        this.expectLen(tag, tagStart, `${this.shape.scopeName}.${this.shape.itemsField}`);
        const bodyEnd = r.lengthEnd(end);
        scopes.markChild(sc);
        const backend = this.backendOf(r.pos, bodyEnd);
        this.depth = 2;
        r.pos = bodyEnd;
        this.countItem(backend);
        const n = this.runs;
        if (n > firstRun && this.runBackend[n - 1] === backend && this.runEnd[n - 1] === tagStart) {
          this.runEnd[n - 1] = bodyEnd;
        } else {
          if (n === this.runStart.length) {
            this.runStart = grow(this.runStart, n + 1);
            this.runEnd = grow(this.runEnd, n + 1);
            this.runBackend = grow(this.runBackend, n + 1);
            this.runScope = grow(this.runScope, n + 1);
          }
          this.runStart[n] = tagStart;
          this.runEnd[n] = bodyEnd;
          this.runBackend[n] = backend;
          this.runScope[n] = sc;
          this.runs = n + 1;
        }
      } else {
        this.skipField(tag, tagStart, end);
        scopes.addOther(sc, tagStart, r.pos);
      }
    }
    if (this.runs === firstRun) scopes.discard(sc);
    else scopes.close(sc);
  }

  /** Finds the item's trace ID (last one wins) and maps it to a backend. */
  private backendOf(start: number, end: number): number {
    // The hottest loop of the splitter: every top-level field of every item passes here.
    // One-byte tags and lengths, and the common wire types, are handled inline; anything
    // else goes through the general reader, which also produces the errors.
    const r = this.reader;
    const buf = this.buf;
    const traceIdField = this.traceIdField;
    let keyStart = -1;
    let keyEnd = -1;
    let keyTag = -1;
    let pos = start;
    while (pos < end) {
      const tagStart = pos;
      let tag = buf[pos] as number;
      if (tag < 0x80 && tag >= 8) {
        pos++;
      } else {
        r.pos = pos;
        tag = r.uint32(end);
        if (tag >>> 3 === 0) throw new WireFault(tagStart, 'field number 0 is not valid');
        pos = r.pos;
      }
      const wireType = tag & 7;
      if (wireType === WireType.LEN) {
        const lenStart = pos;
        let len = pos < end ? (buf[pos] as number) : 0x80;
        if (len < 0x80) {
          pos++;
        } else {
          r.pos = pos;
          len = r.uint32(end);
          pos = r.pos;
        }
        const bodyEnd = pos + len;
        if (bodyEnd > end)
          throw new WireFault(
            lenStart,
            `length ${len} runs past the end of the enclosing message (${end - pos} bytes left)`,
          );
        if (tag >>> 3 === traceIdField) {
          keyStart = pos;
          keyEnd = bodyEnd;
          keyTag = tagStart;
        }
        pos = bodyEnd;
      } else if (tag >>> 3 === traceIdField) {
        this.expectLen(tag, tagStart, `${this.shape.itemName}.trace_id`);
      } else if (wireType === WireType.I64 && pos + 8 <= end) {
        pos += 8;
      } else if (wireType === WireType.VARINT && pos < end && (buf[pos] as number) < 0x80) {
        pos++;
      } else {
        r.pos = pos;
        r.skip(tag >>> 3, wireType, end, tagStart);
        pos = r.pos;
      }
    }
    r.pos = pos;
    const len = keyEnd - keyStart;
    if (len === TRACE_ID_BYTES && !isZeroTraceId(buf, keyStart)) return this.router.route(buf, keyStart, keyEnd);
    if (len === 0 || len === TRACE_ID_BYTES) {
      if (this.keylessBackend < 0) this.keylessBackend = this.router.keyless();
      return this.keylessBackend;
    }
    throw new WireFault(keyTag, `${this.shape.itemName}.trace_id is ${len} bytes long`, ErrorCode.OTLP_BAD_TRACE_ID);
  }

  build(): SplitPart[] {
    const trivial = this.trivialParts();
    if (trivial !== undefined) return trivial;

    // Bucket the runs by backend (a stable counting sort), so that each part is built
    // from its own runs only, in input order.
    const backends = this.router.backendCount;
    const runs = this.runs;
    if (this.offsets.length < backends + 1) {
      this.offsets = new Int32Array(backends + 1);
      this.fill = new Int32Array(backends);
    }
    if (this.order.length < runs) this.order = new Int32Array(runs);
    const offsets = this.offsets;
    const order = this.order;
    const fill = this.fill;
    offsets.fill(0, 0, backends + 1);
    for (let i = 0; i < runs; i++) {
      const slot = (this.runBackend[i] as number) + 1;
      offsets[slot] = (offsets[slot] as number) + 1;
    }
    for (let b = 0; b < backends; b++) offsets[b + 1] = (offsets[b + 1] as number) + (offsets[b] as number);
    for (let b = 0; b < backends; b++) fill[b] = offsets[b] as number;
    for (let i = 0; i < runs; i++) {
      const b = this.runBackend[i] as number;
      const at = fill[b] as number;
      order[at] = i;
      fill[b] = at + 1;
    }

    // Sizes of the scope and resource wrappers of one part, in the order they are written.
    const wrappers = Math.min(runs, Math.max(this.scopes.length, this.resources.length));
    if (this.scopeSizes.length < wrappers) {
      this.scopeSizes = new Int32Array(wrappers);
      this.resSizes = new Int32Array(wrappers);
    }
    const { scopeSizes, resSizes } = this;
    const parts: SplitPart[] = [];
    for (let b = 0; b < backends; b++) {
      const from = offsets[b] as number;
      const to = offsets[b + 1] as number;
      if (from === to) continue;
      const total = this.measure(order, from, to, scopeSizes, resSizes);
      const out = Buffer.allocUnsafe(total);
      const written = this.write(out, order, from, to, scopeSizes, resSizes);
      if (written !== total) throw new Error(`splitter wrote ${written} bytes of ${total}`);
      parts.push({ backend: b, bytes: out, items: this.itemsPerBackend[b] as number });
    }
    return parts;
  }

  /** Computes wrapper sizes and the total size of the part made of runs order[from, to). */
  private measure(order: Int32Array, from: number, to: number, scopeSizes: Int32Array, resSizes: Int32Array): number {
    let total = 0;
    let curScope = -1;
    let curRes = -1;
    let scopeInner = 0;
    let resInner = 0;
    let ns = 0;
    let nr = 0;
    for (let k = from; k < to; k++) {
      const run = order[k] as number;
      const sc = this.runScope[run] as number;
      if (sc !== curScope) {
        if (curScope >= 0) {
          scopeSizes[ns++] = scopeInner;
          resInner += 1 + varintSize(scopeInner) + scopeInner;
        }
        const res = this.scopeResource[sc] as number;
        if (res !== curRes) {
          if (curRes >= 0) {
            resSizes[nr++] = resInner;
            total += 1 + varintSize(resInner) + resInner;
          }
          curRes = res;
          resInner = this.resources.otherBytes(res);
        }
        curScope = sc;
        scopeInner = this.scopes.otherBytes(sc);
      }
      scopeInner += (this.runEnd[run] as number) - (this.runStart[run] as number);
    }
    scopeSizes[ns] = scopeInner;
    resInner += 1 + varintSize(scopeInner) + scopeInner;
    resSizes[nr] = resInner;
    total += 1 + varintSize(resInner) + resInner;
    return total;
  }

  private write(
    out: Uint8Array,
    order: Int32Array,
    from: number,
    to: number,
    scopeSizes: Int32Array,
    resSizes: Int32Array,
  ): number {
    const buf = this.buf;
    const { scopes, resources } = this;
    const resTag = lenTag(RequestField.RESOURCES);
    const scopeTag = lenTag(RequestField.SCOPES);
    let pos = 0;
    let curScope = -1;
    let curRes = -1;
    let ns = 0;
    let nr = 0;
    for (let k = from; k < to; k++) {
      const run = order[k] as number;
      const sc = this.runScope[run] as number;
      if (sc !== curScope) {
        if (curScope >= 0) pos = scopes.writeTail(curScope, out, pos, buf);
        const res = this.scopeResource[sc] as number;
        if (res !== curRes) {
          if (curRes >= 0) pos = resources.writeTail(curRes, out, pos, buf);
          curRes = res;
          out[pos++] = resTag;
          pos = writeVarint(out, pos, resSizes[nr++] as number);
          pos = resources.writeHead(res, out, pos, buf);
        }
        curScope = sc;
        out[pos++] = scopeTag;
        pos = writeVarint(out, pos, scopeSizes[ns++] as number);
        pos = scopes.writeHead(sc, out, pos, buf);
      }
      pos = copyRange(out, pos, buf, this.runStart[run] as number, this.runEnd[run] as number);
    }
    pos = scopes.writeTail(curScope, out, pos, buf);
    return resources.writeTail(curRes, out, pos, buf);
  }
}

/**
 * Split by `service.name`. Each resource goes whole to one backend; adjacent resources for
 * the same backend are copied as one range.
 */
class ServiceWalk extends Walk {
  /** [start, end, backend] per range of adjacent resources bound for one backend. */
  private ranges: number[] = [];
  private partBytes: Int32Array<ArrayBuffer>;

  constructor(shape: SignalShape, buf: Uint8Array, router: KeyRouter) {
    super(shape, buf, router);
    this.partBytes = new Int32Array(router.backendCount);
  }

  override reset(shape: SignalShape, buf: Uint8Array, router: KeyRouter): this {
    super.reset(shape, buf, router);
    this.ranges.length = 0;
    const n = router.backendCount;
    if (this.partBytes.length < n) this.partBytes = new Int32Array(n);
    else this.partBytes.fill(0, 0, n);
    return this;
  }

  scanResource(fieldStart: number, start: number, end: number): void {
    const r = this.reader;
    let keyStart = -1;
    let keyEnd = -1;
    let items = 0;
    r.pos = start;
    while (r.pos < end) {
      const tagStart = r.pos;
      const tag = r.uint32(end);
      const field = tag >>> 3;
      if (field === RequestField.SCOPES) {
        this.scopeNo++;
        this.itemNo = -1;
        this.depth = 2;
        this.expectLen(tag, tagStart, `${this.shape.resourceName}.${this.shape.scopesField}`);
        const bodyEnd = r.lengthEnd(end);
        items += this.countScopeItems(r.pos, bodyEnd);
        this.depth = 1;
        r.pos = bodyEnd;
      } else if (field === RequestField.RESOURCE) {
        this.expectLen(tag, tagStart, `${this.shape.resourceName}.resource`);
        const bodyEnd = r.lengthEnd(end);
        if (keyStart < 0) {
          const found = this.findServiceName(r.pos, bodyEnd);
          if (found !== undefined) [keyStart, keyEnd] = found;
        }
        r.pos = bodyEnd;
      } else {
        this.skipField(tag, tagStart, end);
      }
    }
    // A resource without items carries no data; it is not forwarded.
    if (items === 0) return;
    const backend = keyStart < 0 ? this.router.route(EMPTY, 0, 0) : this.router.route(this.buf, keyStart, keyEnd);
    this.countItems(backend, items);
    this.partBytes[backend] = (this.partBytes[backend] as number) + end - fieldStart;
    const ranges = this.ranges;
    const n = ranges.length;
    if (n > 0 && ranges[n - 1] === backend && ranges[n - 2] === fieldStart) {
      ranges[n - 2] = end;
    } else {
      ranges.push(fieldStart, end, backend);
    }
  }

  private countScopeItems(start: number, end: number): number {
    const r = this.reader;
    let n = 0;
    r.pos = start;
    while (r.pos < end) {
      const tagStart = r.pos;
      const tag = r.uint32(end);
      if (tag >>> 3 === RequestField.ITEMS) {
        this.itemNo++;
        this.depth = 3;
        this.expectLen(tag, tagStart, `${this.shape.scopeName}.${this.shape.itemsField}`);
        r.pos = r.lengthEnd(end);
        this.depth = 2;
        n++;
      } else {
        this.skipField(tag, tagStart, end);
      }
    }
    return n;
  }

  /**
   * Looks for the first `service.name` attribute in one occurrence of `Resource`. Returns
   * the string value's byte range (empty when the value is not a string), or undefined when
   * this occurrence has no such attribute.
   */
  private findServiceName(start: number, end: number): [number, number] | undefined {
    const r = this.reader;
    r.pos = start;
    while (r.pos < end) {
      const tagStart = r.pos;
      const tag = r.uint32(end);
      if (tag >>> 3 === AttributeField.RESOURCE_ATTRIBUTES) {
        this.expectLen(tag, tagStart, 'Resource.attributes');
        const kvEnd = r.lengthEnd(end);
        const found = this.serviceNameValue(r.pos, kvEnd);
        r.pos = kvEnd;
        if (found !== undefined) return found;
      } else {
        this.skipField(tag, tagStart, end);
      }
    }
    return undefined;
  }

  /** For a `KeyValue` whose key is `service.name`, the string value's range; else undefined. */
  private serviceNameValue(start: number, end: number): [number, number] | undefined {
    const r = this.reader;
    const buf = this.buf;
    let keyStart = -1;
    let keyEnd = -1;
    let valueStart = 0;
    let valueEnd = 0;
    let isString = false;
    r.pos = start;
    while (r.pos < end) {
      const tagStart = r.pos;
      const tag = r.uint32(end);
      const field = tag >>> 3;
      if (field === AttributeField.KEY) {
        this.expectLen(tag, tagStart, 'KeyValue.key');
        keyEnd = r.lengthEnd(end);
        keyStart = r.pos;
        r.pos = keyEnd;
      } else if (field === AttributeField.VALUE) {
        this.expectLen(tag, tagStart, 'KeyValue.value');
        const anyEnd = r.lengthEnd(end);
        // AnyValue occurrences merge; the last oneof member set wins.
        while (r.pos < anyEnd) {
          const at = r.pos;
          const t = r.uint32(anyEnd);
          const f = t >>> 3;
          if (f === AttributeField.STRING_VALUE) {
            this.expectLen(t, at, 'AnyValue.string_value');
            valueEnd = r.lengthEnd(anyEnd);
            valueStart = r.pos;
            r.pos = valueEnd;
            isString = true;
          } else {
            this.skipField(t, at, anyEnd);
            if (f <= AttributeField.LAST_ANY_VALUE) isString = false;
          }
        }
      } else {
        this.skipField(tag, tagStart, end);
      }
    }
    if (keyEnd - keyStart !== SERVICE_NAME.length) return undefined;
    for (let i = 0; i < SERVICE_NAME.length; i++) if (buf[keyStart + i] !== SERVICE_NAME[i]) return undefined;
    return isString ? [valueStart, valueEnd] : [0, 0];
  }

  build(): SplitPart[] {
    const trivial = this.trivialParts();
    if (trivial !== undefined) return trivial;
    const backends = this.router.backendCount;
    const outs: (Buffer | undefined)[] = new Array<Buffer | undefined>(backends);
    const fill = new Int32Array(backends);
    const ranges = this.ranges;
    for (let i = 0; i < ranges.length; i += 3) {
      const b = ranges[i + 2] as number;
      let out = outs[b];
      if (out === undefined) {
        out = Buffer.allocUnsafe(this.partBytes[b] as number);
        outs[b] = out;
      }
      fill[b] = copyRange(out, fill[b] as number, this.buf, ranges[i] as number, ranges[i + 1] as number);
    }
    const parts: SplitPart[] = [];
    for (let b = 0; b < backends; b++) {
      const out = outs[b];
      if (out !== undefined && (this.itemsPerBackend[b] as number) > 0)
        parts.push({ backend: b, bytes: out, items: this.itemsPerBackend[b] as number });
    }
    return parts;
  }
}
