import type { Queryable } from '../../platform/db/database.ts';
import { invalid, notFound } from '../../platform/errors.ts';
import { type AccountBalance, type AccountFilter, QUERY_LIMIT_MAX, type QueryFilter } from '../query.ts';
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
  NIL_ID,
  type PendingState,
  type Transfer,
  TransferFlags,
} from '../types.ts';

/** Read paths: plain queries outside the writer (committed data only). */

/**
 * Accounts as they stand at ledger time `nowNs`: a pending transfer past its deadline is
 * expired whether or not the expiry job has written it down yet, so its amount no longer counts
 * as pending and a closing one no longer keeps its account closed. `accounts` is a query over
 * ledger_accounts (its placeholders first); `nowParam` the placeholder of `nowNs`.
 */
function accountsAsOf(accounts: string, nowParam: string): string {
  // Due holds summed per account once (a hash join), not re-scanned per account.
  return `WITH base AS (${accounts}),
    due AS (
      SELECT t.debit_account_id, t.credit_account_id, t.amount, t.flags
        FROM ledger_pending p JOIN ledger_transfers t ON t.id = p.id
       WHERE p.status = 'pending' AND p.expires_at IS NOT NULL AND p.expires_at <= ${nowParam}),
    released AS (
      SELECT account_id, sum(debits)::int8 AS debits, sum(credits)::int8 AS credits, bool_or(reopens) AS reopens
        FROM (SELECT debit_account_id AS account_id, amount AS debits, 0::int8 AS credits,
                     flags & ${TransferFlags.closing_debit} <> 0 AS reopens FROM due
              UNION ALL
              SELECT credit_account_id, 0::int8, amount, flags & ${TransferFlags.closing_credit} <> 0 FROM due) sides
       GROUP BY account_id)
    SELECT b.id, b.ledger, b.code, b.flags, b.closed AND NOT COALESCE(r.reopens, false) AS closed,
           b.user_data_128, b.user_data_64, b.user_data_32,
           b.debits_pending - COALESCE(r.debits, 0) AS debits_pending, b.debits_posted,
           b.credits_pending - COALESCE(r.credits, 0) AS credits_pending, b.credits_posted, b.timestamp
      FROM base b LEFT JOIN released r ON r.account_id = b.id`;
}

export async function lookupAccounts(
  db: Queryable,
  ids: readonly string[],
  nowNs: bigint,
): Promise<Account[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<AccountRow>(
    accountsAsOf(`SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ANY($1::uuid[])`, '$2'),
    [arrayLiteral(ids), nowNs.toString()],
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

/** Live states at ledger time `nowNs`: a pending transfer past its deadline reads as expired. */
export async function lookupPending(
  db: Queryable,
  ids: readonly string[],
  nowNs: bigint,
): Promise<Map<string, PendingState>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{
    id: string;
    status: string;
    expires_at: bigint | null;
    resolved_by: string | null;
    resolved_at: bigint | null;
  }>(
    `SELECT id, expires_at, resolved_by,
            CASE WHEN status = 'pending' AND expires_at <= $2 THEN 'expired' ELSE status END AS status,
            CASE WHEN status = 'pending' AND expires_at <= $2 THEN expires_at ELSE resolved_at END AS resolved_at
       FROM ledger_pending WHERE id = ANY($1::uuid[])`,
    [arrayLiteral(ids), nowNs.toString()],
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
  const [account] = await lookupAccounts(db, [accountId], 0n);
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

// --- query operations (rules in ../query.ts; filters are valid by the time they get here) ---

/** WHERE conditions for the filter fields set, with their parameters appended to `params`. */
function filterConditions(
  filter: QueryFilter | Omit<AccountFilter, 'accountId'>,
  params: unknown[],
  column: (name: string) => string,
): string[] {
  const conditions: string[] = [];
  const add = (name: string, value: unknown, cast: string) => {
    params.push(value);
    conditions.push(`${column(name)} = $${params.length}::${cast}`);
  };
  if (filter.userData128 && filter.userData128 !== NIL_ID) add('user_data_128', filter.userData128, 'uuid');
  if (filter.userData64) add('user_data_64', filter.userData64.toString(), 'int8');
  if (filter.userData32) add('user_data_32', filter.userData32, 'int4');
  if ('ledger' in filter && filter.ledger) add('ledger', filter.ledger, 'int4');
  if (filter.code) add('code', filter.code, 'int4');
  if (filter.timestampMin) {
    params.push(filter.timestampMin.toString());
    conditions.push(`${column('timestamp')} >= $${params.length}::int8`);
  }
  if (filter.timestampMax) {
    params.push(filter.timestampMax.toString());
    conditions.push(`${column('timestamp')} <= $${params.length}::int8`);
  }
  return conditions;
}

const where = (conditions: string[]) => (conditions.length ? `WHERE ${conditions.join(' AND ')}` : '');
const limitOf = (filter: { limit: number }) => Math.min(filter.limit, QUERY_LIMIT_MAX);

/** query_accounts, balances as of `nowNs` (holds past their deadline released). */
export async function queryAccounts(db: Queryable, filter: QueryFilter, nowNs: bigint): Promise<Account[]> {
  const params: unknown[] = [nowNs.toString()];
  const conditions = filterConditions(filter, params, (name) => name);
  const order = filter.reversed ? 'DESC' : 'ASC';
  params.push(limitOf(filter));
  const { rows } = await db.query<AccountRow>(
    `${accountsAsOf(
      `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts ${where(conditions)} ORDER BY timestamp ${order} LIMIT $${params.length}`,
      '$1',
    )} ORDER BY b.timestamp ${order}`,
    params,
  );
  return rows.map(accountFromRow);
}

export async function queryTransfers(db: Queryable, filter: QueryFilter): Promise<Transfer[]> {
  const params: unknown[] = [];
  const conditions = filterConditions(filter, params, (name) => name);
  params.push(limitOf(filter));
  const { rows } = await db.query<TransferRow>(
    `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers ${where(conditions)}
      ORDER BY timestamp ${filter.reversed ? 'DESC' : 'ASC'} LIMIT $${params.length}`,
    params,
  );
  return rows.map(transferFromRow);
}

/**
 * get_account_transfers: one index range scan per side asked for (debit, credit), each bounded
 * by the limit, merged.
 */
export async function getAccountTransfers(db: Queryable, filter: AccountFilter): Promise<Transfer[]> {
  const params: unknown[] = [filter.accountId];
  const conditions = filterConditions(filter, params, (name) => name);
  const order = filter.reversed ? 'DESC' : 'ASC';
  params.push(limitOf(filter));
  const limit = `$${params.length}`;
  const side = (column: string) =>
    `(SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers
       WHERE ${[`${column} = $1::uuid`, ...conditions].join(' AND ')} ORDER BY timestamp ${order} LIMIT ${limit})`;
  const sides = [
    ...(filter.debits ? [side('debit_account_id')] : []),
    ...(filter.credits ? [side('credit_account_id')] : []),
  ];
  const { rows } = await db.query<TransferRow>(
    `SELECT ${TRANSFER_COLUMNS} FROM (${sides.join(' UNION ')}) page ORDER BY timestamp ${order} LIMIT ${limit}`,
    params,
  );
  return rows.map(transferFromRow);
}

/**
 * get_account_balances: the account's balances right after each matching transfer (only
 * accounts flagged `history` keep them; others, and unknown accounts, give nothing).
 */
export async function getAccountBalances(db: Queryable, filter: AccountFilter): Promise<AccountBalance[]> {
  const params: unknown[] = [filter.accountId];
  // The timestamp bounds on the balance rows (their key's range); the rest on the transfer.
  const conditions = filterConditions(filter, params, (name) =>
    name === 'timestamp' ? 'b.timestamp' : `t.${name}`,
  );
  const sides = [
    ...(filter.debits ? ['t.debit_account_id = $1::uuid'] : []),
    ...(filter.credits ? ['t.credit_account_id = $1::uuid'] : []),
  ];
  const order = filter.reversed ? 'DESC' : 'ASC';
  params.push(limitOf(filter));
  const { rows } = await db.query<{
    timestamp: bigint;
    debits_pending: bigint;
    debits_posted: bigint;
    credits_pending: bigint;
    credits_posted: bigint;
  }>(
    `SELECT b.timestamp, b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted
       FROM ledger_account_balances b
       JOIN ledger_transfers t ON t.timestamp = b.timestamp AND (${sides.join(' OR ')})
      WHERE b.account_id = $1::uuid ${conditions.map((condition) => `AND ${condition}`).join(' ')}
      ORDER BY b.timestamp ${order} LIMIT $${params.length}`,
    params,
  );
  return rows.map((row) => ({
    timestamp: row.timestamp,
    debitsPending: row.debits_pending,
    debitsPosted: row.debits_posted,
    creditsPending: row.credits_pending,
    creditsPosted: row.credits_posted,
  }));
}
