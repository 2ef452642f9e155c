import type { BankOperation, MovementResult } from '../bank/index.ts';
import { BankError } from '../bank/index.ts';
import type { HeldReservation, PaymentAuthorization } from '../identity/index.ts';
import {
  CreateTransferResult,
  Ledgers,
  succeeded,
  type TransferEvent,
  TransferFlags,
} from '../ledger/index.ts';
import { businessDate } from '../platform/clock.ts';
import { crashPoint } from '../platform/crash-points.ts';
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
  markBankCallFinished,
  type NewOperation,
  type OperationState,
  operationRowWrite,
  operationsByRequestIds,
  operationsDueForPoll,
  pendingOperationsPage,
  recordBankStatus,
  reschedulePoll,
  resolveOperation,
} from './store/bank-operations.ts';
import { insertItem } from './store/reconciliation.ts';

/**
 * Money between a bank card and Tuyere: top-ups, withdrawals and card-funded payments.
 *
 * Every movement is a pending ledger transfer booked BEFORE the bank is asked, in the same
 * commit as the operation's row (a commit participant), identified by a caller-chosen
 * deterministic id; the bank knows it as `tu-<id>`. No row exists without its hold and no
 * hold without its row, and the bank is never called for an operation whose hold is not
 * pending in the ledger. The pending transfer is
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

/** What a withdrawal's limits reservation names (identity's fingerprint): its card. */
const WITHDRAWAL_FINGERPRINT = 'withdrawal:';
const withdrawalFingerprint = (cardId: string) => `${WITHDRAWAL_FINGERPRINT}${cardId}`;

/**
 * How old a reservation must be before recovery looks at it: a live call commits (or gives up)
 * long before. Safety does not rest on it: a call committing after the reservation was
 * abandoned is refused (operation_interrupted) and takes it back.
 */
export const ABANDONED_RESERVATION_AFTER_MS = 10 * 60_000;

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
  feeRule?: NewOperation['feeRule'];
  targetAccountId?: string;
  notifyKind?: string | null;
};

interface MovementOptions {
  /** Steps before the operation is recorded (a withdrawal's limits). */
  before?: FlowStep<Movement>[];
  /** The transfer code of a card payment's hold. */
  code?: number;
  /**
   * The operation reserved limits under its id: its hold commits only while that reservation is
   * still held (recovery may have abandoned it meanwhile; then the commit is refused).
   */
  limitsReserved?: boolean;
  /** How a refused hold fails the operation: the row's failure reason and the caller's error. */
  holdRefused: { reason: string; error: (op: BankOperationRecord) => AppError };
}

/** A bank movement's flow state: the operation, once recorded; whether this call reserved its limits. */
interface Movement {
  op?: BankOperationRecord;
  reservedHere?: boolean;
}

/** Ledger results that refuse a hold for good (the ledger answers the same to any retry of its id). */
const HOLD_REFUSALS: ReadonlySet<CreateTransferResult> = new Set([
  CreateTransferResult.id_already_failed,
  CreateTransferResult.exceeds_credits,
  CreateTransferResult.exceeds_debits,
  CreateTransferResult.linked_event_failed,
  CreateTransferResult.debit_account_not_found,
  CreateTransferResult.credit_account_not_found,
  CreateTransferResult.credit_account_already_closed,
  CreateTransferResult.debit_account_already_closed,
]);

/** What the ledger's answer to a hold means for its row: booked, refused, or neither (a different movement). */
function holdOutcome(results: ReadonlyArray<{ result: CreateTransferResult }>): 'held' | 'refused' | null {
  if (results.every((r) => succeeded(r.result))) return 'held';
  if (results.every((r) => HOLD_REFUSALS.has(r.result))) return 'refused';
  return null;
}

/**
 * Failure reasons of operations whose hold was never booked (so the bank was never called):
 * the only failed operations without a hold that `tuyere verify` accepts.
 */
export const HOLD_NEVER_BOOKED_REASONS: readonly string[] = [
  'insufficient_balance',
  'target_account_refused',
  'top_up_refused',
  'hold_missing',
];

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

/**
 * The hold was refused at commit because its limits reservation is no longer held: recovery
 * abandoned it (the call that made it looked dead). Nothing was written; running the operation
 * again takes the reservation back first.
 */
const reservationLost = (operationId: string) =>
  conflict(
    'operation_interrupted',
    `The limits of operation ${operationId} were given back before it committed; retry it with the same id.`,
  );

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
    // The wallet account was just ensured, but it may be closed: a refused hold fails the
    // top-up before the bank is asked, like any other movement's.
    return this.move('wallet.top_up', { ...input, kind: 'top_up', fee: 0n }, card.cardToken, {
      holdRefused: {
        reason: 'top_up_refused',
        error: () => conflict('top_up_refused', 'Your wallet does not accept a top-up now (is it closed?).'),
      },
    });
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
    const feeRule = { bps: this.deps.settings.withdrawalFeeBps, min: this.deps.settings.withdrawalFeeMin };
    const fee = withdrawalFee(input.amount, feeRule.bps, feeRule.min);
    const reserveLimits: FlowStep<Movement> = {
      name: 'reserve limits',
      run: async () => {
        if (await this.get(input.operationId)) return; // a replay: reserved when it was first made
        const decision = await this.deps.identity.checkAndReserve({
          reservationId: input.operationId,
          userId: input.userId,
          amount: input.amount,
          method: 'withdrawal_to_own_card',
          // A duplicate to another card under this id must not share (nor release) this reservation.
          fingerprint: withdrawalFingerprint(input.cardId),
          authorization: input.authorization,
        });
        if (!decision.allowed) {
          throw forbidden(decision.reason, 'This withdrawal is over your limit.', {
            cap: decision.cap?.toString() ?? null,
            used: decision.used.toString(),
          });
        }
        return { reservedHere: decision.reused !== true };
      },
      // A withdrawal that fails releases its reservation when it settles failed (afterSettled),
      // whether here (hold refused, bank said no) or later. Besides that, only the call that made
      // the reservation releases it, and only when the ledger certainly wrote nothing (it was
      // overloaded and never ran the hold); any other error may have committed the hold and its
      // row, so the reservation stays with them. A duplicate (reused) never releases.
      // It is abandoned (not released), so a retry under the same id takes it back.
      compensate: async ({ reservedHere }, cause) => {
        if (!reservedHere || !(cause instanceof AppError) || cause.code !== 'ledger_overloaded') return;
        await this.abandonReservation(input.operationId, input.userId, withdrawalFingerprint(input.cardId));
      },
    };
    const run = () =>
      this.move('wallet.withdrawal', { ...input, kind: 'withdrawal', fee, feeRule }, card.cardToken, {
        before: [reserveLimits],
        limitsReserved: true,
        holdRefused: {
          reason: 'insufficient_balance',
          error: (op) =>
            conflict('insufficient_balance', 'Your wallet balance does not cover the amount and fee.', {
              amount: op.amount.toString(),
              fee: op.fee.toString(),
            }),
        },
      });
    try {
      return await run();
    } catch (error) {
      // Recovery abandoned the reservation while this call was between reserving and committing
      // (it found neither row nor hold): run it once more, which takes the reservation back.
      if (error instanceof AppError && error.code === 'operation_interrupted') return run();
      throw error;
    }
  }

  /** Card-funded payment into `targetAccountId` (e.g. an envelope escrow): pending bankClearing -> target. */
  async cardPayment(
    input: StartOperation & {
      targetAccountId: string;
      code: number;
      notifyKind?: string;
      /** The payment reserved limits under its id: the hold commits only while they are held. */
      limitsReserved?: boolean;
    },
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
        limitsReserved: input.limitsReserved,
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
   *   1. hold the money and record the operation in ONE ledger commit: the pending transfer(s)
   *      with the row as a commit participant (`pending`, or `failed` when the ledger refuses
   *      the hold). An existing id is a replay and must describe the same movement;
   *   2. ask the bank, and post the hold if it already says yes.
   * A crash between 1 and 2 leaves a pending row with its hold and no bank call: the poller
   * finds the bank never saw it and sends it (same request id). Compensations: a refused hold
   * ends the operation failed in its own commit and the caller gets the refusal; a bank that
   * declines or rejects the request voids the hold (undoes 1) and the operation ends failed,
   * which is an answer, not an error. An unknown answer (timeout, network) undoes nothing: the
   * money may have moved, so only the bank's word (callback, poller, reconciliation) settles
   * it. A replay of a finished operation stops after 1.
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
        this.holdAndRecord(flow, input, options),
        this.askBank(flow, cardToken),
      ]);
      return op!;
    } catch (error) {
      if (error instanceof HoldRefused) throw error.error;
      if (error instanceof BankRefused) return (await this.get(input.operationId))!;
      throw error;
    }
  }

  /**
   * Books the hold and writes the row in one commit (or finds the replayed ones). A refused
   * hold leaves a failed row and throws HoldRefused. Undo: when the bank says no, void the hold.
   */
  private holdAndRecord(flow: string, input: MovementInput, options: MovementOptions): FlowStep<Movement> {
    return {
      name: 'hold the money and record the operation',
      run: async () => {
        crashPoint(`${flow}.before-hold`);
        const now = this.deps.clock.now();
        const row: NewOperation = {
          id: input.operationId,
          userId: input.userId,
          kind: input.kind,
          cardId: input.cardId,
          requestId: requestIdOf(input.operationId),
          amount: input.amount,
          fee: input.fee,
          feeRule: input.feeRule ?? null,
          targetAccountId: input.targetAccountId ?? null,
          notifyKind: input.notifyKind ?? null,
          nextPollAt: new Date(now.getTime() + this.deps.settings.bankPollAfterMs),
          createdAt: now,
        };
        const results = await this.deps.ledger.createTransfers(this.holdEvents(row, options.code), {
          participant: {
            writes: (outcomes) => {
              const outcome = holdOutcome(outcomes);
              if (!outcome) return []; // a different movement under this id: nothing to write
              const written = operationRowWrite({
                ...row,
                state: outcome === 'held' ? 'pending' : 'failed',
                failureReason: outcome === 'held' ? null : options.holdRefused.reason,
              });
              // A new hold (not a replay's `exists`) needs the limits it reserved to be still held.
              const newHold = outcomes.every((o) => o.result === CreateTransferResult.ok);
              return options.limitsReserved && outcome === 'held' && newHold
                ? [written, this.deps.identity.reservationHeld(input.operationId)]
                : [written];
            },
            refusal: () => reservationLost(input.operationId),
          },
        });
        crashPoint(`${flow}.after-hold`);
        const op = await this.get(input.operationId);
        if (!op || !this.sameMovement(op, input)) {
          if (op || results.some((r) => String(r.result).startsWith('exists_with_different'))) {
            throw conflict(
              'operation_exists_with_different_fields',
              'This operation id was already used for a different movement.',
            );
          }
          throw new AppError(
            'internal',
            'wallet_pending_failed',
            `Pending transfer for ${input.operationId} failed: ${results.map((r) => r.result).join(',')}`,
          );
        }
        if (holdOutcome(results) === 'refused') {
          // Settled failed in the hold's own commit: give back its limits, tell who waits.
          if (op.state === 'failed') await this.afterSettled(op);
          throw new HoldRefused(options.holdRefused.reason, options.holdRefused.error(op));
        }
        return { op };
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
  private askBank(flow: string, cardToken: string): FlowStep<Movement> {
    return {
      name: 'ask the bank',
      run: async ({ op }) => {
        if (!isPending(op)) return;
        const answer = await this.sendToBank(op, cardToken);
        crashPoint(`${flow}.after-bank`);
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
    // A row whose hold is gone or resolved is healed from the ledger, never sent to the bank.
    if ((await this.deps.ledger.lookupPending([op.id])).get(op.id)?.status !== 'pending')
      return this.recoverOne(op);
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
   * The recovery job: heals every pending operation a crash left half-done, idempotently.
   *   - its hold is resolved in the ledger but the row missed it (killed inside `settle`):
   *     the row follows the ledger (and its limits and notifications follow the row);
   *   - it has no hold at all (a row from before rows and holds committed together): failed
   *     `hold_missing`, never sent to the bank (and reported if the bank was ever asked).
   * A pending row with a pending hold is whole: the poller asks the bank (and sends it, same
   * request id, if the process died before it did). Returns how many it healed.
   */
  async recoverHalfDone(now: Date = this.deps.clock.now(), batch = 500): Promise<number> {
    let healed = 0;
    let after: string | undefined;
    for (;;) {
      const page = await pendingOperationsPage(this.deps.db, now, after, batch);
      if (page.length === 0) return healed;
      const holds = await this.deps.ledger.lookupPending(page.map((op) => op.id));
      for (const op of page) {
        if (holds.get(op.id)?.status !== 'pending' && (await this.recoverOne(op))) healed++;
      }
      after = page[page.length - 1]!.id;
    }
  }

  /**
   * The recovery job's other half: withdrawals killed after reserving their limits and before
   * committing their hold and row (and never retried) leave a reservation nobody releases.
   * Each reservation of a withdrawal still held after ABANDONED_RESERVATION_AFTER_MS whose
   * operation has no row (so no hold: they commit together) is abandoned on that operation's
   * behalf; a row means the operation owns it and its settlement decides. Idempotent.
   * Returns how many it gave back.
   */
  async abandonStaleReservations(now: Date = this.deps.clock.now(), batch = 500): Promise<number> {
    let abandoned = 0;
    const olderThan = new Date(now.getTime() - ABANDONED_RESERVATION_AFTER_MS);
    let after: HeldReservation | undefined;
    for (;;) {
      const page = await this.deps.identity.heldReservations({
        fingerprintPrefix: WITHDRAWAL_FINGERPRINT,
        olderThan,
        after,
        limit: batch,
      });
      if (page.length === 0) return abandoned;
      for (const held of page) {
        if (await this.abandonReservation(held.reservationId, held.userId, held.fingerprint!)) abandoned++;
      }
      after = page[page.length - 1];
    }
  }

  /**
   * Gives back a withdrawal's reservation when the withdrawal never committed (no row), decided
   * while identity holds the reservation locked, so a retry cannot commit in between.
   */
  private abandonReservation(operationId: string, userId: string, fingerprint: string): Promise<boolean> {
    return this.deps.identity.abandonReservation(
      { reservationId: operationId, userId, fingerprint },
      async (tx) => (await getOperation(tx, operationId)) === undefined,
    );
  }

  /** Heals one pending operation from the ledger (see recoverHalfDone); true when it is now final. */
  private async recoverOne(op: BankOperationRecord): Promise<boolean> {
    const hold = (await this.deps.ledger.lookupPending([op.id])).get(op.id);
    if (hold?.status === 'pending') return false;
    if (!hold) {
      if (op.bankCallFinishedAt !== null || op.bankStatus !== null)
        await this.recordConflict(op, op.bankStatus ?? 'sent', 'pending_transfer_missing');
      await this.markFailed(op, 'hold_missing');
      return true;
    }
    const outcome = hold.status === 'posted' ? 'succeeded' : 'failed';
    await this.settle(op, outcome, outcome === 'failed' ? `recovered_${hold.status}` : null);
    return true;
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
    if (!(await this.deps.ledger.lookupPending([op.id])).has(op.id)) {
      // No hold (a row written before rows and holds committed together): nothing to release,
      // and none is booked now, on money the user may have spent meanwhile.
      if (outcome === 'succeeded') await this.recordConflict(op, outcome, 'pending_transfer_missing');
      return this.markFailed(op, 'hold_missing');
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
    crashPoint(`wallet.${op.kind}.after-resolve`);
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
    if ((await this.deps.ledger.lookupPending([op.id])).get(op.id)?.status !== 'pending') {
      // Never ask the bank to move money the ledger does not hold for it (recovery heals the row).
      throw new AppError('internal', 'wallet_hold_missing', `Operation ${op.id} has no pending hold.`);
    }
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

  /** The pending transfer(s) that hold an operation's money (the fee linked to a withdrawal's amount). */
  private holdEvents(op: NewOperation, code?: number): TransferEvent[] {
    if (op.kind !== 'withdrawal') {
      return [
        {
          id: op.id,
          debitAccountId: bankClearingAccount,
          creditAccountId: op.kind === 'top_up' ? walletAccount(op.userId) : op.targetAccountId!,
          amount: op.amount,
          ledger: Ledgers.CNY,
          code: code ?? WalletTransfers.topUp,
          flags: TransferFlags.pending,
          userData128: op.userId,
        },
      ];
    }
    const wallet = walletAccount(op.userId);
    const events: TransferEvent[] = [
      {
        id: op.id,
        debitAccountId: wallet,
        creditAccountId: bankClearingAccount,
        amount: op.amount,
        ledger: Ledgers.CNY,
        code: WalletTransfers.withdrawal,
        flags: TransferFlags.pending | (op.fee > 0n ? TransferFlags.linked : 0),
        userData128: op.userId,
      },
    ];
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
    return events;
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

  /** Whether a stored operation is the movement asked for (a replay) rather than another under its id. */
  private sameMovement(op: BankOperationRecord, input: MovementInput): boolean {
    return (
      op.userId === input.userId &&
      op.kind === input.kind &&
      op.cardId === input.cardId &&
      op.amount === input.amount &&
      (op.targetAccountId ?? null) === (input.targetAccountId ?? null)
    );
  }
}
