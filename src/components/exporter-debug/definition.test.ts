import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import type { Batch } from '../../otlp/batch.ts';
import { encodeLogsRequest, encodeMetricsRequest, encodeTracesRequest } from '../../otlp/proto/decoder.ts';
import { eraseDefinition } from '../../runtime/component.ts';
import {
  alloyExamples,
  decodeConfig,
  expectArguments,
  expectErrors,
  exportedConsumer,
  startComponent,
  testContext,
  type LogEntry,
} from '../../../test/helpers/component-harness.ts';
import { receiverOtlpDefinition } from '../receiver-otlp/definition.ts';
import { debugExporterDefinition, loggingExporterDefinition } from './definition.ts';

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';
const context = { signal: new AbortController().signal };

const tracesBatch: Batch = {
  signal: 'traces',
  items: 2,
  bytes: encodeTracesRequest({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scopeSpans: [
          {
            scope: { name: 'lib', version: '1.0' },
            spans: [
              {
                traceId: TRACE_ID,
                spanId: SPAN_ID,
                parentSpanId: 'aaaaaaaaaaaaaaaa',
                name: 'GET /cart',
                kind: 2,
                startTimeUnixNano: '1699678143509369393',
                endTimeUnixNano: '1699678143509493770',
                attributes: [
                  { key: 'http.method', value: { stringValue: 'GET' } },
                  { key: 'http.status_code', value: { intValue: '500' } },
                ],
                status: { code: 2, message: 'boom' },
                events: [
                  {
                    name: 'exception',
                    timeUnixNano: '1699678143509400000',
                    attributes: [{ key: 'retry', value: { boolValue: true } }],
                  },
                ],
                links: [{ traceId: TRACE_ID, spanId: 'bbbbbbbbbbbbbbbb' }],
              },
              { traceId: TRACE_ID, spanId: 'cccccccccccccccc', name: 'SELECT' },
            ],
          },
        ],
      },
    ],
  }),
};

const logsBatch: Batch = {
  signal: 'logs',
  items: 1,
  bytes: encodeLogsRequest({
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              {
                timeUnixNano: '1700000000000000000',
                severityNumber: 9,
                severityText: 'INFO',
                body: { stringValue: 'payment accepted' },
                attributes: [{ key: 'order', value: { intValue: '42' } }],
              },
            ],
          },
        ],
      },
    ],
  }),
};

const metricsBatch: Batch = {
  signal: 'metrics',
  items: -1,
  bytes: encodeMetricsRequest({
    resourceMetrics: [
      {
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'requests',
                sum: {
                  dataPoints: [
                    { asInt: '3', attributes: [{ key: 'code', value: { stringValue: '200' } }] },
                    { asInt: '1' },
                  ],
                  aggregationTemporality: 2,
                  isMonotonic: true,
                },
              },
              {
                name: 'latency',
                histogram: {
                  dataPoints: [{ count: '3', sum: 4.5, bucketCounts: ['1', '2'], explicitBounds: [1] }],
                  aggregationTemporality: 1,
                },
              },
            ],
          },
        ],
      },
    ],
  }),
};

/** The entries the exporter wrote (its own logger's), without the bound fields. */
function printed(entries: readonly LogEntry[]): { msg: string; level: string; fields: Record<string, unknown> }[] {
  const bound = new Set(['ts', 'level', 'msg', 'component_id', 'component_path']);
  return entries.map((e) => ({
    msg: e.msg,
    level: e.level,
    fields: Object.fromEntries(Object.entries(e).filter(([key]) => !bound.has(key))),
  }));
}

describe('otelcol.exporter.debug', () => {
  describe('arguments', () => {
    it('has the upstream defaults', () => {
      const { args } = expectArguments(debugExporterDefinition, '');

      assert.equal(args.verbosity, 'basic');
      assert.equal(args.samplingInitial, 2);
      assert.equal(args.samplingThereafter, 1);
      assert.equal(args.useInternalLogger, true);
      assert.deepEqual(args.outputPaths, ['stdout']);
    });

    it('accepts the verbosity in any case', () => {
      assert.equal(expectArguments(debugExporterDefinition, 'verbosity = "DeTaiLed"').args.verbosity, 'detailed');
    });

    it('refuses an unknown verbosity at its value', () => {
      const [error] = expectErrors(debugExporterDefinition, 'sampling_initial = 3\nverbosity = "loud"');

      assert.equal(error?.code, 'decode/value');
      assert.match(error.message, /invalid verbosity "loud"/);
      assert.equal(error.line, 2);
    });

    it('refuses output_paths with the internal logger, and negative sampling', () => {
      const errors = expectErrors(debugExporterDefinition, 'output_paths = ["/tmp/x"]');
      assert.deepEqual(
        errors.map((e) => e.code),
        ['decode/output-paths'],
      );

      const [negative] = expectErrors(debugExporterDefinition, 'sampling_thereafter = -1');
      assert.match(negative?.message ?? '', /sampling_thereafter must not be negative/);
    });

    it('decodes the README example', () => {
      const [example] = alloyExamples(new URL('./README.md', import.meta.url));
      assert.ok(example !== undefined);

      const { ids, diagnostics } = decodeConfig(example, [
        eraseDefinition(receiverOtlpDefinition),
        eraseDefinition(debugExporterDefinition),
        eraseDefinition(loggingExporterDefinition),
      ]);

      assert.deepEqual(ids, [
        'otelcol.receiver.otlp.default',
        'otelcol.exporter.debug.default',
        'otelcol.exporter.logging.legacy',
      ]);
      assert.deepEqual(diagnostics, []);
    });
  });

  describe('output', () => {
    it('basic: one info summary per batch and signal, through the component logger', async () => {
      const running = await startComponent(debugExporterDefinition, 'sampling_initial = 10');
      const input = exportedConsumer(running.exports);
      assert.deepEqual([...input.signals].sort(), ['logs', 'metrics', 'traces']);

      for (const batch of [tracesBatch, logsBatch, metricsBatch])
        assert.deepEqual(await input.consume(batch, context), { kind: 'ok' });

      assert.deepEqual(printed(running.logs.entries()), [
        { msg: 'Traces', level: 'info', fields: { 'resource spans': 1, spans: 2 } },
        { msg: 'Logs', level: 'info', fields: { 'resource logs': 1, 'log records': 1 } },
        { msg: 'Metrics', level: 'info', fields: { 'resource metrics': 1, metrics: 2, 'data points': 3 } },
      ]);
      assert.equal(running.logs.entries()[0]?.component_id, 'otelcol.exporter.debug.test');
    });

    it('normal: a line per resource, scope and item after the summary', async () => {
      const running = await startComponent(debugExporterDefinition, 'verbosity = "normal"\nsampling_initial = 10');
      const input = exportedConsumer(running.exports);

      await input.consume(tracesBatch, context);
      await input.consume(logsBatch, context);
      await input.consume(metricsBatch, context);

      const entries = running.logs.entries();
      assert.deepEqual(
        entries.map((e) => e.msg.split('\n')),
        [
          ['Traces'],
          [
            'ResourceTraces #0 [https://opentelemetry.io/schemas/1.26.0] service.name=checkout',
            'ScopeTraces #0 lib@1.0',
            `GET /cart ${TRACE_ID} ${SPAN_ID} http.method=GET http.status_code=500`,
            `SELECT ${TRACE_ID} cccccccccccccccc`,
          ],
          ['Logs'],
          ['ResourceLog #0', 'ScopeLog #0', 'payment accepted order=42'],
          ['Metrics'],
          [
            'ResourceMetrics #0',
            'ScopeMetrics #0',
            'requests{code=200} 3',
            'requests{} 1',
            'latency{} count=3 sum=4.5 le1=1 le+Inf=2',
          ],
        ],
      );
      assert.ok(entries.every((e) => e.level === 'info'));
    });

    it('detailed: the full dump of every field', async () => {
      const running = await startComponent(debugExporterDefinition, 'verbosity = "detailed"\nsampling_initial = 10');
      const input = exportedConsumer(running.exports);

      await input.consume(tracesBatch, context);
      await input.consume(logsBatch, context);
      await input.consume(metricsBatch, context);

      const [, traces, , logs, , metrics] = running.logs.entries().map((e) => e.msg.split('\n'));
      const rows = (lines: readonly string[] | undefined): Map<string, string> =>
        new Map(
          (lines ?? [])
            .filter((l) => l.startsWith('    ') && l.includes(' : '))
            .map((l) => {
              const [label = '', ...value] = l.trim().split(' : ');
              return [label.trim(), value.join(' : ')];
            }),
        );
      for (const line of [
        'ResourceSpans #0',
        'Resource SchemaURL: https://opentelemetry.io/schemas/1.26.0',
        'Resource attributes:',
        '     -> service.name: Str(checkout)',
        'ScopeSpans #0',
        'InstrumentationScope lib 1.0',
        'Span #0',
        'Span #1',
        'Attributes:',
        '     -> http.status_code: Int(500)',
        'Events:',
        'SpanEvent #0',
        '     -> Name: exception',
        '          -> retry: Bool(true)',
        'Links:',
        'SpanLink #0',
        '     -> ID: bbbbbbbbbbbbbbbb',
      ]) {
        assert.ok(traces?.includes(line), `traces dump lacks ${JSON.stringify(line)}`);
      }
      const span = rows(traces?.slice(traces.indexOf('Span #0'), traces.indexOf('Span #1')));
      assert.equal(span.get('Trace ID'), TRACE_ID);
      assert.equal(span.get('Parent ID'), 'aaaaaaaaaaaaaaaa');
      assert.equal(span.get('Kind'), 'Server');
      assert.equal(span.get('Start time'), '2023-11-11 04:49:03.509369393 +0000 UTC');
      assert.equal(span.get('End time'), '2023-11-11 04:49:03.50949377 +0000 UTC');
      assert.equal(span.get('Status code'), 'Error');
      assert.equal(span.get('Status message'), 'boom');

      for (const line of [
        'ResourceLog #0',
        'LogRecord #0',
        'Timestamp: 2023-11-14 22:13:20 +0000 UTC',
        'SeverityText: INFO',
        'SeverityNumber: Info(9)',
        'Body: Str(payment accepted)',
        '     -> order: Int(42)',
      ]) {
        assert.ok(logs?.includes(line), `logs dump lacks ${JSON.stringify(line)}`);
      }
      for (const line of [
        'Metric #0',
        '     -> Name: requests',
        '     -> DataType: Sum',
        '     -> IsMonotonic: true',
        '     -> AggregationTemporality: Cumulative',
        'NumberDataPoints #1',
        'Value: 3',
        '     -> code: Str(200)',
        'Metric #1',
        '     -> DataType: Histogram',
        'HistogramDataPoints #0',
        'Count: 3',
        'Sum: 4.500000',
        'ExplicitBounds #0: 1.000000',
        'Buckets #1, Count: 2',
      ]) {
        assert.ok(metrics?.includes(line), `metrics dump lacks ${JSON.stringify(line)}`);
      }
    });

    it('samples as zap: per message and second, the first sampling_initial, then every sampling_thereafter-th', async () => {
      const running = await startComponent(debugExporterDefinition, 'sampling_initial = 2\nsampling_thereafter = 3');
      const input = exportedConsumer(running.exports);

      for (let i = 0; i < 8; i++) await input.consume(tracesBatch, context);
      await input.consume(logsBatch, context);
      await running.clock.advance(1000);
      await input.consume(tracesBatch, context);

      // Traces 1, 2, 5 and 8 in the first second; logs count on their own; a new second starts afresh.
      assert.deepEqual(
        running.logs.entries().map((e) => e.msg),
        ['Traces', 'Traces', 'Traces', 'Traces', 'Logs', 'Traces'],
      );
    });

    it('refuses a batch that does not decode, as permanent, and logs it once', async () => {
      const running = await startComponent(debugExporterDefinition, '');
      const input = exportedConsumer(running.exports);

      const result = await input.consume(
        { signal: 'logs', bytes: new Uint8Array([0x0a, 0x09, 0x01]), items: 1 },
        context,
      );

      if (result.kind !== 'permanent') assert.fail(`got ${result.kind}`);
      assert.match(
        result.error.message,
        /otelcol\.exporter\.debug\.test cannot decode a logs request: malformed ExportLogsServiceRequest/,
      );
      assert.deepEqual(
        running.logs.entries().map((e) => [e.level, e.msg, e.signal]),
        [['warn', 'dropping a request that does not decode', 'logs']],
      );
    });

    it('writes to output_paths when use_internal_logger is false', async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'otel-lb-debug-'));
      try {
        const file = path.join(dir, 'out.log');
        const running = await startComponent(
          debugExporterDefinition,
          `use_internal_logger = false\noutput_paths = [${JSON.stringify(file)}]\nverbosity = "normal"`,
        );

        await exportedConsumer(running.exports).consume(tracesBatch, context);
        await running.stop();

        const lines = (await readFile(file, 'utf8')).split('\n');
        assert.equal(lines[0], 'Traces\t{"resource spans":1,"spans":2}');
        assert.equal(lines[1], 'ResourceTraces #0 [https://opentelemetry.io/schemas/1.26.0] service.name=checkout');
        assert.deepEqual(running.logs.entries(), []);

        await assert.rejects(
          startComponent(
            debugExporterDefinition,
            `use_internal_logger = false\noutput_paths = [${JSON.stringify(path.join(dir, 'no', 'such', 'dir'))}]`,
          ),
          /cannot open output path ".*no\/such\/dir"/,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('refuses batches before start, as retryable', async () => {
      const { args } = expectArguments(debugExporterDefinition, '');
      const component = await debugExporterDefinition.build(testContext('otelcol.exporter.debug.test'), args);

      const result = await exportedConsumer(component.exports).consume(tracesBatch, context);

      assert.equal(result.kind, 'retryable');
    });

    it('applies a new verbosity on update', async () => {
      const running = await startComponent(debugExporterDefinition, 'sampling_initial = 10');
      const input = exportedConsumer(running.exports);

      await running.update('verbosity = "detailed"\nsampling_initial = 10');
      await input.consume(logsBatch, context);

      assert.deepEqual(
        running.logs.entries().map((e) => e.msg.split('\n')[0]),
        ['Logs', 'ResourceLog #0'],
      );
    });
  });
});

describe('otelcol.exporter.logging', () => {
  it('has its own defaults: normal, 2, 500', () => {
    const { args } = expectArguments(loggingExporterDefinition, '');

    assert.equal(args.verbosity, 'normal');
    assert.equal(args.samplingInitial, 2);
    assert.equal(args.samplingThereafter, 500);
  });

  it('has no use_internal_logger or output_paths', () => {
    const [error] = expectErrors(loggingExporterDefinition, 'use_internal_logger = false');

    assert.equal(error?.code, 'decode/unknown-attribute');
  });

  it('prints the older messages; normal prints the summary only, detailed the dump', async () => {
    const normal = await startComponent(loggingExporterDefinition, 'sampling_initial = 10');
    const detailed = await startComponent(loggingExporterDefinition, 'verbosity = "DETAILED"\nsampling_initial = 10');

    for (const running of [normal, detailed]) {
      const input = exportedConsumer(running.exports);
      for (const batch of [tracesBatch, logsBatch, metricsBatch]) await input.consume(batch, context);
    }

    assert.deepEqual(printed(normal.logs.entries()), [
      { msg: 'TracesExporter', level: 'info', fields: { 'resource spans': 1, spans: 2 } },
      { msg: 'LogsExporter', level: 'info', fields: { 'resource logs': 1, 'log records': 1 } },
      { msg: 'MetricsExporter', level: 'info', fields: { 'resource metrics': 1, metrics: 2, 'data points': 3 } },
    ]);
    assert.deepEqual(
      detailed.logs.entries().map((e) => e.msg.split('\n')[0]),
      ['TracesExporter', 'ResourceSpans #0', 'LogsExporter', 'ResourceLog #0', 'MetricsExporter', 'ResourceMetrics #0'],
    );
  });

  it('honours sampling_thereafter (Alloy passed sampling_initial for both)', async () => {
    const running = await startComponent(loggingExporterDefinition, 'sampling_initial = 1\nsampling_thereafter = 2');
    const input = exportedConsumer(running.exports);

    for (let i = 0; i < 5; i++) await input.consume(logsBatch, context);

    // 1 passes as initial, then 3 and 5; with Alloy's bug (thereafter = initial = 1) all five would.
    assert.equal(running.logs.entries().length, 3);
  });
});
