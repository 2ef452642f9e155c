import { CreateAccountResult as AR, CreateTransferResult as TR } from './results.ts';
import type { Account, AccountEvent, Transfer, TransferEvent } from './types.ts';
import { TransferFlags as F } from './types.ts';

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
  if ((event.pendingId ?? null) !== existing.pendingId) return TR.exists_with_different_pending_id;
  if ((event.timeout ?? 0) !== existing.timeout) return TR.exists_with_different_timeout;
  if (!unsetMatches(event.debitAccountId, '', existing.debitAccountId))
    return TR.exists_with_different_debit_account_id;
  if (!unsetMatches(event.creditAccountId, '', existing.creditAccountId)) {
    return TR.exists_with_different_credit_account_id;
  }
  if (!amountMatches(event, existing, pending)) return TR.exists_with_different_amount;
  if (!unsetMatches(event.userData128 ?? null, null, existing.userData128))
    return TR.exists_with_different_user_data_128;
  if (!unsetMatches(event.userData64 ?? 0n, 0n, existing.userData64))
    return TR.exists_with_different_user_data_64;
  if (!unsetMatches(event.userData32 ?? 0, 0, existing.userData32))
    return TR.exists_with_different_user_data_32;
  if (!unsetMatches(event.ledger ?? 0, 0, existing.ledger)) return TR.exists_with_different_ledger;
  if (!unsetMatches(event.code ?? 0, 0, existing.code)) return TR.exists_with_different_code;
  return TR.exists;
}

function amountMatches(event: TransferEvent, existing: Transfer, pending: Transfer | undefined): boolean {
  const flags = event.flags ?? 0;
  // A balancing transfer stores the clamped amount: asking for at least that much is the same request.
  if (flags & (F.balancing_debit | F.balancing_credit)) return event.amount >= existing.amount;
  if (flags & (F.post_pending_transfer | F.void_pending_transfer)) {
    // 0 means "the full pending amount".
    if (event.amount === 0n) return pending !== undefined && existing.amount === pending.amount;
    return event.amount === existing.amount;
  }
  return event.amount === existing.amount;
}
