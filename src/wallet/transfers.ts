import { TransferCodes } from '../chart.ts';
import type { PaymentAuthorization } from '../identity/index.ts';
import { CreateTransferResult, Ledgers, succeeded } from '../ledger/index.ts';
import { AppError, conflict, forbidden, invalid, notFound } from '../platform/errors.ts';
import { deterministicId } from '../platform/ids.ts';
import { type AccountEnsurer, transitAccount, type WalletDeps, walletAccount } from './context.ts';

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
 */
export type TransferState = 'scheduled' | 'awaiting_acceptance' | 'completed' | 'returned' | 'cancelled';
export const TRANSFER_DELAYS_HOURS = [0, 2, 24] as const;

export interface FriendTransfer {
  id: string;
  senderId: string;
  recipientId: string;
  amount: bigint;
  memo: string;
  viaTransit: boolean;
  requireAcceptance: boolean;
  state: TransferState;
  arriveAt: Date | null;
  acceptBy: Date | null;
  settleTransferId: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

type TransferRow = {
  id: string;
  sender_id: string;
  recipient_id: string;
  amount: bigint;
  memo: string;
  via_transit: boolean;
  require_acceptance: boolean;
  state: TransferState;
  arrive_at: Date | null;
  accept_by: Date | null;
  settle_transfer_id: string | null;
  created_at: Date;
  finished_at: Date | null;
};

const COLUMNS =
  'id, sender_id, recipient_id, amount, memo, via_transit, require_acceptance, state, arrive_at, accept_by, settle_transfer_id, created_at, finished_at';

function fromRow(row: TransferRow): FriendTransfer {
  return {
    id: row.id,
    senderId: row.sender_id,
    recipientId: row.recipient_id,
    amount: row.amount,
    memo: row.memo,
    viaTransit: row.via_transit,
    requireAcceptance: row.require_acceptance,
    state: row.state,
    arriveAt: row.arrive_at,
    acceptBy: row.accept_by,
    settleTransferId: row.settle_transfer_id,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

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

export class FriendTransfers {
  constructor(
    private readonly deps: WalletDeps,
    private readonly accounts: AccountEnsurer,
  ) {}

  async get(transferId: string): Promise<FriendTransfer | undefined> {
    const { rows } = await this.deps.db.query<TransferRow>(
      `SELECT ${COLUMNS} FROM wallet_transfers WHERE id = $1`,
      [transferId],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async byLedgerIds(ids: readonly string[]): Promise<Map<string, FriendTransfer>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.deps.db.query<TransferRow>(
      `SELECT ${COLUMNS} FROM wallet_transfers WHERE id = ANY($1::uuid[]) OR settle_transfer_id = ANY($1::uuid[])`,
      [ids],
    );
    const found = new Map<string, FriendTransfer>();
    for (const row of rows.map(fromRow)) {
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

  async send(input: SendTransfer): Promise<FriendTransfer> {
    const delayHours = input.delayHours ?? 0;
    if (!(TRANSFER_DELAYS_HOURS as readonly number[]).includes(delayHours)) {
      throw invalid('invalid_delay', 'Delayed arrival is 0, 2 or 24 hours.');
    }
    if (input.amount <= 0n) throw invalid('invalid_amount', 'The amount must be positive.');
    const memo = input.memo ?? '';
    if (memo.length > 100) throw invalid('memo_too_long', 'The memo is at most 100 characters.');
    const recipientId = await this.recipientOf(input.senderId, input.to);
    const requireAcceptance = input.requireAcceptance ?? false;
    const viaTransit = requireAcceptance || delayHours > 0;

    const existing = await this.get(input.transferId);
    if (existing)
      return this.sameOrConflict(existing, { ...input, recipientId, memo, viaTransit, requireAcceptance });

    const decision = await this.deps.identity.checkAndReserve({
      reservationId: input.transferId,
      userId: input.senderId,
      amount: input.amount,
      method: 'balance_transfer',
      authorization: input.authorization,
    });
    if (!decision.allowed) {
      throw forbidden(decision.reason, 'This transfer is over your limit.', {
        cap: decision.cap?.toString() ?? null,
        used: decision.used.toString(),
      });
    }
    try {
      await this.accounts.wallets([input.senderId, recipientId]);
      if (viaTransit) await this.accounts.transit(input.transferId);
      const [result] = await this.deps.ledger.createTransfers([
        {
          id: input.transferId,
          debitAccountId: walletAccount(input.senderId),
          creditAccountId: viaTransit ? transitAccount(input.transferId) : walletAccount(recipientId),
          amount: input.amount,
          ledger: Ledgers.CNY,
          code: TransferCodes.friendTransfer,
          userData128: recipientId,
        },
      ]);
      if (result!.result === CreateTransferResult.exceeds_credits) {
        throw conflict('insufficient_balance', 'Your wallet balance is too low for this transfer.');
      }
      if (!succeeded(result!.result)) {
        throw new AppError('internal', 'wallet_transfer_failed', `Transfer failed: ${result!.result}`);
      }
    } catch (error) {
      await this.deps.identity.releaseReservation(input.transferId);
      throw error;
    }
    const now = this.deps.clock.now();
    const arriveAt = delayHours > 0 ? new Date(now.getTime() + delayHours * 3_600_000) : null;
    const acceptBy = requireAcceptance
      ? new Date((arriveAt ?? now).getTime() + this.deps.settings.transferAcceptHours * 3_600_000)
      : null;
    const state: TransferState = !viaTransit ? 'completed' : arriveAt ? 'scheduled' : 'awaiting_acceptance';
    await this.deps.db.query(
      `INSERT INTO wallet_transfers (id, sender_id, recipient_id, amount, memo, via_transit, require_acceptance, state,
         arrive_at, accept_by, due_at, created_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
      [
        input.transferId,
        input.senderId,
        recipientId,
        input.amount,
        memo,
        viaTransit,
        requireAcceptance,
        state,
        arriveAt,
        acceptBy,
        arriveAt ?? acceptBy,
        now,
        state === 'completed' ? now : null,
      ],
    );
    return (await this.get(input.transferId))!;
  }

  /** The recipient accepts a transfer waiting for acceptance. */
  async accept(transferId: string, recipientId: string): Promise<FriendTransfer> {
    const transfer = await this.get(transferId);
    if (!transfer || transfer.recipientId !== recipientId)
      throw notFound('transfer_not_found', 'No such transfer.');
    if (transfer.state === 'completed') return transfer;
    if (transfer.state !== 'awaiting_acceptance') {
      throw conflict('transfer_not_acceptable', `This transfer is ${transfer.state} and cannot be accepted.`);
    }
    const state = await this.resolve(transfer, 'complete', 'completed');
    if (state !== 'completed') throw conflict('transfer_not_acceptable', `This transfer was ${state} first.`);
    return (await this.get(transferId))!;
  }

  /** The sender cancels a delayed transfer before it arrives: the money comes back. */
  async cancel(transferId: string, senderId: string): Promise<FriendTransfer> {
    const transfer = await this.get(transferId);
    if (!transfer || transfer.senderId !== senderId)
      throw notFound('transfer_not_found', 'No such transfer.');
    if (transfer.state === 'cancelled') return transfer;
    if (transfer.state !== 'scheduled') {
      throw conflict(
        'transfer_not_cancellable',
        `This transfer is ${transfer.state}; only a delayed transfer can be cancelled before it arrives.`,
      );
    }
    const state = await this.resolve(transfer, 'return', 'cancelled');
    if (state !== 'cancelled')
      throw conflict('transfer_not_cancellable', `This transfer was ${state} first.`);
    return (await this.get(transferId))!;
  }

  /**
   * The job: arrivals (scheduled -> completed, or -> awaiting_acceptance) and acceptance
   * expiry (awaiting_acceptance -> returned). Safe to run twice or from several processes.
   */
  async processDue(now: Date = this.deps.clock.now(), limit = 500): Promise<number> {
    const { rows } = await this.deps.db.query<TransferRow>(
      `SELECT ${COLUMNS} FROM wallet_transfers WHERE state IN ('scheduled', 'awaiting_acceptance') AND due_at <= $1
       ORDER BY due_at LIMIT $2`,
      [now, limit],
    );
    let done = 0;
    for (const transfer of rows.map(fromRow)) {
      if (transfer.state === 'scheduled' && transfer.requireAcceptance) {
        const acceptBy = new Date(now.getTime() + this.deps.settings.transferAcceptHours * 3_600_000);
        await this.deps.db.query(
          `UPDATE wallet_transfers SET state = 'awaiting_acceptance', accept_by = $2, due_at = $2
           WHERE id = $1 AND state = 'scheduled'`,
          [transfer.id, acceptBy],
        );
      } else if (transfer.state === 'scheduled') {
        await this.resolve(transfer, 'complete', 'completed');
      } else {
        await this.resolve(transfer, 'return', 'returned');
      }
      done++;
    }
    return done;
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
      if (
        result!.result !== CreateTransferResult.exceeds_credits &&
        result!.result !== 'debit_account_not_found'
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
      else [state, settleId] = ['cancelled', returnTransferId(transfer.id)]; // never funded: nothing to move
    }
    await this.deps.db.query(
      `UPDATE wallet_transfers SET state = $2, settle_transfer_id = $3, finished_at = $4, due_at = NULL
       WHERE id = $1 AND state IN ('scheduled', 'awaiting_acceptance')`,
      [transfer.id, state, settleId, this.deps.clock.now()],
    );
    const final = (await this.get(transfer.id))!;
    if (final.state === 'returned' || final.state === 'cancelled') {
      await this.deps.identity.releaseReservation(transfer.id);
    }
    return final.state;
  }

  private sameOrConflict(
    existing: FriendTransfer,
    input: SendTransfer & {
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
