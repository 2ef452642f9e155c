import { invalid } from '../platform/errors.ts';
import { type AccountBalances, AMOUNT_MAX, BATCH_EVENTS_MAX, MAX_ID, NIL_ID } from './types.ts';

/**
 * TigerBeetle's query operations, as pure rules: which filters are valid, which objects match,
 * and in what order a page is cut. The store runs the same rules in SQL; the TigerBeetle case
 * runner runs them over the in-memory ledger. A field left 0 (or null) does not filter.
 */

/** query_accounts / query_transfers (TigerBeetle's QueryFilter). */
export interface QueryFilter {
  userData128?: string | null;
  userData64?: bigint;
  userData32?: number;
  ledger?: number;
  code?: number;
  /** Inclusive bounds on the timestamp; 0 = unbounded. */
  timestampMin?: bigint;
  timestampMax?: bigint;
  /** At least 1; more than `QUERY_LIMIT_MAX` is cut to it (TigerBeetle: what fits a message). */
  limit: number;
  /** Newest first. */
  reversed?: boolean;
}

/** get_account_transfers / get_account_balances (TigerBeetle's AccountFilter). */
export interface AccountFilter {
  accountId: string;
  userData128?: string | null;
  userData64?: bigint;
  userData32?: number;
  code?: number;
  timestampMin?: bigint;
  timestampMax?: bigint;
  limit: number;
  /** Transfers debiting the account (at least one of debits/credits must be set). */
  debits?: boolean;
  /** Transfers crediting the account. */
  credits?: boolean;
  reversed?: boolean;
}

/** An account's balances right after one of its transfers (TigerBeetle's AccountBalance). */
export interface AccountBalance extends AccountBalances {
  /** The transfer's timestamp. */
  timestamp: bigint;
}

/** Most results of one query (TigerBeetle's batch size). */
export const QUERY_LIMIT_MAX = BATCH_EVENTS_MAX;

export type FilterProblem =
  | 'ledger_filter_account_id'
  | 'ledger_filter_timestamp'
  | 'ledger_filter_limit'
  | 'ledger_filter_direction';

const PROBLEM_MESSAGES: Record<FilterProblem, string> = {
  ledger_filter_account_id: 'account_id must be a real account id (not the nil or all-ones id).',
  ledger_filter_timestamp:
    'timestamp_min and timestamp_max must be 0 (unbounded) or within 1..2^63-1, and min at most max.',
  ledger_filter_limit: `limit must be an integer of at least 1 (at most ${QUERY_LIMIT_MAX} are returned).`,
  ledger_filter_direction: 'Set debits, credits or both: a filter with neither matches nothing.',
};

function timestampProblem(filter: { timestampMin?: bigint; timestampMax?: bigint }): boolean {
  const min = filter.timestampMin ?? 0n;
  const max = filter.timestampMax ?? 0n;
  if (min < 0n || min > AMOUNT_MAX || max < 0n || max > AMOUNT_MAX) return true;
  return max !== 0n && min > max;
}

const limitProblem = (limit: number) => !Number.isInteger(limit) || limit < 1;

/** Why TigerBeetle would answer this filter with nothing; null when it is valid. */
export function queryFilterProblem(filter: QueryFilter): FilterProblem | null {
  if (timestampProblem(filter)) return 'ledger_filter_timestamp';
  if (limitProblem(filter.limit)) return 'ledger_filter_limit';
  return null;
}

export function accountFilterProblem(filter: AccountFilter): FilterProblem | null {
  if (!filter.accountId || filter.accountId === NIL_ID || filter.accountId === MAX_ID)
    return 'ledger_filter_account_id';
  if (timestampProblem(filter)) return 'ledger_filter_timestamp';
  if (limitProblem(filter.limit)) return 'ledger_filter_limit';
  if (!filter.debits && !filter.credits) return 'ledger_filter_direction';
  return null;
}

/** The service answers an invalid filter with a 4xx (TigerBeetle with an empty result). */
export function assertFilter(problem: FilterProblem | null): void {
  if (problem) throw invalid(problem, PROBLEM_MESSAGES[problem]);
}

interface Filterable {
  userData128: string | null;
  userData64: bigint;
  userData32: number;
  code: number;
  timestamp: bigint;
}

function matchesCommon(
  filter: Omit<QueryFilter, 'limit'> | Omit<AccountFilter, 'limit' | 'accountId'>,
  object: Filterable,
): boolean {
  const ud128 = filter.userData128 && filter.userData128 !== NIL_ID ? filter.userData128 : null;
  if (ud128 !== null && object.userData128 !== ud128) return false;
  if (filter.userData64 && object.userData64 !== filter.userData64) return false;
  if (filter.userData32 && object.userData32 !== filter.userData32) return false;
  if (filter.code && object.code !== filter.code) return false;
  if (filter.timestampMin && object.timestamp < filter.timestampMin) return false;
  if (filter.timestampMax && object.timestamp > filter.timestampMax) return false;
  return true;
}

/** Whether an account or transfer matches a QueryFilter. */
export function matchesQueryFilter(filter: QueryFilter, object: Filterable & { ledger: number }): boolean {
  if (filter.ledger && object.ledger !== filter.ledger) return false;
  return matchesCommon(filter, object);
}

/** Whether a transfer matches an AccountFilter (on the account's debit or credit side, as asked). */
export function matchesAccountFilter(
  filter: AccountFilter,
  transfer: Filterable & { debitAccountId: string; creditAccountId: string },
): boolean {
  const side =
    (filter.debits && transfer.debitAccountId === filter.accountId) ||
    (filter.credits && transfer.creditAccountId === filter.accountId);
  return !!side && matchesCommon(filter, transfer);
}

/** The page: by timestamp (newest first when reversed), at most the limit. */
export function page<T extends { timestamp: bigint }>(
  matching: readonly T[],
  filter: QueryFilter | AccountFilter,
): T[] {
  const sorted = [...matching].sort((a, b) =>
    a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0,
  );
  if (filter.reversed) sorted.reverse();
  return sorted.slice(0, Math.min(filter.limit, QUERY_LIMIT_MAX));
}
