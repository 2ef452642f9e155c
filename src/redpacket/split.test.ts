import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { seededIntegers } from '../platform/random.ts';
import { luckiestIndex, splitFixed, splitLucky } from './split.ts';

test('lucky shares sum exactly to the total, each at least 0.01', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 100 }),
      fc.bigInt({ min: 0n, max: 20_000_00n }),
      fc.integer(),
      (shares, extra, seed) => {
        const total = BigInt(shares) + extra;
        const split = splitLucky(total, shares, seededIntegers(seed));
        assert.equal(split.length, shares);
        assert.equal(
          split.reduce((a, b) => a + b, 0n),
          total,
        );
        for (const share of split) assert.ok(share >= 1n);
      },
    ),
    { numRuns: 2000 },
  );
});

test('no lucky share exceeds twice the running average it was drawn against', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 100 }),
      fc.bigInt({ min: 200n, max: 20_000_00n }),
      fc.integer(),
      (shares, total, seed) => {
        const split = splitLucky(total, shares, seededIntegers(seed));
        let remaining = total;
        split.slice(0, -1).forEach((share, index) => {
          assert.ok(share <= (2n * remaining) / BigInt(shares - index));
          remaining -= share;
        });
      },
    ),
  );
});

test('edge cases: one share, exactly the minimum, fixed shares', () => {
  assert.deepEqual(splitLucky(500n, 1, seededIntegers(1)), [500n]);
  assert.deepEqual(splitLucky(3n, 3, seededIntegers(1)), [1n, 1n, 1n]);
  assert.deepEqual(splitFixed(300n, 3), [100n, 100n, 100n]);
  assert.throws(() => splitFixed(100n, 3), /divide evenly/);
  assert.throws(() => splitLucky(2n, 3, seededIntegers(1)), /too small/);
  assert.equal(luckiestIndex([5n, 9n, 9n, 1n]), 1);
});

/**
 * Fairness over 100,000 simulated envelopes (¥100 in 10 shares): for each grab position the
 * mean share must equal total/shares. Test used: a two-sided z-test per position on the sample
 * mean, |mean − 1000| < 5 × s / √n, with s the sample standard deviation (5σ: a false alarm
 * about once in 1.7 million per position; the seed is fixed, so the run is reproducible).
 * Integer draws add a known bias of at most half a fen, far inside the tolerance.
 */
test('every grab position has the same expected share (100,000 envelopes)', () => {
  const envelopes = 100_000;
  const shares = 10;
  const total = 10_000n;
  const random = seededIntegers(20260216);
  const sum = new Array<number>(shares).fill(0);
  const sumSquares = new Array<number>(shares).fill(0);
  for (let e = 0; e < envelopes; e++) {
    const split = splitLucky(total, shares, random);
    for (let p = 0; p < shares; p++) {
      const value = Number(split[p]);
      sum[p]! += value;
      sumSquares[p]! += value * value;
    }
  }
  const expected = Number(total) / shares;
  for (let p = 0; p < shares; p++) {
    const mean = sum[p]! / envelopes;
    const variance = (sumSquares[p]! - envelopes * mean * mean) / (envelopes - 1);
    const tolerance = (5 * Math.sqrt(variance)) / Math.sqrt(envelopes);
    assert.ok(
      Math.abs(mean - expected) < tolerance,
      `position ${p + 1}: mean ${mean.toFixed(2)} vs ${expected} ± ${tolerance.toFixed(2)}`,
    );
  }
});
