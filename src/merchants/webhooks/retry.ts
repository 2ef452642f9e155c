import type { IntegerSource } from '../../platform/random.ts';

/**
 * When a failed webhook delivery is tried again, as a pure function. The delay after the n-th
 * failed attempt is RETRY_DELAYS_MS[n - 1], spread by up to ±10 % jitter from an injected
 * random source so that many endpoints failing at once do not retry in lockstep. After the last
 * delay's attempt fails the delivery is dead-lettered (null): 12 attempts over about 2.8 days.
 */
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const RETRY_DELAYS_MS: readonly number[] = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
  10 * HOUR,
  10 * HOUR,
  10 * HOUR,
  10 * HOUR,
];

/** Attempts a delivery gets before it is dead-lettered (the first one and every retry). */
export const MAX_DELIVERY_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/** Jitter as a fraction of the delay, in basis points (±10 %). */
const JITTER_BPS = 1000;

/**
 * The delay before the next attempt after `failedAttempts` failures (≥ 1), or null when the
 * delivery is out of attempts (dead letter).
 */
export function retryDelayMs(failedAttempts: number, random: IntegerSource): number | null {
  if (!Number.isInteger(failedAttempts) || failedAttempts < 1)
    throw new RangeError(`failedAttempts must be a positive integer, got ${failedAttempts}`);
  const base = RETRY_DELAYS_MS[failedAttempts - 1];
  if (base === undefined) return null;
  const spread = Math.floor((base * JITTER_BPS) / 10_000);
  return base - spread + random.below(2 * spread + 1);
}
