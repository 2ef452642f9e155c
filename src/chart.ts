/**
 * The chart of accounts and transfer codes, shared by every module so codes never collide.
 * A module owns the accounts it creates; this file only reserves the numbers.
 * Account ids are deterministic (`deterministicId('account', kind, owner, currency)`), so
 * any module can address, say, a user's wallet without a lookup.
 */
import { deterministicId } from './platform/ids.ts';

export const AccountCodes = {
  // System accounts (one per ledger): the platform's side of the books.
  /** Money held at partner banks for users (asset): debited on top-up, credited on withdrawal. */
  bankClearing: 1001,
  /** Fees the platform earned (income). */
  feeRevenue: 1101,
  /** Marketing money for campaign envelopes and bonuses (expense). */
  marketingExpense: 1201,
  // Per-owner accounts.
  /** A user's wallet balance (liability to the user); cannot go negative. */
  userWallet: 2001,
  /** Money of an unaccepted or delayed friend transfer, in flight. */
  transferInTransit: 2101,
  /** A red envelope's escrow: funded on send, drained by grabs and the expiry refund. */
  envelopeEscrow: 2201,
  /** A merchant's settlement balance. */
  merchantBalance: 3001,
} as const;

export const TransferCodes = {
  topUp: 1,
  withdrawal: 2,
  withdrawalFee: 3,
  friendTransfer: 10,
  friendTransferReturn: 11,
  envelopeFund: 20,
  envelopeGrab: 21,
  envelopeRefund: 22,
  merchantPayment: 30,
  merchantRefund: 31,
  adjustment: 90,
} as const;

export type AccountKind = keyof typeof AccountCodes;

/** The id of the account of `kind` owned by `owner` (a user, merchant or envelope id; 'system' for system accounts). */
export function accountId(kind: AccountKind, owner: string, currency = 'CNY'): string {
  if (currency !== 'CNY') return deterministicId('account', kind, owner, currency);
  let ids = recentCnyAccountIds.get(kind);
  if (!ids) {
    ids = new Map();
    recentCnyAccountIds.set(kind, ids);
  }
  let id = ids.get(owner);
  if (id === undefined) {
    // Bounded: dropped whole when full (hot paths ask for the same few thousand ids again and again).
    if (ids.size >= RECENT_ACCOUNT_IDS_MAX) ids.clear();
    id = deterministicId('account', kind, owner, currency);
    ids.set(owner, id);
  }
  return id;
}
const RECENT_ACCOUNT_IDS_MAX = 100_000;
const recentCnyAccountIds = new Map<AccountKind, Map<string, string>>();
