/**
 * A TCP relay on 127.0.0.1 that forwards each connection to a target and can be frozen: a
 * frozen relay keeps its connections open but passes nothing either way, which is how a
 * dead peer (a crashed host, a black-holed network) looks to a client. Connections accepted
 * after `freeze()` are forwarded normally, so a client that reconnects gets through.
 */

import { EventEmitter, once } from 'node:events';
import net from 'node:net';

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  frozen: boolean;
}

export class TcpRelay extends EventEmitter {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private accepted = 0;
  port = 0;

  private constructor(targetPort: number, targetHost: string) {
    super();
    this.server = net.createServer((client) => {
      this.accepted++;
      const upstream = net.connect({ host: targetHost, port: targetPort });
      const pair: Pair = { client, upstream, frozen: false };
      this.pairs.add(pair);
      const forward = (from: net.Socket, to: net.Socket) => (chunk: Buffer) => {
        if (!pair.frozen) to.write(chunk);
      };
      client.on('data', forward(client, upstream));
      upstream.on('data', forward(upstream, client));
      const close = (): void => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', () => {
        close();
        this.emit('client-closed');
      });
      upstream.on('close', close);
    });
  }

  /** Starts a relay to `targetHost:targetPort`. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
    const relay = new TcpRelay(targetPort, targetHost);
    relay.server.listen(0, '127.0.0.1');
    await once(relay.server, 'listening');
    relay.port = (relay.server.address() as net.AddressInfo).port;
    return relay;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.accepted;
  }

  /** Stops forwarding on every open connection (they stay open). */
  freeze(): void {
    for (const pair of this.pairs) pair.frozen = true;
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }
}
