/**
 * Arguments of `otelcol.exporter.otlphttp` (components.md §3, the HTTP client of §0.5), with
 * Alloy's defaults. `sending_queue` and `retry_on_failure` apply their defaults when omitted.
 */

import { attr, block, body, bool, bytes, duration, int, map, string, type Infer } from '../../syntax/schema.ts';
import { handlerType } from '../config/auth.ts';
import { debugMetricsBlock } from '../config/debug-metrics.ts';
import { compressionAttr } from '../config/grpc-client.ts';
import { queueBlock, retryBlock } from '../config/queue-retry.ts';
import { clientTlsBlock } from '../config/tls.ts';

function urlCheck(name: string): (v: string) => string | undefined {
  return (v) => {
    if (v === '') return undefined;
    try {
      const url = new URL(v);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        return `${name} "${v}" must be an http:// or https:// URL`;
      }
      return undefined;
    } catch {
      return `${name} "${v}" is not a URL (for example "https://collector:4318")`;
    }
  };
}

const compressionParamsSchema = body({
  level: attr('level', int(), { required: true }),
});

const cookiesSchema = body({
  enabled: attr('enabled', bool(), { default: false }),
});

const httpClientSchema = body({
  endpoint: attr('endpoint', string(), { required: true, check: urlCheck('endpoint') }),
  proxyUrl: attr('proxy_url', string(), { default: '', check: urlCheck('proxy_url') }),
  compression: compressionAttr(),
  readBufferSizeBytes: attr('read_buffer_size', bytes(), { default: 0 }),
  writeBufferSizeBytes: attr('write_buffer_size', bytes(), { default: 512 * 1024 }),
  timeoutMs: attr('timeout', duration(), {
    default: 30_000,
    check: (v) => (v < 0 ? 'timeout must not be negative' : undefined),
  }),
  headers: attr('headers', map(string()), { default: new Map<string, string>() }),
  maxIdleConns: attr('max_idle_conns', int(), { default: 100 }),
  maxIdleConnsPerHost: attr('max_idle_conns_per_host', int(), { default: 0 }),
  maxConnsPerHost: attr('max_conns_per_host', int(), { default: 0 }),
  idleConnTimeoutMs: attr('idle_conn_timeout', duration(), { default: 90_000 }),
  disableKeepAlives: attr('disable_keep_alives', bool(), { default: false }),
  http2ReadIdleTimeoutMs: attr('http2_read_idle_timeout', duration(), { default: 0 }),
  http2PingTimeoutMs: attr('http2_ping_timeout', duration(), { default: 15_000 }),
  forceAttemptHttp2: attr('force_attempt_http2', bool(), { default: true }),
  auth: attr('auth', handlerType()),
  tls: clientTlsBlock(),
  compressionParams: block('compression_params', compressionParamsSchema),
  cookies: block('cookies', cookiesSchema),
});
export type HttpClientArguments = Infer<typeof httpClientSchema>;

export const exporterOtlpHttpSchema = body({
  tracesEndpoint: attr('traces_endpoint', string(), { default: '', check: urlCheck('traces_endpoint') }),
  metricsEndpoint: attr('metrics_endpoint', string(), { default: '', check: urlCheck('metrics_endpoint') }),
  logsEndpoint: attr('logs_endpoint', string(), { default: '', check: urlCheck('logs_endpoint') }),
  encoding: attr('encoding', string(), {
    default: 'proto',
    check: (v) => (v === 'proto' || v === 'json' ? undefined : `invalid encoding type ${v}; use "proto" or "json"`),
  }),
  client: block('client', httpClientSchema, { required: true }),
  sendingQueue: queueBlock('sending_queue'),
  retryOnFailure: retryBlock('retry_on_failure'),
  debugMetrics: debugMetricsBlock(),
});
export type ExporterOtlpHttpArguments = Infer<typeof exporterOtlpHttpSchema>;
