import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FakeClock, settle } from '../../../../test/helpers/fake-clock.ts';
import { recordResolver } from '../../../../test/helpers/resolver-recorder.ts';
import { ScriptedAnswers } from '../../../../test/helpers/scripted-answers.ts';
import { DnsResolver, parseDnsServer, type DnsLookup, type DnsResolverOptions } from './dns.ts';
import { ResolverName } from './resolver.ts';

/** A lookup that answers from a script, repeating the last answer when it runs out. */
class ScriptedLookup extends ScriptedAnswers<{ hostname: string; signal: AbortSignal }, string> {
  readonly lookup: DnsLookup = (hostname, signal) => this.answer({ hostname, signal });
}

function setup(lookup: ScriptedLookup, options: Partial<DnsResolverOptions> = {}) {
  const clock = new FakeClock();
  const { resolver, recorder } = recordResolver(
    ResolverName.DNS,
    (recording) =>
      new DnsResolver({ hostname: 'backends.example', lookup: lookup.lookup, clock, ...recording, ...options }),
  );
  return { clock, resolver, errors: recorder.errors, seen: recorder.changes, counters: () => recorder.counters() };
}

describe('DnsResolver', () => {
  it('turns A and AAAA records into sorted, de-duplicated endpoints, IPv6 in brackets', async () => {
    const lookup = new ScriptedLookup(['10.0.0.2', 'fd00::1', '10.0.0.1', '10.0.0.2']);
    const { resolver, seen, counters } = setup(lookup, { port: '34621' });

    await resolver.start(new AbortController().signal);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.1:34621', '10.0.0.2:34621', '[fd00::1]:34621']]);
    assert.equal(lookup.calls[0]?.hostname, 'backends.example');
    assert.deepEqual(counters(), { resolutionsSucceeded: 1, resolutionsFailed: 0, backends: 3, backendUpdates: 1 });
  });

  it('looks up again every interval and notifies only when the endpoint set changes', async () => {
    const lookup = new ScriptedLookup(['10.0.0.1', '10.0.0.2'], ['10.0.0.2', '10.0.0.1'], ['10.0.0.3']);
    const { clock, resolver, seen, counters } = setup(lookup, { intervalMs: 5_000 });

    await resolver.start(new AbortController().signal);
    await clock.advance(4_999);
    assert.equal(lookup.calls.length, 1);
    await clock.advance(1);
    assert.equal(lookup.calls.length, 2);
    await clock.advance(5_000);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.1:4317', '10.0.0.2:4317'], ['10.0.0.3:4317']]);
    assert.deepEqual(counters(), { resolutionsSucceeded: 3, resolutionsFailed: 0, backends: 1, backendUpdates: 2 });
  });

  it('keeps the last good set when a lookup fails, and counts the failure', async () => {
    const lookup = new ScriptedLookup(['10.0.0.1'], new Error('SERVFAIL'), [], ['10.0.0.1']);
    const { clock, resolver, seen, errors, counters } = setup(lookup, { intervalMs: 1_000 });

    await resolver.start(new AbortController().signal);
    await clock.advance(1_000);
    await clock.advance(1_000);
    await clock.advance(1_000);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.1:4317']]);
    assert.deepEqual(resolver.endpoints, ['10.0.0.1:4317']);
    assert.equal(errors.length, 2);
    assert.match(errors[0]?.message ?? '', /looking up "backends.example".*SERVFAIL.*keeping the last 1 endpoint/);
    assert.match(errors[1]?.message ?? '', /no A or AAAA record/);
    assert.deepEqual(counters(), { resolutionsSucceeded: 2, resolutionsFailed: 2, backends: 1, backendUpdates: 1 });
  });

  it('starts with no backends when the first answer is empty, then picks them up (contrib #7051)', async () => {
    const lookup = new ScriptedLookup(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }), ['10.0.0.9']);
    const { clock, resolver, seen } = setup(lookup, { intervalMs: 1_000 });

    await resolver.start(new AbortController().signal);
    assert.deepEqual(resolver.endpoints, []);
    await clock.advance(1_000);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.9:4317']]);
  });

  it('gives up on a lookup after the timeout, aborting it, and keeps the set', async () => {
    const lookup = new ScriptedLookup(['10.0.0.1'], 'hang', ['10.0.0.2']);
    const { clock, resolver, seen, errors, counters } = setup(lookup, { intervalMs: 5_000, timeoutMs: 1_000 });

    await resolver.start(new AbortController().signal);
    await clock.advance(5_000);
    const hanging = lookup.calls[1]!.signal;
    const wasAborted = hanging.aborted;
    await clock.advance(1_000);

    assert.deepEqual([wasAborted, hanging.aborted], [false, true]);
    assert.match(errors[0]?.message ?? '', /took longer than its timeout of 1000 ms/);
    await clock.advance(5_000);
    await resolver.shutdown();

    assert.deepEqual(seen, [['10.0.0.1:4317'], ['10.0.0.2:4317']]);
    assert.equal(counters().resolutionsFailed, 1);
  });

  it('stops looking up after shutdown and leaves no timer behind', async () => {
    const lookup = new ScriptedLookup(['10.0.0.1']);
    const { clock, resolver, seen } = setup(lookup, { intervalMs: 1_000 });
    await resolver.start(new AbortController().signal);

    await resolver.shutdown();
    await clock.advance(10_000);

    assert.equal(lookup.calls.length, 1);
    assert.equal(clock.pending, 0);
    assert.equal(seen.length, 1);
  });

  it('stops when the start signal aborts, even during a lookup, and reports no error', async () => {
    const lookup = new ScriptedLookup(['10.0.0.1'], 'hang');
    const { clock, resolver, errors } = setup(lookup, { intervalMs: 1_000 });
    const controller = new AbortController();
    await resolver.start(controller.signal);
    await clock.advance(1_000);

    controller.abort();
    await settle();
    await resolver.shutdown();

    assert.equal(lookup.calls[1]?.signal.aborted, true);
    assert.equal(clock.pending, 0);
    assert.deepEqual(errors, []);
  });

  it('start resolves at once for an aborted signal, and refuses a second call', async () => {
    const lookup = new ScriptedLookup(['10.0.0.1']);
    const { resolver } = setup(lookup);
    const controller = new AbortController();
    controller.abort();

    await resolver.start(controller.signal);

    assert.equal(lookup.calls.length, 0);
    assert.throws(() => resolver.start(new AbortController().signal), TypeError);
  });

  it('refuses bad options with a TypeError naming the option', () => {
    const lookup = new ScriptedLookup();
    const make = (options: Partial<DnsResolverOptions>) => () =>
      new DnsResolver({ hostname: 'x', lookup: lookup.lookup, ...options });

    assert.throws(make({ hostname: ' ' }), /`hostname` is empty/);
    assert.throws(make({ port: 'http' }), /`port`/);
    assert.throws(make({ intervalMs: 0 }), /`interval`/);
    assert.throws(make({ timeoutMs: -1 }), /`timeout`/);
    assert.throws(() => new DnsResolver({ hostname: 'x', server: 'dns.example:53' }), /`server` "dns.example:53"/);
  });
});

describe('parseDnsServer', () => {
  it('accepts IP:PORT, a bare IP (port 53) and bracketed IPv6', () => {
    assert.equal(parseDnsServer('127.0.0.1:8600'), '127.0.0.1:8600');
    assert.equal(parseDnsServer('10.0.0.53'), '10.0.0.53:53');
    assert.equal(parseDnsServer('[::1]:5353'), '[::1]:5353');
    assert.equal(parseDnsServer('::1'), '[::1]:53');
  });

  it('refuses a host name and a bad port', () => {
    assert.throws(() => parseDnsServer('consul:8600'), /does not start with an IP address/);
    assert.throws(() => parseDnsServer('127.0.0.1:99999'), /port/);
  });
});
