import { availableBalance, type Ledger } from '../ledger/index.ts';
import type { Database, Queryable } from '../platform/db/database.ts';

/**
 * The red-envelope books: every envelope's shares sum to its total; its grabbed amount is
 * the sum of the shares drawn; a finished one has none left; an expired one refunds exactly
 * the rest; and its escrow in the ledger holds exactly what is still owed (total − grabs −
 * refund), which also proves every grab's payout is in the ledger.
 */
export function verifyRedpackets(db: Database, ledger: Ledger): Promise<string[]> {
  // One snapshot for envelopes, grabs and escrows, so grabs committing meanwhile cannot show
  // as a mismatch.
  return db.transaction((tx) => check(tx, ledger), { isolation: 'repeatable read' });
}

async function check(db: Queryable, ledger: Ledger): Promise<string[]> {
  const violations: string[] = [];
  // Grab counts, distinct grabbers and no more grabs than shares are table constraints; what
  // is left to check is arithmetic.
  const counters = await db.query<{ id: string; problem: string }>(
    `SELECT e.id, CASE
        WHEN (SELECT sum(s) FROM unnest(e.shares) s) <> e.total THEN 'shares do not sum to the total'
        WHEN e.grabbed_amount <> coalesce((SELECT sum(s) FROM unnest(e.shares[1:e.grabbed_count]) s), 0)
          THEN 'grabbed amount differs from the shares drawn'
        WHEN e.status = 'finished' AND e.grabbed_count <> cardinality(e.shares) THEN 'finished with shares left'
        WHEN e.status = 'expired' AND e.refund_amount <> e.total - e.grabbed_amount THEN 'refund is not the unclaimed remainder'
        END AS problem
     FROM redpacket_envelopes e`,
  );
  for (const row of counters.rows) if (row.problem) violations.push(`envelope ${row.id}: ${row.problem}`);

  // Grabs commit with their payouts, so the escrow holds exactly what is still owed; only an
  // expired envelope whose refund has not been booked yet still holds its refund too.
  const owed = await db.query<{
    id: string;
    escrow_account_id: string;
    owed: bigint;
    refund_pending: bigint;
  }>(
    `SELECT id, escrow_account_id,
            total - grabbed_amount - CASE WHEN status = 'expired' THEN coalesce(refund_amount, 0) ELSE 0 END AS owed,
            CASE WHEN status = 'expired' AND NOT refund_booked THEN coalesce(refund_amount, 0) ELSE 0 END AS refund_pending
     FROM redpacket_envelopes WHERE status IN ('active', 'finished', 'expired')`,
  );
  for (let start = 0; start < owed.rows.length; start += 5000) {
    const chunk = owed.rows.slice(start, start + 5000);
    const accounts = new Map(
      (
        await ledger.lookupAccounts(
          chunk.map((r) => r.escrow_account_id),
          db,
        )
      ).map((a) => [a.id, a]),
    );
    for (const row of chunk) {
      const account = accounts.get(row.escrow_account_id);
      const held = account ? availableBalance(account, 'credit') : 0n;
      if (held !== row.owed && held !== row.owed + row.refund_pending) {
        violations.push(
          `envelope ${row.id}: escrow holds ${held}, owes ${row.owed}${row.refund_pending > 0n ? ` (+${row.refund_pending} refund not yet booked)` : ''}`,
        );
      }
    }
  }
  return violations;
}
