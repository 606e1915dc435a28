import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ErrorCode, OtelLbError } from '../errors.ts';
import { parseEndpoint } from './grpc-client.ts';
import {
  compressionForGrpcEncoding,
  decodeGrpcMessage,
  encodeGrpcMessage,
  encodeStatusDetails,
  formatGrpcTimeout,
  GrpcError,
  grpcEncodingFor,
  grpcStatusFromHttpStatus,
  parseGrpcTimeout,
  parseRetryAfter,
  retryDelayFromStatusDetails,
} from './grpc-protocol.ts';
import { grpcStatusForResult } from './grpc-server.ts';
import { GrpcStatus } from './grpc-status.ts';
import { EXPORT_OK, permanent, retryable } from './export-result.ts';

describe('grpc-timeout', () => {
  const parsed: readonly [string, number | undefined][] = [
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['5S', 5_000],
    ['250m', 250],
    ['1500u', 1.5],
    ['2000000n', 2],
    ['99999999S', 99_999_999_000],
    ['123456789m', undefined],
    ['10', undefined],
    ['m', undefined],
    ['-5S', undefined],
    ['5s', undefined],
    ['1.5S', undefined],
  ];
  for (const [value, ms] of parsed) {
    it(`parses "${value}" as ${ms ?? 'malformed'}`, () => {
      assert.equal(parseGrpcTimeout(value), ms);
    });
  }

  const formatted: readonly [number, string][] = [
    [5_000, '5000m'],
    [0.2, '1m'],
    [99_999_999, '99999999m'],
    [100_000_000, '100000S'],
    [1e14, '27777778H'],
  ];
  for (const [ms, value] of formatted) {
    it(`formats ${ms} ms as "${value}", never earlier than asked`, () => {
      assert.equal(formatGrpcTimeout(ms), value);
      assert.ok((parseGrpcTimeout(value) as number) >= ms);
    });
  }
});

describe('grpc-message percent-encoding', () => {
  const cases: readonly [string, string][] = [
    ['plain ASCII stays as it is', 'plain ASCII stays as it is'],
    ['100% sure', '100%25 sure'],
    ['données: 😀', 'donn%C3%A9es: %F0%9F%98%80'],
    ['line\nbreak\ttab', 'line%0Abreak%09tab'],
    ['', ''],
  ];
  for (const [text, encoded] of cases) {
    it(`encodes ${JSON.stringify(text)} and decodes it back`, () => {
      assert.equal(encodeGrpcMessage(text), encoded);
      assert.equal(decodeGrpcMessage(encoded), text);
    });
  }

  it('decodes leniently: a bad escape stays, lower-case hex works, raw UTF-8 bytes survive', () => {
    assert.equal(decodeGrpcMessage('50%zz and %e2%9c%93 and %4'), '50%zz and ✓ and %4');
    assert.equal(decodeGrpcMessage(Buffer.from('é', 'utf8').toString('latin1')), 'é');
  });
});

describe('google.rpc.Status details', () => {
  it('round-trips a RetryInfo delay', () => {
    for (const ms of [0, 1, 999, 1_000, 1_500, 30_000]) {
      assert.equal(retryDelayFromStatusDetails(encodeStatusDetails(GrpcStatus.UNAVAILABLE, 'busy', ms)), ms);
    }
  });

  it('matches a Status written by hand', () => {
    // Status { code: 14, details: [Any { type_url: ".../google.rpc.RetryInfo", value: RetryInfo { retry_delay: { seconds: 2, nanos: 500000000 } } }] }
    const typeUrl = Buffer.from('type.googleapis.com/google.rpc.RetryInfo');
    const duration = Buffer.from([0x08, 0x02, 0x10, 0x80, 0xca, 0xb5, 0xee, 0x01]);
    const retryInfo = Buffer.concat([Buffer.from([0x0a, duration.length]), duration]);
    const any = Buffer.concat([
      Buffer.from([0x0a, typeUrl.length]),
      typeUrl,
      Buffer.from([0x12, retryInfo.length]),
      retryInfo,
    ]);
    const status = Buffer.concat([Buffer.from([0x08, 14, 0x1a, any.length]), any]);

    assert.equal(encodeStatusDetails(14, '', 2_500), status.toString('base64'));
    assert.equal(retryDelayFromStatusDetails(status.toString('base64').replace(/=+$/, '')), 2_500);
  });

  it('finds no delay without RetryInfo, and ignores malformed values', () => {
    assert.equal(retryDelayFromStatusDetails(encodeStatusDetails(GrpcStatus.UNAVAILABLE, 'busy')), undefined);
    assert.equal(retryDelayFromStatusDetails(''), undefined);
    assert.equal(retryDelayFromStatusDetails('not base64 at all!'), undefined);
    assert.equal(retryDelayFromStatusDetails(Buffer.from([0x1a, 0x7f, 0x00]).toString('base64')), undefined);
  });
});

describe('compression names', () => {
  it('maps grpc-encoding names to codecs, snappy to the framing format', () => {
    assert.equal(compressionForGrpcEncoding('identity'), 'none');
    assert.equal(compressionForGrpcEncoding('gzip'), 'gzip');
    assert.equal(compressionForGrpcEncoding('deflate'), 'deflate');
    assert.equal(compressionForGrpcEncoding('zlib'), 'zlib');
    assert.equal(compressionForGrpcEncoding('zstd'), 'zstd');
    assert.equal(compressionForGrpcEncoding('snappy'), 'snappy-framed');
    assert.equal(compressionForGrpcEncoding('br'), undefined);
    assert.equal(compressionForGrpcEncoding('GZIP'), undefined);
  });

  it('sends deflate for both zlib kinds and snappy for both snappy kinds', () => {
    assert.equal(grpcEncodingFor('zlib'), 'deflate');
    assert.equal(grpcEncodingFor('deflate'), 'deflate');
    assert.equal(grpcEncodingFor('snappy'), 'snappy');
    assert.equal(grpcEncodingFor('snappy-framed'), 'snappy');
    assert.equal(grpcEncodingFor('none'), 'identity');
  });
});

describe('HTTP answers that are not gRPC', () => {
  const table: readonly [number, GrpcStatus][] = [
    [400, GrpcStatus.INTERNAL],
    [401, GrpcStatus.UNAUTHENTICATED],
    [403, GrpcStatus.PERMISSION_DENIED],
    [404, GrpcStatus.UNIMPLEMENTED],
    [429, GrpcStatus.UNAVAILABLE],
    [502, GrpcStatus.UNAVAILABLE],
    [503, GrpcStatus.UNAVAILABLE],
    [504, GrpcStatus.UNAVAILABLE],
    [500, GrpcStatus.UNKNOWN],
  ];
  for (const [http, grpc] of table) {
    it(`maps HTTP ${http} to ${grpc}`, () => {
      assert.equal(grpcStatusFromHttpStatus(http), grpc);
    });
  }

  it('reads Retry-After as seconds or as a date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3_000);
    assert.equal(parseRetryAfter('Mon, 01 Jan 2024 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});

describe('grpcStatusForResult', () => {
  const queueFull = new OtelLbError(ErrorCode.LB_QUEUE_FULL, 'queue full');
  const cases: readonly [string, Parameters<typeof grpcStatusForResult>[0], number, number | undefined][] = [
    ['ok', EXPORT_OK, GrpcStatus.OK, undefined],
    ['retryable', retryable(new Error('down')), GrpcStatus.UNAVAILABLE, undefined],
    ['retryable with a delay', retryable(new Error('busy'), 2_000), GrpcStatus.UNAVAILABLE, 2_000],
    ['a full queue with a delay', retryable(queueFull, 1_000), GrpcStatus.RESOURCE_EXHAUSTED, 1_000],
    ['a full queue without a delay', retryable(queueFull), GrpcStatus.UNAVAILABLE, undefined],
    [
      'retryable carrying DEADLINE_EXCEEDED',
      retryable(new GrpcError(ErrorCode.GRPC_STATUS, GrpcStatus.DEADLINE_EXCEEDED, 'slow')),
      GrpcStatus.DEADLINE_EXCEEDED,
      undefined,
    ],
    [
      'retryable carrying a non-retryable status',
      retryable(new GrpcError(ErrorCode.GRPC_STATUS, GrpcStatus.INVALID_ARGUMENT, 'odd')),
      GrpcStatus.UNAVAILABLE,
      undefined,
    ],
    ['permanent', permanent(new Error('bad data')), GrpcStatus.INVALID_ARGUMENT, undefined],
    [
      'permanent carrying PERMISSION_DENIED',
      permanent(new GrpcError(ErrorCode.GRPC_STATUS, GrpcStatus.PERMISSION_DENIED, 'no')),
      GrpcStatus.PERMISSION_DENIED,
      undefined,
    ],
    [
      'permanent carrying a retryable status',
      permanent(new GrpcError(ErrorCode.GRPC_STATUS, GrpcStatus.UNAVAILABLE, 'odd')),
      GrpcStatus.INVALID_ARGUMENT,
      undefined,
    ],
  ];
  for (const [name, result, code, retryAfterMs] of cases) {
    it(`answers ${name} with status ${code}`, () => {
      const reply = grpcStatusForResult(result);

      assert.equal(reply.code, code);
      assert.equal(reply.retryAfterMs, retryAfterMs);
    });
  }
});

describe('parseEndpoint', () => {
  it('reads host:port and bracketed IPv6', () => {
    assert.deepEqual(parseEndpoint('backend-1.example:4317'), {
      host: 'backend-1.example',
      port: 4317,
      url: 'http://backend-1.example:4317',
    });
    assert.deepEqual(parseEndpoint('10.0.0.1:4317'), { host: '10.0.0.1', port: 4317, url: 'http://10.0.0.1:4317' });
    assert.deepEqual(parseEndpoint('[::1]:4317'), { host: '::1', port: 4317, url: 'http://[::1]:4317' });
  });

  for (const bad of ['backend', 'backend:', ':4317', '::1:4317', 'backend:70000', 'http://backend:4317', 'a b:1']) {
    it(`refuses "${bad}"`, () => {
      assert.throws(() => parseEndpoint(bad), TypeError);
    });
  }
});
