/** The wallet's service: what other modules and the wallet's routes call. */
import type { PaymentAuthorization } from '../identity/index.ts';
import { businessDate } from '../platform/clock.ts';
import type { JobDefinition } from '../platform/module.ts';
import { type BankOperationRecord, BankOperations } from './bank-operations.ts';
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
import { balanceView, type StatementPage, type StatementQuery, Statements } from './statements.ts';
import { type FriendTransfer, FriendTransfers, type SendTransfer } from './transfers.ts';

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
    this.statements = new Statements(deps.ledger, this.transfers, this.operations, deps.chart);
    this.reconciliation = new Reconciliation(deps, this.operations);
  }

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

  /** The user a transfer to `to` (by id or phone) would reach; refuses unknown, frozen or self. */
  recipientOf(senderId: string, to: SendTransfer['to']): Promise<string> {
    return this.transfers.recipientOf(senderId, to);
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

  /**
   * Gives back the limits of a payment that never started (its caller died before paying), on
   * behalf of that payment only: `payer` names who paid and where to, as the payment did.
   */
  abandonPayment(paymentId: string, payer: { userId: string; targetAccountId: string }): Promise<boolean> {
    return this.funding.abandon(paymentId, payer);
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

  /**
   * Heals what a crash left half-done: bank operations (BankOperations.recoverHalfDone), and
   * limits reservations of withdrawals and payments that never committed (abandoned on their
   * behalf: abandonStaleReservations). Returns how many it healed.
   */
  async recoverOperations(now?: Date): Promise<number> {
    const healed = await this.operations.recoverHalfDone(now);
    const withdrawals = await this.operations.abandonStaleReservations(now);
    const payments = await this.funding.abandonStaleReservations(now);
    return healed + withdrawals + payments;
  }

  /** Arrivals and acceptance expiry of friend transfers due by `now`. */
  processDueTransfers(now?: Date): Promise<number> {
    return this.transfers.processDue(now);
  }

  /** Background jobs: bank polling, recovery, transfer arrivals/expiry, daily reconciliation. */
  jobs(): JobDefinition[] {
    return [
      {
        kind: 'wallet.recover_operations',
        run: async () => {
          const healed = await this.recoverOperations();
          if (healed > 0) this.deps.log.warn({ healed }, 'wallet recovery healed half-done operations');
        },
        options: { mode: 'leased' },
        schedule: { name: 'wallet-recover-operations', cron: '*/30 * * * * *' },
      },
      {
        kind: 'wallet.poll_bank',
        run: async () => void (await this.pollBank()),
        options: { mode: 'leased' },
        schedule: { name: 'wallet-poll-bank', cron: '*/5 * * * * *' },
      },
      {
        kind: 'wallet.transfers_due',
        run: async () => void (await this.processDueTransfers()),
        options: { mode: 'leased' },
        schedule: { name: 'wallet-transfers-due', cron: '*/10 * * * * *' },
      },
      {
        kind: 'wallet.reconcile',
        run: async (job: { payload: { scheduled_for?: string; date?: string } }) => {
          const at = new Date(job.payload.scheduled_for ?? this.deps.clock.now().toISOString());
          const date =
            job.payload.date ??
            businessDate(new Date(at.getTime() - 86_400_000), this.deps.settings.timeZone);
          const report = await this.reconcile(date);
          this.deps.log.info(
            { business_date: date, discrepancies: report.discrepancies.length, open: report.open },
            'wallet reconciliation done',
          );
        },
        options: { mode: 'leased', leaseMs: 600_000 },
        schedule: { name: 'wallet-reconcile', cron: this.deps.settings.reconcileCron },
      },
    ];
  }
}
