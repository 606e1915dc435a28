/**
 * Requests and replies between the bench runner and its child processes, over the IPC
 * channel of `child_process.fork`. Each child announces itself once with `ready` (what it
 * listens on), then answers requests `{ id, op, args }` with `{ id, ok, value | error }`.
 *
 * A child whose parent goes away (the runner crashed, was killed, or the channel closed)
 * ends itself, so that no process of a run outlives the runner.
 */

import type { ChildProcess } from 'node:child_process';

/** Parent → child. */
interface RequestMessage {
  readonly id: number;
  readonly op: string;
  readonly args: unknown;
}

/** Child → parent. */
type ChildMessage =
  | { readonly kind: 'ready'; readonly value: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: string };

/** A handler per operation; what it returns (or resolves to) is the reply. */
export type Handlers = Readonly<Record<string, (args: never) => unknown>>;

/** The parent's end of one child's channel. */
export class ChildLink {
  readonly child: ChildProcess;
  /** The child's `ready` value; rejects if it exits first. */
  readonly ready: Promise<unknown>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited: Error | undefined;

  constructor(child: ChildProcess, name: string) {
    this.child = child;
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (raw: ChildMessage) => {
        if (raw.kind === 'ready') {
          resolve(raw.value);
          return;
        }
        const waiter = this.pending.get(raw.id);
        if (waiter === undefined) return;
        this.pending.delete(raw.id);
        if (raw.ok) waiter.resolve(raw.value);
        else waiter.reject(new Error(`${name}: ${raw.error}`));
      });
      child.once('exit', (code, signal) => {
        this.exited = new Error(`${name} exited (${signal ?? `code ${String(code)}`})`);
        reject(this.exited);
        for (const waiter of this.pending.values()) waiter.reject(this.exited);
        this.pending.clear();
      });
    });
    // A child that dies before saying ready is reported by whoever awaits `ready`.
    this.ready.catch(() => undefined);
  }

  /** Sends a request and resolves to the reply; rejects if the child fails it or exits. */
  call<T>(op: string, args: unknown = null): Promise<T> {
    if (this.exited !== undefined) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const message: RequestMessage = { id, op, args };
      this.child.send(message, (error) => {
        if (error === null) return;
        this.pending.delete(id);
        reject(error);
      });
    });
  }
}

/**
 * The child's end: answers requests with `handlers`, and runs `onParentGone` (then ends
 * the process) when the parent's channel closes.
 */
export function serve(handlers: Handlers, onParentGone: () => void = () => undefined): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('this module runs as a child of bench/e2e/run.ts (no IPC channel)');
  process.on('message', (raw: RequestMessage) => {
    const handler = handlers[raw.op];
    void (async () => {
      let reply: ChildMessage;
      try {
        if (handler === undefined) throw new Error(`unknown operation ${raw.op}`);
        reply = { kind: 'reply', id: raw.id, ok: true, value: await handler(raw.args as never) };
      } catch (error) {
        reply = { kind: 'reply', id: raw.id, ok: false, error: error instanceof Error ? error.message : String(error) };
      }
      if (process.connected) send(reply);
    })();
  });
  process.once('disconnect', () => {
    onParentGone();
    // eslint-disable-next-line no-restricted-syntax -- a bench child must not outlive its runner
    process.exit(0);
  });
}

/** Tells the parent this child is ready, with what it listens on. */
export function announce(value: unknown): void {
  process.send?.({ kind: 'ready', value } satisfies ChildMessage);
}

/** CPU time and peak memory of this process, as Node SUTs and helpers report them. */
export interface ProcessUsage {
  /** User + system CPU time of every thread of the process, in seconds. */
  readonly cpuS: number;
  /** Peak resident set size, in megabytes (10^6 bytes). */
  readonly peakRssMb: number;
}

/** This process's {@link ProcessUsage}. */
export function ownUsage(): ProcessUsage {
  const cpu = process.cpuUsage();
  return { cpuS: (cpu.user + cpu.system) / 1e6, peakRssMb: (process.resourceUsage().maxRSS * 1024) / 1e6 };
}
