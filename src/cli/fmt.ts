/**
 * `otel-lb fmt [--write | --test] [FILE | -]`: formats a configuration file exactly as
 * `alloy fmt` does (alloy-fmt.md), byte for byte, so that a team can switch between the two
 * without diffs.
 *
 * Like `alloy fmt`: without FILE or with `-` it reads standard input (and names it
 * `<stdin>` in diagnostics); it prints the formatted text on standard output, or with
 * `--write` rewrites the file, only when that changes it; `--test` prints nothing and fails
 * when the file is not formatted. A file that does not parse gets every diagnostic on
 * standard error, one `file:line:column: message` line each, then `Error: encountered
 * errors during formatting`, and nothing on standard output.
 */

import { readFile, stat, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

import { formatDiagnostic } from '../syntax/diagnostics.ts';
import { formatSource } from '../syntax/printer.ts';
import { SourceFile } from '../syntax/source.ts';
import { ExitCode, writeOut, type CliIo } from './io.ts';

export const FMT_HELP = `Usage: otel-lb fmt [--write | --test] [FILE]

Formats an Alloy configuration file exactly as "alloy fmt" does: tabs for indentation,
aligned "=" in runs of attributes, one blank line before blocks, comments kept where
they are.

With no FILE, or with FILE "-", reads standard input. Without --write, prints the
formatted file on standard output.

Options:
  -w, --write   Rewrite FILE in place (only when formatting changes it); prints nothing.
                Not possible with standard input.
  -t, --test    Print nothing; exit 1 when FILE is not formatted ("file FILE is not
                formatted correctly").
  -h, --help    Show this help.

A file that does not parse is left alone: every syntax error is printed on standard
error as FILE:LINE:COLUMN: MESSAGE (columns count bytes, as Alloy does).

Exit codes: 0 formatted (or already formatted), 1 syntax errors, unreadable file or
--test found changes, 2 bad usage.

Examples:
  otel-lb fmt config.alloy
  otel-lb fmt --write config.alloy
  otel-lb fmt --test config.alloy || echo "run otel-lb fmt --write config.alloy"
  kubectl get configmap alloy -o jsonpath='{.data.config\\.alloy}' | otel-lb fmt
`;

/** The name diagnostics give standard input, as in Alloy. */
const STDIN_NAME = '<stdin>';

async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

/** Why a file cannot be read, in a few words. */
function readFailure(path: string, error: unknown): string {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES'
        ? 'permission denied'
        : error instanceof Error
          ? error.message
          : String(error);
  return `cannot read "${path}": ${why}`;
}

async function usage(io: CliIo, message: string): Promise<ExitCode> {
  await writeOut(io.stderr, `otel-lb fmt: ${message}\nRun "otel-lb fmt --help" for usage.\n`);
  return ExitCode.USAGE;
}

async function failure(io: CliIo, message: string): Promise<ExitCode> {
  await writeOut(io.stderr, `Error: ${message}\n`);
  return ExitCode.FAILURE;
}

/** Runs `otel-lb fmt` with `args` (after the command name); resolves to the exit code. */
export async function runFmt(args: readonly string[], io: CliIo): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        write: { type: 'boolean', short: 'w', default: false },
        test: { type: 'boolean', short: 't', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    return usage(io, error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    await writeOut(io.stdout, FMT_HELP);
    return ExitCode.OK;
  }
  if (positionals.length > 1) return usage(io, `give at most one file, got ${positionals.length}`);
  if (values.write && values.test) return usage(io, 'cannot use -w/--write and -t/--test at the same time');
  const path = positionals[0] ?? '-';
  const fromStdin = path === '-';
  if (fromStdin && values.write) return usage(io, 'cannot use -w with standard input');

  let bytes: Uint8Array;
  if (fromStdin) {
    bytes = await readAll(io.stdin);
  } else {
    try {
      if ((await stat(path)).isDirectory()) return await failure(io, `cannot format a directory: "${path}"`);
      bytes = await readFile(path);
    } catch (error) {
      return failure(io, readFailure(path, error));
    }
  }

  const source = new SourceFile(fromStdin ? STDIN_NAME : path, bytes);
  const { text, diagnostics } = formatSource(source);
  if (text === undefined) {
    const lines = diagnostics.map((d) => `${formatDiagnostic(d, source)}\n`).join('');
    await writeOut(io.stderr, `${lines}Error: encountered errors during formatting\n`);
    return ExitCode.FAILURE;
  }
  const formatted = Buffer.from(text, 'utf8');
  const unchanged = formatted.equals(bytes);
  if (values.test) {
    return unchanged ? ExitCode.OK : failure(io, `file ${source.name} is not formatted correctly`);
  }
  if (!values.write) {
    await writeOut(io.stdout, text);
    return ExitCode.OK;
  }
  if (unchanged) return ExitCode.OK;
  try {
    await writeFile(path, formatted);
  } catch (error) {
    return failure(io, `cannot write "${path}": ${error instanceof Error ? error.message : String(error)}`);
  }
  return ExitCode.OK;
}
