import { CreateAccountResult as AR, CreateTransferResult as TR } from '../results.ts';
import { type AccountEvent, AccountFlags as AF, TransferFlags as TF, type TransferEvent } from '../types.ts';

/**
 * A deliberately simple reference model of the ledger for tests: plain maps, a whole-state
 * copy for linked chains, and only the rules the generators exercise (no closing, timeouts
 * or overflow). The state machine and the database-backed Ledger must agree with it exactly.
 */
export interface ModelAccount {
  ledger: number;
  code: number;
  flags: number;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

interface ModelTransfer {
  event: TransferEvent;
  debit: string;
  credit: string;
  amount: bigint;
  ledger: number;
  code: number;
}

interface State {
  accounts: Map<string, ModelAccount>;
  transfers: Map<string, ModelTransfer>;
  status: Map<string, 'pending' | 'posted' | 'voided'>;
}

const copy = (state: State): State => ({
  accounts: new Map([...state.accounts].map(([id, account]) => [id, { ...account }])),
  transfers: new Map(state.transfers),
  status: new Map(state.status),
});

export class LedgerModel {
  state: State = { accounts: new Map(), transfers: new Map(), status: new Map() };

  createAccounts(events: readonly AccountEvent[]): AR[] {
    return this.chains(events, AR.linked_event_failed, AR.linked_event_chain_open, (event) => {
      const existing = this.state.accounts.get(event.id);
      if (existing) {
        if ((event.flags ?? 0) !== existing.flags) return AR.exists_with_different_flags;
        if (event.ledger !== existing.ledger) return AR.exists_with_different_ledger;
        if (event.code !== existing.code) return AR.exists_with_different_code;
        return AR.exists;
      }
      if (event.ledger > 3) return AR.ledger_not_found;
      this.state.accounts.set(event.id, {
        ledger: event.ledger,
        code: event.code,
        flags: event.flags ?? 0,
        debitsPending: 0n,
        debitsPosted: 0n,
        creditsPending: 0n,
        creditsPosted: 0n,
      });
      return AR.ok;
    });
  }

  createTransfers(events: readonly TransferEvent[]): TR[] {
    return this.chains(events, TR.linked_event_failed, TR.linked_event_chain_open, (event) =>
      this.transfer(event),
    );
  }

  private chains<E extends { flags?: number }, R extends string>(
    events: readonly E[],
    failed: R,
    open: R,
    apply: (event: E) => R,
  ): R[] {
    const results: R[] = [];
    let chain: { start: number; saved: State } | null = null;
    let broken = false;
    events.forEach((event, index) => {
      const linked = ((event.flags ?? 0) & TF.linked) !== 0;
      if (linked && !chain) chain = { start: index, saved: copy(this.state) };
      let result: R;
      if (broken) result = failed;
      else if (linked && index === events.length - 1) result = open;
      else result = apply(event);
      if (result !== 'ok' && result !== 'exists' && chain && !broken) {
        this.state = (chain as { saved: State }).saved;
        for (let i = (chain as { start: number }).start; i < index; i++) results[i] = failed;
        broken = true;
      }
      results.push(result);
      if (!linked) {
        chain = null;
        broken = false;
      }
    });
    return results;
  }

  private transfer(event: TransferEvent): TR {
    const flags = event.flags ?? 0;
    const postOrVoid = (flags & (TF.post_pending_transfer | TF.void_pending_transfer)) !== 0;
    if (!postOrVoid) {
      if (event.debitAccountId === event.creditAccountId) return TR.accounts_must_be_different;
      if (event.amount === 0n) return TR.amount_must_not_be_zero;
    } else if (event.pendingId === event.id) return TR.pending_id_must_be_different;
    const existing = this.state.transfers.get(event.id);
    if (existing) return this.compare(event, existing);
    return postOrVoid ? this.resolve(event) : this.create(event);
  }

  private compare(event: TransferEvent, existing: ModelTransfer): TR {
    const flags = event.flags ?? 0;
    if (flags !== (existing.event.flags ?? 0)) return TR.exists_with_different_flags;
    if ((event.pendingId ?? null) !== (existing.event.pendingId ?? null))
      return TR.exists_with_different_pending_id;
    const postOrVoid = (flags & (TF.post_pending_transfer | TF.void_pending_transfer)) !== 0;
    if (!postOrVoid && event.debitAccountId !== existing.debit)
      return TR.exists_with_different_debit_account_id;
    if (!postOrVoid && event.creditAccountId !== existing.credit)
      return TR.exists_with_different_credit_account_id;
    if (flags & TF.balancing_debit) {
      if (event.amount < existing.amount) return TR.exists_with_different_amount;
    } else if (postOrVoid && event.amount === 0n) {
      const pending = this.state.transfers.get(event.pendingId!)!;
      if (existing.amount !== pending.amount) return TR.exists_with_different_amount;
    } else if (event.amount !== existing.amount) return TR.exists_with_different_amount;
    if (!postOrVoid && event.ledger !== existing.ledger) return TR.exists_with_different_ledger;
    if (!postOrVoid && event.code !== existing.code) return TR.exists_with_different_code;
    return TR.exists;
  }

  private resolve(event: TransferEvent): TR {
    const pending = this.state.transfers.get(event.pendingId!);
    if (!pending) return TR.pending_transfer_not_found;
    if (((pending.event.flags ?? 0) & TF.pending) === 0) return TR.pending_transfer_not_pending;
    const post = ((event.flags ?? 0) & TF.post_pending_transfer) !== 0;
    const amount = post && event.amount !== 0n ? event.amount : pending.amount;
    if (post && amount > pending.amount) return TR.exceeds_pending_transfer_amount;
    if (!post && event.amount !== 0n && event.amount !== pending.amount)
      return TR.pending_transfer_has_different_amount;
    const status = this.state.status.get(pending.event.id);
    if (status === 'posted') return TR.pending_transfer_already_posted;
    if (status === 'voided') return TR.pending_transfer_already_voided;
    const debit = this.state.accounts.get(pending.debit)!;
    const credit = this.state.accounts.get(pending.credit)!;
    debit.debitsPending -= pending.amount;
    credit.creditsPending -= pending.amount;
    if (post) {
      debit.debitsPosted += amount;
      credit.creditsPosted += amount;
    }
    this.state.status.set(pending.event.id, post ? 'posted' : 'voided');
    this.state.transfers.set(event.id, { ...pending, event, amount });
    return TR.ok;
  }

  private create(event: TransferEvent): TR {
    const flags = event.flags ?? 0;
    const debit = this.state.accounts.get(event.debitAccountId!);
    if (!debit) return TR.debit_account_not_found;
    const credit = this.state.accounts.get(event.creditAccountId!);
    if (!credit) return TR.credit_account_not_found;
    if (debit.ledger !== credit.ledger) return TR.accounts_must_have_the_same_ledger;
    if (event.ledger !== debit.ledger) return TR.transfer_must_have_the_same_ledger_as_accounts;
    let amount = event.amount;
    if (flags & TF.balancing_debit) {
      const available = debit.creditsPosted - debit.debitsPosted - debit.debitsPending;
      if (available < amount) amount = available > 0n ? available : 0n;
      if (amount === 0n) return TR.exceeds_credits;
    }
    if (
      debit.flags & AF.debits_must_not_exceed_credits &&
      debit.debitsPending + debit.debitsPosted + amount > debit.creditsPosted
    ) {
      return TR.exceeds_credits;
    }
    if (
      credit.flags & AF.credits_must_not_exceed_debits &&
      credit.creditsPending + credit.creditsPosted + amount > credit.debitsPosted
    ) {
      return TR.exceeds_debits;
    }
    if (flags & TF.pending) {
      debit.debitsPending += amount;
      credit.creditsPending += amount;
      this.state.status.set(event.id, 'pending');
    } else {
      debit.debitsPosted += amount;
      credit.creditsPosted += amount;
    }
    this.state.transfers.set(event.id, {
      event,
      debit: event.debitAccountId!,
      credit: event.creditAccountId!,
      amount,
      ledger: event.ledger!,
      code: event.code!,
    });
    return TR.ok;
  }
}
