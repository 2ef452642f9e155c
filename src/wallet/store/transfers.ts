import type { Queryable } from '../../platform/db/database.ts';
import type { JoinedWrite } from '../../platform/db/joined-write.ts';

/** SQL of friend transfers (wallet_transfers), including the rows joined to a ledger commit. */

export type TransferState = 'scheduled' | 'awaiting_acceptance' | 'completed' | 'returned' | 'cancelled';

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

export async function getTransfer(q: Queryable, transferId: string): Promise<FriendTransfer | undefined> {
  const { rows } = await q.query<TransferRow>(`SELECT ${COLUMNS} FROM wallet_transfers WHERE id = $1`, [
    transferId,
  ]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Transfers by id. */
export async function getTransfers(
  q: Queryable,
  ids: readonly string[],
): Promise<Map<string, FriendTransfer>> {
  const { rows } = await q.query<TransferRow>(
    `SELECT ${COLUMNS} FROM wallet_transfers WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((row) => [row.id, fromRow(row)]));
}

/** Transfers whose sending or settling ledger transfer is among `ids`. */
export async function transfersByLedgerIds(q: Queryable, ids: readonly string[]): Promise<FriendTransfer[]> {
  const { rows } = await q.query<TransferRow>(
    `SELECT ${COLUMNS} FROM wallet_transfers WHERE id = ANY($1::uuid[]) OR settle_transfer_id = ANY($1::uuid[])`,
    [ids],
  );
  return rows.map(fromRow);
}

/** Transfers in transit whose arrival or acceptance deadline has come, earliest first. */
export async function dueTransfers(q: Queryable, now: Date, limit: number): Promise<FriendTransfer[]> {
  const { rows } = await q.query<TransferRow>(
    `SELECT ${COLUMNS} FROM wallet_transfers WHERE state IN ('scheduled', 'awaiting_acceptance') AND due_at <= $1
       ORDER BY due_at LIMIT $2`,
    [now, limit],
  );
  return rows.map(fromRow);
}

/** A delayed transfer needing acceptance has arrived: it now waits for acceptance until `acceptBy`. */
export async function markAwaitingAcceptance(
  q: Queryable,
  transferId: string,
  acceptBy: Date,
): Promise<void> {
  await q.query(
    `UPDATE wallet_transfers SET state = 'awaiting_acceptance', accept_by = $2, due_at = $2
       WHERE id = $1 AND state = 'scheduled'`,
    [transferId, acceptBy],
  );
}

/** Records how a transfer in transit ended (only if it is still in transit). */
export async function finishTransfer(
  q: Queryable,
  transferId: string,
  state: TransferState,
  settleTransferId: string,
  at: Date,
): Promise<void> {
  await q.query(
    `UPDATE wallet_transfers SET state = $2, settle_transfer_id = $3, finished_at = $4, due_at = NULL
       WHERE id = $1 AND state IN ('scheduled', 'awaiting_acceptance')`,
    [transferId, state, settleTransferId, at],
  );
}

/** A friend transfer's row as it is first written (see transfers.ts). */
export interface NewTransferRow {
  id: string;
  senderId: string;
  recipientId: string;
  amount: bigint;
  memo: string;
  viaTransit: boolean;
  requireAcceptance: boolean;
  state: 'completed' | 'scheduled' | 'awaiting_acceptance';
  arriveAt: Date | null;
  acceptBy: Date | null;
  createdAt: Date;
}

/**
 * The rows of a batch of friend transfers, as a write joined to the ledger commit of their
 * transfers (a commit participant), so a transfer and its row commit together or not at all.
 * A row that already exists is left as it is (`ON CONFLICT DO NOTHING`): a transfer the ledger
 * already had (`exists`) keeps the row it was first written with. Always accepted.
 */
export function transferRowsWrite(rows: readonly NewTransferRow[]): JoinedWrite {
  return {
    render(sql, applies) {
      if (rows.length === 0) return { ctes: [], accepted: 'true' };
      const inserted = sql.name('wallet_transfers');
      const column = <T>(pick: (row: NewTransferRow) => T) => sql.param(rows.map(pick));
      return {
        ctes: [
          `${inserted} AS (
          INSERT INTO wallet_transfers (id, sender_id, recipient_id, amount, memo, via_transit, require_acceptance, state,
            arrive_at, accept_by, due_at, created_at, finished_at)
          SELECT id, sender_id, recipient_id, amount, memo, via_transit, require_acceptance, state, arrive_at, accept_by,
            coalesce(arrive_at, accept_by), created_at, CASE WHEN state = 'completed' THEN created_at END
            FROM unnest(${column((r) => r.id)}::uuid[], ${column((r) => r.senderId)}::uuid[],
                        ${column((r) => r.recipientId)}::uuid[], ${column((r) => r.amount.toString())}::int8[],
                        ${column((r) => r.memo)}::text[], ${column((r) => r.viaTransit)}::bool[],
                        ${column((r) => r.requireAcceptance)}::bool[], ${column((r) => r.state)}::text[],
                        ${column((r) => r.arriveAt)}::timestamptz[], ${column((r) => r.acceptBy)}::timestamptz[],
                        ${column((r) => r.createdAt)}::timestamptz[])
                 WITH ORDINALITY AS t (id, sender_id, recipient_id, amount, memo, via_transit, require_acceptance, state,
                   arrive_at, accept_by, created_at, n)
           WHERE ${applies}
           ORDER BY n
          ON CONFLICT (id) DO NOTHING)`,
        ],
        accepted: 'true',
      };
    },
  };
}
