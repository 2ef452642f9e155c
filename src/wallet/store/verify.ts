import type { Queryable } from '../../platform/db/database.ts';
import type { VerifyPosition } from '../../platform/verify-position.ts';

/**
 * The reads of `tuyere verify`'s wallet checks (verify.ts). Finished rows come a page at a
 * time in the order they finished, after a position (a checkpoint, or the start); unfinished
 * ones (pending, in transit) all at once: there are few at any time.
 */

/** A bank operation as verify reads it: its state, why it failed, and whether the bank ever heard of it. */
export type OperationStateRow = {
  id: string;
  state: string;
  failure_reason: string | null;
  bank_involved: boolean;
  resolved_at: Date | null;
};

const OPERATION_STATE = `id, state, failure_reason, resolved_at,
  (bank_call_finished_at IS NOT NULL OR bank_status IS NOT NULL) AS bank_involved`;

/** Bank operations not finished (pending, or without a finish time). */
export async function unfinishedOperationStates(q: Queryable): Promise<OperationStateRow[]> {
  const { rows } = await q.query<OperationStateRow>(
    `SELECT ${OPERATION_STATE} FROM wallet_bank_operations WHERE state = 'pending' OR resolved_at IS NULL`,
  );
  return rows;
}

/** Finished bank operations, the page after `after` in (resolved_at, id) order. */
export async function finishedOperationStatesPage(
  q: Queryable,
  after: VerifyPosition,
  limit: number,
): Promise<OperationStateRow[]> {
  const { rows } = await q.query<OperationStateRow>(
    `SELECT ${OPERATION_STATE} FROM wallet_bank_operations
      WHERE state <> 'pending' AND resolved_at IS NOT NULL AND (resolved_at, id) > ($1, $2)
      ORDER BY resolved_at, id LIMIT $3`,
    [after.at, after.id, limit],
  );
  return rows;
}

/** Pending operations created before `before` that were never polled (at most `limit`). */
export async function unpolledPendingOperations(
  q: Queryable,
  before: Date,
  limit: number,
): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    "SELECT id FROM wallet_bank_operations WHERE state = 'pending' AND polls = 0 AND created_at < $1 LIMIT $2",
    [before, limit],
  );
  return rows.map((row) => row.id);
}

export type TransitTransferRow = { id: string; amount: bigint; state: string; finished_at: Date | null };

/** Friend transfers still in transit (no finish time). */
export async function unfinishedTransitTransfers(q: Queryable): Promise<TransitTransferRow[]> {
  const { rows } = await q.query<TransitTransferRow>(
    'SELECT id, amount, state, finished_at FROM wallet_transfers WHERE via_transit AND finished_at IS NULL',
  );
  return rows;
}

/** Friend transfers that went through transit and finished, the page after `after` in (finished_at, id) order. */
export async function finishedTransitTransfersPage(
  q: Queryable,
  after: VerifyPosition,
  limit: number,
): Promise<TransitTransferRow[]> {
  const { rows } = await q.query<TransitTransferRow>(
    `SELECT id, amount, state, finished_at FROM wallet_transfers
      WHERE via_transit AND finished_at IS NOT NULL AND (finished_at, id) > ($1, $2)
      ORDER BY finished_at, id LIMIT $3`,
    [after.at, after.id, limit],
  );
  return rows;
}

export type WithdrawalRow = {
  id: string;
  user_id: string;
  amount: bigint;
  fee: bigint;
  /** The rule it was charged under; null on rows from before it was recorded. */
  fee_bps: number | null;
  fee_min: bigint | null;
  state: string;
  resolved_at: Date | null;
};

const WITHDRAWAL = 'id, user_id, amount, fee, fee_bps, fee_min, state, resolved_at';

/** Withdrawals not finished (pending, or without a finish time). */
export async function unfinishedWithdrawals(q: Queryable): Promise<WithdrawalRow[]> {
  const { rows } = await q.query<WithdrawalRow>(
    `SELECT ${WITHDRAWAL} FROM wallet_bank_operations
      WHERE (state = 'pending' OR resolved_at IS NULL) AND kind = 'withdrawal'`,
  );
  return rows;
}

/** Finished withdrawals, the page after `after` in (resolved_at, id) order. */
export async function finishedWithdrawalsPage(
  q: Queryable,
  after: VerifyPosition,
  limit: number,
): Promise<WithdrawalRow[]> {
  const { rows } = await q.query<WithdrawalRow>(
    `SELECT ${WITHDRAWAL} FROM wallet_bank_operations
      WHERE state <> 'pending' AND resolved_at IS NOT NULL AND (resolved_at, id) > ($1, $2)
        AND kind = 'withdrawal'
      ORDER BY resolved_at, id LIMIT $3`,
    [after.at, after.id, limit],
  );
  return rows;
}

/** Bank operations by id: their kind and state (unknown ids are left out). */
export async function operationsByIds(
  q: Queryable,
  ids: readonly string[],
): Promise<Array<{ id: string; kind: string; state: string; fee: bigint }>> {
  const { rows } = await q.query<{ id: string; kind: string; state: string; fee: bigint }>(
    'SELECT id, kind, state, fee FROM wallet_bank_operations WHERE id = ANY($1::uuid[])',
    [ids],
  );
  return rows;
}

/** Withdrawals still pending that charge a fee (their fee holds may be open). */
export async function pendingWithdrawalsWithFee(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    "SELECT id FROM wallet_bank_operations WHERE kind = 'withdrawal' AND state = 'pending' AND fee > 0",
  );
  return rows.map((row) => row.id);
}

/** The checkpoints of the wallet's incremental checks (wallet_verify_checkpoints). */
export const walletVerifyCheckpoints = {
  async load(q: Queryable, check: string): Promise<VerifyPosition | undefined> {
    const { rows } = await q.query<{ after_at: Date; after_id: string }>(
      'SELECT after_at, after_id FROM wallet_verify_checkpoints WHERE check_name = $1',
      [check],
    );
    return rows[0] ? { at: rows[0].after_at, id: rows[0].after_id } : undefined;
  },
  async save(q: Queryable, check: string, at: VerifyPosition, now: Date): Promise<void> {
    await q.query(
      `INSERT INTO wallet_verify_checkpoints AS c (check_name, after_at, after_id, verified_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (check_name) DO UPDATE SET after_at = excluded.after_at, after_id = excluded.after_id,
         verified_at = excluded.verified_at
       WHERE (c.after_at, c.after_id) < (excluded.after_at, excluded.after_id)`,
      [check, at.at, at.id, now],
    );
  },
};
