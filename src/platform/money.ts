import { invalid } from './errors.ts';

/**
 * Money is bigint minor units everywhere. On the wire (JSON, CSV, CLI) an amount is a
 * string of decimal digits of minor units, e.g. "1234" for 12.34 CNY: exact in every
 * language, unlike JSON numbers beyond 2^53.
 */
export const AMOUNT_PATTERN = '^(0|[1-9][0-9]{0,18})$';
export const MAX_AMOUNT = (1n << 63n) - 1n;

/** Parses a wire amount (minor units as a digit string). */
export function parseMinor(value: string, field = 'amount'): bigint {
  if (!/^(0|[1-9][0-9]{0,18})$/.test(value)) {
    throw invalid(
      'invalid_amount',
      `${field} must be a whole number of minor units as a string, e.g. "1250"`,
      {
        field,
      },
    );
  }
  const amount = BigInt(value);
  if (amount > MAX_AMOUNT) throw invalid('invalid_amount', `${field} is too large`, { field });
  return amount;
}

/**
 * Parses a human decimal ("12.34") at a currency scale into minor units, without floats.
 * Rejects more fraction digits than the scale allows instead of rounding silently.
 */
export function parseDecimal(value: string, scale: number, field = 'amount'): bigint {
  const match = /^(\d{1,18})(?:\.(\d+))?$/.exec(value.trim());
  if (!match) throw invalid('invalid_amount', `${field} must look like 12.34`, { field });
  const fraction = match[2] ?? '';
  if (fraction.length > scale) {
    throw invalid('invalid_amount', `${field} has more than ${scale} decimal places`, { field });
  }
  return BigInt(match[1]!) * 10n ** BigInt(scale) + BigInt(fraction.padEnd(scale, '0') || '0');
}

/** Formats minor units for people: 1234n at scale 2 is "12.34". */
export function formatDecimal(amount: bigint, scale: number): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(scale + 1, '0');
  const whole = scale === 0 ? digits : digits.slice(0, -scale);
  const fraction = scale === 0 ? '' : `.${digits.slice(-scale)}`;
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/**
 * Splits `total` in proportion to `weights` so the parts sum exactly to `total`
 * (largest remainder; ties go to the lower index, so callers order by id for a stable rule).
 */
export function allocate(total: bigint, weights: readonly bigint[]): bigint[] {
  if (total < 0n) throw new RangeError('allocate: total must not be negative');
  if (weights.length === 0) throw new RangeError('allocate: no weights');
  let weightSum = 0n;
  for (const weight of weights) {
    if (weight < 0n) throw new RangeError('allocate: weights must not be negative');
    weightSum += weight;
  }
  if (weightSum === 0n) throw new RangeError('allocate: weights sum to zero');
  const parts = weights.map((weight) => (total * weight) / weightSum);
  const remainders = weights.map((weight, index) => ({ index, remainder: (total * weight) % weightSum }));
  let left = total - parts.reduce((sum, part) => sum + part, 0n);
  remainders.sort((a, b) =>
    a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1,
  );
  for (let i = 0; left > 0n; i++, left--) parts[remainders[i]!.index]! += 1n;
  return parts;
}
