/**
 * The dns resolver against a real DNS server on loopback: dnsmasq (test/helpers/dnsmasq.ts;
 * Debian's `dnsmasq-base`, installed by `.ci/run`) serving records that the test rewrites
 * while the resolver runs. The test waits on the resolver's change events and telemetry,
 * never on the wall clock.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { DnsResolver } from '../../src/components/exporter-loadbalancing/resolvers/dns.ts';
import { ResolverName } from '../../src/components/exporter-loadbalancing/resolvers/resolver.ts';
import { Dnsmasq, findDnsmasq } from '../helpers/dnsmasq.ts';
import { recordResolver } from '../helpers/resolver-recorder.ts';

const NAME = 'backends.otel-lb.test';

const DNSMASQ = findDnsmasq();
const SKIP =
  DNSMASQ === undefined
    ? 'dnsmasq is not installed (Debian package dnsmasq-base; .ci/run installs it): skipping the real-DNS tests'
    : false;
if (SKIP !== false) console.log(`# ${SKIP}`);

describe('DnsResolver against dnsmasq', { skip: SKIP, timeout: 60_000 }, () => {
  let dnsmasq: Dnsmasq;

  before(async () => {
    dnsmasq = await Dnsmasq.start(DNSMASQ ?? 'dnsmasq', [`10.0.0.2 ${NAME}`, `10.0.0.1 ${NAME}`]);
  });

  after(async () => {
    await dnsmasq.stop();
  });

  it('follows the records as they change, keeps the set through failures and a server restart', async () => {
    // prepare
    const { resolver, recorder } = recordResolver(
      ResolverName.DNS,
      (recording) =>
        new DnsResolver({
          hostname: NAME,
          port: '34621',
          server: dnsmasq.server,
          intervalMs: 20,
          timeoutMs: 200,
          ...recording,
        }),
    );
    const stop = new AbortController();

    try {
      // test: the first lookup finds both A records
      await resolver.start(stop.signal);
      assert.deepEqual(await recorder.change(0), ['10.0.0.1:34621', '10.0.0.2:34621']);

      // records change while the resolver runs: one removed, one added, an AAAA record added
      await dnsmasq.setRecords([`10.0.0.2 ${NAME}`, `10.0.0.3 ${NAME}`, `fd00::7 ${NAME}`]);
      assert.deepEqual(await recorder.change(1), ['10.0.0.2:34621', '10.0.0.3:34621', '[fd00::7]:34621']);

      // the same records in another order change nothing: the next event is the next real change
      await dnsmasq.setRecords([`fd00::7 ${NAME}`, `10.0.0.3 ${NAME}`, `10.0.0.2 ${NAME}`]);
      const successesBefore = recorder.successes;
      await recorder.until(() => recorder.successes >= successesBefore + 3);
      await dnsmasq.setRecords([`fd00::7 ${NAME}`, `10.0.0.3 ${NAME}`]);
      assert.deepEqual(await recorder.change(2), ['10.0.0.3:34621', '[fd00::7]:34621']);
      assert.equal(recorder.updates, 3);

      // the name disappears (NXDOMAIN): failures are counted, the last set stays
      await dnsmasq.setRecords([`10.9.9.9 other.otel-lb.test`]);
      const failuresBefore = recorder.failures;
      await recorder.until(() => recorder.failures >= failuresBefore + 2);
      assert.deepEqual(resolver.endpoints, ['10.0.0.3:34621', '[fd00::7]:34621']);
      assert.match(
        recorder.errors.at(-1)?.message ?? '',
        /looking up "backends.otel-lb.test" with DNS server 127\.0\.0\.1:\d+ failed/,
      );

      // the server goes away (timeouts), then comes back on the same port with new records
      await dnsmasq.kill();
      const failuresWhileDown = recorder.failures;
      await recorder.until(() => recorder.failures >= failuresWhileDown + 2);
      assert.deepEqual(resolver.endpoints, ['10.0.0.3:34621', '[fd00::7]:34621']);
      await dnsmasq.setRecords([`10.0.0.4 ${NAME}`]);
      await dnsmasq.restart();
      assert.deepEqual(await recorder.change(3), ['10.0.0.4:34621']);

      // verify: every change was published exactly once
      assert.equal(recorder.changes.length, 4);
      assert.equal(recorder.updates, 4);
    } finally {
      stop.abort();
      await resolver.shutdown();
    }
  });
});
