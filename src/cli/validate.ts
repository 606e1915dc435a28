/**
 * `otel-lb validate CONFIG`: checks a configuration file as `run` would load it (syntax,
 * components, references, every argument, each component's own checks) without starting
 * anything: no port is bound and nothing touches the network. Exit 0 when it is valid
 * (warnings are printed), 1 with every diagnostic otherwise, 2 for bad usage.
 */

import { parseArgs } from 'node:util';

import { Host } from '../runtime/host.ts';
import { createScope } from '../syntax/evaluate.ts';
import { builtinRegistry, printDiagnostics, readConfigFile } from './config-file.ts';
import { ExitCode, writeOut, type CliIo } from './io.ts';

export const VALIDATE_HELP = `Usage: otel-lb validate CONFIG

Checks an Alloy configuration file the way "otel-lb run" loads it: syntax, component
names and labels, references between components, every argument and block, and each
component's own rules. Nothing starts: no port is bound, no DNS or Kubernetes lookup is
made. Environment variables read with sys.env() are read.

Prints every error and warning with its position (file:line:column, the line and a
caret) on standard error.

Exit codes: 0 valid (warnings may be printed), 1 invalid, 2 bad usage.
`;

/** Runs `otel-lb validate`. */
export async function runValidate(args: readonly string[], io: CliIo): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (error) {
    await writeOut(
      io.stderr,
      `otel-lb validate: ${error instanceof Error ? error.message : String(error)}\n\n${VALIDATE_HELP}`,
    );
    return ExitCode.USAGE;
  }
  if (parsed.values.help === true) {
    await writeOut(io.stdout, VALIDATE_HELP);
    return ExitCode.OK;
  }
  const [path, ...extra] = parsed.positionals;
  if (path === undefined || extra.length > 0) {
    await writeOut(io.stderr, `otel-lb validate: give exactly one configuration file\n\n${VALIDATE_HELP}`);
    return ExitCode.USAGE;
  }
  const read = await readConfigFile(path);
  if ('error' in read) {
    await writeOut(io.stderr, `Error: ${read.error}\n`);
    return ExitCode.FAILURE;
  }
  const host = new Host({ registry: builtinRegistry(), scope: createScope() });
  const result = await host.check(read.source);
  await writeOut(io.stderr, printDiagnostics(result.diagnostics, read.source));
  if (!result.ok) {
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    await writeOut(io.stderr, `\n${path}: invalid (${errors} error${errors === 1 ? '' : 's'})\n`);
    return ExitCode.FAILURE;
  }
  await writeOut(io.stdout, `${path}: valid\n`);
  return ExitCode.OK;
}
