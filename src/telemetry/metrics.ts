/**
 * otel-lb's own metrics: a small registry of counters, gauges (set or observed through a
 * callback) and histograms, exposed in the Prometheus text format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format).
 *
 * ```ts
 * const registry = new MetricsRegistry();
 * const metrics = registry.scope({ constLabels: { component_id: 'otelcol.exporter.otlp.default', component_path: '/' } });
 * const sent = metrics.counter({ name: 'otelcol_exporter_sent_spans', help: 'Number of spans successfully sent to destination.', unit: '{spans}', labelNames: ['exporter'] });
 * const child = sent.labels({ exporter: 'otlp' }); // once, at build time
 * child.inc(batch.items);                          // on the hot path: one property add
 * registry.expose();                               // '# HELP otelcol_exporter_sent_spans_total …'
 * ```
 *
 * **Names.** Families are named as Alloy's `/metrics` shows the OpenTelemetry Collector's
 * own metrics. Alloy feeds each otelcol component's instruments through the OpenTelemetry
 * Go Prometheus exporter with its default naming (only `target_info` turned off), so an
 * instrument is exposed under its upstream name (`otelcol_exporter_sent_spans`, as in the
 * component's generated `documentation.md`) plus:
 *
 * - the unit as a suffix, translated the way that exporter does: `ms` → `_milliseconds`,
 *   `s` → `_seconds`, `By` → `_bytes`, `1` on a gauge → `_ratio`, `By/s` →
 *   `_bytes_per_second`; annotations in braces (`{spans}`) add nothing;
 * - `_total` on every counter.
 *
 * So callers pass the upstream instrument name and unit, and the registry derives
 * `otelcol_exporter_sent_spans_total` and
 * `otelcol_loadbalancer_backend_latency_milliseconds_{bucket,sum,count}`, the series
 * existing dashboards query. Label names are OpenTelemetry attribute keys; characters a
 * Prometheus label name cannot hold become `_` (`net.peer.name` → `net_peer_name`).
 * Left out on purpose: the `otel_scope_name`/`otel_scope_version` labels that exporter adds
 * to every series (they name Go packages, which otel-lb does not have).
 *
 * **Scopes.** A {@link MetricScope} adds constant labels (Alloy adds `component_id` and
 * `component_path` to every series of a component) and a {@link LabelFilter} (the
 * `debug_metrics { disable_high_cardinality_metrics }` switch, see
 * {@link HIGH_CARDINALITY_LABELS}) to everything created through it, and
 * {@link MetricScope.unregister} removes all of it again when the component goes away.
 * Two scopes that ask for the same family share it; each owns its own series.
 *
 * **Cost.** A series (a "child") is looked up once with `labels()`, which renders its label
 * set; callers keep the child, and recording is then a single property update (`inc`,
 * `set`) or a short bucket scan (`observe`), with no allocation and no string building.
 * Exposition renders only the values: every series keeps its line prefix pre-rendered.
 *
 * Concurrency: single-threaded like the rest of otel-lb; exposition sees every update made
 * before it. Programming errors (a bad name, a missing or unknown label, two definitions of
 * one family that disagree, a negative counter increment) throw `TypeError`.
 */

/** A label value as given; numbers and booleans are rendered with `String()`. */
export type LabelValue = string | number | boolean;

/** Values for the label names `L` of one series. */
export type LabelValues<L extends string> = Readonly<Record<L, LabelValue>>;

/**
 * Decides whether a label (by its OpenTelemetry attribute key, e.g. `net.peer.name`) is
 * kept; `false` drops it from the series. Series that differ only in dropped labels become
 * one series, as an OpenTelemetry view with an attribute filter makes them.
 */
export type LabelFilter = (name: string) => boolean;

/**
 * Attribute keys that `debug_metrics { disable_high_cardinality_metrics = true }` (the
 * default) drops: those Alloy drops from the gRPC and HTTP server instrumentation
 * (`net.sock.peer.*`, `net.host.*`, `http.client_ip`), their names in current semantic
 * conventions (`client.*`, `network.peer.*`, `network.local.*`) and `net.peer.*`. A
 * trailing `*` matches any suffix. Use with {@link dropLabels}.
 *
 * `endpoint` (the backend of `otelcol_loadbalancer_backend_latency`) is not in the list:
 * Alloy keeps it whatever the switch says, and per-backend latency is that metric's purpose.
 * Add it (`dropLabels([...HIGH_CARDINALITY_LABELS, 'endpoint'])`) to drop it too.
 */
export const HIGH_CARDINALITY_LABELS: readonly string[] = Object.freeze([
  'net.sock.peer.*',
  'net.host.name',
  'net.host.port',
  'http.client_ip',
  'net.peer.*',
  'client.address',
  'client.port',
  'network.peer.*',
  'network.local.*',
]);

/**
 * A {@link LabelFilter} that drops the labels named by `patterns`: exact attribute keys, or
 * prefixes written with a trailing `*` (`net.peer.*`).
 */
export function dropLabels(patterns: readonly string[]): LabelFilter {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const pattern of patterns) {
    if (pattern.endsWith('*')) prefixes.push(pattern.slice(0, -1));
    else exact.add(pattern);
  }
  return (name) => !exact.has(name) && !prefixes.some((prefix) => name.startsWith(prefix));
}

/** What every instrument is created with. */
export interface MetricOptions<L extends string> {
  /**
   * The upstream instrument name, e.g. `otelcol_exporter_sent_spans`: letters, digits, `_`
   * and `:`, not starting with a digit. The exposed name adds the unit and, for counters,
   * `_total` (see the module comment).
   */
  readonly name: string;
  /** The `# HELP` text: the instrument's description. */
  readonly help: string;
  /** UCUM unit as upstream declares it (`ms`, `s`, `By`, `1`, `{spans}`); none by default. */
  readonly unit?: string;
  /** Attribute keys of the series, in the order they are rendered. */
  readonly labelNames?: readonly L[];
}

/** Options of a histogram: upper bounds of its buckets, increasing, `+Inf` implied. */
export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  readonly buckets: readonly number[];
}

/** Records one value of an observed gauge, for one label set (none for a gauge without labels). */
export type GaugeObserver<L extends string> = (value: number, labels?: LabelValues<L>) => void;

/** Options of a gauge whose values are read at exposition time. */
export interface CallbackGaugeOptions<L extends string> extends MetricOptions<L> {
  /**
   * Called on every exposition; calls `observe` once per series. Must not block; if it
   * throws, that callback's series are left out of the exposition and the error goes to the
   * registry's `onError`.
   */
  readonly collect: (observe: GaugeObserver<L>) => void;
}

/** A counter series: a monotonic total. */
export interface CounterChild {
  /** Adds `amount` (default 1), which must be non-negative. */
  inc(amount?: number): void;
  /** The current total. */
  readonly value: number;
}

/** A gauge series: a value that goes up and down. */
export interface GaugeChild {
  set(value: number): void;
  /** Adds `amount` (default 1); may be negative. */
  inc(amount?: number): void;
  /** Subtracts `amount` (default 1). */
  dec(amount?: number): void;
  readonly value: number;
}

/** A histogram series. */
export interface HistogramChild {
  /** Counts `value` in the first bucket whose upper bound is `>= value`, and in the sum. */
  observe(value: number): void;
  readonly count: number;
  readonly sum: number;
}

/** A family of series of one kind, seen through the scope that created this handle. */
export interface MetricFamily<L extends string, C> {
  /** The exposed name, e.g. `otelcol_exporter_sent_spans_total`. */
  readonly name: string;
  /**
   * The series for `values` (plus the scope's constant labels), created on first use and
   * the same object afterwards. Look it up once and keep it: this renders the label set.
   *
   * @throws TypeError if a label of `labelNames` has no value, or an unknown one is given.
   */
  labels(...values: [L] extends [never] ? [] : [LabelValues<L>]): C;
  /** Removes the series for `values` from the exposition (as far as this scope owns it). */
  remove(...values: [L] extends [never] ? [] : [LabelValues<L>]): void;
}

export type Counter<L extends string = never> = MetricFamily<L, CounterChild>;
export type Gauge<L extends string = never> = MetricFamily<L, GaugeChild>;
export type Histogram<L extends string = never> = MetricFamily<L, HistogramChild>;

/** Undoes one registration (a callback gauge). Idempotent. */
export interface Registration {
  unregister(): void;
}

/** Options of {@link MetricScope.scope}. */
export interface ScopeOptions {
  /** Labels added to every series of the scope, e.g. `component_id`, `component_path`. */
  readonly constLabels?: Readonly<Record<string, LabelValue>>;
  /** Drops labels from every series of the scope (the parent's filter applies too). */
  readonly labelFilter?: LabelFilter;
}

/**
 * Where instruments are created: the registry itself, or a scope of it with constant labels
 * and a label filter (one per component). Creating an instrument whose family exists
 * returns a handle on that family, provided type, help, unit and buckets agree.
 */
export interface MetricScope {
  /** @throws TypeError on a bad name or label name, or a clash with an existing family. */
  counter<L extends string = never>(options: MetricOptions<L>): Counter<L>;
  /** @throws TypeError as {@link counter}. */
  gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L>;
  /** @throws TypeError as {@link counter}, or if the buckets are not finite and increasing. */
  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L>;
  /** @throws TypeError as {@link counter}. */
  callbackGauge<L extends string = never>(options: CallbackGaugeOptions<L>): Registration;
  /** A nested scope: its constant labels and filter add to this one's. */
  scope(options: ScopeOptions): MetricScope;
  /**
   * Removes every series and callback created through this scope and its nested scopes
   * (series another scope also uses stay). Children handed out before keep working but are
   * no longer exposed. Call it once the component no longer records.
   */
  unregister(): void;
}

/** Options of {@link MetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Errors thrown by `collect` callbacks during exposition. Default: ignored. */
  readonly onError?: (error: Error) => void;
}

/** The content type of {@link MetricsRegistry.expose}'s output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type MetricType = 'counter' | 'gauge' | 'histogram';
/** A label name (attribute key) and its value as rendered. */
type Pair = readonly [string, string];
type AnyLabelValues = Readonly<Record<string, LabelValue>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tebibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/**
 * The name suffix for a UCUM unit, as the OpenTelemetry Prometheus exporters derive it
 * (`ms` → `milliseconds`, `By/s` → `bytes_per_second`, `{spans}` → none).
 */
export function unitSuffix(unit: string | undefined, type: MetricType): string {
  if (unit === undefined) return '';
  const bare = unit.replace(/\{[^}]*\}/g, '').trim();
  if (bare === '1') return type === 'gauge' ? 'ratio' : '';
  if (bare === '') return '';
  const slash = bare.indexOf('/');
  const main = slash < 0 ? bare : bare.slice(0, slash);
  const per = slash < 0 ? '' : bare.slice(slash + 1);
  const words = [UNIT_WORDS[main] ?? sanitizeUnit(main)];
  if (per !== '') words.push('per', PER_UNIT_WORDS[per] ?? sanitizeUnit(per));
  return words.filter((w) => w !== '').join('_');
}

function sanitizeUnit(unit: string): string {
  return unit.replace(/[^a-zA-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

/** The exposed family name for an instrument (see the module comment). */
export function expositionName(name: string, unit: string | undefined, type: MetricType): string {
  if (!METRIC_NAME.test(name)) throw new TypeError(`invalid metric name ${JSON.stringify(name)}`);
  let full = name;
  const suffix = unitSuffix(unit, type);
  if (suffix !== '' && !full.endsWith(`_${suffix}`)) full += `_${suffix}`;
  if (type === 'counter' && !full.endsWith('_total')) full += '_total';
  return full;
}

/** A Prometheus label name for an attribute key: invalid characters become `_`. */
export function labelName(key: string): string {
  if (key === '') throw new TypeError('a label name cannot be empty');
  const name = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `key_${name}` : name;
}

/** Escapes a label value for the text format: `\` `"` and newline. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value;
}

function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** A sample value as the text format writes it (`+Inf`, `-Inf`, `NaN`, else the number). */
export function formatSampleValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** `{a="1",b="2"}`, or `` for no labels. */
function renderLabels(pairs: readonly Pair[]): string {
  if (pairs.length === 0) return '';
  let out = '{';
  for (let i = 0; i < pairs.length; i++) {
    const [name, value] = pairs[i] as Pair;
    if (i > 0) out += ',';
    out += `${labelName(name)}="${escapeLabelValue(value)}"`;
  }
  return `${out}}`;
}

// --- series -------------------------------------------------------------------------------

/** What every series keeps: its rendered labels and which scopes use it. */
abstract class Series {
  /** The rendered label set, `{…}` or ``: the series' key in its family. */
  readonly key: string;
  /** Number of scopes that asked for this series and have not released it. */
  owners = 0;

  constructor(key: string) {
    this.key = key;
  }

  abstract render(): string;
}

class CounterSeries extends Series implements CounterChild {
  value = 0;
  private readonly prefix: string;

  constructor(name: string, labels: string) {
    super(labels);
    this.prefix = `${name}${labels} `;
  }

  inc(amount = 1): void {
    if (!(amount >= 0)) throw new TypeError(`a counter cannot be increased by ${amount}`);
    this.value += amount;
  }

  render(): string {
    return `${this.prefix}${formatSampleValue(this.value)}\n`;
  }
}

class GaugeSeries extends Series implements GaugeChild {
  value = 0;
  private readonly prefix: string;

  constructor(name: string, labels: string) {
    super(labels);
    this.prefix = `${name}${labels} `;
  }

  set(value: number): void {
    this.value = value;
  }

  inc(amount = 1): void {
    this.value += amount;
  }

  dec(amount = 1): void {
    this.value -= amount;
  }

  render(): string {
    return `${this.prefix}${formatSampleValue(this.value)}\n`;
  }
}

class HistogramSeries extends Series implements HistogramChild {
  count = 0;
  sum = 0;
  private readonly bounds: Float64Array;
  /** Per bucket, not cumulative; the last one is `+Inf`. */
  private readonly counts: Float64Array;
  private readonly bucketPrefixes: readonly string[];
  private readonly sumPrefix: string;
  private readonly countPrefix: string;

  constructor(name: string, labels: string, pairs: readonly Pair[], bounds: Float64Array) {
    super(labels);
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
    const les = [...Array.from(bounds, formatSampleValue), '+Inf'];
    this.bucketPrefixes = les.map((le) => `${name}_bucket${renderLabels([...pairs, ['le', le]])} `);
    this.sumPrefix = `${name}_sum${labels} `;
    this.countPrefix = `${name}_count${labels} `;
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    // `!(<=)` so that NaN lands in +Inf, as in the Go client.
    while (i < bounds.length && !(value <= (bounds[i] as number))) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.count++;
    this.sum += value;
  }

  render(): string {
    let out = '';
    let cumulative = 0;
    for (let i = 0; i < this.bucketPrefixes.length; i++) {
      cumulative += this.counts[i] as number;
      out += `${this.bucketPrefixes[i] as string}${formatSampleValue(cumulative)}\n`;
    }
    return `${out}${this.sumPrefix}${formatSampleValue(this.sum)}\n${this.countPrefix}${formatSampleValue(this.count)}\n`;
  }
}

// --- families -----------------------------------------------------------------------------

interface CallbackEntry {
  readonly scope: ScopeImpl;
  readonly labelNames: readonly string[];
  readonly collect: (observe: GaugeObserver<string>) => void;
}

interface FamilyDefinition {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string | undefined;
  /** Histogram bucket bounds. */
  readonly bounds: Float64Array | undefined;
}

class Family {
  readonly definition: FamilyDefinition;
  readonly name: string;
  readonly series = new Map<string, Series>();
  readonly callbacks = new Set<CallbackEntry>();

  constructor(definition: FamilyDefinition) {
    this.definition = definition;
    this.name = definition.name;
  }

  createSeries(labels: string, pairs: readonly Pair[]): Series {
    switch (this.definition.type) {
      case 'counter':
        return new CounterSeries(this.name, labels);
      case 'gauge':
        return new GaugeSeries(this.name, labels);
      case 'histogram':
        return new HistogramSeries(this.name, labels, pairs, this.definition.bounds ?? new Float64Array(0));
    }
  }
}

// --- scopes and the registry ----------------------------------------------------------------

class ScopeImpl implements MetricScope {
  private readonly owned = new Map<Series, Family>();
  private readonly callbacks = new Set<{ readonly family: Family; readonly entry: CallbackEntry }>();
  private readonly nested = new Set<ScopeImpl>();

  private readonly state: RegistryState;
  readonly constLabels: readonly Pair[];
  readonly filter: LabelFilter | undefined;

  constructor(state: RegistryState, constLabels: readonly Pair[], filter: LabelFilter | undefined) {
    this.state = state;
    this.constLabels = constLabels;
    this.filter = filter;
  }

  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    return new FamilyHandle<L, CounterChild>(this, this.family(options, 'counter', undefined), options.labelNames);
  }

  gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L> {
    return new FamilyHandle<L, GaugeChild>(this, this.family(options, 'gauge', undefined), options.labelNames);
  }

  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    const bounds = Float64Array.from(options.buckets);
    for (let i = 0; i < bounds.length; i++) {
      const bound = bounds[i] as number;
      if (!Number.isFinite(bound) || (i > 0 && bound <= (bounds[i - 1] as number)))
        throw new TypeError(`histogram ${options.name}: buckets must be finite and increasing`);
    }
    return new FamilyHandle<L, HistogramChild>(this, this.family(options, 'histogram', bounds), options.labelNames);
  }

  callbackGauge<L extends string = never>(options: CallbackGaugeOptions<L>): Registration {
    const family = this.family(options, 'gauge', undefined);
    const labelNames = this.checkLabelNames(options.labelNames ?? []);
    const entry: CallbackEntry = { scope: this, labelNames, collect: options.collect };
    const registration = { family, entry };
    family.callbacks.add(entry);
    this.callbacks.add(registration);
    return {
      unregister: () => {
        family.callbacks.delete(entry);
        this.callbacks.delete(registration);
      },
    };
  }

  scope(options: ScopeOptions): MetricScope {
    const own = Object.entries(options.constLabels ?? {}).map(([k, v]) => [k, String(v)] as const);
    const constLabels = [...this.constLabels, ...own];
    this.checkLabelNames(own.map(([name]) => name));
    const parentFilter = this.filter;
    const ownFilter = options.labelFilter;
    const filter =
      parentFilter === undefined
        ? ownFilter
        : ownFilter === undefined
          ? parentFilter
          : (name: string) => parentFilter(name) && ownFilter(name);
    const scope = new ScopeImpl(this.state, constLabels, filter);
    this.nested.add(scope);
    return scope;
  }

  unregister(): void {
    for (const scope of this.nested) scope.unregister();
    this.nested.clear();
    for (const [series, family] of this.owned) release(family, series);
    this.owned.clear();
    for (const { family, entry } of this.callbacks) family.callbacks.delete(entry);
    this.callbacks.clear();
  }

  /** The key pairs of one series: constant labels first, then `labelNames`, filtered. */
  pairs(labelNames: readonly string[], values: AnyLabelValues | undefined, what: string): Pair[] {
    const pairs: Pair[] = [];
    const filter = this.filter;
    for (const pair of this.constLabels) if (filter === undefined || filter(pair[0])) pairs.push(pair);
    let given = 0;
    for (const name of labelNames) {
      const value = values?.[name];
      if (value === undefined) throw new TypeError(`${what}: no value for label ${name}`);
      given++;
      if (filter === undefined || filter(name)) pairs.push([name, String(value)]);
    }
    if (values !== undefined && Object.keys(values).length !== given) {
      const unknown = Object.keys(values).filter((k) => !labelNames.includes(k));
      throw new TypeError(`${what}: unknown label ${unknown.join(', ')}`);
    }
    return pairs;
  }

  acquire(family: Family, values: AnyLabelValues | undefined, labelNames: readonly string[]): Series {
    const pairs = this.pairs(labelNames, values, family.name);
    const labels = renderLabels(pairs);
    let series = family.series.get(labels);
    if (series === undefined) {
      series = family.createSeries(labels, pairs);
      family.series.set(labels, series);
    }
    if (!this.owned.has(series)) {
      this.owned.set(series, family);
      series.owners++;
    }
    return series;
  }

  remove(family: Family, values: AnyLabelValues | undefined, labelNames: readonly string[]): void {
    const series = family.series.get(renderLabels(this.pairs(labelNames, values, family.name)));
    if (series !== undefined && this.owned.delete(series)) release(family, series);
  }

  checkLabelNames(names: readonly string[]): readonly string[] {
    const seen = new Set<string>();
    for (const name of [...this.constLabels.map(([n]) => n), ...names]) {
      const rendered = labelName(name);
      if (rendered === 'le' || rendered.startsWith('__')) throw new TypeError(`label name ${name} is reserved`);
      if (seen.has(rendered)) throw new TypeError(`label ${name} is given twice (as ${rendered})`);
      seen.add(rendered);
    }
    return names.slice(0, names.length);
  }

  private family(options: MetricOptions<string>, type: MetricType, bounds: Float64Array | undefined): Family {
    this.checkLabelNames(options.labelNames ?? []);
    const name = expositionName(options.name, options.unit, type);
    const existing = this.state.families.get(name);
    if (existing === undefined) {
      const family = new Family({ name, type, help: options.help, unit: options.unit, bounds });
      this.state.families.set(name, family);
      this.state.sorted = undefined;
      return family;
    }
    const old = existing.definition;
    const sameBounds =
      old.bounds === bounds ||
      (old.bounds !== undefined &&
        bounds !== undefined &&
        old.bounds.length === bounds.length &&
        old.bounds.every((b, i) => b === bounds[i]));
    if (old.type !== type || old.help !== options.help || old.unit !== options.unit || !sameBounds)
      throw new TypeError(`metric ${name} is already defined as a different ${old.type}`);
    return existing;
  }
}

function release(family: Family, series: Series): void {
  series.owners--;
  if (series.owners === 0 && family.series.get(series.key) === series) family.series.delete(series.key);
}

class FamilyHandle<L extends string, C> implements MetricFamily<L, C> {
  readonly name: string;
  private readonly scope: ScopeImpl;
  private readonly family: Family;
  private readonly labelNames: readonly string[];

  constructor(scope: ScopeImpl, family: Family, labelNames: readonly L[] | undefined) {
    this.scope = scope;
    this.family = family;
    this.name = family.name;
    this.labelNames = [...(labelNames ?? [])];
  }

  labels(...values: [L] extends [never] ? [] : [LabelValues<L>]): C {
    // The family's type decides the series class; C is that class's interface.
    return this.scope.acquire(this.family, values[0], this.labelNames) as unknown as C;
  }

  remove(...values: [L] extends [never] ? [] : [LabelValues<L>]): void {
    this.scope.remove(this.family, values[0], this.labelNames);
  }
}

interface RegistryState {
  readonly families: Map<string, Family>;
  /** Families by name, rebuilt when one is added. */
  sorted: Family[] | undefined;
}

/**
 * The registry: the root {@link MetricScope} (no constant labels, no filter) and the
 * exposition. One per process; components get scopes of it.
 */
export class MetricsRegistry implements MetricScope {
  private readonly state: RegistryState = { families: new Map(), sorted: undefined };
  private readonly root = new ScopeImpl(this.state, [], undefined);
  private readonly onError: (error: Error) => void;

  constructor(options: MetricsRegistryOptions = {}) {
    this.onError = options.onError ?? ((): void => undefined);
  }

  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    return this.root.counter(options);
  }

  gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L> {
    return this.root.gauge(options);
  }

  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    return this.root.histogram(options);
  }

  callbackGauge<L extends string = never>(options: CallbackGaugeOptions<L>): Registration {
    return this.root.callbackGauge(options);
  }

  scope(options: ScopeOptions): MetricScope {
    return this.root.scope(options);
  }

  unregister(): void {
    this.root.unregister();
  }

  /**
   * Every family with at least one series, in the text format 0.0.4 ({@link
   * PROMETHEUS_CONTENT_TYPE}): families sorted by name, each with `# HELP` and `# TYPE`,
   * series in creation order. Runs the callbacks of observed gauges. Never throws.
   */
  expose(): string {
    this.state.sorted ??= [...this.state.families.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    let out = '';
    for (const family of this.state.sorted) {
      let body = '';
      for (const series of family.series.values()) body += series.render();
      if (family.callbacks.size > 0) body += this.collect(family);
      if (body === '') continue;
      out += `# HELP ${family.name} ${escapeHelp(family.definition.help)}\n# TYPE ${family.name} ${family.definition.type}\n${body}`;
    }
    return out;
  }

  /** The samples of a family's callbacks; the last observation of a label set wins. */
  private collect(family: Family): string {
    const samples = new Map<string, number>();
    for (const entry of family.callbacks) {
      const pending = new Map<string, number>();
      try {
        entry.collect((value, labels) => {
          pending.set(renderLabels(entry.scope.pairs(entry.labelNames, labels, family.name)), value);
        });
      } catch (error) {
        this.onError(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      for (const [labels, value] of pending) samples.set(labels, value);
    }
    let out = '';
    for (const [labels, value] of samples) out += `${family.name}${labels} ${formatSampleValue(value)}\n`;
    return out;
  }
}
