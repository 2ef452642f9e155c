import { type FailedTransfer, LedgerStateMachine } from '../state-machine.ts';
import type { Account, AccountEvent, PendingState, Transfer, TransferEvent } from '../types.ts';

/** The pure state machine over plain maps that persist between batches: the core without a database. */
export class InMemoryLedger {
  readonly accounts = new Map<string, Account>();
  readonly transfers = new Map<string, Transfer>();
  readonly pending = new Map<string, PendingState>();
  readonly failed = new Map<string, FailedTransfer>();
  /** Ledger time of the next event (nanoseconds); tests may move it. */
  timestamp = 1_000n;

  constructor(private readonly ledgers: ReadonlySet<number> = new Set([1, 2, 3])) {}

  createAccounts(events: readonly AccountEvent[]) {
    const outcomes = this.machine().createAccounts(events, this.timestamp);
    this.timestamp += BigInt(events.length);
    return outcomes;
  }

  createTransfers(events: readonly TransferEvent[]) {
    const outcomes = this.machine().createTransfers(events, this.timestamp);
    this.timestamp += BigInt(events.length);
    return outcomes;
  }

  /** What the expiry job does: expires every pending transfer that is due now. */
  expireDue(): string[] {
    const ids = [...this.pending].filter(([, s]) => s.status === 'pending').map(([id]) => id);
    if (ids.length === 0) return [];
    const expired = this.machine().expirePending(ids, this.timestamp);
    this.timestamp += BigInt(ids.length);
    return expired;
  }

  private machine(): LedgerStateMachine {
    return new LedgerStateMachine({
      ledgers: this.ledgers,
      accounts: this.accounts,
      transfers: this.transfers,
      pending: this.pending,
      failed: this.failed,
    });
  }
}
