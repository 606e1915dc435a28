/**
 * The gRPC `client` block of `otelcol.exporter.otlp` and of `otelcol.exporter.loadbalancing`'s
 * `protocol > otlp` (components.md §0.4; the load balancer's has no `endpoint`: the resolver
 * gives it), with its `keepalive` block.
 */

import {
  attr,
  block,
  body,
  bool,
  bytes,
  duration,
  map,
  string,
  type AttrField,
  type BlockField,
  type Infer,
} from '../../syntax/schema.ts';
import { handlerType, type AuthHandler } from './auth.ts';
import { clientTlsBlock } from './tls.ts';

/** The values `compression` takes; `none` and `""` both turn it off. */
export const CLIENT_COMPRESSIONS: readonly string[] = ['gzip', 'zlib', 'deflate', 'snappy', 'zstd', 'none', ''];

/** The `compression` attribute of the gRPC and HTTP client blocks (default `gzip`). */
export function compressionAttr(): AttrField<string> {
  return attr('compression', string(), {
    default: 'gzip',
    check: (v) =>
      CLIENT_COMPRESSIONS.includes(v)
        ? undefined
        : `unrecognized compression type "${v}"; use "gzip", "zlib", "deflate", "snappy", "zstd" or "none"`,
  });
}

export const keepaliveSchema = body({
  pingWaitMs: attr('ping_wait', duration()),
  pingResponseTimeoutMs: attr('ping_response_timeout', duration()),
  pingWithoutStream: attr('ping_without_stream', bool(), { default: false }),
});
export type KeepaliveArguments = Infer<typeof keepaliveSchema>;

const clientFields = {
  compression: compressionAttr(),
  readBufferSizeBytes: attr('read_buffer_size', bytes(), { default: 0 }),
  writeBufferSizeBytes: attr('write_buffer_size', bytes(), { default: 512 * 1024 }),
  waitForReady: attr('wait_for_ready', bool(), { default: false }),
  headers: attr('headers', map(string()), { default: new Map<string, string>() }),
  balancerName: attr('balancer_name', string(), {
    default: 'round_robin',
    check: (v) =>
      v === 'round_robin' || v === 'pick_first'
        ? undefined
        : `unsupported balancer_name "${v}"; use "round_robin" or "pick_first"`,
  }),
  authority: attr('authority', string(), { default: '' }),
  auth: attr('auth', handlerType()),
  tls: clientTlsBlock(),
  keepalive: block('keepalive', keepaliveSchema),
};

/** `protocol > otlp > client` of the load balancer: no endpoint. */
export const lbClientSchema = body(clientFields, { validate: (v) => authNeedsTls(v) });
export type LbClientArguments = Infer<typeof lbClientSchema>;

/** `client` of `otelcol.exporter.otlp`: the same plus the required `endpoint`. */
export const otlpClientSchema = body(
  { endpoint: attr('endpoint', string(), { required: true }), ...clientFields },
  { validate: (v) => authNeedsTls(v) },
);
export type OtlpClientArguments = Infer<typeof otlpClientSchema>;

function authNeedsTls(v: {
  readonly auth: AuthHandler | undefined;
  readonly tls: { readonly insecure: boolean };
}): { field: string; message: string }[] {
  if (v.auth?.client?.requiresTls === true && v.tls.insecure) {
    return [
      {
        field: 'auth',
        message: `${v.auth.componentId} sends credentials that gRPC only allows over TLS, but tls { insecure = true } turns TLS off: every request would fail; enable TLS or use otelcol.auth.headers`,
      },
    ];
  }
  return [];
}

/** The load balancer's required `client` block. */
export function lbClientBlock(): BlockField<LbClientArguments> {
  return block('client', lbClientSchema, { required: true });
}
