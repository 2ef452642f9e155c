import { type FailedTransfer, LedgerStateMachine, type Timeline } from '../state-machine.ts';
import type { Account, AccountEvent, PendingState, Transfer, TransferEvent } from '../types.ts';

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
    for (const { id, state } of machine.effects.pendingCreated)
      if (state.expiresAt !== null) this.timed.push({ id, expiresAt: state.expiresAt });
    return result;
  }
}
