import { createHash } from 'node:crypto';
import { AppError, conflict, invalid, notFound } from '../platform/errors.ts';
import { deterministicId } from '../platform/ids.ts';
import type { BankOperationRecord, BankOperations } from './bank-operations.ts';
import type { WalletDeps } from './context.ts';
import { type Discrepancy, type LedgerRecord, reconcile, resolve, type StatementLine } from './reconcile.ts';

/**
 * The daily reconciliation around the pure rules in reconcile.ts: loads the bank's
 * statement and our records for a business date, stores each discrepancy once (its id is
 * f(date, kind, request id), so re-running a date reports nothing twice), applies what the
 * rules allow (post a pending top-up the bank settled), and leaves the rest open for
 * operators.
 */
export interface ReconciliationReport {
  business_date: string;
  statement_lines: number;
  records: number;
  discrepancies: Array<{
    id: string;
    kind: Discrepancy['kind'];
    request_id: string;
    action: 'post_pending' | 'void_pending' | 'review';
    state: 'open' | 'auto_resolved' | 'resolved';
    /** False when an earlier run already reported it. */
    new: boolean;
  }>;
  auto_resolved: number;
  open: number;
}

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

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function toRecord(op: BankOperationRecord): LedgerRecord {
  return {
    requestId: op.requestId,
    direction: op.kind === 'withdrawal' ? 'credit' : 'debit',
    amount: op.amount,
    state: op.state,
  };
}

function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

export class Reconciliation {
  constructor(
    private readonly deps: WalletDeps,
    private readonly operations: BankOperations,
  ) {}

  async run(businessDate: string, onProgress?: (message: string) => void): Promise<ReconciliationReport> {
    if (!DATE.test(businessDate) || Number.isNaN(Date.parse(`${businessDate}T00:00:00Z`))) {
      throw invalid('invalid_date', 'date must be YYYY-MM-DD.');
    }
    onProgress?.(`fetching the bank statement for ${businessDate}`);
    const statement = await this.deps.bank.statement(businessDate);
    const lines: StatementLine[] = statement.lines.map((line) => ({
      requestId: line.requestId,
      bankReference: line.bankReference,
      direction: line.direction,
      amount: line.amount,
      status: line.status === 'declined' ? 'failed' : 'succeeded',
    }));
    onProgress?.(`${lines.length} statement lines; loading our records`);
    const records = await this.recordsFor(businessDate, [...new Set(lines.map((l) => l.requestId))]);
    const discrepancies = reconcile(lines, records.map(toRecord));
    onProgress?.(`${records.length} records; ${discrepancies.length} discrepancies`);
    const byRequest = new Map(records.map((op) => [op.requestId, op]));
    const now = this.deps.clock.now();
    const report: ReconciliationReport = {
      business_date: businessDate,
      statement_lines: lines.length,
      records: records.length,
      discrepancies: [],
      auto_resolved: 0,
      open: 0,
    };
    for (const [index, discrepancy] of discrepancies.entries()) {
      const resolution = resolve(discrepancy);
      const id = deterministicId(
        'wallet.reconciliation',
        businessDate,
        discrepancy.kind,
        discrepancy.requestId,
      );
      const op = byRequest.get(discrepancy.requestId);
      const inserted = await this.deps.db.query(
        `INSERT INTO wallet_reconciliation_items (id, business_date, kind, request_id, operation_id, action, state, details, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [
          id,
          businessDate,
          discrepancy.kind,
          discrepancy.requestId,
          op?.id ?? null,
          resolution.action,
          JSON.stringify(jsonSafe(discrepancy)),
          now,
        ],
      );
      let state: 'open' | 'auto_resolved' | 'resolved' = 'open';
      if (inserted.rowCount === 1 && resolution.action === 'post_pending' && op) {
        const outcome = await this.operations.settle(op, 'succeeded', null);
        if (outcome === 'succeeded') {
          await this.deps.db.query(
            `UPDATE wallet_reconciliation_items SET state = 'auto_resolved', resolution = 'post_pending', resolved_by = 'system', resolved_at = $2 WHERE id = $1`,
            [id, now],
          );
          state = 'auto_resolved';
        }
      } else if (inserted.rowCount !== 1) {
        const { rows } = await this.deps.db.query<{ state: 'open' | 'auto_resolved' | 'resolved' }>(
          'SELECT state FROM wallet_reconciliation_items WHERE id = $1',
          [id],
        );
        state = rows[0]!.state;
      }
      report.discrepancies.push({
        id,
        kind: discrepancy.kind,
        request_id: discrepancy.requestId,
        action: resolution.action,
        state,
        new: inserted.rowCount === 1,
      });
      if (state === 'auto_resolved') report.auto_resolved++;
      if (state === 'open') report.open++;
      if ((index + 1) % 100 === 0)
        onProgress?.(`${index + 1}/${discrepancies.length} discrepancies recorded`);
    }
    await this.deps.db.query(
      `INSERT INTO wallet_reconciliation_runs (business_date, statement_lines, statement_sha256, discrepancies, auto_resolved, first_run_at, last_run_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6)
       ON CONFLICT (business_date) DO UPDATE SET statement_lines = excluded.statement_lines, statement_sha256 = excluded.statement_sha256,
         discrepancies = excluded.discrepancies, auto_resolved = wallet_reconciliation_runs.auto_resolved + excluded.auto_resolved,
         runs = wallet_reconciliation_runs.runs + 1, last_run_at = excluded.last_run_at`,
      [
        businessDate,
        lines.length,
        createHash('sha256').update(statement.raw).digest('hex'),
        discrepancies.length,
        report.auto_resolved,
        now,
      ],
    );
    return report;
  }

  /** Our side for a date: operations the statement names, plus those we settled on that business date. */
  private async recordsFor(businessDate: string, requestIds: string[]): Promise<BankOperationRecord[]> {
    const named = await this.operations.byRequestIds(requestIds);
    const { rows } = await this.deps.db.query<{ request_id: string }>(
      `SELECT request_id FROM wallet_bank_operations
       WHERE state = 'succeeded' AND resolved_at >= $1::date - 2 AND resolved_at < $1::date + 3
         AND (coalesce(bank_completed_at, resolved_at) AT TIME ZONE $2)::date = $1::date`,
      [businessDate, this.deps.settings.timeZone],
    );
    const known = new Set(named.map((op) => op.requestId));
    const settled = await this.operations.byRequestIds(
      rows.map((r) => r.request_id).filter((id) => !known.has(id)),
    );
    return [...named, ...settled];
  }

  async items(filter: {
    state?: string;
    date?: string;
    limit?: number;
    after?: string;
  }): Promise<ReconciliationItem[]> {
    const { rows } = await this.deps.db.query<Record<string, unknown>>(
      `SELECT id, business_date::text AS business_date, kind, request_id, operation_id, action, state, details, resolution,
              resolved_by, note, created_at, resolved_at
       FROM wallet_reconciliation_items
       WHERE ($1::text IS NULL OR state = $1) AND ($2::date IS NULL OR business_date = $2::date)
         AND ($3::uuid IS NULL OR id > $3::uuid)
       ORDER BY id LIMIT $4`,
      [filter.state ?? null, filter.date ?? null, filter.after ?? null, filter.limit ?? 100],
    );
    return rows.map(itemView);
  }

  async item(itemId: string): Promise<ReconciliationItem | undefined> {
    const { rows } = await this.deps.db.query<Record<string, unknown>>(
      `SELECT id, business_date::text AS business_date, kind, request_id, operation_id, action, state, details, resolution,
              resolved_by, note, created_at, resolved_at FROM wallet_reconciliation_items WHERE id = $1`,
      [itemId],
    );
    return rows[0] ? itemView(rows[0]) : undefined;
  }

  /**
   * An operator closes an open item: post_pending / void_pending settle a still-pending
   * operation (the ledger refuses a second resolution); dismiss records the decision only
   * (e.g. the bank corrected its file). Every resolution is audited.
   */
  async resolveItem(
    itemId: string,
    input: { resolution: 'post_pending' | 'void_pending' | 'dismiss'; note: string; operator: string },
  ): Promise<ReconciliationItem> {
    const item = await this.item(itemId);
    if (!item) throw notFound('reconciliation_item_not_found', 'No such reconciliation item.');
    if (item.state !== 'open') {
      if (item.resolution === input.resolution) return item;
      throw conflict(
        'reconciliation_item_closed',
        `This item is already ${item.state} (${item.resolution}).`,
      );
    }
    if (input.resolution !== 'dismiss') {
      const op = item.operation_id ? await this.operations.get(item.operation_id) : undefined;
      if (!op)
        throw conflict(
          'reconciliation_no_operation',
          'This item has no operation of ours to settle; dismiss it.',
        );
      if (op.state !== 'pending') {
        throw conflict(
          'reconciliation_operation_final',
          `The operation is already ${op.state}; dismiss with a note, or adjust.`,
        );
      }
      const state = await this.operations.settle(
        op,
        input.resolution === 'post_pending' ? 'succeeded' : 'failed',
        'operator',
      );
      if ((state === 'succeeded') !== (input.resolution === 'post_pending')) {
        throw new AppError('conflict', 'reconciliation_operation_final', `The operation ended ${state}.`);
      }
    }
    const now = this.deps.clock.now();
    await this.deps.db.query(
      `UPDATE wallet_reconciliation_items SET state = 'resolved', resolution = $2, resolved_by = $3, note = $4, resolved_at = $5
       WHERE id = $1 AND state = 'open'`,
      [itemId, input.resolution, input.operator, input.note, now],
    );
    await this.deps.identity.audit({
      actor: input.operator,
      action: 'wallet.reconciliation.resolve',
      subject: `reconciliation_item:${itemId}`,
      details: { resolution: input.resolution, note: input.note, request_id: item.request_id },
    });
    return (await this.item(itemId))!;
  }
}

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
