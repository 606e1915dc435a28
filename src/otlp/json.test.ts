import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { ErrorCode } from '../errors.ts';
import { logsContentArbitrary, tracesContentArbitrary } from '../../test/helpers/otlp-arbitraries.ts';
import { buildLogsRequest, buildTracesRequest } from '../../test/helpers/otlp-builders.ts';
import { MAX_JSON_DEPTH, otlpJsonToProtobuf, type JsonConversionResult } from './json.ts';
import {
  decodeLogsRequest,
  decodeMetricsRequest,
  decodeTracesRequest,
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
} from './proto/decoder.ts';
import type { ExportMetricsServiceRequest, ExportTraceServiceRequest } from './proto/messages.ts';
import { Signal } from './signal.ts';

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';
const PARENT_ID = '0102030405060708';

function converted(signal: Signal, json: string | Uint8Array): { bytes: Uint8Array; items: number } {
  const result = otlpJsonToProtobuf(signal, json);
  if (!result.ok) assert.fail(`unexpected error: ${result.error.message}`);
  return { bytes: result.bytes, items: result.items };
}

function failure(signal: Signal, json: string): { path: string; code: string; message: string } {
  const result: JsonConversionResult = otlpJsonToProtobuf(signal, json);
  if (result.ok) assert.fail(`expected an error for ${json.slice(0, 200)}`);
  return { path: result.error.path, code: result.error.code, message: result.error.message };
}

/** A traces request with one span whose JSON fields are `span`. */
function spanJson(span: Record<string, unknown>): string {
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
}

function decodedSpan(json: string): Record<string, unknown> {
  const request = decodeTracesRequest(converted(Signal.TRACES, json).bytes);
  const span = request.resourceSpans?.[0]?.scopeSpans?.[0]?.spans?.[0];
  assert.ok(span !== undefined, 'no span decoded');
  return { ...span };
}

function attributeJson(value: unknown): string {
  return spanJson({ attributes: [{ key: 'k', value }] });
}

function decodedAttribute(value: unknown): unknown {
  const span = decodedSpan(attributeJson(value));
  return (span.attributes as { value?: unknown }[] | undefined)?.[0]?.value;
}

// --- OTLP/JSON from the decoder's plain objects -------------------------------------------------

/** Keys whose values are 64-bit integers as decimal strings in the decoder's objects. */
const INT64_KEYS = new Set([
  'timeUnixNano',
  'startTimeUnixNano',
  'endTimeUnixNano',
  'observedTimeUnixNano',
  'intValue',
  'count',
  'asInt',
  'zeroCount',
]);

interface JsonStyle {
  /** Proto field names instead of lowerCamelCase. */
  readonly snakeCase: boolean;
  /** Keys in reverse order. */
  readonly reversed: boolean;
  /** Unknown fields beside every known one. */
  readonly unknownFields: boolean;
  /** 64-bit integers as JSON numbers (digits kept, even past 2^53) instead of strings. */
  readonly int64AsNumbers: boolean;
}

const CANONICAL_STYLE: JsonStyle = { snakeCase: false, reversed: false, unknownFields: false, int64AsNumbers: false };

const BIG_MARK = '\u0000big:';

/**
 * OTLP/JSON text of a message in the decoder's shape: `bytesValue` becomes base64, doubles
 * JSON cannot spell become strings, and `style` varies how it is written.
 */
function toOtlpJson(message: unknown, style: JsonStyle = CANONICAL_STYLE): string {
  const text = JSON.stringify(toJsonValue(message, '', style));
  // Digits of big integers go in unquoted, beyond what JSON.stringify can write.
  return text.replace(/"\\u0000big:(-?\d+)"/g, '$1');
}

function toJsonValue(value: unknown, key: string, style: JsonStyle): unknown {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (value === Infinity) return 'Infinity';
    if (value === -Infinity) return '-Infinity';
    if (Object.is(value, -0)) return '-0';
    return value;
  }
  if (typeof value === 'string') {
    if (key === 'bytesValue') return Buffer.from(value, 'hex').toString('base64');
    if (style.int64AsNumbers && INT64_KEYS.has(key)) return `${BIG_MARK}${value}`;
    return value;
  }
  if (Array.isArray(value)) return value.map((element: unknown) => toJsonValue(element, key, style));
  if (typeof value === 'object' && value !== null) {
    let entries = Object.entries(value);
    if (style.reversed) entries = entries.reverse();
    const out: Record<string, unknown> = {};
    for (const [name, field] of entries) {
      if (style.unknownFields) out[`x${name}Unknown`] = { nested: [1, 'two', null], n: 3 };
      out[style.snakeCase ? name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : name] = toJsonValue(
        field,
        name,
        style,
      );
    }
    return out;
  }
  return value;
}

const jsonStyleArbitrary: fc.Arbitrary<JsonStyle> = fc.record({
  snakeCase: fc.boolean(),
  reversed: fc.boolean(),
  unknownFields: fc.boolean(),
  int64AsNumbers: fc.boolean(),
});

const METRICS_REQUEST: ExportMetricsServiceRequest = {
  resourceMetrics: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cart' } }] },
      scopeMetrics: [
        {
          scope: { name: 'meter', version: '1.0.0' },
          metrics: [
            {
              name: 'queue.depth',
              unit: '1',
              gauge: {
                dataPoints: [
                  { timeUnixNano: '1704067200000000001', asInt: '-42', attributes: [] },
                  {
                    timeUnixNano: '1704067200000000002',
                    asDouble: 0,
                    exemplars: [{ timeUnixNano: '1', asInt: '7', traceId: TRACE_ID, spanId: SPAN_ID }],
                  },
                ],
              },
              metadata: [{ key: 'm', value: { boolValue: false } }],
            },
            {
              name: 'requests',
              sum: {
                dataPoints: [{ startTimeUnixNano: '1', timeUnixNano: '2', asDouble: 1.5, flags: 1 }],
                aggregationTemporality: 2,
                isMonotonic: true,
              },
            },
            {
              name: 'latency',
              histogram: {
                dataPoints: [
                  {
                    count: '18446744073709551615',
                    sum: 0,
                    bucketCounts: ['1', '0', '18446744073709551615'],
                    explicitBounds: [0.5, -0, 1e300],
                    min: -1,
                    max: 0,
                  },
                ],
                aggregationTemporality: 1,
              },
            },
            {
              name: 'latency.exp',
              exponentialHistogram: {
                dataPoints: [
                  {
                    count: '3',
                    scale: -3,
                    zeroCount: '1',
                    positive: { offset: -5, bucketCounts: ['1', '300', '18446744073709551615'] },
                    negative: { offset: 2147483647 },
                    zeroThreshold: 1e-9,
                  },
                ],
              },
            },
            {
              name: 'summary',
              summary: {
                dataPoints: [
                  {
                    count: '2',
                    sum: 3,
                    quantileValues: [
                      { quantile: 0, value: 1 },
                      { quantile: 1, value: 2 },
                    ],
                  },
                ],
              },
            },
          ],
        },
      ],
    },
  ],
};

describe('otlpJsonToProtobuf', () => {
  describe('against protobufjs', () => {
    it('gives the canonical bytes of any traces request, however the JSON is written', () => {
      fc.assert(
        fc.property(tracesContentArbitrary(), jsonStyleArbitrary, (content, style) => {
          // prepare: protobufjs's canonical encoding of the same content
          const expected = decodeTracesRequest(encodeTracesRequest(content));
          const canonical = encodeTracesRequest(expected);

          // test
          const { bytes } = converted(Signal.TRACES, toOtlpJson(content, style));

          // verify
          assert.deepEqual(decodeTracesRequest(bytes), expected);
          assert.deepEqual(bytes, canonical);
        }),
        { numRuns: 150 },
      );
    });

    it('gives the canonical bytes of any logs request, however the JSON is written', () => {
      fc.assert(
        fc.property(logsContentArbitrary(), jsonStyleArbitrary, (content, style) => {
          const expected = decodeLogsRequest(encodeLogsRequest(content));

          const { bytes } = converted(Signal.LOGS, toOtlpJson(content, style));

          assert.deepEqual(decodeLogsRequest(bytes), expected);
          assert.deepEqual(bytes, encodeLogsRequest(expected));
        }),
        { numRuns: 150 },
      );
    });

    it('converts every kind of metric, packed fields and optional fields included', () => {
      for (const style of [
        CANONICAL_STYLE,
        { snakeCase: true, reversed: true, unknownFields: true, int64AsNumbers: true },
      ]) {
        const { bytes, items } = converted(Signal.METRICS, toOtlpJson(METRICS_REQUEST, style));

        assert.deepEqual(decodeMetricsRequest(bytes), decodeMetricsRequest(encodeMetricsRequest(METRICS_REQUEST)));
        assert.deepEqual(bytes, encodeMetricsRequest(METRICS_REQUEST));
        assert.equal(items, 6, 'items are data points');
      }
    });

    it('converts realistic large requests and counts their items', () => {
      const traces = buildTracesRequest({ traces: 20, spansPerTrace: 10 });
      const logs = buildLogsRequest({ logRecords: 300 });

      const tracesResult = converted(Signal.TRACES, toOtlpJson(decodeTracesRequest(traces)));
      const logsResult = converted(Signal.LOGS, Buffer.from(toOtlpJson(decodeLogsRequest(logs))));

      assert.deepEqual(tracesResult.bytes, traces);
      assert.equal(tracesResult.items, 200);
      assert.deepEqual(logsResult.bytes, logs);
      assert.equal(logsResult.items, 300);
    });
  });

  describe('the OTLP/JSON mapping', () => {
    it('reads IDs as hex, in either case, and leaves empty ones out', () => {
      const span = decodedSpan(
        spanJson({ traceId: TRACE_ID.toUpperCase(), spanId: SPAN_ID, parentSpanId: '', name: 'n' }),
      );

      assert.deepEqual(span, { traceId: TRACE_ID, spanId: SPAN_ID, name: 'n' });
    });

    it('accepts proto field names and lowerCamelCase alike', () => {
      const camel = spanJson({
        traceId: TRACE_ID,
        parentSpanId: PARENT_ID,
        startTimeUnixNano: '5',
        droppedAttributesCount: 2,
      });
      const snake = spanJson({
        trace_id: TRACE_ID,
        parent_span_id: PARENT_ID,
        start_time_unix_nano: '5',
        dropped_attributes_count: 2,
      });

      assert.deepEqual(converted(Signal.TRACES, snake).bytes, converted(Signal.TRACES, camel).bytes);
    });

    const int64Cases: { name: string; json: string; expected: string }[] = [
      { name: 'a decimal string', json: '"1700000000123456789"', expected: '1700000000123456789' },
      { name: 'a number past 2^53, every digit kept', json: '1700000000123456789', expected: '1700000000123456789' },
      { name: 'the largest uint64 as a number', json: '18446744073709551615', expected: '18446744073709551615' },
      { name: 'a safe number', json: '42', expected: '42' },
      { name: 'an exponent string', json: '"1e3"', expected: '1000' },
      { name: 'a number written with an exponent', json: '1.5e3', expected: '1500' },
    ];
    for (const { name, json, expected } of int64Cases) {
      it(`reads a fixed64 timestamp given as ${name}`, () => {
        const text = spanJson({ name: 'n' }).replace('"name":"n"', `"name":"n","startTimeUnixNano":${json}`);

        assert.equal(decodedSpan(text).startTimeUnixNano, expected);
      });
    }

    it('reads signed 64-bit integers to both ends of their range, and keeps a oneof member at 0', () => {
      for (const [json, expected] of [
        ['"-1"', '-1'],
        ['-9223372036854775808', '-9223372036854775808'],
        ['"9223372036854775807"', '9223372036854775807'],
        ['-5', '-5'],
        ['"0"', '0'],
        ['0', '0'],
      ] as const) {
        const text = attributeJson({ intValue: 0 }).replace('"intValue":0', `"intValue":${json}`);

        assert.deepEqual(decodedSpan(text).attributes, [{ key: 'k', value: { intValue: expected } }], json);
      }
    });

    it('reads enums as numbers or names, and keeps numbers the schema does not name', () => {
      assert.equal(decodedSpan(spanJson({ kind: 'SPAN_KIND_SERVER' })).kind, 2);
      assert.equal(decodedSpan(spanJson({ kind: 3 })).kind, 3);
      assert.equal(decodedSpan(spanJson({ kind: 99 })).kind, 99);
      assert.deepEqual(decodedSpan(spanJson({ status: { code: 'STATUS_CODE_ERROR' } })).status, { code: 2 });
    });

    it('reads every AnyValue form, nested', () => {
      const value = {
        kvlistValue: {
          values: [
            { key: 's', value: { stringValue: 'ü ✓ 𝄞' } },
            { key: 'b', value: { boolValue: false } },
            { key: 'i', value: { intValue: '-7' } },
            { key: 'd', value: { doubleValue: 'NaN' } },
            { key: 'inf', value: { doubleValue: '-Infinity' } },
            { key: 'bytes', value: { bytesValue: 'AQL/' } },
            { key: 'url-safe', value: { bytesValue: 'AQL_' } },
            { key: 'unpadded', value: { bytesValue: 'AQ' } },
            { key: 'a', value: { arrayValue: { values: [{ intValue: 1 }, { arrayValue: {} }, {}] } } },
            { key: 'empty' },
          ],
        },
      };

      assert.deepEqual(decodedAttribute(value), {
        kvlistValue: {
          values: [
            { key: 's', value: { stringValue: 'ü ✓ 𝄞' } },
            { key: 'b', value: { boolValue: false } },
            { key: 'i', value: { intValue: '-7' } },
            { key: 'd', value: { doubleValue: Number.NaN } },
            { key: 'inf', value: { doubleValue: -Infinity } },
            { key: 'bytes', value: { bytesValue: '0102ff' } },
            { key: 'url-safe', value: { bytesValue: '0102ff' } },
            { key: 'unpadded', value: { bytesValue: '01' } },
            { key: 'a', value: { arrayValue: { values: [{ intValue: '1' }, { arrayValue: {} }, {}] } } },
            { key: 'empty' },
          ],
        },
      });
    });

    it('ignores unknown fields of any type and treats null as not set', () => {
      const span = decodedSpan(
        spanJson({
          name: 'n',
          unknownObject: { traceId: 'not hex at all' },
          unknownArray: [1, [2], { three: 3 }],
          instrumentationLibrary: 'old',
          __proto__: { polluted: true },
          kind: null,
          attributes: null,
        }),
      );

      assert.deepEqual(span, { name: 'n' });
    });

    it('writes fields in field-number order whatever the key order', () => {
      const ordered = spanJson({ traceId: TRACE_ID, spanId: SPAN_ID, name: 'n', kind: 2, flags: 1 });
      const shuffled = spanJson({ flags: 1, name: 'n', kind: 2, spanId: SPAN_ID, traceId: TRACE_ID });

      assert.deepEqual(converted(Signal.TRACES, shuffled).bytes, converted(Signal.TRACES, ordered).bytes);
    });

    it('tolerates a byte order mark and takes text or UTF-8 bytes', () => {
      const json = spanJson({ name: 'ü' });

      const fromText = converted(Signal.TRACES, json).bytes;
      const fromBytes = converted(Signal.TRACES, Buffer.from(`\uFEFF${json}`)).bytes;

      assert.deepEqual(fromBytes, fromText);
    });

    it('gives an empty request for {}', () => {
      assert.deepEqual(converted(Signal.LOGS, '{}'), { bytes: new Uint8Array(0), items: 0 });
    });

    it('writes long and non-ASCII strings as UTF-8', () => {
      const long = 'x'.repeat(70_000);
      const request: ExportTraceServiceRequest = {
        resourceSpans: [{ scopeSpans: [{ spans: [{ name: long }, { name: `${'é'.repeat(200)}\u{1F600}` }] }] }],
      };

      const { bytes } = converted(Signal.TRACES, toOtlpJson(request));

      assert.deepEqual(bytes, encodeTracesRequest(request));
    });
  });

  describe('errors', () => {
    const spans = 'resourceSpans[0].scopeSpans[0].spans[0]';
    const cases: { name: string; json: string; path: string; message: RegExp; code?: string }[] = [
      { name: 'text that is not JSON', json: '{"resourceSpans": [', path: '', message: /not valid JSON/ },
      { name: 'a body that is not an object', json: '[1]', path: '', message: /expected a JSON object/ },
      {
        name: 'a short trace ID',
        json: spanJson({ traceId: 'abc' }),
        path: `${spans}.traceId`,
        message: /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: "abc" is not 32 hex digits$/,
        code: ErrorCode.OTLP_BAD_TRACE_ID,
      },
      {
        name: 'a trace ID with a non-hex digit',
        json: spanJson({ traceId: `${TRACE_ID.slice(0, 31)}g` }),
        path: `${spans}.traceId`,
        message: /is not 32 hex digits/,
        code: ErrorCode.OTLP_BAD_TRACE_ID,
      },
      {
        name: 'a base64 span ID',
        json: spanJson({ span_id: Buffer.from(SPAN_ID, 'hex').toString('base64') }),
        path: `${spans}.span_id`,
        message: /is not 16 hex digits \(it looks like base64; OTLP\/JSON writes IDs as hex\)/,
      },
      {
        name: 'a link trace ID',
        json: spanJson({ links: [{ traceId: TRACE_ID }, { traceId: 'xyz' }] }),
        path: `${spans}.links[1].traceId`,
        message: /"xyz" is not 32 hex digits/,
        code: ErrorCode.OTLP_BAD_TRACE_ID,
      },
      {
        name: 'a timestamp that is not a number',
        json: spanJson({ startTimeUnixNano: 'yesterday' }),
        path: `${spans}.startTimeUnixNano`,
        message: /expected a 64-bit unsigned integer \(a decimal string or a number\), got "yesterday"/,
      },
      {
        name: 'a fractional timestamp',
        json: spanJson({ endTimeUnixNano: 1.5 }),
        path: `${spans}.endTimeUnixNano`,
        message: /got 1\.5/,
      },
      {
        name: 'a negative timestamp',
        json: spanJson({ endTimeUnixNano: '-1' }),
        path: `${spans}.endTimeUnixNano`,
        message: /-1 is out of range for a 64-bit unsigned integer/,
      },
      {
        name: 'a timestamp past 2^64',
        json: spanJson({ endTimeUnixNano: '18446744073709551616' }),
        path: `${spans}.endTimeUnixNano`,
        message: /out of range/,
      },
      {
        name: 'a timestamp number past 2^64',
        json: spanJson({ name: 'n' }).replace('"name":"n"', '"endTimeUnixNano":18446744073709551616'),
        path: `${spans}.endTimeUnixNano`,
        message: /18446744073709551616 is out of range/,
      },
      {
        name: 'an int64 past 2^63',
        json: attributeJson({ intValue: '9223372036854775808' }),
        path: `${spans}.attributes[0].value.intValue`,
        message: /out of range for a 64-bit signed integer/,
      },
      {
        name: 'a negative count',
        json: spanJson({ droppedAttributesCount: -1 }),
        path: `${spans}.droppedAttributesCount`,
        message: /-1 is out of range for a 32-bit unsigned integer/,
      },
      {
        name: 'a count past 2^32',
        json: spanJson({ droppedEventsCount: 4294967296 }),
        path: `${spans}.droppedEventsCount`,
        message: /out of range/,
      },
      {
        name: 'an unknown enum name',
        json: spanJson({ kind: 'SERVER' }),
        path: `${spans}.kind`,
        message: /"SERVER" is not a value of this enum; use a number or one of SPAN_KIND_UNSPECIFIED/,
      },
      {
        name: 'two members of a oneof',
        json: attributeJson({ stringValue: 'a', intValue: 1 }),
        path: `${spans}.attributes[0].value`,
        message: /stringValue and intValue are both set, but only one of stringValue, boolValue/,
      },
      {
        name: 'one field under both of its names',
        json: spanJson({ traceId: TRACE_ID, trace_id: TRACE_ID }),
        path: spans,
        message: /traceId and trace_id are the same field/,
      },
      {
        name: 'an object where an array belongs',
        json: JSON.stringify({ resourceSpans: [{ scopeSpans: { spans: [] } }] }),
        path: 'resourceSpans[0].scopeSpans',
        message: /expected an array, got an object/,
      },
      {
        name: 'null in an array',
        json: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{}, null] }] }] }),
        path: 'resourceSpans[0].scopeSpans[0].spans[1]',
        message: /null is not allowed in an array/,
      },
      {
        name: 'a string where a message belongs',
        json: JSON.stringify({ resourceSpans: [{ resource: 'svc' }] }),
        path: 'resourceSpans[0].resource',
        message: /expected an object, got "svc"/,
      },
      {
        name: 'bad base64',
        json: attributeJson({ bytesValue: 'not base64!' }),
        path: `${spans}.attributes[0].value.bytesValue`,
        message: /"not base64!" is not base64/,
      },
      {
        name: 'a double that is not a number',
        json: attributeJson({ doubleValue: 'pi' }),
        path: `${spans}.attributes[0].value.doubleValue`,
        message: /expected a number \(or "NaN", "Infinity", "-Infinity"\), got "pi"/,
      },
      {
        name: 'a number where a string belongs',
        json: spanJson({ name: 5 }),
        path: `${spans}.name`,
        message: /expected a string, got 5/,
      },
      {
        name: 'a string where a bool belongs',
        json: attributeJson({ boolValue: 'true' }),
        path: `${spans}.attributes[0].value.boolValue`,
        message: /expected true or false, got "true"/,
      },
    ];
    for (const { name, json, path, message, code } of cases) {
      it(`reports ${name} with its path`, () => {
        const error = failure(Signal.TRACES, json);

        assert.equal(error.path, path);
        assert.match(error.message, message);
        assert.equal(error.code, code ?? ErrorCode.OTLP_MALFORMED);
      });
    }

    it(`refuses values nested deeper than ${MAX_JSON_DEPTH} messages`, () => {
      let value: unknown = { stringValue: 'leaf' };
      for (let i = 0; i < 200; i++) value = { arrayValue: { values: [value] } };

      const error = failure(Signal.TRACES, attributeJson(value));

      assert.match(error.message, new RegExp(`nested more than ${MAX_JSON_DEPTH} deep`));
      assert.match(
        error.path,
        /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.attributes\[0\]\.value(\.arrayValue\.values\[0\])+/,
      );
    });

    it('never throws on deeply nested JSON, even when big integers make it parse twice', () => {
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const json = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":18446744073709551615}]}],"x":${deep}}]}`;

      const result = otlpJsonToProtobuf(Signal.TRACES, json);

      assert.ok(result.ok || result.error.code === ErrorCode.OTLP_MALFORMED);
    });

    it('never throws, whatever the JSON', () => {
      fc.assert(
        fc.property(fc.constantFrom(Signal.TRACES, Signal.LOGS, Signal.METRICS), fc.jsonValue(), (signal, value) => {
          const shaped = { resourceSpans: [value], resourceLogs: [{ scopeLogs: [value] }], resourceMetrics: value };

          const results = [
            otlpJsonToProtobuf(signal, JSON.stringify(value)),
            otlpJsonToProtobuf(signal, JSON.stringify(shaped)),
          ];

          for (const result of results) assert.ok(result.ok || result.error.message.length > 0);
        }),
        { numRuns: 300 },
      );
    });

    it('never throws when any leaf of a valid request is replaced', () => {
      const request = JSON.parse(
        toOtlpJson(decodeTracesRequest(buildTracesRequest({ traces: 2, spansPerTrace: 3 }))),
      ) as unknown;
      const leaves: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
      const collect = (node: unknown): void => {
        if (Array.isArray(node))
          node.forEach((child: unknown, i) => {
            leaves.push({ parent: node, key: i });
            collect(child);
          });
        else if (typeof node === 'object' && node !== null)
          for (const [key, child] of Object.entries(node)) {
            leaves.push({ parent: node as Record<string, unknown>, key });
            collect(child);
          }
      };
      collect(request);

      fc.assert(
        fc.property(fc.nat({ max: leaves.length - 1 }), fc.jsonValue(), (index, replacement) => {
          const { parent, key } = leaves[index]!;
          const original = (parent as Record<string | number, unknown>)[key];
          (parent as Record<string | number, unknown>)[key] = replacement;
          try {
            const result = otlpJsonToProtobuf(Signal.TRACES, JSON.stringify(request));
            assert.ok(result.ok || result.error.message.startsWith(result.error.path));
          } finally {
            (parent as Record<string | number, unknown>)[key] = original;
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
