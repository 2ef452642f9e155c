import type { Queryable } from '../../platform/db/database.ts';

/**
 * SQL of reconciliation: the discrepancies found (wallet_reconciliation_items, each stored
 * once under a deterministic id) and one summary row per business date
 * (wallet_reconciliation_runs).
 */

export type ItemState = 'open' | 'auto_resolved' | 'resolved';

/** A stored discrepancy, as the API shows it. */
export interface ReconciliationItem {
  id: string;
  business_date: string;
  kind: string;
  request_id: string;
  operation_id: string | null;
  action: string;
  state: string;
  details: Record<string, unknown>;
  resolution: string | null;
  resolved_by: string | null;
  note: string | null;
  created_at: string;
  resolved_at: string | null;
}

export interface NewItem {
  id: string;
  businessDate: string;
  kind: string;
  requestId: string;
  operationId: string | null;
  action: 'post_pending' | 'void_pending' | 'review';
  /** Stored as JSON. */
  details: unknown;
  createdAt: Date;
}

const ITEM_COLUMNS = `id, business_date::text AS business_date, kind, request_id, operation_id, action, state, details, resolution,
              resolved_by, note, created_at, resolved_at`;

function itemView(row: Record<string, unknown>): ReconciliationItem {
  return {
    id: row.id as string,
    business_date: row.business_date as string,
    kind: row.kind as string,
    request_id: row.request_id as string,
    operation_id: (row.operation_id as string | null) ?? null,
    action: row.action as string,
    state: row.state as string,
    details: row.details as Record<string, unknown>,
    resolution: (row.resolution as string | null) ?? null,
    resolved_by: (row.resolved_by as string | null) ?? null,
    note: (row.note as string | null) ?? null,
    created_at: (row.created_at as Date).toISOString(),
    resolved_at: (row.resolved_at as Date | null)?.toISOString() ?? null,
  };
}

/** Stores an open item; false when an item with this id exists already (reported before). */
export async function insertItem(q: Queryable, item: NewItem): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO wallet_reconciliation_items (id, business_date, kind, request_id, operation_id, action, state, details, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8) ON CONFLICT (id) DO NOTHING RETURNING id`,
    [
      item.id,
      item.businessDate,
      item.kind,
      item.requestId,
      item.operationId,
      item.action,
      JSON.stringify(item.details),
      item.createdAt,
    ],
  );
  return rowCount === 1;
}

export async function itemState(q: Queryable, itemId: string): Promise<ItemState> {
  const { rows } = await q.query<{ state: ItemState }>(
    'SELECT state FROM wallet_reconciliation_items WHERE id = $1',
    [itemId],
  );
  return rows[0]!.state;
}

export async function getItem(q: Queryable, itemId: string): Promise<ReconciliationItem | undefined> {
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT ${ITEM_COLUMNS} FROM wallet_reconciliation_items WHERE id = $1`,
    [itemId],
  );
  return rows[0] ? itemView(rows[0]) : undefined;
}

/** Items by state and/or business date, in id order after `after`. */
export async function listItems(
  q: Queryable,
  filter: { state: string | null; date: string | null; after: string | null; limit: number },
): Promise<ReconciliationItem[]> {
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT ${ITEM_COLUMNS}
       FROM wallet_reconciliation_items
       WHERE ($1::text IS NULL OR state = $1) AND ($2::date IS NULL OR business_date = $2::date)
         AND ($3::uuid IS NULL OR id > $3::uuid)
       ORDER BY id LIMIT $4`,
    [filter.state, filter.date, filter.after, filter.limit],
  );
  return rows.map(itemView);
}

/** The system closed an item by posting the pending transfer the bank settled. */
export async function markItemAutoResolved(q: Queryable, itemId: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE wallet_reconciliation_items SET state = 'auto_resolved', resolution = 'post_pending', resolved_by = 'system', resolved_at = $2 WHERE id = $1`,
    [itemId, at],
  );
}

/** An operator closed an open item. */
export async function markItemResolved(
  q: Queryable,
  itemId: string,
  resolution: { resolution: string; operator: string; note: string; at: Date },
): Promise<void> {
  await q.query(
    `UPDATE wallet_reconciliation_items SET state = 'resolved', resolution = $2, resolved_by = $3, note = $4, resolved_at = $5
     WHERE id = $1 AND state = 'open'`,
    [itemId, resolution.resolution, resolution.operator, resolution.note, resolution.at],
  );
}

/** The date's run summary: created by the first run, updated (and counted) by each later one. */
export async function recordRun(
  q: Queryable,
  run: {
    businessDate: string;
    statementLines: number;
    statementSha256: string;
    discrepancies: number;
    autoResolved: number;
    at: Date;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO wallet_reconciliation_runs (business_date, statement_lines, statement_sha256, discrepancies, auto_resolved, first_run_at, last_run_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6)
     ON CONFLICT (business_date) DO UPDATE SET statement_lines = excluded.statement_lines, statement_sha256 = excluded.statement_sha256,
       discrepancies = excluded.discrepancies, auto_resolved = wallet_reconciliation_runs.auto_resolved + excluded.auto_resolved,
       runs = wallet_reconciliation_runs.runs + 1, last_run_at = excluded.last_run_at`,
    [run.businessDate, run.statementLines, run.statementSha256, run.discrepancies, run.autoResolved, run.at],
  );
}
