/**
 * The unified social credit code (统一社会信用代码) of GB 32100-2015: 18 characters from a
 * 31-character alphabet (digits and capitals without I, O, S, V, Z). The 18th is a check
 * character over the first 17: with each character's value its index in the alphabet,
 * check = (31 - Σ value_i × weight_i mod 31) mod 31, weights 3^(i-1) mod 31 as listed below.
 */
export const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;

export type UsccProblem = 'length' | 'alphabet' | 'check_character';

/** The check character for the first 17 characters, or undefined if one is outside the alphabet. */
export function usccCheckCharacter(first17: string): string | undefined {
  if (first17.length !== 17) return undefined;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const value = USCC_ALPHABET.indexOf(first17[i]!);
    if (value < 0) return undefined;
    sum += value * WEIGHTS[i]!;
  }
  return USCC_ALPHABET[(31 - (sum % 31)) % 31];
}

/** Why a code is not a valid USCC, or undefined when it is. Upper case only: callers normalise. */
export function usccProblem(code: string): UsccProblem | undefined {
  if (code.length !== 18) return 'length';
  for (const char of code) if (!USCC_ALPHABET.includes(char)) return 'alphabet';
  return usccCheckCharacter(code.slice(0, 17)) === code[17] ? undefined : 'check_character';
}
