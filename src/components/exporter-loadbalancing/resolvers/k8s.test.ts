import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';

import { FakeClock } from '../../../../test/helpers/fake-clock.ts';
import { FakeK8sApi, type FakeSlice } from '../../../../test/helpers/fake-k8s-api.ts';
import { ResolverRecorder, recordResolver } from '../../../../test/helpers/resolver-recorder.ts';
import {
  K8sApiError,
  K8sResolutionError,
  K8sResolver,
  namespaceFromFile,
  parseService,
  type K8sResolverOptions,
} from './k8s.ts';
import { ResolverName } from './resolver.ts';

const slice = (name: string, ...endpoints: FakeSlice['endpoints']): FakeSlice => ({
  name,
  service: 'backends',
  endpoints,
});

const isList = (r: { isWatch: boolean }): boolean => !r.isWatch;

describe('parseService', () => {
  const noFile = (): undefined => undefined;

  it('takes the namespace from "name.namespace", else from the file, else "default"', () => {
    assert.deepEqual(parseService('backends.observability', 'k8s', noFile), {
      name: 'backends',
      namespace: 'observability',
    });
    assert.deepEqual(
      parseService(' backends ', 'k8s', () => 'from-file'),
      { name: 'backends', namespace: 'from-file' },
    );
    assert.deepEqual(parseService('backends', 'k8s', noFile), { name: 'backends', namespace: 'default' });
  });

  it('asks for the namespace file only when the service names no namespace', () => {
    let asked = 0;
    const file = (): string => {
      asked++;
      return 'x';
    };

    parseService('a.b', 'k8s', file);

    assert.equal(asked, 0);
  });

  it('refuses an empty service, a DNS name and names that are not DNS labels', () => {
    for (const bad of ['', ' ', 'backends.obs.svc.cluster.local', 'Backends', 'back_ends', 'a.', '.b', '-a']) {
      assert.throws(() => parseService(bad, 'k8s', noFile), TypeError, bad);
    }
  });
});

describe('namespaceFromFile', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'otel-lb-k8s-ns-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and trims the file; a missing or empty file gives undefined without an error', async () => {
    const errors: Error[] = [];
    await writeFile(path.join(dir, 'namespace'), 'observability\n');
    await writeFile(path.join(dir, 'empty'), '');

    const found = namespaceFromFile(path.join(dir, 'namespace'), (e) => errors.push(e));
    const missing = namespaceFromFile(path.join(dir, 'missing'), (e) => errors.push(e));
    const empty = namespaceFromFile(path.join(dir, 'empty'), (e) => errors.push(e));

    assert.deepEqual([found, missing, empty], ['observability', undefined, undefined]);
    assert.deepEqual(errors, []);
  });

  it('reports a file that exists but cannot be read, and gives undefined', async () => {
    const errors: Error[] = [];
    const directory = path.join(dir, 'a-directory');
    await mkdir(directory);

    const found = namespaceFromFile(directory, (e) => errors.push(e));

    assert.equal(found, undefined);
    assert.equal(errors.length, 1);
    assert.equal((errors[0]?.cause as NodeJS.ErrnoException).code, 'EISDIR');
  });

  it('is what the resolver uses when the service names no namespace', async () => {
    await writeFile(path.join(dir, 'namespace'), 'team-a');

    const resolver = new K8sResolver({ service: 'backends', namespaceFile: path.join(dir, 'namespace') });
    const defaulted = new K8sResolver({ service: 'backends', namespaceFile: path.join(dir, 'missing') });

    assert.deepEqual([resolver.namespace, defaulted.namespace], ['team-a', 'default']);
  });
});

describe('K8sResolver options', () => {
  it('accepts ports as numbers and strings, de-duplicated, 4317 by default', () => {
    assert.deepEqual(new K8sResolver({ service: 'a.b', ports: ['34621', 4317, 34621] }).ports, [34621, 4317]);
    assert.deepEqual(new K8sResolver({ service: 'a.b' }).ports, [4317]);
  });

  it('refuses bad options with a TypeError naming the option', () => {
    const make = (options: Partial<K8sResolverOptions>) => () => new K8sResolver({ service: 'a.b', ...options });

    assert.throws(make({ service: '' }), /`service` is empty/);
    assert.throws(make({ ports: [] }), /`ports` is empty/);
    assert.throws(make({ ports: [4317, 'otlp'] }), /`ports`\[1\]/);
    assert.throws(make({ ports: [70_000] }), /`ports`\[0\]/);
    assert.throws(make({ timeoutMs: 0 }), /`timeout`/);
    assert.throws(make({ backoffInitialMs: -1 }), /backoff/);
  });
});

describe('K8sResolver against a fake API server', () => {
  let api: FakeK8sApi;
  const running: K8sResolver[] = [];

  before(async () => {
    api = await FakeK8sApi.start({ tls: false, token: 'secret-token' });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.shutdown()));
    api.clearFaults();
    api.deleteAll();
  });
  after(async () => {
    await api.close();
  });

  /** A resolver on `api` for `backends.default`, with tiny real backoffs unless `defaultBackoff`. */
  function setup(options: Partial<K8sResolverOptions> = {}, defaultBackoff = false) {
    const { resolver, recorder } = recordResolver(
      ResolverName.K8S,
      (recording) =>
        new K8sResolver({
          service: 'backends.default',
          kubeConfig: api.kubeConfig(),
          timeoutMs: 60_000,
          ...(defaultBackoff ? {} : { backoffInitialMs: 1, backoffMaxMs: 5 }),
          ...recording,
          ...options,
        }),
    );
    running.push(resolver);
    const stop = new AbortController();
    return { resolver, recorder, stop, start: () => resolver.start(stop.signal) };
  }

  it('lists the slices, merges them, keeps ready endpoints, and combines each address with each port', async () => {
    // prepare
    api.put(
      slice(
        'backends-a',
        { addresses: ['10.0.0.2'], ready: true },
        { addresses: ['10.0.0.9'], ready: false },
        { addresses: ['10.0.0.1'] },
      ),
    );
    api.put(slice('backends-b', { addresses: ['fd00::1'], ready: true }, { addresses: ['10.0.0.8'], serving: false }));
    api.put({ name: 'others', service: 'other-service', endpoints: [{ addresses: ['10.9.9.9'] }] });
    const { resolver, recorder, start } = setup({ ports: [4317, '34621'] });

    // test
    await start();

    // verify
    assert.deepEqual(recorder.changes, [
      ['10.0.0.1:34621', '10.0.0.1:4317', '10.0.0.2:34621', '10.0.0.2:4317', '[fd00::1]:34621', '[fd00::1]:4317'],
    ]);
    const list = api.requests.findLast(isList);
    assert.equal(list?.path, '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices');
    assert.equal(list.query.get('labelSelector'), 'kubernetes.io/service-name=backends');
    assert.equal(list.authorization, 'Bearer secret-token');
    await resolver.shutdown();
  });

  it('follows ADDED, MODIFIED and DELETED events, and a readiness change', async () => {
    // prepare
    api.put(slice('backends-a', { addresses: ['10.0.0.1'] }));
    const { resolver, recorder, start } = setup();
    const watching = api.nextWatch();
    await start();
    const watch = await watching;

    // test and verify
    assert.equal(watch.query.get('resourceVersion'), api.currentResourceVersion);
    assert.equal(watch.query.get('allowWatchBookmarks'), 'true');
    api.put(slice('backends-b', { addresses: ['10.0.0.2'] }));
    assert.deepEqual(await recorder.change(1), ['10.0.0.1:4317', '10.0.0.2:4317']);
    api.put(slice('backends-a', { addresses: ['10.0.0.1'], ready: false }, { addresses: ['10.0.0.3'], ready: true }));
    assert.deepEqual(await recorder.change(2), ['10.0.0.2:4317', '10.0.0.3:4317']);
    api.delete('backends-b');
    assert.deepEqual(await recorder.change(3), ['10.0.0.3:4317']);
    api.delete('backends-a');
    assert.deepEqual(await recorder.change(4), []);
    assert.deepEqual(recorder.errors, []);
    await resolver.shutdown();
  });

  it('changes nothing for an event that leaves the set as it was (contrib #35658)', async () => {
    // prepare
    api.put(slice('backends-a', { addresses: ['10.0.0.1'], zone: 'a' }));
    const { resolver, recorder, start } = setup();
    const watching = api.nextWatch();
    await start();
    await watching;
    const successes = recorder.successes;

    // test: a zone changes, a not-ready endpoint appears, a bookmark comes
    api.put(slice('backends-a', { addresses: ['10.0.0.1'], zone: 'b' }));
    api.put(slice('backends-a', { addresses: ['10.0.0.1'], zone: 'b' }, { addresses: ['10.0.0.5'], ready: false }));
    api.bookmark();
    await recorder.until(() => recorder.successes >= successes + 2);
    api.put(slice('backends-a', { addresses: ['10.0.0.2'] }));
    await recorder.change(1);

    // verify: the no-op events were resolutions but not changes
    assert.deepEqual(recorder.changes, [['10.0.0.1:4317'], ['10.0.0.2:4317']]);
    assert.equal(recorder.updates, 2);
    await resolver.shutdown();
  });

  it('resumes a watch the server ended from the last resourceVersion, without a list', async () => {
    // prepare
    api.put(slice('backends-a', { addresses: ['10.0.0.1'] }));
    const { resolver, recorder, start } = setup();
    const watching = api.nextWatch();
    await start();
    await watching;
    const lastSeen = api.put(slice('backends-a', { addresses: ['10.0.0.2'] }));
    await recorder.change(1);
    const lists = api.requests.filter(isList).length;

    // test
    const resumed = api.nextWatch();
    api.endWatches();
    const watch = await resumed;

    // verify
    assert.equal(watch.query.get('resourceVersion'), lastSeen);
    assert.equal(api.requests.filter(isList).length, lists);
    assert.deepEqual(recorder.errors, []);
    await resolver.shutdown();
  });

  it('relists at once, without an error, when the resourceVersion expired (410 as a watch event or a status)', async () => {
    // prepare
    api.put(slice('backends-a', { addresses: ['10.0.0.1'] }));
    const { resolver, recorder, start } = setup();
    const first = api.nextWatch();
    await start();
    await first;
    const failures = recorder.failures;

    /** Does `act`, then waits for the list and the watch that follow; returns the watch's resourceVersion. */
    const relistAfter = async (change: string, act: () => void): Promise<string | null> => {
      api.put(slice('backends-a', { addresses: [change] }));
      await recorder.until(() => resolver.endpoints[0] === `${change}:4317`);
      const watching = api.nextWatchAfterList();
      act();
      return (await watching).query.get('resourceVersion');
    };

    // test: history compacted; the next watch, from the last event's version, gets an ERROR event 410
    const afterCompaction = await relistAfter('10.0.0.2', () => {
      api.expireHistory();
      api.endWatches();
    });
    assert.equal(afterCompaction, api.currentResourceVersion);
    // test: an ERROR event 410 on a watch that is streaming
    const afterErrorEvent = await relistAfter('10.0.0.3', () => {
      api.sendWatchError(410, 'Expired', 'too old resource version: 1 (2)');
    });
    assert.equal(afterErrorEvent, api.currentResourceVersion);
    // test: a watch answered with the status 410 Gone
    const afterStatus = await relistAfter('10.0.0.4', () => {
      api.fail({ status: 410, reason: 'Gone', kind: 'watch' });
      api.endWatches();
    });
    assert.equal(afterStatus, api.currentResourceVersion);

    // verify
    assert.deepEqual(recorder.errors, []);
    assert.equal(recorder.failures, failures);
    assert.deepEqual(resolver.endpoints, ['10.0.0.4:4317']);
    await resolver.shutdown();
  });

  it('survives a broken watch connection: reports it, keeps the set, relists and watches again', async () => {
    // prepare
    api.put(slice('backends-a', { addresses: ['10.0.0.1'] }));
    const { resolver, recorder, start } = setup();
    const watching = api.nextWatch();
    await start();
    await watching;
    api.put(slice('backends-a', { addresses: ['10.0.0.2'] }));
    await recorder.change(1);

    // test
    const rewatched = api.nextWatchAfterList();
    api.breakWatches();
    const error = await recorder.error(0);
    assert.deepEqual(resolver.endpoints, ['10.0.0.2:4317']);
    await rewatched;
    api.put(slice('backends-a', { addresses: ['10.0.0.3'] }));

    // verify
    assert.deepEqual(await recorder.change(2), ['10.0.0.3:4317']);
    assert.ok(error instanceof K8sResolutionError);
    assert.equal(recorder.failures, 1);
    assert.ok(api.requests.filter(isList).length >= 2);
    await resolver.shutdown();
  });

  it('survives an API server restart, counting the failed attempts, and picks up what changed meanwhile', async () => {
    // prepare
    api.put(slice('backends-a', { addresses: ['10.0.0.1'] }));
    const { resolver, recorder, start } = setup();
    const watching = api.nextWatch();
    await start();
    await watching;

    // test
    await api.stop();
    await recorder.until(() => recorder.failures >= 3);
    api.put(slice('backends-a', { addresses: ['10.0.0.4'] }));
    await api.restart({ expireHistory: true });

    // verify
    assert.deepEqual(await recorder.change(1), ['10.0.0.4:4317']);
    assert.deepEqual(recorder.changes[0], ['10.0.0.1:4317']);
    await resolver.shutdown();
  });

  it('pages through a long list (limit and continue)', async () => {
    // prepare
    const names = Array.from({ length: 501 }, (_, i) => `backends-${String(i).padStart(3, '0')}`);
    for (const [i, name] of names.entries()) {
      api.put(slice(name, { addresses: [`10.1.${Math.floor(i / 256)}.${i % 256}`] }));
    }
    const { resolver, recorder, start } = setup();
    const requestsBefore = api.requests.length;

    // test
    await start();

    // verify
    assert.equal(recorder.changes[0]?.length, 501);
    const lists = api.requests.slice(requestsBefore).filter(isList);
    assert.deepEqual(
      lists.map((r) => [r.query.get('limit'), r.query.has('continue')]),
      [
        ['500', false],
        ['500', true],
      ],
    );
    await resolver.shutdown();
  });

  it('returns <hostname>.<service>.<namespace> with return_hostnames, and keeps a slice whose hostname is missing', async () => {
    // prepare
    api.put(slice('backends-a', { addresses: ['10.0.0.1'], hostname: 'backend-0' }));
    const { resolver, recorder, start } = setup({ returnHostnames: true, ports: [4317, 4318] });
    const watching = api.nextWatch();
    await start();
    await watching;

    // test
    api.put(slice('backends-a', { addresses: ['10.0.0.1'], hostname: 'backend-0' }, { addresses: ['10.0.0.2'] }));
    const error = await recorder.error(0);
    api.put(slice('backends-b', { addresses: ['10.0.0.3'], hostname: 'backend-1' }));

    // verify
    assert.deepEqual(await recorder.change(1), [
      'backend-0.backends.default:4317',
      'backend-0.backends.default:4318',
      'backend-1.backends.default:4317',
      'backend-1.backends.default:4318',
    ]);
    assert.deepEqual(recorder.changes[0], ['backend-0.backends.default:4317', 'backend-0.backends.default:4318']);
    assert.match(error.message, /without a hostname/);
    assert.equal(recorder.failures, 1);
    await resolver.shutdown();
  });

  it('says which RBAC verbs are missing when the API server answers 403, and recovers once granted', async () => {
    // prepare
    api.put(slice('backends-a', { addresses: ['10.0.0.1'] }));
    api.forbid();
    const { resolver, recorder, start } = setup();

    // test
    await start();
    const error = await recorder.error(0);
    api.clearFaults();

    // verify
    assert.deepEqual(await recorder.change(0), ['10.0.0.1:4317']);
    assert.ok(error instanceof K8sResolutionError);
    assert.ok(error.cause instanceof K8sApiError);
    assert.equal(error.cause.statusCode, 403);
    assert.equal(error.cause.reason, 'Forbidden');
    assert.match(error.message, /"get", "list" and "watch" verbs on "endpointslices"/);
    assert.match(error.message, /namespace "default"/);
    await resolver.shutdown();
  });

  it('reports credentials the API server refuses (401)', async () => {
    const config = api.kubeConfig();
    const { resolver, recorder, start } = setup({
      kubeConfig: (() => {
        config.users = [{ name: 'tester', token: 'wrong' }];
        return config;
      })(),
    });

    await start();
    const error = await recorder.error(0);
    await resolver.shutdown();

    assert.ok(error.cause instanceof K8sApiError);
    assert.equal(error.cause.statusCode, 401);
  });

  it('backs off exponentially (1 s doubling to 30 s) and starts over after a watch delivered an event', async () => {
    // prepare
    const clock = new FakeClock();
    api.put(slice('backends-a', { addresses: ['10.0.0.1'] }));
    api.fail({ status: 500, reason: 'InternalError', kind: 'list', times: Infinity });
    const { resolver, recorder, start } = setup({ clock, random: () => 0.5 }, true);
    const watching = api.nextWatch();

    // test
    await start();
    for (let n = 0; n < 7; n++) {
      const error = await recorder.error(n);
      assert.ok(error instanceof K8sResolutionError);
      if (n === 6) api.clearFaults();
      await clock.advance(error.retryInMs);
    }
    await recorder.change(0);
    await watching;
    api.put(slice('backends-a', { addresses: ['10.0.0.2'] }));
    await recorder.change(1);
    api.breakWatches();
    const afterRecovery = await recorder.error(7);

    // verify
    const waits = recorder.errors.map((e) => (e instanceof K8sResolutionError ? e.retryInMs : -1));
    assert.deepEqual(waits, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 1_000]);
    assert.ok(afterRecovery instanceof K8sResolutionError);
    await resolver.shutdown();
    assert.equal(clock.pending, 0);
  });

  it('passes the timeout to the API server as timeoutSeconds, rounded up', async () => {
    const { resolver, start } = setup({ timeoutMs: 1_500 });
    const watching = api.nextWatch();

    await start();
    const watch = await watching;
    await resolver.shutdown();

    assert.equal(api.requests.findLast(isList)?.query.get('timeoutSeconds'), '2');
    assert.equal(watch.query.get('timeoutSeconds'), '2');
  });

  it('closes its watch on shutdown and when the start signal aborts', async () => {
    // prepare
    const first = setup();
    let watching = api.nextWatch();
    await first.start();
    await watching;
    let closed = api.nextWatchClosed();

    // test
    await first.resolver.shutdown();
    await closed;

    const second = setup();
    watching = api.nextWatch();
    await second.start();
    await watching;
    closed = api.nextWatchClosed();
    second.stop.abort();
    await closed;
    await second.resolver.shutdown();

    // verify
    assert.equal(api.openWatches, 0);
    assert.deepEqual([...first.recorder.errors, ...second.recorder.errors], []);
  });

  it('start resolves at once for an aborted signal, and refuses a second call', async () => {
    const { resolver } = setup();
    const controller = new AbortController();
    controller.abort();
    const requests = api.requests.length;

    await resolver.start(controller.signal);

    assert.equal(api.requests.length, requests);
    assert.throws(() => resolver.start(new AbortController().signal), TypeError);
    await resolver.shutdown();
  });
});

describe('K8sResolver default configuration', () => {
  let api: FakeK8sApi;
  let dir = '';

  before(async () => {
    api = await FakeK8sApi.start({ token: 't0k3n' });
    dir = await mkdtemp(path.join(tmpdir(), 'otel-lb-kubeconfig-'));
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the files in KUBECONFIG at start', async () => {
    const file = path.join(dir, 'config');
    await writeFile(file, api.kubeConfigYaml());
    api.put(slice('backends-a', { addresses: ['10.0.0.1'] }));
    const recorder = new ResolverRecorder(ResolverName.K8S);
    const resolver = new K8sResolver({
      service: 'backends.default',
      env: { KUBECONFIG: file },
      onError: recorder.onError,
    });
    resolver.onChange(recorder.onChange);

    await resolver.start(new AbortController().signal);
    await resolver.shutdown();

    assert.deepEqual(recorder.changes, [['10.0.0.1:4317']]);
    assert.deepEqual(recorder.errors, []);
  });

  it('reports, without throwing, that there is no configuration at all, and keeps trying', async () => {
    const clock = new FakeClock();
    const recorder = new ResolverRecorder(ResolverName.K8S);
    const resolver = new K8sResolver({
      service: 'backends.default',
      env: { HOME: dir },
      clock,
      onError: recorder.onError,
    });

    await resolver.start(new AbortController().signal);
    await clock.advance(1_200);
    await recorder.until(() => recorder.errors.length >= 2);
    await resolver.shutdown();

    assert.match(
      recorder.errors[0]?.message ?? '',
      /loading the Kubernetes configuration .* failed \(no Kubernetes configuration found/,
    );
  });
});
