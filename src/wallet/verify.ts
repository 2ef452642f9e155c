import type { Ledger } from '../ledger/index.ts';
import type { Database } from '../platform/db/database.ts';
import { transitAccount } from './context.ts';

/** One `tuyere verify` check (same shape as src/cli/verify.ts's VerifyCheck). */
export interface WalletCheck {
  name: string;
  ok: boolean;
  violations: string[];
}

const BATCH = 2000;
/** A pending bank operation this old that was never polled means the poller is not running. */
export const UNPOLLED_PENDING_MAX_MS = 3_600_000;

/**
 * The wallet's invariants, checked against the ledger:
 * - every bank operation's state agrees with its pending transfer (succeeded <-> posted,
 *   failed <-> voided/expired or never booked, pending <-> pending);
 * - no operation has been pending for an hour without a poll;
 * - every friend transfer still in transit has exactly its amount in its transit account,
 *   and every finished one has none left.
 * Balances need no check of their own: the wallet keeps none; it reads the ledger's.
 */
export async function verifyWallet(db: Database, ledger: Ledger, now: Date): Promise<WalletCheck[]> {
  const operations: string[] = [];
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await db.query<{ id: string; state: string }>(
      'SELECT id, state FROM wallet_bank_operations WHERE id > $1 ORDER BY id LIMIT $2',
      [after, BATCH],
    );
    if (rows.length === 0) break;
    const pending = await ledger.lookupPending(rows.map((r) => r.id));
    for (const row of rows) {
      const status = pending.get(row.id)?.status ?? 'missing';
      const agrees =
        (row.state === 'pending' && (status === 'pending' || status === 'missing')) ||
        (row.state === 'succeeded' && status === 'posted') ||
        (row.state === 'failed' && (status === 'voided' || status === 'expired' || status === 'missing'));
      if (!agrees)
        operations.push(`bank operation ${row.id} is ${row.state} but its ledger transfer is ${status}`);
    }
    after = rows[rows.length - 1]!.id;
  }
  const stale = await db.query<{ id: string }>(
    "SELECT id FROM wallet_bank_operations WHERE state = 'pending' AND polls = 0 AND created_at < $1 LIMIT 100",
    [new Date(now.getTime() - UNPOLLED_PENDING_MAX_MS)],
  );
  const transit: string[] = [];
  after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await db.query<{ id: string; amount: bigint; state: string }>(
      'SELECT id, amount, state FROM wallet_transfers WHERE via_transit AND id > $1 ORDER BY id LIMIT $2',
      [after, BATCH],
    );
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
      ok: stale.rows.length === 0,
      violations: stale.rows.map((r) => `bank operation ${r.id} was never polled`),
    },
    {
      name: 'wallet: friend transfers in transit hold exactly their amount',
      ok: transit.length === 0,
      violations: transit,
    },
  ];
}
