/**
 * `otel-lb route`: the operator's answer to "where did this trace go?". Prints, for each
 * key, the backend that otel-lb (or, with `--ring upstream-v2|upstream-v1`, the
 * OpenTelemetry Collector) sends it to, using the same ring and key encoding as the data
 * path.
 */

import { parseArgs } from 'node:util';
import { ErrorCode, OtelLbError } from '../errors.ts';
import {
  DEFAULT_RING,
  RING_NAMES,
  keyBytes,
  type HashRing,
} from '../components/exporter-loadbalancing/hash-ring/hash-ring.ts';
import { buildRing } from '../components/exporter-loadbalancing/hash-ring/rings.ts';
import { createKeyRouter } from '../components/exporter-loadbalancing/routing.ts';
import { Signal } from '../otlp/signal.ts';
import { RoutingKey, type KeyRouter } from '../otlp/splitter.ts';
import { ExitCode, writeOut, type CliIo } from './io.ts';

export const ROUTE_HELP = `Usage: otel-lb route --endpoints HOST:PORT,HOST:PORT,... [options] [KEY ...]

Prints the backend each routing key is sent to: one line per key, in input order,
"KEY ENDPOINT". With no KEY arguments, reads keys from standard input, one per line.

Options:
  --endpoints LIST     Comma-separated backends, exactly as the resolver reports them
                       (e.g. "10.0.0.7:4317,10.0.0.8:4317"); may be repeated. Order and
                       duplicates do not matter: every ring depends on the set of
                       endpoints only. Required.
  --ring NAME          Hash ring: ${RING_NAMES.join(', ')} (default: ${DEFAULT_RING}).
                       upstream-v2 places keys exactly as the OpenTelemetry Collector's
                       loadbalancing exporter v0.131 to v0.156 does (log records as in
                       v0.154 to v0.156); upstream-v1 as the releases before v0.131.
  --signal SIGNAL      traces or logs (default: traces). Matters for upstream-v2, which
                       hashes a log record's trace ID as 32 hex digits.
  --routing-key KEY    traceID or service (default: traceID), as the routing_key argument.
  -h, --help           Show this help.

KEY is a trace ID of 32 hex digits with --routing-key traceID, or a service.name value
with --routing-key service.

Exit codes: 0 when every key was routed; 2 for bad usage or when any key was invalid
(each bad key is reported on standard error, the others are still routed).

Examples:
  otel-lb route --endpoints a:4317,b:4317,c:4317 4bf92f3577b34da6a3ce929d0e0e4736
  otel-lb route --endpoints a:4317,b:4317 --routing-key service checkout frontend
  cut -d' ' -f1 trace-ids.txt | otel-lb route --endpoints "$BACKENDS" --ring upstream-v2
`;

/** A routing setup parsed from the command line. */
export interface RouteSetup {
  readonly ring: HashRing;
  readonly router: KeyRouter;
  readonly routingKey: RoutingKey;
}

function usage(message: string): OtelLbError {
  return new OtelLbError(ErrorCode.CLI_USAGE, message);
}

/** Parses `--endpoints`: comma-separated, whitespace around entries ignored, no empty entry. */
export function parseEndpointList(list: string): string[] {
  const entries = list.split(',').map((e) => e.trim());
  if (entries.length === 1 && entries[0] === '') {
    throw usage('--endpoints is empty: give at least one backend, e.g. --endpoints 10.0.0.7:4317,10.0.0.8:4317');
  }
  const empty = entries.indexOf('');
  if (empty >= 0) {
    throw usage(
      `--endpoints ${JSON.stringify(list)}: entry ${empty + 1} is empty; separate backends with single commas`,
    );
  }
  return entries;
}

/** Builds the ring and router from option values; throws OtelLbError for bad values. */
export function createRouteSetup(options: {
  endpoints: readonly string[] | undefined;
  ring: string;
  signal: string;
  routingKey: string;
}): RouteSetup {
  if (options.endpoints === undefined || options.endpoints.length === 0) {
    throw usage('missing --endpoints: give the backends, e.g. --endpoints 10.0.0.7:4317,10.0.0.8:4317');
  }
  const endpoints = options.endpoints.flatMap(parseEndpointList);
  if (options.signal !== Signal.TRACES && options.signal !== Signal.LOGS) {
    throw usage(`unknown --signal ${JSON.stringify(options.signal)}: use traces or logs`);
  }
  if (options.routingKey !== RoutingKey.TRACE_ID && options.routingKey !== RoutingKey.SERVICE) {
    throw usage(`unknown --routing-key ${JSON.stringify(options.routingKey)}: use traceID or service`);
  }
  let ring: HashRing;
  try {
    ring = buildRing(options.ring, endpoints);
  } catch (err) {
    if (err instanceof OtelLbError) throw usage(`--ring: ${err.message}`);
    throw err;
  }
  const router = createKeyRouter({ ring, signal: options.signal, routingKey: options.routingKey, keyless: () => 0 });
  return { ring, router, routingKey: options.routingKey };
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/**
 * Parses a trace ID of 32 hex digits (either case) into `out` (16 bytes). Returns an error
 * message naming what is wrong, or undefined on success.
 */
export function parseTraceId(text: string, out: Uint8Array): string | undefined {
  if (text.length !== 32) {
    return `${JSON.stringify(text)} is not a trace ID: a trace ID has 32 hex digits, this has ${text.length} characters`;
  }
  for (let i = 0; i < 16; i++) {
    const hi = hexValue(text.charCodeAt(2 * i));
    const lo = hexValue(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      const at = hi < 0 ? 2 * i : 2 * i + 1;
      return `${JSON.stringify(text)} is not a trace ID: character ${JSON.stringify(text[at])} at position ${at + 1} is not a hex digit`;
    }
    out[i] = (hi << 4) | lo;
  }
  return undefined;
}

/**
 * Routes one key. Returns the endpoint, or an error message for an invalid key. `scratch`
 * is a 16-byte buffer reused between calls.
 */
export function routeKey(
  setup: RouteSetup,
  key: string,
  scratch: Uint8Array,
): { endpoint: string } | { error: string } {
  let index: number;
  if (setup.routingKey === RoutingKey.TRACE_ID) {
    const error = parseTraceId(key, scratch);
    if (error !== undefined) return { error };
    index = setup.router.route(scratch, 0, 16);
  } else {
    const bytes = keyBytes(key);
    index = setup.router.route(bytes, 0, bytes.length);
  }
  return { endpoint: setup.ring.endpoints[index] ?? '' };
}

const FLUSH_CHARS = 1 << 16;

/** Runs `otel-lb route` with `args` (after the command name); resolves to the exit code. */
export async function runRoute(args: readonly string[], io: CliIo): Promise<ExitCode> {
  let setup: RouteSetup;
  let keys: string[];
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        endpoints: { type: 'string', multiple: true },
        ring: { type: 'string', default: DEFAULT_RING },
        signal: { type: 'string', default: Signal.TRACES },
        'routing-key': { type: 'string', default: RoutingKey.TRACE_ID },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      await writeOut(io.stdout, ROUTE_HELP);
      return ExitCode.OK;
    }
    setup = createRouteSetup({
      endpoints: values.endpoints,
      ring: values.ring,
      signal: values.signal,
      routingKey: values['routing-key'],
    });
    keys = positionals;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await writeOut(io.stderr, `otel-lb route: ${message}\nRun "otel-lb route --help" for usage.\n`);
    return ExitCode.USAGE;
  }

  const scratch = new Uint8Array(16);
  const tally = { bad: 0 };
  let out = '';
  let errors = '';
  const emit = (key: string, where: string): void => {
    const result = routeKey(setup, key, scratch);
    if ('error' in result) {
      tally.bad++;
      errors += `otel-lb route: ${where}${result.error}\n`;
    } else {
      out += `${key} ${result.endpoint}\n`;
    }
  };
  const flush = async (): Promise<void> => {
    if (out.length >= FLUSH_CHARS) {
      await writeOut(io.stdout, out);
      out = '';
    }
    if (errors.length >= FLUSH_CHARS) {
      await writeOut(io.stderr, errors);
      errors = '';
    }
  };

  if (keys.length > 0) {
    for (const key of keys) {
      emit(key, '');
      await flush();
    }
  } else {
    // Keys from standard input: trace IDs are trimmed; service names keep their spaces
    // (only a Windows line ending is dropped). Blank lines are skipped.
    const isTraceId = setup.routingKey === RoutingKey.TRACE_ID;
    let line = 0;
    let carry = '';
    const handle = (raw: string): void => {
      line++;
      const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      const key = isTraceId ? text.trim() : text;
      if (key !== '') emit(key, `line ${line}: `);
    };
    if ('isTTY' in io.stdin && io.stdin.isTTY === true) {
      await writeOut(io.stderr, 'otel-lb route: reading keys from standard input, one per line; end with Ctrl-D\n');
    }
    io.stdin.setEncoding('utf8');
    // Ctrl-C: stop reading, print what was routed so far, and exit 130 as shells expect.
    const onStop = (): void => {
      io.stdin.destroy();
    };
    io.signal?.addEventListener('abort', onStop, { once: true });
    try {
      for await (const chunk of io.stdin as AsyncIterable<string>) {
        const lines = (carry + chunk).split('\n');
        carry = lines.pop() ?? '';
        for (const l of lines) handle(l);
        await flush();
      }
    } catch (err) {
      if (io.signal?.aborted !== true) throw err;
    } finally {
      io.signal?.removeEventListener('abort', onStop);
    }
    if (io.signal?.aborted === true) {
      if (out !== '') await writeOut(io.stdout, out);
      return ExitCode.INTERRUPTED;
    }
    if (carry !== '') handle(carry);
  }
  if (out !== '') await writeOut(io.stdout, out);
  if (errors !== '') await writeOut(io.stderr, errors);
  return tally.bad > 0 ? ExitCode.USAGE : ExitCode.OK;
}
