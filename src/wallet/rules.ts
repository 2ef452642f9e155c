/**
 * The wallet's pure rules: fees, CSV. No I/O, no clock.
 */
import { formatDecimal } from '../platform/money.ts';

/**
 * Withdrawal fee: `bps` basis points of the amount, rounded up to the fen, at least `min`
 * (when the rate is above zero). Zero rate means no fee.
 * @example withdrawalFee(10_000n, 10, 10n) // 10n: 0.1% of 100.00 is 0.10
 */
export function withdrawalFee(amount: bigint, bps: number, min: bigint): bigint {
  if (bps <= 0) return 0n;
  const fee = (amount * BigInt(bps) + 9_999n) / 10_000n;
  return fee < min ? min : fee;
}

export interface CsvItem {
  id: string;
  created_at: string;
  type: string;
  direction: 'in' | 'out';
  status: string;
  amount: string;
  counterparty: string | null;
  memo: string | null;
}

export const CSV_HEADER =
  'id,created_at,type,direction,status,amount_minor,amount,currency,counterparty,memo';

/**
 * One CSV field: quoted when it holds a comma, quote or line break; a leading = + - @ is
 * prefixed with ' so spreadsheets never evaluate it as a formula.
 */
export function csvField(value: string, text = true): string {
  const safe = text && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** A statement line: amount_minor is an integer of fen (negative for money out), amount the same in yuan. */
export function csvLine(item: CsvItem): string {
  const minor = BigInt(item.amount) * (item.direction === 'out' ? -1n : 1n);
  const fixed = [item.id, item.created_at, item.type, item.direction, item.status, minor.toString()];
  const text = [formatDecimal(minor, 2), 'CNY', item.counterparty ?? '', item.memo ?? ''];
  return [...fixed.map((v) => csvField(v, false)), ...text.map((v, i) => csvField(v, i > 0))].join(',');
}

/** Ledger timestamps are nanoseconds since the epoch. */
export function nsToDate(ns: bigint): Date {
  return new Date(Number(ns / 1_000_000n));
}
export function dateToNs(date: Date): bigint {
  return BigInt(date.getTime()) * 1_000_000n;
}
