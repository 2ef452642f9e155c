import type { Account, PendingState, PendingStatus, Transfer } from './types.ts';

/** Row <-> model mapping and array literals for set-based statements. */

export const ACCOUNT_COLUMNS =
  'id, ledger, code, flags, closed, user_data_128, user_data_64, user_data_32, ' +
  'debits_pending, debits_posted, credits_pending, credits_posted, timestamp';

export const TRANSFER_COLUMNS =
  'id, debit_account_id, credit_account_id, amount, pending_id, ledger, code, flags, timeout, ' +
  'user_data_128, user_data_64, user_data_32, timestamp';

export interface AccountRow {
  id: string;
  ledger: number;
  code: number;
  flags: number;
  closed: boolean;
  user_data_128: string | null;
  user_data_64: bigint;
  user_data_32: number;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
  timestamp: bigint;
  [column: string]: unknown;
}

export interface TransferRow {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: bigint;
  pending_id: string | null;
  ledger: number;
  code: number;
  flags: number;
  timeout: number;
  user_data_128: string | null;
  user_data_64: bigint;
  user_data_32: number;
  timestamp: bigint;
  [column: string]: unknown;
}

export function accountFromRow(row: AccountRow): Account {
  return {
    id: row.id,
    ledger: row.ledger,
    code: row.code,
    flags: row.flags,
    closed: row.closed,
    userData128: row.user_data_128,
    userData64: row.user_data_64,
    userData32: row.user_data_32,
    debitsPending: row.debits_pending,
    debitsPosted: row.debits_posted,
    creditsPending: row.credits_pending,
    creditsPosted: row.credits_posted,
    timestamp: row.timestamp,
  };
}

export function transferFromRow(row: TransferRow): Transfer {
  return {
    id: row.id,
    debitAccountId: row.debit_account_id,
    creditAccountId: row.credit_account_id,
    amount: row.amount,
    pendingId: row.pending_id,
    ledger: row.ledger,
    code: row.code,
    flags: row.flags,
    timeout: row.timeout,
    userData128: row.user_data_128,
    userData64: row.user_data_64,
    userData32: row.user_data_32,
    timestamp: row.timestamp,
  };
}

export function pendingFromRow(row: {
  status: string;
  expires_at: bigint | null;
  resolved_by: string | null;
  resolved_at: bigint | null;
}): PendingState {
  return {
    status: row.status as PendingStatus,
    expiresAt: row.expires_at,
    resolvedBy: row.resolved_by,
    resolvedAt: row.resolved_at,
  };
}

/**
 * A PostgreSQL array literal for values that never need quoting (uuids, integers, booleans),
 * built directly: much cheaper than pg's generic per-element escaping on 8,000-row batches.
 */
export function arrayLiteral(values: readonly (string | number | bigint | boolean | null)[]): string {
  const parts = new Array<string>(values.length);
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    parts[index] =
      value === null || value === undefined
        ? 'NULL'
        : typeof value === 'boolean'
          ? value
            ? 't'
            : 'f'
          : `${value}`;
  }
  return `{${parts.join(',')}}`;
}
