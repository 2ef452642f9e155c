import type { ChartSlice } from '../platform/chart.ts';

/** Merchants' ledger account codes (see src/platform/chart.ts). */
export const MerchantAccounts = {
  /** A merchant's settlement balance (what Tuyere owes the merchant). */
  merchantBalance: 3001,
} as const;

/** Merchants' transfer codes. */
export const MerchantTransfers = {
  merchantPayment: 30,
  merchantRefund: 31,
} as const;

export const MERCHANTS_CHART: ChartSlice = {
  accounts: MerchantAccounts,
  transfers: {
    merchantPayment: { code: MerchantTransfers.merchantPayment, statement: 'payment' },
    merchantRefund: { code: MerchantTransfers.merchantRefund, statement: 'refund' },
  },
};
