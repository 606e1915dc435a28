/**
 * Micro-benchmark of OTLP/JSON → protobuf (src/otlp/json.ts), measured in the same run
 * against its floor and its alternative:
 *
 * - `JSON.parse only`: what any conversion that starts from `JSON.parse` pays at least;
 * - `protobufjs`: `JSON.parse`, hex IDs to bytes (the decoder's `encodeOtlp`), then
 *   protobufjs `fromObject` + `encode`: the conversion built on the existing decoder.
 *
 *   node bench/micro/json.bench.ts                  # full run, ~1 min
 *   BENCH_SMOKE=1 node bench/micro/json.bench.ts    # one quick pass
 *
 * Each case runs in a fresh process, five times, interleaved (as routing.bench.ts does, for
 * the same reason); the table shows the median of the per-process medians and, in brackets,
 * the fastest. MB/s is of JSON input, the UTF-8 bytes an OTLP/HTTP client sends.
 */

import { spawnSync } from 'node:child_process';
import os from 'node:os';

import { measure, do_not_optimize } from 'mitata';

import { otlpJsonToProtobuf } from '../../src/otlp/json.ts';
import { decodeLogsRequest, decodeTracesRequest, encodeOtlp, OtlpMessageName } from '../../src/otlp/proto/decoder.ts';
import { Signal } from '../../src/otlp/signal.ts';
import { buildLogsRequest, buildTracesRequest } from '../../test/helpers/otlp-builders.ts';

const SMOKE = process.env.BENCH_SMOKE === '1';
const OPTIONS = SMOKE
  ? { min_samples: 1, max_samples: 2, min_cpu_time: 0, warmup_samples: 0 }
  : { min_cpu_time: 1_500_000_000 };

// The builders' requests carry no AnyValue.bytes_value, so the decoder's hex objects are OTLP/JSON as they are.
const TRACES_JSON = Buffer.from(JSON.stringify(decodeTracesRequest(buildTracesRequest())));
const LOGS_JSON = Buffer.from(JSON.stringify(decodeLogsRequest(buildLogsRequest())));

interface Case {
  readonly name: string;
  readonly bytes: number;
  readonly run: () => unknown;
}

const CASES: readonly Case[] = [
  {
    name: 'traces: otlpJsonToProtobuf',
    bytes: TRACES_JSON.length,
    run: () => otlpJsonToProtobuf(Signal.TRACES, TRACES_JSON),
  },
  {
    name: 'traces: JSON.parse only',
    bytes: TRACES_JSON.length,
    run: () => JSON.parse(TRACES_JSON.toString()) as unknown,
  },
  {
    name: 'traces: protobufjs',
    bytes: TRACES_JSON.length,
    run: () => encodeOtlp(OtlpMessageName.TRACES_REQUEST, JSON.parse(TRACES_JSON.toString()) as never),
  },
  { name: 'logs: otlpJsonToProtobuf', bytes: LOGS_JSON.length, run: () => otlpJsonToProtobuf(Signal.LOGS, LOGS_JSON) },
  { name: 'logs: JSON.parse only', bytes: LOGS_JSON.length, run: () => JSON.parse(LOGS_JSON.toString()) as unknown },
  {
    name: 'logs: protobufjs',
    bytes: LOGS_JSON.length,
    run: () => encodeOtlp(OtlpMessageName.LOGS_REQUEST, JSON.parse(LOGS_JSON.toString()) as never),
  },
];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function mbPerS(bytes: number, ns: number): number {
  return bytes / 1e6 / (ns / 1e9);
}

if (process.argv[2] === '--case') {
  const c = CASES.find((x) => x.name === process.argv[3]);
  if (c === undefined) throw new Error(`no case ${String(process.argv[3])}`);
  const stats = await measure(() => {
    do_not_optimize(c.run());
  }, OPTIONS);
  console.log(JSON.stringify({ p50: stats.p50 }));
} else {
  const rounds = SMOKE ? 1 : 5;
  const samples = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const c of CASES) {
      const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--case', c.name], {
        encoding: 'utf8',
        env: process.env,
      });
      if (child.status !== 0) throw new Error(`case ${c.name} failed: ${child.stderr}`);
      samples.get(c.name)?.push((JSON.parse(child.stdout) as { p50: number }).p50);
    }
  }

  console.log(
    `OTLP/JSON → protobuf — Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}${SMOKE ? ' (smoke run)' : ''}`,
  );
  console.log(
    `traces: ${TRACES_JSON.length} bytes of JSON, 5000 spans; logs: ${LOGS_JSON.length} bytes, 5000 records; median of ${rounds} processes per case\n`,
  );
  console.log('| case | median (fastest) | MB/s of JSON (fastest) |');
  console.log('|---|---:|---:|');
  for (const c of CASES) {
    const values = samples.get(c.name) ?? [];
    const ns = median(values);
    const best = Math.min(...values);
    console.log(
      `| ${c.name} | ${(ns / 1e6).toFixed(2)} ms (${(best / 1e6).toFixed(2)}) | ${mbPerS(c.bytes, ns).toFixed(0)} (${mbPerS(c.bytes, best).toFixed(0)}) |`,
    );
  }
}
