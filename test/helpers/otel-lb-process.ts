/**
 * `otel-lb` as a child process, for end-to-end tests: started on the same Node.js as the
 * tests with JSON logs, so that a test can wait for a log event (the address a server bound,
 * a reload) instead of sleeping.
 */

import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

/** One JSON log event of the process. */
export type LogEvent = Readonly<Record<string, unknown>>;

/** A running `otel-lb` process. */
export class OtelLbProcess {
  readonly child: ChildProcess;
  readonly events: LogEvent[] = [];
  stderr = '';
  stdout = '';
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  private waiters: { readonly match: (e: LogEvent) => boolean; readonly resolve: (e: LogEvent) => void }[] = [];
  private partial = '';

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.exited = once(this.child, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.partial += chunk;
      const lines = this.partial.split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    });
  }

  /** Resolves with the first event (past or future) for which `match` holds; rejects if the process exits first. */
  waitFor(match: (e: LogEvent) => boolean): Promise<LogEvent> {
    const seen = this.events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ match, resolve });
      void this.exited.then(({ code }) => {
        reject(new Error(`otel-lb exited (code ${String(code)}) before the awaited event; stderr:\n${this.stderr}`));
      });
    });
  }

  /** Resolves with the first event whose message is `msg` (and, if given, whose component is `component`). */
  waitForMessage(msg: string, component?: string): Promise<LogEvent> {
    return this.waitFor((e) => e['msg'] === msg && (component === undefined || e['component_id'] === component));
  }

  /** Sends `signal` and resolves with the exit. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  private onLine(line: string): void {
    let event: LogEvent;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== 'object' || parsed === null) return;
      event = parsed as LogEvent;
    } catch {
      return;
    }
    this.events.push(event);
    const still = [];
    for (const w of this.waiters) {
      if (w.match(event)) w.resolve(event);
      else still.push(w);
    }
    this.waiters = still;
  }
}

/** `otel-lb` with `args` in a child process on the same Node.js as the tests, every stdio a pipe. */
export function spawnOtelLb(args: readonly string[]): ChildProcessByStdio<Writable, Readable, Readable> {
  return spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** How a run of `otel-lb` ended, and what it printed. */
export interface OtelLbRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `otel-lb` with `args` to its end (a one-shot command: `fmt`, `route`, `validate`),
 * with `stdin` as its standard input. Rejects only when the process cannot be started.
 */
export function runOtelLb(args: readonly string[], stdin = ''): Promise<OtelLbRun> {
  return new Promise((resolve, reject) => {
    const child = spawnOtelLb(args);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

/** A temporary directory with a configuration file in it; `cleanup` removes it. */
export function writeConfig(text: string): {
  readonly dir: string;
  readonly file: string;
  rewrite(text: string): void;
  cleanup(): void;
} {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otel-lb-test-'));
  const file = path.join(dir, 'config.alloy');
  writeFileSync(file, text);
  return {
    dir,
    file,
    rewrite: (next) => {
      writeFileSync(file, next);
    },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `otel-lb run` on `config` with JSON logs and a status server on a free port. */
export async function startRun(
  configFile: string,
  options: { readonly env?: NodeJS.ProcessEnv; readonly extraArgs?: readonly string[] } = {},
): Promise<{ readonly process: OtelLbProcess; readonly statusUrl: string }> {
  const proc = new OtelLbProcess(
    ['run', '--log.format=json', '--server.http.listen-addr=127.0.0.1:0', ...(options.extraArgs ?? []), configFile],
    options.env,
  );
  const listening = await proc.waitForMessage('now listening for http traffic');
  return { process: proc, statusUrl: `http://${String(listening['addr'])}` };
}
