import { availableBalance, type Ledger } from '../ledger/index.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import { walletAccount } from '../wallet/index.ts';
import { RedpacketTransfers } from './chart.ts';
import { grabTransferId } from './grab-engine.ts';
import {
  envelopeCounterProblems,
  envelopeEscrowsOwed,
  envelopeGrabsPage,
  envelopesFundedBy,
  envelopesNotFunded,
} from './store.ts';

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

const PAYOUT_PAGE = 2000;

/**
 * Each grabber's payout is in the ledger as the envelope's grab says: the transfer with the
 * grab's deterministic id exists and moves exactly the grabber's share from the envelope's
 * escrow to the grabber's wallet, under the grab code. (The escrow check above proves only the
 * totals: a payout redirected to another wallet, or two shares swapped, keeps them.) One
 * snapshot, so grabs committing meanwhile cannot show as missing payouts.
 */
export function verifyGrabPayouts(
  db: Database,
  ledger: Ledger,
): Promise<{ violations: string[]; grabs: number }> {
  return db.transaction(
    async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      const violations: string[] = [];
      let grabs = 0;
      for (let after: string | undefined; ; ) {
        const envelopes = await envelopeGrabsPage(tx, after, PAYOUT_PAGE);
        if (envelopes.length === 0) break;
        after = envelopes[envelopes.length - 1]!.id;
        const expected = envelopes.flatMap((envelope) =>
          envelope.grabbers.map((userId, index) => ({
            envelope,
            userId,
            amount: envelope.shares[index]!,
            id: grabTransferId({ id: envelope.id, createdAt: envelope.created_at }, userId),
          })),
        );
        grabs += expected.length;
        const found = new Map<string, Awaited<ReturnType<Ledger['lookupTransfers']>>[number]>();
        for (let start = 0; start < expected.length; start += 8000) {
          const ids = expected.slice(start, start + 8000).map((grab) => grab.id);
          for (const transfer of await ledger.lookupTransfers(ids, tx)) found.set(transfer.id, transfer);
        }
        for (const grab of expected) {
          const payout = found.get(grab.id);
          const who = `envelope ${grab.envelope.id}: grabber ${grab.userId}`;
          if (!payout) {
            violations.push(`${who} has no payout ${grab.id} in the ledger`);
          } else if (
            payout.amount !== grab.amount ||
            payout.debitAccountId !== grab.envelope.escrow_account_id ||
            payout.creditAccountId !== walletAccount(grab.userId) ||
            payout.code !== RedpacketTransfers.envelopeGrab
          ) {
            violations.push(
              `${who}: payout ${grab.id} moves ${payout.amount} from ${payout.debitAccountId} to ${payout.creditAccountId} (code ${payout.code}); the grab says ${grab.amount} from the escrow to the grabber's wallet`,
            );
          }
        }
      }
      return { violations, grabs };
    },
    { isolation: 'repeatable read' },
  );
}

/**
 * Orphan holds, the red envelopes' part: every open ledger hold under the envelope funding code
 * (a card payment into an escrow, still at the bank) funds an envelope. A hold that funds none
 * would move money into an escrow nobody can grab or refund. One snapshot.
 */
export function verifyEnvelopeHolds(
  db: Database,
  ledger: Ledger,
): Promise<{ violations: string[]; holds: number }> {
  return db.transaction(
    async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      const holds = await ledger.openHolds([RedpacketTransfers.envelopeFund], tx);
      const violations: string[] = [];
      for (let start = 0; start < holds.length; start += 8000) {
        const chunk = holds.slice(start, start + 8000);
        const funding = await envelopesFundedBy(
          tx,
          chunk.map((hold) => hold.id),
        );
        for (const hold of chunk)
          if (!funding.has(hold.id))
            violations.push(`funding hold ${hold.id} (${hold.amount}) funds no envelope`);
      }
      return { violations, holds: holds.length };
    },
    { isolation: 'repeatable read' },
  );
}
