/**
 * `otelcol.exporter.otlphttp`: sends every batch to one OTLP/HTTP backend (protobuf or JSON,
 * `POST <endpoint>/v1/<signal>` or the per-signal URLs) through the same queue and retry as
 * `otelcol.exporter.otlp`. Accepts traces, logs and metrics.
 */

import { Signal } from '../../otlp/signal.ts';
import type { ComponentDefinition } from '../../runtime/component.ts';
import { OtlpHttpClient } from '../../transport/http-client.ts';
import { placeholderConsumer } from '../config/consumer.ts';
import { clientAuth, compressionOf, headerRecord, loadTls } from '../config/transport-options.ts';
import { SingleBackendExporter, type ClientFactory } from '../exporter-otlp/definition.ts';
import { exporterOtlpHttpSchema, type ExporterOtlpHttpArguments } from './arguments.ts';

const NAME = 'otelcol.exporter.otlphttp';
const SIGNALS: readonly Signal[] = [Signal.TRACES, Signal.LOGS, Signal.METRICS];

const makeHttpClient: ClientFactory<ExporterOtlpHttpArguments> = (args, context) => {
  const c = args.client;
  const tls = loadTls(c.tls, context.clock, context.logger);
  const auth = clientAuth(c.auth);
  const signalEndpoints: Partial<Record<Signal, string>> = {};
  if (args.tracesEndpoint !== '') signalEndpoints.traces = args.tracesEndpoint;
  if (args.logsEndpoint !== '') signalEndpoints.logs = args.logsEndpoint;
  if (args.metricsEndpoint !== '') signalEndpoints.metrics = args.metricsEndpoint;
  const client = new OtlpHttpClient({
    endpoint: c.endpoint,
    signalEndpoints,
    encoding: args.encoding === 'json' ? 'json' : 'proto',
    compression: compressionOf(c.compression, 'http'),
    headers: headerRecord(c.headers),
    timeoutMs: c.timeoutMs,
    maxConnsPerHost: c.maxConnsPerHost,
    maxIdleConnsPerHost: c.maxIdleConnsPerHost,
    idleConnTimeoutMs: c.idleConnTimeoutMs,
    disableKeepAlives: c.disableKeepAlives,
    ...(c.proxyUrl === '' ? {} : { proxyUrl: c.proxyUrl }),
    ...(auth === undefined ? {} : { auth }),
    ...(tls === undefined ? {} : { tls }),
  });
  return { client, endpoint: c.endpoint, tls };
};

/** `otelcol.exporter.otlphttp`. */
export const exporterOtlpHttpDefinition: ComponentDefinition<ExporterOtlpHttpArguments> = {
  name: NAME,
  stability: 'generally-available',
  arguments: exporterOtlpHttpSchema,
  placeholderExports: { input: placeholderConsumer(NAME, SIGNALS) },
  build: (context, args) => Promise.resolve(new SingleBackendExporter(context, args, SIGNALS, makeHttpClient)),
};
