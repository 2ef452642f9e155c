import { LedgerStateMachine } from '../state-machine.ts';
import type { Account, AccountEvent, PendingState, Transfer, TransferEvent } from '../types.ts';

/** The pure state machine over plain maps that persist between batches: the core without a database. */
export class InMemoryLedger {
  readonly accounts = new Map<string, Account>();
  readonly transfers = new Map<string, Transfer>();
  readonly pending = new Map<string, PendingState>();
  private timestamp = 1_000n;

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

  private machine(): LedgerStateMachine {
    return new LedgerStateMachine({
      ledgers: new Set([1, 2, 3]),
      accounts: this.accounts,
      transfers: this.transfers,
      pending: this.pending,
    });
  }
}
