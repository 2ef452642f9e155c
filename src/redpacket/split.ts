import type { IntegerSource } from '../platform/random.ts';

/**
 * How an envelope's total is cut into shares. Shares are drawn once, when the envelope is
 * sent, and stored; a grab claims the next unclaimed share. So the shares sum to the total
 * by construction and no grab can ever over-allocate.
 */

/** Equal shares; the total must divide evenly (callers pass amount-per-share × count). */
export function splitFixed(total: bigint, shares: number): bigint[] {
  assertSplittable(total, shares);
  if (total % BigInt(shares) !== 0n)
    throw new RangeError('fixed envelope total must divide evenly into shares');
  return Array.from({ length: shares }, () => total / BigInt(shares));
}

/**
 * "Double average" (WeChat's lucky split): each share is uniform in
 * [min, 2 × remaining / remaining shares], capped so every later share can still get `min`;
 * the last share takes what is left. Every position has the same expected value.
 */
export function splitLucky(total: bigint, shares: number, random: IntegerSource, minimum = 1n): bigint[] {
  assertSplittable(total, shares, minimum);
  const result: bigint[] = [];
  let remaining = total;
  for (let left = shares; left > 1; left--) {
    const ceiling = (2n * remaining) / BigInt(left);
    const reserveForOthers = minimum * BigInt(left - 1);
    const maximum = ceiling < remaining - reserveForOthers ? ceiling : remaining - reserveForOthers;
    const share = maximum <= minimum ? minimum : minimum + drawBelow(maximum - minimum + 1n, random);
    result.push(share);
    remaining -= share;
  }
  result.push(remaining);
  return result;
}

/** Index of the luckiest share: the largest, the earliest grab winning ties. */
export function luckiestIndex(shares: readonly bigint[]): number {
  let best = 0;
  for (let i = 1; i < shares.length; i++) if (shares[i]! > shares[best]!) best = i;
  return best;
}

function drawBelow(bound: bigint, random: IntegerSource): bigint {
  if (bound <= BigInt(2 ** 48)) return BigInt(random.below(Number(bound)));
  // Amounts beyond 2^48 minor units do not occur in envelopes; refuse rather than skew.
  throw new RangeError('envelope share range too large');
}

function assertSplittable(total: bigint, shares: number, minimum = 1n): void {
  if (!Number.isInteger(shares) || shares < 1) throw new RangeError('shares must be a positive integer');
  if (total < minimum * BigInt(shares))
    throw new RangeError('total too small for every share to get the minimum');
}
