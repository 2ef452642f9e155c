import type { Queryable } from '../../platform/db/database.ts';
import { invalid, notFound } from '../../platform/errors.ts';
import {
  ACCOUNT_COLUMNS,
  type AccountRow,
  accountFromRow,
  arrayLiteral,
  pendingFromRow,
  TRANSFER_COLUMNS,
  type TransferRow,
  transferFromRow,
} from '../rows.ts';
import {
  type Account,
  type AccountBalances,
  AccountFlags,
  HISTORY_PAGE_MAX,
  type PendingState,
  type Transfer,
} from '../types.ts';

/** Read paths: plain queries outside the writer (committed data only). */

export async function lookupAccounts(db: Queryable, ids: readonly string[]): Promise<Account[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ANY($1::uuid[])`,
    [arrayLiteral(ids)],
  );
  const byId = new Map(rows.map((row) => [row.id, accountFromRow(row)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

export async function lookupTransfers(db: Queryable, ids: readonly string[]): Promise<Transfer[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<TransferRow>(
    `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers WHERE id = ANY($1::uuid[])`,
    [arrayLiteral(ids)],
  );
  const byId = new Map(rows.map((row) => [row.id, transferFromRow(row)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

export async function lookupPending(
  db: Queryable,
  ids: readonly string[],
): Promise<Map<string, PendingState>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{
    id: string;
    status: string;
    expires_at: bigint | null;
    resolved_by: string | null;
    resolved_at: bigint | null;
  }>(
    'SELECT id, status, expires_at, resolved_by, resolved_at FROM ledger_pending WHERE id = ANY($1::uuid[])',
    [arrayLiteral(ids)],
  );
  return new Map(rows.map((row) => [row.id, pendingFromRow(row)]));
}

export interface HistoryPage {
  transfers: Transfer[];
  /** Pass as `after` for the next page; null when this page is the last. */
  nextCursor: bigint | null;
}

/** Transfers debiting or crediting an account, oldest first, after timestamp `after`. */
export async function getAccountHistory(
  db: Queryable,
  accountId: string,
  options: { after?: bigint; limit?: number } = {},
): Promise<HistoryPage> {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_PAGE_MAX) {
    throw invalid('ledger_page_limit', `limit must be 1 to ${HISTORY_PAGE_MAX}`);
  }
  const after = (options.after ?? 0n).toString();
  // Two index range scans, each bounded by the page size, merged.
  const { rows } = await db.query<TransferRow>(
    `SELECT ${TRANSFER_COLUMNS} FROM (
       (SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers
         WHERE debit_account_id = $1 AND timestamp > $2 ORDER BY timestamp LIMIT $3 + 1)
       UNION ALL
       (SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers
         WHERE credit_account_id = $1 AND timestamp > $2 ORDER BY timestamp LIMIT $3 + 1)
     ) page ORDER BY timestamp LIMIT $3 + 1`,
    [accountId, after, limit],
  );
  const transfers = rows.slice(0, limit).map(transferFromRow);
  return { transfers, nextCursor: rows.length > limit ? transfers[transfers.length - 1]!.timestamp : null };
}

/**
 * Balances of a history-flagged account as they stood at ledger timestamp `timestamp`
 * (after every event at or before it). Null when the account did not exist yet.
 */
export async function getBalancesAsOf(
  db: Queryable,
  accountId: string,
  timestamp: bigint,
): Promise<(AccountBalances & { timestamp: bigint }) | null> {
  const [account] = await lookupAccounts(db, [accountId]);
  if (!account) throw notFound('ledger_account_not_found', `Account ${accountId} does not exist.`);
  if ((account.flags & AccountFlags.history) === 0) {
    throw invalid(
      'ledger_account_without_history',
      `Account ${accountId} was not created with the history flag.`,
    );
  }
  if (account.timestamp > timestamp) return null;
  const { rows } = await db.query<{
    timestamp: bigint;
    debits_pending: bigint;
    debits_posted: bigint;
    credits_pending: bigint;
    credits_posted: bigint;
  }>(
    `SELECT timestamp, debits_pending, debits_posted, credits_pending, credits_posted FROM ledger_account_balances
      WHERE account_id = $1 AND timestamp <= $2 ORDER BY timestamp DESC LIMIT 1`,
    [accountId, timestamp.toString()],
  );
  const row = rows[0];
  if (!row) {
    return {
      timestamp: account.timestamp,
      debitsPending: 0n,
      debitsPosted: 0n,
      creditsPending: 0n,
      creditsPosted: 0n,
    };
  }
  return {
    timestamp: row.timestamp,
    debitsPending: row.debits_pending,
    debitsPosted: row.debits_posted,
    creditsPending: row.credits_pending,
    creditsPosted: row.credits_posted,
  };
}

/** Pending transfers due to expire at ledger time `nowNs`, oldest deadline first. */
export async function findDuePending(db: Queryable, nowNs: bigint, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM ledger_pending WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1
      ORDER BY expires_at LIMIT $2`,
    [nowNs.toString(), limit],
  );
  return rows.map((row) => row.id);
}
