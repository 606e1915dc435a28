import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';
import protobuf from 'protobufjs';

import {
  decodeLogsRequest,
  decodeTracesRequest,
  encodeLogsRequest,
  encodeTracesRequest,
} from '../../src/otlp/proto/decoder.ts';
import type {
  AnyValue,
  ExportLogsServiceRequest,
  ExportTraceServiceRequest,
  KeyValue,
  LogRecord,
  Resource,
} from '../../src/otlp/proto/messages.ts';
import {
  ALL_ODDITIES,
  encodeLogsWire,
  encodeTracesWire,
  logsRequestArbitrary,
  tracesRequestArbitrary,
  WireFeature,
  WireStyle,
} from './otlp-arbitraries.ts';
import { buildLogsRequest, buildTracesRequest, createRandom } from './otlp-builders.ts';
import { canonicalJson, logItemKeys, spanItems, traceItemKeys } from './otlp-items.ts';
import {
  bytesField,
  concatBytes,
  doubleField,
  encodeTag,
  encodeVarint,
  fixed32Field,
  fixed64Field,
  groupField,
  hex,
  messageField,
  sintField,
  stringField,
  toHex,
  varintField,
  WireType,
  zigZag,
} from './protobuf-writer.ts';

const TRACE_ID = '5b8efff798038103d269b633813fc60c';

describe('protobuf writer', () => {
  const varints = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [150, '9601'],
    [300, 'ac02'],
    [2 ** 32 - 1, 'ffffffff0f'],
    [2n ** 63n, '80808080808080808001'],
    [2n ** 64n - 1n, 'ffffffffffffffffff01'],
    [-1, 'ffffffffffffffffff01'],
    [-(2n ** 63n), '80808080808080808001'],
  ] as const;

  for (const [value, expected] of varints) {
    it(`encodes the varint ${value} as ${expected}`, () => {
      assert.equal(toHex(encodeVarint(value)), expected);
    });
  }

  it('pads a varint with redundant continuation bytes on request', () => {
    assert.equal(toHex(encodeVarint(5, 3)), '858000');
    assert.equal(toHex(encodeVarint(300, 2)), 'ac02');
    assert.equal(toHex(encodeVarint(0, 10)), '80808080808080808000');
  });

  const fields = [
    ['a tag of field 1, wire type 2', encodeTag(1, WireType.LEN), '0a'],
    ['a tag of the largest field number', encodeTag(536_870_911, WireType.VARINT), 'f8ffffff0f'],
    ['a varint field (the spec example 150)', varintField(1, 150), '089601'],
    ['a bool field', varintField(2, true), '1001'],
    ['a sint field', sintField(1, -2), '0803'],
    ['a fixed32 field', fixed32Field(16, 0x301), '8501' + '01030000'],
    ['a negative sfixed32 field', fixed32Field(1, -2), '0d' + 'feffffff'],
    ['a fixed64 field', fixed64Field(7, 2n ** 64n - 1n), '39' + 'ffffffffffffffff'],
    ['a negative sfixed64 field', fixed64Field(6, -5), '31' + 'fbffffffffffffff'],
    ['a double field', doubleField(4, 1.5), '21' + '000000000000f83f'],
    ['a string field (the spec example "testing")', stringField(2, 'testing'), '120774657374696e67'],
    ['a bytes field with a padded length', bytesField(1, hex('ab'), 3), '0a818000ab'],
    ['an embedded message', messageField(3, varintField(1, 150)), '1a03089601'],
    ['a group', groupField(5, varintField(1, 1)), '2b' + '0801' + '2c'],
  ] as const;

  for (const [label, bytes, expected] of fields) {
    it(`writes ${label}`, () => {
      assert.equal(toHex(bytes), expected);
    });
  }

  it('maps signed values with ZigZag', () => {
    assert.deepEqual(
      [0, -1, 1, -2, 2147483647, -2147483648].map((n) => zigZag(n)),
      [0n, 1n, 2n, 3n, 4294967294n, 4294967295n],
    );
  });

  it('agrees with the protobufjs writer on every 64-bit value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }), fc.double(), (value, double) => {
        const unsigned = BigInt.asUintN(64, value);
        const signed = BigInt.asIntN(64, value);
        const writer = protobuf.Writer.create();
        writer
          .uint32(8)
          .uint64(unsigned.toString())
          .uint32(17)
          .fixed64(unsigned.toString())
          .uint32(24)
          .sint64(signed.toString())
          .uint32(33)
          .double(double);

        const ours = concatBytes([
          varintField(1, unsigned),
          fixed64Field(2, unsigned),
          sintField(3, signed),
          doubleField(4, double),
        ]);

        assert.equal(toHex(ours), toHex(writer.finish()));
      }),
    );
  });

  it('rejects what would make its output meaningless', () => {
    assert.throws(() => encodeTag(0, WireType.VARINT), RangeError);
    assert.throws(() => encodeTag(2 ** 29, WireType.VARINT), RangeError);
    assert.throws(() => encodeVarint(2n ** 64n), RangeError);
    assert.throws(() => encodeVarint(1, 11), RangeError);
    assert.throws(() => hex('abc'), TypeError);
  });
});

// --- content predicates, for checking that the generators reach every case ---------------------

function serviceName(resource: Resource | undefined): AnyValue | undefined {
  return resource?.attributes?.find((kv) => kv.key === 'service.name')?.value;
}

function anyValueKinds(values: readonly (KeyValue | undefined)[], into: Set<string>): void {
  const visit = (value: AnyValue | undefined): void => {
    if (value === undefined) return;
    const kind = Object.keys(value)[0] ?? 'empty';
    into.add(kind);
    value.arrayValue?.values?.forEach(visit);
    value.kvlistValue?.values?.forEach((kv) => {
      visit(kv.value);
    });
  };
  for (const kv of values) visit(kv?.value);
}

function traceContentCases(request: ExportTraceServiceRequest): Set<string> {
  const cases = new Set<string>();
  const resourcesOfTrace = new Map<string, Set<number>>();
  const resourcesOfService = new Map<string, number>();
  (request.resourceSpans ?? []).forEach((rs, r) => {
    if (Object.keys(rs).length === 0) cases.add('empty ResourceSpans');
    if (rs.scopeSpans === undefined) cases.add('ResourceSpans without scopes');
    if (rs.schemaUrl !== undefined) cases.add('resource schema URL');
    const name = serviceName(rs.resource);
    if (rs.resource === undefined) cases.add('no resource');
    if (name === undefined) cases.add('no service.name');
    else if (name.stringValue === undefined) cases.add('non-string service.name');
    else resourcesOfService.set(name.stringValue, (resourcesOfService.get(name.stringValue) ?? 0) + 1);
    if (name !== undefined && rs.resource?.attributes?.[0]?.key !== 'service.name') cases.add('service.name not first');
    for (const ss of rs.scopeSpans ?? []) {
      if (ss.spans === undefined) cases.add('ScopeSpans without spans');
      if (ss.schemaUrl !== undefined) cases.add('scope schema URL');
      for (const span of ss.spans ?? []) {
        if (span.traceId === undefined) cases.add('span without trace ID');
        else if (/^0+$/.test(span.traceId)) cases.add('all-zero trace ID');
        else resourcesOfTrace.set(span.traceId, (resourcesOfTrace.get(span.traceId) ?? new Set()).add(r));
        if (span.parentSpanId !== undefined) cases.add('parent span');
        if (span.events !== undefined) cases.add('events');
        if (span.links !== undefined) cases.add('links');
        if (span.status !== undefined) cases.add('status');
        if (span.kind !== undefined && span.kind > 5) cases.add('unnamed span kind');
        anyValueKinds(span.attributes ?? [], cases);
      }
    }
  });
  if ([...resourcesOfService.values()].some((n) => n > 1)) cases.add('resources sharing a service.name');
  if ([...resourcesOfTrace.values()].some((resources) => resources.size > 1)) cases.add('trace spread over resources');
  return cases;
}

const TRACE_CONTENT_CASES = [
  'empty ResourceSpans',
  'ResourceSpans without scopes',
  'ScopeSpans without spans',
  'resource schema URL',
  'scope schema URL',
  'no resource',
  'no service.name',
  'non-string service.name',
  'service.name not first',
  'resources sharing a service.name',
  'trace spread over resources',
  'span without trace ID',
  'all-zero trace ID',
  'parent span',
  'events',
  'links',
  'status',
  'unnamed span kind',
  'stringValue',
  'boolValue',
  'intValue',
  'doubleValue',
  'bytesValue',
  'arrayValue',
  'kvlistValue',
  'empty',
];

function logRecordsOf(request: ExportLogsServiceRequest): LogRecord[] {
  return (request.resourceLogs ?? []).flatMap((rl) => (rl.scopeLogs ?? []).flatMap((sl) => sl.logRecords ?? []));
}

describe('OTLP request arbitraries', () => {
  it('produce traces bytes that protobufjs decodes to exactly the expected content', () => {
    fc.assert(
      fc.property(tracesRequestArbitrary(), (generated) => {
        assert.deepStrictEqual(decodeTracesRequest(generated.bytes), generated.expected);
      }),
      { numRuns: 150 },
    );
  });

  it('produce logs bytes that protobufjs decodes to exactly the expected content', () => {
    fc.assert(
      fc.property(logsRequestArbitrary(), (generated) => {
        assert.deepStrictEqual(decodeLogsRequest(generated.bytes), generated.expected);
      }),
      { numRuns: 150 },
    );
  });

  it('write canonical content byte for byte as protobufjs does', () => {
    fc.assert(
      fc.property(
        tracesRequestArbitrary({ style: WireStyle.CANONICAL }),
        logsRequestArbitrary({ style: WireStyle.CANONICAL }),
        (traces, logs) => {
          assert.deepStrictEqual(encodeTracesWire(traces.expected).bytes, encodeTracesRequest(traces.expected));
          assert.deepStrictEqual(encodeLogsWire(logs.expected).bytes, encodeLogsRequest(logs.expected));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reach every wire oddity in the odd style', () => {
    const seen = new Set<string>();

    for (const generated of fc.sample(tracesRequestArbitrary({ style: WireStyle.ODD }), { numRuns: 300, seed: 1 })) {
      for (const feature of generated.features) seen.add(feature);
    }

    assert.deepEqual([...seen].sort(), Object.values(WireFeature).sort());
  });

  it('use no oddity that is turned off, and none in the canonical style', () => {
    const oddities = { ...ALL_ODDITIES, unknownFields: false, splitMessages: false, duplicateScalars: false };
    const seenOdd = new Set<string>();
    const seenCanonical = new Set<string>();

    for (const generated of fc.sample(tracesRequestArbitrary({ style: WireStyle.ODD, oddities }), {
      numRuns: 200,
      seed: 2,
    })) {
      for (const feature of generated.features) seenOdd.add(feature);
    }
    for (const generated of fc.sample(tracesRequestArbitrary({ style: WireStyle.CANONICAL }), {
      numRuns: 200,
      seed: 3,
    })) {
      for (const feature of generated.features) seenCanonical.add(feature);
    }

    assert.ok(seenOdd.has(WireFeature.SHUFFLED_FIELDS));
    for (const feature of seenOdd) assert.doesNotMatch(feature, /^(unknown|split|duplicate)-/);
    assert.deepEqual([...seenCanonical].sort(), [WireFeature.EMPTY_TRACE_ID, WireFeature.EXPLICIT_DEFAULT]);
  });

  it('reach every routing-relevant shape of traces content', () => {
    const seen = new Set<string>();

    for (const generated of fc.sample(tracesRequestArbitrary(), { numRuns: 300, seed: 4 })) {
      for (const found of traceContentCases(generated.expected)) seen.add(found);
    }

    assert.deepEqual(
      TRACE_CONTENT_CASES.filter((wanted) => !seen.has(wanted)),
      [],
    );
  });

  it('give most log records no trace ID and some one', () => {
    let records = 0;
    let traced = 0;

    for (const generated of fc.sample(logsRequestArbitrary(), { numRuns: 200, seed: 5 })) {
      for (const record of logRecordsOf(generated.expected)) {
        records++;
        if (record.traceId !== undefined) traced++;
      }
    }

    assert.ok(records > 500, `only ${records} records`);
    assert.ok(traced / records > 0.1 && traced / records < 0.5, `${traced} of ${records} records traced`);
  });

  it('are reproducible from the fast-check seed', () => {
    const first = fc.sample(tracesRequestArbitrary(), { numRuns: 20, seed: 42 }).map((g) => toHex(g.bytes));
    const second = fc.sample(tracesRequestArbitrary(), { numRuns: 20, seed: 42 }).map((g) => toHex(g.bytes));

    assert.deepEqual(first, second);
  });

  it('write a hand-made request in the odd style reproducibly from its seed', () => {
    const request: ExportTraceServiceRequest = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cart' } }] },
          scopeSpans: [{ spans: [{ traceId: TRACE_ID, name: 'n' }] }],
        },
      ],
    };

    const a = encodeTracesWire(request, { style: WireStyle.ODD, seed: 9 });
    const b = encodeTracesWire(request, { style: WireStyle.ODD, seed: 9 });

    assert.deepStrictEqual(a.bytes, b.bytes);
    assert.deepStrictEqual(decodeTracesRequest(a.bytes), request);
  });

  it('refuse content with a field the schema does not have', () => {
    const misspelt = { resourceSpans: [{ scopeSpan: [] }] } as unknown as ExportTraceServiceRequest;

    assert.throws(() => encodeTracesWire(misspelt), TypeError);
  });
});

describe('OTLP item view', () => {
  const cart = { attributes: [{ key: 'service.name', value: { stringValue: 'cart' } }] };

  it('lists each span with its resource, scope and schema URLs', () => {
    const request: ExportTraceServiceRequest = {
      resourceSpans: [
        {
          resource: cart,
          schemaUrl: 'r',
          scopeSpans: [{ scope: { name: 's' }, schemaUrl: 'u', spans: [{ name: 'a' }, { name: 'b' }] }, {}],
        },
        { scopeSpans: [{ spans: [{ name: 'c' }] }] },
      ],
    };

    const items = spanItems(request);

    assert.deepStrictEqual(items, [
      { resource: cart, resourceSchemaUrl: 'r', scope: { name: 's' }, scopeSchemaUrl: 'u', item: { name: 'a' } },
      { resource: cart, resourceSchemaUrl: 'r', scope: { name: 's' }, scopeSchemaUrl: 'u', item: { name: 'b' } },
      { item: { name: 'c' } },
    ]);
  });

  it('sees a resource written twice as the merged resource', () => {
    const once = messageField(
      1,
      messageField(
        1,
        messageField(1, stringField(1, 'a'), messageField(2, stringField(1, '1'))),
        messageField(1, stringField(1, 'b')),
      ),
      messageField(2, messageField(2, stringField(5, 'n'))),
    );
    const twice = messageField(
      1,
      messageField(1, messageField(1, stringField(1, 'a'), messageField(2, stringField(1, '1')))),
      messageField(2, messageField(2, stringField(5, 'n'))),
      messageField(1, messageField(1, stringField(1, 'b'))),
    );

    assert.deepEqual(traceItemKeys(twice), traceItemKeys(once));
  });

  it('is the same for a request and its canonical re-encoding', () => {
    fc.assert(
      fc.property(
        tracesRequestArbitrary({ style: WireStyle.ODD }),
        logsRequestArbitrary({ style: WireStyle.ODD }),
        (traces, logs) => {
          assert.deepEqual(
            traceItemKeys(encodeTracesRequest(decodeTracesRequest(traces.bytes))),
            traceItemKeys(traces.bytes),
          );
          assert.deepEqual(logItemKeys(encodeLogsRequest(decodeLogsRequest(logs.bytes))), logItemKeys(logs.bytes));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('keeps the multiset of items when a request is split by resource', () => {
    fc.assert(
      fc.property(tracesRequestArbitrary(), (generated) => {
        const parts = (generated.expected.resourceSpans ?? []).map((rs) =>
          encodeTracesRequest({ resourceSpans: [rs] }),
        );

        const after = parts.flatMap((part) => traceItemKeys(part)).sort();

        assert.deepEqual(after, traceItemKeys(generated.bytes).sort());
      }),
      { numRuns: 50 },
    );
  });

  it('shows unknown fields, in wire order, only when asked', () => {
    const varint = varintField(17, 1);
    const group = groupField(18, fixed32Field(1, 2));
    const bytes = messageField(1, messageField(2, messageField(2, varint, stringField(5, 'n'), group)));

    const plain = traceItemKeys(bytes);
    const withUnknowns = traceItemKeys(bytes, { unknownFields: true });

    assert.deepEqual(plain, [canonicalJson({ item: { name: 'n' } })]);
    assert.deepEqual(withUnknowns, [canonicalJson({ item: { name: 'n', $unknowns: [toHex(varint), toHex(group)] } })]);
  });

  it('tells NaN, -0, infinities and look-alike strings apart', () => {
    const keys = [Number.NaN, -0, 0, Number.POSITIVE_INFINITY, 'NaN', '-0'].map((v) => canonicalJson({ v }));

    assert.equal(new Set(keys).size, keys.length);
    assert.equal(canonicalJson({ b: 1, a: [2, 1] }), canonicalJson({ a: [2, 1], b: 1 }));
  });
});

describe('OTLP builders', () => {
  it('build the requested spans, traces and services, about 600 KB for 5,000 spans', () => {
    const bytes = buildTracesRequest({ services: 5, traces: 250, spansPerTrace: 20 });

    const items = spanItems(decodeTracesRequest(bytes));

    assert.equal(items.length, 5_000);
    assert.equal(new Set(items.map(({ item }) => item.traceId)).size, 250);
    assert.equal(new Set(items.map(({ resource }) => serviceName(resource)?.stringValue)).size, 5);
    assert.ok(bytes.length > 540_000 && bytes.length < 690_000, `${bytes.length} bytes`);
  });

  it('spread most traces over several resources, as a gateway batch does', () => {
    const request = decodeTracesRequest(
      buildTracesRequest({ services: 5, traces: 100, spansPerTrace: 10, instancesPerService: 2 }),
    );
    const resourcesOfTrace = new Map<string, Set<number>>();

    request.resourceSpans?.forEach((rs, r) => {
      for (const ss of rs.scopeSpans ?? [])
        for (const span of ss.spans ?? [])
          resourcesOfTrace.set(span.traceId ?? '', (resourcesOfTrace.get(span.traceId ?? '') ?? new Set()).add(r));
    });

    assert.equal(request.resourceSpans?.length, 10);
    assert.ok([...resourcesOfTrace.values()].filter((resources) => resources.size > 1).length > 80);
  });

  it('are reproducible for a seed and vary with it', () => {
    const options = { traces: 10, spansPerTrace: 5 };

    assert.deepStrictEqual(buildTracesRequest({ ...options, seed: 7 }), buildTracesRequest({ ...options, seed: 7 }));
    assert.notDeepStrictEqual(buildTracesRequest({ ...options, seed: 7 }), buildTracesRequest({ ...options, seed: 8 }));
    assert.deepStrictEqual(
      buildLogsRequest({ logRecords: 50, seed: 7 }),
      buildLogsRequest({ logRecords: 50, seed: 7 }),
    );
  });

  it('build the requested log records with trace context on the requested fraction', () => {
    const bytes = buildLogsRequest({ services: 3, logRecords: 2_000, tracedFraction: 0.3 });

    const request = decodeLogsRequest(bytes);
    const records = logRecordsOf(request);

    assert.equal(request.resourceLogs?.length, 3);
    assert.equal(records.length, 2_000);
    const traced = records.filter((record) => record.traceId !== undefined).length;
    assert.ok(traced > 500 && traced < 700, `${traced} traced`);
    assert.ok(bytes.length > 200_000 && bytes.length < 400_000, `${bytes.length} bytes`);
  });

  it('draw the same pseudo-random sequence for the same seed', () => {
    const a = createRandom(123);
    const b = createRandom(123);
    const c = createRandom(124);

    const draw = (r: ReturnType<typeof createRandom>): number[] => Array.from({ length: 8 }, () => r.int(1_000_000));

    assert.deepEqual(draw(a), draw(b));
    assert.notDeepEqual(draw(createRandom(123)), draw(c));
  });
});
