import type { ChartSlice } from '../platform/chart.ts';

/** Red envelopes' ledger account codes (see src/platform/chart.ts). */
export const RedpacketAccounts = {
  /** Marketing money for campaign envelopes (expense). */
  marketingExpense: 1201,
  /** An envelope's escrow: funded on send, drained by grabs and the expiry refund. */
  envelopeEscrow: 2201,
} as const;

export const RedpacketTransfers = {
  envelopeFund: 20,
  envelopeGrab: 21,
  envelopeRefund: 22,
} as const;

export const REDPACKET_CHART: ChartSlice = {
  systemAccounts: ['marketingExpense'],
  accounts: RedpacketAccounts,
  transfers: {
    envelopeFund: { code: RedpacketTransfers.envelopeFund, statement: 'envelope' },
    envelopeGrab: { code: RedpacketTransfers.envelopeGrab, statement: 'envelope' },
    envelopeRefund: { code: RedpacketTransfers.envelopeRefund, statement: 'envelope_refund' },
  },
};
