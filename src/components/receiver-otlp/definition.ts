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

import { readFile } from 'node:fs/promises';

import type { Batch } from '../../otlp/batch.ts';
import { countItems } from '../../otlp/chunk.ts';
import { Signal } from '../../otlp/signal.ts';
import type { Component, ComponentContext, ComponentDefinition } from '../../runtime/component.ts';
import { argsEqual } from '../../runtime/host.ts';
import type { Counter } from '../../telemetry/metrics.ts';
import type { BatchConsumer, ConsumeContext } from '../../transport/consumer.ts';
import type { ExportResult } from '../../transport/export-result.ts';
import { GrpcServer, type GrpcServerTlsOptions } from '../../transport/grpc-server.ts';
import { OtlpHttpServer } from '../../transport/http-server.ts';
import { outputConsumers } from '../config/output.ts';
import type { ServerTlsArguments } from '../config/tls.ts';
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
      if (count.ok) counted = { signal: batch.signal, bytes: batch.bytes, items: count.items };
    }
    const result = await this.target.consume(counted, context);
    if (counted.items > 0) {
      const labels = { receiver: 'otlp', transport: this.transport };
      (result.kind === 'ok' ? this.accepted : this.refused).labels(labels).inc(counted.items);
    }
    return result;
  }
}

/** `node:tls` server options from a `tls` block; files are read now. */
export async function serverTlsOptions(tls: ServerTlsArguments): Promise<GrpcServerTlsOptions> {
  const cert = tls.certPem !== '' ? tls.certPem : await readPem(tls.certFile, 'cert_file');
  const key = tls.keyPem !== undefined ? tls.keyPem.reveal() : await readPem(tls.keyFile, 'key_file');
  const ca = tls.clientCaFile !== '' ? await readPem(tls.clientCaFile, 'client_ca_file') : undefined;
  const minVersion = tlsVersion(tls.minVersion) ?? 'TLSv1.2';
  return {
    cert,
    key,
    minVersion,
    ...(ca === undefined ? {} : { ca, requestCert: true, rejectUnauthorized: true }),
  };
}

function tlsVersion(v: string): 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' | undefined {
  const m = /(1\.[0-3])$/.exec(v);
  switch (m?.[1]) {
    case '1.0':
      return 'TLSv1';
    case '1.1':
      return 'TLSv1.1';
    case '1.2':
      return 'TLSv1.2';
    case '1.3':
      return 'TLSv1.3';
    default:
      return undefined;
  }
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`tls: cannot read ${what} "${path}": ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

type Server = GrpcServer | OtlpHttpServer;

class ReceiverOtlp implements Component<ReceiverOtlpArguments> {
  readonly exports = {};
  private args: ReceiverOtlpArguments;
  private readonly context: ComponentContext;
  private readonly grpcConsumers: Readonly<Record<Signal, CountingConsumer>>;
  private readonly httpConsumers: Readonly<Record<Signal, CountingConsumer>>;
  private grpcServer: GrpcServer | undefined;
  private httpServer: OtlpHttpServer | undefined;

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
      await closeServer(this.grpcServer);
      this.grpcServer = undefined;
      if (args.grpc !== undefined) this.grpcServer = await this.startGrpc(args.grpc);
    }
    if (!sameServer(old.http, args.http)) {
      await closeServer(this.httpServer);
      this.httpServer = undefined;
      if (args.http !== undefined) this.httpServer = await this.startHttp(args.http);
    }
  }

  async shutdown(deadlineMs: number): Promise<void> {
    const grace = Math.max(0, deadlineMs - Date.now());
    const servers = [this.grpcServer, this.httpServer];
    this.grpcServer = undefined;
    this.httpServer = undefined;
    await Promise.all(servers.map((s) => closeServer(s, grace)));
  }

  private async startGrpc(args: GrpcArguments): Promise<GrpcServer> {
    const address = parseListenAddress(args.endpoint);
    if (address === undefined) throw new Error(`grpc: endpoint "${args.endpoint}" is not host:port`);
    const maxRecv = args.maxRecvMsgSizeBytes;
    const server = new GrpcServer({
      host: address.host,
      port: address.port,
      consumers: this.grpcConsumers,
      ...(maxRecv === undefined || maxRecv === 0 ? {} : { maxRecvMsgSizeBytes: maxRecv }),
      ...(args.maxConcurrentStreams > 0 ? { maxConcurrentStreams: args.maxConcurrentStreams } : {}),
      ...(args.tls === undefined ? {} : { tls: await serverTlsOptions(args.tls) }),
      onError: (error) => {
        this.context.logger.warn('gRPC server error', { err: error });
      },
    });
    const bound = await listen(server, 'grpc', args.endpoint);
    this.context.logger.info('Starting GRPC server', { endpoint: formatAddress(bound.address, bound.port) });
    return server;
  }

  private async startHttp(args: HttpArguments): Promise<OtlpHttpServer> {
    const address = parseListenAddress(args.endpoint);
    if (address === undefined) throw new Error(`http: endpoint "${args.endpoint}" is not host:port`);
    if (args.tls !== undefined) {
      throw new Error(
        'http: tls on the OTLP/HTTP receiver is not available yet; terminate TLS in front of it or use grpc',
      );
    }
    const maxBody = args.maxRequestBodySizeBytes;
    const server = new OtlpHttpServer({
      host: address.host,
      port: address.port,
      consumers: this.httpConsumers,
      paths: { traces: args.tracesUrlPath, logs: args.logsUrlPath, metrics: args.metricsUrlPath },
      ...(maxBody === undefined || maxBody === 0 ? {} : { maxRequestBodyBytes: maxBody }),
      clock: this.context.clock,
      onError: (error) => {
        this.context.logger.warn('HTTP server error', { err: error });
      },
    });
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
