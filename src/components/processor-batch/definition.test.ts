import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { eraseDefinition } from '../../runtime/component.ts';
import {
  decodeLogsRequest,
  decodeTracesRequest,
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
} from '../../otlp/proto/decoder.ts';
import type { Batch } from '../../otlp/batch.ts';
import { EXPORT_OK, permanent } from '../../transport/export-result.ts';
import { GateConsumer } from '../../../test/helpers/batch-consumers.ts';
import {
  alloyExamples,
  consumerExports,
  decodeConfig,
  expectArguments,
  expectErrors,
  exportedConsumer,
  recordingOutput,
  startComponent,
  testContext,
  type HarnessOptions,
} from '../../../test/helpers/component-harness.ts';
import { settle } from '../../../test/helpers/fake-clock.ts';
import { exporterOtlpDefinition } from '../exporter-otlp/definition.ts';
import { receiverOtlpDefinition } from '../receiver-otlp/definition.ts';
import { batchProcessorDefinition } from './definition.ts';

const SINK = 'otelcol.exporter.debug.sink';
const OUTPUT = `output {\n traces = [${SINK}.input]\n logs = [${SINK}.input]\n metrics = [${SINK}.input]\n}`;

function traces(...names: string[]): Batch {
  const bytes = encodeTracesRequest({ resourceSpans: [{ scopeSpans: [{ spans: names.map((name) => ({ name })) }] }] });
  return { signal: 'traces', bytes, items: names.length };
}

function logs(...bodies: string[]): Batch {
  const bytes = encodeLogsRequest({
    resourceLogs: [{ scopeLogs: [{ logRecords: bodies.map((body) => ({ body: { stringValue: body } })) }] }],
  });
  return { signal: 'logs', bytes, items: bodies.length };
}

function spanNames(batch: Batch | undefined): string[] {
  assert.ok(batch !== undefined);
  return (decodeTracesRequest(batch.bytes).resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map((s) => s.name ?? '')),
  );
}

const context = { signal: new AbortController().signal };

async function start(config: string, options: HarnessOptions = {}) {
  const sink = recordingOutput(SINK);
  const running = await startComponent(batchProcessorDefinition, `${config}\n${OUTPUT}`, {
    exports: { [SINK]: sink.exports },
    ...options,
  });
  const input = exportedConsumer(running.exports);
  const sent = (): Batch[] => sink.recorder.calls.map((c) => c.batch);
  return { running, input, sink: sink.recorder, sent };
}

describe('otelcol.processor.batch', () => {
  describe('arguments', () => {
    it("takes Alloy's defaults", () => {
      const { args } = expectArguments(batchProcessorDefinition, 'output {}');

      assert.equal(args.timeoutMs, 200);
      assert.equal(args.sendBatchSize, 2000);
      assert.equal(args.sendBatchMaxSize, 3000);
      assert.deepEqual(args.metadataKeys, []);
      assert.equal(args.metadataCardinalityLimit, 1000);
      assert.deepEqual(args.output, { metrics: [], logs: [], traces: [] });
    });

    it('requires the output block', () => {
      const [error] = expectErrors(batchProcessorDefinition, 'timeout = "1s"');

      assert.equal(error?.code, 'decode/missing-block');
      assert.match(error.message, /missing required block "output"/);
    });

    it('refuses a maximum below the batch size, at the maximum', () => {
      const [error] = expectErrors(
        batchProcessorDefinition,
        'send_batch_max_size = 10\nsend_batch_size = 20\noutput {}',
      );

      assert.equal(error?.code, 'decode/batch-size');
      assert.equal(error.message, 'send_batch_max_size must be greater or equal to send_batch_size when not 0');
      assert.equal(error.line, 1);
    });

    it('accepts a maximum of 0 (no limit) whatever the batch size', () => {
      const { args } = expectArguments(
        batchProcessorDefinition,
        'send_batch_max_size = 0\nsend_batch_size = 20000\noutput {}',
      );

      assert.equal(args.sendBatchMaxSize, 0);
    });

    for (const [body, message] of [
      ['timeout = "-1s"', 'timeout must be greater or equal to 0'],
      ['send_batch_size = -1', 'send_batch_size must not be negative'],
      ['metadata_keys = ["Tenant", "tenant"]', 'duplicate entry in metadata_keys: "tenant" (case-insensitive)'],
    ] as const) {
      it(`refuses ${body}`, () => {
        const errors = expectErrors(batchProcessorDefinition, `${body}\noutput {}`);

        assert.deepEqual(
          errors.map((e) => [e.message, e.line]),
          [[message, 1]],
        );
      });
    }

    it('warns that metadata_keys is not honoured yet', () => {
      const { warnings } = expectArguments(batchProcessorDefinition, 'metadata_keys = ["tenant"]\noutput {}');

      assert.deepEqual(
        warnings.map((w) => [w.severity, w.code]),
        [['warning', 'decode/not-supported']],
      );
    });

    it('decodes the README example', () => {
      const [example] = alloyExamples(new URL('./README.md', import.meta.url));
      assert.ok(example !== undefined);

      const { ids, diagnostics } = decodeConfig(example, [
        eraseDefinition(receiverOtlpDefinition),
        eraseDefinition(batchProcessorDefinition),
        eraseDefinition(exporterOtlpDefinition),
      ]);

      assert.deepEqual(ids, [
        'otelcol.receiver.otlp.default',
        'otelcol.processor.batch.default',
        'otelcol.exporter.otlp.backend',
      ]);
      assert.deepEqual(diagnostics, []);
    });
  });

  describe('batching', () => {
    it('accepts a request once buffered and sends when send_batch_size items are pending', async () => {
      const { running, input, sent } = await start('timeout = "10s"\nsend_batch_size = 4\nsend_batch_max_size = 6');

      assert.deepEqual(await input.consume(traces('a', 'b', 'c'), context), EXPORT_OK);
      await settle();
      assert.equal(sent().length, 0);

      assert.deepEqual(await input.consume(traces('d', 'e'), context), EXPORT_OK);
      await settle();

      assert.deepEqual(sent().map(spanNames), [['a', 'b', 'c', 'd', 'e']]);
      assert.equal(sent()[0]?.items, 5);
      assert.equal(
        running.registry
          .expose()
          .includes(
            'otelcol_processor_batch_batch_size_trigger_send_total{component_id="otelcol.processor.batch.test",component_path="/"} 1',
          ),
        true,
      );
    });

    it('cuts oversize batches to send_batch_max_size and keeps a remainder below send_batch_size for later', async () => {
      const { running, input, sent } = await start('timeout = "10s"\nsend_batch_size = 3\nsend_batch_max_size = 4');

      await input.consume(traces('1', '2', '3', '4', '5', '6', '7', '8', '9', '10'), context);
      await settle();

      assert.deepEqual(sent().map(spanNames), [
        ['1', '2', '3', '4'],
        ['5', '6', '7', '8'],
      ]);

      await running.clock.advance(10_000);

      assert.deepEqual(
        sent().map((b) => b.items),
        [4, 4, 2],
      );
      assert.deepEqual(spanNames(sent()[2]), ['9', '10']);
    });

    it('sends what is pending once timeout has passed since its first request', async () => {
      const { running, input, sent } = await start('timeout = "200ms"');

      await input.consume(traces('a'), context);
      await running.clock.advance(150);
      await input.consume(traces('b'), context);
      await running.clock.advance(49);
      assert.equal(sent().length, 0);

      await running.clock.advance(1);

      assert.deepEqual(sent().map(spanNames), [['a', 'b']]);
      assert.match(running.registry.expose(), /otelcol_processor_batch_timeout_trigger_send_total\{[^}]*\} 1/);

      await input.consume(traces('c'), context);
      await running.clock.advance(200);
      assert.deepEqual(sent().map(spanNames), [['a', 'b'], ['c']]);
    });

    it('sends every request at once when timeout is 0, cut to the maximum', async () => {
      const { input, sent } = await start('timeout = "0s"\nsend_batch_size = 10\nsend_batch_max_size = 10');

      await input.consume(traces('a'), context);
      await settle();

      assert.deepEqual(sent().map(spanNames), [['a']]);
    });

    it('batches each signal on its own, counting metrics by data point', async () => {
      const { running, input, sent } = await start('timeout = "1s"\nsend_batch_size = 3');
      const metrics: Batch = {
        signal: 'metrics',
        bytes: encodeMetricsRequest({
          resourceMetrics: [
            {
              scopeMetrics: [
                { metrics: [{ name: 'm', gauge: { dataPoints: [{ asInt: '1' }, { asInt: '2' }, { asInt: '3' }] } }] },
              ],
            },
          ],
        }),
        items: -1,
      };

      await input.consume(traces('a', 'b'), context);
      await input.consume(logs('x'), context);
      await input.consume(logs('y'), context);
      await input.consume(metrics, context);
      await settle();

      assert.deepEqual(
        sent().map((b) => [b.signal, b.items]),
        [['metrics', 3]],
      );

      await running.clock.advance(1000);

      assert.deepEqual(
        sent()
          .map((b) => [b.signal, b.items])
          .sort(),
        [
          ['logs', 2],
          ['metrics', 3],
          ['traces', 2],
        ],
      );
      const logBatch = sent().find((b) => b.signal === 'logs');
      assert.ok(logBatch !== undefined);
      assert.equal(decodeLogsRequest(logBatch.bytes).resourceLogs?.length, 2);
    });

    it('refuses malformed requests at once and accepts empty ones without sending them', async () => {
      const { running, input, sent } = await start('timeout = "1s"');

      const refused = await input.consume(
        { signal: 'traces', bytes: new Uint8Array([0x0a, 0x05, 0x01]), items: 1 },
        context,
      );
      const empty = await input.consume({ signal: 'traces', bytes: new Uint8Array(0), items: 0 }, context);
      await running.clock.advance(1000);

      if (refused.kind !== 'permanent') assert.fail(`a malformed request got ${refused.kind}`);
      assert.match(refused.error.message, /refused a request: invalid OTLP traces request at byte 1/);
      assert.deepEqual(empty, EXPORT_OK);
      assert.equal(sent().length, 0);
    });
  });

  describe('downstream answers and backpressure', () => {
    it('logs and counts a batch the next consumer refuses; the sender already got ok', async () => {
      const { running, input, sink } = await start('timeout = "100ms"');
      sink.result = permanent(new Error('backend says no'));

      assert.deepEqual(await input.consume(traces('a', 'b'), context), EXPORT_OK);
      await running.clock.advance(100);

      const warnings = running.logs.entries().filter((e) => e.level === 'warn');
      assert.deepEqual(
        warnings.map((e) => [e.msg, e.signal, e.items, e.kind, e.err]),
        [['Sender failed', 'traces', 2, 'permanent', 'backend says no']],
      );
      assert.match(running.registry.expose(), /otelcol_processor_batch_dropped_items_total\{[^}]*\} 2/);
    });

    it('makes callers wait while batches queue behind a slow consumer, and lets them give up', async () => {
      const gate = new GateConsumer();
      const running = await startComponent(batchProcessorDefinition, `timeout = "0s"\n${OUTPUT}`, {
        exports: { [SINK]: consumerExports(SINK, gate) },
      });
      const input = exportedConsumer(running.exports);

      await input.consume(traces('1'), context); // being sent
      await input.consume(traces('2'), context); // queued
      await input.consume(traces('3'), context); // queued: the queue is full now
      const waiting = input.consume(traces('4'), context);
      const impatient = new AbortController();
      const givingUp = input.consume(traces('5'), { signal: impatient.signal });
      let answered = false;
      void waiting.then(() => {
        answered = true;
      });
      await settle();
      assert.equal(answered, false);

      impatient.abort();
      const gaveUp = await givingUp;
      assert.equal(gaveUp.kind, 'retryable');

      const first = await gate.nextCall();
      assert.deepEqual(spanNames(first.batch), ['1']);
      first.release();
      assert.deepEqual(await waiting, EXPORT_OK);

      for (const expected of [['2'], ['3'], ['4']]) {
        const call = await gate.nextCall();
        assert.deepEqual(spanNames(call.batch), expected);
        call.release();
      }
    });
  });

  describe('lifecycle', () => {
    it('refuses requests before start as retryable', async () => {
      const sink = recordingOutput(SINK);
      const { args } = expectArguments(batchProcessorDefinition, OUTPUT, { exports: { [SINK]: sink.exports } });
      const component = await batchProcessorDefinition.build(testContext('otelcol.processor.batch.test'), args);

      const result = await exportedConsumer(component.exports).consume(traces('a'), context);

      assert.equal(result.kind, 'retryable');
    });

    it('flushes what is pending on shutdown and refuses requests afterwards', async () => {
      const { running, input, sent } = await start('timeout = "1h"');

      await input.consume(traces('a'), context);
      await input.consume(logs('b'), context);
      await running.stop();

      assert.deepEqual(
        sent()
          .map((b) => [b.signal, b.items])
          .sort(),
        [
          ['logs', 1],
          ['traces', 1],
        ],
      );
      assert.equal((await input.consume(traces('c'), context)).kind, 'retryable');
      await running.stop(); // idempotent
    });

    it('gives up waiting for answers at the shutdown deadline and aborts the sends', async () => {
      const gate = new GateConsumer();
      const running = await startComponent(batchProcessorDefinition, `timeout = "1h"\n${OUTPUT}`, {
        exports: { [SINK]: consumerExports(SINK, gate) },
      });
      await exportedConsumer(running.exports).consume(traces('a'), context);

      const stopping = running.stop(500);
      const call = await gate.nextCall();
      await running.clock.advance(500);
      await stopping;

      assert.ok(call.context.signal.aborted);
      assert.ok(running.logs.entries().some((e) => e.level === 'warn' && e.msg.includes('shutdown deadline')));
    });

    it('applies new sizes and outputs on update to what is pending', async () => {
      const other = recordingOutput('otelcol.exporter.debug.other');
      const options = {
        exports: { [SINK]: recordingOutput(SINK).exports, 'otelcol.exporter.debug.other': other.exports },
      };
      const running = await startComponent(
        batchProcessorDefinition,
        `timeout = "1h"\nsend_batch_size = 100\n${OUTPUT}`,
        options,
      );
      const input = exportedConsumer(running.exports);
      await input.consume(traces('a', 'b', 'c'), context);

      await running.update(
        'timeout = "1h"\nsend_batch_size = 2\noutput {\n traces = [otelcol.exporter.debug.other.input]\n}',
      );
      await settle();

      assert.deepEqual(
        other.recorder.calls.map((c) => spanNames(c.batch)),
        [['a', 'b', 'c']],
      );
    });
  });
});
