import { TransferCodes } from '../chart.ts';
import type { PaymentAuthorization } from '../identity/index.ts';
import { CreateTransferResult, Ledgers, succeeded } from '../ledger/index.ts';
import { AppError, conflict, forbidden, invalid, notFound } from '../platform/errors.ts';
import { deterministicId } from '../platform/ids.ts';
import { type AccountEnsurer, transitAccount, type WalletDeps, walletAccount } from './context.ts';
import { type QueuedTransfer, TransferBatcher } from './transfer-batcher.ts';

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

  /**
   * Sends a transfer. Concurrent calls are group-committed (see TransferBatcher): each
   * batch costs one limits transaction, one ledger call and one insert of wallet rows,
   * whatever its size, and the outcome of every transfer is what it would have been alone.
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

  private readonly batcher = new TransferBatcher((batch) => this.sendBatch(batch));

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
    // Independent reads, in parallel: recipients, and rows of transfers already sent (retries).
    const [recipients, existing] = await Promise.all([
      this.recipientsOf(batch),
      this.getMany(batch.map((item) => item.input.transferId)),
    ]);
    type Live = QueuedTransfer & { recipientId: string; viaTransit: boolean; requireAcceptance: boolean };
    let live: Live[] = [];
    batch.forEach((item, index) => {
      const recipient = recipients[index]!;
      if (recipient instanceof Error) {
        item.reject(recipient);
        return;
      }
      const requireAcceptance = item.input.requireAcceptance ?? false;
      live.push({
        ...item,
        recipientId: recipient,
        requireAcceptance,
        viaTransit: requireAcceptance || item.input.delayHours > 0,
      });
    });
    if (live.length === 0) return;

    // Already sent (a retry): answer from the row, like a replay.
    live = live.filter((item) => {
      const found = existing.get(item.input.transferId);
      if (!found) return true;
      try {
        item.resolve(this.sameOrConflict(found, { ...item.input, ...item }));
      } catch (error) {
        item.reject(error);
      }
      return false;
    });
    if (live.length === 0) return;

    const decisions = await this.deps.identity.checkAndReserveMany(
      live.map((item) => ({
        reservationId: item.input.transferId,
        userId: item.input.senderId,
        amount: item.input.amount,
        method: 'balance_transfer' as const,
        authorization: item.input.authorization,
      })),
    );
    live = live.filter((item, index) => {
      const decision = decisions[index]!;
      if ('error' in decision) {
        item.reject(decision.error);
        return false;
      }
      if (!decision.allowed) {
        item.reject(
          forbidden(decision.reason, 'This transfer is over your limit.', {
            cap: decision.cap?.toString() ?? null,
            used: decision.used.toString(),
          }),
        );
        return false;
      }
      return true;
    });
    if (live.length === 0) return;

    const release = (items: readonly Live[]) =>
      Promise.all(items.map((item) => this.deps.identity.releaseReservation(item.input.transferId)));
    let results: Awaited<ReturnType<WalletDeps['ledger']['createTransfers']>>;
    try {
      await this.accounts.wallets([
        ...new Set(live.flatMap((item) => [item.input.senderId, item.recipientId])),
      ]);
      const transits = live.filter((item) => item.viaTransit).map((item) => item.input.transferId);
      if (transits.length > 0) await this.accounts.transits(transits);
      results = await this.deps.ledger.createTransfers(
        live.map((item) => ({
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
      );
    } catch (error) {
      await release(live);
      throw error;
    }
    const failed: Live[] = [];
    live = live.filter((item, index) => {
      const result = results[index]!.result;
      if (succeeded(result)) return true;
      failed.push(item);
      item.reject(
        result === CreateTransferResult.exceeds_credits
          ? conflict('insufficient_balance', 'Your wallet balance is too low for this transfer.')
          : result === CreateTransferResult.id_already_failed
            ? // Refused before under this id (the ledger never lets a refused transfer through later).
              conflict('transfer_already_failed', 'This transfer was refused earlier; start a new one.')
            : new AppError('internal', 'wallet_transfer_failed', `Transfer failed: ${result}`),
      );
      return false;
    });
    if (failed.length > 0) await release(failed);
    if (live.length === 0) return;

    const now = this.deps.clock.now();
    const rows = live.map((item) => {
      const arriveAt =
        item.input.delayHours > 0 ? new Date(now.getTime() + item.input.delayHours * 3_600_000) : null;
      const acceptBy = item.requireAcceptance
        ? new Date((arriveAt ?? now).getTime() + this.deps.settings.transferAcceptHours * 3_600_000)
        : null;
      const state: TransferState = !item.viaTransit
        ? 'completed'
        : arriveAt
          ? 'scheduled'
          : 'awaiting_acceptance';
      return { item, arriveAt, acceptBy, state };
    });
    const inserted = await this.deps.db.query<TransferRow>(
      `INSERT INTO wallet_transfers (id, sender_id, recipient_id, amount, memo, via_transit, require_acceptance, state,
         arrive_at, accept_by, due_at, created_at, finished_at)
       SELECT id, sender_id, recipient_id, amount, memo, via_transit, require_acceptance, state, arrive_at, accept_by,
         coalesce(arrive_at, accept_by), $12::timestamptz, CASE WHEN state = 'completed' THEN $12::timestamptz END
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[], $5::text[], $6::bool[], $7::bool[], $8::text[],
         $9::timestamptz[], $10::timestamptz[], $11::int4[])
         AS t(id, sender_id, recipient_id, amount, memo, via_transit, require_acceptance, state, arrive_at, accept_by, n)
       ORDER BY n
       ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`,
      [
        rows.map((r) => r.item.input.transferId),
        rows.map((r) => r.item.input.senderId),
        rows.map((r) => r.item.recipientId),
        rows.map((r) => r.item.input.amount.toString()),
        rows.map((r) => r.item.input.memo),
        rows.map((r) => r.item.viaTransit),
        rows.map((r) => r.item.requireAcceptance),
        rows.map((r) => r.state),
        rows.map((r) => r.arriveAt),
        rows.map((r) => r.acceptBy),
        rows.map((_, index) => index),
        now,
      ],
    );
    const stored = new Map(inserted.rows.map((row) => [row.id, fromRow(row)]));
    const missing = rows.filter((r) => !stored.has(r.item.input.transferId));
    if (missing.length > 0) {
      // A concurrent retry of the same id inserted the row first: answer with it.
      for (const [id, row] of await this.getMany(missing.map((r) => r.item.input.transferId)))
        stored.set(id, row);
    }
    for (const { item } of rows) item.resolve(stored.get(item.input.transferId)!);
  }

  private async getMany(ids: readonly string[]): Promise<Map<string, FriendTransfer>> {
    const { rows } = await this.deps.db.query<TransferRow>(
      `SELECT ${COLUMNS} FROM wallet_transfers WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(rows.map((row) => [row.id, fromRow(row)]));
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
