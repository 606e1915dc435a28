import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ErrorCode, OtelLbError } from '../errors.ts';
import { LogFormat, LogLevel, createLogger, describeError, type LoggerOptions } from './logger.ts';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/** A logger writing into an array, at a fixed time. */
function capture(options: Omit<LoggerOptions, 'stream' | 'clock'> = {}) {
  const lines: string[] = [];
  let now = T0;
  const logger = createLogger({
    ...options,
    stream: { write: (chunk: string) => lines.push(chunk) },
    clock: { now: () => now },
  });
  return {
    logger,
    lines,
    setNow: (ms: number) => {
      now = ms;
    },
  };
}

/** Parses one logfmt line (go-logfmt syntax) into ordered pairs. */
function parseLogfmt(line: string): [string, string][] {
  assert.ok(line.endsWith('\n'), 'one line, newline-terminated');
  assert.equal(line.indexOf('\n'), line.length - 1, 'no raw newline inside the line');
  const pairs: [string, string][] = [];
  let rest = line.slice(0, -1);
  const token = (): string => {
    if (!rest.startsWith('"')) {
      const end = rest.search(/[ =]/);
      const bare = end < 0 ? rest : rest.slice(0, end);
      rest = rest.slice(bare.length);
      return bare;
    }
    const match = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
    assert.ok(match !== null, `unterminated quote in ${line}`);
    rest = rest.slice(match[0].length);
    return JSON.parse(`"${match[1] ?? ''}"`) as string;
  };
  while (rest !== '') {
    const key = token();
    assert.ok(rest.startsWith('='), `expected = after ${key}`);
    rest = rest.slice(1);
    pairs.push([key, token()]);
    if (rest.startsWith(' ')) rest = rest.slice(1);
  }
  return pairs;
}

class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  toString(): string {
    return '(secret)';
  }
  toJSON(): string {
    return this.#value; // a careless secret: JSON would leak it
  }
  reveal(): string {
    return this.#value;
  }
}

describe('createLogger', () => {
  it('writes ts, level, msg, bound fields and event fields as one logfmt line', () => {
    const { logger, lines } = capture();
    const component = logger.child({ component_path: '/', component_id: 'otelcol.exporter.otlp.default' });

    component.error('Exporting failed. Dropping data.', {
      error: new Error('no more retries left'),
      dropped_items: 35,
    });

    assert.deepEqual(lines, [
      'ts=2026-01-02T03:04:05.678Z level=error msg="Exporting failed. Dropping data." component_path=/ ' +
        'component_id=otelcol.exporter.otlp.default error="no more retries left" dropped_items=35\n',
    ]);
  });

  it('writes one JSON object per line with the same keys in the same order', () => {
    const { logger, lines } = capture({ format: LogFormat.JSON });

    logger.child({ component_id: 'x' }).warn('slow', { ms: 12.5, ok: false, list: [1, 'a'], none: null });
    const parsed = JSON.parse(lines[0] ?? '') as Record<string, unknown>;

    assert.deepEqual(Object.keys(parsed), ['ts', 'level', 'msg', 'component_id', 'ms', 'ok', 'list', 'none']);
    assert.deepEqual(parsed, {
      ts: '2026-01-02T03:04:05.678Z',
      level: 'warn',
      msg: 'slow',
      component_id: 'x',
      ms: 12.5,
      ok: false,
      list: [1, 'a'],
      none: null,
    });
  });

  it('quotes and escapes only what needs it, so that the line parses back', () => {
    const { logger, lines } = capture();
    const values = {
      plain: 'abc',
      empty: '',
      spaced: 'a b',
      equals: 'a=b',
      quoted: 'say "hi"',
      multiline: 'ResourceSpans #0\nResource SchemaURL: \n',
      control: 'bell\u0007',
      unicode: 'grüße ✓',
      'resource spans': 1,
    };

    logger.info('Traces', values);
    const pairs = parseLogfmt(lines[0] ?? '');

    assert.deepEqual(
      pairs.slice(3),
      Object.entries(values).map(([k, v]) => [k, String(v)]),
    );
    assert.match(lines[0] ?? '', / plain=abc empty="" spaced="a b" /);
    assert.match(lines[0] ?? '', / "resource spans"=1\n$/);
  });

  it('filters by level and applies configure() to existing children', () => {
    const { logger, lines } = capture({ level: LogLevel.WARN });
    const child = logger.child({ component_id: 'c' });

    child.debug('d');
    child.info('i');
    child.warn('w');
    child.error('e');
    logger.configure({ level: LogLevel.DEBUG, format: LogFormat.JSON });
    child.debug('d2');

    assert.deepEqual(
      lines.map((l) => /(?:level=|"level":")(\w+)/.exec(l)?.[1]),
      ['warn', 'error', 'debug'],
    );
    assert.ok(lines[2]?.startsWith('{'));
    assert.equal(child.isEnabled(LogLevel.DEBUG), true);
  });

  it('prints secrets as (secret) at any depth and in both formats', () => {
    for (const format of [LogFormat.LOGFMT, LogFormat.JSON]) {
      const { logger, lines } = capture({ format });
      const secret = new Secret('hunter2');

      logger
        .child({ password: secret })
        .info('auth', { nested: { headers: { authorization: secret } }, list: [secret] });

      assert.equal(secret.reveal(), 'hunter2');
      assert.doesNotMatch(lines[0] ?? '', /hunter2/, format);
      assert.equal((lines[0]?.match(/\(secret\)/g) ?? []).length, 3, format);
    }
  });

  it('renders errors with their cause chain, dates, bigints, bytes and non-finite numbers', () => {
    const { logger, lines } = capture();
    const root = new Error('connect ECONNREFUSED 127.0.0.1:4317');
    const error = new OtelLbError(ErrorCode.GRPC_UNAVAILABLE, 'cannot export to backend-1:4317', { cause: root });

    logger.info('m', {
      err: error,
      at: new Date(T0),
      big: 2n ** 64n,
      bytes: new Uint8Array([0xca, 0xfe]),
      inf: Infinity,
      nan: NaN,
      skipped: undefined,
    });

    assert.deepEqual(parseLogfmt(lines[0] ?? '').slice(3), [
      ['err', 'cannot export to backend-1:4317: connect ECONNREFUSED 127.0.0.1:4317'],
      ['at', '2026-01-02T03:04:05.678Z'],
      ['big', '18446744073709551616'],
      ['bytes', 'cafe'],
      ['inf', '+Inf'],
      ['nan', 'NaN'],
    ]);
  });

  it('drops trailing zeros of the timestamp fraction, as Go RFC3339Nano', () => {
    const { logger, lines, setNow } = capture();

    setNow(Date.UTC(2026, 0, 2, 3, 4, 5, 0));
    logger.info('a');
    setNow(Date.UTC(2026, 0, 2, 3, 4, 5, 120));
    logger.info('b');

    assert.deepEqual(
      lines.map((l) => l.split(' ')[0]),
      ['ts=2026-01-02T03:04:05Z', 'ts=2026-01-02T03:04:05.12Z'],
    );
  });

  it('refuses unknown levels and formats', () => {
    assert.throws(() => createLogger({ level: 'verbose' as LogLevel }), TypeError);
    assert.throws(() => createLogger({ format: 'xml' as LogFormat }), TypeError);
  });
});

describe('describeError', () => {
  it('joins the cause chain and skips causes the message already repeats', () => {
    const root = new Error('EADDRINUSE');
    const middle = new Error('cannot listen on 127.0.0.1:12345: EADDRINUSE', { cause: root });
    const top = new Error('status server failed', { cause: middle });

    assert.equal(describeError(top), 'status server failed: cannot listen on 127.0.0.1:12345: EADDRINUSE');
  });

  it('lists the errors of an AggregateError and survives cycles and non-errors', () => {
    const a = new Error('a');
    const cyclic = new Error('loop', { cause: a });
    a.cause = cyclic;

    assert.equal(describeError(new AggregateError([new Error('x'), 'y'], 'all failed')), 'all failed [x; y]');
    assert.equal(describeError(cyclic), 'loop: a');
    assert.equal(describeError('plain'), 'plain');
    assert.equal(describeError({ code: 1 }), '{"code":1}');
  });
});
