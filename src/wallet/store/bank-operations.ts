import type { BankOperation } from '../../bank/index.ts';
import type { Queryable } from '../../platform/db/database.ts';
import type { JoinedWrite } from '../../platform/db/joined-write.ts';

/** SQL of bank movements (wallet_bank_operations): top-ups, withdrawals, card-funded payments. */

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

/** An operation as it is first written (state pending). */
export type NewOperation = Pick<
  BankOperationRecord,
  | 'id'
  | 'userId'
  | 'kind'
  | 'cardId'
  | 'requestId'
  | 'amount'
  | 'fee'
  | 'targetAccountId'
  | 'notifyKind'
  | 'createdAt'
> & {
  nextPollAt: Date;
  /** The fee rule a withdrawal is charged under (null for other kinds). */
  feeRule: { bps: number; min: bigint } | null;
};

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

export async function getOperation(
  q: Queryable,
  operationId: string,
): Promise<BankOperationRecord | undefined> {
  const { rows } = await q.query<OperationRow>(
    `SELECT ${COLUMNS} FROM wallet_bank_operations WHERE id = $1`,
    [operationId],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function operationsByRequestIds(
  q: Queryable,
  requestIds: readonly string[],
): Promise<BankOperationRecord[]> {
  if (requestIds.length === 0) return [];
  const { rows } = await q.query<OperationRow>(
    `SELECT ${COLUMNS} FROM wallet_bank_operations WHERE request_id = ANY($1::text[])`,
    [requestIds],
  );
  return rows.map(fromRow);
}

/** Pending operations whose next poll is due by `now`, most overdue first. */
export async function operationsDueForPoll(
  q: Queryable,
  now: Date,
  limit: number,
): Promise<BankOperationRecord[]> {
  const { rows } = await q.query<OperationRow>(
    `SELECT ${COLUMNS} FROM wallet_bank_operations WHERE state = 'pending' AND next_poll_at <= $1
     ORDER BY next_poll_at LIMIT $2`,
    [now, limit],
  );
  return rows.map(fromRow);
}

/**
 * Request ids of the operations that succeeded on `businessDate` in `timeZone`, by the bank's
 * completion time (or ours when the bank gave none).
 */
export async function requestIdsSucceededOn(
  q: Queryable,
  businessDate: string,
  timeZone: string,
): Promise<string[]> {
  const { rows } = await q.query<{ request_id: string }>(
    `SELECT request_id FROM wallet_bank_operations
     WHERE state = 'succeeded' AND resolved_at >= $1::date - 2 AND resolved_at < $1::date + 3
       AND (coalesce(bank_completed_at, resolved_at) AT TIME ZONE $2)::date = $1::date`,
    [businessDate, timeZone],
  );
  return rows.map((row) => row.request_id);
}

/** Writes a new operation; an existing id is left as it is (read it back to compare). */
export async function insertOperation(q: Queryable, op: NewOperation): Promise<void> {
  await q.query(
    `INSERT INTO wallet_bank_operations (id, user_id, kind, card_id, request_id, amount, fee, target_account_id, notify_kind,
       state, next_poll_at, created_at, fee_bps, fee_min)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
    [
      op.id,
      op.userId,
      op.kind,
      op.cardId,
      op.requestId,
      op.amount,
      op.fee,
      op.targetAccountId,
      op.notifyKind,
      op.nextPollAt,
      op.createdAt,
      op.feeRule?.bps ?? null,
      op.feeRule?.min ?? null,
    ],
  );
}

/**
 * A new operation's row as a write joined to the ledger commit of its hold (a commit
 * participant), so the row and its hold commit together or not at all: `pending` when the
 * hold was booked, `failed` (with its reason) when the ledger refused it. An existing row is
 * left as it is (read it back to compare). Always accepted.
 */
export function operationRowWrite(
  op: NewOperation & { state: 'pending' | 'failed'; failureReason: string | null },
): JoinedWrite {
  return {
    render(sql, applies) {
      const p = (value: unknown) => sql.param(value);
      return {
        ctes: [
          `${sql.name('wallet_bank_operation')} AS (
          INSERT INTO wallet_bank_operations (id, user_id, kind, card_id, request_id, amount, fee, target_account_id,
            notify_kind, state, failure_reason, next_poll_at, created_at, resolved_at, fee_bps, fee_min)
          SELECT ${p(op.id)}::uuid, ${p(op.userId)}::uuid, ${p(op.kind)}::text, ${p(op.cardId)}::uuid,
            ${p(op.requestId)}::text, ${p(op.amount.toString())}::int8, ${p(op.fee.toString())}::int8,
            ${p(op.targetAccountId)}::uuid, ${p(op.notifyKind)}::text, ${p(op.state)}::text,
            ${p(op.failureReason)}::text, ${p(op.nextPollAt)}::timestamptz, ${p(op.createdAt)}::timestamptz,
            ${p(op.state === 'failed' ? op.createdAt : null)}::timestamptz,
            ${p(op.feeRule?.bps ?? null)}::int4, ${p(op.feeRule?.min?.toString() ?? null)}::int8
           WHERE ${applies}
          ON CONFLICT (id) DO NOTHING)`,
        ],
        accepted: 'true',
      };
    },
  };
}

/** Pending operations created before `before`, the page after `after` in id order (recovery's scan). */
export async function pendingOperationsPage(
  q: Queryable,
  before: Date,
  after: string | undefined,
  limit: number,
): Promise<BankOperationRecord[]> {
  const { rows } = await q.query<OperationRow>(
    `SELECT ${COLUMNS} FROM wallet_bank_operations
     WHERE state = 'pending' AND created_at < $1 AND id > $2 ORDER BY id LIMIT $3`,
    [before, after ?? '00000000-0000-0000-0000-000000000000', limit],
  );
  return rows.map(fromRow);
}

/** Counts a poll of a still-pending operation and sets when to poll next. */
export async function reschedulePoll(q: Queryable, operationId: string, nextPollAt: Date): Promise<void> {
  await q.query(
    `UPDATE wallet_bank_operations SET polls = polls + 1, next_poll_at = $2 WHERE id = $1 AND state = 'pending'`,
    [operationId, nextPollAt],
  );
}

/** Records when our movement call returned (the first time only). */
export async function markBankCallFinished(q: Queryable, operationId: string, at: Date): Promise<void> {
  await q.query(
    'UPDATE wallet_bank_operations SET bank_call_finished_at = $2 WHERE id = $1 AND bank_call_finished_at IS NULL',
    [operationId, at],
  );
}

/** Records what the bank says about the operation, unless a later event of the bank's was recorded already. */
export async function recordBankStatus(
  q: Queryable,
  operationId: string,
  operation: BankOperation,
): Promise<void> {
  await q.query(
    `UPDATE wallet_bank_operations SET bank_status = $2, bank_sequence = $3, bank_reference = $4, bank_completed_at = $5
     WHERE id = $1 AND bank_sequence < $3`,
    [operationId, operation.status, operation.sequence, operation.bankReference, operation.completedAt],
  );
}

/**
 * Moves a pending operation to its final state. False when it was not pending any more
 * (someone else resolved it first).
 */
export async function resolveOperation(
  q: Queryable,
  operationId: string,
  resolution: { state: 'succeeded' | 'failed'; failureReason: string | null; at: Date },
): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE wallet_bank_operations SET state = $2, failure_reason = $3, resolved_at = $4
     WHERE id = $1 AND state = 'pending'`,
    [operationId, resolution.state, resolution.failureReason, resolution.at],
  );
  return rowCount === 1;
}
