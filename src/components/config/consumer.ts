/**
 * `otelcol.Consumer`: what exporters and processors export as `input` and what `output`
 * blocks list (alloy-syntax.md §5.2). In the language it is a capsule; inside it is an
 * {@link OtelConsumer}: a {@link BatchConsumer} that also says which signals it takes, so
 * that an `output` block can warn at load time about a signal its consumer would refuse at
 * send time (Alloy only fails at send time, with `telemetry type is not supported`).
 */

import type { Batch } from '../../otlp/batch.ts';
import type { Signal } from '../../otlp/signal.ts';
import { capsuleValue, type CapsuleValue } from '../../syntax/value.ts';
import { capsule, type ValueType } from '../../syntax/schema.ts';
import type { BatchConsumer, ConsumeContext } from '../../transport/consumer.ts';
import { permanent, type ExportResult } from '../../transport/export-result.ts';

/** The capsule type name, as Alloy spells it in messages. */
export const CONSUMER_TYPE = 'otelcol.Consumer';

/** A component's `input`. `consume` never rejects; it is safe to call concurrently. */
export interface OtelConsumer extends BatchConsumer {
  /** The component ID, for messages (`otelcol.exporter.otlp.default`). */
  readonly componentId: string;
  /** Signals `consume` accepts; others are refused permanently. */
  readonly signals: ReadonlySet<Signal>;
}

function isOtelConsumer(x: unknown): x is OtelConsumer {
  return (
    typeof x === 'object' &&
    x !== null &&
    'consume' in x &&
    typeof x.consume === 'function' &&
    'signals' in x &&
    x.signals instanceof Set
  );
}

/** The `otelcol.Consumer` attribute type. */
export function consumerType(): ValueType<OtelConsumer> {
  return capsule(CONSUMER_TYPE, isOtelConsumer);
}

/** Wraps a consumer for a component's exports. */
export function consumerCapsule(consumer: OtelConsumer): CapsuleValue {
  return capsuleValue(CONSUMER_TYPE, consumer);
}

/** The error a consumer gives for a signal it does not take (Alloy's wording first). */
export function unsupportedSignal(componentId: string, signal: Signal): ExportResult {
  return permanent(new Error(`telemetry type is not supported: ${componentId} does not accept ${signal}`));
}

/**
 * A consumer of `signals` that hands each batch to whatever {@link SwitchableConsumer.target}
 * is at the time: components export one of these, fixed at build time, and point it at new
 * internals on `update`.
 */
export class SwitchableConsumer implements OtelConsumer {
  readonly componentId: string;
  readonly signals: ReadonlySet<Signal>;
  target: BatchConsumer;

  constructor(componentId: string, signals: readonly Signal[], target: BatchConsumer) {
    this.componentId = componentId;
    this.signals = new Set(signals);
    this.target = target;
  }

  consume(batch: Batch, context: ConsumeContext): Promise<ExportResult> {
    if (!this.signals.has(batch.signal)) return Promise.resolve(unsupportedSignal(this.componentId, batch.signal));
    return this.target.consume(batch, context);
  }
}

/** A stand-in consumer for placeholder exports: refuses everything. */
export function placeholderConsumer(componentName: string, signals: readonly Signal[]): CapsuleValue {
  const consumer: OtelConsumer = {
    componentId: componentName,
    signals: new Set(signals),
    consume: () => Promise.resolve(permanent(new Error(`${componentName} is not running`))),
  };
  return consumerCapsule(consumer);
}
