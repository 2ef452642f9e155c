import type { LimitCheck, LimitDecision, PaymentAuthorization, ReservationPlan } from '../identity/index.ts';
import { CreateTransferResult, Ledgers, succeeded } from '../ledger/index.ts';
import { AppError, conflict, forbidden, invalid, notFound } from '../platform/errors.ts';
import { deterministicId } from '../platform/ids.ts';
import { WalletTransfers as TransferCodes } from './chart.ts';
import { type AccountEnsurer, transitAccount, type WalletDeps, walletAccount } from './context.ts';
import {
  dueTransfers,
  type FriendTransfer,
  finishTransfer,
  getTransfer,
  getTransfers,
  markAwaitingAcceptance,
  type NewTransferRow,
  type TransferState,
  transferRowsWrite,
  transfersByLedgerIds,
} from './store/transfers.ts';
import { type Queued, TransferBatcher } from './transfer-batcher.ts';

/**
 * Transfers between friends.
 *
 * - Immediate: one ledger transfer, sender wallet -> recipient wallet.
 * - With acceptance and/or delayed arrival: the sender's money moves into the transfer's
 *   own in-transit account (flag debits_must_not_exceed_credits, holding exactly the
 *   amount). It leaves by exactly one of two deterministic transfers: "complete" (to the
 *   recipient: on arrival or acceptance) or "return" (to the sender: cancelled before
 *   arrival, or not accepted in time). Whichever comes second finds the account empty
 *   (exceeds_credits), so the money moves once however acceptance, cancellation and the
 *   jobs race. The row records what the ledger decided.
 *
 * Sending commits the sender's limits reservation, the ledger transfer and the row in one
 * commit (the ledger's, with a commit participant), so none exists without the others. The
 * reservation is given back only when the money returns to the sender (`resolve`).
 */
export type { FriendTransfer, TransferState } from './store/transfers.ts';
export const TRANSFER_DELAYS_HOURS = [0, 2, 24] as const;

export function transferView(transfer: FriendTransfer) {
  return {
    id: transfer.id,
    sender_id: transfer.senderId,
    recipient_id: transfer.recipientId,
    amount: transfer.amount.toString(),
    currency: 'CNY',
    memo: transfer.memo,
    require_acceptance: transfer.requireAcceptance,
    status: transfer.state,
    arrive_at: transfer.arriveAt?.toISOString() ?? null,
    accept_by: transfer.acceptBy?.toISOString() ?? null,
    created_at: transfer.createdAt.toISOString(),
    finished_at: transfer.finishedAt?.toISOString() ?? null,
  };
}

export const completeTransferId = (id: string) => deterministicId('wallet.transfer.complete', id);
export const returnTransferId = (id: string) => deterministicId('wallet.transfer.return', id);

export interface SendTransfer {
  /** Caller-chosen, deterministic per request (e.g. from the Idempotency-Key): the same id never sends twice. */
  transferId: string;
  senderId: string;
  /** By user id or by phone number. */
  to: { userId: string } | { phone: string };
  amount: bigint;
  memo?: string;
  requireAcceptance?: boolean;
  /** 0 (now), 2 or 24 hours. */
  delayHours?: number;
  /** From identity.authorizePayment (PIN or device signature). */
  authorization: PaymentAuthorization;
}

/** A transfer waiting for its batch. */
type QueuedTransfer = Queued<SendTransfer & { memo: string; delayHours: number }, FriendTransfer>;

/** A queued transfer whose recipient is known; `slot` is its place in the current limits plan. */
type Live = QueuedTransfer & {
  slot: number;
  recipientId: string;
  viaTransit: boolean;
  requireAcceptance: boolean;
};

/** Times a batch is planned again after its limits moved under it, before `wallet_busy`. */
const TRANSFER_ATTEMPTS_MAX = 6;

/** The commit participant's refusal: a limit counter moved since the batch was planned. */
class LimitsMoved extends Error {
  constructor() {
    super('wallet: a limit counter moved since this batch was planned');
  }
}

const limitCheck = (input: QueuedTransfer['input']): LimitCheck => ({
  reservationId: input.transferId,
  userId: input.senderId,
  amount: input.amount,
  method: 'balance_transfer',
  authorization: input.authorization,
});

function limitDenied(decision: Extract<LimitDecision, { allowed: false }>): AppError {
  return forbidden(decision.reason, 'This transfer is over your limit.', {
    cap: decision.cap?.toString() ?? null,
    used: decision.used.toString(),
  });
}

function fromNewRow(row: NewTransferRow): FriendTransfer {
  return {
    id: row.id,
    senderId: row.senderId,
    recipientId: row.recipientId,
    amount: row.amount,
    memo: row.memo,
    viaTransit: row.viaTransit,
    requireAcceptance: row.requireAcceptance,
    state: row.state,
    arriveAt: row.arriveAt,
    acceptBy: row.acceptBy,
    settleTransferId: null,
    createdAt: row.createdAt,
    finishedAt: row.state === 'completed' ? row.createdAt : null,
  };
}

export class FriendTransfers {
  constructor(
    private readonly deps: WalletDeps,
    private readonly accounts: AccountEnsurer,
  ) {}

  get(transferId: string): Promise<FriendTransfer | undefined> {
    return getTransfer(this.deps.db, transferId);
  }

  async byLedgerIds(ids: readonly string[]): Promise<Map<string, FriendTransfer>> {
    if (ids.length === 0) return new Map();
    const found = new Map<string, FriendTransfer>();
    for (const row of await transfersByLedgerIds(this.deps.db, ids)) {
      found.set(row.id, row);
      if (row.settleTransferId) found.set(row.settleTransferId, row);
    }
    return found;
  }

  /** Resolves the recipient (by id or phone); refuses unknown, frozen or self. */
  async recipientOf(senderId: string, to: SendTransfer['to']): Promise<string> {
    const user =
      'userId' in to
        ? await this.deps.identity.getUser(to.userId)
        : await this.deps.identity.findUserByPhone(to.phone);
    if (!user) throw notFound('recipient_not_found', 'No Tuyere user with that id or phone number.');
    if (user.status !== 'active')
      throw conflict('recipient_unavailable', 'That account cannot receive money now.');
    if (user.id === senderId) throw invalid('transfer_to_self', 'You cannot transfer money to yourself.');
    return user.id;
  }

  /**
   * Sends a transfer. Concurrent calls are group-committed (see TransferBatcher): a batch
   * costs one round of parallel reads (recipients, existing rows, limits) and ONE commit, the
   * ledger's, which carries the limit charges and the wallet rows with the transfers, whatever
   * the batch's size; the outcome of every transfer is what it would have been alone. A crash
   * leaves a transfer with its reservation and row, or none of the three.
   */
  async send(input: SendTransfer): Promise<FriendTransfer> {
    const delayHours = input.delayHours ?? 0;
    if (!(TRANSFER_DELAYS_HOURS as readonly number[]).includes(delayHours)) {
      throw invalid('invalid_delay', 'Delayed arrival is 0, 2 or 24 hours.');
    }
    if (input.amount <= 0n) throw invalid('invalid_amount', 'The amount must be positive.');
    const memo = input.memo ?? '';
    if (memo.length > 100) throw invalid('memo_too_long', 'The memo is at most 100 characters.');
    return this.batcher.submit({ ...input, memo, delayHours });
  }

  private readonly batcher = new TransferBatcher<QueuedTransfer['input'], FriendTransfer>((batch) =>
    this.sendBatch(batch),
  );

  /** Recipients of a batch: by id in one query, by phone one by one (rare on the hot path). */
  private async recipientsOf(batch: readonly QueuedTransfer[]): Promise<Array<string | Error>> {
    const ids = [
      ...new Set(batch.flatMap((item) => ('userId' in item.input.to ? [item.input.to.userId] : []))),
    ];
    const users = new Map((await this.deps.identity.getUsers(ids)).map((user) => [user.id, user]));
    return Promise.all(
      batch.map(async ({ input }) => {
        const user =
          'userId' in input.to
            ? users.get(input.to.userId)
            : await this.deps.identity.findUserByPhone(input.to.phone);
        if (!user) return notFound('recipient_not_found', 'No Tuyere user with that id or phone number.');
        if (user.status !== 'active')
          return conflict('recipient_unavailable', 'That account cannot receive money now.');
        if (user.id === input.senderId)
          return invalid('transfer_to_self', 'You cannot transfer money to yourself.');
        return user.id;
      }),
    );
  }

  private async sendBatch(batch: QueuedTransfer[]): Promise<void> {
    // Independent steps, in parallel: recipients, rows of transfers already sent (retries), the
    // limits of every transfer of the batch, and the transit accounts of those that need one
    // (idempotent; one whose transfer is then refused stays empty, and a retry of that
    // transfer id uses it). Transfers that drop out here (no recipient, already sent) are
    // never charged; a denial that counted one of them is decided again below, exactly like
    // one that counted a transfer the ledger refused.
    const transits = batch
      .filter((item) => item.input.requireAcceptance || item.input.delayHours > 0)
      .map((item) => item.input.transferId);
    const [recipients, existing, firstPlan] = await Promise.all([
      this.recipientsOf(batch),
      this.getMany(batch.map((item) => item.input.transferId)),
      this.deps.identity.planReservations(batch.map((item) => limitCheck(item.input))),
      transits.length > 0 ? this.accounts.transits(transits) : undefined,
    ]);
    let round: Live[] = [];
    batch.forEach((item, index) => {
      const recipient = recipients[index]!;
      if (recipient instanceof Error) {
        item.reject(recipient);
        return;
      }
      const requireAcceptance = item.input.requireAcceptance ?? false;
      const live: Live = {
        ...item,
        slot: index,
        recipientId: recipient,
        requireAcceptance,
        viaTransit: requireAcceptance || item.input.delayHours > 0,
      };
      // Already sent (a retry): answer from the row, like a replay.
      const found = existing.get(item.input.transferId);
      if (!found) round.push(live);
      else {
        try {
          item.resolve(this.sameOrConflict(found, { ...item.input, ...live }));
        } catch (error) {
          item.reject(error);
        }
      }
    });
    if (round.length === 0) return;

    // Both wallets (idempotent, and cached once created).
    await this.accounts.wallets([
      ...new Set(round.flatMap((item) => [item.input.senderId, item.recipientId])),
    ]);
    let plan: ReservationPlan | null = firstPlan;
    for (let refusals = 0; round.length > 0; ) {
      // Each round after the first is planned afresh; `slot` is a transfer's place in the plan.
      if (plan === null) {
        round = round.map((item, slot) => ({ ...item, slot }));
        plan = await this.deps.identity.planReservations(round.map((item) => limitCheck(item.input)));
      }
      const decided = plan;
      const allowed: Live[] = [];
      round = round.filter((item) => {
        const decision = decided.decisions[item.slot]!;
        if ('error' in decision) item.reject(decision.error);
        else if (decision.allowed) allowed.push(item);
        return !('error' in decision);
      });
      const committed = allowed.length > 0 ? await this.commitRound(allowed, decided) : [];
      plan = null;
      if (committed === null) {
        // A counter this round charges moved since it was planned (another process charged
        // the same user): nothing was written; plan it all again.
        if (++refusals < TRANSFER_ATTEMPTS_MAX) continue;
        for (const item of round) {
          item.reject(
            new AppError(
              'unavailable',
              'wallet_busy',
              'Your payments are changing too fast to send this one now; try again in a moment.',
            ),
          );
        }
        return;
      }
      // Denials answered now hold. Those that counted an earlier transfer of the plan that was
      // then not charged (the ledger refused it, or it dropped out above) are planned again,
      // against the counters as they are after this commit: each such round is smaller than
      // the last, as it excludes at least that transfer.
      const again = new Set(decided.deniedByUncommitted(committed));
      round = round.filter((item) => {
        const decision = decided.decisions[item.slot]!;
        if ('error' in decision || decision.allowed) return false;
        if (again.has(item.slot)) return true;
        item.reject(limitDenied(decision));
        return false;
      });
    }
  }

  /**
   * One commit for a round of a batch: the allowed transfers go to the ledger with a commit
   * participant whose writes are the limit charges and reservations (identity's, guarded
   * against counters that moved since `plan` read them) and the wallet rows (wallet's), so a
   * transfer, its limits and its row commit together or not at all. Answers every transfer in
   * `allowed` and returns the plan slots whose limits were charged; or returns null, having
   * written nothing and answered nobody, when the limits had moved.
   */
  private async commitRound(allowed: readonly Live[], plan: ReservationPlan): Promise<number[] | null> {
    const now = this.deps.clock.now();
    const rowOf = (item: Live): NewTransferRow => {
      const arriveAt =
        item.input.delayHours > 0 ? new Date(now.getTime() + item.input.delayHours * 3_600_000) : null;
      const acceptBy = item.requireAcceptance
        ? new Date((arriveAt ?? now).getTime() + this.deps.settings.transferAcceptHours * 3_600_000)
        : null;
      return {
        id: item.input.transferId,
        senderId: item.input.senderId,
        recipientId: item.recipientId,
        amount: item.input.amount,
        memo: item.input.memo,
        viaTransit: item.viaTransit,
        requireAcceptance: item.requireAcceptance,
        state: !item.viaTransit ? 'completed' : arriveAt ? 'scheduled' : 'awaiting_acceptance',
        arriveAt,
        acceptBy,
        createdAt: now,
      };
    };
    const rows = allowed.map(rowOf);
    let results: Awaited<ReturnType<WalletDeps['ledger']['createTransfers']>>;
    try {
      results = await this.deps.ledger.createTransfers(
        allowed.map((item) => ({
          id: item.input.transferId,
          debitAccountId: walletAccount(item.input.senderId),
          creditAccountId: item.viaTransit
            ? transitAccount(item.input.transferId)
            : walletAccount(item.recipientId),
          amount: item.input.amount,
          ledger: Ledgers.CNY,
          code: TransferCodes.friendTransfer,
          userData128: item.recipientId,
        })),
        {
          participant: {
            writes: (outcomes) => [
              // Only transfers the ledger applies now are charged; one it already had
              // (`exists`: a concurrent duplicate) was charged by its own commit.
              plan.write(
                allowed.flatMap((item, k) =>
                  outcomes[k]!.result === CreateTransferResult.ok ? [item.slot] : [],
                ),
              ),
              // A row goes in for every transfer the ledger holds; an existing row stays.
              transferRowsWrite(rows.filter((_, k) => succeeded(outcomes[k]!.result))),
            ],
            refusal: () => new LimitsMoved(),
          },
        },
      );
    } catch (error) {
      if (error instanceof LimitsMoved) return null;
      throw error;
    }
    const charged: number[] = [];
    const existed: Live[] = [];
    allowed.forEach((item, k) => {
      const result = results[k]!.result;
      if (result === CreateTransferResult.ok) {
        charged.push(item.slot);
        item.resolve(fromNewRow(rows[k]!));
      } else if (result === CreateTransferResult.exists) {
        existed.push(item);
      } else {
        item.reject(
          result === CreateTransferResult.exceeds_credits
            ? conflict('insufficient_balance', 'Your wallet balance is too low for this transfer.')
            : result === CreateTransferResult.id_already_failed
              ? // Refused before under this id (the ledger never lets a refused transfer through later).
                conflict('transfer_already_failed', 'This transfer was refused earlier; start a new one.')
              : new AppError('internal', 'wallet_transfer_failed', `Transfer failed: ${result}`),
        );
      }
    });
    if (existed.length > 0) {
      // Sent meanwhile by a concurrent retry of the same id: answer from its row, like a replay.
      const stored = await this.getMany(existed.map((item) => item.input.transferId));
      for (const item of existed) {
        const found = stored.get(item.input.transferId);
        try {
          if (!found) throw new AppError('internal', 'wallet_transfer_failed', 'Transfer row missing.');
          item.resolve(this.sameOrConflict(found, { ...item.input, ...item }));
        } catch (error) {
          item.reject(error);
        }
      }
    }
    return charged;
  }

  private getMany(ids: readonly string[]): Promise<Map<string, FriendTransfer>> {
    return getTransfers(this.deps.db, ids);
  }

  /**
   * The recipient accepts a transfer waiting for acceptance. The deadline is checked now,
   * against the clock, not left to the job: a delayed transfer that has arrived is first
   * brought to where the job would have brought it, and one whose acceptance time has passed
   * (`now >= accept_by`) goes back to the sender here and the answer is 409
   * `transfer_not_acceptable`, whether or not the expiry job has run yet.
   */
  async accept(transferId: string, recipientId: string): Promise<FriendTransfer> {
    const found = await this.get(transferId);
    if (!found || found.recipientId !== recipientId)
      throw notFound('transfer_not_found', 'No such transfer.');
    if (found.state === 'completed') return found;
    const transfer = await this.catchUp(found, this.deps.clock.now());
    if (transfer.state === 'completed') return transfer;
    if (transfer.state !== 'awaiting_acceptance') {
      throw conflict(
        'transfer_not_acceptable',
        transfer.state === 'returned'
          ? 'The time to accept this transfer has passed; the money went back to the sender.'
          : `This transfer is ${transfer.state} and cannot be accepted.`,
        { status: transfer.state, accept_by: transfer.acceptBy?.toISOString() ?? null },
      );
    }
    const state = await this.resolve(transfer, 'complete', 'completed');
    if (state !== 'completed') throw conflict('transfer_not_acceptable', `This transfer was ${state} first.`);
    return (await this.get(transferId))!;
  }

  /**
   * The sender cancels a delayed transfer before it arrives: the money comes back. The arrival
   * time is checked now, against the clock: at or after `arrive_at` the transfer has arrived,
   * so it is completed here (as the arrival job would) and the answer is 409
   * `transfer_not_cancellable`, whether or not the job has run yet.
   */
  async cancel(transferId: string, senderId: string): Promise<FriendTransfer> {
    const found = await this.get(transferId);
    if (!found || found.senderId !== senderId) throw notFound('transfer_not_found', 'No such transfer.');
    if (found.state === 'cancelled') return found;
    const transfer = await this.catchUp(found, this.deps.clock.now());
    if (transfer.state === 'cancelled') return transfer;
    if (transfer.state !== 'scheduled') {
      throw conflict(
        'transfer_not_cancellable',
        `This transfer is ${transfer.state}; only a delayed transfer can be cancelled before it arrives.`,
        { status: transfer.state, arrive_at: transfer.arriveAt?.toISOString() ?? null },
      );
    }
    const state = await this.resolve(transfer, 'return', 'cancelled');
    if (state !== 'cancelled')
      throw conflict('transfer_not_cancellable', `This transfer was ${state} first.`);
    return (await this.get(transferId))!;
  }

  /**
   * The job: arrivals (scheduled -> completed, or -> awaiting_acceptance) and acceptance
   * expiry (awaiting_acceptance -> returned), for transfers nobody acted on in time (accept and
   * cancel apply the same deadlines themselves). Safe to run twice or from several processes.
   */
  async processDue(now: Date = this.deps.clock.now(), limit = 500): Promise<number> {
    let done = 0;
    for (const transfer of await dueTransfers(this.deps.db, now, limit)) {
      await this.catchUp(transfer, now);
      done++;
    }
    return done;
  }

  /**
   * Applies to one transfer every deadline that has passed at `now`, exactly as the job does:
   * arrival (complete it, or start the acceptance wait, whose deadline `accept_by` was fixed
   * when it was sent: arrival + the acceptance hours), then acceptance expiry (return it).
   * Returns the transfer as it is afterwards. Races with the job and other callers are safe:
   * the ledger moves the transit money once (see `resolve`).
   */
  private async catchUp(transfer: FriendTransfer, now: Date): Promise<FriendTransfer> {
    let current = transfer;
    if (current.state === 'scheduled' && current.arriveAt && current.arriveAt.getTime() <= now.getTime()) {
      if (current.requireAcceptance) {
        const acceptBy =
          current.acceptBy ??
          new Date(current.arriveAt.getTime() + this.deps.settings.transferAcceptHours * 3_600_000);
        await markAwaitingAcceptance(this.deps.db, current.id, acceptBy);
      } else {
        await this.resolve(current, 'complete', 'completed');
      }
      current = (await this.get(current.id))!;
    }
    if (
      current.state === 'awaiting_acceptance' &&
      current.acceptBy &&
      current.acceptBy.getTime() <= now.getTime()
    ) {
      await this.resolve(current, 'return', 'returned');
      current = (await this.get(current.id))!;
    }
    return current;
  }

  /**
   * Moves a transit transfer's money out one way. Returns the transfer's final state, which
   * is the other way's if that won the race.
   */
  private async resolve(
    transfer: FriendTransfer,
    way: 'complete' | 'return',
    finalState: 'completed' | 'returned' | 'cancelled',
  ): Promise<TransferState> {
    const id = way === 'complete' ? completeTransferId(transfer.id) : returnTransferId(transfer.id);
    const [result] = await this.deps.ledger.createTransfers([
      {
        id,
        debitAccountId: transitAccount(transfer.id),
        creditAccountId: walletAccount(way === 'complete' ? transfer.recipientId : transfer.senderId),
        amount: transfer.amount,
        ledger: Ledgers.CNY,
        code: way === 'complete' ? TransferCodes.friendTransfer : TransferCodes.friendTransferReturn,
        userData128: transfer.senderId,
      },
    ]);
    let state: TransferState = finalState;
    let settleId = id;
    if (!succeeded(result!.result)) {
      // id_already_failed: this way was refused before (its id stays refused); decide as below.
      if (
        result!.result !== CreateTransferResult.exceeds_credits &&
        result!.result !== CreateTransferResult.debit_account_not_found &&
        result!.result !== CreateTransferResult.id_already_failed
      ) {
        throw new AppError(
          'internal',
          'wallet_transfer_failed',
          `Transfer ${transfer.id}: ${result!.result}`,
        );
      }
      // The other way already drained the transit account (or it was never funded).
      const [completed, returned] = await Promise.all([
        this.deps.ledger.lookupTransfers([completeTransferId(transfer.id)]),
        this.deps.ledger.lookupTransfers([returnTransferId(transfer.id)]),
      ]);
      const current = (await this.get(transfer.id))!;
      if (current.state === 'completed' || current.state === 'returned' || current.state === 'cancelled') {
        return current.state;
      }
      if (completed.length > 0) [state, settleId] = ['completed', completeTransferId(transfer.id)];
      else if (returned.length > 0)
        [state, settleId] = [way === 'return' ? finalState : 'returned', returnTransferId(transfer.id)];
      else {
        // Neither way moved: either the transit account was never funded (nothing to move), or
        // this way was refused while the money is still there (its id is burned now), which
        // only an operator can sort out.
        const [transit] = await this.deps.ledger.lookupAccounts([transitAccount(transfer.id)]);
        if (transit && transit.creditsPosted - transit.debitsPosted - transit.debitsPending > 0n) {
          throw new AppError(
            'internal',
            'wallet_transfer_stuck',
            `Transfer ${transfer.id}: ${way} refused (${result!.result}) with money still in transit`,
          );
        }
        [state, settleId] = ['cancelled', returnTransferId(transfer.id)]; // never funded: nothing to move
      }
    }
    await finishTransfer(this.deps.db, transfer.id, state, settleId, this.deps.clock.now());
    const final = (await this.get(transfer.id))!;
    if (final.state === 'returned' || final.state === 'cancelled') {
      await this.deps.identity.releaseReservation(transfer.id);
    }
    return final.state;
  }

  private sameOrConflict(
    existing: FriendTransfer,
    input: Omit<SendTransfer, 'memo'> & {
      recipientId: string;
      memo: string;
      viaTransit: boolean;
      requireAcceptance: boolean;
    },
  ): FriendTransfer {
    if (
      existing.senderId !== input.senderId ||
      existing.recipientId !== input.recipientId ||
      existing.amount !== input.amount ||
      existing.memo !== input.memo ||
      existing.requireAcceptance !== input.requireAcceptance ||
      existing.viaTransit !== input.viaTransit
    ) {
      throw conflict(
        'transfer_exists_with_different_fields',
        'This transfer id was already used for another transfer.',
      );
    }
    return existing;
  }
}
