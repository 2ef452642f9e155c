import { readFileSync } from 'node:fs';
import { type AccountFilter, QUERY_LIMIT_MAX, type QueryFilter } from '../query.ts';
import {
  type AccountBalances,
  type AccountEvent,
  AccountFlags,
  AMOUNT_MAX,
  NANOSECONDS_PER_SECOND,
  NIL_ID,
  type TransferEvent,
  TransferFlags,
} from '../types.ts';
import { InMemoryLedger } from './in-memory.ts';

/**
 * Runs TigerBeetle's own state-machine cases (transcribed into `tigerbeetle-cases.json`, in
 * this project's format) against the pure state machine, and counts how many answer as
 * TigerBeetle does.
 *
 * Mapping: TigerBeetle's u128 ids become UUIDs (`A<n>` accounts, `T<n>` transfers, `max` the
 * all-ones id, null the nil id); its maximum amount (2^128 - 1, written `max` or `max-<n>`) is
 * our int8 maximum `AMOUNT_MAX`; timestamps are already int8 nanoseconds in both. TigerBeetle
 * has no table of ledgers, so the cases run with every ledger number known. A case that needs
 * something our API cannot express (balances or the reserved field in a create_accounts event,
 * change events) is counted as not run, never as a pass.
 */
export interface CaseReport {
  /** Cases (one per event with an expected result, per lookup, per query) in the file. */
  total: number;
  run: number;
  matched: number;
  notRun: { scenario: string; case: number; reason: string }[];
  mismatches: { scenario: string; case: number; expected: string; actual: string }[];
}

type Amount = string;
interface AccountCase {
  id: string | null;
  balances?: Amount[];
  reservedField?: boolean;
  userData128?: string;
  userData64?: string;
  userData32?: string;
  ledger: string;
  code: string;
  flags: string[];
  timestamp?: string;
  expect: string;
}
interface TransferCase {
  id: string | null;
  debit: string | null;
  credit: string | null;
  amount: Amount;
  pending: string | null;
  userData128?: string;
  userData64?: string;
  userData32?: string;
  timeout: string;
  ledger: string;
  code: string;
  flags: string[];
  timestamp?: string;
  expect: string;
}
type Step =
  | { createAccounts: AccountCase[] }
  | { createTransfers: TransferCase[] }
  | { setBalances: { account: string; balances: Amount[] } }
  | { tick: { value: string; unit: 'seconds' | 'nanoseconds' } }
  | { lookupAccounts: { id: string | null; expect: { balances: Amount[]; closed: boolean } | null }[] }
  | {
      lookupTransfers: {
        id: string | null;
        expect: { exists?: boolean; amount?: Amount; timestamp?: string };
      }[];
    }
  | { accountTransfers: { filter: AccountFilterCase; expect: string[] } }
  | { accountBalances: { filter: AccountFilterCase; expect: { transfer: string; balances: Amount[] }[] } }
  | { queryAccounts: { filter: QueryFilterCase; expect: { id: string }[] } }
  | { queryTransfers: { filter: QueryFilterCase; expect: string[] } }
  | { changeEvents: unknown };

interface FilterCase {
  userData128: string | null;
  userData64: string | null;
  userData32: string | null;
  code: string | null;
  /** The timestamp of this account or transfer (null: 0, unbounded). */
  timestampMinOf: string | null;
  timestampMaxOf: string | null;
  limit: Amount;
  reversed: boolean;
}
type AccountFilterCase = FilterCase & { account: string | null; debits: boolean; credits: boolean };
type QueryFilterCase = FilterCase & { ledger: string | null };

export interface CaseFile {
  source: string;
  scenarios: { name: string; steps: Step[] }[];
}

export function loadCases(): CaseFile {
  return JSON.parse(readFileSync(new URL('./tigerbeetle-cases.json', import.meta.url), 'utf8'));
}

const MAX_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
const TIMESTAMP_MAX = (1n << 63n) - 1n;
const TIMESTAMP_START = 1n;

function uuid(symbol: string | null): string {
  if (symbol === null) return NIL_ID;
  if (symbol === 'max') return MAX_ID;
  const match = /^([AT])(\d+)$/.exec(symbol);
  if (!match) throw new Error(`tigerbeetle cases: id ${symbol}`);
  const tail = `${match[1] === 'A' ? 'a' : 'b'}${Number(match[2]).toString(16).padStart(11, '0')}`;
  return `00000000-0000-4000-8000-${tail}`;
}

function userData128(value: string | undefined): string | null {
  if (value === undefined || value === '0') return null;
  return `00000000-0000-4000-9000-${BigInt(value).toString(16).padStart(12, '0')}`;
}

function amount(value: string): bigint {
  if (value === 'max') return AMOUNT_MAX;
  if (value.startsWith('max-')) return AMOUNT_MAX - BigInt(value.slice(4));
  return BigInt(value);
}

const ACCOUNT_FLAG_BITS: Record<string, number> = {
  linked: AccountFlags.linked,
  debits_must_not_exceed_credits: AccountFlags.debits_must_not_exceed_credits,
  credits_must_not_exceed_debits: AccountFlags.credits_must_not_exceed_debits,
  history: AccountFlags.history,
  imported: AccountFlags.imported,
  closed: AccountFlags.closed,
  reserved_bit: 1 << 12,
};
const TRANSFER_FLAG_BITS: Record<string, number> = {
  linked: TransferFlags.linked,
  pending: TransferFlags.pending,
  post_pending_transfer: TransferFlags.post_pending_transfer,
  void_pending_transfer: TransferFlags.void_pending_transfer,
  balancing_debit: TransferFlags.balancing_debit,
  balancing_credit: TransferFlags.balancing_credit,
  closing_debit: TransferFlags.closing_debit,
  closing_credit: TransferFlags.closing_credit,
  imported: TransferFlags.imported,
  reserved_bit: 1 << 12,
};
/** TigerBeetle's timestamps are u64: `max-<n>` is 2^64 - 1 - n (beyond the valid range). */
function eventTimestamp(value: string): bigint {
  if (value === 'max') return (1n << 64n) - 1n;
  if (value.startsWith('max-')) return (1n << 64n) - 1n - BigInt(value.slice(4));
  return BigInt(value);
}

function refersToSkipped(step: { filter: FilterCase & { account?: string | null } }, skipped: Set<string>) {
  return !!step.filter.account && skipped.has(step.filter.account);
}

/**
 * The filter fields every kind shares. `…Of` names the object whose timestamp is the bound: an
 * account for query_accounts, else a transfer (TigerBeetle's cases number them alike: `A5` in
 * a transfer query is the fifth transfer).
 */
function commonFilter(ledger: InMemoryLedger, f: FilterCase, kind: 'accounts' | 'transfers') {
  const timestampOf = (symbol: string | null) => {
    if (symbol === null) return 0n;
    const n = symbol.slice(1);
    const object =
      kind === 'accounts' ? ledger.accounts.get(uuid(`A${n}`)) : ledger.transfers.get(uuid(`T${n}`));
    if (!object) throw new Error(`tigerbeetle cases: no ${symbol} to take a timestamp from`);
    return object.timestamp;
  };
  const limit = amount(f.limit);
  return {
    userData128: userData128(f.userData128 ?? undefined),
    userData64: BigInt(f.userData64 ?? 0),
    userData32: Number(f.userData32 ?? 0),
    code: Number(f.code ?? 0),
    timestampMin: timestampOf(f.timestampMinOf),
    timestampMax: timestampOf(f.timestampMaxOf),
    limit: limit > BigInt(QUERY_LIMIT_MAX) ? QUERY_LIMIT_MAX : Number(limit),
    reversed: f.reversed,
  };
}

const bits = (names: string[], table: Record<string, number>) =>
  names.reduce((flags, name) => flags | table[name]!, 0);

/** Features of the ledger the runner may use, so the same file measures before and after. */
export interface Capabilities {
  /** Client-set timestamps with the `imported` flag. */
  imported: boolean;
}

export function runCases(file: CaseFile, capabilities: Capabilities): CaseReport {
  const report: CaseReport = { total: 0, run: 0, matched: 0, notRun: [], mismatches: [] };
  for (const scenario of file.scenarios) runScenario(scenario, capabilities, report);
  return report;
}

function runScenario(
  scenario: CaseFile['scenarios'][number],
  capabilities: Capabilities,
  report: CaseReport,
) {
  const ledgers = new Set(Array.from({ length: 100 }, (_, i) => i + 1));
  // TigerBeetle's test cluster starts its clock near 0 (imported timestamps depend on it).
  const ledger = new InMemoryLedger(ledgers, TIMESTAMP_START);
  const skipped = new Set<string>();
  let index = 0;
  const notRun = (reason: string) => {
    report.total++;
    report.notRun.push({ scenario: scenario.name, case: index++, reason });
  };
  const check = (expected: string, actual: string) => {
    report.total++;
    report.run++;
    if (expected === actual) report.matched++;
    else report.mismatches.push({ scenario: scenario.name, case: index, expected, actual });
    index++;
  };
  for (const step of scenario.steps) {
    if ('createAccounts' in step) {
      const runnable: { event: AccountEvent; expect: string; at: number }[] = [];
      const order: (number | string)[] = [];
      for (const c of step.createAccounts) {
        const reason = c.balances
          ? 'balances in a create event'
          : c.reservedField
            ? 'reserved field'
            : (c.timestamp || c.flags.includes('imported')) && !capabilities.imported
              ? 'imported events'
              : null;
        if (reason) {
          order.push(reason);
          if (c.id) skipped.add(c.id);
          continue;
        }
        order.push(runnable.length);
        runnable.push({
          event: {
            id: uuid(c.id),
            ledger: Number(c.ledger),
            code: Number(c.code),
            flags: bits(c.flags, ACCOUNT_FLAG_BITS),
            userData128: userData128(c.userData128),
            userData64: BigInt(c.userData64 ?? 0),
            userData32: Number(c.userData32 ?? 0),
            ...(c.timestamp ? { timestamp: eventTimestamp(c.timestamp) } : {}),
          },
          expect: c.expect,
          at: 0,
        });
      }
      const outcomes = runnable.length ? ledger.createAccounts(runnable.map((r) => r.event)) : [];
      for (const entry of order) {
        if (typeof entry === 'string') notRun(entry);
        else check(runnable[entry]!.expect, outcomes[entry]!.result);
      }
    } else if ('createTransfers' in step) {
      const runnable: { event: TransferEvent; expect: string }[] = [];
      const order: (number | string)[] = [];
      for (const c of step.createTransfers) {
        const uses = [c.debit, c.credit, c.pending].some((id) => id !== null && skipped.has(id));
        const reason =
          (c.timestamp || c.flags.includes('imported')) && !capabilities.imported
            ? 'imported events'
            : uses
              ? 'refers to an event not run'
              : null;
        if (reason) {
          order.push(reason);
          if (c.id) skipped.add(c.id);
          continue;
        }
        order.push(runnable.length);
        runnable.push({
          event: {
            id: uuid(c.id),
            debitAccountId: c.debit === null ? null : uuid(c.debit),
            creditAccountId: c.credit === null ? null : uuid(c.credit),
            amount: amount(c.amount),
            pendingId: c.pending === null ? null : uuid(c.pending),
            ledger: Number(c.ledger),
            code: Number(c.code),
            flags: bits(c.flags, TRANSFER_FLAG_BITS),
            timeout: Number(c.timeout),
            userData128: userData128(c.userData128),
            userData64: BigInt(c.userData64 ?? 0),
            userData32: Number(c.userData32 ?? 0),
            ...(c.timestamp ? { timestamp: eventTimestamp(c.timestamp) } : {}),
          },
          expect: c.expect,
        });
      }
      const outcomes = runnable.length ? ledger.createTransfers(runnable.map((r) => r.event)) : [];
      for (const entry of order) {
        if (typeof entry === 'string') notRun(entry);
        else check(runnable[entry]!.expect, outcomes[entry]!.result);
      }
    } else if ('setBalances' in step) {
      const id = uuid(step.setBalances.account);
      const account = ledger.accounts.get(id);
      if (!account) continue;
      const [debitsPending, debitsPosted, creditsPending, creditsPosted] =
        step.setBalances.balances.map(amount);
      ledger.accounts.set(id, {
        ...account,
        debitsPending: debitsPending!,
        debitsPosted: debitsPosted!,
        creditsPending: creditsPending!,
        creditsPosted: creditsPosted!,
      });
    } else if ('tick' in step) {
      const value = BigInt(step.tick.value);
      const unit = step.tick.unit === 'seconds' ? NANOSECONDS_PER_SECOND : 1n;
      ledger.timestamp = value > 0n ? ledger.timestamp + value * unit : TIMESTAMP_MAX + value * unit;
      ledger.expireDue(); // TigerBeetle expires due transfers when the cluster is idle.
    } else if ('lookupAccounts' in step) {
      for (const lookup of step.lookupAccounts) {
        if (lookup.id !== null && skipped.has(lookup.id)) {
          notRun('refers to an event not run');
          continue;
        }
        const account = ledger.accounts.get(uuid(lookup.id));
        const actual = account
          ? JSON.stringify({
              balances: [
                account.debitsPending,
                account.debitsPosted,
                account.creditsPending,
                account.creditsPosted,
              ].map((n) => (n === AMOUNT_MAX ? 'max' : n.toString())),
              closed: account.closed,
            })
          : 'null';
        const expected = lookup.expect
          ? JSON.stringify({
              balances: lookup.expect.balances.map((n) =>
                amount(n) === AMOUNT_MAX ? 'max' : amount(n).toString(),
              ),
              closed: lookup.expect.closed,
            })
          : 'null';
        check(expected, actual);
      }
    } else if ('lookupTransfers' in step) {
      for (const lookup of step.lookupTransfers) {
        if (lookup.id !== null && skipped.has(lookup.id)) {
          notRun('refers to an event not run');
          continue;
        }
        const transfer = ledger.transfers.get(uuid(lookup.id));
        const { exists, amount: expectedAmount, timestamp } = lookup.expect;
        if (exists !== undefined) check(String(exists), String(transfer !== undefined));
        else if (expectedAmount !== undefined)
          check(amount(expectedAmount).toString(), transfer ? transfer.amount.toString() : 'missing');
        else if (timestamp !== undefined)
          check(timestamp, transfer ? transfer.timestamp.toString() : 'missing');
      }
    } else if (
      ('queryAccounts' in step ||
        'queryTransfers' in step ||
        'accountTransfers' in step ||
        'accountBalances' in step) &&
      refersToSkipped(Object.values(step)[0] as { filter: FilterCase & { account?: string | null } }, skipped)
    ) {
      notRun('refers to an event not run');
    } else if ('queryAccounts' in step || 'queryTransfers' in step) {
      const { filter: f, expect } = 'queryAccounts' in step ? step.queryAccounts : step.queryTransfers;
      const kind = 'queryAccounts' in step ? 'accounts' : 'transfers';
      const filter: QueryFilter = { ...commonFilter(ledger, f, kind), ledger: Number(f.ledger ?? 0) };
      const found =
        'queryAccounts' in step
          ? ledger.queryAccounts(filter).map((a) => a.id)
          : ledger.queryTransfers(filter).map((t) => t.id);
      const expected = expect.map((e) => uuid(typeof e === 'string' ? e : e.id));
      check(JSON.stringify(expected), JSON.stringify(found));
    } else if ('accountTransfers' in step || 'accountBalances' in step) {
      const { filter: f } = 'accountTransfers' in step ? step.accountTransfers : step.accountBalances;
      const filter: AccountFilter = {
        ...commonFilter(ledger, f, 'transfers'),
        accountId: uuid(f.account),
        debits: f.debits,
        credits: f.credits,
      };
      if ('accountTransfers' in step) {
        const found = ledger.getAccountTransfers(filter).map((t) => t.id);
        check(JSON.stringify(step.accountTransfers.expect.map(uuid)), JSON.stringify(found));
      } else {
        const show = (b: AccountBalances & { timestamp: bigint }) =>
          `${b.timestamp}:${[b.debitsPending, b.debitsPosted, b.creditsPending, b.creditsPosted].join(',')}`;
        const found = ledger.getAccountBalances(filter).map((b) => show(b));
        const expected = step.accountBalances.expect.map((e) => {
          const [debitsPending, debitsPosted, creditsPending, creditsPosted] = e.balances.map(amount);
          const timestamp = ledger.transfers.get(uuid(e.transfer))?.timestamp ?? -1n;
          return show({
            timestamp,
            debitsPending: debitsPending!,
            debitsPosted: debitsPosted!,
            creditsPending: creditsPending!,
            creditsPosted: creditsPosted!,
          });
        });
        check(JSON.stringify(expected), JSON.stringify(found));
      }
    } else {
      const kind = Object.keys(step)[0]!;
      notRun(
        kind === 'changeEvents'
          ? 'change events (no such API)'
          : `${kind} (not run against the pure state machine)`,
      );
    }
  }
}
