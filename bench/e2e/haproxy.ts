/**
 * HAProxy for the `haproxy` SUT: finding it (installing the Debian package when allowed and
 * possible), its configuration, and reading its CPU time and peak memory from `/proc`.
 */

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Whether HAProxy can run here, and its version or why not. */
export type HaproxyAvailability = { ok: true; version: string } | { ok: false; reason: string };

function version(): string | undefined {
  const result = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  return /version (\S+)/.exec(result.stdout)?.[1] ?? 'unknown';
}

/**
 * Finds `haproxy` on PATH; when it is missing and `install` is set, runs
 * `apt-get install -y haproxy` (as root only; `apt-get update` first if the package is not
 * known yet). Never throws: the reason is for the report.
 */
export function ensureHaproxy(install: boolean, log: (line: string) => void): HaproxyAvailability {
  const found = version();
  if (found !== undefined) return { ok: true, version: found };
  if (!install) return { ok: false, reason: 'haproxy is not installed (the smoke run does not install it)' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'haproxy is not installed and this is not root' };
  if (spawnSync('apt-get', ['--version']).status !== 0)
    return { ok: false, reason: 'haproxy is not installed, no apt-get' };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log('installing haproxy: apt-get install -y haproxy');
  let result = spawnSync('apt-get', ['install', '-y', '-q', 'haproxy'], { encoding: 'utf8', env });
  if (result.status !== 0) {
    log('apt-get install failed; apt-get update, then again');
    spawnSync('apt-get', ['update', '-q'], { encoding: 'utf8', env });
    result = spawnSync('apt-get', ['install', '-y', '-q', 'haproxy'], { encoding: 'utf8', env });
  }
  const installed = version();
  if (installed !== undefined) return { ok: true, version: installed };
  const tail = result.stderr.trim().split('\n').slice(-2).join(' / ');
  return { ok: false, reason: `apt-get install -y haproxy failed (exit ${String(result.status)}): ${tail}` };
}

/**
 * The configuration: an h2c (cleartext HTTP/2) frontend on `port`, round-robin per request
 * over the sinks, with HTTP/2 to them and connection reuse; what a gRPC-capable L7 proxy
 * is set up as. Threads: HAProxy's default (one per CPU). Window sizes raised to 1 MiB, as
 * large as our own client's and server's, so that flow control does not hold it back.
 */
export function haproxyConfig(port: number, endpoints: readonly string[]): string {
  return [
    'global',
    '  maxconn 4000',
    '  tune.h2.initial-window-size 1048576',
    '  tune.h2.max-concurrent-streams 1000',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    'frontend otlp',
    `  bind 127.0.0.1:${port} proto h2`,
    '  default_backend sinks',
    'backend sinks',
    '  balance roundrobin',
    '  http-reuse always',
    ...endpoints.map((e, i) => `  server sink${i} ${e} proto h2`),
    '',
  ].join('\n');
}

/**
 * CPU seconds (user + system, every thread) and peak RSS (VmHWM) of process `pid`;
 * `ticksPerSecond` is `getconf CLK_TCK`.
 */
export function procUsage(pid: number, ticksPerSecond: number): { cpuS: number; peakRssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwmKb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return { cpuS: ticks / ticksPerSecond, peakRssMb: (hwmKb * 1024) / 1e6 };
}
