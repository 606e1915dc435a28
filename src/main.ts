#!/usr/bin/env node
/**
 * Process entry: hands argv to the CLI and turns its result into an exit code. The only
 * place in otel-lb that ends the process.
 */

import { runCli } from './cli/cli.ts';

const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});
process.exitCode = code;
