import { CreateAccountResult as AR, CreateTransferResult as TR } from './results.ts';
import type { Account, AccountEvent, Transfer, TransferEvent } from './types.ts';
import { AMOUNT_MAX, TransferFlags as F, NIL_ID } from './types.ts';

/**
 * Idempotency: an event whose id already exists is compared field by field, in precedence
 * order. Identical means `exists` (nothing applied again); otherwise the first differing
 * field is named.
 */
export function compareAccount(event: AccountEvent, existing: Account): AR {
  if ((event.flags ?? 0) !== existing.flags) return AR.exists_with_different_flags;
  if ((event.userData128 ?? null) !== existing.userData128) return AR.exists_with_different_user_data_128;
  if ((event.userData64 ?? 0n) !== existing.userData64) return AR.exists_with_different_user_data_64;
  if ((event.userData32 ?? 0) !== existing.userData32) return AR.exists_with_different_user_data_32;
  if (event.ledger !== existing.ledger) return AR.exists_with_different_ledger;
  if (event.code !== existing.code) return AR.exists_with_different_code;
  return AR.exists;
}

/**
 * For post/void events, fields left unset (taken from the pending transfer when first
 * applied) match whatever was stored. `pending` is the transfer `existing` resolved, if any.
 */
export function compareTransfer(event: TransferEvent, existing: Transfer, pending: Transfer | undefined): TR {
  const flags = event.flags ?? 0;
  const postOrVoid = (flags & (F.post_pending_transfer | F.void_pending_transfer)) !== 0;
  const unsetMatches = <T>(value: T | null | undefined, unset: T, stored: T) =>
    (postOrVoid && (value === undefined || value === null || value === unset)) || value === stored;
  if (flags !== existing.flags) return TR.exists_with_different_flags;
  // The nil id is "no pending id", as unset.
  const pendingId = event.pendingId && event.pendingId !== NIL_ID ? event.pendingId : null;
  if (pendingId !== existing.pendingId) return TR.exists_with_different_pending_id;
  if ((event.timeout ?? 0) !== existing.timeout) return TR.exists_with_different_timeout;
  if (!unsetMatches(event.debitAccountId, '', existing.debitAccountId))
    return TR.exists_with_different_debit_account_id;
  if (!unsetMatches(event.creditAccountId, '', existing.creditAccountId)) {
    return TR.exists_with_different_credit_account_id;
  }
  if (!amountMatches(event, existing, pending)) return TR.exists_with_different_amount;
  // A post/void's unset user data was taken from the pending transfer: a replay that leaves it
  // unset matches only if the stored value is the pending transfer's.
  const inherited = <T>(value: T, unset: T, stored: T, fromPending: T | undefined) =>
    postOrVoid && value === unset ? stored === fromPending : value === stored;
  if (!inherited(event.userData128 ?? null, null, existing.userData128, pending?.userData128))
    return TR.exists_with_different_user_data_128;
  if (!inherited(event.userData64 ?? 0n, 0n, existing.userData64, pending?.userData64))
    return TR.exists_with_different_user_data_64;
  if (!inherited(event.userData32 ?? 0, 0, existing.userData32, pending?.userData32))
    return TR.exists_with_different_user_data_32;
  if (!unsetMatches(event.ledger ?? 0, 0, existing.ledger)) return TR.exists_with_different_ledger;
  if (!unsetMatches(event.code ?? 0, 0, existing.code)) return TR.exists_with_different_code;
  return TR.exists;
}

function amountMatches(event: TransferEvent, existing: Transfer, pending: Transfer | undefined): boolean {
  const flags = event.flags ?? 0;
  // A balancing transfer stores the clamped amount: asking for at least that much is the same request.
  if (flags & (F.balancing_debit | F.balancing_credit)) return event.amount >= existing.amount;
  // "The pending amount" (a void's 0, a post's FULL_PENDING_AMOUNT) matches a full resolution.
  const full = flags & F.void_pending_transfer ? 0n : flags & F.post_pending_transfer ? AMOUNT_MAX : null;
  if (full !== null && event.amount === full)
    return pending !== undefined && existing.amount === pending.amount;
  return event.amount === existing.amount;
}
