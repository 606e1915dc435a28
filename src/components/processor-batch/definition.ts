/**
 * `otelcol.processor.batch` (components.md §9): batches traces, logs and metrics, each signal
 * on its own (see `batcher.ts` for when a batch is handed on and how oversize ones are cut).
 *
 * Acknowledgement is upstream's: a request is accepted once buffered, so the sender gets
 * `ok` before the data reaches the next consumer; what the next consumer later refuses is
 * lost, logged once per batch (`Sender failed`) and counted in
 * `otelcol_processor_batch_dropped_items`. Malformed requests are refused at once
 * (permanent), so that one bad request cannot spoil a batch. While the next consumer falls
 * behind, `consume` waits before buffering more (until the caller gives up: retryable).
 *
 * `update` applies new sizes, timeout and outputs to what is pending (nothing is lost).
 * `shutdown` stops accepting, hands on everything pending and waits for the answers until
 * the deadline; then it aborts the sends still in flight. Request metadata (`metadata_keys`)
 * is not available yet: see `arguments.ts`.
 */

import type { Batch } from '../../otlp/batch.ts';
import { countItems } from '../../otlp/chunk.ts';
import { Signal } from '../../otlp/signal.ts';
import type { Component, ComponentContext, ComponentDefinition, ComponentExports } from '../../runtime/component.ts';
import type { ConsumeContext } from '../../transport/consumer.ts';
import { EXPORT_OK, permanent, retryable, type ExportResult } from '../../transport/export-result.ts';
import { consumerCapsule, placeholderConsumer, SwitchableConsumer } from '../config/consumer.ts';
import { outputConsumers } from '../config/output.ts';
import { batchArgumentsSchema, type BatchArguments } from './arguments.ts';
import { Batcher, type BatchSettings, type FlushTrigger } from './batcher.ts';

const NAME = 'otelcol.processor.batch';
const SIGNALS: readonly Signal[] = [Signal.TRACES, Signal.LOGS, Signal.METRICS];

/** Upstream's buckets for `otelcol_processor_batch_batch_send_size`. */
const SEND_SIZE_BUCKETS = [
  10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 20000, 30000, 50000,
  100000,
];

type State = 'built' | 'running' | 'stopping' | 'stopped';

class BatchProcessor implements Component<BatchArguments> {
  readonly exports: ComponentExports;
  private readonly context: ComponentContext;
  private args: BatchArguments;
  private outputs: ReturnType<typeof outputConsumers>;
  private readonly batchers: Readonly<Record<Signal, Batcher>>;
  private state: State = 'built';
  /** Aborts the sends still in flight when the shutdown deadline passes. */
  private readonly sends = new AbortController();

  constructor(context: ComponentContext, args: BatchArguments) {
    this.context = context;
    this.args = args;
    this.outputs = outputConsumers(args.output);
    const metrics = context.metrics;
    const sizeTrigger = metrics
      .counter({
        name: 'otelcol_processor_batch_batch_size_trigger_send',
        help: 'Number of times the batch was sent due to a size trigger',
        unit: '{times}',
      })
      .labels();
    const timeoutTrigger = metrics
      .counter({
        name: 'otelcol_processor_batch_timeout_trigger_send',
        help: 'Number of times the batch was sent due to a timeout trigger',
        unit: '{times}',
      })
      .labels();
    const sendSize = metrics
      .histogram({
        name: 'otelcol_processor_batch_batch_send_size',
        help: 'Number of units in the batch',
        unit: '{units}',
        buckets: SEND_SIZE_BUCKETS,
      })
      .labels();
    const dropped = metrics
      .counter({
        name: 'otelcol_processor_batch_dropped_items',
        help: 'Number of items the next consumer refused after the processor had accepted them (they are lost)',
        unit: '{items}',
      })
      .labels();
    const onFlush = (trigger: FlushTrigger, items: number): void => {
      if (trigger === 'size') sizeTrigger.inc();
      else if (trigger === 'timeout') timeoutTrigger.inc();
      sendSize.observe(items);
    };
    const settings = (): BatchSettings => ({
      timeoutMs: this.args.timeoutMs,
      sendBatchSize: this.args.sendBatchSize,
      sendBatchMaxSize: this.args.sendBatchMaxSize,
    });
    const batcher = (signal: Signal): Batcher =>
      new Batcher({
        signal,
        clock: context.clock,
        settings,
        send: (batch) => this.outputs[signal].consume(batch, { signal: this.sends.signal }),
        onFlush,
        onFailure: (batch, result) => {
          dropped.inc(batch.items);
          context.logger.warn('Sender failed', {
            signal: batch.signal,
            items: batch.items,
            kind: result.kind,
            err: result.error,
          });
        },
      });
    this.batchers = { traces: batcher('traces'), logs: batcher('logs'), metrics: batcher('metrics') };
    const input = new SwitchableConsumer(context.id, SIGNALS, {
      consume: (batch, consumeContext) => this.consume(batch, consumeContext),
    });
    this.exports = { input: consumerCapsule(input) };
  }

  private async consume(batch: Batch, context: ConsumeContext): Promise<ExportResult> {
    if (this.state !== 'running') return this.notRunning();
    const count = countItems(batch.signal, batch.bytes);
    if (!count.ok)
      return permanent(
        new Error(`${this.context.id} refused a request: ${count.error.message}`, { cause: count.error }),
      );
    if (count.items === 0) return EXPORT_OK;
    const batcher = this.batchers[batch.signal];
    if (!batcher.hasSpace && !(await batcher.waitForSpace(context.signal))) {
      return retryable(
        new Error(
          `${this.context.id}: the next consumer is not keeping up with ${batch.signal}; the caller gave up waiting`,
        ),
      );
    }
    // The state may have changed while waiting.
    if (!this.isRunning()) return this.notRunning();
    batcher.add(batch.bytes, count.items);
    return EXPORT_OK;
  }

  private isRunning(): boolean {
    return this.state === 'running';
  }

  private notRunning(): ExportResult {
    return retryable(new Error(`${this.context.id} is ${this.state === 'built' ? 'not started' : 'shutting down'}`));
  }

  start(): Promise<void> {
    if (this.state === 'built') this.state = 'running';
    return Promise.resolve();
  }

  update(args: BatchArguments): Promise<void> {
    this.args = args;
    this.outputs = outputConsumers(args.output);
    for (const signal of SIGNALS) this.batchers[signal].reconfigure();
    return Promise.resolve();
  }

  async shutdown(deadlineMs: number): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    const batchers = SIGNALS.map((s) => this.batchers[s]);
    for (const b of batchers) b.flushAll('shutdown');
    const deadline = new AbortController();
    const idle = Promise.all(batchers.map((b) => b.idle())).then(() => true);
    const timedOut = this.context.clock.sleep(Math.max(0, deadlineMs - this.context.clock.now()), deadline.signal).then(
      () => false,
      () => true,
    );
    const finished = await Promise.race([idle, timedOut]);
    deadline.abort();
    if (!finished) {
      this.context.logger.warn('shutdown deadline passed with batches still being sent; aborting them');
      this.sends.abort(new Error(`${this.context.id} is shutting down`));
    }
    this.state = 'stopped';
  }
}

/** `otelcol.processor.batch`. */
export const batchProcessorDefinition: ComponentDefinition<BatchArguments> = {
  name: NAME,
  stability: 'generally-available',
  arguments: batchArgumentsSchema,
  placeholderExports: { input: placeholderConsumer(NAME, SIGNALS) },
  build: (context, args) => Promise.resolve(new BatchProcessor(context, args)),
};
