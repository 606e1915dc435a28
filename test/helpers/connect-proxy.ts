/**
 * An HTTP CONNECT proxy on 127.0.0.1 for proxy tests: it records every CONNECT (target and
 * `Proxy-Authorization`), resolves target host names through a map of the test's (so that
 * names like `backend.test` reach loopback servers without DNS), and tunnels bytes both ways.
 * `refuseWith` makes it answer CONNECT with that status instead. Plain-HTTP requests in
 * absolute-URI form (`POST http://host:port/path`) are forwarded and recorded too.
 */

import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';

/** One CONNECT the proxy received. */
export interface ConnectRecord {
  /** `host:port` as requested. */
  readonly target: string;
  readonly proxyAuthorization: string | undefined;
}

export class ConnectProxy {
  readonly connects: ConnectRecord[] = [];
  /** Absolute-URI requests forwarded, as `METHOD url`. */
  readonly forwarded: string[] = [];
  /** When set, every CONNECT is answered with this status and no tunnel. */
  refuseWith: number | undefined;
  port = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(hosts: Readonly<Record<string, string>>) {
    this.server = http.createServer((request, response) => {
      const target = URL.parse(request.url ?? '');
      if (target === null) {
        response.statusCode = 400;
        response.end('absolute-URI requests and CONNECT only\n');
        return;
      }
      this.forwarded.push(`${request.method ?? ''} ${target.href}`);
      const upstream = http.request(
        {
          host: hosts[target.hostname] ?? target.hostname,
          port: Number(target.port) || 80,
          method: request.method,
          path: `${target.pathname}${target.search}`,
          headers: request.headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', () => {
        response.statusCode = 502;
        response.end();
      });
      request.pipe(upstream);
    });
    this.server.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      const target = request.url ?? '';
      this.connects.push({ target, proxyAuthorization: request.headers['proxy-authorization'] });
      if (this.refuseWith !== undefined) {
        client.end(`HTTP/1.1 ${this.refuseWith} Refused\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target);
      const host = match?.[1] ?? match?.[2] ?? '';
      const upstream = net.connect({ host: hosts[host] ?? host, port: Number(match?.[3]) });
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      upstream.once('connect', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      client.on('close', () => upstream.destroy());
    });
  }

  /** Starts a proxy that resolves the host names in `hosts` to the addresses given. */
  static async start(hosts: Readonly<Record<string, string>> = {}): Promise<ConnectProxy> {
    const proxy = new ConnectProxy(hosts);
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
