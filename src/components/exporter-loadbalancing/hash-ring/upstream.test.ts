import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 as zlibCrc32 } from 'node:zlib';

import { ErrorCode, OtelLbError } from '../../../errors.ts';
import { crc32, crc32Update } from './crc32.ts';
import { keyBytes } from './hash-ring.ts';
import { UPSTREAM_MAX_POSITIONS, type UpstreamRingVersion, buildUpstreamRing, upstreamRingItems } from './upstream.ts';

// ---------------------------------------------------------------------------------------
// The golden file (test/fixtures/upstream-ring.json), produced by running upstream's Go
// code. It is decoded field by field so that a malformed fixture fails loudly instead of
// passing vacuously.
// ---------------------------------------------------------------------------------------

/** The golden file's algorithm keys and the ring versions they correspond to. */
const ALGORITHMS = [
  { fixtureKey: 'v2_linear_probe', version: 'upstream-v2' },
  { fixtureKey: 'v1_legacy', version: 'upstream-v1' },
] as const satisfies readonly { fixtureKey: string; version: UpstreamRingVersion }[];
type FixtureAlgorithm = (typeof ALGORITHMS)[number]['fixtureKey'];
type PerAlgorithm<T> = Readonly<Record<FixtureAlgorithm, T>>;

interface GoldenKey {
  /** Which key encoding of the golden file, e.g. `traces_key_raw16`, and of what. */
  readonly label: string;
  /** The key bytes derived from the trace ID or service name, as the encoding documents. */
  readonly derived: Uint8Array;
  readonly keyHex: string;
  readonly crc32: number;
  readonly pos: number;
  readonly endpoint: PerAlgorithm<string>;
}

interface RingCase {
  readonly id: string;
  readonly endpoints: readonly string[];
  readonly rings: PerAlgorithm<{ readonly size: number; readonly items: readonly (readonly [number, number])[] }>;
  readonly keys: readonly GoldenKey[];
}

interface ChangeCase {
  readonly id: string;
  readonly changedEndpoint: string;
  readonly endpointsBefore: readonly string[];
  readonly endpointsAfter: readonly string[];
  readonly movedCount: PerAlgorithm<number>;
  readonly traces: readonly {
    readonly traceIdHex: string;
    readonly before: PerAlgorithm<string>;
    readonly after: PerAlgorithm<string>;
  }[];
}

interface UnitTestCheck {
  readonly name: string;
  readonly algorithm: FixtureAlgorithm;
  readonly input: unknown;
  readonly expected: unknown;
}

function field(value: unknown, name: string, path: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`fixture ${path}: expected an object`);
  }
  if (!Object.hasOwn(value, name)) {
    throw new TypeError(`fixture ${path}: missing "${name}"`);
  }
  const result: unknown = Reflect.get(value, name);
  return result;
}

function text(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new TypeError(`fixture ${path}: expected a string`);
  return value;
}

function integer(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new TypeError(`fixture ${path}: expected an integer`);
  }
  return value;
}

function list<T>(value: unknown, path: string, element: (v: unknown, path: string) => T): T[] {
  if (!Array.isArray(value)) throw new TypeError(`fixture ${path}: expected an array`);
  return value.map((v: unknown, i) => element(v, `${path}[${i}]`));
}

function perAlgorithm<T>(value: unknown, path: string, element: (v: unknown, path: string) => T): PerAlgorithm<T> {
  return {
    v2_linear_probe: element(field(value, 'v2_linear_probe', path), `${path}.v2_linear_probe`),
    v1_legacy: element(field(value, 'v1_legacy', path), `${path}.v1_legacy`),
  };
}

function fixtureAlgorithm(value: unknown, path: string): FixtureAlgorithm {
  const found = ALGORITHMS.find((a) => a.fixtureKey === value);
  if (found === undefined) throw new TypeError(`fixture ${path}: unknown algorithm`);
  return found.fixtureKey;
}

function hexBytes(hex: string): Uint8Array {
  assert.match(hex, /^(?:[0-9a-f]{2})*$/, 'fixture hex strings are lowercase and whole bytes');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function goldenKey(value: unknown, path: string, label: string, derived: Uint8Array): GoldenKey {
  return {
    label,
    derived,
    keyHex: text(field(value, 'key_hex', path), `${path}.key_hex`),
    crc32: integer(field(value, 'crc32', path), `${path}.crc32`),
    pos: integer(field(value, 'pos', path), `${path}.pos`),
    endpoint: perAlgorithm(field(value, 'endpoint', path), `${path}.endpoint`, text),
  };
}

function ringCase(value: unknown, path: string): RingCase {
  const keys: GoldenKey[] = [];
  const add = (parent: unknown, p: string, encoding: string, of: string, derived: Uint8Array): void => {
    keys.push(goldenKey(field(parent, encoding, p), `${p}.${encoding}`, `${encoding} ${of}`, derived));
  };
  list(field(value, 'traces', path), `${path}.traces`, (trace, p) => {
    const traceIdHex = text(field(trace, 'trace_id_hex', p), `${p}.trace_id_hex`);
    // Traces route on the 16 raw trace-ID bytes, logs (since v0.154) on its 32-char hex form.
    add(trace, p, 'traces_key_raw16', traceIdHex, hexBytes(traceIdHex));
    add(trace, p, 'logs_key_hex32', traceIdHex, keyBytes(traceIdHex));
  });
  list(field(value, 'services', path), `${path}.services`, (service, p) => {
    const name = text(field(service, 'service_name', p), `${p}.service_name`);
    add(service, p, 'key_raw_value', JSON.stringify(name), keyBytes(name));
    add(service, p, 'key_service_name_kv', JSON.stringify(name), keyBytes(`service.name=${name}|`));
  });
  return {
    id: text(field(value, 'id', path), `${path}.id`),
    endpoints: list(field(value, 'endpoints', path), `${path}.endpoints`, text),
    rings: perAlgorithm(field(value, 'rings', path), `${path}.rings`, (ring, p) => ({
      size: integer(field(ring, 'size', p), `${p}.size`),
      items: list(field(ring, 'items', p), `${p}.items`, (item, q) => {
        const [position, endpointIndex, ...rest] = list(item, q, integer);
        if (position === undefined || endpointIndex === undefined || rest.length > 0) {
          throw new TypeError(`fixture ${q}: expected [pos, index]`);
        }
        return [position, endpointIndex] as const;
      }),
    })),
    keys,
  };
}

function changeCase(value: unknown, path: string): ChangeCase {
  return {
    id: text(field(value, 'id', path), `${path}.id`),
    changedEndpoint: text(field(value, 'changed_endpoint', path), `${path}.changed_endpoint`),
    endpointsBefore: list(field(value, 'endpoints_before', path), `${path}.endpoints_before`, text),
    endpointsAfter: list(field(value, 'endpoints_after', path), `${path}.endpoints_after`, text),
    movedCount: perAlgorithm(field(value, 'moved_count', path), `${path}.moved_count`, integer),
    traces: list(field(value, 'traces', path), `${path}.traces`, (trace, p) => ({
      traceIdHex: text(field(trace, 'trace_id_hex', p), `${p}.trace_id_hex`),
      before: perAlgorithm(field(trace, 'before', p), `${p}.before`, text),
      after: perAlgorithm(field(trace, 'after', p), `${p}.after`, text),
    })),
  };
}

function unitTestCheck(value: unknown, path: string): UnitTestCheck {
  return {
    name: text(field(value, 'name', path), `${path}.name`),
    algorithm: fixtureAlgorithm(field(value, 'algorithm', path), `${path}.algorithm`),
    input: field(value, 'input', path),
    expected: field(value, 'expected_by_upstream_test', path),
  };
}

// Imported rather than read with node:fs, which the hash-ring folder may not use (see
// .dependency-cruiser.cjs). A computed specifier keeps tsc from typing 2 MB of JSON.
const GOLDEN_URL = new URL('../../../../test/fixtures/upstream-ring.json', import.meta.url);
const goldenModule: unknown = await import(GOLDEN_URL.href, { with: { type: 'json' } });
const golden = field(goldenModule, 'default', 'module');
const RING_CASES = list(field(golden, 'ring_cases', '$'), '$.ring_cases', ringCase);
const CHANGE_CASES = list(field(golden, 'change_cases', '$'), '$.change_cases', changeCase);
const UNIT_TEST_CHECKS = list(
  field(golden, 'upstream_unit_test_checks', '$'),
  '$.upstream_unit_test_checks',
  unitTestCheck,
);

function versionOf(algorithm: FixtureAlgorithm): UpstreamRingVersion {
  return algorithm === 'v2_linear_probe' ? 'upstream-v2' : 'upstream-v1';
}

function route(ring: ReturnType<typeof buildUpstreamRing>, key: Uint8Array): string | undefined {
  return ring.endpoints[ring.locate(key, 0, key.length)];
}

// ---------------------------------------------------------------------------------------

const QUICK_BROWN_FOX = 'The quick brown fox jumps over the lazy dog';

describe('crc32', () => {
  const checkValues: readonly { name: string; input: Uint8Array; expected: number }[] = [
    { name: 'the empty input', input: new Uint8Array(0), expected: 0 },
    { name: 'the standard check input "123456789"', input: keyBytes('123456789'), expected: 0xcbf43926 },
    { name: 'a single byte', input: keyBytes('a'), expected: 0xe8b7be43 },
    { name: 'a 43-byte sentence', input: keyBytes(QUICK_BROWN_FOX), expected: 0x414fa339 },
    { name: '32 zero bytes', input: new Uint8Array(32), expected: 0x190a55ad },
    { name: '32 0xff bytes', input: new Uint8Array(32).fill(0xff), expected: 0xff6cab0b },
  ];
  for (const { name, input, expected } of checkValues) {
    it(`returns the published CRC-32/IEEE of ${name}`, () => {
      assert.equal(crc32(input), expected);
      assert.equal(crc32(input, 0, input.length), expected);
    });
  }

  it('agrees with node:zlib for every length 0…64 at every offset 0…7', () => {
    // prepare
    const bytes = new Uint8Array(80);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 167 + 13) & 0xff;

    // test, verify
    for (let start = 0; start < 8; start++) {
      for (let length = 0; length <= 64; length++) {
        const end = start + length;
        assert.equal(crc32(bytes, start, end), zlibCrc32(bytes.subarray(start, end)), `[${start}, ${end})`);
      }
    }
  });

  it('hashes only bytes[start, end), whatever surrounds them', () => {
    const key = keyBytes('123456789');
    const padded = new Uint8Array(key.length + 11).fill(0xa5);
    padded.set(key, 5);

    assert.equal(crc32(padded, 5, 5 + key.length), 0xcbf43926);
    assert.equal(crc32(padded, 7, 7), 0);
  });

  const badRanges: readonly { name: string; start: number; end: number }[] = [
    { name: 'a negative start', start: -1, end: 4 },
    { name: 'an end past the array', start: 0, end: 10 },
    { name: 'an end before the start', start: 5, end: 4 },
    { name: 'a fractional bound', start: 0.5, end: 4 },
    { name: 'a NaN bound', start: 0, end: Number.NaN },
  ];
  for (const { name, start, end } of badRanges) {
    it(`throws RangeError for ${name}`, () => {
      assert.throws(() => crc32(new Uint8Array(9), start, end), RangeError);
    });
  }
});

describe('crc32Update', () => {
  it("extends a checksum with more bytes, like Go's crc32.Update", () => {
    const bytes = keyBytes(QUICK_BROWN_FOX);

    for (let split = 0; split <= bytes.length; split++) {
      assert.equal(crc32Update(crc32(bytes, 0, split), bytes, split, bytes.length), 0x414fa339, `split at ${split}`);
    }
  });

  it('treats 0 as the checksum of nothing', () => {
    assert.equal(crc32Update(0, keyBytes('123456789')), 0xcbf43926);
  });
});

describe('upstreamRingItems', () => {
  for (const c of RING_CASES) {
    for (const { fixtureKey, version } of ALGORITHMS) {
      it(`${c.id}: places the same ${c.rings[fixtureKey].size} points as the Go ${version} ring, item for item`, () => {
        const items = upstreamRingItems(version, c.endpoints);

        assert.equal(items.length, c.rings[fixtureKey].size);
        assert.deepEqual(items, c.rings[fixtureKey].items);
      });
    }
  }

  for (const check of UNIT_TEST_CHECKS.filter((u) => u.name.startsWith('TestPositionsForEndpoints'))) {
    const version = versionOf(check.algorithm);
    it(`passes upstream's ${check.name} for ${version}`, () => {
      // prepare
      const weight = Number(/\(weight=(\d+)\)/.exec(check.name)?.[1]);
      const endpoints = list(check.input, 'input', text);
      const expected = list(check.expected, 'expected', (pair, p) => list(pair, p, (v) => v));

      // test
      const items = upstreamRingItems(version, endpoints, weight).map(([pos, index]) => [pos, endpoints[index]]);

      // verify
      assert.ok(Number.isInteger(weight), 'the check names its weight');
      assert.deepEqual(items, expected);
    });
  }

  for (const check of UNIT_TEST_CHECKS.filter((u) => u.name.startsWith('TestNewHashRing'))) {
    const version = versionOf(check.algorithm);
    it(`passes upstream's ${check.name} for ${version}`, () => {
      assert.equal(upstreamRingItems(version, list(check.input, 'input', text)).length, check.expected);
    });
  }

  // The golden rings never come near the probe limit (their longest run of taken positions
  // is 3), so it is pinned here with endpoint names searched for so that their single point
  // (weight 1) lands where we need it: ten points fill 35995…35999 and 0…4.
  const FILL_RUN = [
    ...['run-0-66046', 'run-1-9570', 'run-2-72423', 'run-3-23883', 'run-4-61164'],
    ...['run-5-28009', 'run-6-40030', 'run-7-41336', 'run-8-12926', 'run-9-30851'],
  ];
  const HOME_35995 = 'dropped-19618';
  const HOME_35996 = 'placed-2828';
  const RUN_ITEMS = [
    ...[
      [0, 5],
      [1, 6],
      [2, 7],
      [3, 8],
      [4, 9],
    ],
    ...[
      [35995, 0],
      [35996, 1],
      [35997, 2],
      [35998, 3],
      [35999, 4],
    ],
  ] as const;

  it('probe-limit endpoints hash to the positions the cases below rely on', () => {
    const homes = [...FILL_RUN, HOME_35995, HOME_35996].map((e) => {
      const bytes = keyBytes(e);
      return zlibCrc32(new Uint8Array(4), zlibCrc32(bytes)) % UPSTREAM_MAX_POSITIONS;
    });

    assert.deepEqual(homes, [35995, 35996, 35997, 35998, 35999, 0, 1, 2, 3, 4, 35995, 35996]);
  });

  it('upstream-v2 drops a point after 10 probes even though the 10th probed position is free', () => {
    const items = upstreamRingItems('upstream-v2', [...FILL_RUN, HOME_35995], 1);

    // 35995 is taken, probes 1…10 reach 35996…35999, 0…5; 5 is free but the point is dropped.
    assert.deepEqual(items, RUN_ITEMS);
  });

  it('upstream-v2 places a point on the free position its 9th probe reaches, wrapping past 35999', () => {
    const items = upstreamRingItems('upstream-v2', [...FILL_RUN, HOME_35995, HOME_35996], 1);

    assert.deepEqual(items, [...RUN_ITEMS.slice(0, 5), [5, 11], ...RUN_ITEMS.slice(5)]);
  });

  it('returns no points for no endpoints', () => {
    assert.deepEqual(upstreamRingItems('upstream-v2', []), []);
    assert.deepEqual(upstreamRingItems('upstream-v1', []), []);
  });
});

describe('buildUpstreamRing', () => {
  for (const c of RING_CASES) {
    it(`${c.id}: derives each key as documented and computes upstream's crc32 and position for it`, () => {
      const actual = c.keys.map((k) => {
        const checksum = crc32(k.derived);
        const keyHex = Buffer.from(k.derived).toString('hex');
        return { label: k.label, keyHex, crc32: checksum, pos: checksum % UPSTREAM_MAX_POSITIONS };
      });
      const expected = c.keys.map((k) => ({ label: k.label, keyHex: k.keyHex, crc32: k.crc32, pos: k.pos }));

      assert.deepEqual(actual, expected);
    });

    for (const { fixtureKey, version } of ALGORITHMS) {
      it(`${c.id}: routes all ${c.keys.length} keys to the same endpoints as the Go ${version} ring`, () => {
        const ring = buildUpstreamRing(version, c.endpoints);

        const actual = c.keys.map((k) => `${k.label} -> ${route(ring, hexBytes(k.keyHex)) ?? '(none)'}`);

        assert.deepEqual(
          actual,
          c.keys.map((k) => `${k.label} -> ${k.endpoint[fixtureKey]}`),
        );
      });
    }
  }

  for (const c of CHANGE_CASES) {
    for (const { fixtureKey, version } of ALGORITHMS) {
      const moved = `${c.movedCount[fixtureKey]} of ${c.traces.length}`;
      it(`${c.id}: moves the same ${moved} traces as the Go ${version} ring when ${c.changedEndpoint} changes`, () => {
        // prepare
        const before = buildUpstreamRing(version, c.endpointsBefore);
        const after = buildUpstreamRing(version, c.endpointsAfter);

        // test
        const routes = c.traces.map((t) => {
          const key = hexBytes(t.traceIdHex);
          return { traceIdHex: t.traceIdHex, before: route(before, key), after: route(after, key) };
        });

        // verify
        assert.deepEqual(
          routes,
          c.traces.map((t) => ({ traceIdHex: t.traceIdHex, before: t.before[fixtureKey], after: t.after[fixtureKey] })),
        );
        assert.equal(routes.filter((r) => r.before !== r.after).length, c.movedCount[fixtureKey]);
      });
    }
  }

  for (const check of UNIT_TEST_CHECKS.filter((u) => u.name.startsWith('TestEndpointFor'))) {
    const version = versionOf(check.algorithm);
    it(`passes upstream's ${check.name} for ${version}`, () => {
      const endpoints = list(field(check.input, 'endpoints', 'input'), 'input.endpoints', text);
      const key = hexBytes(text(field(check.input, 'key_hex', 'input'), 'input.key_hex'));

      assert.equal(route(buildUpstreamRing(version, endpoints), key), check.expected);
    });
  }

  it('covers every upstream unit-test check of the golden file', () => {
    const known = /^(?:TestPositionsForEndpoints|TestNewHashRing|TestEndpointFor)/;
    assert.deepEqual(
      UNIT_TEST_CHECKS.filter((u) => !known.test(u.name)).map((u) => u.name),
      [],
    );
  });

  for (const { version } of ALGORITHMS) {
    it(`${version}: depends only on the set of endpoints, not their order or repetitions`, () => {
      // prepare
      const largest = RING_CASES.at(-1);
      assert.ok(largest !== undefined);
      const sorted = largest.endpoints;
      const scrambled = [...sorted].reverse().flatMap((e, i) => (i % 3 === 0 ? [e, e] : [e]));
      // 2^20 consecutive 4-byte keys hit every one of the 36,000 key positions (checked below).
      const key = new Uint8Array(4);
      const view = new DataView(key.buffer);
      const seen = new Uint8Array(UPSTREAM_MAX_POSITIONS);

      // test
      const reference = buildUpstreamRing(version, sorted);
      const ring = buildUpstreamRing(version, scrambled);

      // verify
      assert.deepEqual(ring.endpoints, sorted);
      for (let k = 0; k < 1 << 20; k++) {
        view.setUint32(0, k);
        seen[crc32(key) % UPSTREAM_MAX_POSITIONS] = 1;
        if (ring.locate(key, 0, 4) !== reference.locate(key, 0, 4)) assert.fail(`key ${k} routes differently`);
      }
      assert.equal(seen.indexOf(0), -1, 'every key position was exercised');
    });
  }

  it('reports its version and the sorted, de-duplicated endpoints', () => {
    const ring = buildUpstreamRing('upstream-v1', ['b:4317', 'a:4317', 'b:4317', 'B:4317']);

    assert.equal(ring.name, 'upstream-v1');
    assert.deepEqual(ring.endpoints, ['B:4317', 'a:4317', 'b:4317']);
    assert.ok(Object.isFrozen(ring.endpoints));
  });

  it('reads the key only within [start, end)', () => {
    const ring = buildUpstreamRing('upstream-v2', ['a:4317', 'b:4317', 'c:4317', 'd:4317']);
    const padded = new Uint8Array(64).fill(0x5a);
    for (let i = 0; i < 16; i++) padded[i + 40] = (i * 31) & 0xff;

    assert.equal(ring.locate(padded, 40, 56), ring.locate(padded.slice(40, 56), 0, 16));
    assert.equal(ring.locate(padded, 3, 3), ring.locate(new Uint8Array(0), 0, 0));
  });

  for (const { version } of ALGORITHMS) {
    it(`${version}: throws ERR_LB_NO_BACKENDS for an empty endpoint list`, () => {
      assert.throws(
        () => buildUpstreamRing(version, new Set<string>()),
        (err: unknown) => err instanceof OtelLbError && err.code === ErrorCode.LB_NO_BACKENDS,
      );
    });
  }
});
