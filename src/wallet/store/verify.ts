import type { Queryable } from '../../platform/db/database.ts';

/** The reads of `tuyere verify`'s wallet checks (verify.ts), in id order, a page at a time. */

const FIRST_ID = '00000000-0000-0000-0000-000000000000';

/** A bank operation as verify reads it: its state, why it failed, and whether the bank ever heard of it. */
export type OperationStateRow = {
  id: string;
  state: string;
  failure_reason: string | null;
  bank_involved: boolean;
};

/** Bank operations' states, the page after `after` (start with undefined). */
export async function operationStatesPage(
  q: Queryable,
  after: string | undefined,
  limit: number,
): Promise<OperationStateRow[]> {
  const { rows } = await q.query<OperationStateRow>(
    `SELECT id, state, failure_reason, (bank_call_finished_at IS NOT NULL OR bank_status IS NOT NULL) AS bank_involved
       FROM wallet_bank_operations WHERE id > $1 ORDER BY id LIMIT $2`,
    [after ?? FIRST_ID, limit],
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

/** Friend transfers that went through a transit account, the page after `after` (start with undefined). */
export async function transitTransfersPage(
  q: Queryable,
  after: string | undefined,
  limit: number,
): Promise<Array<{ id: string; amount: bigint; state: string }>> {
  const { rows } = await q.query<{ id: string; amount: bigint; state: string }>(
    'SELECT id, amount, state FROM wallet_transfers WHERE via_transit AND id > $1 ORDER BY id LIMIT $2',
    [after ?? FIRST_ID, limit],
  );
  return rows;
}

/** Withdrawals (amount, fee, user, state), the page after `after` (start with undefined). */
export async function withdrawalsPage(
  q: Queryable,
  after: string | undefined,
  limit: number,
): Promise<Array<{ id: string; user_id: string; amount: bigint; fee: bigint; state: string }>> {
  const { rows } = await q.query<{ id: string; user_id: string; amount: bigint; fee: bigint; state: string }>(
    `SELECT id, user_id, amount, fee, state FROM wallet_bank_operations
      WHERE kind = 'withdrawal' AND id > $1 ORDER BY id LIMIT $2`,
    [after ?? FIRST_ID, limit],
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
