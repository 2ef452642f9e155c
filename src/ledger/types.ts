/**
 * The ledger's data model, after TigerBeetle's: accounts hold four balances, transfers are
 * immutable, and flags carry every special behaviour. Ids are caller-chosen UUIDs (lowercase);
 * amounts are bigint minor units of the ledger's currency; timestamps are assigned by the
 * ledger (nanoseconds since the Unix epoch, unique and strictly increasing across processes).
 */

/** The all-zero UUID: never a valid id. */
export const NIL_ID = '00000000-0000-0000-0000-000000000000';

/** The all-ones UUID (TigerBeetle's 2^128 - 1): reserved, never a valid id. */
export const MAX_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/** Largest value of an int8 column: every balance and amount must stay within it. */
export const AMOUNT_MAX = (1n << 63n) - 1n;

/**
 * As the amount of a post: "post the full pending amount" (TigerBeetle's 2^128 - 1; here the
 * int8 maximum, which no pending amount can exceed). A post of 0 posts nothing and releases the
 * whole hold.
 */
export const FULL_PENDING_AMOUNT = AMOUNT_MAX;

/** Most events in one createAccounts/createTransfers call (TigerBeetle's batch size). */
export const BATCH_EVENTS_MAX = 8190;

/** Stable ids of the seeded ledgers (see migrations/001_ledger.sql). */
export const Ledgers = {
  /** Chinese yuan, scale 2 (minor unit: fen). */
  CNY: 1,
  /** Virtual coins, scale 0. */
  COIN: 2,
  /** Money-market fund shares, scale 2. */
  FUND_SHARE: 3,
} as const;

export const AccountFlags = {
  none: 0,
  /** This event and the next commit or fail together. */
  linked: 1 << 0,
  /** debits_pending + debits_posted may never exceed credits_posted (no overdraft). */
  debits_must_not_exceed_credits: 1 << 1,
  /** credits_pending + credits_posted may never exceed debits_posted. */
  credits_must_not_exceed_debits: 1 << 2,
  /** Keep a balance snapshot per transfer, for balancesAsOf. */
  history: 1 << 3,
  /** Imported with a client-set `timestamp` (migrating an existing ledger's history). */
  imported: 1 << 4,
  /** Created closed: no transfers may touch it. */
  closed: 1 << 5,
} as const;
export const ACCOUNT_FLAGS_KNOWN = 0b111111;

export const TransferFlags = {
  none: 0,
  /** This event and the next commit or fail together. */
  linked: 1 << 0,
  /** Reserve the amount (two-phase); post or void it later, or let it time out. */
  pending: 1 << 1,
  post_pending_transfer: 1 << 2,
  void_pending_transfer: 1 << 3,
  /** Move at most `amount`, clamped to what the debit account has available. */
  balancing_debit: 1 << 4,
  /** Move at most `amount`, clamped to what the credit account may still receive. */
  balancing_credit: 1 << 5,
  /** Pending transfer that closes the debit account (voiding it reopens the account). */
  closing_debit: 1 << 6,
  /** Pending transfer that closes the credit account (voiding it reopens the account). */
  closing_credit: 1 << 7,
  /** Imported with a client-set `timestamp` (migrating an existing ledger's history). */
  imported: 1 << 8,
} as const;
export const TRANSFER_FLAGS_KNOWN = 0x1ff;

export interface AccountBalances {
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

export interface Account extends AccountBalances {
  id: string;
  ledger: number;
  /** The account's kind (chart-of-accounts code), chosen by the owning module. */
  code: number;
  /** Flags as created (AccountFlags); `closed` below is the live state. */
  flags: number;
  closed: boolean;
  /** Owner reference, e.g. the user or merchant id. Optional. */
  userData128: string | null;
  userData64: bigint;
  userData32: number;
  timestamp: bigint;
}

/** What a caller sends to create an account. */
export interface AccountEvent {
  id: string;
  ledger: number;
  code: number;
  flags?: number;
  userData128?: string | null;
  userData64?: bigint;
  userData32?: number;
  /**
   * Only with flag `imported`: the event's original time (ns since the epoch), in the past and
   * after every account imported or created before it. Otherwise 0 or absent.
   */
  timestamp?: bigint;
}

export interface Transfer {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  /** Amount actually moved (for balancing/post transfers: after clamping / defaulting). */
  amount: bigint;
  /** For post/void: the pending transfer resolved. */
  pendingId: string | null;
  ledger: number;
  /** The reason for the transfer, chosen by the calling module. */
  code: number;
  flags: number;
  /** Seconds until a pending transfer expires; 0 = never. */
  timeout: number;
  userData128: string | null;
  userData64: bigint;
  userData32: number;
  timestamp: bigint;
}

/**
 * What a caller sends to create a transfer. Amount 0 is allowed (a transfer that moves
 * nothing, as in TigerBeetle since 0.16). For post/void, account ids, ledger and code may be
 * omitted (taken from the pending transfer). A post moves `amount` (at most the pending
 * amount; `FULL_PENDING_AMOUNT` moves all of it) and releases the rest; a void's amount is 0 or
 * the pending amount.
 */
export interface TransferEvent {
  id: string;
  debitAccountId?: string | null;
  creditAccountId?: string | null;
  amount: bigint;
  pendingId?: string | null;
  ledger?: number;
  code?: number;
  flags?: number;
  timeout?: number;
  userData128?: string | null;
  userData64?: bigint;
  userData32?: number;
  /**
   * Only with flag `imported`: the event's original time (ns since the epoch), in the past and
   * after every transfer imported or created before it. Otherwise 0 or absent.
   */
  timestamp?: bigint;
}

export type PendingStatus = 'pending' | 'posted' | 'voided' | 'expired';

/** The live state of a pending transfer. */
export interface PendingState {
  status: PendingStatus;
  /** Ledger timestamp at which it expires; null = never. */
  expiresAt: bigint | null;
  /** The post/void transfer, or null (pending, or expired by the job). */
  resolvedBy: string | null;
  resolvedAt: bigint | null;
}

export const NANOSECONDS_PER_SECOND = 1_000_000_000n;

/** Available balance as TigerBeetle derives it for a debit-normal or credit-normal account. */
export function availableBalance(account: AccountBalances, normal: 'debit' | 'credit'): bigint {
  return normal === 'credit'
    ? account.creditsPosted - account.debitsPosted - account.debitsPending
    : account.debitsPosted - account.creditsPosted - account.creditsPending;
}

/** Most transfers in one page of an account's history. */
export const HISTORY_PAGE_MAX = 1000;
