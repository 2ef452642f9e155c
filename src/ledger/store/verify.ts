import type { Database, Queryable } from '../../platform/db/database.ts';
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

/**
 * Runs `work` in one read-only REPEATABLE READ transaction: every query of a check sees the
 * same committed state, so writes landing meanwhile cannot show up as violations.
 */
export function inSnapshot<T>(db: Database, work: (q: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(
    async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      return work(tx);
    },
    { isolation: 'repeatable read' },
  );
}

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

/**
 * Every balance change of transfers after timestamp $1 and expiries after $2 (0: all of them),
 * one row per account leg: a pending transfer adds to pending; a single-phase transfer or a post
 * adds to posted; a post, a void or an expiry takes the pending transfer's amount out of pending.
 */
const BALANCE_CHANGES = `
  changes AS (
    SELECT t.timestamp AS ts, t.debit_account_id AS account_id,
           CASE WHEN t.flags & 2 <> 0 THEN t.amount WHEN t.flags & 12 <> 0 THEN -coalesce(p.amount, 0) ELSE 0 END AS dp,
           CASE WHEN t.flags & 10 = 0 THEN t.amount ELSE 0 END AS dpo, 0::int8 AS cp, 0::int8 AS cpo
      FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
     WHERE t.timestamp > $1
    UNION ALL
    SELECT t.timestamp, t.credit_account_id, 0, 0,
           CASE WHEN t.flags & 2 <> 0 THEN t.amount WHEN t.flags & 12 <> 0 THEN -coalesce(p.amount, 0) ELSE 0 END,
           CASE WHEN t.flags & 10 = 0 THEN t.amount ELSE 0 END
      FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
     WHERE t.timestamp > $1
    UNION ALL
    SELECT s.resolved_at, p.debit_account_id, -p.amount, 0, 0, 0
      FROM ledger_pending s JOIN ledger_transfers p ON p.id = s.id
     WHERE s.status = 'expired' AND s.resolved_at > $2
    UNION ALL
    SELECT s.resolved_at, p.credit_account_id, 0, 0, -p.amount, 0
      FROM ledger_pending s JOIN ledger_transfers p ON p.id = s.id
     WHERE s.status = 'expired' AND s.resolved_at > $2)`;

/**
 * Account balances that differ from their base plus the changes after `since`. The base is
 * each account's balances at its checkpoint (ledger_verify_balances) when `fromCheckpoint`,
 * zero otherwise. Reads every account: what it skips is the transfers before `since`.
 */
export async function accountBalanceMismatches(
  db: Queryable,
  cuts: Cuts,
  fromCheckpoint: boolean,
  limit: number,
) {
  const { rows } = await db.query<{ id: string; field: string; stored: string; expected: string }>(
    `WITH ${BALANCE_CHANGES},
     sums AS (SELECT account_id, sum(dp) AS dp, sum(dpo) AS dpo, sum(cp) AS cp, sum(cpo) AS cpo
                FROM changes GROUP BY account_id),
     compared AS (
       SELECT coalesce(a.id, s.account_id) AS id, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
              coalesce(b.debits_pending, 0) + coalesce(s.dp, 0) AS e_dp,
              coalesce(b.debits_posted, 0) + coalesce(s.dpo, 0) AS e_dpo,
              coalesce(b.credits_pending, 0) + coalesce(s.cp, 0) AS e_cp,
              coalesce(b.credits_posted, 0) + coalesce(s.cpo, 0) AS e_cpo,
              a.id IS NULL AS missing
         FROM ledger_accounts a
         LEFT JOIN ledger_verify_balances b ON $3 AND b.account_id = a.id
         FULL JOIN sums s ON s.account_id = a.id)
     SELECT CASE WHEN missing THEN 'missing account ' || id::text ELSE id::text END AS id, field, stored, expected
       FROM compared,
       LATERAL (VALUES ('debits_pending', debits_pending::text, e_dp::text),
                       ('debits_posted', debits_posted::text, e_dpo::text),
                       ('credits_pending', credits_pending::text, e_cp::text),
                       ('credits_posted', credits_posted::text, e_cpo::text)) AS v (field, stored, expected)
      WHERE stored IS DISTINCT FROM expected
      LIMIT ${limit}`,
    [cuts.transfers.toString(), cuts.events.toString(), fromCheckpoint],
  );
  return rows;
}

export interface VerifiedBalances {
  ids: string[];
  dp: bigint[];
  dpo: bigint[];
  cp: bigint[];
  cpo: bigint[];
}

/** Balances of the accounts changed after `cuts` (every account when `all`), to record as verified. */
export async function balancesToRecord(db: Queryable, cuts: Cuts, all: boolean): Promise<VerifiedBalances> {
  const { rows } = await db.query<{
    id: string;
    debits_pending: bigint;
    debits_posted: bigint;
    credits_pending: bigint;
    credits_posted: bigint;
  }>(
    `WITH ${BALANCE_CHANGES}
     SELECT id, debits_pending, debits_posted, credits_pending, credits_posted FROM ledger_accounts a
      WHERE $3 OR a.id IN (SELECT account_id FROM changes)`,
    [cuts.transfers.toString(), cuts.events.toString(), all],
  );
  return {
    ids: rows.map((r) => r.id),
    dp: rows.map((r) => r.debits_pending),
    dpo: rows.map((r) => r.debits_posted),
    cp: rows.map((r) => r.credits_pending),
    cpo: rows.map((r) => r.credits_posted),
  };
}

/** Writes verified balances (all of them replace the table when `all`). */
export async function recordBalances(db: Queryable, balances: VerifiedBalances, all: boolean): Promise<void> {
  if (all) await db.query('DELETE FROM ledger_verify_balances');
  for (let start = 0; start < balances.ids.length; start += 50_000) {
    const slice = <T>(values: T[]) => values.slice(start, start + 50_000).map(String);
    await db.query(
      `INSERT INTO ledger_verify_balances (account_id, debits_pending, debits_posted, credits_pending, credits_posted)
       SELECT * FROM unnest($1::uuid[], $2::int8[], $3::int8[], $4::int8[], $5::int8[])
       ON CONFLICT (account_id) DO UPDATE SET debits_pending = excluded.debits_pending,
         debits_posted = excluded.debits_posted, credits_pending = excluded.credits_pending,
         credits_posted = excluded.credits_posted`,
      [slice(balances.ids), slice(balances.dp), slice(balances.dpo), slice(balances.cp), slice(balances.cpo)],
    );
  }
}

/**
 * History rows (ledger_account_balances) after `since` that disagree with the transfers: each
 * history-flagged account needs one row per balance change, holding the balances right after
 * it; the running sums start from the account's last row at or before `since`.
 */
export async function balanceHistoryProblems(db: Queryable, since: bigint, limit: number) {
  const { rows } = await db.query<{ id: string; timestamp: string; problem: string }>(
    `WITH ${BALANCE_CHANGES},
     tracked AS (
       SELECT c.* FROM changes c JOIN ledger_accounts a ON a.id = c.account_id AND a.flags & 8 <> 0),
     base AS (
       SELECT t.account_id, coalesce(b.debits_pending, 0) AS dp, coalesce(b.debits_posted, 0) AS dpo,
              coalesce(b.credits_pending, 0) AS cp, coalesce(b.credits_posted, 0) AS cpo
         FROM (SELECT DISTINCT account_id FROM tracked) t
         LEFT JOIN LATERAL (
           SELECT * FROM ledger_account_balances h
            WHERE h.account_id = t.account_id AND h.timestamp <= $1 ORDER BY h.timestamp DESC LIMIT 1) b ON true),
     running AS (
       SELECT c.account_id, c.ts,
              b.dp + sum(c.dp) OVER w AS dp, b.dpo + sum(c.dpo) OVER w AS dpo,
              b.cp + sum(c.cp) OVER w AS cp, b.cpo + sum(c.cpo) OVER w AS cpo
         FROM tracked c JOIN base b ON b.account_id = c.account_id
       WINDOW w AS (PARTITION BY c.account_id ORDER BY c.ts)),
     stored AS (SELECT * FROM ledger_account_balances WHERE timestamp > $1)
     SELECT coalesce(r.account_id, h.account_id)::text AS id, coalesce(r.ts, h.timestamp)::text AS timestamp,
            CASE WHEN h.account_id IS NULL THEN 'no history row for a balance change'
                 WHEN r.account_id IS NULL THEN 'a history row without a balance change'
                 ELSE 'history row holds ' || h.debits_pending || '/' || h.debits_posted || '/' ||
                      h.credits_pending || '/' || h.credits_posted || ', the transfers give ' ||
                      r.dp || '/' || r.dpo || '/' || r.cp || '/' || r.cpo END AS problem
       FROM running r FULL JOIN stored h ON h.account_id = r.account_id AND h.timestamp = r.ts
      WHERE h.account_id IS NULL OR r.account_id IS NULL
         OR (h.debits_pending, h.debits_posted, h.credits_pending, h.credits_posted)
            IS DISTINCT FROM (r.dp, r.dpo, r.cp, r.cpo)
      LIMIT ${limit}`,
    [since.toString(), since.toString()],
  );
  return rows;
}

/** How many history rows lie after `since` (for the report). */
export async function historyRowsAfter(db: Queryable, since: bigint): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM ledger_account_balances WHERE timestamp > $1',
    [since.toString()],
  );
  return rows[0]!.n;
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

/**
 * Pending transfers resolved twice, resolvers of non-pending transfers, and status
 * disagreements, among the pending transfers still open or created or resolved after `since`.
 */
export async function pendingResolutionProblems(db: Queryable, since: bigint, limit: number) {
  const { rows } = await db.query<{ id: string; problem: string }>(
    `WITH scope AS (
       SELECT s.id FROM ledger_pending s WHERE $1::int8 = 0 OR s.status = 'pending' OR s.resolved_at > $1
       UNION SELECT id FROM ledger_transfers WHERE timestamp > $1 AND flags & 2 <> 0
       UNION SELECT pending_id FROM ledger_transfers WHERE timestamp > $1 AND pending_id IS NOT NULL),
     resolvers AS (
       SELECT pending_id AS id, count(*) AS n, bool_or(flags & 4 <> 0) AS posted, bool_or(flags & 8 <> 0) AS voided,
              min(id::text) AS by
         FROM ledger_transfers WHERE pending_id IN (SELECT id FROM scope) GROUP BY pending_id)
     SELECT r.id::text, 'resolved by ' || r.n || ' transfers' AS problem FROM resolvers r WHERE r.n > 1
     UNION ALL
     SELECT r.id::text, 'resolves a transfer that is not pending' FROM resolvers r
       LEFT JOIN ledger_transfers p ON p.id = r.id WHERE p.id IS NULL OR p.flags & 2 = 0
     UNION ALL
     SELECT t.id::text, 'pending transfer has no pending state' FROM ledger_transfers t
       LEFT JOIN ledger_pending s ON s.id = t.id
      WHERE t.id IN (SELECT id FROM scope) AND t.flags & 2 <> 0 AND s.id IS NULL
     UNION ALL
     SELECT s.id::text, 'status ' || s.status || ' but ' ||
            CASE WHEN r.posted AND r.voided THEN 'both posted and voided'
                 WHEN r.posted THEN 'posted' WHEN r.voided THEN 'voided' ELSE 'unresolved' END
       FROM ledger_pending s LEFT JOIN resolvers r ON r.id = s.id
      WHERE s.id IN (SELECT id FROM scope) AND (
            (r.posted AND r.voided)
         OR (r.id IS NOT NULL AND s.status NOT IN ('posted', 'voided'))
         OR (r.id IS NOT NULL AND (s.status = 'posted') <> r.posted)
         OR (r.id IS NOT NULL AND s.resolved_by::text IS DISTINCT FROM r.by)
         OR (r.id IS NULL AND s.status IN ('posted', 'voided')))
     LIMIT ${limit}`,
    [since.toString()],
  );
  return rows;
}

/**
 * Posts and voids after `since` that break their pending transfer's terms, with `problem`
 * naming the check: resolution_amount (a post above, or a void other than, the pending
 * amount), resolution_accounts (accounts or ledger other than the pending transfer's),
 * resolution_deadline (at or after its deadline; or an expiry before it).
 */
export async function resolutionProblems(db: Queryable, since: bigint, limit: number) {
  const { rows } = await db.query<{ id: string; check: string; problem: string }>(
    `WITH resolutions AS (
       SELECT r.id, r.flags, r.amount, r.debit_account_id, r.credit_account_id, r.ledger, r.timestamp,
              p.id AS pending_id, p.amount AS pending_amount, p.debit_account_id AS pending_debit,
              p.credit_account_id AS pending_credit, p.ledger AS pending_ledger,
              CASE WHEN p.timeout > 0 THEN p.timestamp + p.timeout::int8 * 1000000000 END AS deadline
         FROM ledger_transfers r JOIN ledger_transfers p ON p.id = r.pending_id
        WHERE r.timestamp > $1 AND r.pending_id IS NOT NULL)
     SELECT id::text, 'resolution_amount' AS check,
            CASE WHEN flags & 4 <> 0 THEN 'posts ' || amount || ', more than its pending amount ' || pending_amount
                 ELSE 'voids ' || amount || ', not its pending amount ' || pending_amount END AS problem
       FROM resolutions
      WHERE (flags & 4 <> 0 AND amount > pending_amount) OR (flags & 8 <> 0 AND amount <> pending_amount)
     UNION ALL
     SELECT id::text, 'resolution_accounts',
            CASE WHEN ledger <> pending_ledger THEN 'on ledger ' || ledger || ', its pending transfer on ' || pending_ledger
                 ELSE 'moves ' || debit_account_id || ' -> ' || credit_account_id || ', its pending transfer ' ||
                      pending_debit || ' -> ' || pending_credit END
       FROM resolutions
      WHERE debit_account_id <> pending_debit OR credit_account_id <> pending_credit OR ledger <> pending_ledger
     UNION ALL
     SELECT id::text, 'resolution_deadline',
            CASE WHEN flags & 4 <> 0 THEN 'posted' ELSE 'voided' END || ' at ' || timestamp ||
            ', at or after its pending transfer ' || pending_id || ' expired at ' || deadline
       FROM resolutions WHERE deadline IS NOT NULL AND timestamp >= deadline
     UNION ALL
     SELECT s.id::text, 'resolution_deadline',
            'expired at ' || s.resolved_at || ', ' ||
            CASE WHEN p.timeout = 0 THEN 'but it has no timeout'
                 ELSE 'before its deadline ' || (p.timestamp + p.timeout::int8 * 1000000000) END
       FROM ledger_pending s JOIN ledger_transfers p ON p.id = s.id
      WHERE s.status = 'expired' AND s.resolved_at > $1
        AND (p.timeout = 0 OR s.resolved_at < p.timestamp + p.timeout::int8 * 1000000000)
     LIMIT ${limit}`,
    [since.toString()],
  );
  return rows;
}

/**
 * Pending states whose deadline (expires_at) is not the one the journaled transfer fixes
 * (its timestamp + timeout), among those still open or created or resolved after `since`.
 */
export async function pendingDeadlineProblems(db: Queryable, since: bigint, limit: number) {
  const { rows } = await db.query<{ id: string; stored: string | null; journaled: string | null }>(
    `SELECT s.id::text, s.expires_at::text AS stored,
            (CASE WHEN p.timeout > 0 THEN p.timestamp + p.timeout::int8 * 1000000000 END)::text AS journaled
       FROM ledger_pending s JOIN ledger_transfers p ON p.id = s.id
      WHERE ($1::int8 = 0 OR s.status = 'pending' OR s.resolved_at > $1 OR p.timestamp > $1)
        AND s.expires_at IS DISTINCT FROM (CASE WHEN p.timeout > 0 THEN p.timestamp + p.timeout::int8 * 1000000000 END)
      LIMIT ${limit}`,
    [since.toString()],
  );
  return rows;
}

/**
 * Accounts whose closed flag is not what the journal says: closed exactly when created closed
 * or a closing transfer on it is pending or posted (voiding or expiry reopens it).
 */
export async function accountClosedProblems(db: Queryable, limit: number) {
  const { rows } = await db.query<{ id: string; closed: boolean; by: string | null }>(
    `WITH closing AS (
       SELECT t.id, t.debit_account_id AS account_id FROM ledger_transfers t JOIN ledger_pending s ON s.id = t.id
        WHERE t.flags & 192 <> 0 AND t.flags & 64 <> 0 AND s.status IN ('pending', 'posted')
       UNION ALL
       SELECT t.id, t.credit_account_id FROM ledger_transfers t JOIN ledger_pending s ON s.id = t.id
        WHERE t.flags & 192 <> 0 AND t.flags & 128 <> 0 AND s.status IN ('pending', 'posted')),
     closers AS (SELECT account_id, min(id::text) AS by FROM closing GROUP BY account_id)
     SELECT a.id::text, a.closed, c.by FROM ledger_accounts a LEFT JOIN closers c ON c.account_id = a.id
      WHERE a.closed <> (a.flags & 32 <> 0 OR c.account_id IS NOT NULL)
      LIMIT ${limit}`,
  );
  return rows;
}

/** Open pending transfers whose code is not among `ownedCodes`. */
export async function unownedHolds(db: Queryable, ownedCodes: readonly number[], limit: number) {
  const { rows } = await db.query<{ id: string; code: number; amount: bigint }>(
    `SELECT t.id::text, t.code, t.amount FROM ledger_pending s JOIN ledger_transfers t ON t.id = s.id
      WHERE s.status = 'pending' AND NOT (t.code = ANY($1::int[]))
      LIMIT ${limit}`,
    [ownedCodes],
  );
  return rows;
}

/** Open pending transfers with one of `codes`: id, code and amount (for modules' ownership checks). */
export async function openHolds(db: Queryable, codes: readonly number[]) {
  const { rows } = await db.query<{ id: string; code: number; amount: bigint; timestamp: bigint }>(
    `SELECT t.id::text, t.code, t.amount, t.timestamp FROM ledger_pending s JOIN ledger_transfers t ON t.id = s.id
      WHERE s.status = 'pending' AND t.code = ANY($1::int[]) ORDER BY t.timestamp`,
    [codes],
  );
  return rows;
}

export type Checkpoint = {
  sequence: bigint;
  hash: Buffer;
  timestamp_last: bigint;
  transfer_timestamp_max: bigint;
  account_timestamp_max: bigint;
};

/**
 * What lies after a journal position: transfers after `transfers`, accounts after `accounts`,
 * expiries and failures after `events` (imported events keep past timestamps, but never before
 * the newest of their kind). All 0: everything.
 */
export interface Cuts {
  transfers: bigint;
  accounts: bigint;
  events: bigint;
}

export const cutsAt = (at: Checkpoint | undefined): Cuts => ({
  transfers: at?.transfer_timestamp_max ?? 0n,
  accounts: at?.account_timestamp_max ?? 0n,
  events: at?.timestamp_last ?? 0n,
});

/** The journal position a check was last verified up to, if it ever was. */
export async function checkpoint(db: Queryable, check: string): Promise<Checkpoint | undefined> {
  const { rows } = await db.query<Checkpoint>(
    `SELECT sequence, hash, timestamp_last, transfer_timestamp_max, account_timestamp_max
       FROM ledger_verify_checkpoints WHERE check_name = $1`,
    [check],
  );
  return rows[0];
}

/**
 * Takes the checkpoint table for the rest of the transaction (plain reads go on) and says
 * whether `check` may record position `sequence`: not when another run already recorded a
 * later one (two runs at once must not leave a checkpoint with an older run's balances).
 */
export async function mayRecord(tx: Queryable, check: string, sequence: bigint): Promise<boolean> {
  await tx.query('LOCK TABLE ledger_verify_checkpoints IN EXCLUSIVE MODE');
  const { rows } = await tx.query<{ sequence: bigint }>(
    'SELECT sequence FROM ledger_verify_checkpoints WHERE check_name = $1',
    [check],
  );
  return !rows[0] || rows[0].sequence <= sequence;
}

export async function recordCheckpoint(db: Queryable, check: string, at: Checkpoint, now: Date) {
  await db.query(
    `INSERT INTO ledger_verify_checkpoints
       (check_name, sequence, hash, timestamp_last, transfer_timestamp_max, account_timestamp_max, verified_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (check_name) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash,
       timestamp_last = excluded.timestamp_last, transfer_timestamp_max = excluded.transfer_timestamp_max,
       account_timestamp_max = excluded.account_timestamp_max, verified_at = excluded.verified_at`,
    [
      check,
      at.sequence.toString(),
      at.hash,
      at.timestamp_last.toString(),
      at.transfer_timestamp_max.toString(),
      at.account_timestamp_max.toString(),
      now,
    ],
  );
}

/** One journal batch's hash, or undefined when it is gone. */
export async function journalHashAt(db: Queryable, sequence: bigint): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ hash: Buffer }>('SELECT hash FROM ledger_journal WHERE sequence = $1', [
    sequence.toString(),
  ]);
  return rows[0]?.hash;
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

/** Every event the journal should cover after `cuts`: accounts, transfers, expiries and failed transfers. */
export async function journaledEventTotal(db: Queryable, cuts: Cuts): Promise<number> {
  const { rows } = await db.query<{ events: number }>(
    `SELECT ((SELECT count(*) FROM ledger_accounts WHERE timestamp > $1)
           + (SELECT count(*) FROM ledger_transfers WHERE timestamp > $2)
           + (SELECT count(*) FROM ledger_pending WHERE status = 'expired' AND resolved_at > $3)
           + (SELECT count(*) FROM ledger_transfers_failed WHERE timestamp > $3))::int AS events`,
    [cuts.accounts.toString(), cuts.transfers.toString(), cuts.events.toString()],
  );
  return rows[0]!.events;
}

/**
 * The head of the journal as this snapshot sees it, with the newest transfer and account
 * timestamps. Transfers have only a BRIN index on timestamp, so their newest is searched after
 * `transfersAfter` (the previous checkpoint's): the new part only; null skips it (0).
 */
export async function ledgerHead(db: Queryable, transfersAfter: bigint | null): Promise<Checkpoint> {
  const { rows } = await db.query<Checkpoint>(
    `SELECT h.sequence, h.hash, coalesce(j.timestamp_last, 0) AS timestamp_last,
            CASE WHEN $1::int8 IS NULL THEN 0 ELSE
              coalesce((SELECT max(timestamp) FROM ledger_transfers WHERE timestamp > $1), $1) END AS transfer_timestamp_max,
            coalesce((SELECT max(timestamp) FROM ledger_accounts), 0) AS account_timestamp_max
       FROM ledger_head h LEFT JOIN ledger_journal j ON j.sequence = h.sequence`,
    [transfersAfter?.toString() ?? null],
  );
  return rows[0]!;
}

/** How many transfers lie after `since` (for the report). */
export async function transfersAfter(db: Queryable, since: bigint): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM ledger_transfers WHERE timestamp > $1',
    [since.toString()],
  );
  return rows[0]!.n;
}

export async function openHoldCount(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM ledger_pending WHERE status = 'pending'",
  );
  return rows[0]!.n;
}
