import { availableBalance, type Ledger } from '../ledger/index.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import { envelopeCounterProblems, envelopeEscrowsOwed } from './store.ts';

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
  for (const { id, problem } of await envelopeCounterProblems(db))
    violations.push(`envelope ${id}: ${problem}`);

  // Grabs commit with their payouts, so the escrow holds exactly what is still owed; only an
  // expired envelope whose refund has not been booked yet still holds its refund too.
  const owed = await envelopeEscrowsOwed(db);
  for (let start = 0; start < owed.length; start += 5000) {
    const chunk = owed.slice(start, start + 5000);
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
