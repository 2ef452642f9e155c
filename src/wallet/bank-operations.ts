import type { BankOperation, MovementResult } from '../bank/index.ts';
import { BankError } from '../bank/index.ts';
import { TransferCodes } from '../chart.ts';
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
import { deterministicId } from '../platform/ids.ts';
import type { Cards } from './cards.ts';
import {
  type AccountEnsurer,
  bankClearingAccount,
  feeRevenueAccount,
  type WalletDeps,
  walletAccount,
} from './context.ts';
import { withdrawalFee } from './rules.ts';

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
export type OperationKind = 'top_up' | 'withdrawal' | 'card_payment';
export type OperationState = 'pending' | 'succeeded' | 'failed';

export interface BankOperationRecord {
  id: string;
  userId: string;
  kind: OperationKind;
  cardId: string;
  requestId: string;
  amount: bigint;
  fee: bigint;
  targetAccountId: string | null;
  notifyKind: string | null;
  state: OperationState;
  failureReason: string | null;
  bankStatus: string | null;
  bankSequence: number;
  bankReference: string | null;
  bankCompletedAt: Date | null;
  bankCallFinishedAt: Date | null;
  polls: number;
  createdAt: Date;
  resolvedAt: Date | null;
}

type OperationRow = {
  id: string;
  user_id: string;
  kind: OperationKind;
  card_id: string;
  request_id: string;
  amount: bigint;
  fee: bigint;
  target_account_id: string | null;
  notify_kind: string | null;
  state: OperationState;
  failure_reason: string | null;
  bank_status: string | null;
  bank_sequence: number;
  bank_reference: string | null;
  bank_completed_at: Date | null;
  bank_call_finished_at: Date | null;
  polls: number;
  created_at: Date;
  resolved_at: Date | null;
};

const COLUMNS =
  'id, user_id, kind, card_id, request_id, amount, fee, target_account_id, notify_kind, state, failure_reason, bank_status, bank_sequence, bank_reference, bank_completed_at, bank_call_finished_at, polls, created_at, resolved_at';

function fromRow(row: OperationRow): BankOperationRecord {
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind,
    cardId: row.card_id,
    requestId: row.request_id,
    amount: row.amount,
    fee: row.fee,
    targetAccountId: row.target_account_id,
    notifyKind: row.notify_kind,
    state: row.state,
    failureReason: row.failure_reason,
    bankStatus: row.bank_status,
    bankSequence: row.bank_sequence,
    bankReference: row.bank_reference,
    bankCompletedAt: row.bank_completed_at,
    bankCallFinishedAt: row.bank_call_finished_at,
    polls: row.polls,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
  };
}

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
export const requestIdOf = (operationId: string) => `tu-${operationId}`;
const postId = (pendingId: string) => deterministicId('wallet.bank.post', pendingId);
const voidId = (pendingId: string) => deterministicId('wallet.bank.void', pendingId);
const feeId = (operationId: string) => deterministicId('wallet.withdrawal.fee', operationId);

/** Times a movement the bank says it never received is re-sent (same request id) before it is voided. */
export const RESEND_MAX = 3;

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

  async get(operationId: string): Promise<BankOperationRecord | undefined> {
    const { rows } = await this.deps.db.query<OperationRow>(
      `SELECT ${COLUMNS} FROM wallet_bank_operations WHERE id = $1`,
      [operationId],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async byRequestIds(requestIds: readonly string[]): Promise<BankOperationRecord[]> {
    if (requestIds.length === 0) return [];
    const { rows } = await this.deps.db.query<OperationRow>(
      `SELECT ${COLUMNS} FROM wallet_bank_operations WHERE request_id = ANY($1::text[])`,
      [requestIds],
    );
    return rows.map(fromRow);
  }

  /** Money from a card into the wallet: pending bankClearing -> wallet, then the bank debits the card. */
  async topUp(input: StartOperation): Promise<BankOperationRecord> {
    this.assertAmount(input.amount);
    const card = await this.cards.active(input.userId, input.cardId);
    await this.accounts.system();
    await this.accounts.wallets([input.userId]);
    const op = await this.insert({ ...input, kind: 'top_up', fee: 0n });
    if (op.state !== 'pending') return op;
    await this.requirePending(op);
    return this.callBank(op, card.cardToken);
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
    const existing = await this.get(input.operationId);
    if (!existing) {
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
    }
    const op = await this.insert({ ...input, kind: 'withdrawal', fee });
    if (op.state !== 'pending') return op;
    if (!(await this.requirePending(op))) {
      await this.markFailed(op, 'insufficient_balance');
      throw conflict('insufficient_balance', 'Your wallet balance does not cover the amount and fee.', {
        amount: op.amount.toString(),
        fee: op.fee.toString(),
      });
    }
    return this.callBank(op, card.cardToken);
  }

  /** Card-funded payment into `targetAccountId` (e.g. an envelope escrow): pending bankClearing -> target. */
  async cardPayment(
    input: StartOperation & { targetAccountId: string; code: number; notifyKind?: string },
  ): Promise<BankOperationRecord> {
    this.assertAmount(input.amount);
    const card = await this.cards.active(input.userId, input.cardId);
    await this.accounts.system();
    const op = await this.insert({
      ...input,
      kind: 'card_payment',
      fee: 0n,
      targetAccountId: input.targetAccountId,
      notifyKind: input.notifyKind ?? null,
      code: input.code,
    });
    if (op.state !== 'pending') return op;
    if (!(await this.requirePending(op, input.code))) {
      await this.markFailed(op, 'target_account_refused');
      throw conflict('payment_target_refused', 'The account to pay into does not accept this payment.');
    }
    return this.callBank(op, card.cardToken);
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
    const { rows } = await this.deps.db.query<OperationRow>(
      `SELECT ${COLUMNS} FROM wallet_bank_operations WHERE state = 'pending' AND next_poll_at <= $1
       ORDER BY next_poll_at LIMIT $2`,
      [now, limit],
    );
    let settled = 0;
    for (const row of rows) {
      if (await this.pollOne(fromRow(row), now)) settled++;
    }
    return settled;
  }

  /** Asks the bank about one pending operation; true when it is now final. */
  async pollOne(op: BankOperationRecord, now: Date = this.deps.clock.now()): Promise<boolean> {
    const reschedule = () =>
      this.deps.db.query(
        `UPDATE wallet_bank_operations SET polls = polls + 1, next_poll_at = $2 WHERE id = $1 AND state = 'pending'`,
        [op.id, new Date(now.getTime() + nextPollDelayMs(this.deps.settings.bankPollAfterMs, op.polls))],
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
    const { rowCount } = await this.deps.db.query(
      `UPDATE wallet_bank_operations SET state = $2, failure_reason = $3, resolved_at = $4
       WHERE id = $1 AND state = 'pending'`,
      [op.id, state, state === 'failed' ? (reason ?? 'failed') : null, now],
    );
    if (rowCount === 1) await this.afterSettled({ ...op, state, failureReason: reason, resolvedAt: now });
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

  private async applyBankOperation(op: BankOperationRecord, operation: BankOperation): Promise<boolean> {
    await this.deps.db.query(
      `UPDATE wallet_bank_operations SET bank_status = $2, bank_sequence = $3, bank_reference = $4, bank_completed_at = $5
       WHERE id = $1 AND bank_sequence < $3`,
      [op.id, operation.status, operation.sequence, operation.bankReference, operation.completedAt],
    );
    if (operation.amount !== op.amount) {
      // The bank describes a different movement under our id: never settle on it.
      await this.recordConflict(
        op,
        operation.status === 'succeeded' ? 'succeeded' : 'failed',
        'bank_amount_differs',
      );
      return false;
    }
    if (operation.status === 'processing') return false; // stale or early: a final event follows
    const outcome = operation.status === 'succeeded' ? 'succeeded' : 'failed';
    const fresh = (await this.get(op.id))!;
    await this.settle(fresh, outcome, operation.declineReason);
    return true;
  }

  private async callBank(op: BankOperationRecord, cardToken: string): Promise<BankOperationRecord> {
    const request = { requestId: op.requestId, cardToken, amount: op.amount, currency: 'CNY' as const };
    const result: MovementResult =
      op.kind === 'withdrawal' ? await this.deps.bank.credit(request) : await this.deps.bank.debit(request);
    await this.deps.db.query(
      'UPDATE wallet_bank_operations SET bank_call_finished_at = $2 WHERE id = $1 AND bank_call_finished_at IS NULL',
      [op.id, this.deps.clock.now()],
    );
    switch (result.outcome) {
      case 'processing':
      case 'succeeded':
      case 'declined':
        await this.applyBankOperation((await this.get(op.id))!, result.operation);
        break;
      case 'rejected':
        // Nothing happened for this request, unless an earlier request holds the id: then poll.
        if (result.code !== 'request_id_reused') {
          await this.settle((await this.get(op.id))!, 'failed', `bank_rejected:${result.code}`);
        }
        break;
      case 'unknown':
        break; // maybe it happened: the poller (or a callback) decides
    }
    return (await this.get(op.id))!;
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
        code: TransferCodes.withdrawal,
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
          code: TransferCodes.withdrawalFee,
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
        code: code ?? existing[0]?.code ?? TransferCodes.topUp,
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
    const { rowCount } = await this.deps.db.query(
      `UPDATE wallet_bank_operations SET state = 'failed', failure_reason = $2, resolved_at = $3 WHERE id = $1 AND state = 'pending'`,
      [op.id, reason, now],
    );
    if (rowCount === 1)
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
    await this.deps.db.query(
      `INSERT INTO wallet_reconciliation_items (id, business_date, kind, request_id, operation_id, action, state, details, created_at)
       VALUES ($1, $2, 'outcome_conflict', $3, $4, 'review', 'open', $5, $6) ON CONFLICT DO NOTHING`,
      [
        deterministicId('wallet.outcome-conflict', op.id, claimed),
        businessDate(now, this.deps.settings.timeZone),
        op.requestId,
        op.id,
        JSON.stringify({ booked: op.state, bank: claimed, reason, amount: op.amount.toString() }),
        now,
      ],
    );
  }

  private assertAmount(amount: bigint): void {
    if (amount <= 0n) throw invalid('invalid_amount', 'The amount must be positive.');
    if (amount > this.deps.settings.bankOperationMax) {
      throw invalid('amount_too_large', 'The amount is above the single-operation maximum.', {
        max: this.deps.settings.bankOperationMax.toString(),
      });
    }
  }

  private async insert(
    input: StartOperation & {
      kind: OperationKind;
      fee: bigint;
      targetAccountId?: string;
      notifyKind?: string | null;
      code?: number;
    },
  ): Promise<BankOperationRecord> {
    const now = this.deps.clock.now();
    await this.deps.db.query(
      `INSERT INTO wallet_bank_operations (id, user_id, kind, card_id, request_id, amount, fee, target_account_id, notify_kind,
         state, next_poll_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11) ON CONFLICT (id) DO NOTHING`,
      [
        input.operationId,
        input.userId,
        input.kind,
        input.cardId,
        requestIdOf(input.operationId),
        input.amount,
        input.fee,
        input.targetAccountId ?? null,
        input.notifyKind ?? null,
        new Date(now.getTime() + this.deps.settings.bankPollAfterMs),
        now,
      ],
    );
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
