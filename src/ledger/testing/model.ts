import type { AccountEvent, TransferEvent } from '../types.ts';

/**
 * A reference model of the ledger, written from TigerBeetle's documentation
 * (docs/reference/requests/create_transfers.md and create_accounts.md), not from the
 * implementation: it imports no code of the ledger but its event types, keeps its own flag
 * bits, and decides a result by collecting EVERY rule an event breaks and then taking the first
 * in its own precedence table. (The implementation returns at the first failing check.) Linked
 * chains are undone by restoring a whole copy of the state.
 *
 * Time: the model does not know the ledger's exact timestamps, only the test's "now" (set by
 * `at`), and every pending deadline it is asked about lies well away from it (the workload's
 * timeouts and clock steps are chosen so), so a transfer is expired exactly when its deadline
 * is at or before now.
 *
 * Differences from TigerBeetle that the product keeps (docs/LEDGER.md) are modelled as the
 * product behaves, each marked "product:".
 */

const AMOUNT_MAX = (1n << 63n) - 1n;
const NIL = '00000000-0000-0000-0000-000000000000';
const MAX = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
const NS = 1_000_000_000n;

// Flag bits as documented (docs/reference/account.md#flags, transfer.md#flags).
const A_DEBITS_LIMITED = 2;
const A_CREDITS_LIMITED = 4;
const A_KNOWN = 1 | 2 | 4 | 8 | 16 | 32; // linked, limits, history, imported, closed
const A_IMPORTED = 16;
const A_CLOSED = 32;
const T_PENDING = 2;
const T_POST = 4;
const T_VOID = 8;
const T_BAL_DEBIT = 16;
const T_BAL_CREDIT = 32;
const T_CLOSE_DEBIT = 64;
const T_CLOSE_CREDIT = 128;
const T_KNOWN = 0x1ff; // ... closing_credit, imported
const T_IMPORTED = 256;

/** create_accounts results, in the documented order of precedence. */
const ACCOUNT_PRECEDENCE = [
  'imported_event_expected',
  'imported_event_not_expected',
  'timestamp_must_be_zero',
  'imported_event_timestamp_out_of_range',
  'imported_event_timestamp_must_not_advance',
  'reserved_flag',
  'id_must_not_be_zero',
  'id_must_not_be_int_max',
  'exists_with_different_flags',
  'exists_with_different_user_data_128',
  'exists_with_different_user_data_64',
  'exists_with_different_user_data_32',
  'exists_with_different_ledger',
  'exists_with_different_code',
  'exists',
  'flags_are_mutually_exclusive',
  'ledger_must_not_be_zero',
  'code_must_not_be_zero',
  'ledger_not_found', // product: ledgers are a table
  'imported_event_timestamp_must_not_regress',
] as const;

/** create_transfers results, in the documented order of precedence. */
const TRANSFER_PRECEDENCE = [
  'imported_event_expected',
  'imported_event_not_expected',
  'timestamp_must_be_zero',
  'imported_event_timestamp_out_of_range',
  'imported_event_timestamp_must_not_advance',
  'reserved_flag',
  'id_must_not_be_zero',
  'id_must_not_be_int_max',
  'exists_with_different_flags',
  'exists_with_different_pending_id',
  'exists_with_different_timeout',
  'exists_with_different_debit_account_id',
  'exists_with_different_credit_account_id',
  'exists_with_different_amount',
  'exists_with_different_user_data_128',
  'exists_with_different_user_data_64',
  'exists_with_different_user_data_32',
  'exists_with_different_ledger',
  'exists_with_different_code',
  'exists',
  'id_already_failed',
  'flags_are_mutually_exclusive',
  'debit_account_id_must_not_be_zero',
  'debit_account_id_must_not_be_int_max',
  'credit_account_id_must_not_be_zero',
  'credit_account_id_must_not_be_int_max',
  'accounts_must_be_different',
  'pending_id_must_be_zero',
  'pending_id_must_not_be_zero',
  'pending_id_must_not_be_int_max',
  'pending_id_must_be_different',
  'timeout_reserved_for_pending_transfer',
  'closing_transfer_must_be_pending',
  'ledger_must_not_be_zero',
  'code_must_not_be_zero',
  'debit_account_not_found',
  'credit_account_not_found',
  'accounts_must_have_the_same_ledger',
  'transfer_must_have_the_same_ledger_as_accounts',
  'pending_transfer_not_found',
  'pending_transfer_not_pending',
  'pending_transfer_has_different_debit_account_id',
  'pending_transfer_has_different_credit_account_id',
  'pending_transfer_has_different_ledger',
  'pending_transfer_has_different_code',
  'exceeds_pending_transfer_amount',
  'pending_transfer_has_different_amount',
  'pending_transfer_already_posted',
  'pending_transfer_already_voided',
  'pending_transfer_expired',
  'imported_event_timestamp_must_not_regress',
  'imported_event_timestamp_must_postdate_debit_account',
  'imported_event_timestamp_must_postdate_credit_account',
  'imported_event_timeout_must_be_zero',
  'debit_account_already_closed',
  'credit_account_already_closed',
  'overflows_debits_pending',
  'overflows_credits_pending',
  'overflows_debits_posted',
  'overflows_credits_posted',
  'overflows_debits',
  'overflows_credits',
  'overflows_timeout',
  'exceeds_credits',
  'exceeds_debits',
] as const;

/** The documented transient errors: they burn the transfer's id. */
const TRANSIENT = new Set([
  'debit_account_not_found',
  'credit_account_not_found',
  'pending_transfer_not_found',
  'exceeds_credits',
  'exceeds_debits',
  'debit_account_already_closed',
  'credit_account_already_closed',
]);

export interface ModelAccount {
  ledger: number;
  code: number;
  flags: number;
  userData128: string | null;
  userData64: bigint;
  userData32: number;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
  closed: boolean;
  /** Its timestamp: an imported one's own, else the model time it was created at. */
  ts: bigint;
}

interface ModelTransfer {
  debit: string;
  credit: string;
  amount: bigint;
  pendingId: string | null;
  ledger: number;
  code: number;
  flags: number;
  timeout: number;
  userData128: string | null;
  userData64: bigint;
  userData32: number;
  /** For pending transfers with a timeout: the model time at which it expires. */
  deadline: bigint | null;
  ts: bigint;
}

type Status = 'pending' | 'posted' | 'voided' | 'expired';

interface State {
  accounts: Map<string, ModelAccount>;
  transfers: Map<string, ModelTransfer>;
  status: Map<string, Status>;
  failed: Set<string>;
}

/** What a linked chain changed: the earlier values, restored if the chain fails. */
interface Saved {
  accounts: Map<string, ModelAccount | undefined>;
  transfers: Set<string>;
  status: Map<string, Status | undefined>;
}

const first = <R extends string>(table: readonly R[], broken: Set<string>): R | null =>
  table.find((rule) => broken.has(rule)) ?? null;
const isSet = (id: string | null | undefined): id is string => !!id && id !== NIL;

export class LedgerModel {
  state: State = { accounts: new Map(), transfers: new Map(), status: new Map(), failed: new Set() };
  /** Model time, in ledger nanoseconds. */
  now = 0n;
  private readonly ledgers: ReadonlySet<number>;

  constructor(ledgers: Iterable<number> = [1, 2, 3]) {
    this.ledgers = new Set(ledgers);
  }

  at(now: bigint): this {
    this.now = now;
    return this;
  }

  createAccounts(events: readonly AccountEvent[]): string[] {
    this.expire();
    return this.chains(events, A_IMPORTED, (event, batchImported) => this.account(event, batchImported));
  }

  /** A pending transfer is released at its deadline: no event sees it pending after that. */
  createTransfers(events: readonly TransferEvent[]): string[] {
    this.expire();
    return this.chains(events, T_IMPORTED, (event, batchImported) =>
      this.transfer(event as TransferEvent, batchImported),
    );
  }

  /**
   * Releases every pending transfer whose deadline has passed. TigerBeetle releases them at the
   * deadline, so every operation and read runs this first; the expiry job changes nothing seen.
   */
  expire(): number {
    let count = 0;
    for (const [id, status] of this.state.status) {
      const transfer = this.state.transfers.get(id)!;
      if (status !== 'pending' || transfer.deadline === null || transfer.deadline > this.now) continue;
      this.release(id, transfer, 0n, 'expired');
      count++;
    }
    return count;
  }

  private chains<E extends { id: string; flags?: number }>(
    events: readonly E[],
    importedFlag: number,
    apply: (event: E, batchImported: boolean) => string,
  ): string[] {
    // Documented: the first event decides whether the whole batch is imported.
    const batchImported = events.length > 0 && ((events[0]!.flags ?? 0) & importedFlag) !== 0;
    const results: string[] = [];
    let chain: { start: number } | null = null;
    let broken = false;
    events.forEach((event, index) => {
      const linked = ((event.flags ?? 0) & 1) !== 0;
      if (linked && !chain) {
        chain = { start: index };
        this.saved = { accounts: new Map(), transfers: new Set(), status: new Map() };
      }
      let result: string;
      if (linked && index === events.length - 1) result = 'linked_event_chain_open';
      else if (broken) result = 'linked_event_failed';
      else result = apply(event, batchImported);
      // product: `exists` inside a chain counts as success.
      if (result !== 'ok' && result !== 'exists') {
        if (chain && !broken) {
          this.restore();
          for (let i = (chain as { start: number }).start; i < index; i++) results[i] = 'linked_event_failed';
          broken = true;
        }
        if (TRANSIENT.has(result)) this.state.failed.add(event.id);
      }
      results.push(result);
      if (!linked || index === events.length - 1) {
        chain = null;
        broken = false;
        this.saved = null;
      }
    });
    return results;
  }

  private saved: Saved | null = null;

  private restore(): void {
    const saved = this.saved!;
    for (const [id, account] of saved.accounts) {
      if (account) this.state.accounts.set(id, account);
      else this.state.accounts.delete(id);
    }
    for (const id of saved.transfers) this.state.transfers.delete(id);
    for (const [id, status] of saved.status) {
      if (status) this.state.status.set(id, status);
      else this.state.status.delete(id);
    }
    this.saved = null;
  }

  /** The account, for changing: inside a chain its earlier value is kept first. */
  private touch(id: string): ModelAccount {
    const account = this.state.accounts.get(id)!;
    if (this.saved && !this.saved.accounts.has(id)) this.saved.accounts.set(id, { ...account });
    return account;
  }

  private addAccount(id: string, account: ModelAccount): void {
    if (this.saved && !this.saved.accounts.has(id)) this.saved.accounts.set(id, undefined);
    this.state.accounts.set(id, account);
  }

  private addTransfer(id: string, transfer: ModelTransfer): void {
    if (this.saved) this.saved.transfers.add(id);
    this.state.transfers.set(id, transfer);
  }

  private setStatus(id: string, status: Status): void {
    if (this.saved && !this.saved.status.has(id)) this.saved.status.set(id, this.state.status.get(id));
    this.state.status.set(id, status);
  }

  /**
   * The documented rules on an event's timestamp: an imported one brings its own, in the past
   * (model time is the batch's; the workload keeps imported timestamps seconds away from it).
   */
  private importRules(
    event: { timestamp?: bigint; flags?: number },
    importedFlag: number,
    batchImported: boolean,
    broken: Set<string>,
  ): void {
    const imported = ((event.flags ?? 0) & importedFlag) !== 0;
    const ts = event.timestamp ?? 0n;
    if (imported && !batchImported) broken.add('imported_event_not_expected');
    if (!imported && batchImported) broken.add('imported_event_expected');
    if (!imported && ts !== 0n) broken.add('timestamp_must_be_zero');
    if (imported && (ts <= 0n || ts > AMOUNT_MAX)) broken.add('imported_event_timestamp_out_of_range');
    if (imported && ts >= this.now) broken.add('imported_event_timestamp_must_not_advance');
  }

  /** Documented: after every object of its kind, and no object of the other kind at that time. */
  private regresses(ts: bigint, kind: 'account' | 'transfer'): boolean {
    const same = kind === 'account' ? this.state.accounts : this.state.transfers;
    const other = kind === 'account' ? this.state.transfers : this.state.accounts;
    for (const object of same.values()) if (object.ts >= ts) return true;
    for (const object of other.values()) if (object.ts === ts) return true;
    return false;
  }

  private account(event: AccountEvent, batchImported: boolean): string {
    const flags = event.flags ?? 0;
    const broken = new Set<string>();
    this.importRules(event, A_IMPORTED, batchImported, broken);
    const imported = (flags & A_IMPORTED) !== 0;
    if (flags & ~A_KNOWN) broken.add('reserved_flag');
    if (event.id === NIL) broken.add('id_must_not_be_zero');
    if (event.id === MAX) broken.add('id_must_not_be_int_max');
    const existing = this.state.accounts.get(event.id);
    if (existing) {
      const differs = [
        [flags !== existing.flags, 'exists_with_different_flags'],
        [(event.userData128 ?? null) !== existing.userData128, 'exists_with_different_user_data_128'],
        [(event.userData64 ?? 0n) !== existing.userData64, 'exists_with_different_user_data_64'],
        [(event.userData32 ?? 0) !== existing.userData32, 'exists_with_different_user_data_32'],
        [event.ledger !== existing.ledger, 'exists_with_different_ledger'],
        [event.code !== existing.code, 'exists_with_different_code'],
      ] as const;
      broken.add(differs.find(([differ]) => differ)?.[1] ?? 'exists');
    }
    if (flags & A_DEBITS_LIMITED && flags & A_CREDITS_LIMITED) broken.add('flags_are_mutually_exclusive');
    if (event.ledger === 0) broken.add('ledger_must_not_be_zero');
    if (event.code === 0) broken.add('code_must_not_be_zero');
    if (!this.ledgers.has(event.ledger)) broken.add('ledger_not_found');
    if (imported && this.regresses(event.timestamp ?? 0n, 'account'))
      broken.add('imported_event_timestamp_must_not_regress');
    const result = first(ACCOUNT_PRECEDENCE, broken);
    if (result) return result;
    this.addAccount(event.id, {
      ledger: event.ledger,
      code: event.code,
      flags,
      userData128: event.userData128 ?? null,
      userData64: event.userData64 ?? 0n,
      userData32: event.userData32 ?? 0,
      debitsPending: 0n,
      debitsPosted: 0n,
      creditsPending: 0n,
      creditsPosted: 0n,
      closed: (flags & A_CLOSED) !== 0,
      ts: imported ? event.timestamp! : this.now,
    });
    return 'ok';
  }

  private transfer(event: TransferEvent, batchImported: boolean): string {
    const flags = event.flags ?? 0;
    const resolving = (flags & (T_POST | T_VOID)) !== 0;
    const broken = new Set<string>();
    this.importRules(event, T_IMPORTED, batchImported, broken);
    const imported = (flags & T_IMPORTED) !== 0;
    const ts = imported ? event.timestamp! : this.now;
    if (flags & ~T_KNOWN) broken.add('reserved_flag');
    if (event.id === NIL) broken.add('id_must_not_be_zero');
    if (event.id === MAX) broken.add('id_must_not_be_int_max');
    const existing = this.state.transfers.get(event.id);
    if (existing) broken.add(this.compare(event, existing));
    else if (this.state.failed.has(event.id)) broken.add('id_already_failed');
    const timeout = event.timeout ?? 0;
    let amount = event.amount;
    if (resolving) {
      const post = (flags & T_POST) !== 0;
      if (
        (flags & T_POST && flags & T_VOID) ||
        flags & (T_PENDING | T_BAL_DEBIT | T_BAL_CREDIT | T_CLOSE_DEBIT | T_CLOSE_CREDIT)
      )
        broken.add('flags_are_mutually_exclusive');
      if (!isSet(event.pendingId)) broken.add('pending_id_must_not_be_zero');
      if (event.pendingId === MAX) broken.add('pending_id_must_not_be_int_max');
      if (event.pendingId === event.id) broken.add('pending_id_must_be_different');
      if (timeout !== 0) broken.add('timeout_reserved_for_pending_transfer');
      const p = isSet(event.pendingId) ? this.state.transfers.get(event.pendingId) : undefined;
      if (isSet(event.pendingId) && event.pendingId !== MAX && !p) broken.add('pending_transfer_not_found');
      if (p && !(p.flags & T_PENDING)) broken.add('pending_transfer_not_pending');
      if (p && p.flags & T_PENDING) {
        if (isSet(event.debitAccountId) && event.debitAccountId !== p.debit)
          broken.add('pending_transfer_has_different_debit_account_id');
        if (isSet(event.creditAccountId) && event.creditAccountId !== p.credit)
          broken.add('pending_transfer_has_different_credit_account_id');
        if (event.ledger && event.ledger !== p.ledger) broken.add('pending_transfer_has_different_ledger');
        if (event.code && event.code !== p.code) broken.add('pending_transfer_has_different_code');
        // A void's 0 and a post's maximum amount mean "the pending amount".
        amount = post
          ? event.amount === AMOUNT_MAX
            ? p.amount
            : event.amount
          : event.amount === 0n
            ? p.amount
            : event.amount;
        if (amount > p.amount) broken.add('exceeds_pending_transfer_amount');
        if (!post && amount < p.amount) broken.add('pending_transfer_has_different_amount');
        const status = this.state.status.get(event.pendingId!)!;
        if (status === 'posted') broken.add('pending_transfer_already_posted');
        if (status === 'voided') broken.add('pending_transfer_already_voided');
        if (status === 'expired' || (p.deadline !== null && p.deadline <= this.now))
          broken.add('pending_transfer_expired');
        if (imported && this.regresses(ts, 'transfer'))
          broken.add('imported_event_timestamp_must_not_regress');
        // Voiding is the only movement a closed account allows.
        if (post && this.state.accounts.get(p.debit)!.closed) broken.add('debit_account_already_closed');
        if (post && this.state.accounts.get(p.credit)!.closed) broken.add('credit_account_already_closed');
      }
      const result = first(TRANSFER_PRECEDENCE, broken);
      if (result) return result;
      const pendingId = event.pendingId!;
      const p2 = this.state.transfers.get(pendingId)!;
      this.addTransfer(event.id, {
        debit: p2.debit,
        credit: p2.credit,
        amount,
        pendingId,
        ledger: p2.ledger,
        code: p2.code,
        flags,
        timeout: 0,
        userData128: event.userData128 ?? p2.userData128,
        userData64: event.userData64 || p2.userData64,
        userData32: event.userData32 || p2.userData32,
        deadline: null,
        ts,
      });
      this.release(pendingId, p2, post ? amount : 0n, post ? 'posted' : 'voided');
      return 'ok';
    }

    const pending = (flags & T_PENDING) !== 0;
    if (!isSet(event.debitAccountId)) broken.add('debit_account_id_must_not_be_zero');
    if (event.debitAccountId === MAX) broken.add('debit_account_id_must_not_be_int_max');
    if (!isSet(event.creditAccountId)) broken.add('credit_account_id_must_not_be_zero');
    if (event.creditAccountId === MAX) broken.add('credit_account_id_must_not_be_int_max');
    if (isSet(event.debitAccountId) && event.debitAccountId === event.creditAccountId)
      broken.add('accounts_must_be_different');
    if (isSet(event.pendingId)) broken.add('pending_id_must_be_zero');
    if (!pending && timeout !== 0) broken.add('timeout_reserved_for_pending_transfer');
    if (!pending && flags & (T_CLOSE_DEBIT | T_CLOSE_CREDIT)) broken.add('closing_transfer_must_be_pending');
    if (!event.ledger) broken.add('ledger_must_not_be_zero');
    if (!event.code) broken.add('code_must_not_be_zero');
    const dr = isSet(event.debitAccountId) ? this.state.accounts.get(event.debitAccountId) : undefined;
    const cr = isSet(event.creditAccountId) ? this.state.accounts.get(event.creditAccountId) : undefined;
    if (!dr) broken.add('debit_account_not_found');
    if (!cr) broken.add('credit_account_not_found');
    if (dr && cr) {
      if (dr.ledger !== cr.ledger) broken.add('accounts_must_have_the_same_ledger');
      else if (event.ledger !== dr.ledger) broken.add('transfer_must_have_the_same_ledger_as_accounts');
      if (imported) {
        if (this.regresses(ts, 'transfer')) broken.add('imported_event_timestamp_must_not_regress');
        if (ts <= dr.ts) broken.add('imported_event_timestamp_must_postdate_debit_account');
        if (ts <= cr.ts) broken.add('imported_event_timestamp_must_postdate_credit_account');
        if (timeout !== 0) broken.add('imported_event_timeout_must_be_zero');
      }
      if (dr.closed) broken.add('debit_account_already_closed');
      if (cr.closed) broken.add('credit_account_already_closed');
      const floor = (n: bigint) => (n > 0n ? n : 0n);
      if (flags & T_BAL_DEBIT) {
        const room = floor(dr.creditsPosted - dr.debitsPosted - dr.debitsPending);
        if (room < amount) amount = room;
      }
      if (flags & T_BAL_CREDIT) {
        const room = floor(cr.debitsPosted - cr.creditsPosted - cr.creditsPending);
        if (room < amount) amount = room;
      }
      if (pending && dr.debitsPending + amount > AMOUNT_MAX) broken.add('overflows_debits_pending');
      if (pending && cr.creditsPending + amount > AMOUNT_MAX) broken.add('overflows_credits_pending');
      if (dr.debitsPosted + amount > AMOUNT_MAX) broken.add('overflows_debits_posted');
      if (cr.creditsPosted + amount > AMOUNT_MAX) broken.add('overflows_credits_posted');
      if (dr.debitsPending + dr.debitsPosted + amount > AMOUNT_MAX) broken.add('overflows_debits');
      if (cr.creditsPending + cr.creditsPosted + amount > AMOUNT_MAX) broken.add('overflows_credits');
      if (dr.flags & A_DEBITS_LIMITED && dr.debitsPending + dr.debitsPosted + amount > dr.creditsPosted)
        broken.add('exceeds_credits');
      if (cr.flags & A_CREDITS_LIMITED && cr.creditsPending + cr.creditsPosted + amount > cr.debitsPosted)
        broken.add('exceeds_debits');
    }
    const result = first(TRANSFER_PRECEDENCE, broken);
    if (result) return result;
    const debit = this.touch(event.debitAccountId!);
    const credit = this.touch(event.creditAccountId!);
    if (pending) {
      debit.debitsPending += amount;
      credit.creditsPending += amount;
      if (flags & T_CLOSE_DEBIT) debit.closed = true;
      if (flags & T_CLOSE_CREDIT) credit.closed = true;
      this.setStatus(event.id, 'pending');
    } else {
      debit.debitsPosted += amount;
      credit.creditsPosted += amount;
    }
    this.addTransfer(event.id, {
      debit: event.debitAccountId!,
      credit: event.creditAccountId!,
      amount,
      pendingId: null,
      ledger: event.ledger!,
      code: event.code!,
      flags,
      timeout,
      userData128: event.userData128 ?? null,
      userData64: event.userData64 ?? 0n,
      userData32: event.userData32 ?? 0,
      deadline: pending && timeout > 0 ? this.now + BigInt(timeout) * NS : null,
      ts,
    });
    return 'ok';
  }

  private release(id: string, p: ModelTransfer, posted: bigint, status: Status): void {
    const debit = this.touch(p.debit);
    const credit = this.touch(p.credit);
    debit.debitsPending -= p.amount;
    credit.creditsPending -= p.amount;
    debit.debitsPosted += posted;
    credit.creditsPosted += posted;
    if (status !== 'posted') {
      if (p.flags & T_CLOSE_DEBIT) debit.closed = false;
      if (p.flags & T_CLOSE_CREDIT) credit.closed = false;
    }
    this.setStatus(id, status);
  }

  /** The documented idempotency comparison: the first differing field, or `exists`. */
  private compare(event: TransferEvent, e: ModelTransfer): string {
    const flags = event.flags ?? 0;
    if (flags !== e.flags) return 'exists_with_different_flags';
    if ((isSet(event.pendingId) ? event.pendingId : null) !== e.pendingId)
      return 'exists_with_different_pending_id';
    if ((event.timeout ?? 0) !== e.timeout) return 'exists_with_different_timeout';
    if (flags & (T_POST | T_VOID)) {
      const p = this.state.transfers.get(e.pendingId!)!;
      if (isSet(event.debitAccountId) && event.debitAccountId !== e.debit)
        return 'exists_with_different_debit_account_id';
      if (isSet(event.creditAccountId) && event.creditAccountId !== e.credit)
        return 'exists_with_different_credit_account_id';
      const full = flags & T_VOID ? 0n : AMOUNT_MAX;
      if (event.amount === full ? e.amount !== p.amount : event.amount !== e.amount)
        return 'exists_with_different_amount';
      // Unset user data was taken from the pending transfer.
      if (
        (event.userData128 ?? null) === null
          ? e.userData128 !== p.userData128
          : event.userData128 !== e.userData128
      )
        return 'exists_with_different_user_data_128';
      if (!event.userData64 ? e.userData64 !== p.userData64 : event.userData64 !== e.userData64)
        return 'exists_with_different_user_data_64';
      if (!event.userData32 ? e.userData32 !== p.userData32 : event.userData32 !== e.userData32)
        return 'exists_with_different_user_data_32';
      if (event.ledger && event.ledger !== e.ledger) return 'exists_with_different_ledger';
      if (event.code && event.code !== e.code) return 'exists_with_different_code';
      return 'exists';
    }
    if (event.debitAccountId !== e.debit) return 'exists_with_different_debit_account_id';
    if (event.creditAccountId !== e.credit) return 'exists_with_different_credit_account_id';
    const balancing = (flags & (T_BAL_DEBIT | T_BAL_CREDIT)) !== 0;
    if (balancing ? event.amount < e.amount : event.amount !== e.amount)
      return 'exists_with_different_amount';
    if ((event.userData128 ?? null) !== e.userData128) return 'exists_with_different_user_data_128';
    if ((event.userData64 ?? 0n) !== e.userData64) return 'exists_with_different_user_data_64';
    if ((event.userData32 ?? 0) !== e.userData32) return 'exists_with_different_user_data_32';
    if (event.ledger !== e.ledger) return 'exists_with_different_ledger';
    if (event.code !== e.code) return 'exists_with_different_code';
    return 'exists';
  }
}
