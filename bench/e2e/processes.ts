/**
 * The child processes of a bench: forked with an IPC channel, tracked, and all ended when
 * the runner exits for any reason (done, an error, Ctrl-C, SIGTERM). Children also end
 * themselves when the channel closes (`rpc.ts`), which covers a runner killed with SIGKILL.
 */

import { fork, type ChildProcess } from 'node:child_process';

import { ChildLink } from './rpc.ts';

/** Every child of this bench run. */
export class Processes {
  private readonly children = new Set<ChildProcess>();

  /**
   * Ends every child when this process exits, and turns SIGINT and SIGTERM into a clean
   * exit (children ended, exit code 130) instead of leaving them to their fate.
   */
  installExitHandlers(log: (line: string) => void): void {
    process.once('exit', () => {
      this.killAll();
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        log(`\n${signal}: stopping the bench and its ${this.children.size} child processes`);
        this.killAll();
        // eslint-disable-next-line no-restricted-syntax -- the bench runner's own entry point ends here
        process.exit(130);
      });
    }
  }

  /** Forks `script` (a path beside this module) with Node and `execArgv`; tracked until it exits. */
  fork(script: string, args: readonly string[], name: string, execArgv: readonly string[] = []): ChildLink {
    const child = fork(new URL(script, import.meta.url).pathname, [...args], {
      execArgv: [...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return new ChildLink(child, name);
  }

  /**
   * Stops a child: closes its channel (it cleans up and exits), and kills it if it has not
   * exited within `graceMs`.
   */
  async stop(link: ChildLink, graceMs = 3_000): Promise<void> {
    const child = link.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** SIGTERM to every child still running (each one's own handlers clean up after it). */
  killAll(): void {
    for (const child of this.children) child.kill('SIGTERM');
  }
}
