/**
 * Result codes, one enum per operation, in precedence order: when an event breaks several
 * rules it gets the code declared first. The order is TigerBeetle's (docs/reference/requests/
 * create_accounts.md and create_transfers.md); codes TigerBeetle does not have are marked.
 * `ok` and `exists` mean the event's effect is in the ledger (`exists`: from an earlier
 * submission with identical fields); every other code means nothing was applied.
 */
export enum CreateAccountResult {
  ok = 'ok',
  linked_event_failed = 'linked_event_failed',
  linked_event_chain_open = 'linked_event_chain_open',
  imported_event_expected = 'imported_event_expected',
  imported_event_not_expected = 'imported_event_not_expected',
  timestamp_must_be_zero = 'timestamp_must_be_zero',
  imported_event_timestamp_out_of_range = 'imported_event_timestamp_out_of_range',
  imported_event_timestamp_must_not_advance = 'imported_event_timestamp_must_not_advance',
  reserved_flag = 'reserved_flag',
  id_must_not_be_zero = 'id_must_not_be_zero',
  id_must_not_be_int_max = 'id_must_not_be_int_max',
  exists_with_different_flags = 'exists_with_different_flags',
  exists_with_different_user_data_128 = 'exists_with_different_user_data_128',
  exists_with_different_user_data_64 = 'exists_with_different_user_data_64',
  exists_with_different_user_data_32 = 'exists_with_different_user_data_32',
  exists_with_different_ledger = 'exists_with_different_ledger',
  exists_with_different_code = 'exists_with_different_code',
  exists = 'exists',
  flags_are_mutually_exclusive = 'flags_are_mutually_exclusive',
  ledger_must_not_be_zero = 'ledger_must_not_be_zero',
  code_must_not_be_zero = 'code_must_not_be_zero',
  /** Not in TigerBeetle (which has no table of ledgers): the ledger is not in ledger_ledgers. */
  ledger_not_found = 'ledger_not_found',
  imported_event_timestamp_must_not_regress = 'imported_event_timestamp_must_not_regress',
}

export enum CreateTransferResult {
  ok = 'ok',
  linked_event_failed = 'linked_event_failed',
  linked_event_chain_open = 'linked_event_chain_open',
  imported_event_expected = 'imported_event_expected',
  imported_event_not_expected = 'imported_event_not_expected',
  timestamp_must_be_zero = 'timestamp_must_be_zero',
  imported_event_timestamp_out_of_range = 'imported_event_timestamp_out_of_range',
  imported_event_timestamp_must_not_advance = 'imported_event_timestamp_must_not_advance',
  reserved_flag = 'reserved_flag',
  id_must_not_be_zero = 'id_must_not_be_zero',
  id_must_not_be_int_max = 'id_must_not_be_int_max',
  exists_with_different_flags = 'exists_with_different_flags',
  exists_with_different_pending_id = 'exists_with_different_pending_id',
  exists_with_different_timeout = 'exists_with_different_timeout',
  exists_with_different_debit_account_id = 'exists_with_different_debit_account_id',
  exists_with_different_credit_account_id = 'exists_with_different_credit_account_id',
  exists_with_different_amount = 'exists_with_different_amount',
  exists_with_different_user_data_128 = 'exists_with_different_user_data_128',
  exists_with_different_user_data_64 = 'exists_with_different_user_data_64',
  exists_with_different_user_data_32 = 'exists_with_different_user_data_32',
  exists_with_different_ledger = 'exists_with_different_ledger',
  exists_with_different_code = 'exists_with_different_code',
  exists = 'exists',
  /** An earlier event with this id failed for a transient reason (`TRANSIENT_RESULTS`). */
  id_already_failed = 'id_already_failed',
  flags_are_mutually_exclusive = 'flags_are_mutually_exclusive',
  debit_account_id_must_not_be_zero = 'debit_account_id_must_not_be_zero',
  debit_account_id_must_not_be_int_max = 'debit_account_id_must_not_be_int_max',
  credit_account_id_must_not_be_zero = 'credit_account_id_must_not_be_zero',
  credit_account_id_must_not_be_int_max = 'credit_account_id_must_not_be_int_max',
  accounts_must_be_different = 'accounts_must_be_different',
  pending_id_must_be_zero = 'pending_id_must_be_zero',
  pending_id_must_not_be_zero = 'pending_id_must_not_be_zero',
  pending_id_must_not_be_int_max = 'pending_id_must_not_be_int_max',
  pending_id_must_be_different = 'pending_id_must_be_different',
  timeout_reserved_for_pending_transfer = 'timeout_reserved_for_pending_transfer',
  closing_transfer_must_be_pending = 'closing_transfer_must_be_pending',
  /** Not in TigerBeetle (whose amounts are unsigned): amounts here are signed bigints. */
  amount_must_not_be_negative = 'amount_must_not_be_negative',
  ledger_must_not_be_zero = 'ledger_must_not_be_zero',
  code_must_not_be_zero = 'code_must_not_be_zero',
  debit_account_not_found = 'debit_account_not_found',
  credit_account_not_found = 'credit_account_not_found',
  accounts_must_have_the_same_ledger = 'accounts_must_have_the_same_ledger',
  transfer_must_have_the_same_ledger_as_accounts = 'transfer_must_have_the_same_ledger_as_accounts',
  pending_transfer_not_found = 'pending_transfer_not_found',
  pending_transfer_not_pending = 'pending_transfer_not_pending',
  pending_transfer_has_different_debit_account_id = 'pending_transfer_has_different_debit_account_id',
  pending_transfer_has_different_credit_account_id = 'pending_transfer_has_different_credit_account_id',
  pending_transfer_has_different_ledger = 'pending_transfer_has_different_ledger',
  pending_transfer_has_different_code = 'pending_transfer_has_different_code',
  exceeds_pending_transfer_amount = 'exceeds_pending_transfer_amount',
  pending_transfer_has_different_amount = 'pending_transfer_has_different_amount',
  pending_transfer_already_posted = 'pending_transfer_already_posted',
  pending_transfer_already_voided = 'pending_transfer_already_voided',
  pending_transfer_expired = 'pending_transfer_expired',
  imported_event_timestamp_must_not_regress = 'imported_event_timestamp_must_not_regress',
  imported_event_timestamp_must_postdate_debit_account = 'imported_event_timestamp_must_postdate_debit_account',
  imported_event_timestamp_must_postdate_credit_account = 'imported_event_timestamp_must_postdate_credit_account',
  imported_event_timeout_must_be_zero = 'imported_event_timeout_must_be_zero',
  debit_account_already_closed = 'debit_account_already_closed',
  credit_account_already_closed = 'credit_account_already_closed',
  overflows_debits_pending = 'overflows_debits_pending',
  overflows_credits_pending = 'overflows_credits_pending',
  overflows_debits_posted = 'overflows_debits_posted',
  overflows_credits_posted = 'overflows_credits_posted',
  overflows_debits = 'overflows_debits',
  overflows_credits = 'overflows_credits',
  overflows_timeout = 'overflows_timeout',
  exceeds_credits = 'exceeds_credits',
  exceeds_debits = 'exceeds_debits',
}

/**
 * Results that depend on the ledger's state at the time (TigerBeetle's transient errors). The
 * ledger records the id of a transfer that failed with one of them, and every later event with
 * that id gets `id_already_failed`: a refused transfer can never go through later (after a
 * top-up, say). Retrying after a transient error needs a new id.
 */
export const TRANSIENT_RESULTS: ReadonlySet<CreateTransferResult> = new Set([
  CreateTransferResult.debit_account_not_found,
  CreateTransferResult.credit_account_not_found,
  CreateTransferResult.pending_transfer_not_found,
  CreateTransferResult.exceeds_credits,
  CreateTransferResult.exceeds_debits,
  CreateTransferResult.debit_account_already_closed,
  CreateTransferResult.credit_account_already_closed,
]);

/** Per-event outcome. `timestamp` is set for ok and exists (the original's timestamp). */
export interface EventResult<Code> {
  index: number;
  result: Code;
  timestamp?: bigint;
}

export type CreateAccountOutcome = EventResult<CreateAccountResult>;
export type CreateTransferOutcome = EventResult<CreateTransferResult>;

/** True when the event's effect is in the ledger (new or from an identical earlier submission). */
export function succeeded(result: CreateAccountResult | CreateTransferResult): boolean {
  return result === 'ok' || result === 'exists';
}
