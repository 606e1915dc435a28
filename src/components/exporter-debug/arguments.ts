/**
 * The arguments of `otelcol.exporter.debug` (components.md §5) and of its older name
 * `otelcol.exporter.logging` (§4), with their different defaults.
 *
 * `verbosity` is accepted in any case and decoded to lower case. For
 * `otelcol.exporter.logging`, Alloy's converter passes `sampling_initial` for both sampling
 * values (a bug from v1.0 until the component was removed), so `sampling_thereafter` has no
 * effect there; otel-lb honours `sampling_thereafter`, as the Collector does.
 */

import { attr, body, bool, int, list, refine, string, type Infer, type Issue } from '../../syntax/schema.ts';
import { debugMetricsBlock } from '../config/debug-metrics.ts';

export const VERBOSITIES = ['basic', 'normal', 'detailed'] as const;
export type Verbosity = (typeof VERBOSITIES)[number];

function verbosityOf(text: string): Verbosity | undefined {
  const lower = text.toLowerCase();
  return VERBOSITIES.find((v) => v === lower);
}

function verbosityAttr(defaultValue: Verbosity) {
  return attr('verbosity', string(), {
    default: defaultValue,
    check: (v) =>
      verbosityOf(v) === undefined
        ? `invalid verbosity ${JSON.stringify(v)}; use "basic", "normal" or "detailed"`
        : undefined,
  });
}

function notNegative(name: string): (v: number) => string | undefined {
  return (v) => (v < 0 ? `${name} must not be negative` : undefined);
}

const debugFields = body(
  {
    verbosity: verbosityAttr('basic'),
    samplingInitial: attr('sampling_initial', int(), { default: 2, check: notNegative('sampling_initial') }),
    samplingThereafter: attr('sampling_thereafter', int(), { default: 1, check: notNegative('sampling_thereafter') }),
    useInternalLogger: attr('use_internal_logger', bool(), { default: true }),
    outputPaths: attr('output_paths', list(string()), { default: ['stdout'] }),
    debugMetrics: debugMetricsBlock(),
  },
  {
    validate: (args) => {
      const issues: Issue[] = [];
      if (args.useInternalLogger && !(args.outputPaths.length === 1 && args.outputPaths[0] === 'stdout')) {
        issues.push({
          field: 'outputPaths',
          code: 'decode/output-paths',
          message: 'output_paths is only used when use_internal_logger is false; set use_internal_logger = false',
        });
      }
      if (args.outputPaths.some((p) => p === '')) {
        issues.push({ field: 'outputPaths', message: 'output_paths must not hold an empty path' });
      }
      return issues;
    },
  },
);

/** `otelcol.exporter.debug`. */
export const debugArgumentsSchema = refine(debugFields, (args) => ({
  ...args,
  verbosity: verbosityOf(args.verbosity) ?? 'basic',
}));
export type DebugArguments = Infer<typeof debugArgumentsSchema>;

const loggingFields = body({
  verbosity: verbosityAttr('normal'),
  samplingInitial: attr('sampling_initial', int(), { default: 2, check: notNegative('sampling_initial') }),
  samplingThereafter: attr('sampling_thereafter', int(), { default: 500, check: notNegative('sampling_thereafter') }),
  debugMetrics: debugMetricsBlock(),
});

/** `otelcol.exporter.logging`: always the internal logger. */
export const loggingArgumentsSchema = refine(loggingFields, (args) => ({
  ...args,
  verbosity: verbosityOf(args.verbosity) ?? 'normal',
}));
export type LoggingArguments = Infer<typeof loggingArgumentsSchema>;
