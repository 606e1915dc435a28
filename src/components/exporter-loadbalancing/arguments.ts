/**
 * Arguments of `otelcol.exporter.loadbalancing` (the seed; components.md §11), with Alloy's
 * defaults, plus one of ours: `hash_ring` picks the ring (`otel-lb-v1`, the default, or the
 * Collector's `upstream-v2` / `upstream-v1`).
 *
 * The resolver block decodes to a discriminated union. When both `dns` and `static` are
 * written, `dns` wins with a warning, as the seed says; any other pair is an error (the
 * Collector refuses them: `only one resolver should be specified`).
 */

import { RoutingKey } from '../../otlp/splitter.ts';
import {
  attr,
  block,
  body,
  bool,
  duration,
  int,
  list,
  refine,
  string,
  type Infer,
  type Issue,
} from '../../syntax/schema.ts';
import { debugMetricsBlock } from '../config/debug-metrics.ts';
import { lbClientBlock } from '../config/grpc-client.ts';
import { queueBlock, queueSchema, retryBlock, retrySchema } from '../config/queue-retry.ts';
import { RING_NAMES, isRingName, type RingName } from './hash-ring/hash-ring.ts';

const positive = (what: string) => (v: number) => (v <= 0 ? `${what} must be greater than zero` : undefined);

const staticSchema = body({
  hostnames: attr('hostnames', list(string()), {
    required: true,
    check: (v) =>
      v.length === 0 ? 'hostnames is empty: list at least one backend, e.g. ["backend-1:4317"]' : undefined,
  }),
});

const dnsSchema = body({
  hostname: attr('hostname', string(), {
    required: true,
    check: (v) => (v === '' ? 'hostname must not be empty' : undefined),
  }),
  port: attr('port', string(), {
    default: '4317',
    check: (v) =>
      /^\d{1,5}$/.test(v) && Number(v) > 0 && Number(v) <= 65_535
        ? undefined
        : `port "${v}" is not a TCP port (1-65535)`,
  }),
  intervalMs: attr('interval', duration(), { default: 5_000, check: positive('interval') }),
  timeoutMs: attr('timeout', duration(), { default: 1_000, check: positive('timeout') }),
  server: attr('server', string()),
});

const kubernetesSchema = body({
  service: attr('service', string(), {
    required: true,
    check: (v) => (v === '' ? 'service must not be empty: write "name" or "name.namespace"' : undefined),
  }),
  ports: attr('ports', list(int()), {
    default: [4317],
    check: (v) => {
      if (v.length === 0) return 'ports is empty: list at least one port, e.g. [4317]';
      const bad = v.find((p) => p < 1 || p > 65_535);
      return bad === undefined ? undefined : `port ${bad} is not a TCP port (1-65535)`;
    },
  }),
  timeoutMs: attr('timeout', duration(), { default: 1_000, check: positive('timeout') }),
  returnHostnames: attr('return_hostnames', bool(), { default: false }),
});

export const HEALTH_STATUSES: readonly string[] = ['HEALTHY', 'UNHEALTHY', 'ALL', 'HEALTHY_OR_ELSE_ALL'];

const awsCloudMapSchema = body({
  namespace: attr('namespace', string(), { required: true }),
  serviceName: attr('service_name', string(), { required: true }),
  intervalMs: attr('interval', duration(), { default: 30_000, check: positive('interval') }),
  timeoutMs: attr('timeout', duration(), { default: 5_000, check: positive('timeout') }),
  healthStatus: attr('health_status', string(), {
    default: 'HEALTHY',
    check: (v) =>
      HEALTH_STATUSES.includes(v)
        ? undefined
        : `invalid health status "${v}"; use "HEALTHY", "UNHEALTHY", "ALL" or "HEALTHY_OR_ELSE_ALL"`,
  }),
  port: attr('port', int(), {
    check: (v) => (v < 1 || v > 65_535 ? `port ${v} is not a TCP port (1-65535)` : undefined),
  }),
  ownerAccount: attr('owner_account', string(), { default: '' }),
});

export type StaticResolverArguments = Infer<typeof staticSchema>;
export type DnsResolverArguments = Infer<typeof dnsSchema>;
export type KubernetesResolverArguments = Infer<typeof kubernetesSchema>;
export type AwsCloudMapResolverArguments = Infer<typeof awsCloudMapSchema>;

/** The resolver, exactly one. */
export type ResolverArguments =
  | ({ readonly kind: 'static' } & StaticResolverArguments)
  | ({ readonly kind: 'dns' } & DnsResolverArguments)
  | ({ readonly kind: 'kubernetes' } & KubernetesResolverArguments)
  | ({ readonly kind: 'aws_cloud_map' } & AwsCloudMapResolverArguments);

const resolverSchema = refine(
  body({
    static: block('static', staticSchema),
    dns: block('dns', dnsSchema),
    kubernetes: block('kubernetes', kubernetesSchema),
    awsCloudMap: block('aws_cloud_map', awsCloudMapSchema),
  }),
  (v, report): ResolverArguments | undefined => {
    const given = [
      v.static === undefined ? undefined : 'static',
      v.dns === undefined ? undefined : 'dns',
      v.kubernetes === undefined ? undefined : 'kubernetes',
      v.awsCloudMap === undefined ? undefined : 'aws_cloud_map',
    ].filter((k): k is string => k !== undefined);
    if (given.length === 0) {
      report({
        message:
          'no resolvers specified for the exporter: add static, dns, kubernetes or aws_cloud_map inside resolver',
      });
      return undefined;
    }
    if (v.dns !== undefined && v.static !== undefined && given.length === 2) {
      report({
        severity: 'warning',
        code: 'decode/resolver-precedence',
        field: 'static',
        message: 'both dns and static resolvers are set: dns takes precedence and static is ignored; remove one',
      });
      return { kind: 'dns', ...v.dns };
    }
    if (given.length > 1) {
      report({ message: `only one resolver should be specified, got ${given.join(', ')}; keep one` });
      return undefined;
    }
    if (v.static !== undefined) return { kind: 'static', ...v.static };
    if (v.dns !== undefined) return { kind: 'dns', ...v.dns };
    if (v.kubernetes !== undefined) return { kind: 'kubernetes', ...v.kubernetes };
    if (v.awsCloudMap !== undefined) return { kind: 'aws_cloud_map', ...v.awsCloudMap };
    return undefined;
  },
);

const otlpSchema = body({
  timeoutMs: attr('timeout', duration(), { default: 5_000, check: positive('timeout') }),
  client: lbClientBlock(),
  queue: queueBlock('queue'),
  retry: retryBlock('retry'),
});
export type LbOtlpArguments = Infer<typeof otlpSchema>;

const protocolSchema = body({
  otlp: block('otlp', otlpSchema, { required: true }),
});

export const ROUTING_KEYS: readonly string[] = [RoutingKey.TRACE_ID, RoutingKey.SERVICE];
const METRIC_ROUTING_KEYS: readonly string[] = ['resource', 'metric', 'streamID', 'attributes'];

function isRoutingKey(v: string): v is RoutingKey {
  return ROUTING_KEYS.includes(v);
}

function lbIssues(v: {
  readonly sendingQueue: unknown;
  readonly retryOnFailure: unknown;
  readonly timeoutMs: number;
}): Issue[] {
  const issues: Issue[] = [];
  if (v.timeoutMs > 0) {
    issues.push({
      severity: 'warning',
      code: 'decode/exporter-level-timeout',
      field: 'timeoutMs',
      message:
        'timeout: otel-lb has no exporter-level send to time out (each backend part has protocol > otlp > timeout); it is ignored',
    });
  }
  if (v.sendingQueue !== undefined) {
    issues.push({
      severity: 'warning',
      code: 'decode/exporter-level-queue',
      field: 'sendingQueue',
      message:
        'sending_queue: otel-lb keeps one queue per backend (protocol > otlp > queue) and re-routes what a departed backend held, so the exporter-level queue adds nothing; its settings are ignored',
    });
  }
  if (v.retryOnFailure !== undefined) {
    issues.push({
      severity: 'warning',
      code: 'decode/exporter-level-retry',
      field: 'retryOnFailure',
      message:
        'retry_on_failure: otel-lb retries each backend part on its own (protocol > otlp > retry), so the exporter-level retry adds nothing; its settings are ignored',
    });
  }
  return issues;
}

export const loadBalancingSchema = body(
  {
    routingKey: attr('routing_key', string(), {
      default: RoutingKey.TRACE_ID,
      check: (v) =>
        isRoutingKey(v)
          ? undefined
          : METRIC_ROUTING_KEYS.includes(v)
            ? `routing key "${v}" routes metrics, which otel-lb does not load-balance yet; use "traceID" or "service"`
            : `invalid routing key "${v}"; use "traceID" or "service"`,
    }),
    hashRing: attr('hash_ring', string(), {
      default: RING_NAMES[0] ?? 'otel-lb-v1',
      check: (v) =>
        isRingName(v) ? undefined : `unknown hash_ring "${v}"; use ${RING_NAMES.map((r) => `"${r}"`).join(', ')}`,
    }),
    timeoutMs: attr('timeout', duration(), { default: 0 }),
    resolver: block('resolver', resolverSchema, { required: true }),
    protocol: block('protocol', protocolSchema, { required: true }),
    sendingQueue: block('sending_queue', queueSchema),
    retryOnFailure: block('retry_on_failure', retrySchema),
    debugMetrics: debugMetricsBlock(),
  },
  { validate: lbIssues },
);
export type LoadBalancingArguments = Infer<typeof loadBalancingSchema>;

/** The routing key as its union type (the schema has checked it). */
export function routingKeyOf(args: LoadBalancingArguments): RoutingKey {
  return isRoutingKey(args.routingKey) ? args.routingKey : RoutingKey.TRACE_ID;
}

/** The ring as its union type (the schema has checked it). */
export function ringOf(args: LoadBalancingArguments): RingName {
  return isRingName(args.hashRing) ? args.hashRing : 'otel-lb-v1';
}
