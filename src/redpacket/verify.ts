import { availableBalance, type Ledger } from '../ledger/index.ts';
import type { Database } from '../platform/db/database.ts';

/**
 * The red-envelope books: every envelope's shares sum to its total; its counters equal its
 * grabs; nothing is over-allocated; and its escrow in the ledger holds exactly what is still
 * owed (total − grabs − refund), once the envelope has settled.
 */
export async function verifyRedpackets(db: Database, ledger: Ledger, now: Date): Promise<string[]> {
  const violations: string[] = [];
  const counters = await db.query<{ id: string; problem: string }>(
    `SELECT e.id, CASE
        WHEN (SELECT sum(s) FROM unnest(e.shares) s) <> e.total THEN 'shares do not sum to the total'
        WHEN e.grabbed_count <> coalesce(g.n, 0) OR e.grabbed_amount <> coalesce(g.a, 0) THEN 'counters differ from grabs'
        WHEN coalesce(g.a, 0) > e.total THEN 'over-allocated'
        WHEN e.status = 'finished' AND e.grabbed_count <> cardinality(e.shares) THEN 'finished with shares left'
        WHEN e.status = 'expired' AND e.refund_amount <> e.total - e.grabbed_amount THEN 'refund is not the unclaimed remainder'
        WHEN g.bad > 0 THEN 'a grab amount differs from its share' END AS problem
     FROM redpacket_envelopes e
     LEFT JOIN (SELECT gr.envelope_id, count(*) AS n, sum(gr.amount) AS a,
                       count(*) FILTER (WHERE gr.amount <> en.shares[gr.share_index + 1]) AS bad
                FROM redpacket_grabs gr JOIN redpacket_envelopes en ON en.id = gr.envelope_id GROUP BY gr.envelope_id) g
       ON g.envelope_id = e.id`,
  );
  for (const row of counters.rows) if (row.problem) violations.push(`envelope ${row.id}: ${row.problem}`);

  const orphans = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM redpacket_grabs g WHERE NOT EXISTS (SELECT 1 FROM redpacket_envelopes e WHERE e.id = g.envelope_id)',
  );
  if (orphans.rows[0]!.n > 0) violations.push(`${orphans.rows[0]!.n} grabs belong to no envelope`);

  // The escrow must hold exactly what is still owed once an envelope has been quiet for a
  // minute (the booking sweeper's horizon). Within that minute, grabs and a refund may still be
  // on their way to the ledger, so the escrow may hold up to that much more.
  const owed = await db.query<{
    id: string;
    escrow_account_id: string;
    owed: bigint;
    in_flight: bigint;
    settled: boolean;
  }>(
    `SELECT id, escrow_account_id,
            total - grabbed_amount - CASE WHEN status = 'expired' THEN coalesce(refund_amount, 0) ELSE 0 END AS owed,
            grabbed_amount + CASE WHEN status = 'expired' AND NOT refund_booked THEN coalesce(refund_amount, 0) ELSE 0 END AS in_flight,
            coalesce(last_grab_at, created_at) < $1 AND (status <> 'expired' OR refund_booked) AS settled
     FROM redpacket_envelopes WHERE status IN ('active', 'finished', 'expired')`,
    [new Date(now.getTime() - 60_000)],
  );
  for (let start = 0; start < owed.rows.length; start += 5000) {
    const chunk = owed.rows.slice(start, start + 5000);
    const accounts = new Map(
      (await ledger.lookupAccounts(chunk.map((r) => r.escrow_account_id))).map((a) => [a.id, a]),
    );
    for (const row of chunk) {
      const account = accounts.get(row.escrow_account_id);
      const held = account ? availableBalance(account, 'credit') : 0n;
      const ceiling = row.settled ? row.owed : row.owed + row.in_flight;
      if (held < row.owed || held > ceiling) {
        violations.push(
          `envelope ${row.id}: escrow holds ${held}, owes ${row.owed}${row.settled ? '' : ` (up to ${row.in_flight} in flight)`}`,
        );
      }
    }
  }
  return violations;
}
