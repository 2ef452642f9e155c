import type { Ledger } from '../ledger/index.ts';
import type { Database } from '../platform/db/database.ts';
import type { VerifyCheck } from '../platform/module.ts';
import { HOLD_NEVER_BOOKED_REASONS } from './bank-operations.ts';
import { transitAccount } from './context.ts';
import { operationStatesPage, transitTransfersPage, unpolledPendingOperations } from './store/verify.ts';

const BATCH = 2000;
/**
 * A pending operation whose hold the ledger resolved less than this long ago is being settled
 * (`settle` posts or voids, then writes the row): not a violation yet. Recovery runs every 30 s,
 * so one still pending after this is stuck.
 */
const SETTLING_GRACE_MS = 60_000;
/** A pending bank operation this old that was never polled means the poller is not running. */
const UNPOLLED_PENDING_MAX_MS = 3_600_000;

/**
 * The wallet's invariants, checked against the ledger:
 * - every bank operation's state agrees with its pending transfer, exactly: pending <-> pending
 *   (a pending operation without its hold is what the bank must never be asked to pay),
 *   succeeded <-> posted, failed <-> voided or expired; failed without any hold only when the
 *   hold was never booked (refused, or healed `hold_missing`) and the bank never heard of it;
 *   a pending row whose hold was resolved within the last minute is being settled, not wrong;
 * - no operation has been pending for an hour without a poll;
 * - every friend transfer still in transit has exactly its amount in its transit account,
 *   and every finished one has none left.
 * Balances need no check of their own: the wallet keeps none; it reads the ledger's.
 */
export async function verifyWallet(db: Database, ledger: Ledger, now: Date): Promise<VerifyCheck[]> {
  const operations: string[] = [];
  let after: string | undefined;
  for (;;) {
    const rows = await operationStatesPage(db, after, BATCH);
    if (rows.length === 0) break;
    const pending = await ledger.lookupPending(rows.map((r) => r.id));
    for (const row of rows) {
      const hold = pending.get(row.id);
      const status = hold?.status ?? 'missing';
      const settling =
        row.state === 'pending' &&
        hold?.resolvedAt != null &&
        now.getTime() - Number(hold.resolvedAt / 1_000_000n) < SETTLING_GRACE_MS;
      const neverHeld =
        status === 'missing' &&
        !row.bank_involved &&
        HOLD_NEVER_BOOKED_REASONS.includes(row.failure_reason ?? '');
      const agrees =
        (row.state === 'pending' && (status === 'pending' || settling)) ||
        (row.state === 'succeeded' && status === 'posted') ||
        (row.state === 'failed' && (status === 'voided' || status === 'expired' || neverHeld));
      if (!agrees) {
        const why =
          row.state === 'failed' && status === 'missing'
            ? ` (${row.failure_reason ?? 'no reason'}${row.bank_involved ? ', sent to the bank' : ''})`
            : '';
        operations.push(
          `bank operation ${row.id} is ${row.state} but its ledger transfer is ${status}${why}`,
        );
      }
    }
    after = rows[rows.length - 1]!.id;
  }
  const stale = await unpolledPendingOperations(db, new Date(now.getTime() - UNPOLLED_PENDING_MAX_MS), 100);
  const transit: string[] = [];
  after = undefined;
  for (;;) {
    const rows = await transitTransfersPage(db, after, BATCH);
    if (rows.length === 0) break;
    const accounts = new Map(
      (await ledger.lookupAccounts(rows.map((r) => transitAccount(r.id)))).map((a) => [a.id, a]),
    );
    for (const row of rows) {
      const account = accounts.get(transitAccount(row.id));
      const held = account ? account.creditsPosted - account.debitsPosted : 0n;
      const inFlight = row.state === 'scheduled' || row.state === 'awaiting_acceptance';
      if (held !== (inFlight ? row.amount : 0n)) {
        transit.push(`transfer ${row.id} is ${row.state} but its transit account holds ${held}`);
      }
    }
    after = rows[rows.length - 1]!.id;
  }
  return [
    {
      name: 'wallet: bank operations agree with the ledger',
      ok: operations.length === 0,
      violations: operations,
    },
    {
      name: 'wallet: no pending bank operation older than 1 h without a poll',
      ok: stale.length === 0,
      violations: stale.map((id) => `bank operation ${id} was never polled`),
    },
    {
      name: 'wallet: friend transfers in transit hold exactly their amount',
      ok: transit.length === 0,
      violations: transit,
    },
  ];
}
