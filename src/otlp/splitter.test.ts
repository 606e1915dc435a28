import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import fc from 'fast-check';

import { ErrorCode } from '../errors.ts';
import {
  concatBytes,
  encodeTag,
  encodeVarint,
  fixed32Field,
  groupField,
  hex,
  messageField,
  stringField,
  bytesField,
  varintField,
  WireType,
} from '../../test/helpers/protobuf-writer.ts';
import {
  logsRequestArbitrary,
  tracesRequestArbitrary,
  WireFeature,
  WireStyle,
} from '../../test/helpers/otlp-arbitraries.ts';
import { canonicalJson, logRecordItems, logItemKeys, spanItems, traceItemKeys } from '../../test/helpers/otlp-items.ts';
import { buildLogsRequest, buildTracesRequest } from '../../test/helpers/otlp-builders.ts';
import { decodeLogsRequest, decodeTracesRequest, encodeLogsRequest, encodeTracesRequest } from './proto/decoder.ts';
import type { Resource } from './proto/messages.ts';
import { splitLogs } from './logs.ts';
import { RoutingKey, Splitter, splitRequest, type KeyRouter, type SplitResult } from './splitter.ts';
import { splitTraces, TRACES_SHAPE } from './traces.ts';
import { LOGS_SHAPE } from './logs.ts';

const UTF8 = new TextEncoder();

/** A deterministic router: FNV-1a of the key modulo the backend count; counts keyless calls. */
function testRouter(backendCount: number, keylessBackend = backendCount - 1): KeyRouter & { keylessCalls: number } {
  return {
    backendCount,
    keylessCalls: 0,
    route(key, start, end) {
      let h = 0x811c9dc5;
      for (let i = start; i < end; i++) h = Math.imul(h ^ (key[i] as number), 0x01000193);
      return (h >>> 0) % backendCount;
    },
    keyless() {
      this.keylessCalls++;
      return keylessBackend;
    },
  };
}

function expectOk(result: SplitResult): Extract<SplitResult, { ok: true }> {
  if (!result.ok) assert.fail(`split failed: ${result.error.message}`);
  return result;
}

function expectError(result: SplitResult): Extract<SplitResult, { ok: false }>['error'] {
  if (result.ok) assert.fail('split succeeded on malformed input');
  return result.error;
}

function serviceKey(resource: Resource | undefined): Uint8Array {
  const attr = resource?.attributes?.find((kv) => kv.key === 'service.name');
  const value = attr?.value?.stringValue;
  return value === undefined ? new Uint8Array(0) : UTF8.encode(value);
}

function routeHex(router: KeyRouter, traceId: string | undefined): number {
  if (traceId === undefined || /^0*$/.test(traceId)) return -1;
  return router.route(Buffer.from(traceId, 'hex'), 0, 16);
}

/** The properties every split must have, whatever the input. */
function checkSplit(
  signal: 'traces' | 'logs',
  routingKey: RoutingKey,
  input: Uint8Array,
  router: KeyRouter & { keylessCalls: number },
  result: SplitResult,
): void {
  const { parts, items } = expectOk(result);
  const keysOf = signal === 'traces' ? traceItemKeys : logItemKeys;

  // Nothing lost, nothing duplicated, nothing altered (unknown fields included).
  const before = keysOf(input, { unknownFields: true }).sort();
  const after = parts.flatMap((p) => keysOf(p.bytes, { unknownFields: true })).sort();
  assert.deepEqual(after, before);
  assert.equal(items, before.length);

  // Parts: ascending distinct backends, none empty, counts right.
  for (let i = 1; i < parts.length; i++) assert.ok((parts[i - 1]?.backend ?? -1) < (parts[i]?.backend ?? -1));
  for (const p of parts) {
    assert.ok(p.items > 0);
    assert.equal(keysOf(p.bytes).length, p.items);
  }
  if (parts.length === 1) assert.equal(parts[0]?.bytes, input, 'a request bound for one backend is forwarded as it is');
  assert.ok(router.keylessCalls <= 1, 'keyless() is asked at most once per request');

  // Every item went where its key says.
  for (const p of parts) {
    const contexts =
      signal === 'traces'
        ? spanItems(decodeTracesRequest(p.bytes)).map((it) => ({ resource: it.resource, traceId: it.item.traceId }))
        : logRecordItems(decodeLogsRequest(p.bytes)).map((it) => ({ resource: it.resource, traceId: it.item.traceId }));
    for (const { resource, traceId } of contexts) {
      let expected: number;
      if (routingKey === RoutingKey.SERVICE) {
        const key = serviceKey(resource);
        expected = router.route(key, 0, key.length);
      } else {
        expected = routeHex(router, traceId);
        if (expected < 0) expected = router.backendCount - 1;
      }
      assert.equal(p.backend, expected, `item ${canonicalJson({ traceId })} is on the wrong backend`);
    }
  }
}

describe('splitter: property tests against protobufjs', () => {
  const runs = Number(process.env.SPLIT_PROPERTY_RUNS ?? 1000);
  for (const routingKey of [RoutingKey.TRACE_ID, RoutingKey.SERVICE]) {
    it(`splits random traces requests by ${routingKey} without losing, duplicating or altering a span`, () => {
      fc.assert(
        fc.property(tracesRequestArbitrary(), fc.integer({ min: 1, max: 5 }), (req, backends) => {
          const router = testRouter(backends);
          checkSplit('traces', routingKey, req.bytes, router, splitTraces(req.bytes, routingKey, router));
        }),
        { numRuns: runs },
      );
    });
    it(`splits random logs requests by ${routingKey} without losing, duplicating or altering a record`, () => {
      fc.assert(
        fc.property(logsRequestArbitrary(), fc.integer({ min: 1, max: 5 }), (req, backends) => {
          const router = testRouter(backends);
          checkSplit('logs', routingKey, req.bytes, router, splitLogs(req.bytes, routingKey, router));
        }),
        { numRuns: runs },
      );
    });
  }

  it('turns canonical input into canonical parts (byte-equal to a fresh protobufjs encoding)', () => {
    fc.assert(
      fc.property(
        tracesRequestArbitrary({ style: WireStyle.CANONICAL }),
        fc.integer({ min: 2, max: 6 }),
        (req, backends) => {
          // protobufjs leaves out fields set to their default; such input is not canonical.
          fc.pre(!req.features.has(WireFeature.EXPLICIT_DEFAULT));
          for (const routingKey of [RoutingKey.TRACE_ID, RoutingKey.SERVICE]) {
            const { parts } = expectOk(splitTraces(req.bytes, routingKey, testRouter(backends)));
            for (const p of parts)
              assert.deepEqual(new Uint8Array(p.bytes), encodeTracesRequest(decodeTracesRequest(p.bytes)));
          }
        },
      ),
      { numRuns: Math.ceil(runs / 4) },
    );
    fc.assert(
      fc.property(
        logsRequestArbitrary({ style: WireStyle.CANONICAL }),
        fc.integer({ min: 2, max: 6 }),
        (req, backends) => {
          fc.pre(!req.features.has(WireFeature.EXPLICIT_DEFAULT));
          const { parts } = expectOk(splitLogs(req.bytes, RoutingKey.TRACE_ID, testRouter(backends)));
          for (const p of parts)
            assert.deepEqual(new Uint8Array(p.bytes), encodeLogsRequest(decodeLogsRequest(p.bytes)));
        },
      ),
      { numRuns: Math.ceil(runs / 4) },
    );
  });

  it('never throws on corrupted input: every result is a value, every error has an offset inside the input', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
      }),
    );
    fc.assert(
      fc.property(
        tracesRequestArbitrary(),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.constantFrom(...Object.values(RoutingKey)),
        (req, mutations, routingKey) => {
          let bytes: Uint8Array = new Uint8Array(req.bytes);
          for (const m of mutations) {
            const at = bytes.length === 0 ? 0 : m.at % bytes.length;
            if (m.kind === 'truncate') bytes = bytes.slice(0, at);
            else if (m.kind === 'flip') {
              if (bytes.length > 0) bytes[at] = m.value;
            } else bytes = concatBytes([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
          }
          const result = splitTraces(bytes, routingKey, testRouter(3));
          if (!result.ok) {
            assert.ok([ErrorCode.OTLP_MALFORMED, ErrorCode.OTLP_BAD_TRACE_ID].includes(result.error.code as never));
            assert.ok(
              result.error.offset >= 0 && result.error.offset <= bytes.length,
              `offset ${result.error.offset} of ${bytes.length}`,
            );
          } else {
            const total = result.parts.reduce((n, p) => n + p.items, 0);
            assert.equal(total, result.items);
          }
        },
      ),
      { numRuns: runs },
    );
  });
});

describe('splitter: a reused Splitter', () => {
  /** A result as plain data, to compare splits made by different splitters. */
  function summary(result: SplitResult): unknown {
    return result.ok
      ? { items: result.items, parts: result.parts.map((p) => ({ ...p, bytes: Buffer.from(p.bytes).toString('hex') })) }
      : { code: result.error.code, offset: result.error.offset, message: result.error.message };
  }

  it('splits request after request exactly as fresh splits do (valid and corrupted, both keys and signals)', () => {
    const runs = Number(process.env.SPLIT_PROPERTY_RUNS ?? 1000);
    const step = fc.record({
      signal: fc.constantFrom('traces' as const, 'logs' as const),
      traces: tracesRequestArbitrary(),
      logs: logsRequestArbitrary(),
      backends: fc.integer({ min: 1, max: 40 }),
      routingKey: fc.constantFrom(...Object.values(RoutingKey)),
      truncateAt: fc.option(fc.nat(), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), (steps) => {
        const splitter = new Splitter();
        for (const s of steps) {
          const shape = s.signal === 'traces' ? TRACES_SHAPE : LOGS_SHAPE;
          const whole = s.signal === 'traces' ? s.traces.bytes : s.logs.bytes;
          const bytes = s.truncateAt === undefined ? whole : whole.subarray(0, s.truncateAt % (whole.length + 1));
          const reused = splitter.split(shape, bytes, s.routingKey, testRouter(s.backends));
          const fresh = splitRequest(shape, bytes, s.routingKey, testRouter(s.backends));
          assert.deepEqual(summary(reused), summary(fresh));
        }
      }),
      { numRuns: Math.ceil(runs / 4) },
    );
  });

  it('keeps no reference to the last request or its router once a split is done', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const splitter = new Splitter();
    const refs = ((): WeakRef<object>[] => {
      const request = buildTracesRequest();
      const router = testRouter(4);
      assert.equal(expectOk(splitter.split(TRACES_SHAPE, request, RoutingKey.TRACE_ID, router)).parts.length, 4);
      return [new WeakRef(request), new WeakRef(router)];
    })();

    await new Promise((resolve) => setImmediate(resolve));
    gc();

    assert.deepEqual(
      refs.map((r) => r.deref() === undefined),
      [true, true],
      'the request and the router were collected',
    );
    assert.ok(expectOk(splitter.split(TRACES_SHAPE, buildTracesRequest(), RoutingKey.TRACE_ID, testRouter(4))));
  });
});

const TRACE_A = hex('0af7651916cd43dd8448eb211c80319c');
const TRACE_B = hex('4bf92f3577b34da6a3ce929d0e0e4736');

function span(...fields: Uint8Array[]): Uint8Array {
  return messageField(2, ...fields);
}
function scopeSpans(...fields: Uint8Array[]): Uint8Array {
  return messageField(2, ...fields);
}
function resourceSpans(...fields: Uint8Array[]): Uint8Array {
  return messageField(1, ...fields);
}
function serviceResource(name: string): Uint8Array {
  return messageField(1, messageField(1, stringField(1, 'service.name'), messageField(2, stringField(1, name))));
}

describe('splitter: routing rules', () => {
  it('forwards the original buffer when every span maps to one backend', () => {
    const input = concatBytes([resourceSpans(scopeSpans(span(bytesField(1, TRACE_A)), span(bytesField(1, TRACE_A))))]);
    const result = expectOk(splitTraces(input, RoutingKey.TRACE_ID, testRouter(4)));

    assert.equal(result.parts.length, 1);
    const [part] = result.parts;
    assert.ok(part);
    assert.equal(part.bytes, input);
    assert.equal(part.items, 2);
  });

  it('returns no parts for empty requests and requests of empty containers', () => {
    for (const input of [
      new Uint8Array(0),
      resourceSpans(),
      resourceSpans(scopeSpans()),
      concatBytes([resourceSpans(serviceResource('a'), scopeSpans(stringField(3, 'x')))]),
    ]) {
      for (const routingKey of Object.values(RoutingKey)) {
        const result = expectOk(splitTraces(input, routingKey, testRouter(3)));
        assert.deepEqual(result.parts, []);
        assert.equal(result.items, 0);
      }
    }
  });

  it('sends all spans without a trace ID (absent or empty) of one request to the one keyless backend', () => {
    const router = testRouter(64, 63);
    assert.notEqual(router.route(TRACE_A, 0, 16), 63);
    const input = resourceSpans(
      scopeSpans(
        span(stringField(5, 'no id')),
        span(bytesField(1, new Uint8Array(0))),
        span(bytesField(1, TRACE_A)),
        span(stringField(5, 'again')),
      ),
    );

    const { parts } = expectOk(splitTraces(input, RoutingKey.TRACE_ID, router));

    assert.equal(router.keylessCalls, 1);
    assert.equal(parts.find((p) => p.backend === 63)?.items, 3);
  });

  it('uses the last trace_id of a span, as protobuf merging does', () => {
    const router = testRouter(64);
    assert.notEqual(router.route(TRACE_A, 0, 16), router.route(TRACE_B, 0, 16));
    const input = resourceSpans(scopeSpans(span(bytesField(1, TRACE_A), stringField(5, 'n'), bytesField(1, TRACE_B))));

    const { parts } = expectOk(splitTraces(input, RoutingKey.TRACE_ID, router));

    assert.equal(parts[0]?.backend, router.route(TRACE_B, 0, 16));
  });

  it('routes logs by LogRecord.trace_id (field 9)', () => {
    const router = testRouter(64);
    const record = (id: Uint8Array): Uint8Array => messageField(2, fixed32Field(8, 1), bytesField(9, id));
    const input = messageField(1, messageField(2, record(TRACE_A), record(TRACE_B)));

    const { parts } = expectOk(splitLogs(input, RoutingKey.TRACE_ID, router));

    assert.deepEqual(
      parts.map((p) => p.backend).sort((a, b) => a - b),
      [router.route(TRACE_A, 0, 16), router.route(TRACE_B, 0, 16)].sort((a, b) => a - b),
    );
  });

  it('routes by the first service.name of the merged resource, and a missing or non-string one by the empty key', () => {
    const router = testRouter(64);
    const emptyBackend = router.route(new Uint8Array(0), 0, 0);
    const cases: { name: string; resource: Uint8Array[]; key: string }[] = [
      { name: 'plain', resource: [serviceResource('checkout')], key: 'checkout' },
      {
        name: 'not the first attribute',
        resource: [
          messageField(
            1,
            messageField(1, stringField(1, 'host.name'), messageField(2, stringField(1, 'h1'))),
            messageField(1, stringField(1, 'service.name'), messageField(2, stringField(1, 'cart'))),
          ),
        ],
        key: 'cart',
      },
      {
        name: 'resource written twice',
        resource: [messageField(1, messageField(1, stringField(1, 'host.name'))), serviceResource('pay')],
        key: 'pay',
      },
      { name: 'first of two', resource: [serviceResource('first'), serviceResource('second')], key: 'first' },
      {
        name: 'missing',
        resource: [messageField(1, messageField(1, stringField(1, 'host.name'), messageField(2, stringField(1, 'h'))))],
        key: '',
      },
      {
        name: 'an int value',
        resource: [
          messageField(1, messageField(1, stringField(1, 'service.name'), messageField(2, varintField(3, 7)))),
        ],
        key: '',
      },
      {
        name: 'value merged, string last',
        resource: [
          messageField(
            1,
            messageField(
              1,
              stringField(1, 'service.name'),
              messageField(2, varintField(3, 7)),
              messageField(2, stringField(1, 'late')),
            ),
          ),
        ],
        key: 'late',
      },
      { name: 'no resource at all', resource: [], key: '' },
    ];
    for (const c of cases) {
      const input = concatBytes([
        resourceSpans(...c.resource, scopeSpans(span(bytesField(1, TRACE_A)))),
        resourceSpans(serviceResource('zz-other'), scopeSpans(span(bytesField(1, TRACE_B)))),
      ]);
      const { parts } = expectOk(splitTraces(input, RoutingKey.SERVICE, router));
      const key = UTF8.encode(c.key);
      const expected = c.key === '' ? emptyBackend : router.route(key, 0, key.length);
      assert.ok(
        parts.some(
          (p) =>
            p.backend === expected &&
            traceItemKeys(p.bytes).some((k) => k.includes(Buffer.from(TRACE_A).toString('hex'))),
        ),
        c.name,
      );
    }
  });

  it('drops request-level unknown fields, which OTLP does not define, instead of copying them into every part', () => {
    const unknown = stringField(15, 'request-level');
    const input = concatBytes([
      unknown,
      resourceSpans(scopeSpans(span(bytesField(1, TRACE_A)), span(bytesField(1, TRACE_B)))),
    ]);
    const router = testRouter(64);

    const { parts } = expectOk(splitTraces(input, RoutingKey.TRACE_ID, router));

    assert.equal(parts.length, 2);
    for (const p of parts) assert.equal(p.bytes[0], 0x0a, 'each part starts with its resource_spans');
  });

  it('treats the all-zero trace ID as no trace ID', () => {
    const router = testRouter(64, 5);
    const input = resourceSpans(scopeSpans(span(bytesField(1, new Uint8Array(16))), span(bytesField(1, TRACE_A))));

    const { parts } = expectOk(splitTraces(input, RoutingKey.TRACE_ID, router));

    assert.equal(router.keylessCalls, 1);
    assert.equal(parts.find((p) => p.backend === 5)?.items, 1);
  });

  it('keeps a flood of empty containers out of split parts', () => {
    const empties = new Uint8Array(4 << 20);
    for (let i = 0; i < empties.length; i += 2) empties[i] = 0x12;
    const input = concatBytes([
      resourceSpans(serviceResource('a'), scopeSpans(span(bytesField(1, TRACE_A)))),
      resourceSpans(empties),
      resourceSpans(serviceResource('b'), scopeSpans(span(bytesField(1, TRACE_B)))),
    ]);
    const router = testRouter(64);

    for (const routingKey of Object.values(RoutingKey)) {
      const { parts, items } = expectOk(splitTraces(input, routingKey, router));

      assert.equal(items, 2);
      assert.equal(parts.length, 2, routingKey);
      for (const p of parts) assert.ok(p.bytes.length < 100, `a part of ${p.bytes.length} bytes`);
    }
  });

  it('keeps fields of scopes and resources before and after the items in their places', () => {
    const router = testRouter(64);
    const input = resourceSpans(
      serviceResource('s'),
      scopeSpans(
        messageField(1, stringField(1, 'lib')),
        span(bytesField(1, TRACE_A)),
        span(bytesField(1, TRACE_B)),
        stringField(3, 'scope-url'),
      ),
      stringField(3, 'res-url'),
    );

    const { parts } = expectOk(splitTraces(input, RoutingKey.TRACE_ID, router));

    for (const p of parts) {
      const spanFor = p.backend === router.route(TRACE_A, 0, 16) ? TRACE_A : TRACE_B;
      assert.deepEqual(
        new Uint8Array(p.bytes),
        resourceSpans(
          serviceResource('s'),
          scopeSpans(messageField(1, stringField(1, 'lib')), span(bytesField(1, spanFor)), stringField(3, 'scope-url')),
          stringField(3, 'res-url'),
        ),
      );
    }
  });

  it('splits realistic requests into every backend with exact item counts', () => {
    const traces = buildTracesRequest();
    const logs = buildLogsRequest();
    for (const backends of [4, 32]) {
      const t = expectOk(splitTraces(traces, RoutingKey.TRACE_ID, testRouter(backends)));
      assert.equal(t.parts.length, backends);
      assert.equal(t.items, 5000);
      assert.equal(
        t.parts.reduce((n, p) => n + p.items, 0),
        5000,
      );
      const l = expectOk(splitLogs(logs, RoutingKey.TRACE_ID, testRouter(backends)));
      assert.equal(
        l.parts.reduce((n, p) => n + p.items, 0),
        l.items,
      );
    }
  });
});

describe('splitter: malformed input', () => {
  const good = resourceSpans(scopeSpans(span(bytesField(1, TRACE_A))));
  // `itemsOnly`: inside an item, which only the trace-ID walk reads.
  const cases: {
    name: string;
    input: Uint8Array;
    code?: string;
    offset: number;
    message: RegExp;
    itemsOnly?: boolean;
  }[] = [
    { name: 'truncated varint (tag)', input: Uint8Array.of(0x8a), offset: 0, message: /truncated varint/ },
    {
      name: 'truncated length',
      input: concatBytes([good, Uint8Array.of(0x0a, 0x80)]),
      offset: good.length + 1,
      message: /truncated varint/,
    },
    { name: 'length past the end', input: good.subarray(0, good.length - 1), offset: 1, message: /runs past the end/ },
    {
      name: 'huge length',
      input: concatBytes([encodeTag(1, WireType.LEN), encodeVarint(0xffffffff), new Uint8Array(8)]),
      offset: 1,
      message: /length 4294967295 runs past the end/,
    },
    {
      name: 'wrong wire type on resource_spans',
      input: varintField(1, 5),
      offset: 0,
      message: /resource_spans has wire type varint/,
    },
    {
      name: 'wrong wire type on scope_spans',
      input: messageField(1, varintField(2, 1)),
      offset: 2,
      message: /scope_spans has wire type varint/,
    },
    {
      name: 'wrong wire type on spans',
      input: messageField(1, messageField(2, fixed32Field(2, 1))),
      offset: 4,
      message: /spans has wire type fixed32/,
    },
    {
      name: 'wrong wire type on trace_id',
      input: messageField(1, messageField(2, messageField(2, varintField(1, 3)))),
      offset: 6,
      message: /trace_id has wire type varint/,
      itemsOnly: true,
    },
    {
      name: 'trace ID of 8 bytes',
      input: messageField(1, messageField(2, messageField(2, bytesField(1, new Uint8Array(8))))),
      code: ErrorCode.OTLP_BAD_TRACE_ID,
      offset: 6,
      message: /trace_id is 8 bytes long/,
      itemsOnly: true,
    },
    {
      name: 'field number 0',
      input: concatBytes([good, Uint8Array.of(0x00, 0x01)]),
      offset: good.length,
      message: /field number 0/,
    },
    {
      name: 'invalid wire type 7',
      input: concatBytes([good, Uint8Array.of(0x0f)]),
      offset: good.length,
      message: /wire type invalid \(7\)/,
    },
    {
      name: 'unclosed group',
      input: concatBytes([good, encodeTag(20, WireType.SGROUP), varintField(1, 1)]),
      offset: good.length,
      message: /not closed/,
    },
    {
      name: 'mismatched end group',
      input: concatBytes([good, encodeTag(20, WireType.SGROUP), encodeTag(21, WireType.EGROUP)]),
      offset: good.length + 2,
      message: /does not match/,
    },
    {
      name: 'stray end group',
      input: concatBytes([good, encodeTag(20, WireType.EGROUP)]),
      offset: good.length,
      message: /group end/,
    },
    {
      name: 'groups nested too deeply',
      input: concatBytes([good, ...Array.from({ length: 10_000 }, () => encodeTag(20, WireType.SGROUP))]),
      offset: good.length + 2 * 32,
      message: /nested deeper than 32/,
    },
    {
      name: 'varint longer than 10 bytes',
      input: concatBytes([good, varintField(20, 0), new Uint8Array(11).fill(0x80)]),
      offset: good.length + 3,
      message: /longer than 10 bytes/,
    },
    {
      name: 'malformed span field',
      input: messageField(1, messageField(2, messageField(2, bytesField(1, TRACE_A), Uint8Array.of(0x2a, 0x05, 0x61)))),
      offset: 25,
      message: /runs past the end/,
      itemsOnly: true,
    },
  ];
  for (const c of cases) {
    it(`reports ${c.name} with its offset, as a value`, () => {
      for (const routingKey of Object.values(RoutingKey)) {
        const result = splitTraces(c.input, routingKey, testRouter(3));

        if (result.ok) {
          assert.ok(routingKey === RoutingKey.SERVICE && c.itemsOnly === true, `${c.name} accepted by ${routingKey}`);
          continue;
        }
        assert.equal(result.error.code, c.code ?? ErrorCode.OTLP_MALFORMED);
        if (routingKey === RoutingKey.TRACE_ID) assert.equal(result.error.offset, c.offset);
        assert.match(result.error.message, c.message);
        assert.match(result.error.message, /^invalid OTLP traces request at byte \d+/);
      }
    });
  }

  it('names where in the request the problem is', () => {
    const input = concatBytes([
      good,
      resourceSpans(scopeSpans(span(bytesField(1, TRACE_A)), span(bytesField(1, new Uint8Array(3))))),
    ]);
    const result = splitTraces(input, RoutingKey.TRACE_ID, testRouter(2));

    assert.match(expectError(result).message, /\(resource_spans\[1\]\.scope_spans\[0\]\.spans\[1\]\)/);
  });

  it('names the level a problem is at, also after the children of that level', () => {
    const cases: [Uint8Array, RegExp][] = [
      [
        resourceSpans(scopeSpans(span(bytesField(1, TRACE_A)), Uint8Array.of(0x1a, 0x09))),
        /\(resource_spans\[0\]\.scope_spans\[0\]\): length 9/,
      ],
      [
        resourceSpans(scopeSpans(span(bytesField(1, TRACE_A))), Uint8Array.of(0x1a, 0x09)),
        /\(resource_spans\[0\]\): length 9/,
      ],
      [
        concatBytes([resourceSpans(scopeSpans(span(bytesField(1, TRACE_A)))), Uint8Array.of(0x1a, 0x09)]),
        /request at byte \d+: length 9/,
      ],
    ];
    for (const [input, message] of cases) {
      for (const routingKey of Object.values(RoutingKey)) {
        assert.match(expectError(splitTraces(input, routingKey, testRouter(2))).message, message);
      }
    }
  });

  it('reports the same offsets when splitting by service', () => {
    const input = concatBytes([
      good,
      resourceSpans(serviceResource('x'), scopeSpans(span(bytesField(1, TRACE_A)), Uint8Array.of(0x12, 0x05))),
    ]);

    const byTrace = expectError(splitTraces(input, RoutingKey.TRACE_ID, testRouter(2)));
    const byService = expectError(splitTraces(input, RoutingKey.SERVICE, testRouter(2)));

    assert.equal(byService.offset, byTrace.offset);
    assert.equal(byService.message, byTrace.message);
  });

  it('rejects a 10-byte varint that overflows 64 bits', () => {
    const input = concatBytes([good, Uint8Array.of(0xa0, 0x01), new Uint8Array(9).fill(0xff), Uint8Array.of(0x02)]);

    const error = expectError(splitTraces(input, RoutingKey.TRACE_ID, testRouter(2)));

    assert.equal(error.offset, good.length + 2);
    assert.match(error.message, /does not fit in 64 bits/);
  });

  it('rejects a log record trace ID of the wrong length naming log_records', () => {
    const input = messageField(1, messageField(2, messageField(2, bytesField(9, new Uint8Array(17)))));
    const result = splitLogs(input, RoutingKey.TRACE_ID, testRouter(2));

    const error = expectError(result);
    assert.equal(error.code, ErrorCode.OTLP_BAD_TRACE_ID);
    assert.match(
      error.message,
      /resource_logs\[0\]\.scope_logs\[0\]\.log_records\[0\].*LogRecord\.trace_id is 17 bytes long/,
    );
  });

  it('accepts a group in an unknown field and copies it', () => {
    const input = resourceSpans(
      scopeSpans(
        span(bytesField(1, TRACE_A), groupField(30, varintField(1, 1), groupField(31, stringField(2, 'x')))),
        span(bytesField(1, TRACE_B)),
      ),
    );
    const result = expectOk(splitTraces(input, RoutingKey.TRACE_ID, testRouter(64)));

    assert.equal(result.items, 2);
  });
});
