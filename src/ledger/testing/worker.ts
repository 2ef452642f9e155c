/**
 * A ledger client process for the multi-process and crash tests. Posts transfers between the
 * given accounts from many concurrent callers and prints `ack <id>,<id>...` after each
 * acknowledged call (stdout to a pipe is synchronous on Linux, so a printed ack was really
 * sent before any kill).
 *
 * env: LEDGER_WORKER_DATABASE_URL, LEDGER_WORKER_ACCOUNTS (comma-separated ids),
 *      LEDGER_WORKER_TRANSFERS (stop after this many; 0 = until killed), LEDGER_WORKER_CALLERS.
 */
import { systemClock } from '../../platform/clock.ts';
import { Database } from '../../platform/db/database.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { Ledger, type TransferEvent, TransferFlags } from '../index.ts';

const accounts = process.env.LEDGER_WORKER_ACCOUNTS!.split(',');
const limit = Number(process.env.LEDGER_WORKER_TRANSFERS ?? 0);
const callers = Number(process.env.LEDGER_WORKER_CALLERS ?? 32);
const db = new Database({ url: process.env.LEDGER_WORKER_DATABASE_URL!, poolMax: 4 });
const ledger = new Ledger({ db, clock: systemClock });

let started = 0;
const pick = () => accounts[Math.floor(Math.random() * accounts.length)]!;

function transfers(): TransferEvent[] {
  const debit = pick();
  let credit = pick();
  while (credit === debit) credit = pick();
  const amount = BigInt(1 + Math.floor(Math.random() * 100));
  if (Math.random() < 0.2) {
    // A linked pair: hold then capture in the same chain.
    const hold = uuidv7();
    return [
      {
        id: hold,
        debitAccountId: debit,
        creditAccountId: credit,
        amount,
        ledger: 1,
        code: 2,
        flags: TransferFlags.pending | TransferFlags.linked,
      },
      { id: uuidv7(), pendingId: hold, amount: 0n, flags: TransferFlags.post_pending_transfer },
    ];
  }
  return [{ id: uuidv7(), debitAccountId: debit, creditAccountId: credit, amount, ledger: 1, code: 1 }];
}

async function caller(): Promise<void> {
  while (limit === 0 || started < limit) {
    const events = transfers();
    started += events.length;
    const results = await ledger.createTransfers(events);
    const acked = results
      .filter((r) => r.result === 'ok' || r.result === 'exists')
      .map((r) => events[r.index]!.id);
    if (acked.length !== events.length) throw new Error(`unexpected results ${results.map((r) => r.result)}`);
    process.stdout.write(`ack ${acked.join(',')}\n`);
  }
}

await Promise.all(Array.from({ length: callers }, caller));
await ledger.close();
await db.close();
