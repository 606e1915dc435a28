/**
 * Secrets (passwords, tokens, keys) never reach logs or error messages: `otel-lb run` at
 * debug level with auth handlers whose credentials come from the environment and from
 * literals, sending to a backend that refuses, and `otel-lb validate` of a file whose
 * secret attributes are wrong.
 */

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { permanent } from '../../src/transport/export-result.ts';
import { GrpcClient } from '../../src/transport/grpc-client.ts';
import { buildTracesRequest } from '../helpers/otlp-builders.ts';
import { OtelLbProcess, startRun, writeConfig } from '../helpers/otel-lb-process.ts';
import { SinkPool } from '../helpers/sink-backend.ts';

const PASSWORD = 'pw-7f3a9c-never-print-me';
const TOKEN = 'tok-51be02-never-print-me';

describe('secrets', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('never appear in the logs of a run, even at debug level and on failures', async () => {
    const sinks = await SinkPool.start(1);
    sinks.result = permanent(new Error('refused for the test'));
    const file = writeConfig(`otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "127.0.0.1:0"
  }
  output {
    traces = [otelcol.exporter.loadbalancing.default.input, otelcol.exporter.otlp.other.input]
  }
}

otelcol.auth.headers "h" {
  header {
    key   = "x-api-key"
    value = convert.nonsensitive(sys.env("OTEL_LB_TEST_PASSWORD"))
  }
}

otelcol.auth.bearer "b" {
  token = "${TOKEN}"
}

otelcol.exporter.loadbalancing "default" {
  resolver {
    static {
      hostnames = ["${sinks.endpoints[0] ?? ''}"]
    }
  }
  protocol {
    otlp {
      client {
        auth = otelcol.auth.headers.h.handler
        tls {
          insecure = true
        }
      }
      retry {
        enabled = false
      }
    }
  }
}

otelcol.exporter.otlp "other" {
  client {
    endpoint = "${sinks.endpoints[0] ?? ''}"
    auth     = otelcol.auth.bearer.b.handler
    tls {
      insecure_skip_verify = true
    }
  }
  retry_on_failure {
    enabled = false
  }
}
`);
    const { process: proc } = await startRun(file.file, {
      env: { ...process.env, OTEL_LB_TEST_PASSWORD: PASSWORD },
      extraArgs: ['--log.level=debug'],
    });
    cleanups.push(async () => {
      await proc.stop();
      await sinks.close();
      file.cleanup();
    });
    const started = await proc.waitForMessage('Starting GRPC server');
    const client = new GrpcClient({ endpoint: String(started['endpoint']), compression: 'none' });
    cleanups.push(() => client.close());

    await client.export({ signal: 'traces', bytes: buildTracesRequest({ traces: 2, spansPerTrace: 2 }), items: 4 });
    await proc.waitFor(
      (e) => e['msg'] === 'dropping data' && e['component_id'] === 'otelcol.exporter.loadbalancing.default',
    );
    await proc.waitFor((e) => e['msg'] === 'dropping data' && e['component_id'] === 'otelcol.exporter.otlp.other');

    assert.doesNotMatch(proc.stderr, new RegExp(PASSWORD));
    assert.doesNotMatch(proc.stderr, new RegExp(TOKEN));
  });

  it('never appear in validation errors about secret attributes', async () => {
    const file = writeConfig(`otelcol.auth.basic "creds" {
  username = "u"
  password = sys.env("OTEL_LB_TEST_PASSWORD") + 1
}

otelcol.auth.bearer "b" {
  token = [sys.env("OTEL_LB_TEST_PASSWORD")]
}
`);
    cleanups.push(() => {
      file.cleanup();
    });
    const proc = new OtelLbProcess(['validate', file.file], { ...process.env, OTEL_LB_TEST_PASSWORD: PASSWORD });

    const { code } = await proc.exited;

    assert.equal(code, 1);
    assert.match(proc.stderr, /config\.alloy:3:/);
    assert.match(proc.stderr, /config\.alloy:7:/);
    assert.doesNotMatch(proc.stderr, new RegExp(PASSWORD));
  });
});
