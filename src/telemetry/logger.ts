/**
 * otel-lb's structured logger: one line per event, in Alloy's layout (its `logging` block
 * has `level` and `format`), as go-kit's logfmt writes it:
 *
 * ```
 * ts=2026-01-02T03:04:05.678Z level=info msg="Exporting failed. Dropping data." component_path=/ component_id=otelcol.exporter.otlp.default error="no more retries left: connection refused" dropped_items=35
 * ```
 *
 * or as one JSON object per line (`{"ts":"…","level":"info","msg":"…",…}`). `ts`, `level`
 * and `msg` come first, then the fields bound by {@link Logger.child} (the component's
 * `component_path` and `component_id`), then the event's own fields, in order.
 *
 * Values: strings, numbers, booleans and bigints as themselves; `Error`s as their message
 * followed by their causes, `outer: inner: root` ({@link describeError}); dates as ISO
 * 8601; anything whose `toString()` answers `(secret)` (the config language's `Secret`) as
 * `(secret)`, at any depth, so that no secret reaches a log; other objects and arrays as
 * JSON. `undefined` fields are left out.
 *
 * logfmt quoting follows go-logfmt: a value is written bare unless it is empty or holds a
 * space, `=`, `"` or a control character; quoted values escape `\`, `"`, newline, tab and
 * carriage return, and other control characters as `\u00XX`. Keys that would need quoting
 * are quoted too (`"resource spans"=1`, as Alloy prints the debug exporter's fields).
 *
 * A disabled level costs one comparison. Writing is synchronous on the given stream
 * (process.stderr by default, where Alloy logs). Concurrency: single-threaded; the level and
 * format can change at any time with {@link RootLogger.configure} and apply to every child.
 */

import type { Clock } from '../internal/clock.ts';

/** The levels, least severe first. */
export const LogLevel = {
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** The line formats of Alloy's `logging { format }`. */
export const LogFormat = {
  LOGFMT: 'logfmt',
  JSON: 'json',
} as const;
export type LogFormat = (typeof LogFormat)[keyof typeof LogFormat];

/** Key-value pairs of one event or bound to a child logger, written in insertion order. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Where lines go: anything with a `write(string)`, such as a `Writable`. */
export interface LogStream {
  write(chunk: string): unknown;
}

/** A logger; children share their root's level, format and stream. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether events at `level` are written: to skip building costly fields. */
  isEnabled(level: LogLevel): boolean;
  /** A logger that adds `fields` to every event, after the fields already bound here. */
  child(fields: LogFields): Logger;
}

/** The logger {@link createLogger} returns: the only one that can change the settings. */
export interface RootLogger extends Logger {
  /** Changes the level and/or format for this logger and all its children, from the next event on. */
  configure(settings: { readonly level?: LogLevel; readonly format?: LogFormat }): void;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Least severe level written; default `info` (as Alloy). */
  readonly level?: LogLevel;
  /** Default `logfmt` (as Alloy). */
  readonly format?: LogFormat;
  /** Default `process.stderr`. */
  readonly stream?: LogStream;
  /** Source of `ts`; default the system clock. */
  readonly clock?: Pick<Clock, 'now'>;
}

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };
/** How deep objects in fields are rendered, and how many causes an error chain shows. */
const MAX_DEPTH = 8;
const SECRET = '(secret)';

interface Settings {
  rank: number;
  format: LogFormat;
  readonly stream: LogStream;
  readonly now: () => number;
}

/**
 * Creates a root logger.
 *
 * @throws TypeError for an unknown level or format.
 */
export function createLogger(options: LoggerOptions = {}): RootLogger {
  const clock = options.clock;
  return new RootFieldLogger({
    rank: rankOf(options.level ?? LogLevel.INFO),
    format: formatOf(options.format ?? LogFormat.LOGFMT),
    stream: options.stream ?? process.stderr,
    now: clock === undefined ? Date.now : () => clock.now(),
  });
}

/** A logger that writes nothing, for tests and embedders that do not want logs. */
export const discardLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  isEnabled: () => false,
  child: () => discardLogger,
};

function rankOf(level: string): number {
  const rank = (LEVEL_RANK as Readonly<Record<string, number>>)[level];
  if (rank === undefined) throw new TypeError(`unknown log level ${JSON.stringify(level)}`);
  return rank;
}

function formatOf(format: string): LogFormat {
  if (format !== LogFormat.LOGFMT && format !== LogFormat.JSON)
    throw new TypeError(`unknown log format ${JSON.stringify(format)}`);
  return format;
}

class FieldLogger implements Logger {
  protected readonly settings: Settings;
  /** The bound fields pre-rendered for each format, each with a leading separator. */
  private readonly boundLogfmt: string;
  private readonly boundJson: string;

  constructor(settings: Settings, logfmt: string, json: string) {
    this.settings = settings;
    this.boundLogfmt = logfmt;
    this.boundJson = json;
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.settings.rank <= 0) this.write(LogLevel.DEBUG, msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    if (this.settings.rank <= 1) this.write(LogLevel.INFO, msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (this.settings.rank <= 2) this.write(LogLevel.WARN, msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.write(LogLevel.ERROR, msg, fields);
  }

  isEnabled(level: LogLevel): boolean {
    return this.settings.rank <= rankOf(level);
  }

  child(fields: LogFields): Logger {
    const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
    return new FieldLogger(
      this.settings,
      this.boundLogfmt + logfmtFields(entries),
      this.boundJson + jsonFields(entries),
    );
  }

  private write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    const ts = formatTimestamp(this.settings.now());
    const entries = fields === undefined ? [] : Object.entries(fields).filter(([, value]) => value !== undefined);
    const line =
      this.settings.format === LogFormat.JSON
        ? `{"ts":"${ts}","level":"${level}","msg":${JSON.stringify(msg)}${this.boundJson}${jsonFields(entries)}}\n`
        : `ts=${ts} level=${level} msg=${logfmtValue(msg)}${this.boundLogfmt}${logfmtFields(entries)}\n`;
    this.settings.stream.write(line);
  }
}

class RootFieldLogger extends FieldLogger implements RootLogger {
  constructor(settings: Settings) {
    super(settings, '', '');
  }

  configure(update: { readonly level?: LogLevel; readonly format?: LogFormat }): void {
    if (update.level !== undefined) this.settings.rank = rankOf(update.level);
    if (update.format !== undefined) this.settings.format = formatOf(update.format);
  }
}

/** RFC 3339 in UTC with trailing zeros of the fraction dropped, as Go's `RFC3339Nano`. */
function formatTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso.replace(/0+Z$/, 'Z');
}

// --- values ---------------------------------------------------------------------------------

/**
 * An error as one line: its message, then each cause's message after `: `, skipping a cause
 * whose message the previous one already contains (errors often repeat their cause), e.g.
 * `cannot export to backend-1:4317: connect ECONNREFUSED 127.0.0.1:4317`. An
 * `AggregateError`'s errors follow in brackets. Non-errors are rendered with `String()`.
 */
export function describeError(error: unknown): string {
  let out = '';
  let current: unknown = error;
  const seen = new Set<unknown>();
  for (let depth = 0; depth < MAX_DEPTH && current !== undefined && current !== null; depth++) {
    if (seen.has(current)) break;
    seen.add(current);
    let text = current instanceof Error ? current.message || current.name : logfmtText(current);
    if (current instanceof AggregateError && current.errors.length > 0)
      text += ` [${current.errors.map((e: unknown) => describeError(e)).join('; ')}]`;
    if (!out.includes(text)) out = out === '' ? text : `${out}: ${text}`;
    current = current instanceof Error ? current.cause : undefined;
  }
  return out;
}

/** Whether `value` is a secret: an object whose own `toString()` answers `(secret)`. */
export function isSecret(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const toString: unknown = (value as { toString?: unknown }).toString;
  if (typeof toString !== 'function' || toString === Object.prototype.toString) return false;
  try {
    return (toString as () => unknown).call(value) === SECRET;
  } catch {
    return false;
  }
}

/**
 * A field value reduced to what JSON can hold: secrets to `(secret)`, errors to
 * {@link describeError}, dates to ISO strings, bigints to strings, byte arrays to hex,
 * cycles and depth past the limit to a marker.
 */
function plain(value: unknown, depth: number, seen: Set<object>): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return `[function ${value.name}]`;
  if (typeof value !== 'object') return value;
  if (value === null) return null;
  if (isSecret(value)) return SECRET;
  if (value instanceof Error) return describeError(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (seen.has(value) || depth >= MAX_DEPTH) return '[…]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v: unknown) => plain(v, depth + 1, seen) ?? null);
    const source: Iterable<readonly [unknown, unknown]> =
      value instanceof Map ? value.entries() : Object.entries(value as Record<string, unknown>);
    const out: Record<string, unknown> = {};
    for (const [key, v] of source) out[String(key)] = plain(v, depth + 1, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

function jsonFields(entries: readonly (readonly [string, unknown])[]): string {
  let out = '';
  for (const [key, value] of entries) {
    const p = plain(value, 0, new Set());
    // JSON has no NaN or Infinity; write them as strings rather than lose them as null.
    const json = typeof p === 'number' && !Number.isFinite(p) ? `"${formatNumber(p)}"` : JSON.stringify(p);
    out += `,${JSON.stringify(key)}:${json}`;
  }
  return out;
}

function logfmtFields(entries: readonly (readonly [string, unknown])[]): string {
  let out = '';
  for (const [key, value] of entries) out += ` ${logfmtKey(key)}=${logfmtValue(logfmtText(value))}`;
  return out;
}

function logfmtText(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return formatNumber(value);
    case 'boolean':
    case 'bigint':
      return String(value);
  }
  const p = plain(value, 0, new Set());
  return typeof p === 'string' ? p : p === null ? 'null' : JSON.stringify(p);
}

function formatNumber(value: number): string {
  return value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : String(value);
}

// Needs quotes: empty, a space or control character, `=`, `"`, DEL, or a lone surrogate.
// eslint-disable-next-line no-control-regex -- control characters are what this matches
const NEEDS_QUOTES = /[\u0000-\u0020="\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function logfmtKey(key: string): string {
  return key !== '' && !NEEDS_QUOTES.test(key) ? key : quote(key);
}

function logfmtValue(text: string): string {
  return text !== '' && !NEEDS_QUOTES.test(text) ? text : quote(text);
}

function quote(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this escapes
  const escaped = text.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case '"':
        return '\\"';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    }
  });
  return `"${escaped}"`;
}
