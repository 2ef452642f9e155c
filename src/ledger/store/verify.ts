import type { Queryable } from '../../platform/db/database.ts';
import { eventTimestamp, type JournalEvent } from '../journal.ts';
import {
  ACCOUNT_COLUMNS,
  type AccountRow,
  accountFromRow,
  TRANSFER_COLUMNS,
  type TransferRow,
  transferFromRow,
} from '../rows.ts';

/**
 * The queries behind `verify` (../verify.ts turns their rows into violations). Each returns at
 * most `limit` offending rows, or the totals it names.
 */

export async function ledgerCounts(db: Queryable) {
  const { rows } = await db.query<{ ledgers: number; accounts: number; transfers: number; batches: number }>(
    `SELECT (SELECT count(DISTINCT ledger) FROM ledger_accounts)::int AS ledgers,
            (SELECT count(*) FROM ledger_accounts)::int AS accounts,
            (SELECT count(*) FROM ledger_transfers)::int AS transfers,
            (SELECT count(*) FROM ledger_journal)::int AS batches`,
  );
  return rows[0]!;
}

/** Ledgers whose debits and credits differ (posted or pending). */
export async function ledgerImbalances(db: Queryable) {
  const { rows } = await db.query<{ ledger: number; dp: string; cp: string; dpo: string; cpo: string }>(
    `SELECT ledger, sum(debits_pending)::text AS dp, sum(credits_pending)::text AS cp,
            sum(debits_posted)::text AS dpo, sum(credits_posted)::text AS cpo
       FROM ledger_accounts GROUP BY ledger
     HAVING sum(debits_pending) <> sum(credits_pending) OR sum(debits_posted) <> sum(credits_posted)`,
  );
  return rows;
}

// Posted: single-phase transfers and posts (flags neither pending=2 nor void=8).
// Pending: pending transfers neither resolved by a post/void nor expired.
/** Account balances that differ from the sums of their transfers. */
export async function accountBalanceMismatches(db: Queryable, limit: number) {
  const { rows } = await db.query<{ id: string; field: string; stored: string; expected: string }>(
    `WITH resolved AS (SELECT pending_id AS id FROM ledger_transfers WHERE pending_id IS NOT NULL
                       UNION SELECT id FROM ledger_pending WHERE status = 'expired'),
     legs AS (
       SELECT t.debit_account_id AS account_id, true AS debit, t.amount, t.flags, t.id FROM ledger_transfers t
       UNION ALL
       SELECT t.credit_account_id, false, t.amount, t.flags, t.id FROM ledger_transfers t),
     sums AS (
       SELECT l.account_id,
         sum(CASE WHEN l.debit AND l.flags & 2 <> 0 AND r.id IS NULL THEN l.amount ELSE 0 END) AS debits_pending,
         sum(CASE WHEN l.debit AND l.flags & 10 = 0 THEN l.amount ELSE 0 END) AS debits_posted,
         sum(CASE WHEN NOT l.debit AND l.flags & 2 <> 0 AND r.id IS NULL THEN l.amount ELSE 0 END) AS credits_pending,
         sum(CASE WHEN NOT l.debit AND l.flags & 10 = 0 THEN l.amount ELSE 0 END) AS credits_posted
       FROM legs l LEFT JOIN resolved r ON r.id = l.id
       GROUP BY l.account_id),
     compared AS (
       SELECT a.id, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
              coalesce(s.debits_pending, 0) AS e_dp, coalesce(s.debits_posted, 0) AS e_dpo,
              coalesce(s.credits_pending, 0) AS e_cp, coalesce(s.credits_posted, 0) AS e_cpo
         FROM ledger_accounts a FULL JOIN sums s ON s.account_id = a.id)
     SELECT coalesce(id::text, 'missing account') AS id, field, stored, expected FROM compared,
       LATERAL (VALUES ('debits_pending', debits_pending::text, e_dp::text),
                       ('debits_posted', debits_posted::text, e_dpo::text),
                       ('credits_pending', credits_pending::text, e_cp::text),
                       ('credits_posted', credits_posted::text, e_cpo::text)) AS v (field, stored, expected)
      WHERE stored IS DISTINCT FROM expected
      LIMIT ${limit}`,
  );
  return rows;
}

/** Accounts beyond their debits/credits limit flags. */
export async function accountFlagBreaches(db: Queryable, limit: number) {
  const { rows } = await db.query<{ id: string; rule: string }>(
    `SELECT id::text, 'debits exceed credits' AS rule FROM ledger_accounts
      WHERE flags & 2 <> 0 AND debits_pending + debits_posted > credits_posted
     UNION ALL
     SELECT id::text, 'credits exceed debits' FROM ledger_accounts
      WHERE flags & 4 <> 0 AND credits_pending + credits_posted > debits_posted
     LIMIT ${limit}`,
  );
  return rows;
}

/** Pending transfers resolved twice, resolvers of non-pending transfers, and status disagreements. */
export async function pendingResolutionProblems(db: Queryable, limit: number) {
  const { rows } = await db.query<{ id: string; problem: string }>(
    `WITH resolvers AS (
       SELECT pending_id AS id, count(*) AS n, bool_or(flags & 4 <> 0) AS posted, bool_or(flags & 8 <> 0) AS voided,
              min(id::text) AS by
         FROM ledger_transfers WHERE pending_id IS NOT NULL GROUP BY pending_id)
     SELECT r.id::text, 'resolved by ' || r.n || ' transfers' AS problem FROM resolvers r WHERE r.n > 1
     UNION ALL
     SELECT r.id::text, 'resolves a transfer that is not pending' FROM resolvers r
       LEFT JOIN ledger_transfers p ON p.id = r.id WHERE p.id IS NULL OR p.flags & 2 = 0
     UNION ALL
     SELECT t.id::text, 'pending transfer has no pending state' FROM ledger_transfers t
       LEFT JOIN ledger_pending s ON s.id = t.id WHERE t.flags & 2 <> 0 AND s.id IS NULL
     UNION ALL
     SELECT s.id::text, 'status ' || s.status || ' but ' ||
            CASE WHEN r.posted AND r.voided THEN 'both posted and voided'
                 WHEN r.posted THEN 'posted' WHEN r.voided THEN 'voided' ELSE 'unresolved' END
       FROM ledger_pending s LEFT JOIN resolvers r ON r.id = s.id
      WHERE (r.posted AND r.voided)
         OR (r.id IS NOT NULL AND s.status NOT IN ('posted', 'voided'))
         OR (r.id IS NOT NULL AND (s.status = 'posted') <> r.posted)
         OR (r.id IS NOT NULL AND s.resolved_by::text IS DISTINCT FROM r.by)
         OR (r.id IS NULL AND s.status IN ('posted', 'voided'))
     LIMIT ${limit}`,
  );
  return rows;
}

export type JournalRow = {
  sequence: bigint;
  timestamp_first: bigint;
  timestamp_last: bigint;
  event_count: number;
  prev_hash: Buffer;
  hash: Buffer;
};

/** Up to 1,000 journal batches after `afterSequence`, in order. */
export async function journalBatchesAfter(db: Queryable, afterSequence: bigint): Promise<JournalRow[]> {
  const { rows } = await db.query<JournalRow>(
    `SELECT sequence, timestamp_first, timestamp_last, event_count, prev_hash, hash FROM ledger_journal
        WHERE sequence > $1 ORDER BY sequence LIMIT 1000`,
    [afterSequence.toString()],
  );
  return rows;
}

/** Every journaled event with a timestamp in [first, last], in timestamp order. */
export async function eventsBetween(db: Queryable, first: bigint, last: bigint): Promise<JournalEvent[]> {
  const range = [first.toString(), last.toString()];
  const accounts = await db.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE timestamp BETWEEN $1 AND $2`,
    range,
  );
  const transfers = await db.query<TransferRow>(
    `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers WHERE timestamp BETWEEN $1 AND $2`,
    range,
  );
  const expiries = await db.query<{ id: string; resolved_at: bigint }>(
    `SELECT id, resolved_at FROM ledger_pending WHERE status = 'expired' AND resolved_at BETWEEN $1 AND $2`,
    range,
  );
  const failures = await db.query<{ id: string; result: string; timestamp: bigint }>(
    'SELECT id, result, timestamp FROM ledger_transfers_failed WHERE timestamp BETWEEN $1 AND $2',
    range,
  );
  const events: JournalEvent[] = [
    ...failures.rows.map((row) => ({ kind: 'failure' as const, ...row })),
    ...accounts.rows.map((row) => ({ kind: 'account' as const, account: accountFromRow(row) })),
    ...transfers.rows.map((row) => ({ kind: 'transfer' as const, transfer: transferFromRow(row) })),
    ...expiries.rows.map((row) => ({
      kind: 'expiry' as const,
      pendingId: row.id,
      timestamp: row.resolved_at,
    })),
  ];
  return events.sort((a, b) =>
    eventTimestamp(a) < eventTimestamp(b) ? -1 : eventTimestamp(a) > eventTimestamp(b) ? 1 : 0,
  );
}

/** Every event the journal should cover: accounts, transfers, expiries and failed transfers. */
export async function journaledEventTotal(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ events: number }>(
    `SELECT ((SELECT count(*) FROM ledger_accounts) + (SELECT count(*) FROM ledger_transfers)
           + (SELECT count(*) FROM ledger_pending WHERE status = 'expired')
           + (SELECT count(*) FROM ledger_transfers_failed))::int AS events`,
  );
  return rows[0]!.events;
}

export async function ledgerHead(db: Queryable) {
  const { rows } = await db.query<{ sequence: bigint; hash: Buffer }>(
    'SELECT sequence, hash FROM ledger_head',
  );
  return rows[0];
}
