import type { BankOperation, MovementResult } from '../bank/index.ts';
import { BankError } from '../bank/index.ts';
import type { PaymentAuthorization } from '../identity/index.ts';
import {
  CreateTransferResult,
  Ledgers,
  succeeded,
  type TransferEvent,
  TransferFlags,
} from '../ledger/index.ts';
import { businessDate } from '../platform/clock.ts';
import { AppError, conflict, forbidden, invalid } from '../platform/errors.ts';
import { type FlowStep, runFlow } from '../platform/flow.ts';
import { deterministicId } from '../platform/ids.ts';
import type { Cards } from './cards.ts';
import { WalletTransfers } from './chart.ts';
import {
  type AccountEnsurer,
  bankClearingAccount,
  feeRevenueAccount,
  type WalletDeps,
  walletAccount,
} from './context.ts';
import { withdrawalFee } from './rules.ts';
import {
  type BankOperationRecord,
  getOperation,
  insertOperation,
  markBankCallFinished,
  type NewOperation,
  type OperationState,
  operationsByRequestIds,
  operationsDueForPoll,
  recordBankStatus,
  reschedulePoll,
  resolveOperation,
} from './store/bank-operations.ts';
import { insertItem } from './store/reconciliation.ts';

/**
 * Money between a bank card and Tuyere: top-ups, withdrawals and card-funded payments.
 *
 * Every movement is a pending ledger transfer booked BEFORE the bank is asked, identified by
 * a caller-chosen deterministic id; the bank knows it as `tu-<id>`. The pending transfer is
 * then posted or voided exactly once: the ledger refuses a second resolution
 * (pending_transfer_already_posted/voided), so callbacks (duplicated, early, late, out of
 * order), the API answer, the poller and reconciliation may all race to settle it and only
 * the first counts. Our row follows the ledger, never the other way round.
 */
export type { BankOperationRecord, OperationKind, OperationState } from './store/bank-operations.ts';

/** The API view of a top-up or withdrawal. Amounts are strings of minor units. */
export function operationView(op: BankOperationRecord) {
  return {
    id: op.id,
    kind: op.kind,
    card_id: op.cardId,
    amount: op.amount.toString(),
    fee: op.fee.toString(),
    currency: 'CNY',
    status: op.state,
    failure_reason: op.failureReason,
    bank_reference: op.bankReference,
    created_at: op.createdAt.toISOString(),
    resolved_at: op.resolvedAt?.toISOString() ?? null,
  };
}

/** The bank's request id for an operation: ours, deterministic, within the bank's pattern. */
const requestIdOf = (operationId: string) => `tu-${operationId}`;
const postId = (pendingId: string) => deterministicId('wallet.bank.post', pendingId);
const voidId = (pendingId: string) => deterministicId('wallet.bank.void', pendingId);
export const feeId = (operationId: string) => deterministicId('wallet.withdrawal.fee', operationId);

/** Times a movement the bank says it never received is re-sent (same request id) before it is voided. */
const RESEND_MAX = 3;

/** Bounded exponential backoff for the poller: pollAfter, 2x, 4x ... up to 10 minutes. */
function nextPollDelayMs(base: number, polls: number): number {
  return Math.min(600_000, Math.max(base, 1000) * 2 ** Math.min(polls, 10));
}

export interface StartOperation {
  operationId: string;
  userId: string;
  cardId: string;
  amount: bigint;
}

/** What a movement records: the operation's own fields. */
type MovementInput = StartOperation & {
  kind: NewOperation['kind'];
  fee: bigint;
  targetAccountId?: string;
  notifyKind?: string | null;
};

interface MovementOptions {
  /** Steps before the operation is recorded (a withdrawal's limits). */
  before?: FlowStep<Movement>[];
  /** The transfer code of a card payment's hold. */
  code?: number;
  /** How a refused hold fails the operation; when absent a refusal is not checked (top-up). */
  holdRefused?: { reason: string; error: (op: BankOperationRecord) => AppError };
}

/** A bank movement's flow state: the operation, once recorded. */
interface Movement {
  op?: BankOperationRecord;
}

/** What the bank answered to a movement call: final, or null while it is still open (or unknown). */
type BankAnswer = { outcome: 'succeeded' | 'failed'; reason: string | null } | null;

const isPending = (op: BankOperationRecord | undefined): op is BankOperationRecord => op?.state === 'pending';

/** The ledger refused a movement's hold (the balance does not cover it, the target refuses it). */
class HoldRefused extends Error {
  constructor(
    readonly reason: string,
    readonly error: AppError,
  ) {
    super(error.message);
  }
}

/** The bank said no: it declined the movement, or rejected the request (so nothing happened). */
class BankRefused extends Error {
  constructor(readonly reason: string | null) {
    super(`the bank refused the movement (${reason})`);
  }
}

export class BankOperations {
  /** Called after an operation reaches its final state (once per process; the job queue carries the durable notification). */
  private readonly listeners = new Set<(op: BankOperationRecord) => void>();

  constructor(
    private readonly deps: WalletDeps,
    private readonly accounts: AccountEnsurer,
    private readonly cards: Cards,
  ) {}

  onSettled(listener: (op: BankOperationRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(operationId: string): Promise<BankOperationRecord | undefined> {
    return getOperation(this.deps.db, operationId);
  }

  byRequestIds(requestIds: readonly string[]): Promise<BankOperationRecord[]> {
    return operationsByRequestIds(this.deps.db, requestIds);
  }

  /** Money from a card into the wallet: pending bankClearing -> wallet, then the bank debits the card. */
  async topUp(input: StartOperation): Promise<BankOperationRecord> {
    this.assertAmount(input.amount);
    const card = await this.cards.active(input.userId, input.cardId);
    await this.accounts.system();
    await this.accounts.wallets([input.userId]);
    // A refused hold is not checked (kept as it was; see issue 14): the wallet account was
    // just ensured, so the ledger has no reason to refuse it.
    return this.move('wallet.top_up', { ...input, kind: 'top_up', fee: 0n }, card.cardToken, {});
  }

  /**
   * Money from the wallet to the user's own card: the amount (and fee, linked) is held as
   * pending transfers, then posted or voided by the bank's outcome. Checked against the
   * limits service (method withdrawal_to_own_card); the reservation is released on failure.
   */
  async withdraw(
    input: StartOperation & { authorization: PaymentAuthorization },
  ): Promise<BankOperationRecord> {
    this.assertAmount(input.amount);
    const card = await this.cards.active(input.userId, input.cardId);
    await this.accounts.system();
    await this.accounts.wallets([input.userId]);
    const fee = withdrawalFee(
      input.amount,
      this.deps.settings.withdrawalFeeBps,
      this.deps.settings.withdrawalFeeMin,
    );
    const reserveLimits: FlowStep<Movement> = {
      name: 'reserve limits',
      run: async () => {
        if (await this.get(input.operationId)) return; // a replay: reserved when it was first made
        const decision = await this.deps.identity.checkAndReserve({
          reservationId: input.operationId,
          userId: input.userId,
          amount: input.amount,
          method: 'withdrawal_to_own_card',
          authorization: input.authorization,
        });
        if (!decision.allowed) {
          throw forbidden(decision.reason, 'This withdrawal is over your limit.', {
            cap: decision.cap?.toString() ?? null,
            used: decision.used.toString(),
          });
        }
      },
      // No compensation of its own: a withdrawal that fails releases its reservation when it
      // settles failed (afterSettled), whether here (hold refused, bank said no) or later.
    };
    return this.move('wallet.withdrawal', { ...input, kind: 'withdrawal', fee }, card.cardToken, {
      before: [reserveLimits],
      holdRefused: {
        reason: 'insufficient_balance',
        error: (op) =>
          conflict('insufficient_balance', 'Your wallet balance does not cover the amount and fee.', {
            amount: op.amount.toString(),
            fee: op.fee.toString(),
          }),
      },
    });
  }

  /** Card-funded payment into `targetAccountId` (e.g. an envelope escrow): pending bankClearing -> target. */
  async cardPayment(
    input: StartOperation & { targetAccountId: string; code: number; notifyKind?: string },
  ): Promise<BankOperationRecord> {
    this.assertAmount(input.amount);
    const card = await this.cards.active(input.userId, input.cardId);
    await this.accounts.system();
    return this.move(
      'wallet.card_payment',
      {
        ...input,
        kind: 'card_payment',
        fee: 0n,
        targetAccountId: input.targetAccountId,
        notifyKind: input.notifyKind ?? null,
      },
      card.cardToken,
      {
        code: input.code,
        holdRefused: {
          reason: 'target_account_refused',
          error: () =>
            conflict('payment_target_refused', 'The account to pay into does not accept this payment.'),
        },
      },
    );
  }

  /**
   * A bank movement as a flow (src/platform/flow.ts), the same for top-ups, withdrawals and
   * card payments:
   *   1. record the operation (an existing id is a replay and must describe the same movement);
   *   2. hold the money: the pending ledger transfer(s), booked BEFORE the bank is asked;
   *   3. ask the bank, and post the hold if it already says yes.
   * Compensations: a hold the ledger refuses fails the operation (undoes 1) and the caller gets
   * the refusal; a bank that declines or rejects the request voids the hold (undoes 2) and the
   * operation ends failed, which is an answer, not an error. An unknown answer (timeout,
   * network) undoes nothing: the money may have moved, so only the bank's word (callback,
   * poller, reconciliation) settles it. A replay of a finished operation stops after 1.
   */
  private async move(
    flow: string,
    input: MovementInput,
    cardToken: string,
    options: MovementOptions,
  ): Promise<BankOperationRecord> {
    try {
      const { op } = await runFlow<Movement>(flow, {}, [
        ...(options.before ?? []),
        this.recordOperation(input),
        this.holdMoney(options),
        this.askBank(cardToken),
      ]);
      return op!;
    } catch (error) {
      if (error instanceof HoldRefused) throw error.error;
      if (error instanceof BankRefused) return (await this.get(input.operationId))!;
      throw error;
    }
  }

  /** Writes the operation (or finds the replayed one). Undo: a refused hold fails it. */
  private recordOperation(input: MovementInput): FlowStep<Movement> {
    return {
      name: 'record the operation',
      run: async () => ({ op: await this.record(input) }),
      compensate: async ({ op }, cause) => {
        if (cause instanceof HoldRefused) await this.markFailed(op!, cause.reason);
      },
    };
  }

  /** Books the pending transfer(s). Undo: when the bank says no, void them. */
  private holdMoney(options: MovementOptions): FlowStep<Movement> {
    return {
      name: 'hold the money',
      run: async ({ op }) => {
        if (!isPending(op)) return; // a replay of a finished movement
        const held = await this.requirePending(op, options.code);
        if (!held && options.holdRefused)
          throw new HoldRefused(options.holdRefused.reason, options.holdRefused.error(op));
      },
      compensate: async ({ op }, cause) => {
        if (cause instanceof BankRefused)
          await this.settle((await this.get(op!.id))!, 'failed', cause.reason);
      },
    };
  }

  /**
   * Asks the bank (the same request id every time); posts the hold when it already says yes,
   * throws BankRefused when it says no. Processing or unknown: the operation stays pending.
   */
  private askBank(cardToken: string): FlowStep<Movement> {
    return {
      name: 'ask the bank',
      run: async ({ op }) => {
        if (!isPending(op)) return;
        const answer = await this.sendToBank(op, cardToken);
        if (answer?.outcome === 'failed') throw new BankRefused(answer.reason);
        if (answer) await this.settle((await this.get(op.id))!, 'succeeded', answer.reason);
        return { op: (await this.get(op.id))! };
      },
    };
  }

  /** Applies a verified bank callback. Returns false when the request id is not ours. */
  async handleBankEvent(operation: BankOperation): Promise<boolean> {
    const [op] = await this.byRequestIds([operation.requestId]);
    if (!op) return false;
    await this.applyBankOperation(op, operation);
    return true;
  }

  /**
   * The poller: asks the bank about operations still pending past their next poll time.
   * Lost callbacks and unknown outcomes end here. Returns how many it settled.
   */
  async pollDue(now: Date = this.deps.clock.now(), limit = 200): Promise<number> {
    let settled = 0;
    for (const op of await operationsDueForPoll(this.deps.db, now, limit)) {
      if (await this.pollOne(op, now)) settled++;
    }
    return settled;
  }

  /** Asks the bank about one pending operation; true when it is now final. */
  async pollOne(op: BankOperationRecord, now: Date = this.deps.clock.now()): Promise<boolean> {
    const reschedule = () =>
      reschedulePoll(
        this.deps.db,
        op.id,
        new Date(now.getTime() + nextPollDelayMs(this.deps.settings.bankPollAfterMs, op.polls)),
      );
    let status: Awaited<ReturnType<WalletDeps['bank']['status']>>;
    try {
      status = await this.deps.bank.status(op.requestId);
    } catch (error) {
      if (!(error instanceof BankError)) throw error;
      await reschedule();
      return false;
    }
    if (!status.found) {
      // "Not found" is final only once our call has finished (or certainly timed out):
      // a call still in flight may yet land at the bank.
      const callOver =
        op.bankCallFinishedAt !== null ||
        now.getTime() - op.createdAt.getTime() > this.deps.settings.bankTimeoutMs * 2 + 30_000;
      if (!callOver) {
        await reschedule();
        return false;
      }
      if (op.polls < RESEND_MAX) {
        // Prefer re-sending the same request id over voiding: a slow first call may still
        // land, and the bank's idempotency makes the re-send safe either way.
        const card = await this.cards.get(op.cardId);
        const after = card ? await this.callBank(op, card.cardToken) : op;
        if (after.state !== 'pending') return true;
        await reschedule();
        return false;
      }
      return (await this.settle(op, 'failed', 'bank_not_received')) === 'failed';
    }
    const final = await this.applyBankOperation(op, status.operation);
    if (!final) await reschedule();
    return final;
  }

  /**
   * Resolves an operation's pending transfer(s) to `outcome`, exactly once. Returns the
   * state the operation ends in (which is the ledger's, if someone else resolved it first).
   */
  async settle(
    op: BankOperationRecord,
    outcome: 'succeeded' | 'failed',
    reason: string | null,
  ): Promise<OperationState> {
    if (op.state !== 'pending') {
      if (op.state !== outcome) await this.recordConflict(op, outcome, reason);
      return op.state;
    }
    if (!(await this.requirePending(op))) {
      // The hold was never booked (crash before it, or no funds): nothing to release.
      if (outcome === 'succeeded') await this.recordConflict(op, outcome, 'pending_transfer_missing');
      return this.markFailed(op, reason ?? 'pending_transfer_missing');
    }
    const flag =
      outcome === 'succeeded' ? TransferFlags.post_pending_transfer : TransferFlags.void_pending_transfer;
    const resolutionId = outcome === 'succeeded' ? postId : voidId;
    const events: TransferEvent[] = [
      { id: resolutionId(op.id), pendingId: op.id, amount: op.amount, flags: flag },
    ];
    if (op.fee > 0n) {
      events[0]!.flags = flag | TransferFlags.linked;
      events.push({ id: resolutionId(feeId(op.id)), pendingId: feeId(op.id), amount: op.fee, flags: flag });
    }
    const results = await this.deps.ledger.createTransfers(events);
    let state: OperationState = outcome;
    if (!results.every((r) => succeeded(r.result))) {
      // Someone resolved it first (or the ledger expired it): the ledger's answer stands.
      const pending = (await this.deps.ledger.lookupPending([op.id])).get(op.id);
      if (!pending || pending.status === 'pending') {
        throw new AppError(
          'internal',
          'wallet_settle_failed',
          `Could not settle ${op.id}: ${results.map((r) => r.result).join(',')}`,
        );
      }
      state = pending.status === 'posted' ? 'succeeded' : 'failed';
      if (state !== outcome) await this.recordConflict(op, outcome, reason);
    }
    const now = this.deps.clock.now();
    const resolved = await resolveOperation(this.deps.db, op.id, {
      state,
      failureReason: state === 'failed' ? (reason ?? 'failed') : null,
      at: now,
    });
    if (resolved) await this.afterSettled({ ...op, state, failureReason: reason, resolvedAt: now });
    return state;
  }

  private async afterSettled(op: BankOperationRecord): Promise<void> {
    if (op.state === 'failed' && op.kind !== 'top_up') {
      await this.deps.identity.releaseReservation(op.id);
    }
    if (op.notifyKind) {
      await this.deps.jobs.enqueue(
        op.notifyKind,
        { payment_id: op.id, user_id: op.userId, status: op.state === 'succeeded' ? 'completed' : 'failed' },
        { uniqueKey: `wallet.payment-settled:${op.id}` },
      );
    }
    for (const listener of this.listeners) listener(op);
  }

  /** Settles an operation on what the bank says about it (callback or status); true when it is now final. */
  private async applyBankOperation(op: BankOperationRecord, operation: BankOperation): Promise<boolean> {
    const outcome = await this.readBankOperation(op, operation);
    if (!outcome) return false;
    await this.settle((await this.get(op.id))!, outcome, operation.declineReason);
    return true;
  }

  /** Records what the bank says about an operation; the outcome to settle on, or null when there is none yet. */
  private async readBankOperation(
    op: BankOperationRecord,
    operation: BankOperation,
  ): Promise<'succeeded' | 'failed' | null> {
    await recordBankStatus(this.deps.db, op.id, operation);
    if (operation.amount !== op.amount) {
      // The bank describes a different movement under our id: never settle on it.
      await this.recordConflict(
        op,
        operation.status === 'succeeded' ? 'succeeded' : 'failed',
        'bank_amount_differs',
      );
      return null;
    }
    if (operation.status === 'processing') return null; // stale or early: a final event follows
    return operation.status === 'succeeded' ? 'succeeded' : 'failed';
  }

  /** Sends the movement to the bank (the same request id every time) and settles on its answer. */
  private async callBank(op: BankOperationRecord, cardToken: string): Promise<BankOperationRecord> {
    const answer = await this.sendToBank(op, cardToken);
    if (answer) await this.settle((await this.get(op.id))!, answer.outcome, answer.reason);
    return (await this.get(op.id))!;
  }

  /** Sends the movement to the bank (the same request id every time) and records what it answered. */
  private async sendToBank(op: BankOperationRecord, cardToken: string): Promise<BankAnswer> {
    const request = {
      requestId: op.requestId,
      cardToken,
      amount: op.amount,
      currency: 'CNY' as const,
      notifyUrl: this.deps.settings.callbackUrl || undefined,
    };
    const result: MovementResult =
      op.kind === 'withdrawal' ? await this.deps.bank.credit(request) : await this.deps.bank.debit(request);
    await markBankCallFinished(this.deps.db, op.id, this.deps.clock.now());
    switch (result.outcome) {
      case 'processing':
      case 'succeeded':
      case 'declined': {
        const outcome = await this.readBankOperation((await this.get(op.id))!, result.operation);
        return outcome && { outcome, reason: result.operation.declineReason };
      }
      case 'rejected':
        // Nothing happened for this request, unless an earlier request holds the id: then poll.
        return result.code === 'request_id_reused'
          ? null
          : { outcome: 'failed', reason: `bank_rejected:${result.code}` };
      case 'unknown':
        return null; // maybe it happened: the poller (or a callback) decides
    }
  }

  /** Books the pending transfer(s) for an operation (idempotent). False when the ledger refuses them. */
  private async requirePending(op: BankOperationRecord, code?: number): Promise<boolean> {
    const events: TransferEvent[] = [];
    if (op.kind === 'withdrawal') {
      const wallet = walletAccount(op.userId);
      events.push({
        id: op.id,
        debitAccountId: wallet,
        creditAccountId: bankClearingAccount,
        amount: op.amount,
        ledger: Ledgers.CNY,
        code: WalletTransfers.withdrawal,
        flags: TransferFlags.pending | (op.fee > 0n ? TransferFlags.linked : 0),
        userData128: op.userId,
      });
      if (op.fee > 0n) {
        events.push({
          id: feeId(op.id),
          debitAccountId: wallet,
          creditAccountId: feeRevenueAccount,
          amount: op.fee,
          ledger: Ledgers.CNY,
          code: WalletTransfers.withdrawalFee,
          flags: TransferFlags.pending,
          userData128: op.userId,
        });
      }
    } else {
      const existing =
        op.kind === 'card_payment' && code === undefined
          ? await this.deps.ledger.lookupTransfers([op.id])
          : [];
      events.push({
        id: op.id,
        debitAccountId: bankClearingAccount,
        creditAccountId: op.kind === 'top_up' ? walletAccount(op.userId) : op.targetAccountId!,
        amount: op.amount,
        ledger: Ledgers.CNY,
        code: code ?? existing[0]?.code ?? WalletTransfers.topUp,
        flags: TransferFlags.pending,
        userData128: op.userId,
      });
      if (op.kind === 'card_payment' && code === undefined && existing.length === 0) return false;
    }
    const results = await this.deps.ledger.createTransfers(events);
    if (results.every((r) => succeeded(r.result))) return true;
    const refusals = new Set([
      // An earlier attempt of this very hold was refused: the ledger keeps refusing its id.
      CreateTransferResult.id_already_failed,
      CreateTransferResult.exceeds_credits,
      CreateTransferResult.linked_event_failed,
      CreateTransferResult.credit_account_not_found,
      CreateTransferResult.credit_account_already_closed,
      CreateTransferResult.exceeds_debits,
    ]);
    if (results.every((r) => refusals.has(r.result))) return false;
    throw new AppError(
      'internal',
      'wallet_pending_failed',
      `Pending transfer for ${op.id} failed: ${results.map((r) => r.result).join(',')}`,
    );
  }

  private async markFailed(op: BankOperationRecord, reason: string): Promise<OperationState> {
    const now = this.deps.clock.now();
    if (await resolveOperation(this.deps.db, op.id, { state: 'failed', failureReason: reason, at: now }))
      await this.afterSettled({ ...op, state: 'failed', failureReason: reason, resolvedAt: now });
    return 'failed';
  }

  /** The bank and our books disagree about a final outcome: an operator must look (reported once). */
  private async recordConflict(
    op: BankOperationRecord,
    claimed: string,
    reason: string | null,
  ): Promise<void> {
    const now = this.deps.clock.now();
    this.deps.log.warn(
      { operation_id: op.id, state: op.state, claimed, reason },
      'bank outcome conflicts with the books',
    );
    await insertItem(this.deps.db, {
      id: deterministicId('wallet.outcome-conflict', op.id, claimed),
      businessDate: businessDate(now, this.deps.settings.timeZone),
      kind: 'outcome_conflict',
      requestId: op.requestId,
      operationId: op.id,
      action: 'review',
      details: { booked: op.state, bank: claimed, reason, amount: op.amount.toString() },
      createdAt: now,
    });
  }

  private assertAmount(amount: bigint): void {
    if (amount <= 0n) throw invalid('invalid_amount', 'The amount must be positive.');
    if (amount > this.deps.settings.bankOperationMax) {
      throw invalid('amount_too_large', 'The amount is above the single-operation maximum.', {
        max: this.deps.settings.bankOperationMax.toString(),
      });
    }
  }

  /** Writes the operation, or reads back the one already under this id (a replay), which must match. */
  private async record(input: MovementInput): Promise<BankOperationRecord> {
    const now = this.deps.clock.now();
    await insertOperation(this.deps.db, {
      id: input.operationId,
      userId: input.userId,
      kind: input.kind,
      cardId: input.cardId,
      requestId: requestIdOf(input.operationId),
      amount: input.amount,
      fee: input.fee,
      targetAccountId: input.targetAccountId ?? null,
      notifyKind: input.notifyKind ?? null,
      nextPollAt: new Date(now.getTime() + this.deps.settings.bankPollAfterMs),
      createdAt: now,
    });
    const op = (await this.get(input.operationId))!;
    if (
      op.userId !== input.userId ||
      op.kind !== input.kind ||
      op.cardId !== input.cardId ||
      op.amount !== input.amount ||
      (op.targetAccountId ?? null) !== (input.targetAccountId ?? null)
    ) {
      throw conflict(
        'operation_exists_with_different_fields',
        'This operation id was already used for a different movement.',
      );
    }
    return op;
  }
}
