/**
 * Exact money for the UI: amounts are strings of integer fen on the wire and bigint in
 * between. Never floats: "12.34" is parsed digit by digit to 1234n and formatted back the
 * same way.
 */

export type AmountProblem = 'empty' | 'format' | 'decimals' | 'zero' | 'too_large';
export type ParsedAmount = { ok: true; minor: bigint } | { ok: false; problem: AmountProblem };

/** Largest amount a form accepts by default: 1,000,000.00 CNY. */
export const AMOUNT_MAX_MINOR = 100_000_000n;

const AMOUNT = /^(\d{1,12})(?:\.(\d{0,2}))?$/;

/**
 * Parses what a person typed ("12", "12.3", "12.34", "1,234.50", "¥8") into fen.
 * @example parseAmount('12.34') // { ok: true, minor: 1234n }
 */
export function parseAmount(text: string, max: bigint = AMOUNT_MAX_MINOR): ParsedAmount {
  const cleaned = text.replace(/[\s,¥￥]/g, '');
  if (cleaned === '') return { ok: false, problem: 'empty' };
  if (/^\d*\.\d{3,}$/.test(cleaned)) return { ok: false, problem: 'decimals' };
  const match = AMOUNT.exec(cleaned);
  if (!match) return { ok: false, problem: 'format' };
  const yuan = match[1]!;
  const fen = (match[2] ?? '').padEnd(2, '0');
  const minor = BigInt(yuan) * 100n + BigInt(fen);
  if (minor === 0n) return { ok: false, problem: 'zero' };
  if (minor > max) return { ok: false, problem: 'too_large' };
  return { ok: true, minor };
}

/**
 * Formats fen as yuan with two decimals and thousands separators.
 * @example formatMinor('123456') // '1,234.56'
 */
export function formatMinor(minor: bigint | string, options: { grouping?: boolean } = {}): string {
  let value = typeof minor === 'bigint' ? minor : BigInt(minor);
  const negative = value < 0n;
  if (negative) value = -value;
  let yuan = (value / 100n).toString();
  const fen = (value % 100n).toString().padStart(2, '0');
  if (options.grouping !== false) yuan = yuan.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${yuan}.${fen}`;
}

/** "¥1,234.56" */
export function formatCny(minor: bigint | string): string {
  const text = formatMinor(minor);
  return text.startsWith('-') ? `-¥${text.slice(1)}` : `¥${text}`;
}

/** Keeps only what can become an amount while typing: digits, one dot, at most two decimals. */
export function sanitizeAmountInput(text: string): string {
  let cleaned = text.replace(/[^\d.]/g, '');
  const dot = cleaned.indexOf('.');
  if (dot >= 0) cleaned = cleaned.slice(0, dot + 1) + cleaned.slice(dot + 1).replace(/\./g, '');
  return cleaned;
}
