/**
 * `otelcol.receiver.otlp`: OTLP/gRPC and OTLP/HTTP servers that hand every request to the
 * consumers of the `output` block.
 *
 * - The servers are built in `start`, not in `build`, so a configuration can be checked
 *   without binding ports.
 * - `update` with a new `output` only repoints the consumers: no request is refused. A new
 *   endpoint, TLS or size limit restarts that server: the old one stops accepting and
 *   finishes its calls, then the new one listens (clients reconnect and retry).
 * - Own telemetry: `otelcol_receiver_accepted_spans` / `_refused_spans` (and the log-record
 *   and metric-point twins), with `receiver` and `transport` labels, as the Collector's
 *   receiver helper records them.
 */

import type { Batch } from '../../otlp/batch.ts';
import { countItems } from '../../otlp/chunk.ts';
import { Signal } from '../../otlp/signal.ts';
import type { Component, ComponentContext, ComponentDefinition } from '../../runtime/component.ts';
import { argsEqual } from '../../runtime/host.ts';
import type { Counter } from '../../telemetry/metrics.ts';
import type { BatchConsumer, ConsumeContext } from '../../transport/consumer.ts';
import type { ExportResult } from '../../transport/export-result.ts';
import { GrpcServer } from '../../transport/grpc-server.ts';
import { OtlpHttpServer } from '../../transport/http-server.ts';
import type { AuthHandler, RequestHeaders } from '../config/auth.ts';
import { outputConsumers } from '../config/output.ts';
import { serverTlsSettings, type ServerTlsArguments } from '../config/tls.ts';
import { loadServerTls, type ServerTls } from '../../transport/tls.ts';
import {
  parseListenAddress,
  receiverOtlpSchema,
  type GrpcArguments,
  type HttpArguments,
  type ReceiverOtlpArguments,
} from './arguments.ts';

const SIGNALS: readonly Signal[] = [Signal.TRACES, Signal.LOGS, Signal.METRICS];
const ITEM_NAMES: Readonly<Record<Signal, string>> = { traces: 'spans', logs: 'log_records', metrics: 'metric_points' };
/** How long a restarted or stopped server lets its calls finish by default. */
const CLOSE_GRACE_MS = 10_000;

/** Counts accepted and refused items per signal and transport, then passes the batch on. */
class CountingConsumer implements BatchConsumer {
  target: BatchConsumer;
  private readonly accepted: Counter<'receiver' | 'transport'>;
  private readonly refused: Counter<'receiver' | 'transport'>;
  private readonly transport: string;

  constructor(
    target: BatchConsumer,
    transport: string,
    accepted: Counter<'receiver' | 'transport'>,
    refused: Counter<'receiver' | 'transport'>,
  ) {
    this.target = target;
    this.transport = transport;
    this.accepted = accepted;
    this.refused = refused;
  }

  async consume(batch: Batch, context: ConsumeContext): Promise<ExportResult> {
    let counted = batch;
    if (batch.items < 0) {
      const count = countItems(batch.signal, batch.bytes);
      if (count.ok) counted = { ...batch, items: count.items };
    }
    const result = await this.target.consume(counted, context);
    if (counted.items > 0) {
      const labels = { receiver: 'otlp', transport: this.transport };
      (result.kind === 'ok' ? this.accepted : this.refused).labels(labels).inc(counted.items);
    }
    return result;
  }
}

/** Loads a server `tls` block (files read now, re-read every `reload_interval`). */
function loadTlsFor(tls: ServerTlsArguments, context: ComponentContext): ServerTls {
  const logger = context.logger;
  return loadServerTls(serverTlsSettings(tls), {
    clock: context.clock,
    onReload: () => {
      logger.info('TLS files reloaded; new connections use them');
    },
    onReloadError: (error) => {
      logger.warn('cannot reload the TLS files; the previous ones stay in use', { err: error });
    },
  });
}

type Server = GrpcServer | OtlpHttpServer;

/** A receiver's `auth`: the handler's server side, read per request (it may change on a reload). */
function serverAuthenticate(handler: AuthHandler): (headers: RequestHeaders) => Promise<string | undefined> {
  return (headers) =>
    handler.server?.authenticate(headers) ?? Promise.resolve(`${handler.componentId} cannot check incoming requests`);
}

class ReceiverOtlp implements Component<ReceiverOtlpArguments> {
  readonly exports = {};
  private args: ReceiverOtlpArguments;
  private readonly context: ComponentContext;
  private readonly grpcConsumers: Readonly<Record<Signal, CountingConsumer>>;
  private readonly httpConsumers: Readonly<Record<Signal, CountingConsumer>>;
  private grpcServer: GrpcServer | undefined;
  private httpServer: OtlpHttpServer | undefined;
  /** The TLS material of each running server, closed with it. */
  private readonly serverTls = new Map<Server, ServerTls>();

  constructor(context: ComponentContext, args: ReceiverOtlpArguments) {
    this.context = context;
    this.args = args;
    const outputs = outputConsumers(args.output);
    const counters = (
      signal: Signal,
    ): { accepted: Counter<'receiver' | 'transport'>; refused: Counter<'receiver' | 'transport'> } => ({
      accepted: context.metrics.counter({
        name: `otelcol_receiver_accepted_${ITEM_NAMES[signal]}`,
        help: `Number of ${ITEM_NAMES[signal].replace('_', ' ')} successfully pushed into the pipeline.`,
        unit: '{items}',
        labelNames: ['receiver', 'transport'],
      }),
      refused: context.metrics.counter({
        name: `otelcol_receiver_refused_${ITEM_NAMES[signal]}`,
        help: `Number of ${ITEM_NAMES[signal].replace('_', ' ')} that could not be pushed into the pipeline.`,
        unit: '{items}',
        labelNames: ['receiver', 'transport'],
      }),
    });
    const make = (transport: string): Record<Signal, CountingConsumer> => {
      const out: Partial<Record<Signal, CountingConsumer>> = {};
      for (const signal of SIGNALS) {
        const c = counters(signal);
        out[signal] = new CountingConsumer(outputs[signal], transport, c.accepted, c.refused);
      }
      return { traces: must(out.traces), logs: must(out.logs), metrics: must(out.metrics) };
    };
    this.grpcConsumers = make('grpc');
    this.httpConsumers = make('http');
  }

  async start(): Promise<void> {
    try {
      if (this.args.grpc !== undefined) this.grpcServer = await this.startGrpc(this.args.grpc);
      if (this.args.http !== undefined) this.httpServer = await this.startHttp(this.args.http);
    } catch (error) {
      await this.shutdown(Date.now());
      throw error;
    }
  }

  async update(args: ReceiverOtlpArguments): Promise<void> {
    const old = this.args;
    const outputs = outputConsumers(args.output);
    for (const signal of SIGNALS) {
      this.grpcConsumers[signal].target = outputs[signal];
      this.httpConsumers[signal].target = outputs[signal];
    }
    this.args = args;
    if (!sameServer(old.grpc, args.grpc)) {
      await this.close(this.grpcServer);
      this.grpcServer = undefined;
      if (args.grpc !== undefined) this.grpcServer = await this.startGrpc(args.grpc);
    }
    if (!sameServer(old.http, args.http)) {
      await this.close(this.httpServer);
      this.httpServer = undefined;
      if (args.http !== undefined) this.httpServer = await this.startHttp(args.http);
    }
  }

  async shutdown(deadlineMs: number): Promise<void> {
    const grace = Math.max(0, deadlineMs - Date.now());
    const servers = [this.grpcServer, this.httpServer];
    this.grpcServer = undefined;
    this.httpServer = undefined;
    await Promise.all(servers.map((s) => this.close(s, grace)));
  }

  private async close(server: Server | undefined, graceMs = CLOSE_GRACE_MS): Promise<void> {
    if (server === undefined) return;
    await closeServer(server, graceMs);
    this.serverTls.get(server)?.close();
    this.serverTls.delete(server);
  }

  private async startGrpc(args: GrpcArguments): Promise<GrpcServer> {
    const address = parseListenAddress(args.endpoint);
    if (address === undefined) throw new Error(`grpc: endpoint "${args.endpoint}" is not host:port`);
    const maxRecv = args.maxRecvMsgSizeBytes;
    const tls = args.tls === undefined ? undefined : loadTlsFor(args.tls, this.context);
    const server = new GrpcServer({
      host: address.host,
      port: address.port,
      consumers: this.grpcConsumers,
      ...(maxRecv === undefined || maxRecv === 0 ? {} : { maxRecvMsgSizeBytes: maxRecv }),
      ...(args.maxConcurrentStreams > 0 ? { maxConcurrentStreams: args.maxConcurrentStreams } : {}),
      ...(tls === undefined ? {} : { tls }),
      ...(args.auth === undefined ? {} : { authenticate: serverAuthenticate(args.auth) }),
      ...(args.keepalive?.serverParameters === undefined ? {} : { keepalive: args.keepalive.serverParameters }),
      includeMetadata: args.includeMetadata,
      onError: (error) => {
        this.context.logger.warn('gRPC server error', { err: error });
      },
    });
    if (tls !== undefined) this.serverTls.set(server, tls);
    const bound = await listen(server, 'grpc', args.endpoint);
    this.context.logger.info('Starting GRPC server', { endpoint: formatAddress(bound.address, bound.port) });
    return server;
  }

  private async startHttp(args: HttpArguments): Promise<OtlpHttpServer> {
    const address = parseListenAddress(args.endpoint);
    if (address === undefined) throw new Error(`http: endpoint "${args.endpoint}" is not host:port`);
    const maxBody = args.maxRequestBodySizeBytes;
    const tls = args.tls === undefined ? undefined : loadTlsFor(args.tls, this.context);
    const server = new OtlpHttpServer({
      host: address.host,
      port: address.port,
      consumers: this.httpConsumers,
      paths: { traces: args.tracesUrlPath, logs: args.logsUrlPath, metrics: args.metricsUrlPath },
      ...(maxBody === undefined || maxBody === 0 ? {} : { maxRequestBodyBytes: maxBody }),
      clock: this.context.clock,
      ...(tls === undefined ? {} : { tls }),
      ...(args.auth === undefined ? {} : { authenticate: serverAuthenticate(args.auth) }),
      includeMetadata: args.includeMetadata,
      onError: (error) => {
        this.context.logger.warn('HTTP server error', { err: error });
      },
    });
    if (tls !== undefined) this.serverTls.set(server, tls);
    const bound = await listen(server, 'http', args.endpoint);
    this.context.logger.info('Starting HTTP server', { endpoint: formatAddress(bound.address, bound.port) });
    return server;
  }
}

async function listen(server: Server, what: string, endpoint: string): Promise<{ address: string; port: number }> {
  try {
    return await server.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'EADDRINUSE'
        ? ': the address is in use; stop what listens there or choose another port'
        : code === 'EACCES'
          ? ': permission denied; ports below 1024 need privileges'
          : code === 'EADDRNOTAVAIL'
            ? ': this machine has no such address'
            : '';
    throw new Error(`${what}: cannot listen on ${endpoint}${hint}`, { cause: error });
  }
}

/** Closes a server, letting its calls finish for `graceMs` (GrpcServer takes a duration, OtlpHttpServer a deadline). */
async function closeServer(server: Server | undefined, graceMs = CLOSE_GRACE_MS): Promise<void> {
  if (server === undefined) return;
  if (server instanceof GrpcServer) await server.close(graceMs);
  else await server.close(Date.now() + graceMs);
}

function sameServer<T extends GrpcArguments | HttpArguments>(a: T | undefined, b: T | undefined): boolean {
  return argsEqual(a, b);
}

function formatAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new TypeError('missing consumer');
  return value;
}

/** `otelcol.receiver.otlp`. */
export const receiverOtlpDefinition: ComponentDefinition<ReceiverOtlpArguments> = {
  name: 'otelcol.receiver.otlp',
  stability: 'generally-available',
  arguments: receiverOtlpSchema,
  placeholderExports: {},
  build: (context, args) => Promise.resolve(new ReceiverOtlp(context, args)),
};
