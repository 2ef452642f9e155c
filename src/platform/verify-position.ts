import type { Database, Queryable } from './db/database.ts';
import type { VerifyCheck } from './module.ts';

/**
 * Positions for incremental module checks of `tuyere verify` (docs/LEDGER.md, verify). A row
 * that is final (a finished bank operation, a finished envelope) is verified once, in the order
 * of (when it finished, id); a check's checkpoint is the last such position it passed.
 *
 * A row is stamped by the code that finishes it, before its transaction commits, so a row
 * stamped just before a run's snapshot may commit just after it. The checkpoint therefore
 * advances only over rows stamped at least `VERIFY_SETTLE_MS` before the run's now; newer ones
 * are examined again by the next run.
 */
export interface VerifyPosition {
  at: Date;
  id: string;
}

/** How long a finishing transaction may take between its stamp and its commit. */
export const VERIFY_SETTLE_MS = 5 * 60_000;

/** Where a check starts: after its checkpoint, or from the very beginning. */
export const VERIFY_START: VerifyPosition = {
  at: new Date('0001-01-01T00:00:00Z'),
  id: '00000000-0000-0000-0000-000000000000',
};

/** Follows the rows a check examines, in position order, to the checkpoint it may record. */
export class VerifyCut {
  private readonly settledBefore: number;
  /** The last examined position a checkpoint may cover (undefined: none advanced). */
  reached: VerifyPosition | undefined;

  constructor(now: Date) {
    this.settledBefore = now.getTime() - VERIFY_SETTLE_MS;
  }

  /** Call for each examined row, in position order. */
  see(row: VerifyPosition): void {
    if (row.at.getTime() <= this.settledBefore) this.reached = { at: row.at, id: row.id };
  }
}

/** A module's checkpoint reads and writes (in its own store, on its own table). */
export interface VerifyCheckpoints {
  load(q: Queryable, check: string): Promise<VerifyPosition | undefined>;
  /** Records `at` unless a later position is already recorded (two runs at once). */
  save(q: Queryable, check: string, at: VerifyPosition, now: Date): Promise<void>;
}

export interface IncrementalRun {
  /** Ignore the checkpoint (`tuyere verify --full`). */
  full: boolean;
  /** Record the checkpoint when the check passed. */
  record: boolean;
  now: Date;
}

/**
 * Runs one incremental check in one read-only REPEATABLE READ snapshot, from its checkpoint
 * (or the start when `full` or none), then records the position it reached if it passed.
 */
export async function runIncremental(
  db: Database,
  checkpoints: VerifyCheckpoints,
  check: { key: string; name: string },
  run: IncrementalRun,
  work: (
    q: Queryable,
    from: VerifyPosition,
    cut: VerifyCut,
  ) => Promise<{ violations: string[]; examined: string }>,
): Promise<VerifyCheck> {
  const cut = new VerifyCut(run.now);
  const result = await db.transaction(
    async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      const from = run.full ? undefined : await checkpoints.load(tx, check.key);
      const found = await work(tx, from ?? VERIFY_START, cut);
      return { ...found, from };
    },
    { isolation: 'repeatable read' },
  );
  const ok = result.violations.length === 0;
  const reached = cut.reached;
  if (ok && run.record && reached) await checkpoints.save(db, check.key, reached, run.now);
  return {
    name: check.name,
    ok,
    violations: result.violations,
    examined: `${result.examined}, ${result.from ? `finished after ${result.from.at.toISOString()}` : 'from the start'}`,
  };
}

/**
 * The shape every incremental module check shares: the rows still open are examined in full
 * (in chunks of `pageSize`), then the rows finished after `from`, page by page in position
 * order, each finished row's position told to `cut`. Returns how many of each were examined.
 */
export async function examineOpenThenFinished<Row extends { id: string }>(
  source: {
    open: readonly Row[];
    finishedPage: (after: VerifyPosition, limit: number) => Promise<Row[]>;
    finishedAt: (row: Row) => Date;
  },
  from: VerifyPosition,
  cut: VerifyCut,
  pageSize: number,
  examine: (rows: Row[]) => Promise<void>,
): Promise<{ open: number; finished: number }> {
  for (let start = 0; start < source.open.length; start += pageSize)
    await examine(source.open.slice(start, start + pageSize));
  let finished = 0;
  for (let after = from; ; ) {
    const rows = await source.finishedPage(after, pageSize);
    if (rows.length === 0) break;
    await examine(rows);
    finished += rows.length;
    for (const row of rows) cut.see({ at: source.finishedAt(row), id: row.id });
    const last = rows[rows.length - 1]!;
    after = { at: source.finishedAt(last), id: last.id };
  }
  return { open: source.open.length, finished };
}
