/**
 * A metric scope that calls back whenever a counter moves, so that a test can wait for a
 * metric to reach a value (an exporter counts a send after it has read the backend's answer,
 * some time after the backend has seen the items) instead of polling or sleeping.
 *
 * ```ts
 * const registry = new MetricsRegistry();
 * const host = new Host({ registry: builtinRegistry(), metrics: notifyingScope(registry, () => watch.notify()) });
 * await watch.until(() => sample(registry.expose(), 'otelcol_exporter_sent_spans_total') === 36);
 * ```
 */

import type {
  CallbackGaugeOptions,
  Counter,
  CounterChild,
  Gauge,
  Histogram,
  HistogramOptions,
  MetricOptions,
  MetricScope,
  Registration,
  ScopeOptions,
} from '../../src/telemetry/metrics.ts';

/** `inner`, with `onChange` called after every counter increment (nested scopes included). */
export function notifyingScope(inner: MetricScope, onChange: () => void): MetricScope {
  return {
    counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
      const family = inner.counter(options);
      return {
        name: family.name,
        labels: (...values) => notifyingChild(family.labels(...values), onChange),
        remove: (...values) => {
          family.remove(...values);
        },
      };
    },
    gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L> {
      return inner.gauge(options);
    },
    histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
      return inner.histogram(options);
    },
    callbackGauge<L extends string = never>(options: CallbackGaugeOptions<L>): Registration {
      return inner.callbackGauge(options);
    },
    scope(options: ScopeOptions): MetricScope {
      return notifyingScope(inner.scope(options), onChange);
    },
    unregister(): void {
      inner.unregister();
    },
  };
}

function notifyingChild(child: CounterChild, onChange: () => void): CounterChild {
  return {
    inc(amount?: number): void {
      child.inc(amount);
      onChange();
    },
    get value(): number {
      return child.value;
    },
  };
}
