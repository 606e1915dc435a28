/**
 * Request metadata end to end: a receiver with `include_metadata = true` keeps each request's
 * metadata with its items, through the load balancer's split and queues, so that
 * `otelcol.auth.headers` `from_context` sends it on to the backends (per-tenant headers).
 * Without `include_metadata` nothing is copied. grpc-js backends record what they receive.
 */

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';

import { headersAuthDefinition } from '../../src/components/auth/headers.ts';
import { loadBalancingDefinition } from '../../src/components/exporter-loadbalancing/definition.ts';
import { receiverOtlpDefinition } from '../../src/components/receiver-otlp/definition.ts';
import { GrpcClient } from '../../src/transport/grpc-client.ts';
import { startComponent } from '../helpers/component-harness.ts';
import { GrpcJsBackend, Watch } from '../helpers/grpcjs-backend.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('request metadata', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  for (const includeMetadata of [true, false]) {
    it(`${includeMetadata ? 'carries' : 'does not carry'} x-tenant from the client to every backend with include_metadata = ${String(includeMetadata)}`, async () => {
      const watch = new Watch();
      const backends = [await GrpcJsBackend.start({ watch }), await GrpcJsBackend.start({ watch })];
      cleanups.push(
        ...backends.map((b) => () => {
          b.close();
          return Promise.resolve();
        }),
      );
      const headers = await startComponent(
        headersAuthDefinition,
        'header {\n  key = "x-tenant"\n  from_context = "x-tenant"\n}\nheader {\n  key = "x-static"\n  value = "yes"\n}',
        { label: 'tenant' },
      );
      cleanups.push(() => headers.stop());
      const lb = await startComponent(
        loadBalancingDefinition,
        `resolver {
          static {
            hostnames = [${backends.map((b) => `"${b.endpoint}"`).join(', ')}]
          }
        }
        protocol {
          otlp {
            client {
              auth = otelcol.auth.headers.tenant.handler
              tls {
                insecure = true
              }
            }
          }
        }`,
        { exports: { 'otelcol.auth.headers.tenant': headers.exports }, label: 'lb' },
      );
      cleanups.push(() => lb.stop());
      const port = await freePort();
      const receiver = await startComponent(
        receiverOtlpDefinition,
        `grpc {
          endpoint         = "127.0.0.1:${port}"
          include_metadata = ${String(includeMetadata)}
        }
        output {
          traces = [otelcol.exporter.loadbalancing.lb.input]
        }`,
        { exports: { 'otelcol.exporter.loadbalancing.lb': lb.exports } },
      );
      cleanups.push(() => receiver.stop());
      const acme = new GrpcClient({
        endpoint: `127.0.0.1:${port}`,
        compression: 'none',
        headers: { 'x-tenant': 'acme' },
      });
      const globex = new GrpcClient({
        endpoint: `127.0.0.1:${port}`,
        compression: 'none',
        headers: { 'x-tenant': 'globex' },
      });
      cleanups.push(
        () => acme.close(),
        () => globex.close(),
      );

      const bytes = (seed: number): Uint8Array => buildTracesRequest({ traces: 20, spansPerTrace: 3, seed });
      for (let i = 0; i < 4; i++) {
        assert.equal((await acme.export({ signal: 'traces', bytes: bytes(i), items: 60 })).kind, 'ok');
        assert.equal((await globex.export({ signal: 'traces', bytes: bytes(100 + i), items: 60 })).kind, 'ok');
      }
      await watch.until(() => backends.reduce((n, x) => n + x.seenItems().size, 0) >= 480);

      const calls = backends.flatMap((b) => b.calls);
      assert.ok(calls.length > 0);
      for (const call of calls) assert.equal(call.metadata['x-static'], 'yes');
      const tenants = new Set(calls.map((c) => c.metadata['x-tenant']));
      assert.deepEqual([...tenants].sort(), includeMetadata ? ['acme', 'globex'] : [undefined]);
    });
  }
});
