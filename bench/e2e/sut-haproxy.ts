/**
 * SUT `haproxy`: HAProxy as a round-robin h2c proxy over the sinks (`haproxy.ts` has the
 * configuration). Not trace-aware: each request goes whole to the next sink, so the spans
 * of a trace, which arrive in several requests, land on several sinks. Compressed requests
 * pass through as they are (HAProxy does not touch gRPC payloads), so with gzip it does
 * less work than the SUTs that must look inside.
 *
 * This Node process only hosts HAProxy: it starts it in the foreground, reports HAProxy's
 * own CPU time and peak RSS from `/proc`, and kills it when the runner goes away.
 */

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { haproxyConfig, procUsage } from './haproxy.ts';
import { announce, serve } from './rpc.ts';
import { parseSutArgs } from './sut-args.ts';

const args = parseSutArgs();
const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** A free port on 127.0.0.1, picked by the OS (HAProxy cannot report one it picked itself). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once something accepts TCP connections on `port`, or rejects after `timeoutMs`. */
async function waitForListener(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        resolve(false);
      });
    });
    if (connected) return;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'otel-lb-bench-haproxy-'));
const port = await freePort();
const configFile = path.join(dir, 'haproxy.cfg');
writeFileSync(configFile, haproxyConfig(port, args.endpoints));
const haproxy = spawn('haproxy', ['-f', configFile, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
const cleanup = (): void => {
  haproxy.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.once('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanup();
    // eslint-disable-next-line no-restricted-syntax -- HAProxy is gone; so is its host
    process.exit(1);
  });
}
haproxy.once('exit', (code, signal) => {
  console.error(`haproxy exited (${signal ?? `code ${String(code)}`})`);
  // eslint-disable-next-line no-restricted-syntax -- the host has nothing to do without HAProxy
  process.exit(1);
});
const pid = haproxy.pid;
if (pid === undefined) throw new Error('haproxy did not start');
await waitForListener(port, 5_000);
serve({ stats: () => procUsage(pid, ticksPerSecond) }, cleanup);
announce({ port });
