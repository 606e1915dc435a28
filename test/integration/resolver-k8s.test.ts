/**
 * The kubernetes resolver end to end against the fake API server (test/helpers/fake-k8s-api.ts)
 * over HTTPS with the test CA and a bearer token, configured the way a user would: a
 * kubeconfig file named by `KUBECONFIG`, the seed's `ports = ["34621"]`, and the default
 * timeout of 1 s, so the server really ends each watch after a second and the resolver
 * resumes it. Pods come and go, turn not ready, the history is compacted, watches break, the
 * API server restarts and RBAC is revoked for a while. The test waits on the resolver's
 * change events, its telemetry and the server's request log, never on the wall clock.
 */

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  K8sApiError,
  K8sResolutionError,
  K8sResolver,
} from '../../src/components/exporter-loadbalancing/resolvers/k8s.ts';
import { ResolverName } from '../../src/components/exporter-loadbalancing/resolvers/resolver.ts';
import { FakeK8sApi, type FakeEndpoint } from '../helpers/fake-k8s-api.ts';
import { recordResolver } from '../helpers/resolver-recorder.ts';

const NAMESPACE = 'observability';

function put(api: FakeK8sApi, name: string, ...endpoints: FakeEndpoint[]): string {
  return api.put({
    name,
    namespace: NAMESPACE,
    service: 'sampling-backends',
    addressType: endpoints.some((e) => e.addresses.some((a) => a.includes(':'))) ? 'IPv6' : 'IPv4',
    endpoints,
  });
}

describe('K8sResolver against a fake API server over HTTPS', { timeout: 60_000 }, () => {
  let api: FakeK8sApi;
  let dir = '';
  let kubeconfig = '';

  before(async () => {
    api = await FakeK8sApi.start({ tls: true, token: 'service-account-token' });
    dir = await mkdtemp(path.join(tmpdir(), 'otel-lb-k8s-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, api.kubeConfigYaml());
  });

  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('follows the service through pod churn, watch timeouts, compaction, broken watches, a restart and revoked RBAC', async () => {
    // prepare
    put(api, 'sampling-backends-ipv4', { addresses: ['10.1.0.2'], ready: true }, { addresses: ['10.1.0.1'] });
    put(api, 'sampling-backends-ipv6', { addresses: ['fd00::a'], ready: true });
    const { resolver, recorder } = recordResolver(
      ResolverName.K8S,
      (recording) =>
        new K8sResolver({
          service: `sampling-backends.${NAMESPACE}`,
          ports: ['34621'],
          env: { KUBECONFIG: kubeconfig },
          backoffInitialMs: 20,
          backoffMaxMs: 100,
          ...recording,
        }),
    );
    const stop = new AbortController();
    const lists = (): number => api.requests.filter((r) => !r.isWatch && r.status === 200).length;

    try {
      // test: the first list finds both slices; requests carry the token
      let watching = api.nextWatch();
      await resolver.start(stop.signal);
      assert.deepEqual(await recorder.change(0), ['10.1.0.1:34621', '10.1.0.2:34621', '[fd00::a]:34621']);
      assert.equal((await watching).authorization, 'Bearer service-account-token');

      // a pod starts terminating (not ready), another one joins
      put(api, 'sampling-backends-ipv4', { addresses: ['10.1.0.2'], ready: false }, { addresses: ['10.1.0.3'] });
      assert.deepEqual(await recorder.change(1), ['10.1.0.3:34621', '[fd00::a]:34621']);

      // an update that leaves the set as it is changes nothing; the next event is the next real change
      const successes = recorder.successes;
      put(api, 'sampling-backends-ipv6', { addresses: ['fd00::a'], ready: true, zone: 'eu-1b' });
      await recorder.until(() => recorder.successes > successes);
      api.delete('sampling-backends-ipv6', NAMESPACE);
      assert.deepEqual(await recorder.change(2), ['10.1.0.3:34621']);
      assert.equal(recorder.updates, 3);

      // the server ends the watch after its timeoutSeconds (1 s); the resolver resumes without a list
      const listsBefore = lists();
      const ended = api.nextWatchClosed();
      const resumed = api.nextWatch();
      await ended;
      const resume = await resumed;
      assert.equal(resume.query.get('timeoutSeconds'), '1');
      assert.equal(lists(), listsBefore);

      // the history is compacted: the next resume gets 410 and relists, without an error
      api.expireHistory();
      const relisted = api.nextWatchAfterList();
      await relisted;
      assert.equal(lists(), listsBefore + 1);

      // a broken watch connection: reported, the set stays, a new list and watch follow
      watching = api.nextWatchAfterList();
      api.breakWatches();
      await watching;
      assert.deepEqual(resolver.endpoints, ['10.1.0.3:34621']);
      const broken = recorder.errors.at(-1);
      assert.ok(broken instanceof K8sResolutionError);

      // the API server goes away; pods change meanwhile; it comes back with a fresh history
      await api.stop();
      const failuresWhileDown = recorder.failures;
      await recorder.until(() => recorder.failures >= failuresWhileDown + 2);
      put(api, 'sampling-backends-ipv4', { addresses: ['10.1.0.3'] }, { addresses: ['10.1.0.4'] });
      await api.restart({ expireHistory: true });
      assert.deepEqual(await recorder.change(3), ['10.1.0.3:34621', '10.1.0.4:34621']);

      // RBAC revoked: every request is 403 until it is granted again
      api.forbid();
      api.breakWatches();
      await recorder.until(() =>
        recorder.errors.some((e) => e.cause instanceof K8sApiError && e.cause.statusCode === 403),
      );
      const forbidden = recorder.errors.find((e) => e.cause instanceof K8sApiError);
      assert.match(forbidden?.message ?? '', /"get", "list" and "watch" verbs on "endpointslices".*"observability"/);
      api.clearFaults();
      watching = api.nextWatchAfterList();
      await watching;
      put(api, 'sampling-backends-ipv4', { addresses: ['10.1.0.4'] });
      assert.deepEqual(await recorder.change(4), ['10.1.0.4:34621']);

      // verify: every change was published once; the set never emptied on a failure
      assert.equal(recorder.changes.length, 5);
      assert.equal(recorder.updates, 5);
      assert.ok(recorder.changes.every((set) => set.length > 0));
    } finally {
      const closed = api.openWatches > 0 ? api.nextWatchClosed() : Promise.resolve();
      stop.abort();
      await resolver.shutdown();
      await closed;
    }
    assert.equal(api.openWatches, 0);
  });
});
