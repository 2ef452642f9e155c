import {
  integer,
  type PlatformConfig,
  type SettingSpecs,
  type SettingsOf,
  text,
} from '../platform/config.ts';

/** The wallet module's settings (its slice of the configuration; see src/platform/config.ts). */
export const WALLET_SETTINGS = {
  walletMaxCards: {
    env: 'WALLET_MAX_CARDS',
    default: '5',
    description: 'Bank cards a user may have bound at once',
    parse: integer(1, 100),
  },
  walletBankOperationMax: {
    env: 'WALLET_BANK_OPERATION_MAX',
    default: '5000000',
    description: 'Largest single top-up or withdrawal, in fen (50,000 CNY)',
    parse: integer(1, Number.MAX_SAFE_INTEGER),
  },
  walletWithdrawalFeeBps: {
    env: 'WALLET_WITHDRAWAL_FEE_BPS',
    default: '0',
    description: 'Withdrawal fee in basis points of the amount (booked as a linked transfer to fee revenue)',
    parse: integer(0, 10_000),
  },
  walletWithdrawalFeeMin: {
    env: 'WALLET_WITHDRAWAL_FEE_MIN',
    default: '0',
    description: 'Smallest withdrawal fee in fen when the fee rate is above 0',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  walletBankPollAfterMs: {
    env: 'WALLET_BANK_POLL_AFTER_MS',
    default: '15000',
    description: 'How long a bank movement waits for its callback before the poller asks the bank',
    parse: integer(0, 86_400_000),
  },
  walletTransferAcceptHours: {
    env: 'WALLET_TRANSFER_ACCEPT_HOURS',
    default: '24',
    description: 'Hours a friend transfer that needs acceptance waits before it returns to the sender',
    parse: integer(1, 720),
  },
  walletCallbackUrl: {
    env: 'WALLET_CALLBACK_URL',
    default: '',
    description: 'URL the bank posts callbacks to; empty means http://127.0.0.1:PORT/v1/bank/callbacks',
    parse: text,
  },
  walletReconcileCron: {
    env: 'WALLET_RECONCILE_CRON',
    default: '30 2 * * *',
    description: "When the daily reconciliation of yesterday's bank statement runs (cron, TUYERE_TIMEZONE)",
    parse: text,
  },
} satisfies SettingSpecs;

export type WalletConfig = PlatformConfig & SettingsOf<typeof WALLET_SETTINGS>;
