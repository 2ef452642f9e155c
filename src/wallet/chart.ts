import type { ChartSlice } from '../platform/chart.ts';

/** The wallet's ledger account codes (see src/platform/chart.ts). */
export const WalletAccounts = {
  /** Money held at partner banks for users (asset): debited on top-up, credited on withdrawal. */
  bankClearing: 1001,
  /** Fees the platform earned (income). */
  feeRevenue: 1101,
  /** A user's wallet balance (liability to the user); cannot go negative. */
  userWallet: 2001,
  /** Money of an unaccepted or delayed friend transfer, in flight. */
  transferInTransit: 2101,
} as const;

/** The wallet's transfer codes. */
export const WalletTransfers = {
  topUp: 1,
  withdrawal: 2,
  withdrawalFee: 3,
  friendTransfer: 10,
  friendTransferReturn: 11,
  /** An operator's correcting entry. */
  adjustment: 90,
} as const;

export const WALLET_CHART: ChartSlice = {
  systemAccounts: ['bankClearing', 'feeRevenue'],
  accounts: WalletAccounts,
  transfers: {
    topUp: { code: WalletTransfers.topUp, statement: 'top_up' },
    withdrawal: { code: WalletTransfers.withdrawal, statement: 'withdrawal' },
    withdrawalFee: { code: WalletTransfers.withdrawalFee, statement: 'withdrawal_fee' },
    friendTransfer: { code: WalletTransfers.friendTransfer, statement: 'transfer' },
    friendTransferReturn: { code: WalletTransfers.friendTransferReturn, statement: 'transfer_return' },
    adjustment: { code: WalletTransfers.adjustment, statement: 'adjustment' },
  },
};
