import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { DiscoverInstancesCommandInput, HttpInstanceSummary } from '@aws-sdk/client-servicediscovery';

import { FakeClock, settle } from '../../../../test/helpers/fake-clock.ts';
import { recordResolver } from '../../../../test/helpers/resolver-recorder.ts';
import { ScriptedAnswers } from '../../../../test/helpers/scripted-answers.ts';
import {
  AWS_CLOUD_MAP_MAX_RESULTS,
  AwsCloudMapResolver,
  isCloudMapHealthStatus,
  toEndpoints,
  type AwsCloudMapResolverOptions,
  type DiscoverInstances,
} from './aws-cloud-map.ts';
import { ResolverName } from './resolver.ts';

/** A DiscoverInstances that answers from a script, repeating the last answer when it runs out. */
class ScriptedDiscover extends ScriptedAnswers<
  { input: DiscoverInstancesCommandInput; signal: AbortSignal },
  HttpInstanceSummary
> {
  readonly discover: DiscoverInstances = (input, signal) => this.answer({ input, signal });
}

/** An instance as Cloud Map returns it for a registration with an IPv4 address and a port. */
function instance(id: string, ipv4: string, port = '4317', extra: Record<string, string> = {}): HttpInstanceSummary {
  return {
    InstanceId: id,
    NamespaceName: 'apps.local',
    ServiceName: 'backends',
    HealthStatus: 'HEALTHY',
    Attributes: { AWS_INSTANCE_IPV4: ipv4, AWS_INSTANCE_PORT: port, ...extra },
  };
}

function setup(discover: ScriptedDiscover, options: Partial<AwsCloudMapResolverOptions> = {}) {
  const clock = new FakeClock();
  const { resolver, recorder } = recordResolver(
    ResolverName.AWS,
    (recording) =>
      new AwsCloudMapResolver({
        namespace: 'apps.local',
        serviceName: 'backends',
        discover: discover.discover,
        clock,
        ...recording,
        ...options,
      }),
  );
  return { clock, resolver, errors: recorder.errors, seen: recorder.changes, counters: () => recorder.counters() };
}

describe('AwsCloudMapResolver', () => {
  it('asks for the namespace and service with the health filter and 1,000 results, and publishes ip:port', async () => {
    const discover = new ScriptedDiscover([
      instance('i-2', '10.0.0.2', '8080'),
      instance('i-1', '10.0.0.1', '8081'),
      instance('i-3', '10.0.0.1', '8081'),
    ]);
    const { resolver, seen, counters } = setup(discover, {
      healthStatus: 'HEALTHY_OR_ELSE_ALL',
      ownerAccount: '123456789012',
    });

    await resolver.start(new AbortController().signal);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.1:8081', '10.0.0.2:8080']]);
    assert.deepEqual(discover.calls[0]?.input, {
      NamespaceName: 'apps.local',
      ServiceName: 'backends',
      HealthStatus: 'HEALTHY_OR_ELSE_ALL',
      MaxResults: AWS_CLOUD_MAP_MAX_RESULTS,
      OwnerAccount: '123456789012',
    });
    assert.deepEqual(counters(), { resolutionsSucceeded: 1, resolutionsFailed: 0, backends: 2, backendUpdates: 1 });
  });

  it('defaults to HEALTHY and sends no OwnerAccount when none (or "") is given', async () => {
    const discover = new ScriptedDiscover([instance('i-1', '10.0.0.1')]);
    const { resolver } = setup(discover, { ownerAccount: '' });

    await resolver.start(new AbortController().signal);
    await resolver.shutdown();

    const input = discover.calls[0]!.input;
    assert.equal(input.HealthStatus, 'HEALTHY');
    assert.equal('OwnerAccount' in input, false);
  });

  it('uses `port` for every instance when it is set, instead of the registered one', async () => {
    const discover = new ScriptedDiscover([instance('i-1', '10.0.0.1', '8080'), instance('i-2', '10.0.0.2', '9090')]);
    const { resolver, seen } = setup(discover, { port: 34621 });

    await resolver.start(new AbortController().signal);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.1:34621', '10.0.0.2:34621']]);
  });

  it('polls every interval and notifies only when the endpoint set changes', async () => {
    const discover = new ScriptedDiscover(
      [instance('i-1', '10.0.0.1'), instance('i-2', '10.0.0.2')],
      [instance('i-2', '10.0.0.2'), instance('i-1', '10.0.0.1')],
      [instance('i-3', '10.0.0.3')],
    );
    const { clock, resolver, seen, counters } = setup(discover, { intervalMs: 30_000 });

    await resolver.start(new AbortController().signal);
    await clock.advance(29_999);
    assert.equal(discover.calls.length, 1);
    await clock.advance(1);
    assert.equal(discover.calls.length, 2);
    await clock.advance(30_000);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.1:4317', '10.0.0.2:4317'], ['10.0.0.3:4317']]);
    assert.deepEqual(counters(), { resolutionsSucceeded: 3, resolutionsFailed: 0, backends: 1, backendUpdates: 2 });
  });

  it('keeps the last good set when a call fails or finds no instance, and counts the failures', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' });
    const discover = new ScriptedDiscover([instance('i-1', '10.0.0.1')], throttled, [], [instance('i-1', '10.0.0.1')]);
    const { clock, resolver, seen, errors, counters } = setup(discover, { intervalMs: 1_000 });

    await resolver.start(new AbortController().signal);
    await clock.advance(1_000);
    await clock.advance(1_000);
    await clock.advance(1_000);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.1:4317']]);
    assert.deepEqual(resolver.endpoints, ['10.0.0.1:4317']);
    assert.equal(errors.length, 2);
    assert.equal(errors[0]?.cause, throttled);
    assert.match(errors[1]?.message ?? '', /no instance with health status HEALTHY/);
    assert.deepEqual(counters(), { resolutionsSucceeded: 2, resolutionsFailed: 2, backends: 1, backendUpdates: 1 });
  });

  it('starts with no backends when the first call fails, then picks them up', async () => {
    const discover = new ScriptedDiscover(new Error('ServiceNotFound'), [instance('i-9', '10.0.0.9')]);
    const { clock, resolver, seen } = setup(discover, { intervalMs: 1_000 });

    await resolver.start(new AbortController().signal);
    assert.deepEqual(resolver.endpoints, []);
    await clock.advance(1_000);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.9:4317']]);
  });

  it('gives up on a call after the timeout, aborting it, and keeps the set', async () => {
    const discover = new ScriptedDiscover([instance('i-1', '10.0.0.1')], 'hang', [instance('i-2', '10.0.0.2')]);
    const { clock, resolver, seen, errors, counters } = setup(discover, { intervalMs: 30_000, timeoutMs: 5_000 });

    await resolver.start(new AbortController().signal);
    await clock.advance(30_000);
    const hanging = discover.calls[1]!.signal;
    await clock.advance(4_999);
    const abortedEarly = hanging.aborted;
    await clock.advance(1);

    assert.deepEqual([abortedEarly, hanging.aborted], [false, true]);
    assert.match(errors[0]?.message ?? '', /took longer than its timeout of 5000 ms/);
    await clock.advance(30_000);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.1:4317'], ['10.0.0.2:4317']]);
    assert.equal(counters().resolutionsFailed, 1);
  });

  it('leaves out instances without a usable address or port, and says which', async () => {
    const discover = new ScriptedDiscover([
      instance('i-1', '10.0.0.1'),
      { InstanceId: 'i-6', Attributes: { AWS_INSTANCE_IPV6: 'fd00::6', AWS_INSTANCE_PORT: '4317' } },
      { InstanceId: 'i-cname', Attributes: { AWS_INSTANCE_CNAME: 'backend.example', AWS_INSTANCE_PORT: '4317' } },
      { InstanceId: 'i-noport', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.3' } },
      instance('i-badport', '10.0.0.4', 'http'),
    ]);
    const { resolver, seen, errors, counters } = setup(discover);

    await resolver.start(new AbortController().signal);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.1:4317', '[fd00::6]:4317']]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /left out 3 of 5 instance\(s\).*i-cname.*i-noport.*i-badport/);
    assert.equal(counters().resolutionsSucceeded, 1);
  });

  it('warns that an answer of 1,000 instances may be truncated, and still uses it', async () => {
    const many = Array.from({ length: AWS_CLOUD_MAP_MAX_RESULTS }, (_, i) =>
      instance(`i-${i}`, `10.1.${Math.floor(i / 256)}.${i % 256}`),
    );
    const discover = new ScriptedDiscover(many);
    const { resolver, seen, errors } = setup(discover);

    await resolver.start(new AbortController().signal);
    await resolver.shutdown();

    assert.equal(seen[0]?.length, AWS_CLOUD_MAP_MAX_RESULTS);
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /may be truncated/);
  });

  it('stops polling after shutdown and leaves no timer behind', async () => {
    const discover = new ScriptedDiscover([instance('i-1', '10.0.0.1')]);
    const { clock, resolver, seen } = setup(discover, { intervalMs: 1_000 });
    await resolver.start(new AbortController().signal);

    await resolver.shutdown();
    await clock.advance(10_000);

    assert.equal(discover.calls.length, 1);
    assert.equal(clock.pending, 0);
    assert.equal(seen.length, 1);
  });

  it('stops when the start signal aborts, even during a call, and reports no error', async () => {
    const discover = new ScriptedDiscover([instance('i-1', '10.0.0.1')], 'hang');
    const { clock, resolver, errors } = setup(discover, { intervalMs: 1_000 });
    const controller = new AbortController();
    await resolver.start(controller.signal);
    await clock.advance(1_000);

    controller.abort();
    await settle();
    await resolver.shutdown();

    assert.equal(discover.calls[1]?.signal.aborted, true);
    assert.equal(clock.pending, 0);
    assert.deepEqual(errors, []);
  });

  it('start resolves at once for an aborted signal, and refuses a second call', async () => {
    const discover = new ScriptedDiscover([instance('i-1', '10.0.0.1')]);
    const { resolver } = setup(discover);
    const controller = new AbortController();
    controller.abort();

    await resolver.start(controller.signal);

    assert.equal(discover.calls.length, 0);
    assert.throws(() => resolver.start(new AbortController().signal), TypeError);
  });

  it('refuses bad options with a TypeError naming the option', () => {
    const discover = new ScriptedDiscover();
    const make = (options: Partial<AwsCloudMapResolverOptions>) => () =>
      new AwsCloudMapResolver({ namespace: 'n', serviceName: 's', discover: discover.discover, ...options });

    assert.throws(make({ namespace: ' ' }), /`namespace` is empty/);
    assert.throws(make({ serviceName: '' }), /`service_name` is empty/);
    assert.throws(make({ intervalMs: 0 }), /`interval`/);
    assert.throws(make({ timeoutMs: Number.NaN }), /`timeout`/);
    assert.throws(make({ port: 0 }), /`port`/);
    assert.throws(make({ healthStatus: 'SICK' as 'HEALTHY' }), /invalid health status "SICK"/);
  });
});

describe('isCloudMapHealthStatus', () => {
  it("accepts exactly Cloud Map's four filters", () => {
    assert.deepEqual(
      ['HEALTHY', 'UNHEALTHY', 'ALL', 'HEALTHY_OR_ELSE_ALL', 'healthy', ''].map(isCloudMapHealthStatus),
      [true, true, true, true, false, false],
    );
  });
});

describe('toEndpoints', () => {
  it('prefers the IPv4 address, falls back to IPv6 in brackets, and overrides the port when given', () => {
    const both = {
      InstanceId: 'i-1',
      Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1', AWS_INSTANCE_IPV6: 'fd00::1', AWS_INSTANCE_PORT: '8080' },
    };
    const v6 = { InstanceId: 'i-2', Attributes: { AWS_INSTANCE_IPV6: 'fd00::2', AWS_INSTANCE_PORT: '8080' } };

    assert.deepEqual(toEndpoints([both, v6], undefined), {
      endpoints: ['10.0.0.1:8080', '[fd00::2]:8080'],
      skipped: [],
    });
    assert.deepEqual(toEndpoints([both, v6], 4317).endpoints, ['10.0.0.1:4317', '[fd00::2]:4317']);
  });

  it('skips an instance with an invalid address instead of routing to it', () => {
    const bad = { InstanceId: 'i-1', Attributes: { AWS_INSTANCE_IPV4: '10.0.0', AWS_INSTANCE_PORT: '8080' } };

    assert.deepEqual(toEndpoints([bad], undefined).endpoints, []);
  });
});
