import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { HIGH_CARDINALITY_LABELS, MetricsRegistry, dropLabels, expositionName, unitSuffix } from './metrics.ts';

// --- a small parser of the text format 0.0.4, strict enough to catch malformed output ---------

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface ParsedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseLabels(text: string, at: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let rest = text.slice(1);
  while (!rest.startsWith('}')) {
    const name = LABEL_NAME.exec(rest)?.[0];
    assert.ok(name !== undefined, `${at}: bad label name in ${text}`);
    assert.ok(!(name in labels), `${at}: label ${name} twice`);
    rest = rest.slice(name.length);
    assert.ok(rest.startsWith('="'), `${at}: expected =" after ${name}`);
    rest = rest.slice(2);
    let value = '';
    for (;;) {
      const c = rest[0];
      assert.ok(c !== undefined, `${at}: unterminated label value`);
      rest = rest.slice(1);
      if (c === '"') break;
      assert.notEqual(c, '\n', `${at}: raw newline in label value`);
      if (c === '\\') {
        const e = rest[0];
        rest = rest.slice(1);
        assert.ok(e === '\\' || e === '"' || e === 'n', `${at}: bad escape \\${String(e)}`);
        value += e === 'n' ? '\n' : e;
      } else {
        value += c;
      }
    }
    labels[name] = value;
    if (rest.startsWith(',')) rest = rest.slice(1);
    else assert.ok(rest.startsWith('}'), `${at}: expected , or } in ${text}`);
  }
  return { labels, rest: rest.slice(1) };
}

function parseValue(text: string, at: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  assert.match(text, /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, `${at}: bad value ${text}`);
  return Number(text);
}

/** Parses an exposition and checks the rules of the format; returns families by name. */
function parseExposition(text: string): Map<string, ParsedFamily> {
  assert.ok(text === '' || text.endsWith('\n'), 'the exposition ends with a newline');
  const families = new Map<string, ParsedFamily>();
  const seenSeries = new Set<string>();
  let current: { name: string; help?: string; type?: string; samples: Sample[] } | undefined;
  const finish = (): void => {
    if (current === undefined) return;
    assert.ok(current.help !== undefined && current.type !== undefined, `${current.name}: HELP and TYPE`);
    assert.ok(!families.has(current.name), `${current.name}: family appears twice`);
    families.set(current.name, {
      name: current.name,
      help: current.help,
      type: current.type,
      samples: current.samples,
    });
  };
  for (const [i, line] of text.split('\n').slice(0, -1).entries()) {
    const at = `line ${i + 1}`;
    const help = /^# HELP ([^ ]+) (.*)$/.exec(line);
    if (help !== null) {
      finish();
      current = {
        name: help[1] ?? '',
        help: (help[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)),
        samples: [],
      };
      continue;
    }
    const type = /^# TYPE ([^ ]+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type !== null) {
      assert.equal(type[1], current?.name, `${at}: TYPE follows its HELP`);
      assert.ok(current !== undefined && current.samples.length === 0, `${at}: TYPE before samples`);
      current.type = type[2] ?? '';
      continue;
    }
    assert.ok(!line.startsWith('#'), `${at}: unexpected comment ${line}`);
    const name = NAME.exec(line)?.[0];
    assert.ok(name !== undefined && current !== undefined, `${at}: sample outside a family: ${line}`);
    const allowed =
      current.type === 'histogram'
        ? [`${current.name}_bucket`, `${current.name}_sum`, `${current.name}_count`]
        : [current.name];
    assert.ok(allowed.includes(name), `${at}: ${name} does not belong to ${current.name}`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, at));
    assert.ok(rest.startsWith(' '), `${at}: expected a space before the value`);
    const value = parseValue(rest.slice(1), at);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!seenSeries.has(key), `${at}: duplicate series ${key}`);
    seenSeries.add(key);
    current.samples.push({ name, labels, value });
  }
  finish();
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** Buckets are cumulative, end with +Inf, and +Inf equals _count, per label set. */
function checkHistogram(family: ParsedFamily): void {
  const byLabels = new Map<string, Sample[]>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    byLabels.set(key, [...(byLabels.get(key) ?? []), { ...s, labels: le === undefined ? rest : { ...rest, le } }]);
  }
  for (const samples of byLabels.values()) {
    const buckets = samples.filter((s) => s.name.endsWith('_bucket'));
    assert.equal(buckets.at(-1)?.labels.le, '+Inf', `${family.name}: last bucket is +Inf`);
    for (let i = 1; i < buckets.length; i++) assert.ok((buckets[i]?.value ?? 0) >= (buckets[i - 1]?.value ?? 0));
    assert.equal(buckets.at(-1)?.value, samples.find((s) => s.name.endsWith('_count'))?.value);
  }
}

function sampleValue(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  return family?.samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
}

// --- tests ----------------------------------------------------------------------------------

describe('MetricsRegistry', () => {
  it('exposes a labelled counter under its Alloy name, with HELP and TYPE', () => {
    const registry = new MetricsRegistry();
    const sent = registry.counter({
      name: 'otelcol_exporter_sent_spans',
      help: 'Number of spans successfully sent to destination.',
      unit: '{spans}',
      labelNames: ['exporter'],
    });

    const child = sent.labels({ exporter: 'otlp' });
    child.inc(5);
    child.inc();
    sent.labels({ exporter: 'other' }).inc(2);

    assert.equal(sent.name, 'otelcol_exporter_sent_spans_total');
    assert.equal(sent.labels({ exporter: 'otlp' }), child);
    assert.equal(
      registry.expose(),
      '# HELP otelcol_exporter_sent_spans_total Number of spans successfully sent to destination.\n' +
        '# TYPE otelcol_exporter_sent_spans_total counter\n' +
        'otelcol_exporter_sent_spans_total{exporter="otlp"} 6\n' +
        'otelcol_exporter_sent_spans_total{exporter="other"} 2\n',
    );
  });

  it('derives exposed names from the upstream name and unit as the OpenTelemetry Go exporter does', () => {
    const cases: [name: string, unit: string | undefined, type: 'counter' | 'gauge' | 'histogram', expected: string][] =
      [
        ['otelcol_exporter_sent_spans', '{spans}', 'counter', 'otelcol_exporter_sent_spans_total'],
        [
          'otelcol_loadbalancer_backend_latency',
          'ms',
          'histogram',
          'otelcol_loadbalancer_backend_latency_milliseconds',
        ],
        ['otelcol_exporter_duration', 's', 'histogram', 'otelcol_exporter_duration_seconds'],
        ['otelcol_exporter_queue_size', '{batches}', 'gauge', 'otelcol_exporter_queue_size'],
        ['otelcol_receiver_requests', undefined, 'counter', 'otelcol_receiver_requests_total'],
        ['already_total', undefined, 'counter', 'already_total'],
        ['sent', 'By', 'counter', 'sent_bytes_total'],
        ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second'],
        ['utilisation', '1', 'gauge', 'utilisation_ratio'],
        ['events', '1', 'counter', 'events_total'],
        ['latency_seconds', 's', 'histogram', 'latency_seconds'],
      ];
    for (const [name, unit, type, expected] of cases) {
      assert.equal(expositionName(name, unit, type), expected, `${name} ${String(unit)} ${type}`);
    }
    assert.equal(unitSuffix('{requests}/s', 'counter'), 'per_second');
  });

  it('escapes label values and help text so that the exposition parses back to the same strings', () => {
    const registry = new MetricsRegistry();
    const weird = 'a\\b"c\nd} e=f,g';
    const gauge = registry.gauge({ name: 'weird', help: 'back\\slash and\nnewline "quoted"', labelNames: ['v'] });

    gauge.labels({ v: weird }).set(1);
    const families = parseExposition(registry.expose());

    assert.equal(families.get('weird')?.help, 'back\\slash and\nnewline "quoted"');
    assert.equal(families.get('weird')?.samples[0]?.labels.v, weird);
  });

  it('renders attribute keys as valid label names', () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge({ name: 'g', help: 'h', labelNames: ['net.peer.name', '1st'] });

    gauge.labels({ 'net.peer.name': 'x', '1st': true }).set(2);

    assert.match(registry.expose(), /^g\{net_peer_name="x",key_1st="true"\} 2$/m);
  });

  it('exposes histograms with cumulative buckets, +Inf, sum and count', () => {
    const registry = new MetricsRegistry();
    const latency = registry.histogram({
      name: 'otelcol_loadbalancer_backend_latency',
      help: 'Response latency in ms for the backends.',
      unit: 'ms',
      labelNames: ['endpoint'],
      buckets: [5, 10, 100],
    });
    const child = latency.labels({ endpoint: 'a:4317' });

    for (const v of [1, 5, 7, 10, 50, 1000, NaN]) child.observe(v);
    const families = parseExposition(registry.expose());
    const value = (le: string): number | undefined =>
      sampleValue(families, 'otelcol_loadbalancer_backend_latency_milliseconds_bucket', { endpoint: 'a:4317', le });

    assert.equal(families.get('otelcol_loadbalancer_backend_latency_milliseconds')?.type, 'histogram');
    assert.deepEqual(
      ['5', '10', '100', '+Inf'].map(value),
      [2, 4, 5, 7],
      'a value equal to a bound counts in that bucket; NaN only in +Inf',
    );
    assert.equal(
      sampleValue(families, 'otelcol_loadbalancer_backend_latency_milliseconds_count', { endpoint: 'a:4317' }),
      7,
    );
    assert.equal(child.count, 7);
  });

  it('sets, raises and lowers gauges, and reads observed gauges at exposition time', () => {
    const registry = new MetricsRegistry();
    const size = registry.gauge({ name: 'otelcol_exporter_queue_size', help: 'Current size.', unit: '{batches}' });
    let backends = 3;
    registry.callbackGauge({
      name: 'otelcol_loadbalancer_num_backends',
      help: 'Current number of backends in use.',
      unit: '{backends}',
      labelNames: ['resolver'],
      collect: (observe) => {
        observe(backends, { resolver: 'dns' });
      },
    });

    const child = size.labels();
    child.set(10);
    child.inc(5);
    child.dec();
    const first = parseExposition(registry.expose());
    backends = 4;
    const second = parseExposition(registry.expose());

    assert.equal(sampleValue(first, 'otelcol_exporter_queue_size'), 14);
    assert.equal(sampleValue(first, 'otelcol_loadbalancer_num_backends', { resolver: 'dns' }), 3);
    assert.equal(sampleValue(second, 'otelcol_loadbalancer_num_backends', { resolver: 'dns' }), 4);
  });

  it('leaves out a callback that throws and reports its error', () => {
    const errors: Error[] = [];
    const registry = new MetricsRegistry({ onError: (e) => errors.push(e) });
    registry.callbackGauge({
      name: 'broken',
      help: 'h',
      collect: (observe) => {
        observe(1);
        throw new Error('boom');
      },
    });
    const ok = registry.callbackGauge({
      name: 'fine',
      help: 'h',
      collect: (observe) => {
        observe(2);
      },
    });

    const families = parseExposition(registry.expose());
    ok.unregister();

    assert.equal(families.has('broken'), false);
    assert.equal(sampleValue(families, 'fine'), 2);
    assert.deepEqual(
      errors.map((e) => e.message),
      ['boom'],
    );
    assert.equal(registry.expose(), '');
  });

  it('omits families without series', () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: 'unused', help: 'h', labelNames: ['x'] });

    assert.equal(registry.expose(), '');
  });

  it('exposes a valid document for many families and series', () => {
    const registry = new MetricsRegistry();
    for (let f = 0; f < 20; f++) {
      const counter = registry.counter({ name: `family_${f}`, help: `family ${f}`, labelNames: ['i', 'kind'] });
      const histogram = registry.histogram({ name: `hist_${f}`, help: 'h', labelNames: ['i'], buckets: [0.5, 1, 2.5] });
      for (let i = 0; i < 25; i++) {
        counter.labels({ i, kind: i % 2 === 0 ? 'even' : 'odd' }).inc(i);
        histogram.labels({ i }).observe(i / 10);
      }
    }

    const families = parseExposition(registry.expose());

    assert.equal(families.size, 40);
    assert.deepEqual([...families.keys()], [...families.keys()].sort());
  });
});

describe('MetricScope', () => {
  it('adds constant labels to every series of the scope', () => {
    const registry = new MetricsRegistry();
    const scope = registry.scope({
      constLabels: { component_id: 'otelcol.exporter.otlp.default', component_path: '/' },
    });

    scope
      .counter({ name: 'otelcol_exporter_sent_spans', help: 'h', labelNames: ['exporter'] })
      .labels({ exporter: 'otlp' })
      .inc();

    assert.match(
      registry.expose(),
      /^otelcol_exporter_sent_spans_total\{component_id="otelcol\.exporter\.otlp\.default",component_path="\/",exporter="otlp"\} 1$/m,
    );
  });

  it('drops filtered labels and merges the series they told apart', () => {
    const registry = new MetricsRegistry();
    const scope = registry.scope({ labelFilter: dropLabels(HIGH_CARDINALITY_LABELS) });
    const requests = scope.counter({
      name: 'rpc_requests',
      help: 'h',
      labelNames: ['rpc.method', 'net.sock.peer.addr'],
    });

    const a = requests.labels({ 'rpc.method': 'Export', 'net.sock.peer.addr': '10.0.0.1' });
    const b = requests.labels({ 'rpc.method': 'Export', 'net.sock.peer.addr': '10.0.0.2' });
    a.inc();
    b.inc();

    assert.equal(a, b);
    assert.equal(registry.expose().split('\n')[2], 'rpc_requests_total{rpc_method="Export"} 2');
  });

  it('matches exact keys and prefixes in dropLabels, and keeps endpoint by default', () => {
    const keep = dropLabels(HIGH_CARDINALITY_LABELS);

    assert.deepEqual(
      [
        'net.peer.name',
        'net.peer.port',
        'net.sock.peer.addr',
        'net.host.port',
        'client.address',
        'endpoint',
        'exporter',
      ].map(keep),
      [false, false, false, false, false, true, true],
    );
    assert.equal(dropLabels([...HIGH_CARDINALITY_LABELS, 'endpoint'])('endpoint'), false);
  });

  it('combines the filters and constant labels of nested scopes', () => {
    const registry = new MetricsRegistry();
    const outer = registry.scope({ constLabels: { component_path: '/' }, labelFilter: (n) => n !== 'a' });
    const inner = outer.scope({ constLabels: { component_id: 'x' }, labelFilter: (n) => n !== 'b' });

    inner
      .gauge({ name: 'g', help: 'h', labelNames: ['a', 'b', 'c'] })
      .labels({ a: 1, b: 2, c: 3 })
      .set(1);

    assert.match(registry.expose(), /^g\{component_path="\/",component_id="x",c="3"\} 1$/m);
  });

  it('shares a family between scopes and unregisters only what a scope created', () => {
    const registry = new MetricsRegistry();
    const a = registry.scope({ constLabels: { component_id: 'a' } });
    const b = registry.scope({ constLabels: { component_id: 'b' } });
    const options = { name: 'sent', help: 'h' } as const;
    a.counter(options).labels().inc(1);
    b.counter(options).labels().inc(2);
    let bCallbacks = 0;
    b.callbackGauge({
      name: 'observed',
      help: 'h',
      collect: (observe) => {
        observe(++bCallbacks);
      },
    });

    a.unregister();
    const afterA = parseExposition(registry.expose());
    b.unregister();

    assert.deepEqual(
      afterA.get('sent_total')?.samples.map((s) => s.labels),
      [{ component_id: 'b' }],
    );
    assert.equal(afterA.has('observed'), true);
    assert.equal(registry.expose(), '');
  });

  it('keeps a series two scopes use until both release it, and removes one on request', () => {
    const registry = new MetricsRegistry();
    const first = registry.scope({});
    const second = registry.scope({});
    const inFirst = first.gauge({ name: 'g', help: 'h', labelNames: ['k'] });
    const inSecond = second.gauge({ name: 'g', help: 'h', labelNames: ['k'] });
    inFirst.labels({ k: 'shared' }).set(7);
    inSecond.labels({ k: 'shared' });
    inFirst.labels({ k: 'own' }).set(1);

    first.unregister();
    const afterFirst = registry.expose();
    inSecond.remove({ k: 'shared' });

    assert.equal(afterFirst.split('\n').slice(2).join('\n'), 'g{k="shared"} 7\n');
    assert.equal(registry.expose(), '');
  });

  it('throws TypeError on programming errors', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: 'c', help: 'h', labelNames: ['a'] });
    registry.histogram({ name: 'h', help: 'h', buckets: [1, 2] });
    const scoped = registry.scope({ constLabels: { a: 'x' } });

    const cases: [string, () => unknown][] = [
      ['bad name', () => registry.counter({ name: 'bad-name', help: 'h' })],
      ['type clash', () => registry.gauge({ name: 'c_total', help: 'h' })],
      ['help clash', () => registry.counter({ name: 'c', help: 'other', labelNames: ['a'] })],
      ['bucket clash', () => registry.histogram({ name: 'h', help: 'h', buckets: [1, 3] })],
      ['unsorted buckets', () => registry.histogram({ name: 'h2', help: 'h', buckets: [2, 1] })],
      ['missing label', () => counter.labels({} as { a: string })],
      ['unknown label', () => counter.labels({ a: 1, b: 2 } as { a: number })],
      [
        'negative increment',
        () => {
          counter.labels({ a: 1 }).inc(-1);
        },
      ],
      ['reserved label', () => registry.gauge({ name: 'g', help: 'h', labelNames: ['le'] })],
      ['label twice', () => scoped.gauge({ name: 'g', help: 'h', labelNames: ['a'] })],
    ];
    for (const [what, run] of cases) assert.throws(run, TypeError, what);
  });
});
