import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { otlpJsonToProtobuf } from '../otlp/json.ts';
import { decodeLogsRequest, decodeTracesRequest, encodeTracesRequest } from '../otlp/proto/decoder.ts';
import { Signal } from '../otlp/signal.ts';
import { logsRequestArbitrary, tracesRequestArbitrary } from '../../test/helpers/otlp-arbitraries.ts';
import { otlpProtobufToJson } from './otlp-json-writer.ts';

describe('otlpProtobufToJson', () => {
  it('writes traces that the OTLP/JSON reader turns back into the same request', () => {
    fc.assert(
      fc.property(tracesRequestArbitrary(), (generated) => {
        const back = otlpJsonToProtobuf(Signal.TRACES, otlpProtobufToJson(Signal.TRACES, generated.bytes));

        assert.ok(back.ok, back.ok ? '' : back.error.message);
        assert.deepStrictEqual(decodeTracesRequest(back.bytes), generated.expected);
      }),
      { numRuns: 100 },
    );
  });

  it('writes logs that the OTLP/JSON reader turns back into the same request', () => {
    fc.assert(
      fc.property(logsRequestArbitrary(), (generated) => {
        const back = otlpJsonToProtobuf(Signal.LOGS, otlpProtobufToJson(Signal.LOGS, generated.bytes));

        assert.ok(back.ok, back.ok ? '' : back.error.message);
        assert.deepStrictEqual(decodeLogsRequest(back.bytes), generated.expected);
      }),
      { numRuns: 100 },
    );
  });

  it('writes IDs as hex and other bytes as base64, as OTLP/JSON asks', () => {
    const bytes = encodeTracesRequest({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '01'.repeat(16),
                  spanId: '02'.repeat(8),
                  name: 'checkout',
                  attributes: [{ key: 'raw', value: { bytesValue: 'ff0000' } }],
                },
              ],
            },
          ],
        },
      ],
    });

    const json = JSON.parse(otlpProtobufToJson(Signal.TRACES, bytes)) as {
      resourceSpans: {
        scopeSpans: { spans: { traceId: string; spanId: string; attributes: { value: { bytesValue: string } }[] }[] }[];
      }[];
    };

    const span = json.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    assert.equal(span?.traceId, '01'.repeat(16));
    assert.equal(span.spanId, '02'.repeat(8));
    assert.equal(span.attributes[0]?.value.bytesValue, Buffer.from([0xff, 0, 0]).toString('base64'));
  });
});
