import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededIntegers } from '../../platform/random.ts';
import { MAX_DELIVERY_ATTEMPTS, RETRY_DELAYS_MS, retryDelayMs } from './retry.ts';

const HOUR = 3_600_000;
const lowest = { below: () => 0 };
const highest = { below: (bound: number) => bound - 1 };

test('the schedule starts at 5 s, grows to 10 h and spans about three days', () => {
  assert.deepEqual(RETRY_DELAYS_MS.slice(0, 5), [5_000, 300_000, 1_800_000, 2 * HOUR, 5 * HOUR]);
  const total = RETRY_DELAYS_MS.reduce((sum, ms) => sum + ms, 0);
  assert.ok(total >= 2.5 * 24 * HOUR && total <= 3.5 * 24 * HOUR, `total ${total / HOUR} h`);
  assert.equal(MAX_DELIVERY_ATTEMPTS, 12);
});

test('each delay is jittered within ±10 % by the injected random source', () => {
  for (let failed = 1; failed < MAX_DELIVERY_ATTEMPTS; failed++) {
    const base = RETRY_DELAYS_MS[failed - 1]!;
    assert.equal(retryDelayMs(failed, lowest), base - Math.floor(base / 10));
    assert.equal(retryDelayMs(failed, highest), base + Math.floor(base / 10));
  }
  const random = seededIntegers(42);
  const draws = Array.from({ length: 50 }, () => retryDelayMs(4, random)!);
  assert.ok(draws.every((ms) => ms >= 1.8 * HOUR && ms <= 2.2 * HOUR));
  assert.ok(new Set(draws).size > 1, 'jitter spreads retries');
});

test('after the last attempt fails the delivery is dead-lettered', () => {
  assert.equal(retryDelayMs(MAX_DELIVERY_ATTEMPTS, lowest), null);
  assert.notEqual(retryDelayMs(MAX_DELIVERY_ATTEMPTS - 1, lowest), null);
  assert.throws(() => retryDelayMs(0, lowest), RangeError);
});
