/**
 * A real DNS server on loopback for the dns resolver's tests: dnsmasq (Debian's
 * `dnsmasq-base`, installed by `.ci/run`) serving a hosts file that the test rewrites while
 * the resolver runs; {@link Dnsmasq.setRecords} rewrites it and sends SIGHUP, which makes
 * dnsmasq re-read it. dnsmasq answers only for `otel-lb.test` and never forwards.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** dnsmasq's path, or undefined when it is not installed. */
export function findDnsmasq(): string | undefined {
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

/** A free UDP port on 127.0.0.1 (dnsmasq also binds TCP on it; a clash is retried). */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  socket.close();
  return port;
}

/** A dnsmasq on 127.0.0.1 serving one hosts file of its own, authoritative for `otel-lb.test`. */
export class Dnsmasq {
  readonly binary: string;
  port = 0;
  private dir = '';
  private hostsFile = '';
  private child: ChildProcess | undefined;

  private constructor(binary: string) {
    this.binary = binary;
  }

  /**
   * Writes `records` (`"address name"` lines) and starts dnsmasq on a free port; resolves
   * once it has read them.
   */
  static async start(binary: string, records: readonly string[]): Promise<Dnsmasq> {
    const dnsmasq = new Dnsmasq(binary);
    dnsmasq.dir = await mkdtemp(path.join(tmpdir(), 'otel-lb-dns-'));
    // dnsmasq started as root drops to `nobody`, which must still read the file on reload.
    await chmod(dnsmasq.dir, 0o755);
    dnsmasq.hostsFile = path.join(dnsmasq.dir, 'hosts');
    await dnsmasq.writeRecords(records);
    await chmod(dnsmasq.hostsFile, 0o644);
    for (let attempt = 0; ; attempt++) {
      dnsmasq.port = await freeUdpPort();
      try {
        await dnsmasq.spawnOnce();
        return dnsmasq;
      } catch (error) {
        if (attempt >= 5) {
          await rm(dnsmasq.dir, { recursive: true, force: true });
          throw error;
        }
      }
    }
  }

  /** `host:port` of the server, for the dns resolver's `server`. */
  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Replaces the records and makes dnsmasq re-read them (SIGHUP); returns at once. */
  async setRecords(records: readonly string[]): Promise<void> {
    await this.writeRecords(records);
    this.child?.kill('SIGHUP');
  }

  /**
   * Stops dnsmasq, as a DNS server that goes away, and waits for it to exit; keeps its port
   * and records for {@link Dnsmasq.restart}. {@link Dnsmasq.setRecords} still rewrites them.
   */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child !== undefined && child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  }

  /** Starts dnsmasq again on the same port, after {@link Dnsmasq.kill}; resolves once it has read the records. */
  restart(): Promise<void> {
    return this.spawnOnce();
  }

  /** Stops dnsmasq, waits for it to exit, and removes its files. */
  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async writeRecords(records: readonly string[]): Promise<void> {
    await writeFile(this.hostsFile, records.map((line) => `${line}\n`).join(''));
  }

  private spawnOnce(): Promise<void> {
    const child = spawn(
      this.binary,
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
          // Keep draining, so that dnsmasq never blocks on a full pipe.
          child.stderr.resume();
          child.stdout.resume();
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
