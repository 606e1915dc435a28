/**
 * HTTP proxies for exporters: which proxy (if any) a connection to `host:port` goes through,
 * from `HTTPS_PROXY` / `NO_PROXY` (or an explicit proxy URL), and the HTTP CONNECT tunnel
 * through it, whose socket the gRPC and HTTP clients then speak (TLS and) HTTP/2 over.
 *
 * The rules are Go's (`golang.org/x/net/http/httpproxy`, what grpc-go and the Collector use):
 *
 * - `HTTPS_PROXY` (else `https_proxy`) names the proxy; without it nothing is proxied and
 *   `NO_PROXY` is not read. (For `http://` targets of the HTTP client it is `HTTP_PROXY`,
 *   else `http_proxy`, as in Go's `net/http`.) A value without a scheme means `http://`; `https://` talks TLS to
 *   the proxy. Credentials in the URL are sent as `Proxy-Authorization: Basic`.
 * - `NO_PROXY` (else `no_proxy`) is a comma-separated list; entries are trimmed and
 *   lower-cased, and each may carry a `:port`:
 *   `*` (nothing is proxied), an IP (`1.2.3.4`, `[::1]`), a CIDR (`10.0.0.0/8`, which ignores
 *   ports), a domain (`example.com`: it and its subdomains), a `.domain` or `*.domain`
 *   (subdomains only).
 * - `localhost` and loopback addresses are never proxied.
 * - An explicit proxy URL (the HTTP client's `proxy_url`, Go's `http.ProxyURL`) proxies
 *   everything, loopback included, and reads no `NO_PROXY`.
 * - The target's host name is not resolved locally: the CONNECT request carries it, and the
 *   proxy resolves it (grpc-go since `grpc.NewClient`).
 *
 * A proxied gRPC connection needs a proxy that passes HTTP/2 through a CONNECT tunnel (most
 * do: the tunnel is opaque bytes).
 */

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

import { TransportError, TransportErrorCode } from './transport-error.ts';

/** Environment variables, as `process.env` has them. */
export type ProxyEnvironment = Readonly<Record<string, string | undefined>>;

/** How long a CONNECT may take, from dialling the proxy to its answer; grpc-go's minimum connect timeout. */
const DEFAULT_TUNNEL_TIMEOUT_MS = 20_000;

/**
 * A proxy and the hosts that bypass it. Immutable; {@link proxyFor} is pure and cheap (called
 * once per new connection).
 */
export class ProxyConfig {
  /** The proxy, with any credentials. */
  readonly url: URL;
  private readonly noProxy: NoProxy;

  private constructor(url: URL, noProxy: NoProxy) {
    this.url = url;
    this.noProxy = noProxy;
  }

  /**
   * The proxy `HTTPS_PROXY`/`NO_PROXY` (or their lower-case forms) ask for, or undefined
   * when `HTTPS_PROXY` is unset or empty. With `scheme` `http` (plain-HTTP targets of the
   * HTTP client) the variable is `HTTP_PROXY` instead.
   *
   * @throws TransportError `ERR_PROXY_URL_INVALID` when the variable is not a proxy URL.
   */
  static fromEnvironment(
    env: ProxyEnvironment = process.env,
    scheme: 'https' | 'http' = 'https',
  ): ProxyConfig | undefined {
    const name = scheme === 'https' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
    const proxy = firstSet(env, name, name.toLowerCase());
    if (proxy === undefined) return undefined;
    return new ProxyConfig(parseProxyUrl(proxy, name), new NoProxy(firstSet(env, 'NO_PROXY', 'no_proxy') ?? '', true));
  }

  /**
   * An explicit proxy (the HTTP client's `proxy_url`) for every target, loopback included.
   *
   * @throws TransportError `ERR_PROXY_URL_INVALID` when `url` is not a proxy URL.
   */
  static fromUrl(url: string): ProxyConfig {
    return new ProxyConfig(parseProxyUrl(url, 'proxy_url'), new NoProxy('', false));
  }

  /** The proxy to reach `host:port` through, or undefined to connect directly. */
  proxyFor(host: string, port: number): URL | undefined {
    return this.noProxy.bypasses(host, port) ? undefined : this.url;
  }

  /** The proxy URL without credentials, for messages. */
  get displayUrl(): string {
    return redacted(this.url);
  }
}

/** Options of {@link openTunnel}. */
export interface TunnelOptions {
  /** Gives up (rejecting with the signal's reason) when aborted. */
  readonly signal?: AbortSignal;
  /** Gives up after this long, in milliseconds. Default 20,000. */
  readonly timeoutMs?: number;
  /** Sent as `User-Agent` to the proxy. */
  readonly userAgent?: string;
}

/**
 * Opens an HTTP CONNECT tunnel to `host:port` through `proxy` and resolves to its socket,
 * ready for the bytes of the target's protocol (TLS or HTTP/2). Never leaks the socket: on
 * failure it is destroyed.
 *
 * @throws TransportError `ERR_PROXY_CONNECT_FAILED` (rejects) when the proxy cannot be
 *   reached, answers anything but 200, or takes too long.
 */
export function openTunnel(proxy: URL, host: string, port: number, options: TunnelOptions = {}): Promise<net.Socket> {
  const target = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  const where = `the proxy ${redacted(proxy)}`;
  return new Promise<net.Socket>((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { host: target };
    if (options.userAgent !== undefined) headers['user-agent'] = options.userAgent;
    if (proxy.username !== '' || proxy.password !== '') {
      const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
    }
    const requestOptions: http.RequestOptions = {
      host: proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: proxy.port === '' ? (proxy.protocol === 'https:' ? 443 : 80) : Number(proxy.port),
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
      timeout: options.timeoutMs ?? DEFAULT_TUNNEL_TIMEOUT_MS,
    };
    if (options.signal !== undefined) requestOptions.signal = options.signal;
    const request = proxy.protocol === 'https:' ? https.request(requestOptions) : http.request(requestOptions);
    let settled = false;
    const fail = (message: string, cause?: unknown): void => {
      if (settled) return;
      settled = true;
      reject(new TransportError(TransportErrorCode.PROXY_CONNECT_FAILED, message, { cause }));
    };
    request.once('connect', (response: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        fail(
          `${where} refused to tunnel to ${target}: HTTP ${response.statusCode ?? 0} ${response.statusMessage ?? ''}; check that it allows CONNECT to this host and port (or list the host in NO_PROXY)`,
        );
        return;
      }
      if (settled) {
        socket.destroy();
        return;
      }
      settled = true;
      socket.setTimeout(0);
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    request.once('timeout', () => {
      request.destroy();
      fail(`${where} did not open a tunnel to ${target} within ${requestOptions.timeout ?? 0} ms`);
    });
    request.on('error', (error: Error) => {
      if (options.signal?.aborted === true) {
        if (!settled) {
          settled = true;
          reject(options.signal.reason as Error);
        }
        return;
      }
      fail(`cannot reach ${where} to tunnel to ${target}: ${error.message}; check HTTPS_PROXY`, error);
    });
    request.end();
  });
}

/** Parses a proxy URL as Go does: a value without a scheme is `http://value`. */
function parseProxyUrl(value: string, source: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || url.host === '') {
    try {
      url = new URL(`http://${value}`);
    } catch (error) {
      throw new TransportError(
        TransportErrorCode.PROXY_URL_INVALID,
        `${source} ${JSON.stringify(value)} is not a proxy URL; use http://host:port`,
        { cause: error },
      );
    }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TransportError(
      TransportErrorCode.PROXY_URL_INVALID,
      `${source} uses the scheme ${url.protocol.replace(/:$/, '')}, which is not supported; use an http:// (or https://) proxy that supports CONNECT`,
    );
  }
  return url;
}

function firstSet(env: ProxyEnvironment, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

function redacted(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** One `NO_PROXY` domain entry: `.example.com` matches subdomains; `matchesHost` also example.com itself. */
interface DomainEntry {
  readonly suffix: string;
  readonly matchesHost: boolean;
  readonly port: string;
}

/** One `NO_PROXY` IP entry. */
interface IpEntry {
  readonly address: string;
  readonly port: string;
}

/** A parsed `NO_PROXY` list (see the module comment for its syntax). */
class NoProxy {
  private readonly all: boolean = false;
  private readonly exemptLoopback: boolean;
  private readonly cidrs = new net.BlockList();
  private readonly ips: IpEntry[] = [];
  private readonly domains: DomainEntry[] = [];

  constructor(list: string, exemptLoopback: boolean) {
    this.exemptLoopback = exemptLoopback;
    for (const raw of list.split(',')) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      if (entry === '*') {
        this.all = true;
        return;
      }
      const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
      if (cidr !== null) {
        const [, address = '', bits = ''] = cidr;
        const family = net.isIP(address);
        if (family !== 0 && Number(bits) <= (family === 4 ? 32 : 128)) {
          this.cidrs.addSubnet(address, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
        }
        continue;
      }
      let host = entry;
      let port = '';
      const withPort = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(entry);
      if (withPort !== null) {
        host = withPort[1] ?? '';
        port = withPort[2] ?? '';
      }
      host = host.replace(/^\[(.*)\]$/, '$1');
      if (host === '') continue;
      if (net.isIP(host) !== 0) {
        this.ips.push({ address: canonicalIp(host), port });
        continue;
      }
      if (host.startsWith('*.')) host = host.slice(1);
      const matchesHost = !host.startsWith('.');
      this.domains.push({ suffix: matchesHost ? `.${host}` : host, matchesHost, port });
    }
  }

  bypasses(rawHost: string, port: number): boolean {
    const host = rawHost
      .trim()
      .toLowerCase()
      .replace(/^\[(.*)\]$/, '$1');
    const family = net.isIP(host);
    if (this.exemptLoopback && (host === 'localhost' || (family !== 0 && isLoopback(host, family)))) return true;
    if (this.all) return true;
    const portText = String(port);
    if (family !== 0) {
      if (this.cidrs.check(host, family === 4 ? 'ipv4' : 'ipv6')) return true;
      const canonical = canonicalIp(host);
      if (this.ips.some((ip) => ip.address === canonical && (ip.port === '' || ip.port === portText))) return true;
    }
    return this.domains.some(
      (domain) =>
        (host.endsWith(domain.suffix) || (domain.matchesHost && host === domain.suffix.slice(1))) &&
        (domain.port === '' || domain.port === portText),
    );
  }
}

function isLoopback(host: string, family: number): boolean {
  if (family === 4) return host.startsWith('127.');
  const canonical = canonicalIp(host);
  return canonical === '::1' || canonical.startsWith('::ffff:127.');
}

/** An IP address in one spelling, so that `::1` and `0:0:0:0:0:0:0:1` compare equal. */
function canonicalIp(host: string): string {
  if (net.isIPv4(host)) return host;
  try {
    return new URL(`http://[${host}]/`).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return host;
  }
}
