import type { Clock } from '../platform/clock.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import {
  type AccountBalance,
  type AccountFilter,
  accountFilterProblem,
  assertFilter,
  type QueryFilter,
  queryFilterProblem,
} from './query.ts';
import type { CreateAccountOutcome, CreateTransferOutcome } from './results.ts';
import {
  findDuePending,
  getAccountBalances,
  getAccountHistory,
  getAccountTransfers,
  getBalancesAsOf,
  type HistoryPage,
  lookupAccounts,
  lookupPending,
  lookupTransfers,
  queryAccounts,
  queryTransfers,
} from './store/reads.ts';
import { openHolds } from './store/verify.ts';
import type {
  Account,
  AccountBalances,
  AccountEvent,
  PendingState,
  Transfer,
  TransferEvent,
} from './types.ts';
import { assertAccountEvents, assertIds, assertQueryFields, assertTransferEvents } from './validate.ts';
import { type LedgerVerifyOptions, type VerifyReport, verifyLedger } from './verify.ts';
import { type CommitParticipant, GroupCommitWriter, type WriterOptions } from './writer.ts';

export interface LedgerOptions {
  db: Database;
  clock: Clock;
  writer?: WriterOptions;
}

/** Pending transfers voided per expiry batch. */
export const EXPIRY_BATCH_MAX = 4096;

/**
 * The ledger service: the only way money moves in Tuyere. Writes go through one group-commit
 * writer per process; reads query committed rows directly.
 *
 * @example
 * const ledger = new Ledger({ db, clock: systemClock });
 * // Ids and codes come from the owning modules' charts (src/platform/chart.ts).
 * const [wallet, merchant] = [accountId('userWallet', userId), accountId('merchantBalance', merchantId)];
 * await ledger.createAccounts([
 *   { id: wallet, ledger: Ledgers.CNY, code: 2001, flags: AccountFlags.debits_must_not_exceed_credits, userData128: userId },
 *   { id: merchant, ledger: Ledgers.CNY, code: 3001, userData128: merchantId },
 * ]);
 * const [result] = await ledger.createTransfers([
 *   { id: deterministicId('merchants.order.pay', orderId), debitAccountId: wallet, creditAccountId: merchant,
 *     amount: 1250n, ledger: Ledgers.CNY, code: 30 },
 * ]);
 * if (!succeeded(result!.result)) throw new Error(result!.result); // e.g. 'exceeds_credits'
 */
export class Ledger {
  readonly db: Database;
  readonly clock: Clock;
  readonly writer: GroupCommitWriter;

  constructor(options: LedgerOptions) {
    this.db = options.db;
    this.clock = options.clock;
    this.writer = new GroupCommitWriter(options.db, options.clock, options.writer);
  }

  /**
   * Creates up to 8,190 accounts; returns one outcome per event, in order. Throws AppError
   * only for malformed input (`ledger_invalid_event`) or overload (`ledger_overloaded`).
   */
  async createAccounts(events: readonly AccountEvent[]): Promise<CreateAccountOutcome[]> {
    assertAccountEvents(events);
    return (await this.writer.submit({ kind: 'accounts', events })) as CreateAccountOutcome[];
  }

  /**
   * Creates up to 8,190 transfers; returns one outcome per event, in order. Linked chains
   * (flag `linked` on all but the last event of a chain) commit or fail together. A
   * `participant` joins the ledger's commit: its writes commit with these transfers or not at
   * all (see CommitParticipant); its refusal rejects the call.
   *
   * @example
   * // Reserve, then capture part of it:
   * await ledger.createTransfers([{ id: holdId, debitAccountId: wallet, creditAccountId: escrow,
   *   amount: 5000n, ledger: Ledgers.CNY, code: 7, flags: TransferFlags.pending, timeout: 900 }]);
   * await ledger.createTransfers([{ id: captureId, pendingId: holdId, amount: 4200n,
   *   flags: TransferFlags.post_pending_transfer }]);
   */
  async createTransfers(
    events: readonly TransferEvent[],
    options: { participant?: CommitParticipant } = {},
  ): Promise<CreateTransferOutcome[]> {
    assertTransferEvents(events);
    return (await this.writer.submit({
      kind: 'transfers',
      events,
      participant: options.participant,
    })) as CreateTransferOutcome[];
  }

  /**
   * Accounts by id, in the order asked; unknown ids are left out. Pass a transaction to read
   * them in the same snapshot as other rows (a consistency check). Balances are those at the
   * clock's now: a pending transfer past its deadline no longer counts (nor keeps a closing
   * hold's account closed), even before the expiry job has run.
   */
  lookupAccounts(ids: readonly string[], executor: Queryable = this.db): Promise<Account[]> {
    assertIds(ids);
    return lookupAccounts(executor, ids, this.nowNs());
  }

  /** Ledger time (ns) of the injected clock: what reads and deadlines are measured against. */
  private nowNs(): bigint {
    return BigInt(this.clock.now().getTime()) * 1_000_000n;
  }

  /** Transfers by id, in the order asked; unknown ids are left out. */
  lookupTransfers(ids: readonly string[], executor: Queryable = this.db): Promise<Transfer[]> {
    assertIds(ids);
    return lookupTransfers(executor, ids);
  }

  /**
   * Live state of pending transfers (pending, posted, voided or expired) at the clock's now:
   * one past its deadline is expired even before the expiry job has run.
   */
  lookupPending(ids: readonly string[], executor: Queryable = this.db): Promise<Map<string, PendingState>> {
    assertIds(ids);
    return lookupPending(executor, ids, this.nowNs());
  }

  /**
   * Transfers on an account, oldest first, one page at a time.
   * @example
   * let page = await ledger.getAccountHistory(account, { limit: 100 });
   * while (page.nextCursor !== null) page = await ledger.getAccountHistory(account, { after: page.nextCursor });
   */
  getAccountHistory(
    accountId: string,
    options: { after?: bigint; limit?: number } = {},
  ): Promise<HistoryPage> {
    assertIds([accountId]);
    return getAccountHistory(this.db, accountId, options);
  }

  /**
   * query_accounts: accounts matching every field set in the filter (0 or null: any), by
   * timestamp (newest first when `reversed`), at most `limit` (cut to QUERY_LIMIT_MAX). Page on
   * with `timestampMin` (or `timestampMax` when reversed) past the last one returned. An
   * invalid filter throws a 4xx AppError (`ledger_filter_*`).
   * @example
   * const mine = await ledger.queryAccounts({ userData128: userId, ledger: Ledgers.CNY, limit: 100 });
   */
  async queryAccounts(filter: QueryFilter): Promise<Account[]> {
    assertQueryFields(filter);
    assertFilter(queryFilterProblem(filter));
    return queryAccounts(this.db, filter, this.nowNs());
  }

  /** query_transfers: as queryAccounts, over transfers. */
  async queryTransfers(filter: QueryFilter): Promise<Transfer[]> {
    assertQueryFields(filter);
    assertFilter(queryFilterProblem(filter));
    return queryTransfers(this.db, filter);
  }

  /**
   * get_account_transfers: transfers on the account (its debit side, credit side or both, at
   * least one), filtered by user data, code and timestamp range, oldest first or `reversed`.
   * @example
   * const spent = await ledger.getAccountTransfers({ accountId: wallet, debits: true, code: 30, limit: 50, reversed: true });
   */
  async getAccountTransfers(filter: AccountFilter): Promise<Transfer[]> {
    assertIds([filter.accountId]);
    assertQueryFields(filter);
    assertFilter(accountFilterProblem(filter));
    return getAccountTransfers(this.db, filter);
  }

  /**
   * get_account_balances: the account's balances right after each matching transfer (accounts
   * flagged `history` only; others give nothing, as in TigerBeetle). Same filter as
   * getAccountTransfers.
   */
  async getAccountBalances(filter: AccountFilter): Promise<AccountBalance[]> {
    assertIds([filter.accountId]);
    assertQueryFields(filter);
    assertFilter(accountFilterProblem(filter));
    return getAccountBalances(this.db, filter);
  }

  /** Balances of a history-flagged account at a ledger timestamp (ns); null before it existed. */
  getBalancesAsOf(
    accountId: string,
    timestamp: bigint,
  ): Promise<(AccountBalances & { timestamp: bigint }) | null> {
    assertIds([accountId]);
    return getBalancesAsOf(this.db, accountId, timestamp);
  }

  /**
   * Writes down the expiry of pending transfers whose timeout has passed by `now`, in batches.
   * Reads and validations already treat them as expired at their deadline; this only releases
   * the stored balances. Safe to run from several processes, twice, or alongside any batch
   * (each is expired exactly once, by whichever batch gets there first). Returns how many its
   * batches expired.
   */
  async expirePendingTransfers(now: Date = this.clock.now(), batchMax = EXPIRY_BATCH_MAX): Promise<number> {
    const nowNs = BigInt(now.getTime()) * 1_000_000n;
    let expired = 0;
    for (;;) {
      const due = await findDuePending(this.db, nowNs, batchMax);
      if (due.length === 0) return expired;
      const voided = (await this.writer.submit({ kind: 'expire', pendingIds: due })) as string[];
      expired += voided.length;
      // Ledger time ran behind `now` (clock skew): stop rather than spin on the same rows.
      if (voided.length === 0 || due.length < batchMax) return expired;
    }
  }

  /** Proves the books (every check, from the start, unless `full: false`); see verify.ts. */
  verify(options: LedgerVerifyOptions = {}): Promise<VerifyReport> {
    return verifyLedger(this.db, options);
  }

  /**
   * Open pending transfers with one of `codes`, oldest first: for modules' verify checks that
   * every hold they own has its row. Pass their snapshot's transaction as `executor`.
   */
  openHolds(
    codes: readonly number[],
    executor: Queryable = this.db,
  ): Promise<Array<{ id: string; code: number; amount: bigint; timestamp: bigint }>> {
    return openHolds(executor, codes);
  }

  /** Stops accepting writes and waits for queued ones to commit. Does not close the database. */
  close(): Promise<void> {
    return this.writer.close();
  }
}
