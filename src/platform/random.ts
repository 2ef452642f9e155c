import { randomInt } from 'node:crypto';

/**
 * Uniform integers, injectable: production uses the OS's CSPRNG, tests and simulations a
 * seeded generator so a failing run replays exactly.
 */
export interface IntegerSource {
  /** A uniform integer in [0, bound), bound ≤ 2^48. */
  below(bound: number): number;
}

export const cryptoIntegers: IntegerSource = { below: (bound) => randomInt(bound) };

/** Deterministic generator (SplitMix64) for tests and simulations; not for secrets. */
export function seededIntegers(seed: number | bigint): IntegerSource {
  let state = BigInt.asUintN(64, BigInt(seed));
  const next64 = (): bigint => {
    state = BigInt.asUintN(64, state + 0x9e3779b97f4a7c15n);
    let z = state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  };
  return {
    below(bound) {
      if (!Number.isInteger(bound) || bound <= 0 || bound > 2 ** 48)
        throw new RangeError(`bound ${bound} out of range`);
      // Rejection sampling keeps the draw exactly uniform.
      const limit = (1n << 64n) - ((1n << 64n) % BigInt(bound));
      for (;;) {
        const value = next64();
        if (value < limit) return Number(value % BigInt(bound));
      }
    },
  };
}

/** Deterministic uniform floats in [0, 1) (mulberry32), for seeded workloads and simulations. */
export function seededUnitFloats(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
