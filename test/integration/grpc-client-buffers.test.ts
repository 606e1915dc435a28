/**
 * The gRPC client's read_buffer_size / write_buffer_size mapping (see GrpcClientOptions):
 * what a server sees of it is the HTTP/2 stream window the client grants
 * (SETTINGS_INITIAL_WINDOW_SIZE), at least the default 1 MiB.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { Signal } from '../../src/otlp/signal.ts';
import { EXPORT_OK } from '../../src/transport/export-result.ts';
import { GrpcClient, type GrpcClientOptions } from '../../src/transport/grpc-client.ts';
import { startGrpcOkServer } from '../helpers/grpc-ok-server.ts';

const MiB = 1024 * 1024;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The stream window a client grants, as the server sees it in the client's SETTINGS. */
async function grantedWindow(options: Partial<GrpcClientOptions>): Promise<number | undefined> {
  const windows: (number | undefined)[] = [];
  const server = await startGrpcOkServer({
    onStream: (stream) => windows.push(stream.session?.remoteSettings.initialWindowSize),
  });
  cleanups.push(() => server.close());
  const client = new GrpcClient({
    endpoint: `127.0.0.1:${server.port}`,
    proxyEnvironment: {},
    ...options,
  });
  cleanups.push(() => client.close());

  assert.deepEqual(await client.export({ signal: Signal.TRACES, bytes: new Uint8Array(8), items: 1 }), EXPORT_OK);
  return windows[0];
}

describe('gRPC client buffer sizes', () => {
  it('grants the default 1 MiB stream window; a smaller read_buffer_size changes nothing', async () => {
    assert.equal(await grantedWindow({}), MiB);
    assert.equal(await grantedWindow({ readBufferSizeBytes: 32 * 1024, writeBufferSizeBytes: 512 * 1024 }), MiB);
  });

  it('a read_buffer_size above 1 MiB raises the window granted to the server', async () => {
    assert.equal(await grantedWindow({ readBufferSizeBytes: 8 * MiB }), 8 * MiB);
  });
});
