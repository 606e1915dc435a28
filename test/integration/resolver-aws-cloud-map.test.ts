/**
 * The aws_cloud_map resolver through the real AWS SDK client against a fake Cloud Map data
 * plane on loopback (test/helpers/fake-cloud-map.ts, AWS JSON 1.1 `DiscoverInstances`): the
 * client is built with the fake's `endpoint`, static credentials, `disableHostPrefix` and a
 * single attempt, so each poll is one request. Intervals and timeouts run on the fake clock;
 * the test waits on the resolver's events and the fake's request log.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  AwsCloudMapResolver,
  type AwsCloudMapResolverOptions,
} from '../../src/components/exporter-loadbalancing/resolvers/aws-cloud-map.ts';
import { ResolverName } from '../../src/components/exporter-loadbalancing/resolvers/resolver.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { FakeCloudMap, type FakeInstance } from '../helpers/fake-cloud-map.ts';
import { recordResolver } from '../helpers/resolver-recorder.ts';

const CREDENTIALS = { accessKeyId: 'AKIDFAKECLOUDMAP', secretAccessKey: 'fake-secret-key' };

function ec2(id: string, ip: string, port: string, health?: FakeInstance['health']): FakeInstance {
  return {
    id,
    attributes: { AWS_INSTANCE_IPV4: ip, AWS_INSTANCE_PORT: port, AVAILABILITY_ZONE: 'us-west-2a' },
    ...(health === undefined ? {} : { health }),
  };
}

describe('AwsCloudMapResolver through the AWS SDK against a fake Cloud Map', () => {
  let fake: FakeCloudMap;

  before(async () => {
    fake = await FakeCloudMap.start();
  });
  after(async () => {
    await fake.close();
  });

  /** A resolver on the fake for `service` in `namespace`, on a fake clock. */
  function setup(namespace: string, service: string, options: Partial<AwsCloudMapResolverOptions> = {}) {
    const clock = new FakeClock();
    const { resolver, recorder } = recordResolver(
      ResolverName.AWS,
      (recording) =>
        new AwsCloudMapResolver({
          namespace,
          serviceName: service,
          clock,
          clientConfig: {
            endpoint: fake.url,
            region: 'us-west-2',
            credentials: CREDENTIALS,
            disableHostPrefix: true,
            maxAttempts: 1,
          },
          ...recording,
          ...options,
        }),
    );
    /** Moves the clock past one interval and waits for the poll it starts to be resolved. */
    const poll = async (intervalMs: number): Promise<void> => {
      const before = recorder.resolutions;
      await clock.advance(intervalMs);
      await recorder.until(() => recorder.resolutions > before);
    };
    return { clock, recorder, resolver, poll };
  }

  it('follows the instances between polls, with signed DiscoverInstances requests', async () => {
    // prepare
    fake.setInstances('apps.local', 'tail-sampling', [ec2('i-1', '10.0.1.1', '4317'), ec2('i-2', '10.0.1.2', '4317')]);
    const { recorder, resolver, poll } = setup('apps.local', 'tail-sampling', { intervalMs: 30_000 });
    const first = fake.nextRequest();

    // test
    await resolver.start(new AbortController().signal);
    const request = await first;
    fake.setInstances('apps.local', 'tail-sampling', [ec2('i-2', '10.0.1.2', '4317'), ec2('i-3', '10.0.1.3', '4317')]);
    await poll(30_000);
    await poll(30_000); // the same set again: no change
    await resolver.shutdown();

    // verify
    assert.deepEqual(recorder.changes, [
      ['10.0.1.1:4317', '10.0.1.2:4317'],
      ['10.0.1.2:4317', '10.0.1.3:4317'],
    ]);
    assert.equal(request.target, 'Route53AutoNaming_v20170314.DiscoverInstances');
    assert.deepEqual(request.body, {
      NamespaceName: 'apps.local',
      ServiceName: 'tail-sampling',
      HealthStatus: 'HEALTHY',
      MaxResults: 1000,
    });
    assert.match(
      request.authorization ?? '',
      /^AWS4-HMAC-SHA256 Credential=AKIDFAKECLOUDMAP\/\d{8}\/us-west-2\/servicediscovery\/aws4_request/,
    );
    assert.deepEqual(recorder.errors, []);
  });

  it('passes the health filter through: HEALTHY leaves out unhealthy instances, HEALTHY_OR_ELSE_ALL fails open', async () => {
    // prepare
    fake.setInstances('apps.local', 'health', [
      ec2('i-1', '10.0.2.1', '4317', 'HEALTHY'),
      ec2('i-2', '10.0.2.2', '4317', 'UNHEALTHY'),
    ]);
    const healthy = setup('apps.local', 'health', { healthStatus: 'HEALTHY', intervalMs: 1_000 });
    const failOpen = setup('apps.local', 'health', { healthStatus: 'HEALTHY_OR_ELSE_ALL', intervalMs: 1_000 });
    const unhealthy = setup('apps.local', 'health', { healthStatus: 'UNHEALTHY' });
    await Promise.all([healthy, failOpen, unhealthy].map((s) => s.resolver.start(new AbortController().signal)));

    // test: every instance turns unhealthy
    fake.setInstances('apps.local', 'health', [
      ec2('i-1', '10.0.2.1', '4317', 'UNHEALTHY'),
      ec2('i-2', '10.0.2.2', '4317', 'UNHEALTHY'),
    ]);
    await healthy.poll(1_000);
    await failOpen.poll(1_000);
    await Promise.all([healthy, failOpen, unhealthy].map((s) => s.resolver.shutdown()));

    // verify
    assert.deepEqual(unhealthy.recorder.changes, [['10.0.2.2:4317']]);
    assert.deepEqual(failOpen.recorder.changes, [['10.0.2.1:4317'], ['10.0.2.1:4317', '10.0.2.2:4317']]);
    assert.deepEqual(healthy.recorder.changes, [['10.0.2.1:4317']]);
    assert.equal(healthy.recorder.failures, 1, 'no healthy instance left: a failed resolution, the set stays');
    const filters = fake.requests.filter((r) => r.body['ServiceName'] === 'health').map((r) => r.body['HealthStatus']);
    assert.deepEqual(new Set(filters), new Set(['HEALTHY', 'HEALTHY_OR_ELSE_ALL', 'UNHEALTHY']));
  });

  it('uses `port` instead of the port each instance registered', async () => {
    fake.setInstances('apps.local', 'ports', [ec2('i-1', '10.0.3.1', '8080'), ec2('i-2', '10.0.3.2', '9090')]);
    const { recorder, resolver } = setup('apps.local', 'ports', { port: 34621 });

    await resolver.start(new AbortController().signal);
    await resolver.shutdown();

    assert.deepEqual(recorder.changes, [['10.0.3.1:34621', '10.0.3.2:34621']]);
  });

  it('keeps the last good set through errors of the API (throttling, access denied, a deleted service)', async () => {
    // prepare
    fake.setInstances('apps.local', 'errors', [ec2('i-1', '10.0.4.1', '4317')]);
    const { recorder, resolver, poll } = setup('apps.local', 'errors', { intervalMs: 5_000 });
    await resolver.start(new AbortController().signal);

    // test
    fake.fail({ status: 400, type: 'RequestLimitExceeded', message: 'Rate exceeded' });
    await poll(5_000);
    fake.fail({ status: 400, type: 'AccessDeniedException', message: 'not authorized to DiscoverInstances' });
    await poll(5_000);
    fake.fail({ status: 400, type: 'ServiceNotFound', message: 'Service not found: errors' });
    await poll(5_000);
    fake.setInstances('apps.local', 'errors', [ec2('i-2', '10.0.4.2', '4317')]);
    await poll(5_000);
    await resolver.shutdown();

    // verify
    assert.deepEqual(recorder.changes, [['10.0.4.1:4317'], ['10.0.4.2:4317']]);
    assert.equal(recorder.failures, 3);
    assert.deepEqual(
      recorder.errors.map((e) => (e.cause instanceof Error ? e.cause.name : '')),
      ['RequestLimitExceeded', 'AccessDeniedException', 'ServiceNotFound'],
    );
  });

  it('gives up on a request that hangs after the timeout and polls again at the next interval', async () => {
    // prepare
    fake.setInstances('apps.local', 'slow', [ec2('i-1', '10.0.5.1', '4317')]);
    const { clock, recorder, resolver, poll } = setup('apps.local', 'slow', { intervalMs: 30_000, timeoutMs: 5_000 });
    await resolver.start(new AbortController().signal);

    // test
    fake.hang();
    const hanging = fake.nextRequest();
    await clock.advance(30_000);
    await hanging;
    await clock.advance(5_000);
    await recorder.until(() => recorder.failures === 1);
    fake.setInstances('apps.local', 'slow', [ec2('i-2', '10.0.5.2', '4317')]);
    await poll(30_000);
    await resolver.shutdown();

    // verify
    assert.match(recorder.errors[0]?.message ?? '', /took longer than its timeout of 5000 ms/);
    assert.deepEqual(recorder.changes, [['10.0.5.1:4317'], ['10.0.5.2:4317']]);
  });

  it('finds more than 100 instances, upstream limit, by asking for 1,000', async () => {
    const instances = Array.from({ length: 250 }, (_, i) =>
      ec2(`i-${i}`, `10.6.${Math.floor(i / 200)}.${i % 200}`, '4317'),
    );
    fake.setInstances('apps.local', 'many', instances);
    const { recorder, resolver } = setup('apps.local', 'many');

    await resolver.start(new AbortController().signal);
    await resolver.shutdown();

    assert.equal(recorder.changes[0]?.length, 250);
    assert.deepEqual(recorder.errors, []);
  });

  const regionConfigured =
    ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE'].some((v) => process.env[v] !== undefined) ||
    existsSync(path.join(homedir(), '.aws', 'config'));
  it(
    'signs for us-east-1 when the AWS chain names no region, as upstream',
    { skip: regionConfigured ? 'this environment configures an AWS region' : false },
    async () => {
      fake.setInstances('apps.local', 'region', [ec2('i-1', '10.0.7.1', '4317')]);
      const { recorder, resolver } = setup('apps.local', 'region', {
        clientConfig: { endpoint: fake.url, credentials: CREDENTIALS, disableHostPrefix: true, maxAttempts: 1 },
      });
      const request = fake.nextRequest();

      await resolver.start(new AbortController().signal);
      await resolver.shutdown();

      assert.match((await request).authorization ?? '', /\/us-east-1\/servicediscovery\/aws4_request/);
      assert.deepEqual(recorder.changes, [['10.0.7.1:4317']]);
    },
  );
});
