import type { Queryable } from '../platform/db/database.ts';
import { batchHash, eventTimestamp, GENESIS_HASH, type JournalEvent } from './journal.ts';
import * as store from './store/verify.ts';

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
  const row = await store.ledgerCounts(db);
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
  return (await store.ledgerImbalances(db)).map((row) => ({
    check: 'ledger_balance' as const,
    message: `ledger ${row.ledger}: debits ${row.dpo} posted / ${row.dp} pending, credits ${row.cpo} posted / ${row.cp} pending`,
    details: { ledger: row.ledger },
  }));
}

async function checkAccountBalances(db: Queryable): Promise<Violation[]> {
  return (await store.accountBalanceMismatches(db, VIOLATIONS_REPORTED_MAX)).map((row) => ({
    check: 'account_balance' as const,
    message: `account ${row.id}: ${row.field} is ${row.stored ?? 'absent'} but its transfers sum to ${row.expected}`,
    details: { account: row.id, field: row.field },
  }));
}

async function checkAccountFlags(db: Queryable): Promise<Violation[]> {
  return (await store.accountFlagBreaches(db, VIOLATIONS_REPORTED_MAX)).map((row) => ({
    check: 'account_flags' as const,
    message: `account ${row.id}: ${row.rule} despite its flag`,
    details: { account: row.id },
  }));
}

async function checkPendingResolution(db: Queryable): Promise<Violation[]> {
  return (await store.pendingResolutionProblems(db, VIOLATIONS_REPORTED_MAX)).map((row) => ({
    check: 'pending_resolution' as const,
    message: `pending transfer ${row.id}: ${row.problem}`,
    details: { transfer: row.id },
  }));
}

async function checkJournal(db: Queryable): Promise<Violation[]> {
  const violations: Violation[] = [];
  const report = (message: string, details?: Violation['details']) =>
    violations.push({ check: 'journal_chain', message, ...(details ? { details } : {}) });
  let previousHash: Buffer = GENESIS_HASH;
  let expectedSequence = 1n;
  let journaledEvents = 0;
  for (let afterSequence = 0n; ; ) {
    const rows = await store.journalBatchesAfter(db, afterSequence);
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
      const events = await store.eventsBetween(
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
  const unjournaled = (await store.journaledEventTotal(db)) - journaledEvents;
  if (unjournaled !== 0) report(`${unjournaled} events lie outside every journal batch`);
  const headRow = await store.ledgerHead(db);
  if (!headRow || headRow.sequence !== expectedSequence - 1n || !headRow.hash.equals(previousHash)) {
    report('the journal head does not point at the last journal batch');
  }
  return violations;
}
