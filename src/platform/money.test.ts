import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { allocate, formatDecimal, parseDecimal, parseMinor } from './money.ts';

test('allocate always sums exactly to the total and never goes negative', () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 10n ** 15n }),
      fc
        .array(fc.bigInt({ min: 0n, max: 10n ** 9n }), { minLength: 1, maxLength: 50 })
        .filter((w) => w.some((x) => x > 0n)),
      (total, weights) => {
        const parts = allocate(total, weights);
        assert.equal(
          parts.reduce((a, b) => a + b, 0n),
          total,
        );
        parts.forEach((part, i) => {
          assert.ok(part >= 0n);
          if (weights[i] === 0n) assert.equal(part, 0n);
        });
      },
    ),
  );
});

test('allocate is within one unit of the exact proportion and breaks ties by index', () => {
  assert.deepEqual(allocate(100n, [1n, 1n, 1n]), [34n, 33n, 33n]);
  assert.deepEqual(allocate(2n, [1n, 1n, 1n]), [1n, 1n, 0n]);
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 10n ** 12n }),
      fc.array(fc.bigInt({ min: 1n, max: 10n ** 6n }), { minLength: 1, maxLength: 20 }),
      (total, weights) => {
        const sum = weights.reduce((a, b) => a + b, 0n);
        allocate(total, weights).forEach((part, i) => {
          const exactFloor = (total * weights[i]!) / sum;
          assert.ok(part === exactFloor || part === exactFloor + 1n);
        });
      },
    ),
  );
});

test('decimal parsing and formatting round-trip without floats', () => {
  assert.equal(parseDecimal('12.34', 2), 1234n);
  assert.equal(parseDecimal('0.1', 2), 10n);
  assert.equal(parseDecimal('7', 0), 7n);
  assert.equal(formatDecimal(5n, 2), '0.05');
  assert.equal(formatDecimal(-1234n, 2), '-12.34');
  assert.throws(() => parseDecimal('1.234', 2), /more than 2 decimal places/);
  assert.throws(() => parseDecimal('1e3', 2), /12.34/);
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 10n ** 17n }), fc.integer({ min: 0, max: 8 }), (amount, scale) => {
      assert.equal(parseDecimal(formatDecimal(amount, scale), scale), amount);
    }),
  );
});

test('wire amounts are digit strings of minor units', () => {
  assert.equal(parseMinor('1250'), 1250n);
  for (const bad of ['', '-1', '01', '1.5', ' 1', '1e3', '99999999999999999999']) {
    assert.throws(
      () => parseMinor(bad),
      (error: { code?: string }) => error.code === 'invalid_amount',
      bad,
    );
  }
});
