import type { HeldReservation, PaymentAuthorization, PaymentMethod } from '../identity/index.ts';
import {
  availableBalance,
  type CommitParticipant,
  CreateTransferResult,
  Ledgers,
  succeeded,
} from '../ledger/index.ts';
import { AppError, conflict, forbidden, invalid } from '../platform/errors.ts';
import { type FlowStep, runFlow } from '../platform/flow.ts';
import { ABANDONED_RESERVATION_AFTER_MS, type BankOperations } from './bank-operations.ts';
import type { Cards } from './cards.ts';
import { type AccountEnsurer, type WalletDeps, walletAccount } from './context.ts';
import { getOperation } from './store/bank-operations.ts';

/**
 * Paying from a user's money into any account (an envelope escrow, a merchant), through an
 * ordered list of funding sources: wallet balance first, then a bound card. A source that
 * cannot cover the payment answers null and the next one is tried. The money-market fund
 * will register itself with `registerFundingSource` (e.g. after the balance).
 */
export interface PayRequest {
  /** The ledger transfer id of the payment: caller-chosen, deterministic (e.g. f(envelope)). */
  paymentId: string;
  userId: string;
  amount: bigint;
  /** Where the money goes, e.g. accountId('envelopeEscrow', envelopeId). Must exist. */
  targetAccountId: string;
  /** Ledger transfer code (TransferCodes.envelopeFund, merchantPayment, ...). */
  code: number;
  /** 'auto' walks the funding order; or name one source. */
  source?: 'auto' | string;
  /** For card funding: which card (default: the user's first bound card). */
  cardId?: string;
  /** From identity.authorizePayment; when given, limits are checked and reserved under paymentId. */
  authorization?: PaymentAuthorization;
  /** Limits method for balance funding (default balance_payment). */
  limitMethod?: PaymentMethod;
  /** Job kind enqueued once when a pending (card) payment completes or fails: payload {payment_id, user_id, status}. */
  notifyKind?: string;
  /**
   * Set by pay when it reserved limits under paymentId: the source must commit the payment only
   * while that reservation is held (identity.reservationHeld joined to its commit), and answer
   * `operation_interrupted` when it is not (recovery abandoned it; pay then runs again).
   */
  limitsReserved?: boolean;
}

export interface PayResult {
  paymentId: string;
  /** completed: the money is in the target. pending: the bank is working (card). failed: nothing moved. */
  status: 'completed' | 'pending' | 'failed';
  source: string;
  failureReason?: string | null;
}

export interface FundingSource {
  readonly name: string;
  /** Limits method this source's payments count under. */
  readonly limitMethod: PaymentMethod;
  /** Whether this source can pay it now (checked before limits are reserved). */
  canFund(request: PayRequest): Promise<boolean>;
  /** Moves the money (or starts to), or returns null when this source cannot pay it after all. */
  fund(request: PayRequest): Promise<PayResult | null>;
}

/** Wallet balance: one synchronous ledger transfer, refused by the ledger if the balance is short. */
export class BalanceSource implements FundingSource {
  readonly name = 'balance';
  readonly limitMethod = 'balance_payment' as const;
  constructor(
    private readonly deps: WalletDeps,
    private readonly accounts: AccountEnsurer,
  ) {}

  async canFund(request: PayRequest): Promise<boolean> {
    const [account] = await this.deps.ledger.lookupAccounts([walletAccount(request.userId)]);
    return account !== undefined && availableBalance(account, 'credit') >= request.amount;
  }

  async fund(request: PayRequest): Promise<PayResult | null> {
    await this.accounts.wallets([request.userId]);
    const [result] = await this.deps.ledger.createTransfers(
      [
        {
          id: request.paymentId,
          debitAccountId: walletAccount(request.userId),
          creditAccountId: request.targetAccountId,
          amount: request.amount,
          ledger: Ledgers.CNY,
          code: request.code,
          userData128: request.userId,
        },
      ],
      request.limitsReserved ? { participant: this.reservationGuard(request.paymentId) } : {},
    );
    if (succeeded(result!.result))
      return { paymentId: request.paymentId, status: 'completed', source: this.name };
    if (result!.result === CreateTransferResult.exceeds_credits) return null;
    if (result!.result === CreateTransferResult.id_already_failed) {
      // The ledger refused this payment id before (e.g. the balance fell short): it never
      // succeeds later, so a new payment needs a new id.
      throw conflict('payment_already_failed', 'This payment was refused earlier; start a new payment.');
    }
    if (result!.result === CreateTransferResult.credit_account_not_found) {
      throw conflict('payment_target_not_found', 'The account to pay into does not exist.');
    }
    throw new AppError(
      'internal',
      'wallet_payment_failed',
      `Payment ${request.paymentId}: ${result!.result}`,
    );
  }

  /** A new transfer commits only while its limits reservation is still held. */
  private reservationGuard(paymentId: string): CommitParticipant {
    return {
      writes: (outcomes) =>
        outcomes.every((o) => o.result === CreateTransferResult.ok)
          ? [this.deps.identity.reservationHeld(paymentId)]
          : [],
      refusal: () => paymentInterrupted(paymentId),
    };
  }
}

const paymentInterrupted = (paymentId: string) =>
  conflict(
    'operation_interrupted',
    `The limits of payment ${paymentId} were given back before it committed; retry it with the same id.`,
  );

/** What a payment's limits reservation names (identity's fingerprint): its target. */
const PAY_FINGERPRINT = 'pay:';

/** A bound card: a pending transfer from bank clearing into the target, settled by the bank. */
export class CardSource implements FundingSource {
  readonly name = 'card';
  readonly limitMethod = 'bank_card_quick_pay' as const;
  constructor(
    private readonly operations: BankOperations,
    private readonly cards: Cards,
  ) {}

  async canFund(request: PayRequest): Promise<boolean> {
    return request.cardId !== undefined || (await this.cards.list(request.userId)).length > 0;
  }

  async fund(request: PayRequest): Promise<PayResult | null> {
    const cardId = request.cardId ?? (await this.cards.list(request.userId))[0]?.id;
    if (!cardId) return null;
    const op = await this.operations.cardPayment({
      operationId: request.paymentId,
      userId: request.userId,
      cardId,
      amount: request.amount,
      targetAccountId: request.targetAccountId,
      code: request.code,
      notifyKind: request.notifyKind,
      limitsReserved: request.limitsReserved,
    });
    return {
      paymentId: request.paymentId,
      status: op.state === 'succeeded' ? 'completed' : op.state,
      source: this.name,
      failureReason: op.failureReason,
    };
  }
}

/** The pay flow's state: the source's result, once it funded the payment. */
interface PayFlow {
  result?: PayResult;
  /** This call made the limits reservation (a retry or concurrent duplicate found it made). */
  reservedHere?: boolean;
}

export class Funding {
  private readonly sources: FundingSource[];

  constructor(
    private readonly deps: WalletDeps,
    sources: FundingSource[],
    private readonly operations: BankOperations,
  ) {
    this.sources = [...sources];
  }

  /** Adds a source to the order, before the named one (or last). */
  register(source: FundingSource, options: { before?: string } = {}): void {
    if (this.sources.some((s) => s.name === source.name))
      throw new Error(`funding source ${source.name} exists`);
    const index = options.before ? this.sources.findIndex((s) => s.name === options.before) : -1;
    if (index < 0) this.sources.push(source);
    else this.sources.splice(index, 0, source);
  }

  /**
   * Pays from the first source that can, as a flow (src/platform/flow.ts):
   *   1. reserve limits under the payment id (when an authorization is given);
   *   2. fund it from the source: a ledger transfer from the balance, or a card movement
   *      (its own flow: record, hold, ask the bank; it may stay pending).
   * Compensation: if the source fails or finds it cannot pay after all, the reservation is
   * released (1). A card payment that fails later at the bank releases it when it settles.
   */
  async pay(request: PayRequest): Promise<PayResult> {
    if (request.amount <= 0n) throw invalid('invalid_amount', 'The amount must be positive.');
    // A replay of a payment already made answers from what happened; a different payment under
    // the same id is refused, and takes nothing (its limits are never reserved nor released).
    const previous = await this.replayOf(request);
    if (previous) return previous;
    const candidates =
      !request.source || request.source === 'auto'
        ? this.sources
        : this.sources.filter((s) => s.name === request.source);
    if (candidates.length === 0)
      throw invalid('unknown_funding_source', `No funding source "${request.source}".`);
    const source = await this.firstThatCanFund(candidates, request);
    if (!source) {
      throw conflict('insufficient_funds', 'Neither your balance nor a bound card can pay this.', {
        tried: candidates.map((s) => s.name),
      });
    }
    const reserving = { ...request, limitsReserved: request.authorization !== undefined };
    const run = async () =>
      (
        await runFlow<PayFlow>('wallet.pay', {}, [
          ...(request.authorization ? [this.reserveLimits(request, source, request.authorization)] : []),
          this.fundFrom(source, reserving),
        ])
      ).result!;
    try {
      return await run();
    } catch (error) {
      // Recovery abandoned the reservation while this call was between reserving and paying:
      // once more, which takes the reservation back (or answers what happened meanwhile).
      if (error instanceof AppError && error.code === 'operation_interrupted') return run();
      throw error;
    }
  }

  /**
   * The recovery job's part for payments: a payment killed after reserving its limits and
   * before paying (and never retried) leaves its reservation held. Each one still held after
   * ABANDONED_RESERVATION_AFTER_MS whose payment has neither a card operation nor a ledger
   * transfer is abandoned on that payment's behalf, decided while identity holds it locked so
   * the payment cannot commit in between (a later retry takes it back). Idempotent.
   */
  async abandonStaleReservations(now: Date = this.deps.clock.now(), batch = 500): Promise<number> {
    let abandoned = 0;
    const olderThan = new Date(now.getTime() - ABANDONED_RESERVATION_AFTER_MS);
    let after: HeldReservation | undefined;
    for (;;) {
      const page = await this.deps.identity.heldReservations({
        fingerprintPrefix: PAY_FINGERPRINT,
        olderThan,
        after,
        limit: batch,
      });
      if (page.length === 0) return abandoned;
      for (const held of page) {
        if (await this.abandonIfNeverPaid(held.reservationId, held.userId, held.fingerprint!)) abandoned++;
      }
      after = page[page.length - 1];
    }
  }

  /** Reserves the user's limits under the payment id. Undo: release the reservation. */
  private reserveLimits(
    request: PayRequest,
    source: FundingSource,
    authorization: PaymentAuthorization,
  ): FlowStep<PayFlow> {
    return {
      name: 'reserve limits',
      run: async () => {
        const decision = await this.deps.identity.checkAndReserve({
          reservationId: request.paymentId,
          userId: request.userId,
          amount: request.amount,
          method:
            source.name === 'balance' ? (request.limitMethod ?? source.limitMethod) : source.limitMethod,
          // An envelope counts toward the class I envelope cap however it is paid (a card too).
          envelope: request.limitMethod === 'red_envelope',
          // A duplicate paying elsewhere under this id must not share (nor release) this reservation.
          fingerprint: `${PAY_FINGERPRINT}${request.targetAccountId}`,
          authorization,
        });
        if (!decision.allowed) {
          throw forbidden(decision.reason, 'This payment is over your limit.', {
            cap: decision.cap?.toString() ?? null,
            used: decision.used.toString(),
          });
        }
        return { reservedHere: decision.reused !== true };
      },
      // Only the call that made the reservation gives it back, and only if the payment did not
      // happen: a retry or concurrent duplicate that fails (a different target or card under the
      // same id, a thrown error) must not release what the original's payment holds. A card
      // payment still pending keeps it; if it fails later, its settlement releases it.
      compensate: async ({ reservedHere }) => {
        if (!reservedHere) return;
        const status = await this.status(request.paymentId);
        if (status && status.status !== 'failed') return;
        await this.deps.identity.releaseReservation(request.paymentId);
      },
    };
  }

  /** Moves the money (or starts to: a card payment may stay pending). Nothing to undo once it did. */
  private fundFrom(source: FundingSource, request: PayRequest): FlowStep<PayFlow> {
    return {
      name: `fund from ${source.name}`,
      run: async () => {
        const result = await source.fund(request);
        // The balance fell between the check and the transfer: nothing moved.
        if (!result) {
          throw conflict(
            'insufficient_balance',
            'Your balance changed and no longer covers this payment; retry.',
          );
        }
        return { result };
      },
    };
  }

  /** The first source, in order, that can pay it now. */
  private async firstThatCanFund(
    sources: readonly FundingSource[],
    request: PayRequest,
  ): Promise<FundingSource | undefined> {
    for (const source of sources) if (await source.canFund(request)) return source;
    return undefined;
  }

  /**
   * What became of this payment when its id was used before: null when it never started; a
   * conflict when the id was used for a different payment (user, amount or target).
   */
  private async replayOf(request: PayRequest): Promise<PayResult | null> {
    const op = await this.operations.get(request.paymentId);
    const [transfer] = op ? [] : await this.deps.ledger.lookupTransfers([request.paymentId]);
    // Nothing under this id yet: a new payment. (Reading the status again here could find a
    // concurrent payment that committed meanwhile, and answer a different payment as a replay.)
    if (!op && !transfer) return null;
    const same = op
      ? op.userId === request.userId &&
        op.amount === request.amount &&
        op.targetAccountId === request.targetAccountId
      : transfer !== undefined &&
        transfer.debitAccountId === walletAccount(request.userId) &&
        transfer.creditAccountId === request.targetAccountId &&
        transfer.amount === request.amount;
    if (!same) {
      throw conflict(
        'payment_exists_with_different_fields',
        'This payment id was already used for a different payment.',
      );
    }
    return this.status(request.paymentId);
  }

  /**
   * Gives back the limits reservation of a payment that certainly never started: its caller
   * died between reserving and paying (e.g. the envelope sweep after an hour). Only on behalf
   * of that payment (same payer and target), and only while it has neither a card operation
   * nor a ledger transfer, decided under identity's lock (a retry then takes it back).
   */
  abandon(paymentId: string, payer: { userId: string; targetAccountId: string }): Promise<boolean> {
    return this.abandonIfNeverPaid(paymentId, payer.userId, `${PAY_FINGERPRINT}${payer.targetAccountId}`);
  }

  private abandonIfNeverPaid(paymentId: string, userId: string, fingerprint: string): Promise<boolean> {
    return this.deps.identity.abandonReservation(
      { reservationId: paymentId, userId, fingerprint },
      async (tx) =>
        (await getOperation(tx, paymentId)) === undefined &&
        (await this.deps.ledger.lookupTransfers([paymentId], tx)).length === 0,
    );
  }

  /** What became of a payment: null when it never started. */
  async status(paymentId: string): Promise<PayResult | null> {
    const op = await this.operations.get(paymentId);
    if (op) {
      return {
        paymentId,
        status: op.state === 'succeeded' ? 'completed' : op.state,
        source: 'card',
        failureReason: op.failureReason,
      };
    }
    const [transfer] = await this.deps.ledger.lookupTransfers([paymentId]);
    return transfer ? { paymentId, status: 'completed', source: 'balance' } : null;
  }

  /**
   * Waits until a payment is final (completed or failed). Card payments settle by callback,
   * polling or reconciliation; this resolves as soon as this process sees it, and re-reads
   * the database on a short interval so a settlement in another process is seen too.
   */
  async awaitPayment(
    paymentId: string,
    options: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<PayResult> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const current = await this.status(paymentId);
      if (current && current.status !== 'pending') return current;
      if (Date.now() > deadline) return current ?? { paymentId, status: 'pending', source: 'card' };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, options.intervalMs ?? 200);
        const off = this.operations.onSettled((op) => {
          if (op.id === paymentId) done();
        });
        function done() {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    }
  }
}
