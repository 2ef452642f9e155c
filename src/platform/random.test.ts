import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededIntegers } from './random.ts';

test('seeded integers replay exactly and stay in range', () => {
  const a = seededIntegers(42);
  const b = seededIntegers(42);
  const draws = Array.from({ length: 1000 }, () => a.below(7));
  assert.deepEqual(
    draws,
    Array.from({ length: 1000 }, () => b.below(7)),
  );
  assert.ok(draws.every((d) => d >= 0 && d < 7));
  assert.equal(new Set(draws).size, 7);
  assert.throws(() => a.below(0));
});
