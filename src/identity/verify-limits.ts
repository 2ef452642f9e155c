import type { Database } from '../platform/db/database.ts';
import type { VerifyCheck } from '../platform/module.ts';
import { limitCounterCount, limitCounterMismatches } from './store/limits.ts';

const REPORTED_MAX = 100;

/**
 * `tuyere verify`: every limit counter equals the sum and number of the reservations still
 * reserved against it (released ones gave theirs back). One read-only snapshot, so payments
 * reserving meanwhile cannot show as a mismatch.
 */
export function verifyLimitCounters(db: Database): Promise<VerifyCheck> {
  return db.transaction(
    async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      const rows = await limitCounterMismatches(tx, REPORTED_MAX);
      const counters = await limitCounterCount(tx);
      return {
        name: 'identity: limit counters agree with their reservations',
        ok: rows.length === 0,
        violations: rows.map(
          (row) =>
            `user ${row.user_id} counter ${row.counter} ${row.period}: used ${row.used} in ${row.payments} payments, ` +
            `its reservations hold ${row.reserved} in ${row.reservations}`,
        ),
        examined: `${counters.toLocaleString('en-US')} counters`,
      };
    },
    { isolation: 'repeatable read' },
  );
}
