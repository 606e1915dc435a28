/**
 * The `dns` resolver (contrib's `resolver_dns.go`): looks `hostname` up every `intervalMs`
 * and turns each A and AAAA record into `ip:port` (IPv6 as `[ip]:port`).
 *
 * - The set is sorted and de-duplicated; listeners hear only about changes.
 * - A lookup that fails, times out or finds no address is counted as a failed resolution
 *   and keeps the last good set, so a DNS hiccup never empties the ring.
 * - An empty or failed answer at start is not fatal (upstream deadlocked on it once,
 *   contrib #7051): `start` resolves and the resolver keeps trying every interval.
 * - Ours: `server = "HOST:PORT"` asks that DNS server (Consul's DNS on 8600, a test
 *   server) instead of the system's resolver.
 *
 * The next lookup starts `intervalMs` after the previous one ended, so lookups never
 * overlap.
 */

import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';

import { systemClock, type Clock } from '../../../internal/clock.ts';
import {
  DEFAULT_PORT,
  PollingResolver,
  ResolverName,
  endpointWithPort,
  joinHostPort,
  parsePort,
  positiveMs,
  splitHostPort,
  toError,
  withDeadline,
  type ResolverCommonOptions,
} from './resolver.ts';

/** Upstream's default interval between lookups. */
export const DEFAULT_DNS_INTERVAL_MS = 5_000;
/** Upstream's default lookup timeout. */
export const DEFAULT_DNS_TIMEOUT_MS = 1_000;
/** The port of a DNS server given without one. */
const DNS_PORT = 53;

/**
 * Looks `hostname` up and returns its IPv4 and IPv6 addresses (any order, duplicates
 * allowed). Rejects when the lookup fails. Should stop early when `signal` aborts; the
 * resolver stops waiting for it either way.
 */
export type DnsLookup = (hostname: string, signal: AbortSignal) => Promise<readonly string[]>;

/** Options of {@link DnsResolver}. */
export interface DnsResolverOptions extends ResolverCommonOptions {
  /** The name to look up; required. */
  readonly hostname: string;
  /** The backends' port, as a number or a decimal string. Default: 4317. */
  readonly port?: number | string;
  /** Time from the end of one lookup to the start of the next. Default: 5000. */
  readonly intervalMs?: number;
  /** How long one lookup may take. Default: 1000. */
  readonly timeoutMs?: number;
  /**
   * `"IP:PORT"` (or `"IP"` for port 53; IPv6 as `"[ip]:port"`) of the DNS server to ask
   * instead of the system's resolver. Default: the system resolver (`getaddrinfo`, which
   * also reads the hosts file).
   */
  readonly server?: string;
  /** Replaces the lookup, `server` included (tests). */
  readonly lookup?: DnsLookup;
  /** Default: the system clock. */
  readonly clock?: Clock;
}

/** Resolves a DNS name periodically into backend endpoints. */
export class DnsResolver extends PollingResolver {
  private readonly hostname: string;
  private readonly port: number;
  protected readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly lookup: DnsLookup;
  private readonly source: string;
  protected readonly clock: Clock;

  /**
   * @throws TypeError for an empty `hostname`, an invalid `port` or `server`, or an
   *   interval or timeout that is not a positive number of milliseconds.
   */
  constructor(options: DnsResolverOptions) {
    const where = 'dns resolver';
    super(ResolverName.DNS, where, options);
    if (options.hostname.trim() === '') {
      throw new TypeError(`${where}: \`hostname\` is empty: give the DNS name whose A/AAAA records list the backends`);
    }
    this.hostname = options.hostname.trim();
    this.port = parsePort(options.port ?? DEFAULT_PORT, `${where}: \`port\``);
    this.intervalMs = positiveMs(options.intervalMs ?? DEFAULT_DNS_INTERVAL_MS, `${where}: \`interval\``, '5s');
    this.timeoutMs = positiveMs(options.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS, `${where}: \`timeout\``, '5s');
    this.clock = options.clock ?? systemClock;
    if (options.lookup !== undefined) {
      this.lookup = options.lookup;
      this.source = 'the injected lookup';
    } else if (options.server !== undefined) {
      const server = parseDnsServer(options.server);
      this.lookup = serverLookup(server, this.timeoutMs);
      this.source = `DNS server ${server}`;
    } else {
      this.lookup = systemLookup;
      this.source = 'the system resolver';
    }
  }

  /** One lookup; never rejects. */
  protected async resolveOnce(): Promise<void> {
    const signal = this.stopSignal;
    if (this.isStopped()) return;
    let addresses: readonly string[];
    try {
      addresses = await withDeadline(
        this.clock,
        this.timeoutMs,
        signal,
        `looking up "${this.hostname}" with ${this.source}`,
        (lookupSignal) => this.lookup(this.hostname, lookupSignal),
      );
    } catch (error) {
      if (this.isStopped()) return;
      this.fail(toError(error));
      return;
    }
    if (this.isStopped()) return;
    if (addresses.length === 0) {
      this.fail(new Error(`the answer had no A or AAAA record`));
      return;
    }
    this.publisher.resolution(true);
    this.publisher.publish(addresses.map((ip) => joinHostPort(ip, this.port)));
  }

  private fail(cause: Error): void {
    this.publisher.fail(
      new Error(
        `dns resolver: looking up "${this.hostname}" with ${this.source} failed (${cause.message}); ` +
          `keeping the last ${this.publisher.endpoints.length} endpoint(s) and retrying in ${this.intervalMs} ms; ` +
          `check that the name exists and the DNS server answers`,
        { cause },
      ),
    );
  }
}

/**
 * Parses the `server` option: `"IP:PORT"`, `"IP"` (port 53), `"[IPv6]:PORT"` or a bare
 * IPv6 address. Returns it as `ip:port` / `[ip]:port`, the form `dns.setServers` takes.
 *
 * @throws TypeError when the host is not an IP address (the system resolver would be
 *   needed to find the DNS server itself) or the port is invalid.
 */
export function parseDnsServer(server: string): string {
  const where = 'dns resolver: `server`';
  const endpoint = endpointWithPort(server, DNS_PORT, where);
  const { host, port } = splitHostPort(endpoint);
  if (isIP(host) === 0) {
    throw new TypeError(
      `${where} "${server}" does not start with an IP address: give the DNS server as "IP:PORT", e.g. "127.0.0.1:8600"`,
    );
  }
  return joinHostPort(host, port);
}

/** The system resolver (`getaddrinfo`: the hosts file, then DNS). Cannot be cancelled. */
export const systemLookup: DnsLookup = async (hostname) => {
  const answers = await dnsPromises.lookup(hostname, { all: true, order: 'verbatim' });
  return answers.map((answer) => answer.address);
};

/**
 * Asks `server` (`ip:port`) for the A and AAAA records of a name, both at once. A family
 * without records (`ENODATA`, `ENOTFOUND`) adds nothing; any other error fails the whole
 * lookup, so that a half answer never shrinks the set. Cancelled when the signal aborts.
 */
export function serverLookup(server: string, timeoutMs: number): DnsLookup {
  return async (hostname, signal) => {
    const resolver = new dnsPromises.Resolver({ timeout: timeoutMs, tries: 1 });
    resolver.setServers([server]);
    const onAbort = (): void => {
      resolver.cancel();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const answers = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
      const addresses: string[] = [];
      const errors: Error[] = [];
      for (const answer of answers) {
        if (answer.status === 'fulfilled') addresses.push(...answer.value);
        else if (!isNoRecords(answer.reason)) errors.push(toError(answer.reason));
      }
      const [error] = errors;
      if (error !== undefined) throw error;
      if (addresses.length === 0 && answers[0].status === 'rejected') throw toError(answers[0].reason);
      return addresses;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };
}

function isNoRecords(error: unknown): boolean {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  return code === dnsPromises.NODATA || code === dnsPromises.NOTFOUND;
}
