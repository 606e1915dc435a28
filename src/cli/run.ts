/**
 * `otel-lb run [flags] CONFIG`: runs a configuration until SIGTERM or SIGINT.
 *
 * - The initial load must succeed: otherwise every diagnostic is printed and the command
 *   exits 1 (Alloy: `could not perform the initial load successfully`).
 * - The HTTP server (`--server.http.listen-addr`, Alloy's default `127.0.0.1:12345`) serves
 *   `/metrics`, `/-/ready`, `/-/healthy` and `/-/reload`.
 * - SIGHUP or `/-/reload` re-reads the file and applies it without dropping accepted data;
 *   a file that does not load leaves the running configuration as it is, and says why.
 * - SIGTERM or SIGINT: stop accepting, deliver what was accepted (up to
 *   `--shutdown.timeout`, default 30s), exit 0.
 */

import { parseArgs } from 'node:util';

import { Host } from '../runtime/host.ts';
import { formatDiagnosticList } from '../syntax/diagnostics.ts';
import { createScope } from '../syntax/evaluate.ts';
import { parseGoDuration } from '../syntax/schema.ts';
import { createLogger, describeError, LogFormat, LogLevel } from '../telemetry/logger.ts';
import { MetricsRegistry } from '../telemetry/metrics.ts';
import { DEFAULT_STATUS_LISTEN_ADDRESS, StatusServer } from '../telemetry/status-server.ts';
import { builtinRegistry, printDiagnostics, readConfigFile } from './config-file.ts';
import { ExitCode, writeOut, type CliIo } from './io.ts';

export const RUN_HELP = `Usage: otel-lb run [flags] CONFIG

Runs the components of an Alloy configuration file until SIGTERM or SIGINT, then
delivers what was accepted and exits 0. SIGHUP, or a request to /-/reload, reloads
the file without dropping accepted data; a file that does not load is reported and
the running configuration stays.

Flags:
  --server.http.listen-addr=HOST:PORT
                         Address of the HTTP server for /metrics, /-/ready,
                         /-/healthy and /-/reload (default ${DEFAULT_STATUS_LISTEN_ADDRESS};
                         port 0 picks a free one).
  --log.format=FORMAT    logfmt (default) or json. A logging block in the file wins.
  --log.level=LEVEL      debug, info (default), warn or error. A logging block wins.
  --shutdown.timeout=DURATION
                         How long SIGTERM waits for queues to drain (default 30s).
  --stability.level=LEVEL
                         Accepted for compatibility with Alloy; every otel-lb
                         component is generally available.
  -h, --help             Show this help.

Exit codes: 0 stopped cleanly, 1 the configuration did not load or a component
failed to start, 2 bad usage.
`;

function parseListen(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65_535) return undefined;
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : (m[2] ?? '127.0.0.1')), port };
}

function isLevel(v: string): v is LogLevel {
  return (Object.values(LogLevel) as string[]).includes(v);
}

function isFormat(v: string): v is LogFormat {
  return (Object.values(LogFormat) as string[]).includes(v);
}

/** Runs `otel-lb run`. */
export async function runRun(args: readonly string[], io: CliIo): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        'server.http.listen-addr': { type: 'string', default: DEFAULT_STATUS_LISTEN_ADDRESS },
        'log.format': { type: 'string', default: 'logfmt' },
        'log.level': { type: 'string', default: 'info' },
        'shutdown.timeout': { type: 'string', default: '30s' },
        'stability.level': { type: 'string' },
        'storage.path': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (error) {
    await writeOut(io.stderr, `otel-lb run: ${error instanceof Error ? error.message : String(error)}\n\n${RUN_HELP}`);
    return ExitCode.USAGE;
  }
  const v = parsed.values;
  if (v.help === true) {
    await writeOut(io.stdout, RUN_HELP);
    return ExitCode.OK;
  }
  const usage = async (message: string): Promise<ExitCode> => {
    await writeOut(io.stderr, `otel-lb run: ${message}\n\n${RUN_HELP}`);
    return ExitCode.USAGE;
  };
  const [path, ...extra] = parsed.positionals;
  if (path === undefined || extra.length > 0) return usage('give exactly one configuration file');
  const listen = parseListen(v['server.http.listen-addr']);
  if (listen === undefined)
    return usage(`--server.http.listen-addr "${v['server.http.listen-addr']}" is not HOST:PORT`);
  const level = v['log.level'];
  if (!isLevel(level)) return usage(`--log.level "${level}": use debug, info, warn or error`);
  const format = v['log.format'];
  if (!isFormat(format)) return usage(`--log.format "${format}": use logfmt or json`);
  const shutdownMs = parseGoDuration(v['shutdown.timeout']);
  if (typeof shutdownMs !== 'number' || shutdownMs < 0) {
    return usage(`--shutdown.timeout "${v['shutdown.timeout']}" is not a duration such as 30s`);
  }

  const logger = createLogger({ level, format, stream: io.stderr });
  const metrics = new MetricsRegistry({
    onError: (error) => {
      logger.warn('metric collection failed', { err: error });
    },
  });
  const host = new Host({
    registry: builtinRegistry(),
    logger,
    metrics,
    scope: createScope(),
    onLogging: (settings) => {
      if (isLevel(settings.level) && isFormat(settings.format))
        logger.configure({ level: settings.level, format: settings.format });
    },
  });

  const read = await readConfigFile(path);
  if ('error' in read) {
    await writeOut(io.stderr, `Error: ${read.error}\n`);
    return ExitCode.FAILURE;
  }
  const first = await host.load(read.source);
  if (!first.ok) {
    await writeOut(io.stderr, printDiagnostics(first.diagnostics, read.source));
    if (first.error !== undefined) await writeOut(io.stderr, `Error: ${describeError(first.error)}\n`);
    await writeOut(io.stderr, 'Error: could not perform the initial load successfully\n');
    await host.shutdown(Date.now());
    return ExitCode.FAILURE;
  }
  for (const d of first.diagnostics) {
    const p = d.start === undefined ? undefined : read.source.position(d.start);
    logger.warn(d.message, p === undefined ? {} : { file: p.file, line: p.line, column: p.column });
  }

  const reload = async (): Promise<void> => {
    const next = await readConfigFile(path);
    if ('error' in next) throw new Error(`${next.error}; the running configuration stays`);
    const result = await host.load(next.source);
    if (!result.ok) {
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      const why = result.error !== undefined ? describeError(result.error) : formatDiagnosticList(errors, next.source);
      throw new Error(`${why}; the running configuration stays`);
    }
  };

  const status = new StatusServer({
    host: listen.host,
    port: listen.port,
    metrics,
    isReady: () => host.isReady,
    unhealthyComponents: () => host.problems(),
    reload: () => reload(),
    logger,
  });
  try {
    const address = await status.listen();
    const shown =
      address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
    logger.info('now listening for http traffic', { addr: shown });
  } catch (error) {
    logger.error('cannot start the HTTP server', { err: error });
    await host.shutdown(Date.now() + shutdownMs);
    return ExitCode.FAILURE;
  }
  logger.info('configuration loaded', { file: path, components: host.componentIds.length });

  const removeHangup = io.onHangup?.(() => {
    logger.info('reload requested (SIGHUP)');
    reload().then(
      () => {
        logger.info('configuration reloaded', { file: path });
      },
      (error: unknown) => {
        logger.error('failed to reload config', { err: error });
      },
    );
  });

  await new Promise<void>((resolve) => {
    if (io.signal === undefined) return;
    if (io.signal.aborted) resolve();
    else
      io.signal.addEventListener(
        'abort',
        () => {
          resolve();
        },
        { once: true },
      );
  });
  removeHangup?.();
  logger.info('shutting down', { timeout: v['shutdown.timeout'] });
  // Retry timers are unref'd (they must not keep a library user's process alive); while
  // draining, this one keeps the process up until the queues are delivered or the deadline.
  const keepAlive = setInterval(() => undefined, 1_000);
  await status.close();
  await host.shutdown(Date.now() + shutdownMs);
  clearInterval(keepAlive);
  logger.info('stopped');
  return ExitCode.OK;
}
