import { availableBalance, type Ledger } from '../ledger/index.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import type { VerifyCheck } from '../platform/module.ts';
import {
  examineOpenThenFinished,
  type IncrementalRun,
  runIncremental,
  type VerifyCut,
  type VerifyPosition,
} from '../platform/verify-position.ts';
import { walletAccount } from '../wallet/index.ts';
import { RedpacketTransfers } from './chart.ts';
import { grabTransferId } from './grab-engine.ts';
import {
  closedEnvelopeBooksPage,
  type EnvelopeBooksRow,
  envelopesFundedBy,
  openEnvelopeBooks,
  redpacketVerifyCheckpoints,
} from './store.ts';

const PAGE = 2000;

export interface VerifyOptions {
  /** Now, for the funding bound and the checkpoint (default: the wall clock). */
  now?: Date;
  /** How long an envelope may stay funding with no pending payment (default 10 minutes: the sweep runs every 15 s and gives up after 60 s). */
  fundingBoundMs?: number;
  /** Ignore the checkpoint (default true: a bare call proves everything). */
  full?: boolean;
  /** Record the checkpoint when the check passed (default false). */
  record?: boolean;
}

function runOf(options: VerifyOptions): IncrementalRun {
  return { full: options.full ?? true, record: options.record ?? false, now: options.now ?? new Date() };
}

/**
 * Reads every open envelope, and the closed ones after `from` a page at a time (closed books
 * are final: finished, or refund booked), handing each batch to `examine`.
 */
async function eachEnvelope(
  q: Queryable,
  from: VerifyPosition,
  cut: VerifyCut,
  examine: (rows: EnvelopeBooksRow[]) => Promise<void>,
): Promise<{ open: number; closed: number }> {
  const seen = await examineOpenThenFinished(
    {
      open: await openEnvelopeBooks(q),
      finishedPage: (after, limit) => closedEnvelopeBooksPage(q, after, limit),
      finishedAt: (row) => row.closed_at!,
    },
    from,
    cut,
    PAGE,
    examine,
  );
  return { open: seen.open, closed: seen.finished };
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * The red-envelope books: every envelope's shares sum to its total; its grabbed amount is
 * the sum of the shares drawn; a finished one has none left; an expired one refunds exactly
 * the rest; and its escrow in the ledger holds exactly what is still owed (total − grabs −
 * refund), which also proves every grab's payout is in the ledger. Also envelopes that never
 * opened: a failed envelope's escrow is empty, or holds exactly the refund decided and not yet
 * booked; a funding envelope is younger than the bound, or its payment is still pending at
 * the bank. One snapshot, so grabs committing meanwhile cannot show as a mismatch; an envelope
 * whose books closed is checked once, after the checkpoint (unless `full`), open ones every run.
 */
export function verifyEnvelopeBooks(
  db: Database,
  ledger: Ledger,
  options: VerifyOptions = {},
): Promise<VerifyCheck> {
  const now = (options.now ?? new Date()).getTime();
  const bound = options.fundingBoundMs ?? 600_000;
  return runIncremental(
    db,
    redpacketVerifyCheckpoints,
    { key: 'envelope_books', name: 'redpacket: shares, grabs, refunds and escrows agree' },
    runOf(options),
    async (tx, from, cut) => {
      const violations: string[] = [];
      const seen = await eachEnvelope(tx, from, cut, async (rows) => {
        const escrows = new Map(
          (
            await ledger.lookupAccounts(
              rows.map((r) => r.escrow_account_id),
              tx,
            )
          ).map((a) => [a.id, a]),
        );
        const overdue = rows.filter((r) => r.status === 'funding' && now - r.created_at.getTime() > bound);
        const pending =
          overdue.length > 0
            ? await ledger.lookupPending(
                overdue.map((r) => r.fund_transfer_id),
                tx,
              )
            : new Map();
        for (const row of rows) {
          const account = escrows.get(row.escrow_account_id);
          const held = account ? availableBalance(account, 'credit') : 0n;
          if (row.problem) violations.push(`envelope ${row.id}: ${row.problem}`);
          if (row.status === 'failed') {
            const refundPending = row.refund_amount !== null && !row.refund_booked ? row.refund_amount : 0n;
            if (held !== 0n && held !== refundPending)
              violations.push(`envelope ${row.id}: failed, but its escrow holds ${held} not refunded`);
          } else if (row.status === 'funding') {
            if (
              now - row.created_at.getTime() > bound &&
              pending.get(row.fund_transfer_id)?.status !== 'pending'
            )
              violations.push(
                `envelope ${row.id}: funding for ${Math.round((now - row.created_at.getTime()) / 1000)} s with no pending payment (escrow holds ${held})`,
              );
          } else if (held !== row.owed && held !== row.owed + row.refund_pending) {
            // Grabs commit with their payouts, so the escrow holds exactly what is still owed;
            // only an expired envelope whose refund is not booked yet still holds its refund too.
            violations.push(
              `envelope ${row.id}: escrow holds ${held}, owes ${row.owed}${row.refund_pending > 0n ? ` (+${row.refund_pending} refund not yet booked)` : ''}`,
            );
          }
        }
      });
      return { violations, examined: `${count(seen.closed)} closed + ${count(seen.open)} open envelopes` };
    },
  );
}

/** The books check's violations, over every envelope unless `options` say otherwise (tests, fixtures). */
export async function verifyRedpackets(
  db: Database,
  ledger: Ledger,
  options: VerifyOptions = {},
): Promise<string[]> {
  return (await verifyEnvelopeBooks(db, ledger, options)).violations;
}

/**
 * Each grabber's payout is in the ledger as the envelope's grab says: the transfer with the
 * grab's deterministic id exists and moves exactly the grabber's share from the envelope's
 * escrow to the grabber's wallet, under the grab code. (The books check above proves only the
 * totals: a payout redirected to another wallet, or two shares swapped, keeps them.) One
 * snapshot, so grabs committing meanwhile cannot show as missing payouts; grabs of a closed
 * envelope are checked once, after the checkpoint (unless `full`), open ones every run.
 */
export function verifyGrabPayouts(
  db: Database,
  ledger: Ledger,
  options: VerifyOptions = {},
): Promise<VerifyCheck> {
  return runIncremental(
    db,
    redpacketVerifyCheckpoints,
    { key: 'grab_payouts', name: "redpacket: each grabber's payout matches the grab" },
    runOf(options),
    async (tx, from, cut) => {
      const violations: string[] = [];
      let grabs = 0;
      const seen = await eachEnvelope(tx, from, cut, async (envelopes) => {
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
      });
      return {
        violations,
        examined: `${count(grabs)} grabs in ${count(seen.closed)} closed + ${count(seen.open)} open envelopes`,
      };
    },
  );
}

/**
 * Orphan holds, the red envelopes' part: every open ledger hold under the envelope funding code
 * (a card payment into an escrow, still at the bank) funds an envelope. A hold that funds none
 * would move money into an escrow nobody can grab or refund. Open holds are few: read in full
 * every run. One snapshot.
 */
export function verifyEnvelopeHolds(db: Database, ledger: Ledger): Promise<VerifyCheck> {
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
      return {
        name: 'redpacket: every open funding hold funds an envelope',
        ok: violations.length === 0,
        violations,
        examined: `${count(holds.length)} open holds`,
      };
    },
    { isolation: 'repeatable read' },
  );
}
