/**
 * Decoded client configuration → the transport's options: TLS settings, the auth hook,
 * keepalive. One place, shared by `otelcol.exporter.loadbalancing`, `otelcol.exporter.otlp`
 * and `otelcol.exporter.otlphttp`.
 */

import type { Clock } from '../../internal/clock.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { GRPC_MIN_PING_WAIT_MS, GrpcClient, type GrpcKeepaliveOptions } from '../../transport/grpc-client.ts';
import { loadClientTls, type ClientTls } from '../../transport/tls.ts';
import type { ClientAuth } from '../../transport/client-auth.ts';
import type { BalancerName } from '../../transport/grpc-channel.ts';
import type { Compression } from '../../transport/compression.ts';
import type { AuthHandler } from './auth.ts';
import type { KeepaliveArguments, LbClientArguments } from './grpc-client.ts';
import { clientTlsSettings, type ClientTlsArguments } from './tls.ts';

/** `compression` as the transport names it (`""` and `"none"` are both off; gRPC snappy is the framed format). */
export function compressionOf(value: string, transport: 'grpc' | 'http' = 'grpc'): Compression {
  switch (value) {
    case 'gzip':
    case 'zlib':
    case 'deflate':
    case 'zstd':
      return value;
    case 'snappy':
      return transport === 'grpc' ? 'snappy-framed' : 'snappy';
    default:
      return 'none';
  }
}

/**
 * The per-request auth hook of a client from an `otelcol.auth.*` handler. The handler's
 * client side is read on every request, so a reloaded auth component takes effect at once.
 */
export function clientAuth(handler: AuthHandler | undefined): ClientAuth | undefined {
  if (handler === undefined) return undefined;
  return {
    headers: (metadata) => handler.client?.headers(metadata) ?? {},
    get requiresTransportSecurity() {
      return handler.client?.requiresTls ?? false;
    },
  };
}

/**
 * The `keepalive` block as the gRPC client's options. As grpc-go does, a `ping_wait` below
 * 10 s is raised to 10 s (`onRaised` says so).
 */
export function keepaliveOptions(
  args: KeepaliveArguments | undefined,
  onRaised: (message: string) => void,
): GrpcKeepaliveOptions | undefined {
  if (args === undefined) return undefined;
  let pingWaitMs = args.pingWaitMs;
  if (pingWaitMs !== undefined && pingWaitMs > 0 && pingWaitMs < GRPC_MIN_PING_WAIT_MS) {
    onRaised(`keepalive ping_wait ${pingWaitMs}ms is below gRPC's minimum: using ${GRPC_MIN_PING_WAIT_MS}ms`);
    pingWaitMs = GRPC_MIN_PING_WAIT_MS;
  }
  return {
    ...(pingWaitMs === undefined ? {} : { pingWaitMs }),
    ...(args.pingResponseTimeoutMs === undefined ? {} : { pingResponseTimeoutMs: args.pingResponseTimeoutMs }),
    pingWithoutStream: args.pingWithoutStream,
  };
}

/** `balancer_name` as the transport's union (the schema has checked it). */
export function balancerOf(name: string): BalancerName {
  return name === 'pick_first' ? 'pick_first' : 'round_robin';
}

/** The `headers` map of a client block as a record (lower-case names, as gRPC metadata). */
export function headerRecord(headers: ReadonlyMap<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of headers) out[k.toLowerCase()] = v;
  return out;
}

/**
 * Loads a client `tls` block (files read now, re-read every `reload_interval`); `undefined`
 * for cleartext. Share the result between the clients of one configuration; close it when
 * they are closed.
 *
 * @throws TransportError for files that cannot be read or do not match.
 */
export function loadTls(args: ClientTlsArguments, clock: Clock, logger: Logger): ClientTls | undefined {
  return loadClientTls(clientTlsSettings(args), {
    clock,
    onReload: () => {
      logger.info('TLS files reloaded; new connections use them');
    },
    onReloadError: (error) => {
      logger.warn('cannot reload the TLS files; the previous ones stay in use', { err: error });
    },
  });
}

/** The gRPC client of one backend, from a `client` block (the load balancer's or the OTLP exporter's). */
export function createGrpcClient(
  endpoint: string,
  client: LbClientArguments,
  timeoutMs: number,
  tls: ClientTls | undefined,
  logger: Logger,
): GrpcClient {
  const auth = clientAuth(client.auth);
  const keepalive = keepaliveOptions(client.keepalive, (message) => {
    logger.warn(message);
  });
  return new GrpcClient({
    endpoint,
    compression: compressionOf(client.compression),
    headers: headerRecord(client.headers),
    timeoutMs,
    waitForReady: client.waitForReady,
    balancerName: balancerOf(client.balancerName),
    readBufferSizeBytes: client.readBufferSizeBytes,
    writeBufferSizeBytes: client.writeBufferSizeBytes,
    ...(client.authority === '' ? {} : { authority: client.authority }),
    ...(tls === undefined ? {} : { tls }),
    ...(auth === undefined ? {} : { auth }),
    ...(keepalive === undefined ? {} : { keepalive }),
  });
}
