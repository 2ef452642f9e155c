import {
  type AccountBalance,
  type AccountFilter,
  accountFilterProblem,
  matchesAccountFilter,
  matchesQueryFilter,
  page,
  type QueryFilter,
  queryFilterProblem,
} from '../query.ts';
import {
  type BalanceSnapshot,
  type FailedTransfer,
  LedgerStateMachine,
  type Timeline,
} from '../state-machine.ts';
import {
  type Account,
  type AccountEvent,
  AccountFlags,
  type PendingState,
  type Transfer,
  type TransferEvent,
} from '../types.ts';

/** The pure state machine over plain maps that persist between batches: the core without a database. */
export class InMemoryLedger {
  readonly accounts = new Map<string, Account>();
  readonly transfers = new Map<string, Transfer>();
  readonly pending = new Map<string, PendingState>();
  readonly failed = new Map<string, FailedTransfer>();
  readonly timeline: Timeline = {
    accountTimestampMax: 0n,
    transferTimestampMax: 0n,
    accountTimestamps: new Set(),
    transferTimestamps: new Set(),
  };
  /** Balances after each change of history-flagged accounts. */
  readonly snapshots: BalanceSnapshot[] = [];
  /** Pending transfers with a deadline, not yet known to be resolved. */
  private timed: { id: string; expiresAt: bigint }[] = [];

  /**
   * @param ledgers the known ledger numbers
   * @param timestamp ledger time of the next event (nanoseconds); tests may move it
   */
  constructor(
    private readonly ledgers: ReadonlySet<number> = new Set([1, 2, 3]),
    public timestamp = 1_000n,
  ) {}

  createAccounts(events: readonly AccountEvent[]) {
    this.expireDue();
    const outcomes = this.run((machine) => machine.createAccounts(events, this.timestamp));
    this.timestamp += BigInt(events.length);
    return outcomes;
  }

  /** Like the writer: pending transfers past their deadline are expired before the batch. */
  createTransfers(events: readonly TransferEvent[]) {
    this.expireDue();
    const outcomes = this.run((machine) => machine.createTransfers(events, this.timestamp));
    this.timestamp += BigInt(events.length);
    return outcomes;
  }

  /** What the expiry job does: expires every pending transfer that is due now. */
  expireDue(): string[] {
    this.timed = this.timed.filter(({ id }) => this.pending.get(id)?.status === 'pending');
    const ids = this.timed.filter(({ expiresAt }) => expiresAt <= this.timestamp).map(({ id }) => id);
    if (ids.length === 0) return [];
    const expired = this.run((machine) => machine.expirePending(ids, this.timestamp));
    this.timestamp += BigInt(ids.length);
    return expired;
  }

  // The query operations, with TigerBeetle's answer to an invalid filter: nothing.

  queryAccounts(filter: QueryFilter): Account[] {
    if (queryFilterProblem(filter)) return [];
    return page(
      [...this.accounts.values()].filter((account) => matchesQueryFilter(filter, account)),
      filter,
    );
  }

  queryTransfers(filter: QueryFilter): Transfer[] {
    if (queryFilterProblem(filter)) return [];
    return page(
      [...this.transfers.values()].filter((transfer) => matchesQueryFilter(filter, transfer)),
      filter,
    );
  }

  getAccountTransfers(filter: AccountFilter): Transfer[] {
    if (accountFilterProblem(filter)) return [];
    return page(
      [...this.transfers.values()].filter((transfer) => matchesAccountFilter(filter, transfer)),
      filter,
    );
  }

  /** Balances after each matching transfer; nothing for an account without `history`. */
  getAccountBalances(filter: AccountFilter): AccountBalance[] {
    const account = this.accounts.get(filter.accountId);
    if (accountFilterProblem(filter) || !account || (account.flags & AccountFlags.history) === 0) return [];
    const byTimestamp = new Map([...this.transfers.values()].map((t) => [t.timestamp, t]));
    const balances = this.snapshots.filter((snapshot) => {
      const transfer = byTimestamp.get(snapshot.timestamp);
      return snapshot.accountId === filter.accountId && transfer && matchesAccountFilter(filter, transfer);
    });
    return page(balances, filter).map(({ accountId: _, ...balance }) => balance);
  }

  private run<T>(step: (machine: LedgerStateMachine) => T): T {
    const machine = new LedgerStateMachine({
      ledgers: this.ledgers,
      accounts: this.accounts,
      transfers: this.transfers,
      pending: this.pending,
      failed: this.failed,
      timeline: this.timeline,
    });
    const result = step(machine);
    this.snapshots.push(...machine.effects.snapshots);
    for (const { id, state } of machine.effects.pendingCreated)
      if (state.expiresAt !== null) this.timed.push({ id, expiresAt: state.expiresAt });
    return result;
  }
}
