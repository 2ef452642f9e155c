import type { Database, Queryable } from '../platform/db/database.ts';
import { batchHash, eventTimestamp, GENESIS_HASH, type JournalEvent } from './journal.ts';
import * as store from './store/verify.ts';

/**
 * Proves the books from the stored rows alone (docs/LEDGER.md, "verify", lists each check with
 * what it catches and its tamper test):
 * - ledger_balance: per ledger, debits = credits (posted and pending);
 * - account_balance: each account's balances equal the sums of its transfers;
 * - account_flags: no account beyond its limit flags;
 * - account_closed: each account's closed flag is what its journaled transfers make it;
 * - pending_resolution: each pending transfer resolved at most once, never both posted and
 *   voided (or expired), and its recorded status agrees with the transfers;
 * - pending_deadline: each pending transfer's deadline is its journaled timestamp + timeout;
 * - resolution_amount: a post at most, a void exactly, the pending amount;
 * - resolution_accounts: a post or void on its pending transfer's accounts and ledger;
 * - resolution_deadline: posts and voids before the deadline, expiries at or after it;
 * - balance_history: the balance-history rows agree with the transfers;
 * - orphan_holds: no open pending transfer with a code no module owns;
 * - journal_chain: every batch's hash recomputes from its rows and links to the previous,
 *   every event belongs to exactly one batch, and the head points at the last batch.
 *
 * Each check runs in one read-only REPEATABLE READ snapshot of its own, so a busy database
 * shows no false violations. Checks marked incremental start from their checkpoint (the
 * journal position they last passed at, whose chain hash must still be the journal's) unless
 * `full`; the others read current state, whose size does not grow with history.
 */
export type VerifyCheck =
  | 'ledger_balance'
  | 'account_balance'
  | 'account_flags'
  | 'account_closed'
  | 'pending_resolution'
  | 'pending_deadline'
  | 'resolution_amount'
  | 'resolution_accounts'
  | 'resolution_deadline'
  | 'balance_history'
  | 'orphan_holds'
  | 'journal_chain';

export interface Violation {
  check: VerifyCheck;
  message: string;
  details?: Record<string, string | number | null>;
}

export interface VerifyProgress {
  check: string;
  done: number;
  total: number | null;
  unit: string;
}

export interface LedgerVerifyOptions {
  /** Verify everything, ignoring checkpoints (the default: a bare `verify()` proves it all). */
  full?: boolean;
  /** Record each passing incremental check's position as its checkpoint. */
  record?: boolean;
  /** Transfer codes whose holds a module owns (orphan_holds); without them that check is skipped. */
  holdCodes?: readonly number[];
  progress?: (progress: VerifyProgress) => void;
  now?: Date;
}

export interface CheckReport {
  name: VerifyCheck;
  ok: boolean;
  violations: number;
  /** What the check looked at: `examined` `unit`. */
  examined: number;
  unit: string;
  /** Verified from this journal position (0: from the start) up to `to`. */
  from: string;
  to: string;
}

export interface VerifyReport {
  ok: boolean;
  counts: { ledgers: number; accounts: number; transfers: number; journalBatches: number };
  checks: CheckReport[];
  /** The first VIOLATIONS_REPORTED_MAX violations. */
  violations: Violation[];
  /** The journal head of the last check, to note down outside the database (an anchor). */
  head: { sequence: string; hash: string };
}

const VIOLATIONS_REPORTED_MAX = 100;
const EVENTS_PER_QUERY = 10_000;

interface Scope {
  /** What lies after the checkpoint (all 0: everything). */
  cuts: store.Cuts;
  /**
   * One timestamp after which everything new lies (the transfer cut, the lowest): checks that
   * only look for new rows use it, and may see some already verified again.
   */
  since: bigint;
  from: store.Checkpoint | undefined;
  head: store.Checkpoint;
  record: boolean;
  options: LedgerVerifyOptions;
}

interface CheckOutcome {
  violations: Violation[];
  examined: number;
  unit: string;
  /** Written with the checkpoint when the check passed (account_balance's base). */
  onPass?: (q: Queryable) => Promise<void>;
}

interface CheckGroup {
  names: VerifyCheck[];
  incremental: boolean;
  run(q: Queryable, scope: Scope): Promise<CheckOutcome>;
}

export const VERIFY_CHECKS: readonly VerifyCheck[] = [
  'ledger_balance',
  'account_balance',
  'account_flags',
  'account_closed',
  'pending_resolution',
  'pending_deadline',
  'resolution_amount',
  'resolution_accounts',
  'resolution_deadline',
  'balance_history',
  'orphan_holds',
  'journal_chain',
];

const GROUPS: CheckGroup[] = [
  { names: ['ledger_balance'], incremental: false, run: checkLedgerBalances },
  { names: ['account_balance'], incremental: true, run: checkAccountBalances },
  { names: ['account_flags'], incremental: false, run: checkAccountFlags },
  { names: ['account_closed'], incremental: false, run: checkAccountClosed },
  { names: ['pending_resolution'], incremental: true, run: checkPendingResolution },
  { names: ['pending_deadline'], incremental: true, run: checkPendingDeadlines },
  {
    names: ['resolution_amount', 'resolution_accounts', 'resolution_deadline'],
    incremental: true,
    run: checkResolutions,
  },
  { names: ['balance_history'], incremental: true, run: checkBalanceHistory },
  { names: ['orphan_holds'], incremental: false, run: checkOrphanHolds },
  { names: ['journal_chain'], incremental: true, run: checkJournal },
];

export async function verifyLedger(db: Database, options: LedgerVerifyOptions = {}): Promise<VerifyReport> {
  const full = options.full ?? true;
  const checks: CheckReport[] = [];
  const all: Violation[] = [];
  let head: store.Checkpoint = {
    sequence: 0n,
    hash: GENESIS_HASH,
    timestamp_last: 0n,
    transfer_timestamp_max: 0n,
    account_timestamp_max: 0n,
  };
  for (const group of GROUPS) {
    const result = await store.inSnapshot(db, async (q) => {
      const pinned: Violation[] = [];
      let from = !full && group.incremental ? await store.checkpoint(q, group.names[0]!) : undefined;
      const at = await store.ledgerHead(q, group.incremental ? (from?.transfer_timestamp_max ?? 0n) : null);
      if (from && from.sequence > 0n) {
        // The checkpoint pins the chain: a journal rewritten before it no longer has its hash.
        const hash = await store.journalHashAt(q, from.sequence);
        if (!hash?.equals(from.hash)) {
          pinned.push({
            check: group.names[0]!,
            message: `checkpoint at journal batch ${from.sequence} no longer matches the journal (rows before it were rewritten, or the checkpoint was edited); verified from the start instead`,
          });
          from = undefined;
        }
      }
      const scope: Scope = {
        cuts: store.cutsAt(from),
        since: store.cutsAt(from).transfers,
        from,
        head: at,
        record: !!options.record,
        options,
      };
      const outcome = await group.run(q, scope);
      return { at, from, outcome: { ...outcome, violations: [...pinned, ...outcome.violations] } };
    });
    head = result.at;
    const { outcome } = result;
    if (options.record && group.incremental && outcome.violations.length === 0) {
      await db.transaction(async (tx) => {
        if (!(await store.mayRecord(tx, group.names[0]!, result.at.sequence))) return;
        await outcome.onPass?.(tx);
        for (const name of group.names)
          await store.recordCheckpoint(tx, name, result.at, options.now ?? new Date());
      });
    }
    for (const name of group.names) {
      const found = outcome.violations.filter((v) => v.check === name);
      checks.push({
        name,
        ok: found.length === 0,
        violations: found.length,
        examined: outcome.examined,
        unit: outcome.unit,
        from: (result.from?.sequence ?? 0n).toString(),
        to: result.at.sequence.toString(),
      });
      all.push(...found);
      options.progress?.({
        check: name,
        done: outcome.examined,
        total: outcome.examined,
        unit: outcome.unit,
      });
    }
  }
  const row = await store.ledgerCounts(db);
  return {
    ok: all.length === 0,
    counts: {
      ledgers: row.ledgers,
      accounts: row.accounts,
      transfers: row.transfers,
      journalBatches: row.batches,
    },
    checks,
    violations: all.slice(0, VIOLATIONS_REPORTED_MAX),
    head: { sequence: head.sequence.toString(), hash: head.hash.toString('hex') },
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

async function checkLedgerBalances(q: Queryable): Promise<CheckOutcome> {
  const rows = await store.ledgerImbalances(q);
  const { ledgers } = await store.ledgerCounts(q);
  return {
    examined: ledgers,
    unit: 'ledgers',
    violations: rows.map((row) => ({
      check: 'ledger_balance' as const,
      message: `ledger ${row.ledger}: debits ${row.dpo} posted / ${row.dp} pending, credits ${row.cpo} posted / ${row.cp} pending`,
      details: { ledger: row.ledger },
    })),
  };
}

async function checkAccountBalances(q: Queryable, scope: Scope): Promise<CheckOutcome> {
  const rows = await store.accountBalanceMismatches(q, scope.cuts, !!scope.from, VIOLATIONS_REPORTED_MAX);
  const { accounts } = await store.ledgerCounts(q);
  const balances =
    scope.record && rows.length === 0 ? await store.balancesToRecord(q, scope.cuts, !scope.from) : undefined;
  return {
    examined: accounts,
    unit: 'accounts',
    violations: rows.map((row) => ({
      check: 'account_balance' as const,
      message: `account ${row.id}: ${row.field} is ${row.stored ?? 'absent'} but its transfers sum to ${row.expected}`,
      details: { account: row.id, field: row.field },
    })),
    ...(balances ? { onPass: (tx: Queryable) => store.recordBalances(tx, balances, !scope.from) } : {}),
  };
}

async function checkAccountFlags(q: Queryable): Promise<CheckOutcome> {
  const rows = await store.accountFlagBreaches(q, VIOLATIONS_REPORTED_MAX);
  const { accounts } = await store.ledgerCounts(q);
  return {
    examined: accounts,
    unit: 'accounts',
    violations: rows.map((row) => ({
      check: 'account_flags' as const,
      message: `account ${row.id}: ${row.rule} despite its flag`,
      details: { account: row.id },
    })),
  };
}

async function checkAccountClosed(q: Queryable): Promise<CheckOutcome> {
  const rows = await store.accountClosedProblems(q, VIOLATIONS_REPORTED_MAX);
  const { accounts } = await store.ledgerCounts(q);
  return {
    examined: accounts,
    unit: 'accounts',
    violations: rows.map((row) => ({
      check: 'account_closed' as const,
      message: row.closed
        ? `account ${row.id}: closed, but it was not created closed and no closing transfer holds it`
        : `account ${row.id}: open, but ${row.by ? `closing transfer ${row.by} closes it` : 'it was created closed'}`,
      details: { account: row.id },
    })),
  };
}

async function checkPendingResolution(q: Queryable, scope: Scope): Promise<CheckOutcome> {
  const rows = await store.pendingResolutionProblems(q, scope.since, VIOLATIONS_REPORTED_MAX);
  return {
    examined: await store.transfersAfter(q, scope.since),
    unit: 'transfers',
    violations: rows.map((row) => ({
      check: 'pending_resolution' as const,
      message: `pending transfer ${row.id}: ${row.problem}`,
      details: { transfer: row.id },
    })),
  };
}

async function checkPendingDeadlines(q: Queryable, scope: Scope): Promise<CheckOutcome> {
  const rows = await store.pendingDeadlineProblems(q, scope.since, VIOLATIONS_REPORTED_MAX);
  return {
    examined: await store.transfersAfter(q, scope.since),
    unit: 'transfers',
    violations: rows.map((row) => ({
      check: 'pending_deadline' as const,
      message: `pending transfer ${row.id}: deadline is ${row.stored ?? 'none'}, its journaled timeout gives ${row.journaled ?? 'none'}`,
      details: { transfer: row.id },
    })),
  };
}

async function checkResolutions(q: Queryable, scope: Scope): Promise<CheckOutcome> {
  const rows = await store.resolutionProblems(q, scope.since, VIOLATIONS_REPORTED_MAX);
  return {
    examined: await store.transfersAfter(q, scope.since),
    unit: 'transfers',
    violations: rows.map((row) => ({
      check: row.check as VerifyCheck,
      message: `transfer ${row.id}: ${row.problem}`,
      details: { transfer: row.id },
    })),
  };
}

async function checkBalanceHistory(q: Queryable, scope: Scope): Promise<CheckOutcome> {
  const rows = await store.balanceHistoryProblems(q, scope.since, VIOLATIONS_REPORTED_MAX);
  return {
    examined: await store.historyRowsAfter(q, scope.since),
    unit: 'history rows',
    violations: rows.map((row) => ({
      check: 'balance_history' as const,
      message: `account ${row.id} at ${row.timestamp}: ${row.problem}`,
      details: { account: row.id, timestamp: row.timestamp },
    })),
  };
}

async function checkOrphanHolds(q: Queryable, scope: Scope): Promise<CheckOutcome> {
  const codes = scope.options.holdCodes;
  if (!codes) return { examined: 0, unit: 'open holds (no owners declared)', violations: [] };
  const rows = await store.unownedHolds(q, codes, VIOLATIONS_REPORTED_MAX);
  return {
    examined: await store.openHoldCount(q),
    unit: 'open holds',
    violations: rows.map((row) => ({
      check: 'orphan_holds' as const,
      message: `pending transfer ${row.id}: holds ${row.amount} under code ${row.code}, which no module owns`,
      details: { transfer: row.id, code: row.code },
    })),
  };
}

async function checkJournal(q: Queryable, scope: Scope): Promise<CheckOutcome> {
  const violations: Violation[] = [];
  const report = (message: string, details?: Violation['details']) =>
    violations.push({ check: 'journal_chain', message, ...(details ? { details } : {}) });
  const start = scope.from ?? { sequence: 0n, hash: GENESIS_HASH };
  const total = Number(scope.head.sequence - start.sequence);
  let previousHash: Buffer = start.hash;
  let expectedSequence = start.sequence + 1n;
  let journaledEvents = 0;
  let batches = 0;
  for (let afterSequence = start.sequence; ; ) {
    const rows = await store.journalBatchesAfter(q, afterSequence);
    if (rows.length === 0) break;
    afterSequence = rows[rows.length - 1]!.sequence;
    // Fetch events for runs of batches holding about EVENTS_PER_QUERY events at a time.
    for (let first = 0; first < rows.length; ) {
      let end = first;
      let count = 0;
      while (end < rows.length && (end === first || count + rows[end]!.event_count <= EVENTS_PER_QUERY)) {
        count += rows[end]!.event_count;
        end++;
      }
      const group = rows.slice(first, end);
      const events = await store.eventsBetween(
        q,
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
            { sequence: Number(batch.sequence) },
          );
        }
        previousHash = batch.hash;
      }
      batches += group.length;
      scope.options.progress?.({ check: 'journal_chain', done: batches, total, unit: 'journal batches' });
      if (violations.length >= VIOLATIONS_REPORTED_MAX)
        return { violations, examined: batches, unit: 'journal batches' };
      first = end;
    }
  }
  const unjournaled = (await store.journaledEventTotal(q, scope.cuts)) - journaledEvents;
  if (unjournaled !== 0) report(`${unjournaled} events lie outside every journal batch`);
  if (scope.head.sequence !== expectedSequence - 1n || !scope.head.hash.equals(previousHash)) {
    report('the journal head does not point at the last journal batch');
  }
  return { violations, examined: batches, unit: 'journal batches' };
}
