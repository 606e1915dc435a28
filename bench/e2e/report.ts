/**
 * The results of a bench: one {@link RunResult} per SUT and compression, the table with
 * ratios to `passthrough`, the targets of issue 3, and the JSON file.
 */

import { writeFile } from 'node:fs/promises';

/** One measured run. The first fields are exactly those of the JSON file. */
export interface RunResult {
  readonly name: string;
  readonly compression: string;
  /** Spans delivered to the sinks per second in the measuring window. */
  readonly spans_per_s: number;
  /** Uncompressed request bytes (the pool's bytes per span × spans/s), in 10^6 bytes per second. */
  readonly mb_per_s: number;
  /** Client-side latency of the calls answered OK in the window. */
  readonly p50_ms: number;
  readonly p99_ms: number;
  /** CPU seconds of the SUT (all its processes and threads) per million spans delivered. */
  readonly cpu_s_per_million_spans: number;
  /** Peak RSS of the SUT (sum over its processes), 10^6 bytes. */
  readonly peak_rss_mb: number;
  /** Traces that reached more than one sink, over the whole run (warm-up included). */
  readonly split_traces: number;
  /** What the table shows besides, for judging the figures. */
  readonly detail: RunDetail;
}

/** Where the CPU went, and what the client saw. */
export interface RunDetail {
  /** Spans the client had acknowledged per second in the window (cross-check of spans/s). */
  readonly ackedSpansPerS: number;
  /** Cores used in the window by the SUT, the load generator and the sinks (1 = one core). */
  readonly sutCores: number;
  readonly clientCores: number;
  readonly sinksCores: number;
  /** Calls refused (retryable) and failed in the window; spans acknowledged but never delivered. */
  readonly refused: number;
  readonly failed: number;
  readonly lostSpans: number;
  readonly lastError: string;
  /** Requests per second in the window: answered OK by the SUT, and received by the sinks. */
  readonly requestsInPerS: number;
  readonly requestsOutPerS: number;
  /** Spans per sink over the whole run. */
  readonly perBackend: readonly number[];
  /** Whether the SUT is one Node.js process (one thread runs all its JavaScript). */
  readonly oneNodeProcess: boolean;
}

/** Bench-wide facts printed above the table. */
export interface BenchContext {
  readonly command: string;
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly pool: string;
  readonly load: string;
  readonly timing: string;
  readonly skipped: readonly string[];
}

const JSON_FIELDS = [
  'name',
  'compression',
  'spans_per_s',
  'mb_per_s',
  'p50_ms',
  'p99_ms',
  'cpu_s_per_million_spans',
  'peak_rss_mb',
  'split_traces',
] as const;

/** Writes `{"runs":[…]}` with exactly the JSON fields of each run. */
export async function writeJson(file: string, runs: readonly RunResult[]): Promise<void> {
  const out = runs.map((run) => Object.fromEntries(JSON_FIELDS.map((field) => [field, run[field]])));
  await writeFile(file, `${JSON.stringify({ runs: out }, null, 2)}\n`);
}

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function find(runs: readonly RunResult[], name: string, compression: string): RunResult | undefined {
  return runs.find((r) => r.name === name && r.compression === compression);
}

/** What held a run back, judged from where the CPU went (2 cores shared by everything). */
function bottleneck(run: RunResult, cores: number): string {
  const d = run.detail;
  const notes: string[] = [];
  if (d.oneNodeProcess && d.sutCores > 0.9) notes.push('SUT at one core');
  if (d.clientCores > 0.9) notes.push('client at one core');
  if (d.sinksCores > 0.9) notes.push('sinks at one core');
  if (d.sutCores + d.clientCores + d.sinksCores > cores * 0.9) notes.push('machine saturated');
  if (d.refused > 0) notes.push(`${fmt(d.refused)} refused`);
  if (d.failed > 0) notes.push(`${fmt(d.failed)} failed`);
  if (d.lostSpans > 0) notes.push(`${fmt(d.lostSpans)} spans lost`);
  return notes.join('; ');
}

/** The report: context, the table, the targets. */
export function formatReport(context: BenchContext, runs: readonly RunResult[]): string {
  const lines: string[] = [];
  lines.push(`Command: ${context.command}`);
  lines.push(
    `Node ${context.node}; ${context.cpu} × ${context.cores} cores, ${fmt(context.memoryGb)} GB RAM, shared by the load generator, the SUT and the sinks`,
  );
  lines.push(`Pool: ${context.pool}`);
  lines.push(`Load: ${context.load}`);
  lines.push(`Timing: ${context.timing}`);
  for (const skipped of context.skipped) lines.push(`Skipped: ${skipped}`);
  lines.push('');
  lines.push(
    '| SUT | compression | spans/s | × passthrough | MB/s | p50 ms | p99 ms | CPU s / M spans | peak RSS MB | split traces | requests out / in | cores used: SUT / client / sinks | notes |',
  );
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|');
  for (const run of runs) {
    const base = find(runs, 'passthrough', run.compression);
    const ratio = base === undefined ? Number.NaN : run.spans_per_s / base.spans_per_s;
    const d = run.detail;
    lines.push(
      `| ${run.name} | ${run.compression} | ${fmt(run.spans_per_s)} | ${fmt(ratio, 2)} | ${fmt(run.mb_per_s, 1)} | ${fmt(run.p50_ms, 1)} | ${fmt(run.p99_ms, 1)} | ${fmt(run.cpu_s_per_million_spans, 2)} | ${fmt(run.peak_rss_mb)} | ${fmt(run.split_traces)} | ${fmt(d.requestsOutPerS / d.requestsInPerS, 2)} | ${fmt(d.sutCores, 2)} / ${fmt(d.clientCores, 2)} / ${fmt(d.sinksCores, 2)} | ${bottleneck(run, context.cores)} |`,
    );
  }
  lines.push('');
  lines.push(...formatTargets(runs));
  return lines.join('\n');
}

/** The targets of issue 3, as ratios in this run. */
function formatTargets(runs: readonly RunResult[]): string[] {
  const lines = ['Targets (issue 3), as ratios of spans/s in this run:'];
  const check = (label: string, value: number, goal: number, unit = '×'): void => {
    if (!Number.isFinite(value)) {
      lines.push(`- ${label}: not measured`);
      return;
    }
    const met = unit === '×' ? value >= goal : value <= goal;
    lines.push(
      `- ${label}: ${fmt(value, unit === '×' ? 2 : 0)}${unit === '×' ? ' ×' : ` ${unit}`} (${met ? 'met' : 'MISSED'})`,
    );
  };
  const ratio = (a: string, b: string, compression: string): number => {
    const x = find(runs, a, compression);
    const y = find(runs, b, compression);
    return x === undefined || y === undefined ? Number.NaN : x.spans_per_s / y.spans_per_s;
  };
  const lbs = [...new Set(runs.filter((r) => r.name.startsWith('otel-lb')).map((r) => r.name))];
  for (const lb of lbs) {
    check(`${lb} ≥ 0.8 × passthrough, no compression`, ratio(lb, 'passthrough', 'none'), 0.8);
    for (const compression of ['none', 'gzip']) {
      check(`${lb} ≥ 5 × naive, ${compression}`, ratio(lb, 'naive', compression), 5);
    }
    for (const compression of ['none', 'gzip']) {
      check(`${lb} ≥ 1 × haproxy, ${compression}`, ratio(lb, 'haproxy', compression), 1);
    }
    const mine = runs.filter((r) => r.name === lb);
    const split = mine.reduce((n, r) => n + r.split_traces, 0);
    lines.push(`- ${lb} split traces = 0: ${fmt(split)} (${split === 0 ? 'met' : 'MISSED'})`);
    check(`${lb} peak RSS ≤ 250 MB`, Math.max(...mine.map((r) => r.peak_rss_mb)), 250, 'MB');
  }
  const single = find(runs, 'otel-lb', 'none');
  for (const lb of lbs.filter((n) => n !== 'otel-lb')) {
    for (const compression of ['none', 'gzip']) {
      const multi = find(runs, lb, compression);
      const one = find(runs, 'otel-lb', compression);
      if (multi !== undefined && one !== undefined && single !== undefined) {
        lines.push(
          `- scaling ${lb} / otel-lb, ${compression}: ${fmt(multi.spans_per_s / one.spans_per_s, 2)} × spans/s, ${fmt(multi.detail.sutCores, 2)} vs ${fmt(one.detail.sutCores, 2)} cores used by the SUT`,
        );
      }
    }
  }
  return lines;
}
