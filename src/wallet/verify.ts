import { type Ledger, TransferFlags } from '../ledger/index.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import type { VerifyCheck } from '../platform/module.ts';
import { examineOpenThenFinished, type IncrementalRun, runIncremental } from '../platform/verify-position.ts';
import { feeId, HOLD_NEVER_BOOKED_REASONS } from './bank-operations.ts';
import { WalletTransfers } from './chart.ts';
import { feeRevenueAccount, transitAccount, walletAccount } from './context.ts';
import { withdrawalFee } from './rules.ts';
import {
  finishedOperationStatesPage,
  finishedTransitTransfersPage,
  finishedWithdrawalsPage,
  type OperationStateRow,
  operationsByIds,
  pendingWithdrawalsWithFee,
  type TransitTransferRow,
  unfinishedOperationStates,
  unfinishedTransitTransfers,
  unfinishedWithdrawals,
  unpolledPendingOperations,
  type WithdrawalRow,
  walletVerifyCheckpoints,
} from './store/verify.ts';

const BATCH = 2000;
/**
 * A pending operation whose hold the ledger resolved less than this long ago is being settled
 * (`settle` posts or voids, then writes the row): not a violation yet. Recovery runs every 30 s,
 * so one still pending after this is stuck.
 */
const SETTLING_GRACE_MS = 60_000;
/** A pending bank operation this old that was never polled means the poller is not running. */
const UNPOLLED_PENDING_MAX_MS = 3_600_000;

/** How a wallet check runs: from its checkpoint unless `full`, recording one if `record`. */
export type WalletVerifyRun = IncrementalRun;

/**
 * The wallet's invariants, checked against the ledger, each in one snapshot of its own:
 * - every bank operation's state agrees with its pending transfer, exactly: pending <-> pending
 *   (a pending operation without its hold is what the bank must never be asked to pay),
 *   succeeded <-> posted, failed <-> voided or expired; failed without any hold only when the
 *   hold was never booked (refused, or healed `hold_missing`) and the bank never heard of it;
 *   a pending row whose hold was resolved within the last minute is being settled, not wrong;
 * - no operation has been pending for an hour without a poll;
 * - every friend transfer still in transit has exactly its amount in its transit account,
 *   and every finished one has none left.
 * Finished operations and transfers are final: each is checked once, after its checkpoint
 * (unless `full`); pending and in-transit ones are read in full every run.
 * Balances need no check of their own: the wallet keeps none; it reads the ledger's.
 */
export async function verifyWallet(
  db: Database,
  ledger: Ledger,
  run: WalletVerifyRun,
): Promise<VerifyCheck[]> {
  return [
    await verifyBankOperations(db, ledger, run),
    await verifyUnpolled(db, run.now),
    await verifyTransit(db, ledger, run),
  ];
}

function verifyBankOperations(db: Database, ledger: Ledger, run: WalletVerifyRun): Promise<VerifyCheck> {
  const now = run.now;
  return runIncremental(
    db,
    walletVerifyCheckpoints,
    { key: 'bank_operations', name: 'wallet: bank operations agree with the ledger' },
    run,
    async (tx, from, cut) => {
      const violations: string[] = [];
      const examine = async (rows: OperationStateRow[]) => {
        const pending = await ledger.lookupPending(
          rows.map((r) => r.id),
          tx,
        );
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
            violations.push(
              `bank operation ${row.id} is ${row.state} but its ledger transfer is ${status}${why}`,
            );
          }
        }
      };
      const seen = await examineOpenThenFinished(
        {
          open: await unfinishedOperationStates(tx),
          finishedPage: (after, limit) => finishedOperationStatesPage(tx, after, limit),
          finishedAt: (row) => row.resolved_at!,
        },
        from,
        cut,
        BATCH,
        examine,
      );
      return {
        violations,
        examined: `${count(seen.finished)} finished + ${count(seen.open)} pending bank operations`,
      };
    },
  );
}

async function verifyUnpolled(db: Database, now: Date): Promise<VerifyCheck> {
  const stale = await unpolledPendingOperations(db, new Date(now.getTime() - UNPOLLED_PENDING_MAX_MS), 100);
  return {
    name: 'wallet: no pending bank operation older than 1 h without a poll',
    ok: stale.length === 0,
    violations: stale.map((id) => `bank operation ${id} was never polled`),
  };
}

function verifyTransit(db: Database, ledger: Ledger, run: WalletVerifyRun): Promise<VerifyCheck> {
  return runIncremental(
    db,
    walletVerifyCheckpoints,
    { key: 'transit_transfers', name: 'wallet: friend transfers in transit hold exactly their amount' },
    run,
    async (tx, from, cut) => {
      const violations: string[] = [];
      const examine = async (rows: TransitTransferRow[]) => {
        const accounts = new Map(
          (
            await ledger.lookupAccounts(
              rows.map((r) => transitAccount(r.id)),
              tx,
            )
          ).map((a) => [a.id, a]),
        );
        for (const row of rows) {
          const account = accounts.get(transitAccount(row.id));
          const held = account ? account.creditsPosted - account.debitsPosted : 0n;
          const inFlight = row.state === 'scheduled' || row.state === 'awaiting_acceptance';
          if (held !== (inFlight ? row.amount : 0n)) {
            violations.push(`transfer ${row.id} is ${row.state} but its transit account holds ${held}`);
          }
        }
      };
      const seen = await examineOpenThenFinished(
        {
          open: await unfinishedTransitTransfers(tx),
          finishedPage: (after, limit) => finishedTransitTransfersPage(tx, after, limit),
          finishedAt: (row) => row.finished_at!,
        },
        from,
        cut,
        BATCH,
        examine,
      );
      return {
        violations,
        examined: `${count(seen.finished)} finished + ${count(seen.open)} in transit transfers`,
      };
    },
  );
}

/**
 * Withdrawal fees: each withdrawal's fee is the fee rule's (`withdrawalFee` at the configured
 * rate), and a fee above zero is held by its own pending transfer (deterministic id) of exactly
 * that fee from the user's wallet to fee revenue, under the fee code, which ends as the
 * withdrawal's hold ends (both posted, or neither). One snapshot; a finished withdrawal is
 * checked once, after its checkpoint (unless `full`), pending ones every run.
 *
 * Each withdrawal records the rule it was charged under (wallet migration 003), so a rate
 * change does not make older withdrawals report; rows from before that are checked against
 * today's setting.
 */
export function verifyWithdrawalFees(
  db: Database,
  ledger: Ledger,
  rule: { bps: number; min: bigint },
  run: WalletVerifyRun = { full: true, record: false, now: new Date() },
): Promise<VerifyCheck> {
  return runIncremental(
    db,
    walletVerifyCheckpoints,
    { key: 'withdrawal_fees', name: 'wallet: withdrawal fees follow the fee rule and their fee transfers' },
    run,
    async (tx, from, cut) => {
      const violations: string[] = [];
      const examine = async (rows: WithdrawalRow[]) => {
        const charged = rows.filter((row) => row.fee > 0n);
        const fees = new Map(
          (
            await ledger.lookupTransfers(
              charged.map((row) => feeId(row.id)),
              tx,
            )
          ).map((t) => [t.id, t]),
        );
        const ids = charged.flatMap((row) => [row.id, feeId(row.id)]);
        const pending = ids.length > 0 ? await ledger.lookupPending(ids, tx) : new Map();
        for (const row of rows) {
          // Each withdrawal against the rule it was charged under (older rows: today's).
          const bps = row.fee_bps ?? rule.bps;
          const min = row.fee_min ?? rule.min;
          const expected = withdrawalFee(row.amount, bps, min);
          if (row.fee !== expected)
            violations.push(
              `withdrawal ${row.id}: fee ${row.fee}, its fee rule (${bps} bp, min ${min}) gives ${expected} on ${row.amount}`,
            );
          if (row.fee === 0n) continue;
          const fee = fees.get(feeId(row.id));
          const mainStatus = pending.get(row.id)?.status;
          if (!fee) {
            // A withdrawal whose hold was never booked has no fee hold either.
            if (mainStatus !== undefined)
              violations.push(`withdrawal ${row.id}: its hold is booked but its fee transfer is missing`);
            continue;
          }
          if (
            fee.amount !== row.fee ||
            fee.debitAccountId !== walletAccount(row.user_id) ||
            fee.creditAccountId !== feeRevenueAccount ||
            fee.code !== WalletTransfers.withdrawalFee ||
            (fee.flags & TransferFlags.pending) === 0
          ) {
            violations.push(
              `withdrawal ${row.id}: fee transfer ${fee.id} moves ${fee.amount} from ${fee.debitAccountId} to ${fee.creditAccountId} (code ${fee.code}); the fee is ${row.fee} from the user's wallet to fee revenue`,
            );
          }
          const feeStatus = pending.get(fee.id)?.status;
          if ((feeStatus === 'posted') !== (mainStatus === 'posted'))
            violations.push(
              `withdrawal ${row.id}: its hold is ${mainStatus ?? 'missing'} but its fee hold is ${feeStatus}`,
            );
        }
      };
      const seen = await examineOpenThenFinished(
        {
          open: await unfinishedWithdrawals(tx),
          finishedPage: (after, limit) => finishedWithdrawalsPage(tx, after, limit),
          finishedAt: (row) => row.resolved_at!,
        },
        from,
        cut,
        BATCH,
        examine,
      );
      return {
        violations,
        examined: `${count(seen.finished)} finished + ${count(seen.open)} pending withdrawals`,
      };
    },
  );
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Orphan holds, the wallet's part: every open ledger hold under a wallet code (top-up,
 * withdrawal, withdrawal fee) belongs to a bank operation that is still pending. A hold whose
 * operation is gone, or over, blocks the user's money with nobody left to release it. (The
 * ledger's own orphan_holds check covers holds under codes no module owns.) One snapshot.
 */
export function verifyWalletHolds(db: Database, ledger: Ledger): Promise<VerifyCheck> {
  return inSnapshot(db, async (tx) => {
    const violations: string[] = [];
    const holds = await ledger.openHolds(
      [WalletTransfers.topUp, WalletTransfers.withdrawal, WalletTransfers.withdrawalFee],
      tx,
    );
    const feeOwners = new Map((await pendingWithdrawalsWithFee(tx)).map((id) => [feeId(id), id]));
    for (let start = 0; start < holds.length; start += BATCH) {
      const chunk = holds.slice(start, start + BATCH);
      const operations = new Map(
        (
          await operationsByIds(
            tx,
            chunk.filter((h) => h.code !== WalletTransfers.withdrawalFee).map((h) => h.id),
          )
        ).map((op) => [op.id, op]),
      );
      for (const hold of chunk) {
        if (hold.code === WalletTransfers.withdrawalFee) {
          if (!feeOwners.has(hold.id))
            violations.push(`fee hold ${hold.id} (${hold.amount}) belongs to no pending withdrawal`);
          continue;
        }
        const op = operations.get(hold.id);
        if (!op) violations.push(`hold ${hold.id} (${hold.amount}, code ${hold.code}) has no bank operation`);
        else if (op.state !== 'pending')
          violations.push(`hold ${hold.id} (${hold.amount}) is open but its bank operation is ${op.state}`);
      }
    }
    return {
      name: 'wallet: every open wallet hold belongs to a pending bank operation',
      ok: violations.length === 0,
      violations,
      examined: `${holds.length.toLocaleString('en-US')} open holds`,
    };
  });
}

/** One read-only REPEATABLE READ snapshot for a check. */
function inSnapshot<T>(db: Database, work: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(
    async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      return work(tx);
    },
    { isolation: 'repeatable read' },
  );
}
