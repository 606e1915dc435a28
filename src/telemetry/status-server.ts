/**
 * The HTTP server of `otel-lb run --server.http.listen-addr=HOST:PORT` (default
 * {@link DEFAULT_STATUS_LISTEN_ADDRESS}), with the endpoints Alloy serves there:
 *
 * | endpoint            | methods         | answer                                                        |
 * |---------------------|-----------------|---------------------------------------------------------------|
 * | `/metrics`          | GET, HEAD       | 200, the registry in text format 0.0.4                        |
 * | `/-/ready`          | GET, HEAD       | 200 `otel-lb is ready.` / 503 `otel-lb is not ready.`          |
 * | `/-/healthy`        | GET, HEAD       | 200 `All otel-lb components are healthy.` / 500 and the list  |
 * | `/-/reload`         | GET, POST       | 200 `config reloaded` / 400 and the error                     |
 * | anything else       |                 | 404; a known path with another method: 405 with `Allow`       |
 *
 * Bodies are `text/plain; charset=utf-8` and end with a newline, as Go's `fmt.Fprintln` and
 * `http.Error` write them. Readiness, health and reload are injected functions, so the
 * server knows nothing of the runtime. Reloads run one at a time, in arrival order; a
 * second request waits for the first. A function that throws answers 500 (or 400 for a
 * reload) instead of taking the server down.
 *
 * Requests are short, so {@link StatusServer.close} does not drain: it stops listening,
 * aborts a reload under way (through the signal the reload function got) and closes every
 * connection.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { describeError, type Logger } from './logger.ts';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.ts';

/** Where the status server listens unless told otherwise (Alloy's default). */
export const DEFAULT_STATUS_LISTEN_ADDRESS = '127.0.0.1:12345';

/** A component that is not healthy, for `/-/healthy`. */
export interface UnhealthyComponent {
  /** The component's ID, e.g. `otelcol.exporter.loadbalancing.default`. */
  readonly id: string;
  /** Why, in one line. */
  readonly message: string;
}

/** Options of {@link StatusServer}. */
export interface StatusServerOptions {
  /** Address to listen on, e.g. `127.0.0.1`. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** What `/metrics` serves: `MetricsRegistry.expose`. */
  readonly metrics: { expose(): string };
  /** Whether the initial config has loaded. Called per request; must not block. */
  readonly isReady: () => boolean;
  /** The components that are unhealthy now (empty when all are healthy). Called per request. */
  readonly unhealthyComponents: () => readonly UnhealthyComponent[];
  /**
   * Re-reads and applies the config. Rejects with the reason when the new config is not
   * applied. `signal` aborts when the server closes.
   */
  readonly reload: (signal: AbortSignal) => Promise<void>;
  /** Reload requests and their outcome are logged here; nothing by default. */
  readonly logger?: Logger;
}

interface Route {
  readonly methods: readonly string[];
  readonly handle: (response: http.ServerResponse) => Promise<void> | void;
}

const TEXT = 'text/plain; charset=utf-8';

/**
 * The status server. Create, {@link listen}, {@link close}; one instance serves one
 * address and listens once.
 */
export class StatusServer {
  private readonly options: StatusServerOptions;
  private readonly routes: ReadonlyMap<string, Route>;
  private readonly controller = new AbortController();
  private server: http.Server | undefined;
  private isClosed = false;
  private detachSignal: (() => void) | undefined;
  /** The last reload requested; the next one starts after it settles. */
  private reloads: Promise<void> = Promise.resolve();

  constructor(options: StatusServerOptions) {
    this.options = options;
    this.routes = new Map<string, Route>([
      ['/metrics', { methods: ['GET', 'HEAD'], handle: this.metrics.bind(this) }],
      ['/-/ready', { methods: ['GET', 'HEAD'], handle: this.ready.bind(this) }],
      ['/-/healthy', { methods: ['GET', 'HEAD'], handle: this.healthy.bind(this) }],
      ['/-/reload', { methods: ['GET', 'POST'], handle: this.reload.bind(this) }],
    ]);
  }

  /**
   * Starts listening; resolves to the bound address (the real port when `port` was 0). When
   * `signal` aborts, the server closes as by {@link close}.
   *
   * @throws Error (rejects) when the address cannot be bound (`cause` is Node's error, e.g.
   *   `EADDRINUSE`), or TypeError if called twice.
   */
  async listen(signal?: AbortSignal): Promise<AddressInfo> {
    if (this.server !== undefined) throw new TypeError('StatusServer.listen called twice');
    const server = http.createServer((request, response) => {
      this.serve(request, response);
    });
    this.server = server;
    const { host, port } = this.options;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        reject(new Error(`cannot listen for HTTP on ${host}:${port}: ${error.message}`, { cause: error }));
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    // After listening, errors belong to single connections, which Node closes.
    server.on('error', () => undefined);
    const address = server.address() as AddressInfo;
    if (signal !== undefined) {
      const onAbort = (): void => void this.close();
      signal.addEventListener('abort', onAbort, { once: true });
      this.detachSignal = () => {
        signal.removeEventListener('abort', onAbort);
      };
    }
    if (this.isClosed || signal?.aborted === true) await this.close();
    return address;
  }

  /** Stops listening, aborts a reload under way and closes every connection. Idempotent; never rejects. */
  async close(): Promise<void> {
    const server = this.server;
    this.isClosed = true;
    this.detachSignal?.();
    this.controller.abort(new Error('the status server is closing'));
    // Not listening yet: listen() closes once it is.
    if (server === undefined || !server.listening) return;
    const closed = new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    server.closeAllConnections();
    await closed;
  }

  private serve(request: http.IncomingMessage, response: http.ServerResponse): void {
    // Bodies are not read by any endpoint; drain them so the connection can be reused.
    request.resume();
    request.on('error', () => undefined);
    response.on('error', () => undefined);
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const route = this.routes.get(path);
    if (route === undefined) {
      reply(response, 404, `${path} not found\n`);
      return;
    }
    const method = request.method ?? '';
    if (!route.methods.includes(method)) {
      response.setHeader('Allow', route.methods.join(', '));
      reply(response, 405, `${method} is not allowed on ${path}\n`);
      return;
    }
    void Promise.resolve()
      .then(() => route.handle(response))
      .catch((error: unknown) => {
        if (!response.headersSent) reply(response, 500, `${describeError(error)}\n`);
        else response.destroy();
      });
  }

  private metrics(response: http.ServerResponse): void {
    reply(response, 200, this.options.metrics.expose(), PROMETHEUS_CONTENT_TYPE);
  }

  private ready(response: http.ServerResponse): void {
    if (this.options.isReady()) reply(response, 200, 'otel-lb is ready.\n');
    else reply(response, 503, 'otel-lb is not ready.\n');
  }

  private healthy(response: http.ServerResponse): void {
    const unhealthy = this.options.unhealthyComponents();
    if (unhealthy.length === 0) {
      reply(response, 200, 'All otel-lb components are healthy.\n');
      return;
    }
    const lines = unhealthy.map((c) => `${c.id}: ${c.message.replace(/\s*\n\s*/g, ' ')}\n`).join('');
    reply(response, 500, `unhealthy components: ${unhealthy.map((c) => c.id).join(', ')}\n${lines}`);
  }

  private async reload(response: http.ServerResponse): Promise<void> {
    const logger = this.options.logger;
    logger?.info('reload requested via /-/reload endpoint');
    const signal = this.controller.signal;
    const run = this.reloads.then(() => {
      signal.throwIfAborted();
      return this.options.reload(signal);
    });
    this.reloads = run.catch(() => undefined);
    try {
      await run;
    } catch (error) {
      logger?.error('failed to reload config', { err: error });
      reply(response, 400, `${describeError(error)}\n`);
      return;
    }
    logger?.info('config reloaded');
    reply(response, 200, 'config reloaded\n');
  }
}

function reply(response: http.ServerResponse, status: number, body: string, contentType = TEXT): void {
  if (response.destroyed) return;
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(body);
}

/**
 * Parses `--server.http.listen-addr`: `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all
 * interfaces, `0.0.0.0`). Returns the host and port, or why the text is not an address.
 */
export function parseListenAddress(
  text: string,
):
  | { readonly ok: true; readonly host: string; readonly port: number }
  | { readonly ok: false; readonly message: string } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || port > 65535)
    return { ok: false, message: `invalid listen address ${JSON.stringify(text)}; expected HOST:PORT` };
  const host = match[1] ?? match[2] ?? '';
  return { ok: true, host: host === '' ? '0.0.0.0' : host, port };
}
