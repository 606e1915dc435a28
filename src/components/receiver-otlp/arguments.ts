/**
 * Arguments of `otelcol.receiver.otlp` (components.md §1), with Alloy's defaults: a `grpc`
 * block starts an OTLP/gRPC server (default `0.0.0.0:4317`), an `http` block an OTLP/HTTP
 * server (default `0.0.0.0:4318`); an omitted block starts nothing.
 */

import {
  attr,
  block,
  body,
  bool,
  bytes,
  duration,
  int,
  list,
  string,
  type Infer,
  type Issue,
} from '../../syntax/schema.ts';
import { handlerType } from '../config/auth.ts';
import { debugMetricsBlock } from '../config/debug-metrics.ts';
import { outputSchema } from '../config/output.ts';
import { serverTlsBlock } from '../config/tls.ts';

/** `host:port` with a port of 0–65535; IPv6 hosts in brackets. */
export function parseListenAddress(endpoint: string): { readonly host: string; readonly port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.%\w-]+)\]|([^\s:[\]/]*)):(\d{1,5})$/.exec(endpoint);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port > 65_535) return undefined;
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function endpointCheck(v: string): string | undefined {
  return parseListenAddress(v) === undefined
    ? `endpoint "${v}" is not host:port (for example "0.0.0.0:4317"; IPv6 as "[::]:4317")`
    : undefined;
}

function urlPathCheck(name: string): (v: string) => string | undefined {
  return (v) => {
    if (v === '') return `${name} cannot be empty`;
    if (!v.startsWith('/')) return `invalid ${name}: "${v}" must start with "/"`;
    return undefined;
  };
}

const serverParametersSchema = body({
  maxConnectionIdleMs: attr('max_connection_idle', duration()),
  maxConnectionAgeMs: attr('max_connection_age', duration()),
  maxConnectionAgeGraceMs: attr('max_connection_age_grace', duration()),
  timeMs: attr('time', duration()),
  timeoutMs: attr('timeout', duration()),
});

const enforcementPolicySchema = body({
  minTimeMs: attr('min_time', duration()),
  permitWithoutStream: attr('permit_without_stream', bool(), { default: false }),
});

const keepaliveSchema = body({
  serverParameters: block('server_parameters', serverParametersSchema),
  enforcementPolicy: block('enforcement_policy', enforcementPolicySchema),
});

const grpcSchema = body({
  endpoint: attr('endpoint', string(), { default: '0.0.0.0:4317', check: endpointCheck }),
  transport: attr('transport', string(), {
    default: 'tcp',
    check: (v) => (v === 'tcp' ? undefined : `transport "${v}" is not supported by otel-lb; use "tcp"`),
  }),
  maxRecvMsgSizeBytes: attr('max_recv_msg_size', bytes()),
  maxConcurrentStreams: attr('max_concurrent_streams', int(), { default: 0 }),
  readBufferSizeBytes: attr('read_buffer_size', bytes(), { default: 512 * 1024 }),
  writeBufferSizeBytes: attr('write_buffer_size', bytes(), { default: 0 }),
  includeMetadata: attr('include_metadata', bool(), { default: false }),
  auth: attr('auth', handlerType()),
  tls: serverTlsBlock(),
  keepalive: block('keepalive', keepaliveSchema),
});
export type GrpcArguments = Infer<typeof grpcSchema>;

const corsSchema = body({
  allowedOrigins: attr('allowed_origins', list(string()), { default: [] }),
  allowedHeaders: attr('allowed_headers', list(string()), { default: [] }),
  exposedHeaders: attr('exposed_headers', list(string()), { default: [] }),
  maxAge: attr('max_age', int(), { default: 0 }),
});

const httpSchema = body({
  endpoint: attr('endpoint', string(), { default: '0.0.0.0:4318', check: endpointCheck }),
  tracesUrlPath: attr('traces_url_path', string(), { default: '/v1/traces', check: urlPathCheck('traces_url_path') }),
  metricsUrlPath: attr('metrics_url_path', string(), {
    default: '/v1/metrics',
    check: urlPathCheck('metrics_url_path'),
  }),
  logsUrlPath: attr('logs_url_path', string(), { default: '/v1/logs', check: urlPathCheck('logs_url_path') }),
  maxRequestBodySizeBytes: attr('max_request_body_size', bytes()),
  includeMetadata: attr('include_metadata', bool(), { default: false }),
  compressionAlgorithms: attr('compression_algorithms', list(string()), {
    default: ['', 'gzip', 'zstd', 'zlib', 'snappy', 'deflate', 'lz4'],
  }),
  keepAlivesEnabled: attr('keep_alives_enabled', bool(), { default: true }),
  idleTimeoutMs: attr('idle_timeout', duration(), { default: 60_000 }),
  readHeaderTimeoutMs: attr('read_header_timeout', duration(), { default: 60_000 }),
  writeTimeoutMs: attr('write_timeout', duration(), { default: 30_000 }),
  readTimeoutMs: attr('read_timeout', duration(), { default: 0 }),
  auth: attr('auth', handlerType()),
  tls: serverTlsBlock(),
  cors: block('cors', corsSchema),
});
export type HttpArguments = Infer<typeof httpSchema>;

function receiverIssues(v: {
  readonly grpc: GrpcArguments | undefined;
  readonly http: HttpArguments | undefined;
}): Issue[] {
  const issues: Issue[] = [];
  if (v.grpc === undefined && v.http === undefined) {
    issues.push({
      severity: 'warning',
      code: 'decode/no-protocol',
      message: 'neither a grpc nor an http block is set, so this receiver listens nowhere; add grpc {} or http {}',
    });
  }
  if (v.grpc !== undefined && v.http !== undefined) {
    const g = parseListenAddress(v.grpc.endpoint);
    const h = parseListenAddress(v.http.endpoint);
    if (g !== undefined && h !== undefined && g.port !== 0 && g.port === h.port && g.host === h.host) {
      issues.push({
        field: 'http',
        message: `grpc and http both listen on ${v.http.endpoint}; give them different ports`,
      });
    }
  }
  for (const [key, server] of [
    ['grpc', v.grpc],
    ['http', v.http],
  ] as const) {
    const handler = server?.auth;
    if (handler !== undefined && handler.server === undefined) {
      issues.push({
        field: key,
        message: `${key}: auth: ${handler.componentId} cannot check incoming requests (it has no server side); use otelcol.auth.basic or otelcol.auth.bearer`,
      });
    }
  }
  return issues;
}

export const receiverOtlpSchema = body(
  {
    grpc: block('grpc', grpcSchema),
    http: block('http', httpSchema),
    output: block('output', outputSchema, { required: true }),
    debugMetrics: debugMetricsBlock(),
  },
  { validate: receiverIssues },
);
export type ReceiverOtlpArguments = Infer<typeof receiverOtlpSchema>;
