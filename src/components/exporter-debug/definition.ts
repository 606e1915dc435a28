/**
 * `otelcol.exporter.debug` (components.md §5) and `otelcol.exporter.logging` (§4, the name
 * Alloy v1.0–v1.4 had): print every batch of traces, logs and metrics.
 *
 * Each batch gives one info-level summary entry (`Traces` with `resource spans` and `spans`,
 * `Logs` with `resource logs` and `log records`, `Metrics` with `resource metrics`, `metrics`
 * and `data points`; the logging name says `TracesExporter`, `LogsExporter`,
 * `MetricsExporter`). `normal` adds an entry with one line per resource, scope and item
 * (`normal.ts`; the logging name prints nothing more, as its upstream did), `detailed` the
 * full dump (`detailed.ts`). Sampling is zap's (`sampler.ts`), decided per batch on its
 * summary message, so a batch's dump is written exactly when its summary is.
 *
 * Output goes through the component's logger (`use_internal_logger = true`, the default), or
 * straight to `output_paths` (`stdout`, `stderr` or files opened at start, appended to):
 * summaries as `<message>\t<fields as JSON>`, dumps as their lines.
 *
 * Batches are decoded with the full protobuf decoder (this is an edge, not the data path).
 * A batch that does not decode is refused as permanent, with the decoder's message, and
 * logged once (through the sampler, so a flood of bad batches does not flood the log);
 * nothing here throws for bad bytes.
 */

import { createWriteStream, type WriteStream } from 'node:fs';

import type { Batch } from '../../otlp/batch.ts';
import { decodeLogsRequest, decodeMetricsRequest, decodeTracesRequest } from '../../otlp/proto/decoder.ts';
import type { Metric } from '../../otlp/proto/messages.ts';
import { Signal } from '../../otlp/signal.ts';
import type { Component, ComponentContext, ComponentDefinition, ComponentExports } from '../../runtime/component.ts';
import type { LogFields } from '../../telemetry/logger.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from '../../transport/export-result.ts';
import { consumerCapsule, placeholderConsumer, SwitchableConsumer } from '../config/consumer.ts';
import {
  debugArgumentsSchema,
  loggingArgumentsSchema,
  type DebugArguments,
  type LoggingArguments,
  type Verbosity,
} from './arguments.ts';
import { detailedLogs, detailedMetrics, detailedTraces } from './detailed.ts';
import { normalLogs, normalMetrics, normalTraces } from './normal.ts';
import { Sampler } from './sampler.ts';

const SIGNALS: readonly Signal[] = [Signal.TRACES, Signal.LOGS, Signal.METRICS];

/** What the two names do differently. */
interface Flavor {
  readonly name: `otelcol.${string}`;
  /** Summary message per signal. */
  readonly messages: Readonly<Record<Signal, string>>;
  /** Whether `normal` prints a line per item (the debug exporter) or only the summary (logging). */
  readonly normalPrintsItems: boolean;
}

const DEBUG: Flavor = {
  name: 'otelcol.exporter.debug',
  messages: { traces: 'Traces', logs: 'Logs', metrics: 'Metrics' },
  normalPrintsItems: true,
};

const LOGGING: Flavor = {
  name: 'otelcol.exporter.logging',
  messages: { traces: 'TracesExporter', logs: 'LogsExporter', metrics: 'MetricsExporter' },
  normalPrintsItems: false,
};

/** The arguments both names share, once decoded. */
interface Settings {
  readonly verbosity: Verbosity;
  readonly samplingInitial: number;
  readonly samplingThereafter: number;
  /** `undefined`: the component's logger. */
  readonly outputPaths: readonly string[] | undefined;
}

/** A batch decoded: its summary fields and, lazily, its texts. */
interface Printed {
  readonly summary: LogFields;
  readonly normal: () => string;
  readonly detailed: () => string;
}

function dataPoints(metric: Metric): number {
  return (
    (metric.gauge?.dataPoints?.length ?? 0) +
    (metric.sum?.dataPoints?.length ?? 0) +
    (metric.histogram?.dataPoints?.length ?? 0) +
    (metric.exponentialHistogram?.dataPoints?.length ?? 0) +
    (metric.summary?.dataPoints?.length ?? 0)
  );
}

/** Decodes a batch; throws `OtelLbError` (`ERR_OTLP_MALFORMED`) if it does not decode. */
function print(batch: Batch): Printed {
  switch (batch.signal) {
    case Signal.TRACES: {
      const request = decodeTracesRequest(batch.bytes);
      const resources = request.resourceSpans ?? [];
      const spans = resources.reduce(
        (n, rs) => n + (rs.scopeSpans ?? []).reduce((m, ss) => m + (ss.spans?.length ?? 0), 0),
        0,
      );
      return {
        summary: { 'resource spans': resources.length, spans },
        normal: () => normalTraces(request),
        detailed: () => detailedTraces(request),
      };
    }
    case Signal.LOGS: {
      const request = decodeLogsRequest(batch.bytes);
      const resources = request.resourceLogs ?? [];
      const records = resources.reduce(
        (n, rl) => n + (rl.scopeLogs ?? []).reduce((m, sl) => m + (sl.logRecords?.length ?? 0), 0),
        0,
      );
      return {
        summary: { 'resource logs': resources.length, 'log records': records },
        normal: () => normalLogs(request),
        detailed: () => detailedLogs(request),
      };
    }
    case Signal.METRICS: {
      const request = decodeMetricsRequest(batch.bytes);
      const resources = request.resourceMetrics ?? [];
      const metrics = resources.flatMap((rm) => (rm.scopeMetrics ?? []).flatMap((sm) => sm.metrics ?? []));
      return {
        summary: {
          'resource metrics': resources.length,
          metrics: metrics.length,
          'data points': metrics.reduce((n, m) => n + dataPoints(m), 0),
        },
        normal: () => normalMetrics(request),
        detailed: () => detailedMetrics(request),
      };
    }
  }
}

/** Where entries go. */
interface Output {
  entry(message: string, fields?: LogFields): void;
  close(): Promise<void>;
}

function loggerOutput(context: ComponentContext): Output {
  return {
    entry: (message, fields) => {
      context.logger.info(message, fields);
    },
    close: () => Promise.resolve(),
  };
}

/** Opens `output_paths` (files are created or appended to). Rejects naming a path that cannot be opened. */
async function pathsOutput(paths: readonly string[], context: ComponentContext): Promise<Output> {
  const files: WriteStream[] = [];
  const streams: { write(chunk: string): unknown }[] = [];
  try {
    for (const path of paths) {
      if (path === 'stdout') streams.push(process.stdout);
      else if (path === 'stderr') streams.push(process.stderr);
      else {
        const file = await openFile(path);
        file.on('error', (error) => {
          context.logger.error('cannot write to an output path', { path, err: error });
        });
        files.push(file);
        streams.push(file);
      }
    }
  } catch (error) {
    await Promise.all(files.map(closeFile));
    throw error;
  }
  return {
    entry: (message, fields) => {
      const line = fields === undefined ? `${message}\n` : `${message}\t${JSON.stringify(fields)}\n`;
      for (const s of streams) s.write(line);
    },
    close: async () => {
      await Promise.all(files.map(closeFile));
    },
  };
}

function openFile(path: string): Promise<WriteStream> {
  return new Promise((resolve, reject) => {
    const file = createWriteStream(path, { flags: 'a' });
    const onError = (error: Error): void => {
      reject(new Error(`cannot open output path ${JSON.stringify(path)}: ${error.message}`, { cause: error }));
    };
    file.once('error', onError);
    file.once('open', () => {
      file.off('error', onError);
      resolve(file);
    });
  });
}

function closeFile(file: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    file.end(() => {
      resolve();
    });
  });
}

class DebugExporter<A> implements Component<A> {
  readonly exports: ComponentExports;
  private readonly context: ComponentContext;
  private readonly flavor: Flavor;
  private readonly settingsOf: (args: A) => Settings;
  private settings: Settings;
  private readonly sampler: Sampler;
  private output: Output | undefined;

  constructor(context: ComponentContext, flavor: Flavor, args: A, settingsOf: (args: A) => Settings) {
    this.context = context;
    this.flavor = flavor;
    this.settingsOf = settingsOf;
    this.settings = settingsOf(args);
    this.sampler = new Sampler(context.clock, this.settings.samplingInitial, this.settings.samplingThereafter);
    const input = new SwitchableConsumer(context.id, SIGNALS, {
      consume: (batch) => Promise.resolve(this.consume(batch)),
    });
    this.exports = { input: consumerCapsule(input) };
  }

  private consume(batch: Batch): ExportResult {
    const output = this.output;
    if (output === undefined) return retryable(new Error(`${this.context.id} is not running`));
    let printed: Printed;
    try {
      printed = print(batch);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const refused = new Error(`${this.context.id} cannot decode a ${batch.signal} request: ${reason}`, {
        cause: error,
      });
      if (this.sampler.allow('decode failure')) {
        this.context.logger.warn('dropping a request that does not decode', { signal: batch.signal, err: refused });
      }
      return permanent(refused);
    }
    const message = this.flavor.messages[batch.signal];
    if (!this.sampler.allow(message)) return EXPORT_OK;
    output.entry(message, printed.summary);
    const verbosity = this.settings.verbosity;
    if (verbosity === 'detailed') output.entry(printed.detailed());
    else if (verbosity === 'normal' && this.flavor.normalPrintsItems) output.entry(printed.normal());
    return EXPORT_OK;
  }

  private openOutput(settings: Settings): Promise<Output> {
    return settings.outputPaths === undefined
      ? Promise.resolve(loggerOutput(this.context))
      : pathsOutput(settings.outputPaths, this.context);
  }

  async start(): Promise<void> {
    this.output = await this.openOutput(this.settings);
  }

  async update(args: A): Promise<void> {
    const settings = this.settingsOf(args);
    const output = await this.openOutput(settings);
    const old = this.output;
    this.settings = settings;
    this.output = output;
    this.sampler.configure(settings.samplingInitial, settings.samplingThereafter);
    await old?.close();
  }

  async shutdown(): Promise<void> {
    const output = this.output;
    this.output = undefined;
    await output?.close();
  }
}

function debugSettings(args: DebugArguments): Settings {
  return {
    verbosity: args.verbosity,
    samplingInitial: args.samplingInitial,
    samplingThereafter: args.samplingThereafter,
    outputPaths: args.useInternalLogger ? undefined : args.outputPaths,
  };
}

function loggingSettings(args: LoggingArguments): Settings {
  return {
    verbosity: args.verbosity,
    samplingInitial: args.samplingInitial,
    samplingThereafter: args.samplingThereafter,
    outputPaths: undefined,
  };
}

/** `otelcol.exporter.debug`. */
export const debugExporterDefinition: ComponentDefinition<DebugArguments> = {
  name: DEBUG.name,
  stability: 'experimental',
  arguments: debugArgumentsSchema,
  placeholderExports: { input: placeholderConsumer(DEBUG.name, SIGNALS) },
  build: (context, args) => Promise.resolve(new DebugExporter(context, DEBUG, args, debugSettings)),
};

/**
 * `otelcol.exporter.logging`, which Alloy removed in v1.5 (it now reports `cannot find the
 * definition of component name`); kept because older configurations use it.
 */
export const loggingExporterDefinition: ComponentDefinition<LoggingArguments> = {
  name: LOGGING.name,
  stability: 'generally-available',
  arguments: loggingArgumentsSchema,
  placeholderExports: { input: placeholderConsumer(LOGGING.name, SIGNALS) },
  build: (context, args) => Promise.resolve(new DebugExporter(context, LOGGING, args, loggingSettings)),
};
