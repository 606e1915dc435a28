/**
 * The `output` block of receivers and processors (components.md §0.1): a list of consumers
 * per signal. A signal with no consumer is dropped (accepted and discarded), as in Alloy.
 */

import { Signal } from '../../otlp/signal.ts';
import { attr, body, list, type Infer, type Issue } from '../../syntax/schema.ts';
import type { BatchConsumer } from '../../transport/consumer.ts';
import { fanOut } from '../fanout.ts';
import { consumerType, type OtelConsumer } from './consumer.ts';

function signalCheck(signal: Signal): (consumers: readonly OtelConsumer[]) => Issue | undefined {
  return (consumers) => {
    const refusing = consumers.filter((c) => !c.signals.has(signal)).map((c) => c.componentId);
    if (refusing.length === 0) return undefined;
    return {
      severity: 'warning',
      code: 'decode/unsupported-signal',
      message: `${refusing.join(', ')} does not accept ${signal}: every batch of ${signal} sent there will fail with "telemetry type is not supported"; remove it from ${signal}`,
    };
  };
}

/** `output { metrics = […] logs = […] traces = […] }`. */
export const outputSchema = body({
  metrics: attr('metrics', list(consumerType()), { default: [], check: signalCheck(Signal.METRICS) }),
  logs: attr('logs', list(consumerType()), { default: [], check: signalCheck(Signal.LOGS) }),
  traces: attr('traces', list(consumerType()), { default: [], check: signalCheck(Signal.TRACES) }),
});
export type OutputArguments = Infer<typeof outputSchema>;

/** One fan-out consumer per signal of an `output` block. */
export function outputConsumers(output: OutputArguments): Readonly<Record<Signal, BatchConsumer>> {
  return {
    traces: fanOut(output.traces),
    logs: fanOut(output.logs),
    metrics: fanOut(output.metrics),
  };
}
