/**
 * `otel-lb run` and `otel-lb validate` as processes: the status endpoints, reloads by SIGHUP
 * and /-/reload (a bad file keeps the running configuration), draining on SIGTERM, and the
 * errors of a configuration that does not load.
 */

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, describe, it } from 'node:test';

import { GrpcClient } from '../../src/transport/grpc-client.ts';
import { retryable, EXPORT_OK } from '../../src/transport/export-result.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';
import { OtelLbProcess, startRun, writeConfig, type LogEvent } from '../helpers/otel-lb-process.ts';
import { SinkPool } from '../helpers/sink-backend.ts';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;

function config(endpoints: readonly string[], extraOtlp = ''): string {
  return `otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "127.0.0.1:0"
  }
  output {
    traces = [otelcol.exporter.loadbalancing.default.input]
  }
}

otelcol.exporter.loadbalancing "default" {
  resolver {
    static {
      hostnames = [${endpoints.map((e) => `"${e}"`).join(', ')}]
    }
  }
  protocol {
    otlp {
      client {
        tls {
          insecure = true
        }
      }
${extraOtlp}
    }
  }
}
`;
}

async function receiverEndpoint(proc: OtelLbProcess): Promise<string> {
  const started = await proc.waitForMessage('Starting GRPC server', 'otelcol.receiver.otlp.default');
  return String(started['endpoint']);
}

/** Sends `n` requests of 10 traces × 5 spans; resolves with the number of spans sent. */
async function sendTraces(endpoint: string, n: number, seed: number): Promise<number> {
  const client = new GrpcClient({ endpoint, compression: 'none' });
  try {
    for (let i = 0; i < n; i++) {
      const bytes = buildTracesRequest({ traces: 10, spansPerTrace: 5, seed: seed + i });
      const result = await client.export({ signal: 'traces', bytes, items: 50 });
      assert.equal(result.kind, 'ok', result.kind === 'ok' ? '' : result.error.message);
    }
  } finally {
    await client.close();
  }
  return n * 50;
}

function runValidate(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = new OtelLbProcess(['validate', file], env);
  return proc.exited.then(({ code }) => ({ code, stdout: proc.stdout, stderr: proc.stderr }));
}

describe('otel-lb validate', () => {
  const files: ReturnType<typeof writeConfig>[] = [];
  after(() => {
    for (const f of files) f.cleanup();
  });

  for (const name of readdirSync(EXAMPLES).filter((f) => f.endsWith('.alloy'))) {
    it(`accepts examples/${name}`, async () => {
      // The sampling tier reads its credentials from the environment, as the examples say.
      const env = { ...process.env, OTLP_USERNAME: '111111', OTLP_PASSWORD: 'placeholder' };

      const { code, stderr } = await runValidate(`${EXAMPLES}${name}`, env);

      assert.equal(code, 0, stderr);
    });
  }

  it('reports every problem of a file with its position, and exits 1', async () => {
    const file = writeConfig(`otelcol.receiver.otlp "in" {
  grpc {
    endpont = "0.0.0.0:4317"
  }
  output {
    traces = [otelcol.exporter.loadbalancing.lb.input]
  }
}

otelcol.exporter.loadbalancing "lb" {
  routing_key = "spanID"
  resolver {
    dns {
      interval = "5"
    }
  }
  protocol {
    otlp {
      client {}
    }
  }
}
`);
    files.push(file);

    const { code, stderr } = await runValidate(file.file);

    assert.equal(code, 1);
    assert.match(stderr, /config\.alloy:3:5: unrecognized attribute name "endpont" \(did you mean "endpoint"\?\)/);
    assert.match(stderr, /config\.alloy:11:17: invalid routing key "spanID"/);
    assert.match(stderr, /config\.alloy:14:18: "5" time: missing unit in duration "5"/);
    assert.match(stderr, /config\.alloy:13:5: missing required attribute "hostname"/);
  });

  it('names a file that cannot be read', async () => {
    const { code, stderr } = await runValidate('/nonexistent/otel-lb.alloy');

    assert.equal(code, 1);
    assert.match(stderr, /cannot read configuration file "\/nonexistent\/otel-lb\.alloy": no such file/);
  });
});

describe('otel-lb run', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('exits 1 with the diagnostics when the first load fails', async () => {
    const file = writeConfig(
      'otelcol.exporter.loadbalancing "lb" {\n  protocol {\n    otlp {\n      client {}\n    }\n  }\n}\n',
    );
    cleanups.push(() => {
      file.cleanup();
    });
    const proc = new OtelLbProcess(['run', '--server.http.listen-addr=127.0.0.1:0', file.file]);

    const { code } = await proc.exited;

    assert.equal(code, 1);
    assert.match(proc.stderr, /config\.alloy:1:1: missing required block "resolver"/);
    assert.match(proc.stderr, /could not perform the initial load successfully/);
  });

  it('serves /-/ready, /-/healthy and /metrics with the receiver and resolver counters', async () => {
    const sinks = await SinkPool.start(2);
    const file = writeConfig(config(sinks.endpoints));
    const { process: proc, statusUrl } = await startRun(file.file);
    cleanups.push(async () => {
      await proc.stop();
      await sinks.close();
      file.cleanup();
    });
    const sent = await sendTraces(await receiverEndpoint(proc), 3, 1);
    await sinks.until(() => sinks.spans.length >= sent);

    const ready = await fetch(`${statusUrl}/-/ready`);
    const healthy = await fetch(`${statusUrl}/-/healthy`);
    const metrics = await (await fetch(`${statusUrl}/metrics`)).text();

    assert.equal(ready.status, 200);
    assert.equal(healthy.status, 200);
    assert.match(
      metrics,
      /otelcol_receiver_accepted_spans_total\{[^}]*component_id="otelcol\.receiver\.otlp\.default"[^}]*transport="grpc"[^}]*\} 150/,
    );
    assert.match(metrics, /otelcol_loadbalancer_num_backends\{[^}]*resolver="static"[^}]*\} 2/);
  });

  it('reloads on SIGHUP and on /-/reload without losing data, and keeps running on a bad file', async () => {
    const sinks = await SinkPool.start(3);
    const [a, b] = sinks.endpoints;
    const file = writeConfig(config([a ?? '', b ?? '']));
    const { process: proc, statusUrl } = await startRun(file.file);
    cleanups.push(async () => {
      await proc.stop();
      await sinks.close();
      file.cleanup();
    });
    const endpoint = await receiverEndpoint(proc);
    let sent = await sendTraces(endpoint, 4, 100);
    await sinks.until(() => sinks.spans.length >= sent);
    const third = sinks.endpoints[2] ?? '';
    assert.equal(sinks.spans.filter((s) => s.backend === third).length, 0);

    // SIGHUP with a third backend.
    file.rewrite(config(sinks.endpoints));
    const reloaded = proc.waitForMessage('configuration reloaded');
    proc.child.kill('SIGHUP');
    await reloaded;
    sent += await sendTraces(endpoint, 6, 200);
    await sinks.until(() => sinks.spans.length >= sent);
    assert.ok(sinks.spans.some((s) => s.backend === third));

    // A broken file: /-/reload says why, and the running configuration goes on.
    file.rewrite('otelcol.receiver.otlp "default" {\n  grpc {\n');
    const refused = await fetch(`${statusUrl}/-/reload`, { method: 'POST' });
    const why = await refused.text();
    assert.equal(refused.status, 400);
    assert.match(why, /config\.alloy:3:1: expected /);
    assert.match(why, /running configuration stays/);
    sent += await sendTraces(endpoint, 2, 300);
    await sinks.until(() => sinks.spans.length >= sent);

    // /-/reload back to two backends.
    file.rewrite(config([a ?? '', b ?? '']));
    const ok = await fetch(`${statusUrl}/-/reload`, { method: 'POST' });
    assert.equal(ok.status, 200);
    const before = sinks.spans.filter((s) => s.backend === third).length;
    sent += await sendTraces(endpoint, 4, 400);
    await sinks.until(() => sinks.spans.length >= sent);
    assert.equal(sinks.spans.filter((s) => s.backend === third).length, before);
    assert.equal(new Set(sinks.spans.map((s) => s.id)).size, sent);
  });

  it('delivers what it accepted before exiting 0 on SIGTERM', async () => {
    const sinks = await SinkPool.start(2);
    sinks.result = retryable(new Error('backend down for the test'));
    const file = writeConfig(
      config(
        sinks.endpoints,
        '      retry {\n        initial_interval = "20ms"\n        max_interval = "50ms"\n      }',
      ),
    );
    const { process: proc } = await startRun(file.file);
    cleanups.push(async () => {
      await proc.stop();
      await sinks.close();
      file.cleanup();
    });
    const sent = await sendTraces(await receiverEndpoint(proc), 5, 500);
    assert.equal(sinks.spans.length, 0);

    const shuttingDown = proc.waitForMessage('shutting down');
    proc.child.kill('SIGTERM');
    await shuttingDown;
    sinks.result = EXPORT_OK;
    const { code } = await proc.exited;

    assert.equal(code, 0, proc.stderr);
    assert.equal(sinks.spans.length, sent);
    const events: LogEvent[] = proc.events.filter((e) => e['msg'] === 'dropping data');
    assert.deepEqual(events, []);
  });
});
