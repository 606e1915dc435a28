import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';

import { ErrorCode } from '../errors.ts';
import {
  attributesArbitrary,
  logsRequestArbitrary,
  tracesRequestArbitrary,
  WireStyle,
  WireFeature,
} from '../../test/helpers/otlp-arbitraries.ts';
import { canonicalJson, logItemKeys, traceItemKeys } from '../../test/helpers/otlp-items.ts';
import {
  concatBytes,
  encodeTag,
  messageField,
  stringField,
  varintField,
  WireType,
} from '../../test/helpers/protobuf-writer.ts';
import { chunkRequest, countItems, type ChunkResult } from './chunk.ts';
import {
  decodeLogsRequest,
  decodeMetricsRequest,
  decodeTracesRequest,
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
} from './proto/decoder.ts';
import type { ExportMetricsServiceRequest, Metric, NumberDataPoint } from './proto/messages.ts';
import type { Signal } from './signal.ts';

function expectChunks(result: ChunkResult): Extract<ChunkResult, { ok: true }> {
  if (!result.ok) assert.fail(`chunking failed: ${result.error.message}`);
  return result;
}

/** One entry per data point, with everything that point means to a backend. */
function metricPointKeys(bytes: Uint8Array): string[] {
  const request = decodeMetricsRequest(bytes);
  const out: string[] = [];
  for (const rm of request.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const metric of sm.metrics ?? []) {
        const { gauge, sum, histogram, exponentialHistogram, summary, ...descriptor } = metric;
        const members = { gauge, sum, histogram, exponentialHistogram, summary };
        for (const [kind, data] of Object.entries(members)) {
          if (data === undefined) continue;
          const { dataPoints, ...dataFields } = data;
          for (const point of dataPoints ?? []) {
            out.push(
              canonicalJson({
                resource: rm.resource,
                resourceSchemaUrl: rm.schemaUrl,
                scope: sm.scope,
                scopeSchemaUrl: sm.schemaUrl,
                descriptor,
                kind,
                dataFields,
                point,
              }),
            );
          }
        }
      }
    }
  }
  return out;
}

const keysBySignal: Readonly<Record<Signal, (bytes: Uint8Array) => string[]>> = {
  traces: (bytes) => traceItemKeys(bytes, { unknownFields: true }),
  logs: (bytes) => logItemKeys(bytes, { unknownFields: true }),
  metrics: metricPointKeys,
};

/** The properties every cut must have. */
function checkChunks(signal: Signal, input: Uint8Array, maxItems: number, result: ChunkResult): void {
  const { chunks, items } = expectChunks(result);
  const keysOf = keysBySignal[signal];
  const before = keysOf(input);
  assert.equal(items, before.length);

  // In order: nothing lost, duplicated, altered or moved (unknown fields included).
  assert.deepEqual(
    chunks.flatMap((c) => keysOf(c.bytes)),
    before,
  );
  for (const [i, c] of chunks.entries()) {
    assert.equal(keysOf(c.bytes).length, c.items);
    assert.ok(c.items <= maxItems, `chunk ${i} holds ${c.items} items, more than ${maxItems}`);
    if (i < chunks.length - 1) assert.equal(c.items, maxItems, 'every chunk but the last is full');
  }
  if (items <= maxItems) {
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0]?.bytes, input, 'a request that fits is passed on as it is');
  }

  // Chunks concatenated again are one request with the same content.
  const joined = concatBytes(chunks.map((c) => c.bytes));
  assert.deepEqual(keysOf(joined), before);
  const recount = countItems(signal, joined);
  assert.ok(recount.ok);
  assert.equal(recount.items, items);
}

// --- a small metrics generator (the shared arbitraries cover traces and logs) ---------------

const pointArbitrary: Arbitrary<NumberDataPoint> = fc.record(
  {
    attributes: attributesArbitrary(2),
    timeUnixNano: fc.bigInt({ min: 1n, max: 2n ** 62n }).map(String),
    asInt: fc.bigInt({ min: 1n, max: 1000n }).map(String),
  },
  { requiredKeys: ['timeUnixNano', 'asInt'] },
);

const metricArbitrary: Arbitrary<Metric> = fc.oneof(
  fc.record({
    name: fc.constantFrom('a', 'b'),
    unit: fc.constant('1'),
    gauge: fc.record({ dataPoints: fc.array(pointArbitrary, { maxLength: 4 }) }),
  }),
  fc.record({
    name: fc.constantFrom('c', 'd'),
    description: fc.constant('a sum'),
    sum: fc.record({
      dataPoints: fc.array(pointArbitrary, { maxLength: 4 }),
      aggregationTemporality: fc.constantFrom(1, 2),
      isMonotonic: fc.constant(true),
    }),
  }),
  fc.record({
    name: fc.constant('h'),
    histogram: fc.record({
      dataPoints: fc.array(
        fc.record({
          timeUnixNano: fc.constant('5'),
          count: fc.constant('3'),
          bucketCounts: fc.constant(['1', '2']).map((counts) => [...counts]),
          explicitBounds: fc.constant([1.5]).map((bounds) => [...bounds]),
        }),
        { maxLength: 3 },
      ),
      aggregationTemporality: fc.constant(2),
    }),
  }),
  fc.record({
    name: fc.constant('s'),
    summary: fc.record({
      dataPoints: fc.array(
        fc.record({ timeUnixNano: fc.constant('7'), count: fc.constant('1'), sum: fc.double({ noNaN: true }) }),
        {
          maxLength: 3,
        },
      ),
    }),
  }),
  fc.record({ name: fc.constant('empty') }),
);

const metricsRequestArbitrary: Arbitrary<ExportMetricsServiceRequest> = fc.record({
  resourceMetrics: fc.array(
    fc.record({
      resource: fc.record({ attributes: attributesArbitrary(2) }),
      scopeMetrics: fc.array(
        fc.record({
          scope: fc.record({ name: fc.constantFrom('s1', 's2') }),
          metrics: fc.array(metricArbitrary, { maxLength: 4 }),
          schemaUrl: fc.constantFrom('', 'https://opentelemetry.io/schemas/1.26.0'),
        }),
        { maxLength: 3 },
      ),
    }),
    { maxLength: 3 },
  ),
});

describe('chunk: property tests against protobufjs', () => {
  const runs = Number(process.env.CHUNK_PROPERTY_RUNS ?? 300);

  it('cuts random traces requests into full chunks in order, without losing or altering a span', () => {
    fc.assert(
      fc.property(tracesRequestArbitrary(), fc.integer({ min: 1, max: 12 }), (req, max) => {
        checkChunks('traces', req.bytes, max, chunkRequest('traces', req.bytes, max));
      }),
      { numRuns: runs },
    );
  });

  it('cuts random logs requests into full chunks in order, without losing or altering a record', () => {
    fc.assert(
      fc.property(logsRequestArbitrary(), fc.integer({ min: 1, max: 12 }), (req, max) => {
        checkChunks('logs', req.bytes, max, chunkRequest('logs', req.bytes, max));
      }),
      { numRuns: runs },
    );
  });

  it('cuts random metrics requests by data point, repeating the metric descriptor in each chunk', () => {
    fc.assert(
      fc.property(metricsRequestArbitrary, fc.integer({ min: 1, max: 8 }), (content, max) => {
        const bytes = encodeMetricsRequest(content);
        checkChunks('metrics', bytes, max, chunkRequest('metrics', bytes, max));
      }),
      { numRuns: runs },
    );
  });

  it('turns canonical input into canonical chunks (byte-equal to a fresh protobufjs encoding)', () => {
    fc.assert(
      fc.property(
        tracesRequestArbitrary({ style: WireStyle.CANONICAL }),
        fc.integer({ min: 1, max: 6 }),
        (req, max) => {
          fc.pre(!req.features.has(WireFeature.EXPLICIT_DEFAULT));
          for (const c of expectChunks(chunkRequest('traces', req.bytes, max)).chunks)
            assert.deepEqual(new Uint8Array(c.bytes), encodeTracesRequest(decodeTracesRequest(c.bytes)));
        },
      ),
      { numRuns: Math.ceil(runs / 4) },
    );
    fc.assert(
      fc.property(logsRequestArbitrary({ style: WireStyle.CANONICAL }), fc.integer({ min: 1, max: 6 }), (req, max) => {
        fc.pre(!req.features.has(WireFeature.EXPLICIT_DEFAULT));
        for (const c of expectChunks(chunkRequest('logs', req.bytes, max)).chunks)
          assert.deepEqual(new Uint8Array(c.bytes), encodeLogsRequest(decodeLogsRequest(c.bytes)));
      }),
      { numRuns: Math.ceil(runs / 4) },
    );
  });

  it('never throws on corrupted input; what it accepts it cuts into well-framed chunks', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(
        tracesRequestArbitrary(),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 5 }),
        (req, mutations, max) => {
          let bytes: Uint8Array = new Uint8Array(req.bytes);
          for (const m of mutations) {
            const at = bytes.length === 0 ? 0 : m.at % bytes.length;
            if (m.kind === 'truncate') bytes = bytes.slice(0, at);
            else if (bytes.length > 0) bytes[at] = m.value;
          }
          const result = chunkRequest('traces', bytes, max);
          if (!result.ok) {
            assert.equal(result.error.code, ErrorCode.OTLP_MALFORMED);
            assert.ok(result.error.offset >= 0 && result.error.offset <= bytes.length);
            assert.match(result.error.message, /^invalid OTLP traces request at byte \d+: /);
          } else {
            // Bytes inside items are not validated, but the chunks' framing always is.
            let total = 0;
            for (const c of result.chunks) {
              const recount = countItems('traces', c.bytes);
              assert.ok(recount.ok);
              assert.equal(recount.items, c.items);
              total += c.items;
            }
            assert.equal(total, result.items);
          }
        },
      ),
      { numRuns: runs },
    );
  });
});

describe('chunk: examples', () => {
  const span = (name: string): Uint8Array => messageField(2, stringField(5, name));
  const scope = (...spans: Uint8Array[]): Uint8Array =>
    messageField(2, messageField(1, stringField(1, 'lib')), ...spans);
  const resource = (service: string, ...scopes: Uint8Array[]): Uint8Array =>
    messageField(
      1,
      messageField(1, messageField(1, stringField(1, 'service.name'), messageField(2, stringField(1, service)))),
      ...scopes,
    );

  it('counts spans, log records and data points', () => {
    const traces = encodeTracesRequest({
      resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'a' }, { name: 'b' }] }, { spans: [{ name: 'c' }] }] }],
    });
    const logs = encodeLogsRequest({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityText: 'x' }] }] }] });
    const metrics = encodeMetricsRequest({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'g', gauge: { dataPoints: [{ asInt: '1' }, { asInt: '2' }] } },
                { name: 's', sum: { dataPoints: [{ asInt: '3' }], aggregationTemporality: 2 } },
                { name: 'none' },
              ],
            },
          ],
        },
      ],
    });

    assert.deepEqual(countItems('traces', traces), { ok: true, items: 3 });
    assert.deepEqual(countItems('logs', logs), { ok: true, items: 1 });
    assert.deepEqual(countItems('metrics', metrics), { ok: true, items: 3 });
    assert.deepEqual(countItems('traces', new Uint8Array(0)), { ok: true, items: 0 });
  });

  it('repeats the resource and scope of a scope cut in two', () => {
    const input = concatBytes([resource('checkout', scope(span('a'), span('b'), span('c')))]);

    const { chunks } = expectChunks(chunkRequest('traces', input, 2));

    assert.deepEqual(
      chunks.map((c) => decodeTracesRequest(c.bytes)),
      [
        {
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
              scopeSpans: [{ scope: { name: 'lib' }, spans: [{ name: 'a' }, { name: 'b' }] }],
            },
          ],
        },
        {
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
              scopeSpans: [{ scope: { name: 'lib' }, spans: [{ name: 'c' }] }],
            },
          ],
        },
      ],
    );
    assert.deepEqual(
      chunks.map((c) => c.items),
      [2, 1],
    );
  });

  it('copies resources that fit whole, byte for byte, and keeps empty ones with the chunk being filled', () => {
    const first = resource('a', scope(span('1')));
    const empty = resource('empty');
    const second = resource('b', scope(span('2'), span('3')));
    const input = concatBytes([first, empty, second]);

    const { chunks } = expectChunks(chunkRequest('traces', input, 2));

    assert.equal(chunks.length, 2);
    const firstChunk = chunks[0]!.bytes;
    assert.deepEqual(firstChunk.subarray(0, first.length + empty.length), concatBytes([first, empty]));
    assert.deepEqual(
      decodeTracesRequest(chunks[1]!.bytes).resourceSpans?.map((rs) => rs.scopeSpans?.[0]?.spans),
      [[{ name: '3' }]],
    );
  });

  it('drops request-level unknown fields only when it cuts', () => {
    const unknown = varintField(99, 1);
    const input = concatBytes([resource('a', scope(span('1'), span('2'))), unknown]);

    assert.equal(expectChunks(chunkRequest('traces', input, 5)).chunks[0]?.bytes, input);
    const cut = expectChunks(chunkRequest('traces', input, 1)).chunks;
    assert.equal(cut.length, 2);
    for (const c of cut) assert.equal(countItems('traces', c.bytes).ok, true);
  });

  it('passes the input through when the maximum is 0 (no limit)', () => {
    const input = concatBytes([resource('a', scope(span('1'), span('2'), span('3')))]);

    const result = expectChunks(chunkRequest('traces', input, 0));

    assert.equal(result.chunks.length, 1);
    assert.equal(result.chunks[0]?.bytes, input);
    assert.equal(result.items, 3);
  });

  it('reports a wrong wire type on a child field with its place and offset', () => {
    const input = concatBytes([encodeTag(1, WireType.VARINT), new Uint8Array([5])]);

    const result = chunkRequest('logs', input, 1);

    if (result.ok) assert.fail('a varint where resource_logs belongs was accepted');
    assert.equal(result.error.offset, 0);
    assert.match(result.error.message, /ExportLogsServiceRequest\.resource_logs has wire type varint/);
  });
});
