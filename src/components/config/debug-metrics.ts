/**
 * The `debug_metrics` block every otelcol component takes (components.md §0.2).
 * `disable_high_cardinality_metrics` drops address-like labels (`endpoint`, `net.peer.*`) from
 * the component's own metrics; `level` chooses how much is recorded: `none` records nothing,
 * `basic` the component's throughput counters, `normal` and `detailed` everything.
 */

import { attr, block, body, bool, string, type BlockField, type Infer } from '../../syntax/schema.ts';

export const DEBUG_METRICS_LEVELS = ['none', 'basic', 'normal', 'detailed'] as const;
export type DebugMetricsLevel = (typeof DEBUG_METRICS_LEVELS)[number];

function isLevel(v: string): v is DebugMetricsLevel {
  return (DEBUG_METRICS_LEVELS as readonly string[]).includes(v);
}

export const debugMetricsSchema = body({
  disableHighCardinalityMetrics: attr('disable_high_cardinality_metrics', bool(), { default: true }),
  level: attr('level', string(), {
    default: 'detailed',
    check: (v) =>
      isLevel(v) ? undefined : `unrecognized debug level "${v}"; use "none", "basic", "normal" or "detailed"`,
  }),
});
export type DebugMetricsArguments = Infer<typeof debugMetricsSchema>;

/** The `debug_metrics` field of a component's schema (defaults when omitted). */
export function debugMetricsBlock(): BlockField<DebugMetricsArguments> {
  return block('debug_metrics', debugMetricsSchema, { omitted: 'defaults' });
}

/** The level as its union type (the schema has checked it). */
export function debugLevel(args: DebugMetricsArguments): DebugMetricsLevel {
  return isLevel(args.level) ? args.level : 'detailed';
}
