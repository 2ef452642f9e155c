import { availableBalance, type Ledger } from '../ledger/index.ts';
import type { Database } from '../platform/db/database.ts';

/**
 * The red-envelope books: every envelope's shares sum to its total; its counters equal its
 * grabs; nothing is over-allocated; and its escrow in the ledger holds exactly what is still
 * owed (total − booked grabs − booked refund, for funded envelopes).
 */
export async function verifyRedpackets(db: Database, ledger: Ledger): Promise<string[]> {
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

  // The escrow must hold what is owed; grabs or a refund not yet marked booked may already be
  // in the ledger (a crash between the two writes), so the escrow may hold less by those.
  const owed = await db.query<{ id: string; escrow_account_id: string; owed: bigint; in_flight: bigint }>(
    `SELECT e.id, e.escrow_account_id,
            e.total - coalesce(g.booked, 0) - CASE WHEN e.refund_booked THEN coalesce(e.refund_amount, 0) ELSE 0 END AS owed,
            coalesce(g.unbooked, 0) + CASE WHEN e.status = 'expired' AND NOT e.refund_booked THEN coalesce(e.refund_amount, 0) ELSE 0 END AS in_flight
     FROM redpacket_envelopes e
     LEFT JOIN (SELECT envelope_id, sum(amount) FILTER (WHERE booked)::int8 AS booked,
                       sum(amount) FILTER (WHERE NOT booked)::int8 AS unbooked
                FROM redpacket_grabs GROUP BY envelope_id) g ON g.envelope_id = e.id
     WHERE e.status IN ('active', 'finished', 'expired')`,
  );
  for (let start = 0; start < owed.rows.length; start += 5000) {
    const chunk = owed.rows.slice(start, start + 5000);
    const accounts = new Map(
      (await ledger.lookupAccounts(chunk.map((r) => r.escrow_account_id))).map((a) => [a.id, a]),
    );
    for (const row of chunk) {
      const account = accounts.get(row.escrow_account_id);
      const held = account ? availableBalance(account, 'credit') : 0n;
      if (held > row.owed || held < row.owed - row.in_flight) {
        violations.push(
          `envelope ${row.id}: escrow holds ${held}, owes ${row.owed} (${row.in_flight} in flight)`,
        );
      }
    }
  }
  return violations;
}
