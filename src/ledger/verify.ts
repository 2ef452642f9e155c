import type { Queryable } from '../platform/db/database.ts';
import { batchHash, eventTimestamp, GENESIS_HASH, type JournalEvent } from './journal.ts';
import {
  ACCOUNT_COLUMNS,
  type AccountRow,
  accountFromRow,
  TRANSFER_COLUMNS,
  type TransferRow,
  transferFromRow,
} from './rows.ts';

/**
 * Proves the books from the stored rows alone:
 * - ledger_balance: per ledger, debits = credits (posted and pending);
 * - account_balance: each account's balances equal the sums of its transfers;
 * - account_flags: no account beyond its limit flags;
 * - pending_resolution: each pending transfer resolved at most once, never both posted and
 *   voided (or expired), and its recorded status agrees with the transfers;
 * - journal_chain: every batch's hash recomputes from its rows and links to the previous,
 *   every event belongs to exactly one batch, and the head points at the last batch.
 */
export type VerifyCheck =
  | 'ledger_balance'
  | 'account_balance'
  | 'account_flags'
  | 'pending_resolution'
  | 'journal_chain';
export const VERIFY_CHECKS: readonly VerifyCheck[] = [
  'ledger_balance',
  'account_balance',
  'account_flags',
  'pending_resolution',
  'journal_chain',
];

export interface Violation {
  check: VerifyCheck;
  message: string;
  details?: Record<string, string | number | null>;
}

export interface VerifyReport {
  ok: boolean;
  counts: { ledgers: number; accounts: number; transfers: number; journalBatches: number };
  checks: { name: VerifyCheck; ok: boolean; violations: number }[];
  /** The first VIOLATIONS_REPORTED_MAX violations. */
  violations: Violation[];
}

const VIOLATIONS_REPORTED_MAX = 100;
const EVENTS_PER_QUERY = 10_000;

export async function verifyLedger(db: Queryable): Promise<VerifyReport> {
  const found: Record<VerifyCheck, Violation[]> = {
    ledger_balance: await checkLedgerBalances(db),
    account_balance: await checkAccountBalances(db),
    account_flags: await checkAccountFlags(db),
    pending_resolution: await checkPendingResolution(db),
    journal_chain: await checkJournal(db),
  };
  const counts = await db.query<{ ledgers: number; accounts: number; transfers: number; batches: number }>(
    `SELECT (SELECT count(DISTINCT ledger) FROM ledger_accounts)::int AS ledgers,
            (SELECT count(*) FROM ledger_accounts)::int AS accounts,
            (SELECT count(*) FROM ledger_transfers)::int AS transfers,
            (SELECT count(*) FROM ledger_journal)::int AS batches`,
  );
  const row = counts.rows[0]!;
  const all = VERIFY_CHECKS.flatMap((check) => found[check]);
  return {
    ok: all.length === 0,
    counts: {
      ledgers: row.ledgers,
      accounts: row.accounts,
      transfers: row.transfers,
      journalBatches: row.batches,
    },
    checks: VERIFY_CHECKS.map((name) => ({
      name,
      ok: found[name].length === 0,
      violations: found[name].length,
    })),
    violations: all.slice(0, VIOLATIONS_REPORTED_MAX),
  };
}

/** A readable multi-line report for the CLI. */
export function formatVerifyReport(report: VerifyReport): string {
  const lines = [
    `ledger verify: ${report.ok ? 'OK' : 'VIOLATIONS FOUND'} (${report.counts.accounts} accounts, ` +
      `${report.counts.transfers} transfers, ${report.counts.journalBatches} journal batches)`,
    ...report.checks.map(
      (check) => `  ${check.ok ? 'ok  ' : 'FAIL'} ${check.name}${check.ok ? '' : ` (${check.violations})`}`,
    ),
    ...report.violations.map((violation) => `  - [${violation.check}] ${violation.message}`),
  ];
  return lines.join('\n');
}

async function checkLedgerBalances(db: Queryable): Promise<Violation[]> {
  const { rows } = await db.query<{ ledger: number; dp: string; cp: string; dpo: string; cpo: string }>(
    `SELECT ledger, sum(debits_pending)::text AS dp, sum(credits_pending)::text AS cp,
            sum(debits_posted)::text AS dpo, sum(credits_posted)::text AS cpo
       FROM ledger_accounts GROUP BY ledger
     HAVING sum(debits_pending) <> sum(credits_pending) OR sum(debits_posted) <> sum(credits_posted)`,
  );
  return rows.map((row) => ({
    check: 'ledger_balance' as const,
    message: `ledger ${row.ledger}: debits ${row.dpo} posted / ${row.dp} pending, credits ${row.cpo} posted / ${row.cp} pending`,
    details: { ledger: row.ledger },
  }));
}

// Posted: single-phase transfers and posts (flags neither pending=2 nor void=8).
// Pending: pending transfers neither resolved by a post/void nor expired.
async function checkAccountBalances(db: Queryable): Promise<Violation[]> {
  const result = await db.query<{ id: string; field: string; stored: string; expected: string }>(
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
      LIMIT ${VIOLATIONS_REPORTED_MAX}`,
  );
  return result.rows.map((row) => ({
    check: 'account_balance' as const,
    message: `account ${row.id}: ${row.field} is ${row.stored ?? 'absent'} but its transfers sum to ${row.expected}`,
    details: { account: row.id, field: row.field },
  }));
}

async function checkAccountFlags(db: Queryable): Promise<Violation[]> {
  const { rows } = await db.query<{ id: string; rule: string }>(
    `SELECT id::text, 'debits exceed credits' AS rule FROM ledger_accounts
      WHERE flags & 2 <> 0 AND debits_pending + debits_posted > credits_posted
     UNION ALL
     SELECT id::text, 'credits exceed debits' FROM ledger_accounts
      WHERE flags & 4 <> 0 AND credits_pending + credits_posted > debits_posted
     LIMIT ${VIOLATIONS_REPORTED_MAX}`,
  );
  return rows.map((row) => ({
    check: 'account_flags' as const,
    message: `account ${row.id}: ${row.rule} despite its flag`,
    details: { account: row.id },
  }));
}

async function checkPendingResolution(db: Queryable): Promise<Violation[]> {
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
     LIMIT ${VIOLATIONS_REPORTED_MAX}`,
  );
  return rows.map((row) => ({
    check: 'pending_resolution' as const,
    message: `pending transfer ${row.id}: ${row.problem}`,
    details: { transfer: row.id },
  }));
}

type JournalRow = {
  sequence: bigint;
  timestamp_first: bigint;
  timestamp_last: bigint;
  event_count: number;
  prev_hash: Buffer;
  hash: Buffer;
};

/** Every journaled event with a timestamp in [first, last], in timestamp order. */
async function eventsBetween(db: Queryable, first: bigint, last: bigint): Promise<JournalEvent[]> {
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

async function checkJournal(db: Queryable): Promise<Violation[]> {
  const violations: Violation[] = [];
  const report = (message: string, details?: Violation['details']) =>
    violations.push({ check: 'journal_chain', message, ...(details ? { details } : {}) });
  let previousHash: Buffer = GENESIS_HASH;
  let expectedSequence = 1n;
  let journaledEvents = 0;
  for (let afterSequence = 0n; ; ) {
    const { rows } = await db.query<JournalRow>(
      `SELECT sequence, timestamp_first, timestamp_last, event_count, prev_hash, hash FROM ledger_journal
        WHERE sequence > $1 ORDER BY sequence LIMIT 1000`,
      [afterSequence.toString()],
    );
    if (rows.length === 0) break;
    afterSequence = rows[rows.length - 1]!.sequence;
    // Fetch events for runs of batches holding about EVENTS_PER_QUERY events at a time.
    for (let start = 0; start < rows.length; ) {
      let end = start;
      let count = 0;
      while (end < rows.length && (end === start || count + rows[end]!.event_count <= EVENTS_PER_QUERY)) {
        count += rows[end]!.event_count;
        end++;
      }
      const group = rows.slice(start, end);
      const events = await eventsBetween(
        db,
        group[0]!.timestamp_first,
        group[group.length - 1]!.timestamp_last,
      );
      let cursor = 0;
      for (const batch of group) {
        if (batch.sequence !== expectedSequence) report(`journal batch ${expectedSequence} is missing`);
        expectedSequence = batch.sequence + 1n;
        if (!batch.prev_hash.equals(previousHash))
          report(`journal batch ${batch.sequence}: prev_hash does not match`);
        const inBatch: JournalEvent[] = [];
        for (; cursor < events.length && eventTimestamp(events[cursor]!) <= batch.timestamp_last; cursor++) {
          const event = events[cursor]!;
          if (eventTimestamp(event) < batch.timestamp_first) {
            report(`event at timestamp ${eventTimestamp(event)} belongs to no journal batch`);
          } else inBatch.push(event);
        }
        journaledEvents += inBatch.length;
        if (inBatch.length !== batch.event_count) {
          report(
            `journal batch ${batch.sequence}: ${batch.event_count} events journaled, ${inBatch.length} found`,
          );
        }
        if (!batchHash(batch.prev_hash, inBatch).equals(batch.hash)) {
          report(
            `journal batch ${batch.sequence}: hash does not match its rows (a row was changed, added or removed)`,
            {
              sequence: Number(batch.sequence),
            },
          );
        }
        previousHash = batch.hash;
      }
      if (violations.length >= VIOLATIONS_REPORTED_MAX) return violations;
      start = end;
    }
  }
  const totals = await db.query<{ events: number }>(
    `SELECT ((SELECT count(*) FROM ledger_accounts) + (SELECT count(*) FROM ledger_transfers)
           + (SELECT count(*) FROM ledger_pending WHERE status = 'expired')
           + (SELECT count(*) FROM ledger_transfers_failed))::int AS events`,
  );
  const unjournaled = totals.rows[0]!.events - journaledEvents;
  if (unjournaled !== 0) report(`${unjournaled} events lie outside every journal batch`);
  const head = await db.query<{ sequence: bigint; hash: Buffer }>('SELECT sequence, hash FROM ledger_head');
  const headRow = head.rows[0];
  if (!headRow || headRow.sequence !== expectedSequence - 1n || !headRow.hash.equals(previousHash)) {
    report('the journal head does not point at the last journal batch');
  }
  return violations;
}
