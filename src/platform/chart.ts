/**
 * The chart of accounts: which ledger account and transfer codes exist, who owns each, and how
 * each transfer shows on a user's statement. Every module declares its own codes in a
 * `ChartSlice`; `joinCharts` joins the slices and refuses a code claimed twice.
 *
 * Account ids are deterministic (`accountId(kind, owner)`), so any module can address, say, a
 * user's wallet without a lookup.
 */
import { deterministicId } from './ids.ts';

export interface ChartSlice {
  /** Account kinds (the name used in `accountId`) → ledger account code. */
  accounts?: Record<string, number>;
  /** Transfer kinds → ledger transfer code and the statement label users see. */
  transfers?: Record<string, { code: number; statement: string }>;
  /** Account kinds the module keeps one of per ledger, owned by SYSTEM_OWNER (its side of the books). */
  systemAccounts?: readonly string[];
}

export interface ChartOfAccounts {
  /** The statement label of a transfer code ('other' for a code no module claims). */
  statementLabel(code: number): string;
  /** Every statement label, in module order. */
  readonly statementLabels: readonly string[];
  /** The module that owns an account code, if any. */
  accountOwner(code: number): string | undefined;
  /** Every module's system accounts (CNY), for the ledger explorer. */
  readonly systemAccounts: ReadonlyArray<{ kind: string; code: number; id: string }>;
  /** Every transfer code some module claims (a hold under any other code has no owner). */
  readonly transferCodes: readonly number[];
}

export function joinCharts(slices: ReadonlyArray<{ module: string; chart?: ChartSlice }>): ChartOfAccounts {
  const accountOwners = new Map<number, string>();
  const transferLabels = new Map<number, string>();
  const transferOwners = new Map<number, string>();
  const labels: string[] = [];
  const systemAccounts: Array<{ kind: string; code: number; id: string }> = [];
  for (const { module, chart } of slices) {
    for (const kind of chart?.systemAccounts ?? []) {
      const code = chart?.accounts?.[kind];
      if (code === undefined) throw new Error(`system account ${module}.${kind} has no account code`);
      systemAccounts.push({ kind, code, id: accountId(kind, SYSTEM_OWNER) });
    }
    for (const [kind, code] of Object.entries(chart?.accounts ?? {})) {
      const owner = accountOwners.get(code);
      if (owner) throw new Error(`account code ${code} (${module}.${kind}) is already ${owner}'s`);
      accountOwners.set(code, module);
    }
    for (const [kind, { code, statement }] of Object.entries(chart?.transfers ?? {})) {
      const owner = transferOwners.get(code);
      if (owner) throw new Error(`transfer code ${code} (${module}.${kind}) is already ${owner}'s`);
      transferOwners.set(code, module);
      transferLabels.set(code, statement);
      if (!labels.includes(statement)) labels.push(statement);
    }
  }
  labels.push('other');
  return {
    statementLabel: (code) => transferLabels.get(code) ?? 'other',
    statementLabels: labels,
    accountOwner: (code) => accountOwners.get(code),
    systemAccounts,
    transferCodes: [...transferOwners.keys()],
  };
}

/**
 * The id of the account of `kind` owned by `owner` (a user, merchant or envelope id; 'system'
 * for a module's system accounts).
 */
export function accountId(kind: string, owner: string, currency = 'CNY'): string {
  if (currency !== 'CNY') return deterministicId('account', kind, owner, currency);
  let ids = recentCnyAccountIds.get(kind);
  if (!ids) {
    ids = new Map();
    recentCnyAccountIds.set(kind, ids);
  }
  let id = ids.get(owner);
  if (id === undefined) {
    // Bounded: dropped whole when full (hot paths ask for the same few thousand ids again and again).
    if (ids.size >= RECENT_ACCOUNT_IDS_MAX) ids.clear();
    id = deterministicId('account', kind, owner, currency);
    ids.set(owner, id);
  }
  return id;
}
const RECENT_ACCOUNT_IDS_MAX = 100_000;
const recentCnyAccountIds = new Map<string, Map<string, string>>();

/** Owner of a module's system accounts in `accountId`. */
export const SYSTEM_OWNER = 'system';
