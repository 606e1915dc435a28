import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { expectArguments, expectErrors } from '../../../test/helpers/component-harness.ts';
import { exporterOtlpDefinition, grpcTarget } from './definition.ts';

describe('otelcol.exporter.otlp endpoint', () => {
  it('takes host:port, and ignores an http:// or https:// prefix as the Collector does', () => {
    assert.equal(grpcTarget('tempo:4317'), 'tempo:4317');
    assert.equal(grpcTarget('https://tempo.example:443'), 'tempo.example:443');
    assert.equal(grpcTarget('http://[::1]:4317/'), '[::1]:4317');
    expectArguments(exporterOtlpDefinition, 'client {\n  endpoint = "https://tempo.example:443"\n}');
  });

  it('refuses an endpoint without a port, saying what it should look like', () => {
    const errors = expectErrors(exporterOtlpDefinition, 'client {\n  endpoint = "tempo.example"\n}');

    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /endpoint "tempo\.example" is not host:port \(for example "tempo:4317"/);
  });
});
