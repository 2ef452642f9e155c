import { createHash } from 'node:crypto';
import { AppError, conflict, invalid, notFound } from '../platform/errors.ts';
import { deterministicId } from '../platform/ids.ts';
import type { BankOperationRecord, BankOperations } from './bank-operations.ts';
import type { WalletDeps } from './context.ts';
import { type Discrepancy, type LedgerRecord, reconcile, resolve, type StatementLine } from './reconcile.ts';
import { requestIdsSucceededOn } from './store/bank-operations.ts';
import {
  getItem,
  type ItemState,
  insertItem,
  itemState,
  listItems,
  markItemAutoResolved,
  markItemResolved,
  type ReconciliationItem,
  recordRun,
} from './store/reconciliation.ts';

export type { ReconciliationItem } from './store/reconciliation.ts';

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
    state: ItemState;
    /** False when an earlier run already reported it. */
    new: boolean;
  }>;
  auto_resolved: number;
  open: number;
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
      const inserted = await insertItem(this.deps.db, {
        id,
        businessDate,
        kind: discrepancy.kind,
        requestId: discrepancy.requestId,
        operationId: op?.id ?? null,
        action: resolution.action,
        details: jsonSafe(discrepancy),
        createdAt: now,
      });
      let state: ItemState = 'open';
      if (inserted && resolution.action === 'post_pending' && op) {
        const outcome = await this.operations.settle(op, 'succeeded', null);
        if (outcome === 'succeeded') {
          await markItemAutoResolved(this.deps.db, id, now);
          state = 'auto_resolved';
        }
      } else if (!inserted) {
        state = await itemState(this.deps.db, id);
      }
      report.discrepancies.push({
        id,
        kind: discrepancy.kind,
        request_id: discrepancy.requestId,
        action: resolution.action,
        state,
        new: inserted,
      });
      if (state === 'auto_resolved') report.auto_resolved++;
      if (state === 'open') report.open++;
      if ((index + 1) % 100 === 0)
        onProgress?.(`${index + 1}/${discrepancies.length} discrepancies recorded`);
    }
    await recordRun(this.deps.db, {
      businessDate,
      statementLines: lines.length,
      statementSha256: createHash('sha256').update(statement.raw).digest('hex'),
      discrepancies: discrepancies.length,
      autoResolved: report.auto_resolved,
      at: now,
    });
    return report;
  }

  /** Our side for a date: operations the statement names, plus those we settled on that business date. */
  private async recordsFor(businessDate: string, requestIds: string[]): Promise<BankOperationRecord[]> {
    const named = await this.operations.byRequestIds(requestIds);
    const succeeded = await requestIdsSucceededOn(this.deps.db, businessDate, this.deps.settings.timeZone);
    const known = new Set(named.map((op) => op.requestId));
    const settled = await this.operations.byRequestIds(succeeded.filter((id) => !known.has(id)));
    return [...named, ...settled];
  }

  items(filter: {
    state?: string;
    date?: string;
    limit?: number;
    after?: string;
  }): Promise<ReconciliationItem[]> {
    return listItems(this.deps.db, {
      state: filter.state ?? null,
      date: filter.date ?? null,
      after: filter.after ?? null,
      limit: filter.limit ?? 100,
    });
  }

  item(itemId: string): Promise<ReconciliationItem | undefined> {
    return getItem(this.deps.db, itemId);
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
    await markItemResolved(this.deps.db, itemId, { ...input, at: now });
    await this.deps.identity.audit({
      actor: input.operator,
      action: 'wallet.reconciliation.resolve',
      subject: `reconciliation_item:${itemId}`,
      details: { resolution: input.resolution, note: input.note, request_id: item.request_id },
    });
    return (await this.item(itemId))!;
  }
}
