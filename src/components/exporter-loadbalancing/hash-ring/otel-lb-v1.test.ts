import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ErrorCode, OtelLbError } from '../../../errors.ts';
import { RingName, keyBytes } from './hash-ring.ts';
import type { HashRing } from './hash-ring.ts';
import {
  OTEL_LB_V1_MAX_ENDPOINTS,
  OTEL_LB_V1_SLOTS,
  buildOtelLbV1Ring,
  hashOtelLbV1Key,
  murmur3,
  otelLbV1Shares,
  otelLbV1SizeBytes,
  otelLbV1SlotOwners,
} from './otel-lb-v1.ts';
import { createRandom } from '../../../../test/helpers/otlp-builders.ts';

const SLOT_SHIFT = 32 - Math.log2(OTEL_LB_V1_SLOTS);

// Golden values, computed once from this implementation (see "golden placements" below).
const GOLDEN_HASH_EMPTY = 0x07c9_8ade;
const GOLDEN_HASH_ZERO_ID = 0x957f_ac18;
const GOLDEN_HASH_W3C_ID = 0x8367_8545;
const GOLDEN_HASH_CHECKOUT = 0x8b4f_4670;
/** Keys (`0x…`: raw trace-ID bytes; otherwise UTF-8) and their endpoint among 10.0.0.0 … 4:4317. */
const GOLDEN_ROUTES: readonly (readonly [key: string, endpoint: string])[] = [
  ['0x4bf92f3577b34da6a3ce929d0e0e4736', '10.0.0.3:4317'],
  ['0x00000000000000000000000000000001', '10.0.0.3:4317'],
  ['0x0af7651916cd43dd8448eb211c80319c', '10.0.0.4:4317'],
  ['0x00000000000000000000000000000000', '10.0.0.3:4317'],
  ['0xffffffffffffffffffffffffffffffff', '10.0.0.0:4317'],
  ['checkout', '10.0.0.1:4317'],
  ['frontend', '10.0.0.4:4317'],
  ['service.name=payment|', '10.0.0.0:4317'],
  ['', '10.0.0.0:4317'],
];
const GOLDEN_DIGEST_IP_3 = 0xda8c_ad73;
const GOLDEN_DIGEST_DNS_100 = 0xa0c1_f6a3;
const GOLDEN_DIGEST_IP_300 = 0x3d3c_0265;

const ipEndpoints = (count: number): string[] => Array.from({ length: count }, (_, i) => `10.0.0.${i}:4317`);
const dnsEndpoints = (count: number): string[] => Array.from({ length: count }, (_, i) => `backend-${i}.ns.svc:4317`);

function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

function locateWhole(ring: HashRing, key: Uint8Array): string {
  return ring.endpoints[ring.locate(key, 0, key.length)] as string;
}

/** FNV-1a over the owner of every slot: a platform-independent digest of a ring's placement. */
function tableDigest(ring: HashRing): number {
  let h = 0x811c_9dc5;
  for (const owner of otelLbV1SlotOwners(ring)) h = Math.imul(h ^ owner, 0x0100_0193);
  return h >>> 0;
}

/** Population standard deviation over mean. */
function coefficientOfVariation(values: ArrayLike<number>): number {
  const list = Array.from(values);
  const mean = list.reduce((sum, v) => sum + v, 0) / list.length;
  const variance = list.reduce((sum, v) => sum + (v - mean) ** 2, 0) / list.length;
  return Math.sqrt(variance) / mean;
}

/** Exact share of the key space that changes endpoint between two rings, and the endpoints it moves between. */
function movedSlots(before: HashRing, after: HashRing): { share: number; pairs: Set<string> } {
  const a = otelLbV1SlotOwners(before);
  const b = otelLbV1SlotOwners(after);
  // Endpoint index in `after` of each endpoint of `before` (-1 if gone).
  const renumber = Int32Array.from(before.endpoints, (endpoint) => after.endpoints.indexOf(endpoint));
  let moved = 0;
  const pairs = new Set<string>();
  for (let slot = 0; slot < OTEL_LB_V1_SLOTS; slot++) {
    if (renumber[a[slot] as number] !== b[slot]) {
      moved++;
      pairs.add(`${before.endpoints[a[slot] as number] ?? ''} -> ${after.endpoints[b[slot] as number] ?? ''}`);
    }
  }
  return { share: moved / OTEL_LB_V1_SLOTS, pairs };
}

/** Pearson's χ² of observed counts against expected counts. */
function chiSquare(observed: ArrayLike<number>, expected: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < observed.length; i++)
    sum += ((observed[i] as number) - (expected[i] as number)) ** 2 / (expected[i] as number);
  return sum;
}

/** A χ² bound 7 standard deviations above the mean for `df` degrees of freedom (p = 1e-5 at 9, 1e-9 at 255). */
const chiSquareBound = (df: number): number => df + 7 * Math.sqrt(2 * df);

describe('murmur3', () => {
  it('matches the reference MurmurHash3 x86_32 test vectors', () => {
    const cases: [input: string | Uint8Array, seed: number, expected: number][] = [
      ['', 0, 0],
      ['', 1, 0x514e_28b7],
      ['', 0xffff_ffff, 0x81f1_6f39],
      [new Uint8Array(4), 0, 0x2362_f9de],
      ['aaaa', 0x9747_b28c, 0x5a97_808a],
      ['abc', 0, 0xb3dd_93fa],
      ['Hello, world!', 0x9747_b28c, 0x2488_4cba],
      ['The quick brown fox jumps over the lazy dog', 0x9747_b28c, 0x2fa8_26cd],
    ];
    for (const [input, seed, expected] of cases) {
      const bytes = typeof input === 'string' ? keyBytes(input) : input;

      assert.equal(murmur3(bytes, 0, bytes.length, seed), expected, `murmur3(${JSON.stringify(input)}, ${seed})`);
    }
  });

  it('hashes a sub-range exactly as a copy of it', () => {
    const buffer = createRandom(7).bytes(64);
    for (const [start, end] of [
      [0, 0],
      [3, 3],
      [5, 21],
      [1, 64],
      [17, 18],
      [60, 63],
    ] as const) {
      assert.equal(murmur3(buffer, start, end, 42), murmur3(buffer.slice(start, end), 0, end - start, 42));
    }
  });
});

describe('buildOtelLbV1Ring', () => {
  it('is named otel-lb-v1 and exposes the endpoints sorted and frozen', () => {
    const ring = buildOtelLbV1Ring(['b:1', 'a:1', 'c:1']);

    assert.equal(ring.name, RingName.OTEL_LB_V1);
    assert.deepEqual(ring.endpoints, ['a:1', 'b:1', 'c:1']);
    assert.ok(Object.isFrozen(ring.endpoints));
  });

  it('throws ERR_LB_NO_BACKENDS for an empty endpoint set', () => {
    assert.throws(
      () => buildOtelLbV1Ring([]),
      (err: unknown) => err instanceof OtelLbError && err.code === ErrorCode.LB_NO_BACKENDS,
    );
  });

  it('throws ERR_LB_TOO_MANY_BACKENDS past the endpoint limit, before building anything', () => {
    const endpoints = Array.from({ length: OTEL_LB_V1_MAX_ENDPOINTS + 1 }, (_, i) => `e${i}`);

    assert.throws(
      () => buildOtelLbV1Ring(endpoints),
      (err: unknown) => err instanceof OtelLbError && err.code === ErrorCode.LB_TOO_MANY_BACKENDS,
    );
  });

  it('depends on the set of endpoints only, not on their order or duplicates', () => {
    const endpoints = dnsEndpoints(20);
    const shuffled = [...endpoints].reverse();
    shuffled.splice(7, 0, endpoints[3] as string, endpoints[11] as string, endpoints[3] as string);

    const a = buildOtelLbV1Ring(endpoints);
    const b = buildOtelLbV1Ring(new Set(shuffled));

    assert.deepEqual(b.endpoints, a.endpoints);
    assert.deepEqual(otelLbV1SlotOwners(b), otelLbV1SlotOwners(a));
  });

  it('sends every key to the only endpoint of a one-endpoint ring', () => {
    const ring = buildOtelLbV1Ring(['solo:4317']);

    assert.deepEqual(otelLbV1Shares(ring), Float64Array.of(1));
    assert.equal(ring.locate(new Uint8Array(0), 0, 0), 0);
  });

  it('holds ⌈log2 N⌉ bits per slot', () => {
    const cases: [endpoints: number, bytes: number][] = [
      [1, 2 ** 21 / 8],
      [2, 2 ** 21 / 8],
      [10, (2 ** 21 * 4) / 8],
      [256, 2 ** 21],
      [300, (2 ** 21 * 9) / 8],
    ];
    for (const [endpoints, bytes] of cases) {
      // One padding word follows the table.
      assert.equal(otelLbV1SizeBytes(buildOtelLbV1Ring(ipEndpoints(endpoints))), bytes + 4, `${endpoints} endpoints`);
    }
  });
});

describe('otel-lb-v1 locate', () => {
  const ring = buildOtelLbV1Ring(ipEndpoints(300));
  const owners = otelLbV1SlotOwners(ring);

  it('returns an index into endpoints for empty keys and keys of any length, at any offset', () => {
    const buffer = createRandom(99).bytes(100);
    for (let length = 0; length <= 40; length++) {
      for (const start of [0, 1, 2, 3, 59]) {
        const index = ring.locate(buffer, start, start + length);

        assert.ok(
          Number.isInteger(index) && index >= 0 && index < ring.endpoints.length,
          `length ${length} at ${start}: ${index}`,
        );
        assert.equal(index, ring.locate(buffer.slice(start, start + length), 0, length));
      }
    }
  });

  it('returns the owner of the key hash’s slot', () => {
    const keys = createRandom(5).bytes(16 * 1000);
    for (let at = 0; at < keys.length; at += 16) {
      assert.equal(ring.locate(keys, at, at + 16), owners[hashOtelLbV1Key(keys, at, at + 16) >>> SLOT_SHIFT]);
    }
  });
});

// Placement is a compatibility contract between load balancer replicas: these goldens fail
// if a constant, a hash or the layout changes. Such a change needs a new ring name.
describe('otel-lb-v1 golden placements', () => {
  it('hashes keys as before', () => {
    const cases: [key: Uint8Array, hash: number][] = [
      [new Uint8Array(0), GOLDEN_HASH_EMPTY],
      [new Uint8Array(16), GOLDEN_HASH_ZERO_ID],
      [hex('4bf92f3577b34da6a3ce929d0e0e4736'), GOLDEN_HASH_W3C_ID],
      [keyBytes('checkout'), GOLDEN_HASH_CHECKOUT],
    ];
    for (const [key, hash] of cases) {
      assert.equal(hashOtelLbV1Key(key, 0, key.length), hash);
    }
  });

  it('routes keys to the same endpoints as before', () => {
    const ring = buildOtelLbV1Ring(ipEndpoints(5));
    for (const [key, endpoint] of GOLDEN_ROUTES) {
      const bytes = key.startsWith('0x') ? hex(key.slice(2)) : keyBytes(key);

      assert.equal(locateWhole(ring, bytes), endpoint, key);
    }
  });

  it('places every slot as before', () => {
    const cases: [endpoints: string[], digest: number][] = [
      [ipEndpoints(3), GOLDEN_DIGEST_IP_3],
      [dnsEndpoints(100), GOLDEN_DIGEST_DNS_100],
      [ipEndpoints(300), GOLDEN_DIGEST_IP_300],
    ];
    for (const [endpoints, digest] of cases) {
      assert.equal(tableDigest(buildOtelLbV1Ring(endpoints)), digest, `${endpoints.length} endpoints`);
    }
  });
});

describe('otel-lb-v1 balance', () => {
  // The targets: CV of the shares ≤ 2 % for 2 … 100 endpoints, ≤ 3 % at 300.
  const cases: [endpoints: number, maxCv: number][] = [
    [2, 0.02],
    [3, 0.02],
    [5, 0.02],
    [10, 0.02],
    [17, 0.02],
    [32, 0.02],
    [50, 0.02],
    [100, 0.02],
    [300, 0.03],
  ];
  for (const [count, maxCv] of cases) {
    for (const [scheme, endpoints] of [
      ['10.0.0.i:4317', ipEndpoints(count)],
      ['backend-i.ns.svc:4317', dnsEndpoints(count)],
    ] as const) {
      it(`shares the key space within CV ${maxCv * 100} % among ${count} endpoints ${scheme}`, () => {
        const shares = otelLbV1Shares(buildOtelLbV1Ring(endpoints));

        assert.ok(Math.abs(shares.reduce((sum, s) => sum + s, 0) - 1) < 1e-9);
        const cv = coefficientOfVariation(shares);
        assert.ok(cv <= maxCv, `CV ${(cv * 100).toFixed(2)} %`);
      });
    }
  }
});

describe('otel-lb-v1 disruption', () => {
  for (const count of [10, 100, 300]) {
    const endpoints = dnsEndpoints(count + 1);
    const smaller = buildOtelLbV1Ring(endpoints.slice(0, count));
    const larger = buildOtelLbV1Ring(endpoints);
    const changed = endpoints[count] as string;

    it(`moves only keys to the added endpoint, ≤ 1.05 × 1/(N + 1), adding one to ${count}`, () => {
      const { share, pairs } = movedSlots(smaller, larger);

      assert.ok(share <= (1.05 * 1) / (count + 1), `moved ${share} vs ideal ${1 / (count + 1)}`);
      for (const pair of pairs) assert.ok(pair.endsWith(` -> ${changed}`), pair);
    });

    it(`moves only keys of the removed endpoint, ≤ 1.05 × 1/N, removing one from ${count + 1}`, () => {
      const { share, pairs } = movedSlots(larger, smaller);

      assert.ok(share <= (1.05 * 1) / (count + 1), `moved ${share} vs ideal ${1 / (count + 1)}`);
      for (const pair of pairs) assert.ok(pair.startsWith(`${changed} -> `), pair);
    });
  }

  it('moves only the keys of the changed endpoint, checked on 200,000 random trace IDs', () => {
    const endpoints = ipEndpoints(51);
    const before = buildOtelLbV1Ring(endpoints.slice(0, 50));
    const after = buildOtelLbV1Ring(endpoints);
    const ids = createRandom(0x5eed).bytes(16 * 200_000);
    let moved = 0;

    for (let at = 0; at < ids.length; at += 16) {
      const from = before.endpoints[before.locate(ids, at, at + 16)];
      const to = after.endpoints[after.locate(ids, at, at + 16)];
      if (from !== to) {
        moved++;
        assert.equal(to, endpoints[50]);
      }
    }

    // 1/51 of 200,000 is 3,922; allow 5 % and binomial noise (σ ≈ 62).
    assert.ok(moved > 0 && moved <= 1.05 * 3922 + 4 * 62, `${moved} moved`);
  });
});

describe('otel-lb-v1 with structured keys', () => {
  const count = 1 << 16;
  // Keys that some producers really send: counters, 64-bit IDs zero-padded to 128 bits,
  // AWS X-Ray IDs (4-byte epoch seconds first), and service names.
  const keySets: Record<string, (i: number) => Uint8Array> = {
    'sequential trace IDs (big-endian counter)': (i) => {
      const id = new Uint8Array(16);
      new DataView(id.buffer).setUint32(12, i);
      return id;
    },
    'sequential trace IDs (little-endian counter)': (i) => {
      const id = new Uint8Array(16);
      new DataView(id.buffer).setUint32(0, i, true);
      return id;
    },
    'X-Ray style IDs: timestamp prefix, counter suffix': (i) => {
      const id = new Uint8Array(16);
      const view = new DataView(id.buffer);
      view.setUint32(0, 1_750_000_000 + Math.floor(i / 1000));
      view.setUint32(12, i % 1000);
      return id;
    },
    'service names': (i) => keyBytes(`service-${i}`),
  };
  const ring = buildOtelLbV1Ring(ipEndpoints(10));
  const expected = otelLbV1Shares(ring).map((share) => share * count);

  for (const [name, makeKey] of Object.entries(keySets)) {
    it(`spreads ${name} evenly over the hash space and over 10 endpoints`, () => {
      const bins = new Float64Array(256);
      const counts = new Float64Array(10);

      for (let i = 0; i < count; i++) {
        const key = makeKey(i);
        const bin = hashOtelLbV1Key(key, 0, key.length) >>> 24;
        bins[bin] = (bins[bin] as number) + 1;
        const owner = ring.locate(key, 0, key.length);
        counts[owner] = (counts[owner] as number) + 1;
      }

      const binsChi2 = chiSquare(bins, new Float64Array(256).fill(count / 256));
      assert.ok(binsChi2 < chiSquareBound(255), `hash bins: χ² = ${binsChi2.toFixed(1)}`);
      // Against the ring's exact shares: the keys must add only multinomial noise.
      const endpointsChi2 = chiSquare(counts, expected);
      assert.ok(endpointsChi2 < chiSquareBound(9), `endpoints: χ² = ${endpointsChi2.toFixed(1)}`);
    });
  }
});
