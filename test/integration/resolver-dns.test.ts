/**
 * The dns resolver against a real DNS server on loopback: dnsmasq (Debian's
 * `dnsmasq-base`, installed by `.ci/run`) serving a hosts file that the test rewrites
 * while the resolver runs; SIGHUP makes dnsmasq re-read it. The test waits on the
 * resolver's change events and telemetry, never on the wall clock.
 */

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { DnsResolver } from '../../src/components/exporter-loadbalancing/resolvers/dns.ts';
import type {
  ResolverName,
  ResolverTelemetry,
} from '../../src/components/exporter-loadbalancing/resolvers/resolver.ts';

const NAME = 'backends.otel-lb.test';

/** dnsmasq's path, or undefined when it is not installed. */
function findDnsmasq(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v dnsmasq'], { encoding: 'utf8' }).stdout.trim();
  for (const candidate of [onPath, '/usr/sbin/dnsmasq', '/sbin/dnsmasq']) {
    if (candidate === '') continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

const DNSMASQ = findDnsmasq();
const SKIP =
  DNSMASQ === undefined
    ? 'dnsmasq is not installed (Debian package dnsmasq-base; .ci/run installs it): skipping the real-DNS tests'
    : false;
if (SKIP !== false) console.log(`# ${SKIP}`);

/** A free UDP port on 127.0.0.1 (dnsmasq also binds TCP on it; a clash is retried). */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  socket.close();
  return port;
}

/** A dnsmasq serving one hosts file, authoritative for `otel-lb.test`. */
class Dnsmasq {
  readonly hostsFile: string;
  port = 0;
  private child: ChildProcess | undefined;

  constructor(hostsFile: string) {
    this.hostsFile = hostsFile;
  }

  /** Starts dnsmasq (on `port`, or a fresh free one) and waits until it has read the hosts file. */
  async start(port?: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.port = port ?? (await freeUdpPort());
      try {
        await this.spawnOnce();
        return;
      } catch (error) {
        if (port !== undefined || attempt >= 5) throw error;
      }
    }
  }

  /** Re-reads the hosts file (SIGHUP). */
  reload(): void {
    this.child?.kill('SIGHUP');
  }

  /** Stops dnsmasq and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }

  private spawnOnce(): Promise<void> {
    const child = spawn(
      DNSMASQ ?? 'dnsmasq',
      [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        `--addn-hosts=${this.hostsFile}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        `--port=${this.port}`,
        '--local=/otel-lb.test/',
        '--no-negcache',
        '--pid-file=',
        '--log-facility=-',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    return new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (output.includes(`read ${this.hostsFile}`)) {
          child.stderr.off('data', onData);
          child.stdout.off('data', onData);
          resolve();
        }
      };
      child.stderr.on('data', onData);
      child.stdout.on('data', onData);
      child.once('exit', (code) => {
        reject(new Error(`dnsmasq exited with code ${code} before serving on port ${this.port}:\n${output}`));
      });
    });
  }
}

/** Counts what the resolver reports and lets the test wait for it. */
class Recorder implements ResolverTelemetry {
  successes = 0;
  failures = 0;
  updates = 0;
  readonly changes: (readonly string[])[] = [];
  private waiters: (() => void)[] = [];

  resolution(_resolver: ResolverName, success: boolean): void {
    if (success) this.successes++;
    else this.failures++;
    this.wake();
  }

  backendsChanged(): void {
    this.updates++;
    this.wake();
  }

  readonly onChange = (endpoints: readonly string[]): void => {
    this.changes.push(endpoints);
    this.wake();
  };

  /** Resolves once `condition` holds. */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** The change event number `n` (0-based), once it has come. */
  async change(n: number): Promise<readonly string[]> {
    await this.until(() => this.changes.length > n);
    return this.changes[n] ?? [];
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

describe('DnsResolver against dnsmasq', { skip: SKIP, timeout: 60_000 }, () => {
  let dir = '';
  let hostsFile = '';
  let dnsmasq: Dnsmasq;

  const writeHosts = async (...lines: string[]): Promise<void> => {
    await writeFile(hostsFile, lines.map((line) => `${line}\n`).join(''));
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'otel-lb-dns-'));
    // dnsmasq started as root drops to `nobody`, which must still read the file on reload.
    await chmod(dir, 0o755);
    hostsFile = path.join(dir, 'hosts');
    await writeHosts(`10.0.0.2 ${NAME}`, `10.0.0.1 ${NAME}`);
    await chmod(hostsFile, 0o644);
    dnsmasq = new Dnsmasq(hostsFile);
    await dnsmasq.start();
  });

  after(async () => {
    await dnsmasq.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('follows the records as they change, keeps the set through failures and a server restart', async () => {
    // prepare
    const recorder = new Recorder();
    const errors: Error[] = [];
    const resolver = new DnsResolver({
      hostname: NAME,
      port: '34621',
      server: `127.0.0.1:${dnsmasq.port}`,
      intervalMs: 20,
      timeoutMs: 200,
      telemetry: recorder,
      onError: (error) => errors.push(error),
    });
    resolver.onChange(recorder.onChange);
    const stop = new AbortController();

    try {
      // test: the first lookup finds both A records
      await resolver.start(stop.signal);
      assert.deepEqual(await recorder.change(0), ['10.0.0.1:34621', '10.0.0.2:34621']);

      // records change while the resolver runs: one removed, one added, an AAAA record added
      await writeHosts(`10.0.0.2 ${NAME}`, `10.0.0.3 ${NAME}`, `fd00::7 ${NAME}`);
      dnsmasq.reload();
      assert.deepEqual(await recorder.change(1), ['10.0.0.2:34621', '10.0.0.3:34621', '[fd00::7]:34621']);

      // the same records in another order change nothing: the next event is the next real change
      await writeHosts(`fd00::7 ${NAME}`, `10.0.0.3 ${NAME}`, `10.0.0.2 ${NAME}`);
      dnsmasq.reload();
      const successesBefore = recorder.successes;
      await recorder.until(() => recorder.successes >= successesBefore + 3);
      await writeHosts(`fd00::7 ${NAME}`, `10.0.0.3 ${NAME}`);
      dnsmasq.reload();
      assert.deepEqual(await recorder.change(2), ['10.0.0.3:34621', '[fd00::7]:34621']);
      assert.equal(recorder.updates, 3);

      // the name disappears (NXDOMAIN): failures are counted, the last set stays
      await writeHosts(`10.9.9.9 other.otel-lb.test`);
      dnsmasq.reload();
      const failuresBefore = recorder.failures;
      await recorder.until(() => recorder.failures >= failuresBefore + 2);
      assert.deepEqual(resolver.endpoints, ['10.0.0.3:34621', '[fd00::7]:34621']);
      assert.match(
        errors.at(-1)?.message ?? '',
        /looking up "backends.otel-lb.test" with DNS server 127\.0\.0\.1:\d+ failed/,
      );

      // the server goes away (timeouts), then comes back on the same port with new records
      await dnsmasq.stop();
      const failuresWhileDown = recorder.failures;
      await recorder.until(() => recorder.failures >= failuresWhileDown + 2);
      assert.deepEqual(resolver.endpoints, ['10.0.0.3:34621', '[fd00::7]:34621']);
      await writeHosts(`10.0.0.4 ${NAME}`);
      await dnsmasq.start(dnsmasq.port);
      assert.deepEqual(await recorder.change(3), ['10.0.0.4:34621']);

      // verify: every change was published exactly once
      assert.equal(recorder.changes.length, 4);
      assert.equal(recorder.updates, 4);
    } finally {
      stop.abort();
      await resolver.shutdown();
    }
  });
});
