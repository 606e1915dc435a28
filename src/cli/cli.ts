/**
 * The command line: `otel-lb <command> [options]`. Dispatches to one module per command;
 * every command resolves to an exit code and never ends the process itself.
 */

import { ExitCode, writeOut, type CliIo } from './io.ts';
import { runDemo } from './demo.ts';
import { runFmt } from './fmt.ts';
import { runRoute } from './route.ts';
import { runRun } from './run.ts';
import { runValidate } from './validate.ts';

export const MAIN_HELP = `otel-lb: a trace-aware OpenTelemetry load balancer.

Receives OTLP traces and logs, splits every request by trace ID or service name, and
sends each part to one backend chosen on a consistent-hash ring, so that every span of a
trace reaches the same tail-sampling instance.

Usage: otel-lb <command> [options]

Commands:
  demo      Run otel-lb on loopback in front of sink backends, fed with realistic traces,
            and show that every trace arrives whole at one backend (npm start).
  run       Run an Alloy configuration file (otelcol.receiver.otlp,
            otelcol.exporter.loadbalancing, ...) until SIGTERM.
  validate  Check a configuration file without starting anything.
  fmt       Format a configuration file exactly as "alloy fmt" does.
  route     Print the backend that each trace ID or service name is routed to.
  help      Show this help, or a command's help: otel-lb help route.

Run "otel-lb <command> --help" for a command's options.
`;

interface Command {
  readonly run: (args: readonly string[], io: CliIo) => Promise<ExitCode>;
}

const COMMANDS: ReadonlyMap<string, Command> = new Map([
  ['demo', { run: runDemo }],
  ['fmt', { run: runFmt }],
  ['route', { run: runRoute }],
  ['run', { run: runRun }],
  ['validate', { run: runValidate }],
]);

/** Runs the CLI with `argv` (without the node and script paths); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined) {
      const command = COMMANDS.get(topic);
      if (command !== undefined) return command.run(['--help'], io);
      await writeOut(io.stderr, `otel-lb: no help for unknown command ${JSON.stringify(topic)}\n\n${MAIN_HELP}`);
      return ExitCode.USAGE;
    }
    await writeOut(io.stdout, MAIN_HELP);
    return ExitCode.OK;
  }
  const command = COMMANDS.get(name);
  if (command === undefined) {
    await writeOut(io.stderr, `otel-lb: unknown command ${JSON.stringify(name)}\n\n${MAIN_HELP}`);
    return ExitCode.USAGE;
  }
  return command.run(rest, io);
}
