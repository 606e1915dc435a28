import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BoundedQueue } from './queue.ts';
import { DEFAULT_RETRY_POLICY, backoffMs, mayRetry } from './retry.ts';

describe('BoundedQueue', () => {
  it('keeps FIFO order across wrap-around and growth', () => {
    const q = new BoundedQueue<number>(3000);
    for (let i = 0; i < 1500; i++) assert.ok(q.offer(i));
    for (let i = 0; i < 1000; i++) assert.equal(q.poll(), i);
    for (let i = 1500; i < 3000; i++) assert.ok(q.offer(i));

    assert.deepEqual(
      q.drainAll(),
      Array.from({ length: 2000 }, (_, i) => i + 1000),
    );
  });

  it('refuses past capacity unless forced, and everything once closed', () => {
    const q = new BoundedQueue<string>(1);

    assert.ok(q.offer('a'));
    assert.equal(q.hasRoom(), false);
    assert.equal(q.offer('b'), false);
    assert.ok(q.offer('c', true));
    q.close();
    assert.equal(q.offer('d', true), false);
    assert.deepEqual(q.drainAll(), ['a', 'c']);
  });

  it('hands an offered entry to a waiting taker, and wakes takers on close', async () => {
    const q = new BoundedQueue<string>(1);
    const first = q.take();
    const second = q.take();

    q.offer('x');
    q.close();

    assert.equal(await first, 'x');
    assert.equal(await second, undefined);
  });
});

describe('backoff', () => {
  it('grows by the multiplier up to max_interval, jittered by the randomization factor', () => {
    const policy = DEFAULT_RETRY_POLICY;

    assert.equal(
      backoffMs(policy, 0, () => 0.5),
      5_000,
    );
    assert.equal(
      backoffMs(policy, 1, () => 0.5),
      7_500,
    );
    assert.equal(
      backoffMs(policy, 20, () => 0.5),
      30_000,
    );
    assert.equal(
      backoffMs(policy, 0, () => 0),
      2_500,
    );
    assert.equal(
      backoffMs(policy, 0, () => 0.999999),
      7_500,
    );
  });

  it('allows retries until max_elapsed_time, forever with 0, never when disabled', () => {
    const policy = DEFAULT_RETRY_POLICY;

    assert.equal(mayRetry(policy, 0, 290_000, 10_000), true);
    assert.equal(mayRetry(policy, 0, 290_001, 10_000), false);
    assert.equal(mayRetry({ ...policy, maxElapsedTimeMs: 0 }, 0, 1e12, 10_000), true);
    assert.equal(mayRetry({ ...policy, enabled: false }, 0, 0, 0), false);
  });
});

describe('BoundedQueue.extract', () => {
  it('takes matching entries oldest first, keeps the others in order, and stops when told', () => {
    const q = new BoundedQueue<number>(10);
    for (const n of [1, 2, 3, 4, 5, 6, 7]) q.offer(n);
    q.poll();
    q.offer(8);

    const taken = q.extract((n) => (n === 6 ? 'stop' : n % 2 === 0 ? 'take' : 'skip'));

    assert.deepEqual(taken, [2, 4]);
    assert.deepEqual(q.drainAll(), [3, 5, 6, 7, 8]);
  });
});
