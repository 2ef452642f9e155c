import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../platform/clock.ts';
import { uuidv7 } from '../platform/ids.ts';
import { createTestDatabase, type TestDatabase } from '../platform/testing/database.ts';
import {
  AccountFlags as AF,
  Ledger,
  Ledgers,
  TransferFlags as TF,
  CreateTransferResult as TR,
} from './index.ts';

/**
 * A pending transfer releases its funds at its deadline, for every read and every validation,
 * whether or not the expiry job has run (TigerBeetle's semantics). Each test acts one second
 * after a deadline with the job deliberately not run, and expects exactly one outcome.
 */
let database: TestDatabase;
let ledger: Ledger;
const clock = new ManualClock('2026-03-01T00:00:00Z');

before(async () => {
  database = await createTestDatabase();
  ledger = new Ledger({ db: database.db, clock });
});
after(async () => {
  await ledger.close();
  await database.drop();
});

const id = () => uuidv7();

/** A wallet (no overdraft) funded with `amount`, and a counterparty. */
async function fundedWallet(amount: bigint) {
  const [wallet, other, bank] = [id(), id(), id()];
  await ledger.createAccounts([
    { id: wallet, ledger: Ledgers.CNY, code: 1, flags: AF.debits_must_not_exceed_credits },
    { id: other, ledger: Ledgers.CNY, code: 1 },
    { id: bank, ledger: Ledgers.CNY, code: 1 },
  ]);
  const [funded] = await ledger.createTransfers([
    { id: id(), debitAccountId: bank, creditAccountId: wallet, amount, ledger: Ledgers.CNY, code: 1 },
  ]);
  assert.equal(funded!.result, TR.ok);
  return { wallet, other };
}

async function hold(debit: string, credit: string, amount: bigint, timeout: number, flags = 0) {
  const holdId = id();
  const [held] = await ledger.createTransfers([
    {
      id: holdId,
      debitAccountId: debit,
      creditAccountId: credit,
      amount,
      ledger: Ledgers.CNY,
      code: 2,
      flags: TF.pending | flags,
      timeout,
    },
  ]);
  assert.equal(held!.result, TR.ok);
  return holdId;
}

test('one second after the deadline the hold no longer counts: reads, spending, post and void', async () => {
  const { wallet, other } = await fundedWallet(100n);
  const holdId = await hold(wallet, other, 100n, 30);
  const [held] = await ledger.lookupAccounts([wallet]);
  assert.equal(held!.debitsPending, 100n);

  clock.advance(31_000); // deadline + 1 s; the expiry job is not run
  const [walletNow, otherNow] = await ledger.lookupAccounts([wallet, other]);
  assert.equal(walletNow!.debitsPending, 0n);
  assert.equal(otherNow!.creditsPending, 0n);
  const state = (await ledger.lookupPending([holdId])).get(holdId)!;
  assert.equal(state.status, 'expired');

  // The released funds can be spent at once: exactly one outcome, ok.
  const [spend] = await ledger.createTransfers([
    { id: id(), debitAccountId: wallet, creditAccountId: other, amount: 100n, ledger: Ledgers.CNY, code: 3 },
  ]);
  assert.equal(spend!.result, TR.ok);
  const [post] = await ledger.createTransfers([
    { id: id(), pendingId: holdId, amount: 100n, flags: TF.post_pending_transfer },
  ]);
  assert.equal(post!.result, TR.pending_transfer_expired);
  const [voided] = await ledger.createTransfers([
    { id: id(), pendingId: holdId, amount: 0n, flags: TF.void_pending_transfer },
  ]);
  assert.equal(voided!.result, TR.pending_transfer_expired);

  // The job only writes down what already holds: nothing left to expire, balances unchanged.
  assert.equal(await ledger.expirePendingTransfers(), 0);
  const [after] = await ledger.lookupAccounts([wallet]);
  assert.deepEqual([after!.debitsPending, after!.debitsPosted, after!.creditsPosted], [0n, 100n, 100n]);
  assert.equal((await ledger.lookupPending([holdId])).get(holdId)!.status, 'expired');
  const report = await ledger.verify();
  assert.ok(report.ok, JSON.stringify(report.violations));
});

test('one second before the deadline the hold still counts and can be posted', async () => {
  const { wallet, other } = await fundedWallet(100n);
  const holdId = await hold(wallet, other, 60n, 30);
  clock.advance(29_000);
  const [spend] = await ledger.createTransfers([
    { id: id(), debitAccountId: wallet, creditAccountId: other, amount: 41n, ledger: Ledgers.CNY, code: 3 },
  ]);
  assert.equal(spend!.result, TR.exceeds_credits);
  const [post] = await ledger.createTransfers([
    { id: id(), pendingId: holdId, amount: 60n, flags: TF.post_pending_transfer },
  ]);
  assert.equal(post!.result, TR.ok);
  clock.advance(2_000);
  const [account] = await ledger.lookupAccounts([wallet]);
  assert.deepEqual([account!.debitsPending, account!.debitsPosted], [0n, 60n]);
  assert.equal((await ledger.lookupPending([holdId])).get(holdId)!.status, 'posted');
});

test('a closing hold past its deadline reopens its account for reads and for transfers', async () => {
  const { wallet, other } = await fundedWallet(50n);
  await hold(wallet, other, 0n, 10, TF.closing_debit);
  const [closed] = await ledger.lookupAccounts([wallet]);
  assert.equal(closed!.closed, true);
  clock.advance(11_000);
  const [reopened] = await ledger.lookupAccounts([wallet]);
  assert.equal(reopened!.closed, false);
  const [spend] = await ledger.createTransfers([
    { id: id(), debitAccountId: wallet, creditAccountId: other, amount: 50n, ledger: Ledgers.CNY, code: 3 },
  ]);
  assert.equal(spend!.result, TR.ok);
});

test('another process acting after the deadline sees it too, and a concurrent job expires it exactly once', async () => {
  const { wallet, other } = await fundedWallet(150n);
  const holds = [await hold(wallet, other, 40n, 20), await hold(wallet, other, 60n, 20)];
  const third = await hold(wallet, other, 50n, 40); // not yet due: still counts after 21 s
  clock.advance(21_000);
  const [released] = await ledger.lookupAccounts([wallet]);
  assert.equal(released!.debitsPending, 50n); // both due holds released (summed), the third kept
  const [counterparty] = await ledger.lookupAccounts([other]);
  assert.equal(counterparty!.creditsPending, 50n);
  assert.equal((await ledger.lookupPending([third])).get(third)!.status, 'pending');
  const second = new Ledger({ db: database.db, clock });
  try {
    const [expired, [spend]] = await Promise.all([
      ledger.expirePendingTransfers(),
      second.createTransfers([
        {
          id: id(),
          debitAccountId: wallet,
          creditAccountId: other,
          amount: 100n,
          ledger: Ledgers.CNY,
          code: 3,
        },
      ]),
    ]);
    assert.equal(spend!.result, TR.ok);
    assert.ok(expired === 0 || expired === 2, `job expired ${expired}`);
  } finally {
    await second.close();
  }
  assert.equal(await ledger.expirePendingTransfers(), 0);
  const states = await ledger.lookupPending(holds);
  assert.deepEqual(
    holds.map((h) => states.get(h)!.status),
    ['expired', 'expired'],
  );
  const [account] = await ledger.lookupAccounts([wallet]);
  assert.deepEqual(
    [account!.debitsPending, account!.debitsPosted, account!.creditsPosted],
    [50n, 100n, 150n],
  );
  const report = await ledger.verify();
  assert.ok(report.ok, JSON.stringify(report.violations));
});
