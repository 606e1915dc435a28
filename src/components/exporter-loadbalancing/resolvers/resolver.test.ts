import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FakeClock, settle } from '../../../../test/helpers/fake-clock.ts';
import {
  EndpointPublisher,
  ResolverName,
  ResolverStats,
  diffEndpoints,
  endpointWithPort,
  joinHostPort,
  parsePort,
  splitHostPort,
  withDeadline,
} from './resolver.ts';

describe('endpointWithPort', () => {
  const cases: [string, string][] = [
    ['backend-1', 'backend-1:4317'],
    ['backend-1:55690', 'backend-1:55690'],
    ['  backend-1:1  ', 'backend-1:1'],
    ['10.0.0.1', '10.0.0.1:4317'],
    ['10.0.0.1:9000', '10.0.0.1:9000'],
    ['::1', '[::1]:4317'],
    ['2001:db8::7', '[2001:db8::7]:4317'],
    ['[::1]', '[::1]:4317'],
    ['[2001:db8::7]:9000', '[2001:db8::7]:9000'],
  ];
  for (const [raw, want] of cases) {
    it(`normalises ${JSON.stringify(raw)} to ${want}`, () => {
      assert.equal(endpointWithPort(raw, 4317, 'test'), want);
    });
  }

  const bad = ['', '   ', 'host:', ':4317', 'host:0', 'host:65536', 'host:http', '[::1', '[::1]x', '[host]:1', 'a:b:c'];
  for (const raw of bad) {
    it(`refuses ${JSON.stringify(raw)} with a TypeError naming where`, () => {
      assert.throws(
        () => endpointWithPort(raw, 4317, 'static resolver: hostnames[3]'),
        (error: unknown) => error instanceof TypeError && error.message.startsWith('static resolver: hostnames[3]'),
      );
    });
  }
});

describe('parsePort', () => {
  it('accepts numbers and decimal strings (the seed writes ports = ["34621"])', () => {
    assert.equal(parsePort(4317, 'p'), 4317);
    assert.equal(parsePort('34621', 'p'), 34621);
    assert.equal(parsePort(' 1 ', 'p'), 1);
    assert.equal(parsePort(65535, 'p'), 65535);
  });

  it('refuses what is not a port', () => {
    for (const value of [0, 65536, 1.5, Number.NaN, '', '0x10', '-1', '4317a', '123456']) {
      assert.throws(() => parsePort(value, 'p'), TypeError, String(value));
    }
  });
});

describe('joinHostPort and splitHostPort', () => {
  it('brackets IPv6 literals and round-trips', () => {
    assert.equal(joinHostPort('10.1.2.3', 4317), '10.1.2.3:4317');
    assert.equal(joinHostPort('fd00::1', 4317), '[fd00::1]:4317');
    assert.equal(joinHostPort('[fd00::1]', 4317), '[fd00::1]:4317');
    assert.deepEqual(splitHostPort('[fd00::1]:53'), { host: 'fd00::1', port: 53 });
    assert.deepEqual(splitHostPort('dns.local:8600'), { host: 'dns.local', port: 8600 });
  });
});

describe('diffEndpoints', () => {
  it('lists what was added and removed', () => {
    assert.deepEqual(diffEndpoints(['a:1', 'b:1'], ['b:1', 'c:1']), { added: ['c:1'], removed: ['a:1'] });
    assert.deepEqual(diffEndpoints([], []), { added: [], removed: [] });
  });
});

describe('EndpointPublisher', () => {
  it('notifies only when the endpoint set changes, sorted and de-duplicated', () => {
    // prepare
    const stats = new ResolverStats();
    const publisher = new EndpointPublisher(ResolverName.DNS, { telemetry: stats });
    const seen: (readonly string[])[] = [];
    publisher.onChange((endpoints) => seen.push(endpoints));

    // test
    const first = publisher.publish(['b:1', 'a:1', 'b:1']);
    const same = publisher.publish(['a:1', 'b:1']);
    const other = publisher.publish(['a:1']);

    // verify
    assert.deepEqual([first, same, other], [true, false, true]);
    assert.deepEqual(seen, [['a:1', 'b:1'], ['a:1']]);
    assert.ok(Object.isFrozen(seen[0]));
    assert.deepEqual(publisher.endpoints, ['a:1']);
    assert.deepEqual(stats.snapshot(ResolverName.DNS), {
      resolutionsSucceeded: 0,
      resolutionsFailed: 0,
      backends: 1,
      backendUpdates: 2,
    });
  });

  it('reports a listener that throws and still calls the others', () => {
    const errors: Error[] = [];
    const publisher = new EndpointPublisher(ResolverName.STATIC, { onError: (e) => errors.push(e) });
    const seen: (readonly string[])[] = [];
    publisher.onChange(() => {
      throw new Error('boom');
    });
    publisher.onChange((endpoints) => seen.push(endpoints));

    publisher.publish(['a:1']);

    assert.equal(errors.length, 1);
    assert.equal((errors[0]?.cause as Error).message, 'boom');
    assert.deepEqual(seen, [['a:1']]);
  });

  it('stops calling a listener once it unsubscribes, and all of them after close', () => {
    const publisher = new EndpointPublisher(ResolverName.K8S, {});
    let a = 0;
    let b = 0;
    const offA = publisher.onChange(() => a++);
    publisher.onChange(() => b++);

    publisher.publish(['x:1']);
    offA();
    publisher.publish(['y:1']);
    publisher.close();
    publisher.publish(['z:1']);

    assert.deepEqual([a, b], [1, 2]);
  });

  it('counts resolutions and failures', () => {
    const stats = new ResolverStats();
    const errors: Error[] = [];
    const publisher = new EndpointPublisher(ResolverName.DNS, { telemetry: stats, onError: (e) => errors.push(e) });

    publisher.resolution(true);
    publisher.fail(new Error('nope'));

    assert.equal(stats.snapshot(ResolverName.DNS).resolutionsSucceeded, 1);
    assert.equal(stats.snapshot(ResolverName.DNS).resolutionsFailed, 1);
    assert.equal(stats.snapshot(ResolverName.K8S).resolutionsFailed, 0);
    assert.equal(errors.length, 1);
  });
});

describe('withDeadline', () => {
  it('resolves with what the work resolves with and leaves no timer behind', async () => {
    const clock = new FakeClock();

    const value = await withDeadline(clock, 1_000, new AbortController().signal, 'work', () => Promise.resolve(7));

    assert.equal(value, 7);
    assert.equal(clock.pending, 0);
  });

  it('rejects once the timeout passes on the clock and aborts the work', async () => {
    const clock = new FakeClock();
    let workSignal: AbortSignal | undefined;
    const outcome = withDeadline(clock, 1_000, new AbortController().signal, 'looking up x', (signal) => {
      workSignal = signal;
      return new Promise<number>(() => undefined);
    });

    const rejected = assert.rejects(outcome, /looking up x took longer than its timeout of 1000 ms/);

    await clock.advance(999);
    const abortedEarly = workSignal!.aborted;
    await clock.advance(1);

    await rejected;
    assert.deepEqual([abortedEarly, workSignal!.aborted], [false, true]);
  });

  it('rejects at once when the parent aborts', async () => {
    const clock = new FakeClock();
    const parent = new AbortController();
    const outcome = withDeadline(clock, 1_000, parent.signal, 'work', () => new Promise<number>(() => undefined));

    parent.abort(new Error('stopped'));

    await assert.rejects(outcome, /stopped/);
    await settle();
    assert.equal(clock.pending, 0);
  });

  it('turns a synchronous throw into a rejection', async () => {
    const clock = new FakeClock();

    const outcome = withDeadline(clock, 1_000, new AbortController().signal, 'work', () => {
      throw new Error('sync');
    });

    await assert.rejects(outcome, /sync/);
    assert.equal(clock.pending, 0);
  });
});
