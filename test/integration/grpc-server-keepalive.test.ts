/**
 * The receiver's `keepalive > server_parameters` on GrpcServer: a connection is closed after
 * `max_connection_age` (GOAWAY, so clients reconnect, e.g. to new replicas), after
 * `max_connection_idle` without calls, and when it does not answer the server's PING within
 * `timeout` after `time` of quiet (a frozen peer). Waits on connection events, never sleeps.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { after, describe, it } from 'node:test';

import { EXPORT_OK } from '../../src/transport/export-result.ts';
import { GrpcClient } from '../../src/transport/grpc-client.ts';
import { GrpcServer, type GrpcServerKeepalive } from '../../src/transport/grpc-server.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';

const consumer = { consume: () => Promise.resolve(EXPORT_OK) };

async function serve(keepalive: GrpcServerKeepalive): Promise<{ server: GrpcServer; port: number }> {
  const server = new GrpcServer({ host: '127.0.0.1', port: 0, consumers: { traces: consumer }, keepalive });
  const { port } = await server.listen();
  return { server, port };
}

describe('GrpcServer keepalive', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('sends GOAWAY to a connection older than max_connection_age, even a busy one, and the client reconnects', async () => {
    const { server, port } = await serve({ maxConnectionAgeMs: 200, maxConnectionAgeGraceMs: 1_000 });
    cleanups.push(() => server.close(0));
    const session = http2.connect(`http://127.0.0.1:${port}`);
    cleanups.push(() => {
      session.destroy();
      return Promise.resolve();
    });

    const [code] = (await once(session, 'goaway')) as [number];

    assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
    const client = new GrpcClient({ endpoint: `127.0.0.1:${port}`, compression: 'none' });
    cleanups.push(() => client.close());
    const result = await client.export({
      signal: 'traces',
      bytes: buildTracesRequest({ traces: 1, spansPerTrace: 1 }),
      items: 1,
    });
    assert.equal(result.kind, 'ok');
  });

  it('closes a connection that has had no call for max_connection_idle', async () => {
    const { server, port } = await serve({ maxConnectionIdleMs: 100 });
    cleanups.push(() => server.close(0));
    const session = http2.connect(`http://127.0.0.1:${port}`);
    cleanups.push(() => {
      session.destroy();
      return Promise.resolve();
    });

    const [code] = (await once(session, 'goaway')) as [number];
    await once(session, 'close');

    assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
    assert.equal(session.closed, true);
  });

  it('closes a connection whose peer stops answering PINGs after time of quiet', async () => {
    const { server, port } = await serve({ timeMs: 100, timeoutMs: 200 });
    cleanups.push(() => server.close(0));
    const relay = await TcpRelay.start(port);
    cleanups.push(() => relay.close());
    const session = http2.connect(`http://127.0.0.1:${relay.port}`);
    session.on('error', () => undefined);
    cleanups.push(() => {
      session.destroy();
      return Promise.resolve();
    });
    await once(session, 'remoteSettings');

    relay.freeze();
    await Promise.all([once(relay, 'client-closed'), once(session, 'close')]);

    assert.equal(session.destroyed, true);
  });
});
