#!/usr/bin/env node
/**
 * Process entry: hands argv to the CLI and turns its result into an exit code. The only
 * place in otel-lb that ends the process.
 */

import module from 'node:module';

// Cache compiled (type-stripped) modules between runs: otel-lb starts faster and each
// process holds less memory (no type stripper once cached). A cache that cannot be written
// only costs the speed-up.
module.enableCompileCache();

const { runCli } = await import('./cli/cli.ts');

/** The reader of our output went away (`otel-lb route … | head`): not an error. */
function isBrokenPipe(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 'EPIPE';
}

process.stdout.on('error', (err) => {
  if (!isBrokenPipe(err)) throw err;
});

// The first SIGINT or SIGTERM asks the command to stop cleanly; a second one ends the process.
const stop = new AbortController();
const onSignal = (name: NodeJS.Signals): void => {
  if (stop.signal.aborted) process.exit(130);
  stop.abort(new Error(name));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    signal: stop.signal,
    onHangup: (listener) => {
      process.on('SIGHUP', listener);
      return () => process.off('SIGHUP', listener);
    },
  });
} catch (err) {
  if (!isBrokenPipe(err)) throw err;
  // Stop reading standard input and writing at once, as `yes | head` does.
  process.exit(0);
}
