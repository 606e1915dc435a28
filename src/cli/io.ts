/**
 * The streams a command talks to, passed in so that tests can drive commands in-process.
 */

import type { Readable, Writable } from 'node:stream';

/** Standard streams of a command. */
export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Aborted when the user asks the process to stop (SIGINT, SIGTERM). */
  readonly signal?: AbortSignal;
  /**
   * Registers a listener for reload requests from outside (SIGHUP); returns a function that
   * removes it. Absent where nothing can ask (tests that drive commands in-process).
   */
  readonly onHangup?: (listener: () => void) => () => void;
}

/** Exit codes: 0 success, 1 failure at run time, 2 bad usage or bad input, 130 interrupted (Ctrl-C). */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Writes `text` and resolves once the stream has taken it (respecting backpressure). */
export function writeOut(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}
