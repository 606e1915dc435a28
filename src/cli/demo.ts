/**
 * `otel-lb demo` (what `npm start` runs): otel-lb on loopback in front of sink backends,
 * fed by a generator of realistic traces and logs, with a live view of the traffic and
 * the proof that matters: every trace arrived whole at exactly one backend.
 */

import { parseArgs } from 'node:util';

import { LoadBalancer } from '../components/exporter-loadbalancing/load-balancer.ts';
import { DEFAULT_RING } from '../components/exporter-loadbalancing/hash-ring/hash-ring.ts';
import { TraceLedger } from '../demo/ledger.ts';
import { Workload } from '../demo/workload.ts';
import { RoutingKey } from '../otlp/splitter.ts';
import { GrpcClient } from '../transport/grpc-client.ts';
import { GrpcServer } from '../transport/grpc-server.ts';
import { DEFAULT_QUEUE_SETTINGS } from '../transport/queue.ts';
import { DEFAULT_RETRY_POLICY } from '../transport/retry.ts';
import { DEFAULT_MERGE_SETTINGS } from '../transport/sender.ts';
import { ExitCode, writeOut, type CliIo } from './io.ts';

export const DEMO_HELP = `Usage: otel-lb demo [options]

Starts otel-lb on 127.0.0.1 in front of sink backends and feeds it realistic traces and
logs from a shop of 13 services (5-50 spans per trace, attributes, events, errors). Shows
spans/s in and out, each backend's share, and whether any trace reached more than one
backend. Stops after --duration seconds or on Ctrl-C, prints a summary, and exits with 0
when every span arrived and no trace was split (1 otherwise).

Options:
  --duration SECONDS   How long to run (default: 15).
  --backends N         Number of sink backends (default: 3).
  --rate SPANS         Spans per second to generate (default: 20000).
  -h, --help           Show this help.
`;

interface DemoOptions {
  readonly durationMs: number;
  readonly backends: number;
  readonly spansPerSecond: number;
}

function positiveNumber(name: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max)
    throw new Error(`--${name} ${JSON.stringify(value)}: give a number above 0 and at most ${max}`);
  return n;
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return '█'.repeat(filled) + '·'.repeat(width - filled);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Runs `otel-lb demo`; resolves to the exit code. */
export async function runDemo(args: readonly string[], io: CliIo): Promise<ExitCode> {
  let options: DemoOptions;
  try {
    const { values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: 'string', default: '15' },
        backends: { type: 'string', default: '3' },
        rate: { type: 'string', default: '20000' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      await writeOut(io.stdout, DEMO_HELP);
      return ExitCode.OK;
    }
    options = {
      durationMs: positiveNumber('duration', values.duration, 86_400) * 1000,
      backends: Math.round(positiveNumber('backends', values.backends, 64)),
      spansPerSecond: positiveNumber('rate', values.rate, 10_000_000),
    };
  } catch (err) {
    await writeOut(
      io.stderr,
      `otel-lb demo: ${err instanceof Error ? err.message : String(err)}\nRun "otel-lb demo --help" for usage.\n`,
    );
    return ExitCode.USAGE;
  }
  return demo(options, io);
}

async function demo(options: DemoOptions, io: CliIo): Promise<ExitCode> {
  const ledger = new TraceLedger(options.backends);
  const sinks: GrpcServer[] = [];
  const endpoints: string[] = [];
  for (let i = 0; i < options.backends; i++) {
    const consumer = ledger.consumer(i);
    const sink = new GrpcServer({ host: '127.0.0.1', port: 0, consumers: { traces: consumer, logs: consumer } });
    const address = await sink.listen();
    sinks.push(sink);
    endpoints.push(`127.0.0.1:${address.port}`);
  }
  const lb = new LoadBalancer({
    routingKey: RoutingKey.TRACE_ID,
    endpoints,
    queue: DEFAULT_QUEUE_SETTINGS,
    retry: DEFAULT_RETRY_POLICY,
    merge: DEFAULT_MERGE_SETTINGS,
    createClient: (endpoint) => new GrpcClient({ endpoint }),
  });
  const receiver = new GrpcServer({ host: '127.0.0.1', port: 0, consumers: { traces: lb, logs: lb } });
  const receiverAddress = await receiver.listen();
  const client = new GrpcClient({ endpoint: `127.0.0.1:${receiverAddress.port}` });

  const interactive = 'isTTY' in io.stdout && io.stdout.isTTY === true;
  await writeOut(
    io.stdout,
    `otel-lb demo: receiver on 127.0.0.1:${receiverAddress.port} (OTLP/gRPC), ${options.backends} sink backends (${endpoints.join(', ')}),\n` +
      `routing_key = "traceID", ring ${DEFAULT_RING}, compression gzip; ${fmt(options.spansPerSecond)} spans/s for ${options.durationMs / 1000} s. Ctrl-C stops.\n\n`,
  );

  // The generator: rounds of traces from the shop's services, paced to the rate.
  const stop = new AbortController();
  const external = io.signal;
  const onExternal = (): void => {
    stop.abort();
  };
  external?.addEventListener('abort', onExternal, { once: true });
  const timer = setTimeout(() => {
    stop.abort();
  }, options.durationMs);
  timer.unref();
  const sent = { spans: 0, logs: 0, retried: 0, failed: 0, lastError: '' };
  const started = Date.now();
  const workload = new Workload(Date.now() & 0xffff);
  let generated = 0;
  const generating = (async () => {
    const inFlight = new Set<Promise<void>>();
    while (!stop.signal.aborted) {
      const round = workload.round(20);
      for (const batch of [...round.traces, ...round.logs]) {
        // Like an SDK: a refused request is sent again after the wait the server asks for.
        const call = (async () => {
          for (let attempt = 0; ; attempt++) {
            const result = await client.export(batch);
            if (result.kind === 'ok') {
              if (batch.signal === 'logs') sent.logs += batch.items;
              else sent.spans += batch.items;
              return;
            }
            sent.lastError = result.error.message;
            if (result.kind === 'permanent' || attempt >= 5) {
              sent.failed += batch.items;
              return;
            }
            sent.retried += batch.items;
            await new Promise((resolve) => setTimeout(resolve, result.retryAfterMs ?? 200));
          }
        })();
        const tracked = call.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
      }
      if (inFlight.size > 64) await Promise.race(inFlight);
      // Pace: stay on the line spans = rate × elapsed.
      generated += round.spans;
      const dueMs = (generated / options.spansPerSecond) * 1000 - (Date.now() - started);
      if (dueMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(dueMs, 200)));
    }
    await Promise.all(inFlight);
  })();

  // The live view.
  let lastSpans = 0;
  let lastIn = 0;
  let lastAt = started;
  let lines = 0;
  const draw = async (): Promise<void> => {
    const now = Date.now();
    const secs = Math.max(0.001, (now - lastAt) / 1000);
    const delivered = ledger.backends.reduce((n, b) => n + b.spans, 0);
    const inRate = (sent.spans - lastIn) / secs;
    const outRate = (delivered - lastSpans) / secs;
    lastIn = sent.spans;
    lastSpans = delivered;
    lastAt = now;
    const out: string[] = [];
    out.push(
      `  ${((now - started) / 1000).toFixed(1).padStart(5)} s   in ${fmt(inRate).padStart(8)} spans/s   out ${fmt(outRate).padStart(8)} spans/s   traces ${fmt(ledger.traces).padStart(8)}`,
    );
    for (let i = 0; i < options.backends; i++) {
      const b = ledger.backends[i];
      const share = delivered === 0 || b === undefined ? 0 : b.spans / delivered;
      out.push(
        `  backend ${String(i + 1).padStart(2)}  ${endpoints[i] ?? ''}  ${bar(share, 30)} ${(share * 100).toFixed(1).padStart(5)} %  ${fmt(b?.spans ?? 0).padStart(9)} spans  ${fmt(b?.logRecords ?? 0).padStart(7)} logs`,
      );
    }
    out.push(
      `  split traces: ${ledger.splitTraces}${ledger.splitTraces === 0 ? '  (every trace arrived whole at exactly one backend)' : '  (!)'}`,
    );
    if (sent.retried + sent.failed > 0) {
      out.push(
        `  sent again after a refusal: ${fmt(sent.retried)} spans; failed: ${fmt(sent.failed)} spans; last error: ${sent.lastError}`,
      );
    }
    let text = out.join('\n') + '\n';
    // On a terminal, redraw in place; elsewhere (a pipe, CI) append snapshots.
    if (interactive && lines > 0) text = `\x1b[${lines}A\x1b[J` + text;
    lines = out.length;
    await writeOut(io.stdout, text);
  };
  const view = setInterval(
    () => {
      void draw();
    },
    interactive ? 500 : 2_000,
  );
  view.unref();

  await generating;
  clearInterval(view);
  clearTimeout(timer);
  external?.removeEventListener('abort', onExternal);
  await client.close();
  await receiver.close(5_000);
  await lb.shutdown(Date.now() + 10_000);
  await Promise.all(sinks.map((s) => s.close(1_000)));
  lastAt = started;
  lastIn = 0;
  lastSpans = 0;
  await draw();

  const elapsed = (Date.now() - started) / 1000;
  const delivered = ledger.backends.reduce((n, b) => n + b.spans, 0);
  const deliveredLogs = ledger.backends.reduce((n, b) => n + b.logRecords, 0);
  const lost = sent.spans - delivered;
  const ok = ledger.splitTraces === 0 && lost === 0 && deliveredLogs === sent.logs;
  const shares = ledger.backends
    .map((b) => (delivered === 0 ? 0 : (100 * b.spans) / delivered).toFixed(1) + ' %')
    .join(' / ');
  await writeOut(
    io.stdout,
    `\nSummary: ${fmt(sent.spans)} spans and ${fmt(sent.logs)} log records accepted in ${elapsed.toFixed(1)} s (${fmt(sent.spans / elapsed)} spans/s);\n` +
      `${fmt(delivered)} spans and ${fmt(deliveredLogs)} log records delivered (${lost === 0 ? 'none lost' : `${fmt(lost)} spans missing`}); ` +
      `${fmt(ledger.traces)} traces, ${ledger.splitTraces} split; backend shares ${shares}.\n` +
      (ok ? 'Every trace arrived whole at exactly one backend.\n' : 'Something is wrong: see the counts above.\n'),
  );
  return ok ? ExitCode.OK : ExitCode.FAILURE;
}
