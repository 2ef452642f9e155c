import assert from 'node:assert/strict';
import { test } from 'node:test';
import { businessDate, ManualClock } from './clock.ts';

test('business dates follow the configured zone, not UTC', () => {
  // 16:30 UTC is 00:30 the next day in Shanghai.
  assert.equal(businessDate(new Date('2026-02-16T16:30:00Z'), 'Asia/Shanghai'), '2026-02-17');
  assert.equal(businessDate(new Date('2026-02-16T16:30:00Z'), 'UTC'), '2026-02-16');
});

test('a manual clock moves only when told', () => {
  const clock = new ManualClock('2026-01-01T00:00:00Z');
  clock.advance(1500);
  assert.equal(clock.now().toISOString(), '2026-01-01T00:00:01.500Z');
});
