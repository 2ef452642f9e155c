import { createHash, randomBytes } from 'node:crypto';
import type { RandomSource } from '../../platform/ids.ts';

/**
 * Deterministic randomness for the sandbox: SHA-256 in counter mode over a seed. The same
 * seed gives the same SMS codes, card tokens and bank references, so a test run replays.
 */
export function seededRandom(seed: string): RandomSource {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return {
    bytes(length: number): Uint8Array {
      while (pool.length < length) {
        const block = createHash('sha256').update(seed).update(String(counter++)).digest();
        pool = Buffer.concat([pool, block]);
      }
      const out = pool.subarray(0, length);
      pool = pool.subarray(length);
      return new Uint8Array(out);
    },
  };
}

export const randomSeed = (): string => randomBytes(16).toString('hex');

/** `count` decimal digits, e.g. an SMS code. */
export function randomDigits(random: RandomSource, count: number): string {
  const bytes = random.bytes(count * 2);
  let digits = '';
  for (let i = 0; i < count; i++) digits += String(((bytes[2 * i]! << 8) | bytes[2 * i + 1]!) % 10);
  return digits;
}

export function randomHex(random: RandomSource, bytes: number): string {
  return Buffer.from(random.bytes(bytes)).toString('hex');
}
