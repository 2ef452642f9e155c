import { availableBalance, type Ledger } from '../ledger/index.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import { envelopeCounterProblems, envelopeEscrowsOwed, envelopesNotFunded } from './store.ts';

/**
 * The red-envelope books: every envelope's shares sum to its total; its grabbed amount is
 * the sum of the shares drawn; a finished one has none left; an expired one refunds exactly
 * the rest; and its escrow in the ledger holds exactly what is still owed (total − grabs −
 * refund), which also proves every grab's payout is in the ledger.
 */
export interface VerifyOptions {
  /** Now, for the funding bound (default: the wall clock). */
  now?: Date;
  /** How long an envelope may stay funding with no pending payment (default 10 minutes: the sweep runs every 15 s and gives up after 60 s). */
  fundingBoundMs?: number;
}

/**
 * Also envelopes that never opened: a failed envelope's escrow is empty, or holds exactly the
 * refund decided and not yet booked; a funding envelope is younger than the bound, or its
 * payment is still pending at the bank.
 */
export function verifyRedpackets(
  db: Database,
  ledger: Ledger,
  options: VerifyOptions = {},
): Promise<string[]> {
  // One snapshot for envelopes, grabs and escrows, so grabs committing meanwhile cannot show
  // as a mismatch.
  return db.transaction((tx) => check(tx, ledger, options), { isolation: 'repeatable read' });
}

async function check(db: Queryable, ledger: Ledger, options: VerifyOptions): Promise<string[]> {
  const violations: string[] = [];
  const now = (options.now ?? new Date()).getTime();
  const bound = options.fundingBoundMs ?? 600_000;
  const notFunded = await envelopesNotFunded(db);
  const escrows = new Map(
    (
      await ledger.lookupAccounts(
        notFunded.map((r) => r.escrow_account_id),
        db,
      )
    ).map((a) => [a.id, a]),
  );
  const overdue = notFunded.filter((r) => r.status === 'funding' && now - r.created_at.getTime() > bound);
  const pending =
    overdue.length > 0 ? await ledger.lookupPending(overdue.map((r) => r.fund_transfer_id)) : new Map();
  for (const row of notFunded) {
    const account = escrows.get(row.escrow_account_id);
    const held = account ? availableBalance(account, 'credit') : 0n;
    if (row.status === 'failed') {
      const refundPending = row.refund_amount !== null && !row.refund_booked ? row.refund_amount : 0n;
      if (held !== 0n && held !== refundPending)
        violations.push(`envelope ${row.id}: failed, but its escrow holds ${held} not refunded`);
    } else if (
      now - row.created_at.getTime() > bound &&
      pending.get(row.fund_transfer_id)?.status !== 'pending'
    ) {
      violations.push(
        `envelope ${row.id}: funding for ${Math.round((now - row.created_at.getTime()) / 1000)} s with no pending payment (escrow holds ${held})`,
      );
    }
  }
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
