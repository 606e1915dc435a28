import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ResolverName, ResolverStats } from './resolver.ts';
import { StaticResolver } from './static.ts';

describe('StaticResolver', () => {
  it('publishes the list once at start: default port, sorted, de-duplicated', async () => {
    // prepare
    const stats = new ResolverStats();
    const resolver = new StaticResolver({
      hostnames: ['backend-2', 'backend-1:4317', 'backend-1', '::1', '10.0.0.1:55690'],
      telemetry: stats,
    });
    const seen: (readonly string[])[] = [];
    resolver.onChange((endpoints) => seen.push(endpoints));
    assert.deepEqual(resolver.endpoints, []);

    // test
    await resolver.start(new AbortController().signal);
    await resolver.shutdown();

    // verify
    const want = ['10.0.0.1:55690', '[::1]:4317', 'backend-1:4317', 'backend-2:4317'];
    assert.deepEqual(seen, [want]);
    assert.deepEqual(resolver.endpoints, want);
    assert.equal(resolver.name, 'static');
    assert.deepEqual(stats.snapshot(ResolverName.STATIC), {
      resolutionsSucceeded: 1,
      resolutionsFailed: 0,
      backends: 4,
      backendUpdates: 1,
    });
  });

  it('refuses an empty list and a bad entry, naming it', () => {
    assert.throws(() => new StaticResolver({ hostnames: [] }), /`hostnames` is empty/);
    assert.throws(() => new StaticResolver({ hostnames: ['a:1', 'b:x'] }), /hostnames\[1\]: port "x"/);
  });

  it('refuses a second start', async () => {
    const resolver = new StaticResolver({ hostnames: ['a'] });
    await resolver.start(new AbortController().signal);

    assert.throws(() => resolver.start(new AbortController().signal), TypeError);
  });

  it('publishes nothing when started with an aborted signal', async () => {
    const resolver = new StaticResolver({ hostnames: ['a'] });
    const controller = new AbortController();
    controller.abort();

    await resolver.start(controller.signal);

    assert.deepEqual(resolver.endpoints, []);
  });
});
