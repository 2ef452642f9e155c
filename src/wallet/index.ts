/**
 * The wallet module's public API: bank cards, top-up, withdrawal, transfers between
 * friends, paying from a user's funding sources, statements and reconciliation. Other
 * modules use the `Wallet` object (app.wallet), never the wallet's tables.
 *
 * @example Funding a red envelope's escrow from the sender's money:
 *   const escrow = accountId('envelopeEscrow', envelopeId);
 *   const result = await wallet.pay({
 *     paymentId: deterministicId('redpacket.fund', envelopeId), userId, amount: 20_000n,
 *     targetAccountId: escrow, code: TransferCodes.envelopeFund, source: 'auto',
 *     authorization, limitMethod: 'red_envelope', notifyKind: 'redpacket.funded',
 *   });
 *   if (result.status === 'completed') { ... }           // from the balance: money is in escrow
 *   else if (result.status === 'pending') {               // from a card: the bank is working
 *     // either await it here ...
 *     const final = await wallet.awaitPayment(result.paymentId, { timeoutMs: 30_000 });
 *     // ... or register the 'redpacket.funded' job kind: it runs once with
 *     // { payment_id, user_id, status: 'completed' | 'failed' } when the bank settles.
 *   }
 */
export type { BankOperationRecord } from './bank-operations.ts';
export type { Card } from './cards.ts';
export { WalletAccounts, WalletTransfers } from './chart.ts';
export { walletAccount } from './context.ts';
export type { FundingSource, PayRequest, PayResult } from './funding.ts';
export { walletModule } from './module.ts';
export type { ReconciliationItem, ReconciliationReport } from './reconciliation.ts';
export type { StatementItem, StatementPage, StatementQuery } from './statements.ts';
export type { FriendTransfer, SendTransfer, TransferState } from './transfers.ts';
export { Wallet } from './wallet.ts';
