import type { Database } from '../platform/db/database.ts';
import type { VerifyCheck } from '../platform/module.ts';
import { type IncrementalRun, VERIFY_SETTLE_MS } from '../platform/verify-position.ts';
import {
  lastLimitChange,
  limitCounterCount,
  limitCounterMismatches,
  limitsVerifiedUpTo,
  recordLimitsVerified,
} from './store/limits.ts';

const REPORTED_MAX = 100;
const CHECK = 'limit_counters';

/**
 * `tuyere verify`: every limit counter equals the sum and number of the reservations still
 * reserved against it (released ones gave theirs back). One read-only snapshot, so payments
 * reserving meanwhile cannot show as a mismatch.
 *
 * Incremental (unless `full`): a counter changes only when a reservation naming it is made or
 * released, so a run checks every counter of the users whose reservations were made or
 * released after the checkpoint, against all of those users' reservations (the lifetime
 * counter sums them all). A passing run records the newest such change stamped at least the
 * settle margin (`VERIFY_SETTLE_MS`) before its clock: one stamped later may not have
 * committed every change stamped before it.
 */
export async function verifyLimitCounters(
  db: Database,
  run: IncrementalRun = { full: true, record: false, now: new Date() },
): Promise<VerifyCheck> {
  const result = await db.transaction(
    async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      const since = run.full ? null : ((await limitsVerifiedUpTo(tx, CHECK)) ?? null);
      const rows = await limitCounterMismatches(tx, REPORTED_MAX, since);
      const counters = await limitCounterCount(tx, since);
      const reached = await lastLimitChange(tx, since, new Date(run.now.getTime() - VERIFY_SETTLE_MS));
      return { rows, counters, since, reached };
    },
    { isolation: 'repeatable read' },
  );
  const ok = result.rows.length === 0;
  if (ok && run.record && result.reached) await recordLimitsVerified(db, CHECK, result.reached, run.now);
  return {
    name: 'identity: limit counters agree with their reservations',
    ok,
    violations: result.rows.map(
      (row) =>
        `user ${row.user_id} counter ${row.counter} ${row.period}: used ${row.used} in ${row.payments} payments, ` +
        `its reservations hold ${row.reserved} in ${row.reservations}`,
    ),
    examined: `${result.counters.toLocaleString('en-US')} counters${
      result.since ? ` of users whose reservations changed after ${result.since.toISOString()}` : ''
    }`,
  };
}
