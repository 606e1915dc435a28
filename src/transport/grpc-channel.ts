/**
 * The connections of one gRPC client: the addresses its endpoint's host resolves to, one
 * HTTP/2 session per address, and which one each call goes on (gRPC's `pick_first` and
 * `round_robin` policies). `grpc-client.ts` asks {@link GrpcChannel.pick} for a connection
 * per call; everything else here happens per connection, off the per-call path.
 *
 * Addresses: an IP endpoint is its only address; a host name is resolved with the injected
 * `lookup` (all addresses) on first use and again after a connection is lost or fails, at
 * most every `minResolveIntervalMs` (grpc-go's DNS resolver: 30 s). A proxied endpoint is not
 * resolved at all: the proxy resolves the name it gets in the CONNECT request.
 *
 * | policy        | calls go to                                   | connections                          |
 * |---------------|-----------------------------------------------|--------------------------------------|
 * | `pick_first`  | the first address (in resolved order) that connects, until it is lost; then the first that connects again | one at a time |
 * | `round_robin` | each ready address in turn                    | one per address, all kept up; a failed one is retried after a backoff (1 s × 1.6ⁿ ± 20 %, at most 120 s, as grpc-go) while others serve |
 *
 * When no connection is ready, a call starts (or joins) connection attempts right away rather
 * than waiting out a backoff: with one address it goes straight onto the connecting session,
 * with several it waits for the first to come up, and it fails (UNAVAILABLE, with every
 * address's error) only once all have failed.
 *
 * Keepalive (the `keepalive` block): every `pingWaitMs` the client sends an HTTP/2 PING on
 * each connection that has calls in flight (or on every connection with
 * `pingWithoutStream`); a PING not acknowledged within `pingResponseTimeoutMs` closes the
 * connection with `ERR_KEEPALIVE_TIMEOUT`, failing its calls as retryable UNAVAILABLE, and
 * the next call connects anew. grpc-go skips the PING when anything was read during the
 * interval; Node does not say when frames arrive, so one PING goes out per interval anyway.
 */

import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';

import { ClientTls } from './tls.ts';
import { openTunnel } from './proxy.ts';
import { errorCode, TransportError, TransportErrorCode } from './transport-error.ts';

/** Node TLS options handed to `tls.connect` as they are (the client's older `tls` option). */
export type NodeClientTlsOptions = Pick<
  http2.SecureClientSessionOptions,
  | 'ca'
  | 'cert'
  | 'key'
  | 'pfx'
  | 'passphrase'
  | 'servername'
  | 'rejectUnauthorized'
  | 'minVersion'
  | 'checkServerIdentity'
>;

/** gRPC's client load-balancing policies (`balancer_name`). */
export type BalancerName = 'pick_first' | 'round_robin';

/** Resolves a host name to its addresses (IPv4 or IPv6 literals), as `dns.lookup(host, { all: true })`. */
export type LookupFunction = (host: string) => Promise<readonly string[]>;

/** Client keepalive (Alloy's `keepalive` block), in milliseconds. */
export interface KeepaliveSettings {
  readonly pingWaitMs: number;
  readonly pingResponseTimeoutMs: number;
  readonly pingWithoutStream: boolean;
}

/** What {@link GrpcChannel} needs; `grpc-client.ts` builds it from the client's options. */
export interface GrpcChannelOptions {
  readonly host: string;
  readonly port: number;
  /** The endpoint as configured, for messages. */
  readonly endpoint: string;
  /** The name the server's certificate must carry (the host of the `:authority`). */
  readonly tlsHostname: string;
  readonly balancer: BalancerName;
  readonly lookup: LookupFunction;
  readonly minResolveIntervalMs: number;
  readonly tls: ClientTls | NodeClientTlsOptions | undefined;
  /** The proxy to tunnel through, already matched against NO_PROXY; undefined connects directly. */
  readonly proxy: URL | undefined;
  readonly keepalive: KeepaliveSettings | undefined;
  readonly sessionOptions: http2.ClientSessionOptions;
  /** The connection-level receive window to grant the server, in bytes. */
  readonly connectionWindowBytes: number;
  readonly userAgent: string;
}

/** What a pick gives a call: a connection to send on now, or later (or why there is none). */
export type ChannelPick = GrpcConnection | Promise<GrpcConnection | Error>;

const BACKOFF_INITIAL_MS = 1_000;
const BACKOFF_MULTIPLIER = 1.6;
const BACKOFF_JITTER = 0.2;
const BACKOFF_MAX_MS = 120_000;

/**
 * One HTTP/2 connection to one address and how many calls use it. Calls may be started on
 * it while it is still connecting (Node queues them); `ready` settles once it is up (undefined)
 * or has failed (the error), and never rejects.
 */
export class GrpcConnection {
  readonly session: http2.ClientHttp2Session;
  readonly ready: Promise<Error | undefined>;
  readonly address: string;
  /** Calls (and waits) using the connection; the session keeps the process alive only while > 0. */
  active = 0;
  /** False once the connection failed, closed or got GOAWAY: no new calls go on it. */
  usable = true;
  /** True between 'connect' and losing the connection. */
  isReady = false;
  /** Why it failed or closed, when it did. */
  error: Error | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private readonly keepalive: KeepaliveSettings | undefined;

  constructor(
    session: http2.ClientHttp2Session,
    address: string,
    keepalive: KeepaliveSettings | undefined,
    connectionWindowBytes: number,
    onReady: (connection: GrpcConnection) => void,
    onLost: (connection: GrpcConnection, wasReady: boolean) => void,
  ) {
    this.session = session;
    this.address = address;
    this.keepalive = keepalive;
    this.ready = new Promise<Error | undefined>((resolve) => {
      session.once('connect', () => {
        resolve(undefined);
      });
      session.once('close', () => {
        resolve(this.error ?? new Error('the connection closed before it was established'));
      });
      session.once('error', (error: Error) => {
        resolve(error);
      });
    });
    const retire = (): void => {
      if (!this.usable) return;
      this.usable = false;
      const wasReady = this.isReady;
      this.isReady = false;
      clearTimeout(this.keepaliveTimer);
      onLost(this, wasReady);
    };
    // Calls in flight see connection errors on their streams; here they only retire it.
    session.on('error', (error: Error) => {
      this.error ??= error;
      retire();
    });
    session.once('goaway', retire);
    session.once('close', retire);
    session.once('connect', () => {
      if (!this.usable) return;
      this.isReady = true;
      try {
        session.setLocalWindowSize(connectionWindowBytes);
      } catch {
        // Only a larger window for responses; the default one works too.
      }
      if (this.keepalive !== undefined) this.armKeepalive(this.keepalive.pingWaitMs);
      onReady(this);
    });
    session.unref();
  }

  /** Closes the session once its calls are done (GOAWAY); resolves when it is closed. */
  close(): Promise<void> {
    this.usable = false;
    this.isReady = false;
    clearTimeout(this.keepaliveTimer);
    return new Promise<void>((resolve) => {
      if (this.session.closed || this.session.destroyed) {
        resolve();
        return;
      }
      // Keep the process alive until the session has closed, so that awaiting close() settles.
      this.session.ref();
      this.session.close(resolve);
    });
  }

  private armKeepalive(delayMs: number): void {
    this.keepaliveTimer = setTimeout(this.onKeepaliveTick, delayMs);
    this.keepaliveTimer.unref();
  }

  private readonly onKeepaliveTick = (): void => {
    const keepalive = this.keepalive;
    if (keepalive === undefined || !this.usable || this.session.destroyed) return;
    if (this.active === 0 && !keepalive.pingWithoutStream) {
      this.armKeepalive(keepalive.pingWaitMs);
      return;
    }
    let answered = false;
    const deadline = setTimeout(() => {
      if (answered || this.session.destroyed) return;
      this.session.destroy(
        new TransportError(
          TransportErrorCode.KEEPALIVE_TIMEOUT,
          `no answer to a keepalive ping within ${keepalive.pingResponseTimeoutMs} ms: the connection to ${this.address} is dead, so it was closed (a new one is made for the next call)`,
        ),
      );
    }, keepalive.pingResponseTimeoutMs);
    deadline.unref();
    const onAck = (error: Error | null): void => {
      answered = true;
      clearTimeout(deadline);
      if (error === null) this.rearmKeepalive();
    };
    let sent: boolean;
    try {
      sent = this.session.ping(onAck);
    } catch {
      sent = false;
    }
    if (!sent) {
      // Too many PINGs outstanding, or the session is closing: try again next interval.
      answered = true;
      clearTimeout(deadline);
      this.rearmKeepalive();
    }
  };

  private rearmKeepalive(): void {
    if (this.usable && this.keepalive !== undefined) this.armKeepalive(this.keepalive.pingWaitMs);
  }
}

/** One address and its current connection (or connection attempt). */
class Subchannel {
  readonly address: string;
  connection: GrpcConnection | undefined;
  /** A proxy tunnel being opened, before there is a session. */
  pending: Promise<GrpcConnection | Error> | undefined;
  failures = 0;
  retryTimer: NodeJS.Timeout | undefined;
  lastError: Error | undefined;

  constructor(address: string) {
    this.address = address;
  }
}

/**
 * The addresses, connections and balancing policy of one client (see the module comment).
 * Not safe to share between clients.
 */
export class GrpcChannel {
  private readonly options: GrpcChannelOptions;
  private readonly usesLookup: boolean;
  private subchannels: Subchannel[] | undefined;
  private resolving: Promise<Error | undefined> | undefined;
  private lastResolvedAt = 0;
  /** round_robin: ready connections, in address order; pick_first: the selected one only. */
  private ready: GrpcConnection[] = [];
  private next = 0;
  private connectingInOrder: Promise<GrpcConnection | Error> | undefined;
  private closed = false;
  /** Aborts proxy tunnels still being opened when the channel closes. */
  private readonly stop = new AbortController();

  constructor(options: GrpcChannelOptions) {
    this.options = options;
    this.usesLookup = options.proxy === undefined && net.isIP(options.host) === 0;
    if (!this.usesLookup) this.subchannels = [new Subchannel(options.host)];
  }

  /**
   * A connection for the next call: a ready one when there is one (synchronously), the
   * connecting one when there is only one address, else a promise of the first to come up,
   * or of the reason none did (an Error, never a rejection).
   */
  pick(): ChannelPick {
    const ready = this.ready;
    if (ready.length === 1) return ready[0] as GrpcConnection;
    if (ready.length > 1) return ready[this.next++ % ready.length] as GrpcConnection;
    return this.pickWithoutReady();
  }

  /**
   * Connects now instead of at the first call (grpc-go's `Connect()`): every address for
   * round_robin, the first that works for pick_first. Resolves once the attempts have
   * settled, whatever their outcome; never rejects.
   */
  async connect(): Promise<void> {
    if (this.subchannels === undefined) {
      const error = await this.resolve();
      if (error !== undefined) return;
    }
    const subchannels = this.subchannels ?? [];
    if (this.options.balancer === 'pick_first' && subchannels.length > 1) {
      await this.connectInOrder();
      return;
    }
    await Promise.all(subchannels.map((subchannel) => settle(this.attempt(subchannel))));
  }

  /** Closes every connection once its calls are done and stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort(new Error('the client is closed'));
    const subchannels = this.subchannels ?? [];
    this.ready = [];
    await Promise.all(
      subchannels.map(async (subchannel) => {
        clearTimeout(subchannel.retryTimer);
        const pending = subchannel.pending;
        if (pending !== undefined) await pending;
        await subchannel.connection?.close();
      }),
    );
  }

  private pickWithoutReady(): ChannelPick {
    if (this.closed) return Promise.resolve(new Error('the client is closed'));
    const subchannels = this.subchannels;
    if (subchannels === undefined) {
      return this.resolve().then((error) => error ?? this.pick());
    }
    if (subchannels.length === 1) return this.attempt(subchannels[0] as Subchannel);
    if (this.options.balancer === 'pick_first') return this.connectInOrder();
    return firstReady(
      subchannels.map((subchannel) => ({ subchannel, attempt: this.attempt(subchannel) })),
      this.options,
    );
  }

  /** The subchannel's connection, starting one if it has none (ignoring any backoff). */
  private attempt(subchannel: Subchannel): ChannelPick {
    const existing = subchannel.connection;
    if (existing?.usable === true) return existing;
    if (subchannel.pending !== undefined) return subchannel.pending;
    clearTimeout(subchannel.retryTimer);
    subchannel.retryTimer = undefined;
    if (this.options.proxy === undefined) return this.open(subchannel, undefined);
    const proxy = this.options.proxy;
    const pending = openTunnel(proxy, subchannel.address, this.options.port, {
      userAgent: this.options.userAgent,
      signal: this.stop.signal,
    }).then(
      (socket) => {
        subchannel.pending = undefined;
        if (this.closed || !this.subchannels?.includes(subchannel)) {
          socket.destroy();
          return new Error('the client is closed');
        }
        const connection = this.open(subchannel, socket);
        return connection.ready.then((error) => error ?? connection);
      },
      (error: unknown) => {
        subchannel.pending = undefined;
        const failure = error instanceof Error ? error : new Error(String(error));
        this.onFailure(subchannel, failure);
        return failure;
      },
    );
    subchannel.pending = pending;
    return pending;
  }

  /** Opens the HTTP/2 session to a subchannel's address, directly or over a tunnel's socket. */
  private open(subchannel: Subchannel, tunnel: net.Socket | undefined): GrpcConnection {
    const { options } = this;
    const secure = options.tls !== undefined;
    const url = `${secure ? 'https' : 'http'}://${net.isIPv6(options.host) ? `[${options.host}]` : options.host}:${options.port}`;
    const createConnection = (): net.Socket => this.socketFor(subchannel.address, tunnel);
    const session = http2.connect(url, { ...options.sessionOptions, createConnection });
    const connection = new GrpcConnection(
      session,
      subchannel.address,
      options.keepalive,
      options.connectionWindowBytes,
      (ready) => {
        this.onReady(subchannel, ready);
      },
      (lost, wasReady) => {
        this.onLost(subchannel, lost, wasReady);
      },
    );
    subchannel.connection = connection;
    return connection;
  }

  private socketFor(address: string, tunnel: net.Socket | undefined): net.Socket {
    const { options } = this;
    const tlsOptions = options.tls;
    if (tlsOptions === undefined) return tunnel ?? net.connect({ host: address, port: options.port });
    let connectOptions: tls.ConnectionOptions;
    if (tlsOptions instanceof ClientTls) {
      connectOptions = tlsOptions.connectOptions(options.tlsHostname);
    } else {
      connectOptions = { ...tlsOptions };
      if (connectOptions.servername === undefined && net.isIP(options.tlsHostname) === 0) {
        connectOptions.servername = options.tlsHostname;
      }
    }
    connectOptions.ALPNProtocols = ['h2'];
    if (tunnel !== undefined) connectOptions.socket = tunnel;
    else {
      connectOptions.host = address;
      connectOptions.port = options.port;
    }
    return tls.connect(connectOptions);
  }

  private onReady(subchannel: Subchannel, connection: GrpcConnection): void {
    subchannel.failures = 0;
    subchannel.lastError = undefined;
    if (this.closed || subchannel.connection !== connection) return;
    if (this.options.balancer === 'pick_first') {
      if (this.ready.length === 0) this.ready = [connection];
      return;
    }
    this.ready = this.readyInOrder();
  }

  private onLost(subchannel: Subchannel, connection: GrpcConnection, wasReady: boolean): void {
    if (subchannel.connection === connection) subchannel.connection = undefined;
    if (this.ready.includes(connection)) this.ready = this.ready.filter((ready) => ready !== connection);
    if (this.closed) return;
    if (wasReady) {
      subchannel.failures = 0;
    } else {
      this.onFailure(subchannel, connection.error ?? new Error('the connection closed before it was established'));
      return;
    }
    this.maybeReresolve();
    // round_robin keeps every address connected; pick_first reconnects on demand.
    if (this.options.balancer === 'round_robin' && (this.subchannels?.length ?? 0) > 1) {
      this.scheduleRetry(subchannel, 0);
    }
  }

  private onFailure(subchannel: Subchannel, error: Error): void {
    subchannel.lastError = error;
    subchannel.failures++;
    if (this.closed) return;
    this.maybeReresolve();
    if (this.options.balancer === 'round_robin' && (this.subchannels?.length ?? 0) > 1) {
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * BACKOFF_MULTIPLIER ** (subchannel.failures - 1));
      this.scheduleRetry(subchannel, base * (1 + BACKOFF_JITTER * (2 * Math.random() - 1)));
    }
  }

  private scheduleRetry(subchannel: Subchannel, delayMs: number): void {
    clearTimeout(subchannel.retryTimer);
    subchannel.retryTimer = setTimeout(() => {
      subchannel.retryTimer = undefined;
      if (this.closed || !this.subchannels?.includes(subchannel)) return;
      void settle(this.attempt(subchannel));
    }, delayMs);
    subchannel.retryTimer.unref();
  }

  private readyInOrder(): GrpcConnection[] {
    const ready: GrpcConnection[] = [];
    for (const subchannel of this.subchannels ?? []) {
      const connection = subchannel.connection;
      if (connection?.isReady === true && connection.usable) ready.push(connection);
    }
    return ready;
  }

  private maybeReresolve(): void {
    if (!this.usesLookup || this.resolving !== undefined) return;
    if (Date.now() - this.lastResolvedAt < this.options.minResolveIntervalMs) return;
    void this.resolve();
  }

  /** Resolves the host (sharing a lookup in progress) and updates the subchannels. */
  private resolve(): Promise<Error | undefined> {
    this.resolving ??= this.lookupAddresses().finally(() => {
      this.resolving = undefined;
    });
    return this.resolving;
  }

  private async lookupAddresses(): Promise<Error | undefined> {
    const { host } = this.options;
    let addresses: readonly string[];
    try {
      addresses = await this.options.lookup(host);
    } catch (error) {
      return new TransportError(
        TransportErrorCode.RESOLVE_FAILED,
        `cannot resolve ${host} (${describeError(error)}); check the endpoint's host name and DNS`,
        { cause: error },
      );
    }
    this.lastResolvedAt = Date.now();
    const unique = [...new Set(addresses)];
    if (unique.length === 0) {
      return new TransportError(
        TransportErrorCode.RESOLVE_FAILED,
        `${host} resolved to no addresses; check the endpoint's host name and DNS`,
      );
    }
    if (this.closed) return new Error('the client is closed');
    this.update(unique);
    return undefined;
  }

  /** Replaces the address list: keeps the connections of addresses still there, closes the others. */
  private update(addresses: readonly string[]): void {
    const previous = new Map((this.subchannels ?? []).map((subchannel) => [subchannel.address, subchannel]));
    const next = addresses.map((address) => previous.get(address) ?? new Subchannel(address));
    for (const [address, subchannel] of previous) {
      if (addresses.includes(address)) continue;
      clearTimeout(subchannel.retryTimer);
      const connection = subchannel.connection;
      subchannel.connection = undefined;
      if (connection !== undefined) void connection.close();
    }
    this.subchannels = next;
    if (this.options.balancer === 'pick_first') {
      const selected = this.ready[0];
      if (selected !== undefined && !addresses.includes(selected.address)) this.ready = [];
    } else {
      this.ready = this.readyInOrder();
      // Keep every address connected, including new ones, if the channel is in use.
      if (previous.size > 0)
        for (const subchannel of next) if (subchannel.connection === undefined) void settle(this.attempt(subchannel));
    }
  }

  /** pick_first over several addresses: the first that connects, in order (one attempt at a time). */
  private connectInOrder(): Promise<GrpcConnection | Error> {
    this.connectingInOrder ??= (async (): Promise<GrpcConnection | Error> => {
      const errors: { address: string; error: Error }[] = [];
      for (const subchannel of this.subchannels ?? []) {
        const result = await readyOf(this.attempt(subchannel));
        if (!(result instanceof Error)) {
          if (this.ready.length === 0 && result.usable) this.ready = [result];
          return result;
        }
        errors.push({ address: subchannel.address, error: result });
      }
      return allFailed(errors, this.options);
    })().finally(() => {
      this.connectingInOrder = undefined;
    });
    return this.connectingInOrder;
  }
}

/** The connection once it is up, or why it did not come up. */
async function readyOf(pick: ChannelPick): Promise<GrpcConnection | Error> {
  const connection = pick instanceof GrpcConnection ? pick : await pick;
  if (connection instanceof Error) return connection;
  const error = await connection.ready;
  return error ?? (connection.usable ? connection : new Error('the connection was lost as soon as it was made'));
}

/** The first attempt to come up, or every attempt's error once all have failed. */
function firstReady(
  attempts: readonly { subchannel: Subchannel; attempt: ChannelPick }[],
  options: GrpcChannelOptions,
): Promise<GrpcConnection | Error> {
  return new Promise((resolve) => {
    const errors: { address: string; error: Error }[] = [];
    let done = false;
    for (const { subchannel, attempt } of attempts) {
      void readyOf(attempt).then((result) => {
        if (done) return;
        if (!(result instanceof Error)) {
          done = true;
          resolve(result);
          return;
        }
        errors.push({ address: subchannel.address, error: result });
        if (errors.length === attempts.length) {
          done = true;
          resolve(allFailed(errors, options));
        }
      });
    }
  });
}

/** One error for a call when no address could be reached; the first address's error is its cause. */
function allFailed(errors: readonly { address: string; error: Error }[], options: GrpcChannelOptions): Error {
  const first = errors[0];
  if (errors.length === 1 && first !== undefined) return first.error;
  const each = errors.map(({ address, error }) => `${address}: ${describeError(error)}`).join('; ');
  return new Error(`could not connect to any of the ${errors.length} addresses of ${options.host} (${each})`, {
    cause: first?.error,
  });
}

async function settle(pick: ChannelPick): Promise<void> {
  await readyOf(pick);
}

function describeError(error: unknown): string {
  const root =
    error instanceof Error && error.cause instanceof Error && errorCode(error) === 'ERR_HTTP2_STREAM_CANCEL'
      ? error.cause
      : error;
  const message = root instanceof Error ? root.message : String(root);
  const code = errorCode(root);
  return code === undefined || message.includes(code) ? message : `${message} (${code})`;
}
