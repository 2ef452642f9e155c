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
import type { FastifyInstance } from 'fastify';
import type { PaymentAuthorization } from '../identity/index.ts';
import { businessDate } from '../platform/clock.ts';
import type { JobQueue } from '../platform/jobs/queue.ts';
import { type BankOperationRecord, BankOperations, operationView } from './bank-operations.ts';
import { type Card, Cards } from './cards.ts';
import { AccountEnsurer, type WalletDeps, walletAccount } from './context.ts';
import {
  BalanceSource,
  CardSource,
  Funding,
  type FundingSource,
  type PayRequest,
  type PayResult,
} from './funding.ts';
import { Reconciliation, type ReconciliationReport } from './reconciliation.ts';
import { walletRoutes } from './routes.ts';
import { balanceView, type StatementPage, type StatementQuery, Statements } from './statements.ts';
import { type FriendTransfer, FriendTransfers, type SendTransfer } from './transfers.ts';

export type { BankOperationRecord } from './bank-operations.ts';
export type { Card } from './cards.ts';
export { type WalletDeps, type WalletSettings, walletAccount, walletSettings } from './context.ts';
export type { FundingSource, PayRequest, PayResult } from './funding.ts';
export type { ReconciliationItem, ReconciliationReport } from './reconciliation.ts';
export type { StatementItem, StatementPage, StatementQuery } from './statements.ts';
export type { FriendTransfer, SendTransfer, TransferState } from './transfers.ts';

export class Wallet {
  readonly deps: WalletDeps;
  readonly accounts: AccountEnsurer;
  readonly cards: Cards;
  readonly operations: BankOperations;
  readonly transfers: FriendTransfers;
  readonly funding: Funding;
  readonly statements: Statements;
  readonly reconciliation: Reconciliation;

  constructor(deps: WalletDeps) {
    this.deps = deps;
    this.accounts = new AccountEnsurer(deps.ledger);
    this.cards = new Cards(deps);
    this.operations = new BankOperations(deps, this.accounts, this.cards);
    this.transfers = new FriendTransfers(deps, this.accounts);
    this.funding = new Funding(
      deps,
      [new BalanceSource(deps, this.accounts), new CardSource(this.operations, this.cards)],
      this.operations,
    );
    this.statements = new Statements(deps.ledger, this.transfers, this.operations);
    this.reconciliation = new Reconciliation(deps, this.operations);
  }

  /** Registers every wallet route under /v1 (and the bank callback route). */
  readonly routes = async (app: FastifyInstance) => walletRoutes(app, this);

  /** Creates the user's wallet account if needed (idempotent). */
  async openWallet(userId: string): Promise<void> {
    await this.accounts.wallets([userId]);
  }

  /**
   * The user's balance, straight from the ledger (strings of fen).
   * @example const { available } = await wallet.balance(userId); // "12500" is 125.00 CNY
   */
  async balance(userId: string) {
    const [account] = await this.deps.ledger.lookupAccounts([walletAccount(userId)]);
    return balanceView(account);
  }

  /**
   * Top-up from a bound card. `operationId` is deterministic per request: a retry with the
   * same id never debits twice. The result may still be `pending`: the bank settles it by
   * callback or polling.
   * @example await wallet.topUp({ operationId: deterministicId('wallet.top_up', key), userId, cardId, amount: 10_000n });
   */
  topUp(input: {
    operationId: string;
    userId: string;
    cardId: string;
    amount: bigint;
  }): Promise<BankOperationRecord> {
    return this.operations.topUp(input);
  }

  /**
   * Withdrawal to the user's own bound card; the amount and fee are held until the bank answers.
   * @example await wallet.withdraw({ operationId, userId, cardId, amount: 5_000n, authorization });
   */
  withdraw(input: {
    operationId: string;
    userId: string;
    cardId: string;
    amount: bigint;
    authorization: PaymentAuthorization;
  }): Promise<BankOperationRecord> {
    return this.operations.withdraw(input);
  }

  /**
   * Sends money to a friend by user id or phone.
   * @example await wallet.sendTransfer({ transferId, senderId, to: { phone: '13800138001' }, amount: 500n,
   *   memo: 'lunch', requireAcceptance: true, delayHours: 0, authorization });
   */
  sendTransfer(input: SendTransfer): Promise<FriendTransfer> {
    return this.transfers.send(input);
  }

  acceptTransfer(transferId: string, recipientId: string): Promise<FriendTransfer> {
    return this.transfers.accept(transferId, recipientId);
  }

  cancelTransfer(transferId: string, senderId: string): Promise<FriendTransfer> {
    return this.transfers.cancel(transferId, senderId);
  }

  /**
   * Pays `amount` from the user's funding sources (balance first, then a bound card) into
   * `targetAccountId`. Balance payments complete synchronously; card payments return
   * `pending` and complete through the bank (see the module example above).
   */
  pay(request: PayRequest): Promise<PayResult> {
    return this.funding.pay(request);
  }

  /** A payment's current state, or null if it never started. */
  paymentStatus(paymentId: string): Promise<PayResult | null> {
    return this.funding.status(paymentId);
  }

  /** Resolves once the payment is completed or failed (or the timeout passes, still pending). */
  awaitPayment(paymentId: string, options?: { timeoutMs?: number }): Promise<PayResult> {
    return this.funding.awaitPayment(paymentId, options);
  }

  /** Adds a funding source (the money-market fund) to the order, before the named one or last. */
  registerFundingSource(source: FundingSource, options?: { before?: string }): void {
    this.funding.register(source, options);
  }

  statement(userId: string, query?: StatementQuery): Promise<StatementPage> {
    return this.statements.page(userId, query);
  }

  listCards(userId: string): Promise<Card[]> {
    return this.cards.list(userId);
  }

  /** Reconciles one business date against the bank's statement (idempotent per date). */
  reconcile(date: string, onProgress?: (message: string) => void): Promise<ReconciliationReport> {
    return this.reconciliation.run(date, onProgress);
  }

  /** Polls the bank for pending operations due a poll. */
  pollBank(now?: Date): Promise<number> {
    return this.operations.pollDue(now);
  }

  /** Arrivals and acceptance expiry of friend transfers due by `now`. */
  processDueTransfers(now?: Date): Promise<number> {
    return this.transfers.processDue(now);
  }

  /** Background jobs: bank polling, transfer arrivals/expiry, daily reconciliation. */
  registerJobs(jobs: JobQueue, options: { reconcileCron: string }): void {
    jobs.register('wallet.poll_bank', async () => void (await this.pollBank()), { mode: 'leased' });
    jobs.schedule({ name: 'wallet-poll-bank', cron: '*/5 * * * * *', kind: 'wallet.poll_bank' });
    jobs.register('wallet.transfers_due', async () => void (await this.processDueTransfers()), {
      mode: 'leased',
    });
    jobs.schedule({ name: 'wallet-transfers-due', cron: '*/10 * * * * *', kind: 'wallet.transfers_due' });
    jobs.register<{ scheduled_for?: string; date?: string }>(
      'wallet.reconcile',
      async (job) => {
        const at = new Date(job.payload.scheduled_for ?? this.deps.clock.now().toISOString());
        const date =
          job.payload.date ?? businessDate(new Date(at.getTime() - 86_400_000), this.deps.settings.timeZone);
        const report = await this.reconcile(date);
        this.deps.log.info(
          { business_date: date, discrepancies: report.discrepancies.length, open: report.open },
          'wallet reconciliation done',
        );
      },
      { mode: 'leased', leaseMs: 600_000 },
    );
    jobs.schedule({ name: 'wallet-reconcile', cron: options.reconcileCron, kind: 'wallet.reconcile' });
  }
}

export { operationView };
