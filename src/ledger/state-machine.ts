import { compareAccount, compareTransfer } from './exists.ts';
import { CreateAccountResult as AR, CreateTransferResult as TR, TRANSIENT_RESULTS } from './results.ts';
import {
  ACCOUNT_FLAGS_KNOWN,
  type Account,
  type AccountBalances,
  type AccountEvent,
  AccountFlags,
  AMOUNT_MAX,
  TransferFlags as F,
  MAX_ID,
  NANOSECONDS_PER_SECOND,
  NIL_ID,
  type PendingState,
  TRANSFER_FLAGS_KNOWN,
  type Transfer,
  type TransferEvent,
} from './types.ts';

/**
 * The pure core: validates and applies events against an in-memory view of the accounts and
 * transfers a batch touches. No I/O, no clock, no randomness: timestamps come from the caller.
 * The store loads the view, runs the state machine, then writes `effects`.
 */
export interface LedgerView {
  ledgers: ReadonlySet<number>;
  accounts: Map<string, Account>;
  /** Existing transfers with the batch's ids and pending ids (and ones created in the batch). */
  transfers: Map<string, Transfer>;
  /** Live state of the pending transfers in `transfers`. */
  pending: Map<string, PendingState>;
  /**
   * Ids of transfers that failed for a transient reason (loaded for the batch's ids, plus those
   * failed in the batch): any later event with one of them gets `id_already_failed`.
   */
  failed: Map<string, FailedTransfer>;
  /**
   * What imported events are checked against (TigerBeetle's per-kind last timestamps). Needed
   * only by batches with imported events; the machine keeps it current as it creates objects.
   */
  timeline?: Timeline;
}

/**
 * The last account and transfer timestamps, and which timestamps are taken (at least those an
 * imported event of the batch asks for): an imported account must come after every account and
 * take no transfer's timestamp, and likewise for a transfer.
 */
export interface Timeline {
  accountTimestampMax: bigint;
  transferTimestampMax: bigint;
  accountTimestamps: Set<bigint>;
  transferTimestamps: Set<bigint>;
}

/** A transfer id burned by a transient failure (TigerBeetle's orphaned id). */
export interface FailedTransfer {
  id: string;
  result: TR;
  timestamp: bigint;
}

export interface BalanceSnapshot extends AccountBalances {
  accountId: string;
  timestamp: bigint;
}

export interface PendingResolution {
  id: string;
  state: PendingState;
}

/** What a batch changed, for the store to write. */
export interface Effects {
  accountsCreated: Account[];
  transfersCreated: Transfer[];
  /** Final state of every account whose balances or closed flag changed. */
  accountsChanged: Map<string, Account>;
  pendingCreated: { id: string; state: PendingState }[];
  pendingResolved: PendingResolution[];
  /** Pending transfers expired (voided by timeout) in this batch, with the ledger timestamp. */
  expired: { id: string; timestamp: bigint }[];
  snapshots: BalanceSnapshot[];
  /** Transfer ids that failed for a transient reason in this batch, to be recorded. */
  failed: FailedTransfer[];
}

const has = (flags: number, flag: number) => (flags & flag) !== 0;

export class LedgerStateMachine {
  readonly effects: Effects = {
    accountsCreated: [],
    transfersCreated: [],
    accountsChanged: new Map(),
    pendingCreated: [],
    pendingResolved: [],
    expired: [],
    snapshots: [],
    failed: [],
  };
  private readonly undoLog: (() => void)[] = [];
  /** Undo is only recorded inside a linked chain: nothing else is ever rolled back. */
  private recording = false;

  constructor(readonly view: LedgerView) {}

  /**
   * Creates accounts; event i gets timestamp `timestampFirst + i` (an imported one its own).
   */
  createAccounts(events: readonly AccountEvent[], timestampFirst: bigint) {
    return this.runChains(
      events,
      timestampFirst,
      AR.linked_event_failed,
      AR.linked_event_chain_open,
      (event, ts) => this.createAccount(event, ts),
      undefined,
      (event, batchImported, timestampLast) =>
        checkImported(event, has(event.flags ?? 0, AccountFlags.imported), batchImported, timestampLast, AR),
      AccountFlags.imported,
    );
  }

  /** Creates transfers; event i gets timestamp `timestampFirst + i`. */
  createTransfers(events: readonly TransferEvent[], timestampFirst: bigint) {
    return this.runChains(
      events,
      timestampFirst,
      TR.linked_event_failed,
      TR.linked_event_chain_open,
      (event, ts) => this.createTransfer(event, ts),
      (event, result, ts) => {
        // After a chain's rollback: the failure stays recorded even though the chain is undone.
        if (!TRANSIENT_RESULTS.has(result)) return;
        const failed: FailedTransfer = { id: event.id, result, timestamp: ts };
        this.view.failed.set(event.id, failed);
        this.effects.failed.push(failed);
      },
      (event, batchImported, timestampLast) =>
        checkImported(event, has(event.flags ?? 0, F.imported), batchImported, timestampLast, TR),
      F.imported,
    );
  }

  /**
   * Voids pending transfers whose timeout has passed (id i at ledger time `timestampFirst + i`). Ids that
   * are no longer pending (or not yet due) are skipped, so running it twice voids nothing twice.
   * Returns the ids expired.
   */
  expirePending(ids: readonly string[], timestampFirst: bigint): string[] {
    const expired: string[] = [];
    for (const [index, id] of ids.entries()) {
      const timestamp = timestampFirst + BigInt(index);
      const transfer = this.view.transfers.get(id);
      const state = this.view.pending.get(id);
      if (!transfer || !state || state.status !== 'pending') continue;
      if (state.expiresAt === null || state.expiresAt > timestamp) continue;
      this.releasePending(transfer, null, 0n, 'expired', timestamp);
      this.push(this.effects.expired, { id, timestamp });
      expired.push(id);
    }
    return expired;
  }

  private runChains<Event extends { flags?: number }, Code extends string>(
    events: readonly Event[],
    timestampFirst: bigint,
    linkedFailed: Code,
    chainOpen: Code,
    create: (event: Event, timestamp: bigint) => { result: Code; timestamp?: bigint },
    onFailure: ((event: Event, result: Code, timestamp: bigint) => void) | undefined,
    checkBatch: (event: Event, batchImported: boolean, timestampLast: bigint) => Code | null,
    importedFlag: number,
  ) {
    const outcomes: { index: number; result: Code; timestamp?: bigint }[] = [];
    // The first event decides whether the whole batch is imported (TigerBeetle's rule).
    const batchImported = events.length > 0 && has(events[0]!.flags ?? 0, importedFlag);
    const timestampLast = timestampFirst + BigInt(events.length - 1);
    let chainStart = -1;
    let chainSavepoint = 0;
    let chainBroken = false;
    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      const timestamp = timestampFirst + BigInt(index);
      const linked = has(event.flags ?? 0, F.linked);
      if (linked && chainStart < 0) {
        chainStart = index;
        chainSavepoint = this.undoLog.length;
        this.recording = true;
      }
      // An open chain outranks a chain already broken (TigerBeetle's order).
      let outcome: { result: Code; timestamp?: bigint };
      if (linked && index === events.length - 1) outcome = { result: chainOpen };
      else if (chainBroken) outcome = { result: linkedFailed };
      else {
        const refused = checkBatch(event, batchImported, timestampLast);
        outcome = refused ? { result: refused } : create(event, timestamp);
      }
      const failed = outcome.result !== 'ok' && outcome.result !== 'exists';
      if (failed && chainStart >= 0 && !chainBroken) {
        this.rollback(chainSavepoint);
        for (let earlier = chainStart; earlier < index; earlier++)
          outcomes[earlier] = { index: earlier, result: linkedFailed };
        chainBroken = true;
      }
      if (failed && onFailure) onFailure(event, outcome.result, timestamp);
      outcomes.push({ index, ...outcome });
      if (!linked || index === events.length - 1) {
        chainStart = -1;
        chainBroken = false;
        this.recording = false;
        this.undoLog.length = 0;
      }
    }
    return outcomes;
  }

  private createAccount(event: AccountEvent, timestamp: bigint): { result: AR; timestamp?: bigint } {
    const flags = event.flags ?? 0;
    if ((flags & ~ACCOUNT_FLAGS_KNOWN) !== 0) return { result: AR.reserved_flag };
    if (event.id === NIL_ID) return { result: AR.id_must_not_be_zero };
    if (event.id === MAX_ID) return { result: AR.id_must_not_be_int_max };
    const existing = this.view.accounts.get(event.id);
    if (existing) return { result: compareAccount(event, existing), timestamp: existing.timestamp };
    if (
      has(flags, AccountFlags.debits_must_not_exceed_credits) &&
      has(flags, AccountFlags.credits_must_not_exceed_debits)
    ) {
      return { result: AR.flags_are_mutually_exclusive };
    }
    if (event.ledger === 0) return { result: AR.ledger_must_not_be_zero };
    if (event.code === 0) return { result: AR.code_must_not_be_zero };
    if (!this.view.ledgers.has(event.ledger)) return { result: AR.ledger_not_found };
    const imported = has(flags, AccountFlags.imported);
    if (imported) {
      // After the idempotency checks, so a resubmitted import still answers `exists`.
      const timeline = this.mustGetTimeline();
      if (
        event.timestamp! <= timeline.accountTimestampMax ||
        timeline.transferTimestamps.has(event.timestamp!)
      )
        return { result: AR.imported_event_timestamp_must_not_regress };
      timestamp = event.timestamp!;
    }
    const account: Account = {
      id: event.id,
      ledger: event.ledger,
      code: event.code,
      flags,
      closed: has(flags, AccountFlags.closed),
      userData128: event.userData128 ?? null,
      userData64: event.userData64 ?? 0n,
      userData32: event.userData32 ?? 0,
      debitsPending: 0n,
      debitsPosted: 0n,
      creditsPending: 0n,
      creditsPosted: 0n,
      timestamp,
    };
    this.setAccount(account, false);
    this.push(this.effects.accountsCreated, account);
    this.stamp('account', timestamp);
    return { result: AR.ok, timestamp };
  }

  /**
   * One transfer, in TigerBeetle's order: flags and id, then idempotency (exists, failed ids),
   * then the fields, then the accounts and balances.
   */
  private createTransfer(event: TransferEvent, timestamp: bigint): { result: TR; timestamp?: bigint } {
    const flags = event.flags ?? 0;
    if ((flags & ~TRANSFER_FLAGS_KNOWN) !== 0) return { result: TR.reserved_flag };
    if (event.id === NIL_ID) return { result: TR.id_must_not_be_zero };
    if (event.id === MAX_ID) return { result: TR.id_must_not_be_int_max };
    const existing = this.view.transfers.get(event.id);
    if (existing) {
      const pending = existing.pendingId ? this.view.transfers.get(existing.pendingId) : undefined;
      return { result: compareTransfer(event, existing, pending), timestamp: existing.timestamp };
    }
    if (this.view.failed.has(event.id)) return { result: TR.id_already_failed };
    // An imported event keeps its own timestamp; `timestamp` (its slot) still decides expiry.
    const at = has(flags, F.imported) ? event.timestamp! : timestamp;
    const result = has(flags, F.post_pending_transfer | F.void_pending_transfer)
      ? this.postOrVoid(event, timestamp, at)
      : this.createPostedOrPending(event, at);
    if (result !== TR.ok) return { result };
    this.stamp('transfer', at);
    return { result, timestamp: at };
  }

  /** Imported events: the timestamp must come after every earlier one of its kind. */
  private importRegresses(timestamp: bigint): boolean {
    const timeline = this.mustGetTimeline();
    return timestamp <= timeline.transferTimestampMax || timeline.accountTimestamps.has(timestamp);
  }

  private mustGetTimeline(): Timeline {
    if (!this.view.timeline) throw new Error('ledger: the timeline of an imported batch was not loaded');
    return this.view.timeline;
  }

  /** Keeps the timeline current (and undoable) when it is loaded. */
  private stamp(kind: 'account' | 'transfer', timestamp: bigint): void {
    const timeline = this.view.timeline;
    if (!timeline) return;
    const key = kind === 'account' ? 'accountTimestampMax' : 'transferTimestampMax';
    const taken = kind === 'account' ? timeline.accountTimestamps : timeline.transferTimestamps;
    const previousMax = timeline[key];
    if (timestamp > previousMax) timeline[key] = timestamp;
    const added = !taken.has(timestamp);
    if (added) taken.add(timestamp);
    if (!this.recording) return;
    this.undoLog.push(() => {
      timeline[key] = previousMax;
      if (added) taken.delete(timestamp);
    });
  }

  private createPostedOrPending(event: TransferEvent, timestamp: bigint): TR {
    const flags = event.flags ?? 0;
    const invalid = validatePostedOrPending(event);
    if (invalid) return invalid;
    const debit = this.view.accounts.get(event.debitAccountId!);
    if (!debit) return TR.debit_account_not_found;
    const credit = this.view.accounts.get(event.creditAccountId!);
    if (!credit) return TR.credit_account_not_found;
    if (debit.ledger !== credit.ledger) return TR.accounts_must_have_the_same_ledger;
    if (event.ledger !== debit.ledger) return TR.transfer_must_have_the_same_ledger_as_accounts;
    if (has(flags, F.imported)) {
      if (this.importRegresses(timestamp)) return TR.imported_event_timestamp_must_not_regress;
      if (timestamp <= debit.timestamp) return TR.imported_event_timestamp_must_postdate_debit_account;
      if (timestamp <= credit.timestamp) return TR.imported_event_timestamp_must_postdate_credit_account;
      if ((event.timeout ?? 0) !== 0) return TR.imported_event_timeout_must_be_zero;
    }
    if (debit.closed) return TR.debit_account_already_closed;
    if (credit.closed) return TR.credit_account_already_closed;

    // Balancing moves at most what keeps the limit; it may move 0.
    let amount = event.amount;
    if (has(flags, F.balancing_debit)) {
      const available = debit.creditsPosted - debit.debitsPosted - debit.debitsPending;
      amount = min(amount, available > 0n ? available : 0n);
    }
    if (has(flags, F.balancing_credit)) {
      const available = credit.debitsPosted - credit.creditsPosted - credit.creditsPending;
      amount = min(amount, available > 0n ? available : 0n);
    }

    const pending = has(flags, F.pending);
    if (pending) {
      if (debit.debitsPending + amount > AMOUNT_MAX) return TR.overflows_debits_pending;
      if (credit.creditsPending + amount > AMOUNT_MAX) return TR.overflows_credits_pending;
    }
    if (debit.debitsPosted + amount > AMOUNT_MAX) return TR.overflows_debits_posted;
    if (credit.creditsPosted + amount > AMOUNT_MAX) return TR.overflows_credits_posted;
    if (debit.debitsPending + debit.debitsPosted + amount > AMOUNT_MAX) return TR.overflows_debits;
    if (credit.creditsPending + credit.creditsPosted + amount > AMOUNT_MAX) return TR.overflows_credits;
    const timeout = event.timeout ?? 0;
    const expiresAt = timeout > 0 ? timestamp + BigInt(timeout) * NANOSECONDS_PER_SECOND : null;
    if (expiresAt !== null && expiresAt > AMOUNT_MAX) return TR.overflows_timeout;
    if (
      has(debit.flags, AccountFlags.debits_must_not_exceed_credits) &&
      debit.debitsPending + debit.debitsPosted + amount > debit.creditsPosted
    ) {
      return TR.exceeds_credits;
    }
    if (
      has(credit.flags, AccountFlags.credits_must_not_exceed_debits) &&
      credit.creditsPending + credit.creditsPosted + amount > credit.debitsPosted
    ) {
      return TR.exceeds_debits;
    }

    const transfer = newTransfer(event, amount, timestamp);
    this.addTransfer(transfer);
    if (pending) {
      this.setAccount(
        withBalances(
          debit,
          debit.debitsPending + amount,
          debit.debitsPosted,
          debit.creditsPending,
          debit.creditsPosted,
          debit.closed || has(flags, F.closing_debit),
        ),
      );
      this.setAccount(
        withBalances(
          credit,
          credit.debitsPending,
          credit.debitsPosted,
          credit.creditsPending + amount,
          credit.creditsPosted,
          credit.closed || has(flags, F.closing_credit),
        ),
      );
      const state: PendingState = { status: 'pending', expiresAt, resolvedBy: null, resolvedAt: null };
      this.setPending(transfer.id, state);
      this.push(this.effects.pendingCreated, { id: transfer.id, state });
    } else {
      const { debitsPending: dp, creditsPending: cp, creditsPosted: cP } = debit;
      this.setAccount(withBalances(debit, dp, debit.debitsPosted + amount, cp, cP, debit.closed));
      this.setAccount(
        withBalances(
          credit,
          credit.debitsPending,
          credit.debitsPosted,
          credit.creditsPending,
          credit.creditsPosted + amount,
          credit.closed,
        ),
      );
    }
    this.snapshot(debit.id, timestamp);
    this.snapshot(credit.id, timestamp);
    return TR.ok;
  }

  /** `timestamp` is the event's slot (it decides expiry); `at` the transfer's own timestamp. */
  private postOrVoid(event: TransferEvent, timestamp: bigint, at: bigint): TR {
    const flags = event.flags ?? 0;
    if (has(flags, F.post_pending_transfer) && has(flags, F.void_pending_transfer))
      return TR.flags_are_mutually_exclusive;
    if (has(flags, F.pending | F.balancing_debit | F.balancing_credit | F.closing_debit | F.closing_credit))
      return TR.flags_are_mutually_exclusive;
    if (!event.pendingId || event.pendingId === NIL_ID) return TR.pending_id_must_not_be_zero;
    if (event.pendingId === MAX_ID) return TR.pending_id_must_not_be_int_max;
    if (event.pendingId === event.id) return TR.pending_id_must_be_different;
    if ((event.timeout ?? 0) !== 0) return TR.timeout_reserved_for_pending_transfer;
    if (event.amount < 0n) return TR.amount_must_not_be_negative;
    const pending = this.view.transfers.get(event.pendingId);
    if (!pending) return TR.pending_transfer_not_found;
    if (!has(pending.flags, F.pending)) return TR.pending_transfer_not_pending;
    if (isSet(event.debitAccountId) && event.debitAccountId !== pending.debitAccountId) {
      return TR.pending_transfer_has_different_debit_account_id;
    }
    if (isSet(event.creditAccountId) && event.creditAccountId !== pending.creditAccountId) {
      return TR.pending_transfer_has_different_credit_account_id;
    }
    if (event.ledger && event.ledger !== pending.ledger) return TR.pending_transfer_has_different_ledger;
    if (event.code && event.code !== pending.code) return TR.pending_transfer_has_different_code;
    const posting = has(flags, F.post_pending_transfer);
    // A void's 0 and a post's AMOUNT_MAX mean "the pending amount"; a post's 0 posts 0.
    const amount = posting
      ? event.amount === AMOUNT_MAX
        ? pending.amount
        : event.amount
      : event.amount === 0n
        ? pending.amount
        : event.amount;
    if (amount > pending.amount) return TR.exceeds_pending_transfer_amount;
    if (!posting && amount < pending.amount) return TR.pending_transfer_has_different_amount;
    const state = this.view.pending.get(pending.id);
    if (!state) throw new Error(`ledger: pending state of ${pending.id} was not loaded`);
    if (state.status === 'posted') return TR.pending_transfer_already_posted;
    if (state.status === 'voided') return TR.pending_transfer_already_voided;
    if (state.status === 'expired') return TR.pending_transfer_expired;
    if (state.expiresAt !== null && state.expiresAt <= timestamp) return TR.pending_transfer_expired;
    if (has(flags, F.imported) && this.importRegresses(at))
      return TR.imported_event_timestamp_must_not_regress;
    const debit = this.mustGetAccount(pending.debitAccountId);
    const credit = this.mustGetAccount(pending.creditAccountId);
    // Voiding is the one movement a closed account allows (it is how a closing hold is undone).
    if (posting && debit.closed) return TR.debit_account_already_closed;
    if (posting && credit.closed) return TR.credit_account_already_closed;
    if (posting && debit.debitsPosted + amount > AMOUNT_MAX) return TR.overflows_debits_posted;
    if (posting && credit.creditsPosted + amount > AMOUNT_MAX) return TR.overflows_credits_posted;

    const transfer: Transfer = {
      id: event.id,
      debitAccountId: pending.debitAccountId,
      creditAccountId: pending.creditAccountId,
      amount,
      pendingId: pending.id,
      ledger: pending.ledger,
      code: event.code || pending.code,
      flags,
      timeout: 0,
      userData128: event.userData128 ?? pending.userData128,
      userData64: event.userData64 || pending.userData64,
      userData32: event.userData32 || pending.userData32,
      timestamp: at,
    };
    this.addTransfer(transfer);
    this.releasePending(pending, transfer.id, posting ? amount : 0n, posting ? 'posted' : 'voided', at);
    return TR.ok;
  }

  /** Moves a pending amount out of the pending balances: `postedAmount` of it to posted. */
  private releasePending(
    pending: Transfer,
    resolvedBy: string | null,
    postedAmount: bigint,
    status: 'posted' | 'voided' | 'expired',
    timestamp: bigint,
  ): void {
    const debit = this.mustGetAccount(pending.debitAccountId);
    const credit = this.mustGetAccount(pending.creditAccountId);
    const reopen = status !== 'posted';
    this.setAccount({
      ...debit,
      debitsPending: debit.debitsPending - pending.amount,
      debitsPosted: debit.debitsPosted + postedAmount,
      closed: reopen && has(pending.flags, F.closing_debit) ? false : debit.closed,
    });
    this.setAccount({
      ...credit,
      creditsPending: credit.creditsPending - pending.amount,
      creditsPosted: credit.creditsPosted + postedAmount,
      closed: reopen && has(pending.flags, F.closing_credit) ? false : credit.closed,
    });
    const previous = this.view.pending.get(pending.id)!;
    const state: PendingState = { ...previous, status, resolvedBy, resolvedAt: timestamp };
    this.setPending(pending.id, state);
    this.push(this.effects.pendingResolved, { id: pending.id, state });
    this.snapshot(debit.id, timestamp);
    this.snapshot(credit.id, timestamp);
  }

  private mustGetAccount(id: string): Account {
    const account = this.view.accounts.get(id);
    if (!account) throw new Error(`ledger: account ${id} of a pending transfer was not loaded`);
    return account;
  }

  private snapshot(accountId: string, timestamp: bigint): void {
    const account = this.view.accounts.get(accountId)!;
    if (!has(account.flags, AccountFlags.history)) return;
    this.push(this.effects.snapshots, {
      accountId,
      timestamp,
      debitsPending: account.debitsPending,
      debitsPosted: account.debitsPosted,
      creditsPending: account.creditsPending,
      creditsPosted: account.creditsPosted,
    });
  }

  // Every mutation records its inverse, so a failed linked chain rolls back exactly.

  private setAccount(account: Account, changed = true): void {
    const previous = this.view.accounts.get(account.id);
    const previousChanged = this.effects.accountsChanged.get(account.id);
    this.view.accounts.set(account.id, account);
    if (changed) this.effects.accountsChanged.set(account.id, account);
    if (!this.recording) return;
    this.undoLog.push(() => {
      if (previous) this.view.accounts.set(account.id, previous);
      else this.view.accounts.delete(account.id);
      if (previousChanged) this.effects.accountsChanged.set(account.id, previousChanged);
      else this.effects.accountsChanged.delete(account.id);
    });
  }

  private addTransfer(transfer: Transfer): void {
    this.view.transfers.set(transfer.id, transfer);
    this.push(this.effects.transfersCreated, transfer);
    if (this.recording) this.undoLog.push(() => this.view.transfers.delete(transfer.id));
  }

  private setPending(id: string, state: PendingState): void {
    const previous = this.view.pending.get(id);
    this.view.pending.set(id, state);
    if (!this.recording) return;
    this.undoLog.push(() => {
      if (previous) this.view.pending.set(id, previous);
      else this.view.pending.delete(id);
    });
  }

  private push<T>(list: T[], item: T): void {
    list.push(item);
    if (this.recording) this.undoLog.push(() => list.pop());
  }

  private rollback(savepoint: number): void {
    while (this.undoLog.length > savepoint) this.undoLog.pop()!();
  }
}

/**
 * The checks TigerBeetle makes before any other (after the chain's): the first event decides
 * whether the batch is imported; imported events carry a past timestamp, others none.
 */
function checkImported<Code>(
  event: { timestamp?: bigint },
  imported: boolean,
  batchImported: boolean,
  timestampLast: bigint,
  codes: {
    imported_event_not_expected: Code;
    imported_event_expected: Code;
    imported_event_timestamp_out_of_range: Code;
    imported_event_timestamp_must_not_advance: Code;
    timestamp_must_be_zero: Code;
  },
): Code | null {
  if (batchImported !== imported)
    return imported ? codes.imported_event_not_expected : codes.imported_event_expected;
  const timestamp = event.timestamp ?? 0n;
  if (!imported) return timestamp !== 0n ? codes.timestamp_must_be_zero : null;
  if (timestamp <= 0n || timestamp > AMOUNT_MAX) return codes.imported_event_timestamp_out_of_range;
  if (timestamp >= timestampLast) return codes.imported_event_timestamp_must_not_advance;
  return null;
}

const isSet = (id: string | null | undefined): id is string => !!id && id !== NIL_ID;

/** The field checks of a posted or pending transfer (no post/void flag), in precedence order. */
function validatePostedOrPending(event: TransferEvent): TR | null {
  const flags = event.flags ?? 0;
  if (!isSet(event.debitAccountId)) return TR.debit_account_id_must_not_be_zero;
  if (event.debitAccountId === MAX_ID) return TR.debit_account_id_must_not_be_int_max;
  if (!isSet(event.creditAccountId)) return TR.credit_account_id_must_not_be_zero;
  if (event.creditAccountId === MAX_ID) return TR.credit_account_id_must_not_be_int_max;
  if (event.debitAccountId === event.creditAccountId) return TR.accounts_must_be_different;
  if (isSet(event.pendingId)) return TR.pending_id_must_be_zero;
  if (!has(flags, F.pending)) {
    if ((event.timeout ?? 0) !== 0) return TR.timeout_reserved_for_pending_transfer;
    if (has(flags, F.closing_debit | F.closing_credit)) return TR.closing_transfer_must_be_pending;
  }
  if (event.amount < 0n) return TR.amount_must_not_be_negative;
  if (!event.ledger) return TR.ledger_must_not_be_zero;
  if (!event.code) return TR.code_must_not_be_zero;
  return null;
}

/**
 * A posted or pending transfer from its event. Built as one literal (not a spread of a
 * normalized copy): this and `withBalances` run for every transfer of every batch.
 */
function newTransfer(event: TransferEvent, amount: bigint, timestamp: bigint): Transfer {
  return {
    id: event.id,
    debitAccountId: event.debitAccountId!,
    creditAccountId: event.creditAccountId!,
    amount,
    pendingId: null,
    ledger: event.ledger ?? 0,
    code: event.code ?? 0,
    flags: event.flags ?? 0,
    timeout: event.timeout ?? 0,
    userData128: event.userData128 ?? null,
    userData64: event.userData64 ?? 0n,
    userData32: event.userData32 ?? 0,
    timestamp,
  };
}

/** A copy of `account` with new balances and closed flag (one object shape for every account). */
function withBalances(
  account: Account,
  debitsPending: bigint,
  debitsPosted: bigint,
  creditsPending: bigint,
  creditsPosted: bigint,
  closed: boolean,
): Account {
  return {
    id: account.id,
    ledger: account.ledger,
    code: account.code,
    flags: account.flags,
    closed,
    userData128: account.userData128,
    userData64: account.userData64,
    userData32: account.userData32,
    debitsPending,
    debitsPosted,
    creditsPending,
    creditsPosted,
    timestamp: account.timestamp,
  };
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
