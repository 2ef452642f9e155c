import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../platform/clock.ts';
import { uuidv7 } from '../platform/ids.ts';
import { createTestDatabase, type TestDatabase } from '../platform/testing/database.ts';
import {
  AccountFlags as AF,
  CreateAccountResult as AR,
  Ledger,
  Ledgers,
  TransferFlags as TF,
  CreateTransferResult as TR,
} from './index.ts';

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
async function accounts(count: number, flags = 0) {
  const ids = Array.from({ length: count }, id);
  const results = await ledger.createAccounts(
    ids.map((account) => ({ id: account, ledger: Ledgers.CNY, code: 1, flags })),
  );
  assert.deepEqual(
    results.map((r) => r.result),
    ids.map(() => AR.ok),
  );
  return ids;
}

test('a transfer moves money and is idempotent', async () => {
  const [a, b] = await accounts(2);
  const transfer = {
    id: id(),
    debitAccountId: a!,
    creditAccountId: b!,
    amount: 500n,
    ledger: Ledgers.CNY,
    code: 9,
  };
  const [first] = await ledger.createTransfers([transfer]);
  assert.equal(first!.result, TR.ok);
  const [again] = await ledger.createTransfers([transfer]);
  assert.equal(again!.result, TR.exists);
  assert.equal(again!.timestamp, first!.timestamp);
  const [different] = await ledger.createTransfers([{ ...transfer, amount: 501n }]);
  assert.equal(different!.result, TR.exists_with_different_amount);
  const [accountA, accountB] = await ledger.lookupAccounts([a!, b!]);
  assert.equal(accountA!.debitsPosted, 500n);
  assert.equal(accountB!.creditsPosted, 500n);
  assert.equal((await ledger.verify()).ok, true);
});

test('overdraft is refused and a failed linked chain rolls back without touching other callers', async () => {
  const [source] = await accounts(1);
  const [wallet, merchant] = await accounts(2, AF.debits_must_not_exceed_credits);
  await ledger.createTransfers([
    { id: id(), debitAccountId: source!, creditAccountId: wallet!, amount: 100n, ledger: 1, code: 1 },
  ]);
  const chain = [
    {
      id: id(),
      debitAccountId: wallet!,
      creditAccountId: merchant!,
      amount: 60n,
      ledger: 1,
      code: 1,
      flags: TF.linked,
    },
    { id: id(), debitAccountId: wallet!, creditAccountId: merchant!, amount: 60n, ledger: 1, code: 1 },
  ];
  const other = {
    id: id(),
    debitAccountId: source!,
    creditAccountId: merchant!,
    amount: 5n,
    ledger: 1,
    code: 1,
  };
  const [chainResults, otherResults] = await Promise.all([
    ledger.createTransfers(chain),
    ledger.createTransfers([other]),
  ]);
  assert.deepEqual(
    chainResults.map((r) => r.result),
    [TR.linked_event_failed, TR.exceeds_credits],
  );
  assert.equal(otherResults[0]!.result, TR.ok);
  const [walletAccount] = await ledger.lookupAccounts([wallet!]);
  assert.equal(walletAccount!.debitsPosted, 0n);
  assert.equal((await ledger.verify()).ok, true);
});

test('pending transfers post partially, void, and expire exactly once', async () => {
  const [a, b] = await accounts(2);
  const hold = id();
  const expiring = id();
  const voided = id();
  const results = await ledger.createTransfers([
    {
      id: hold,
      debitAccountId: a!,
      creditAccountId: b!,
      amount: 100n,
      ledger: 1,
      code: 1,
      flags: TF.pending,
    },
    {
      id: expiring,
      debitAccountId: a!,
      creditAccountId: b!,
      amount: 30n,
      ledger: 1,
      code: 1,
      flags: TF.pending,
      timeout: 60,
    },
    {
      id: voided,
      debitAccountId: a!,
      creditAccountId: b!,
      amount: 7n,
      ledger: 1,
      code: 1,
      flags: TF.pending,
    },
  ]);
  assert.deepEqual(
    results.map((r) => r.result),
    [TR.ok, TR.ok, TR.ok],
  );
  const post = await ledger.createTransfers([
    { id: id(), pendingId: hold, amount: 40n, flags: TF.post_pending_transfer },
    { id: id(), pendingId: voided, amount: 0n, flags: TF.void_pending_transfer },
    { id: id(), pendingId: hold, amount: 0n, flags: TF.void_pending_transfer },
  ]);
  assert.deepEqual(
    post.map((r) => r.result),
    [TR.ok, TR.ok, TR.pending_transfer_already_posted],
  );
  assert.equal(await ledger.expirePendingTransfers(), 0);
  clock.advance(61_000);
  assert.equal(await ledger.expirePendingTransfers(), 1);
  assert.equal(await ledger.expirePendingTransfers(), 0);
  const [late] = await ledger.createTransfers([
    { id: id(), pendingId: expiring, amount: 0n, flags: TF.post_pending_transfer },
  ]);
  assert.equal(late!.result, TR.pending_transfer_expired);
  const [accountA] = await ledger.lookupAccounts([a!]);
  assert.equal(accountA!.debitsPending, 0n);
  assert.equal(accountA!.debitsPosted, 40n);
  assert.equal((await ledger.lookupPending([expiring])).get(expiring)!.status, 'expired');
  assert.equal((await ledger.verify()).ok, true);
});

test('history pages and balances as of a timestamp', async () => {
  const [a] = await accounts(1, AF.history);
  const [b] = await accounts(1);
  const stamps: bigint[] = [];
  for (let i = 1; i <= 5; i++) {
    const [r] = await ledger.createTransfers([
      { id: id(), debitAccountId: b!, creditAccountId: a!, amount: BigInt(i), ledger: 1, code: 1 },
    ]);
    stamps.push(r!.timestamp!);
  }
  const first = await ledger.getAccountHistory(a!, { limit: 2 });
  assert.equal(first.transfers.length, 2);
  const second = await ledger.getAccountHistory(a!, { limit: 2, after: first.nextCursor! });
  const third = await ledger.getAccountHistory(a!, { limit: 2, after: second.nextCursor! });
  assert.deepEqual(
    [...first.transfers, ...second.transfers, ...third.transfers].map((t) => t.amount),
    [1n, 2n, 3n, 4n, 5n],
  );
  assert.equal(third.nextCursor, null);
  const asOf = await ledger.getBalancesAsOf(a!, stamps[2]!);
  assert.equal(asOf!.creditsPosted, 6n);
});

test('two ledgers (as two processes would) expiring the same pending transfers void each exactly once', async () => {
  const [a, b] = await accounts(2);
  const holds = Array.from({ length: 300 }, () => id());
  await ledger.createTransfers(
    holds.map((hold) => ({
      id: hold,
      debitAccountId: a!,
      creditAccountId: b!,
      amount: 2n,
      ledger: 1,
      code: 1,
      flags: TF.pending,
      timeout: 30,
    })),
  );
  clock.advance(31_000);
  const other = new Ledger({ db: database.db, clock });
  try {
    const counts = await Promise.all([
      ledger.expirePendingTransfers(clock.now(), 64),
      other.expirePendingTransfers(clock.now(), 64),
      ledger.expirePendingTransfers(clock.now(), 64),
    ]);
    assert.equal(
      counts.reduce((sum, count) => sum + count, 0),
      holds.length,
    );
  } finally {
    await other.close();
  }
  const [accountA] = await ledger.lookupAccounts([a!]);
  assert.equal(accountA!.debitsPending, 0n);
  assert.equal(accountA!.debitsPosted, 0n);
  const report = await ledger.verify();
  assert.ok(report.ok, JSON.stringify(report.violations));
});

test('pipelined batches that touch rows the previous batch is still inserting lose nothing', async () => {
  // One event per database batch, so consecutive submissions are consecutive pipelined
  // batches: each creates what the next one updates.
  const pipelined = new Ledger({ db: database.db, clock, writer: { batchEventsMax: 1 } });
  try {
    for (let round = 0; round < 25; round++) {
      const [a, b, hold] = [id(), id(), id()];
      const results = await Promise.all([
        pipelined.createAccounts([{ id: a, ledger: 1, code: 1 }]),
        pipelined.createAccounts([{ id: b, ledger: 1, code: 1 }]),
        pipelined.createTransfers([
          {
            id: hold,
            debitAccountId: a,
            creditAccountId: b,
            amount: 9n,
            ledger: 1,
            code: 1,
            flags: TF.pending,
          },
        ]),
        pipelined.createTransfers([
          { id: id(), pendingId: hold, amount: 4n, flags: TF.post_pending_transfer },
        ]),
        pipelined.createTransfers([
          { id: id(), debitAccountId: b, creditAccountId: a, amount: 1n, ledger: 1, code: 1 },
        ]),
      ]);
      assert.deepEqual(
        results.map((r) => r[0]!.result),
        ['ok', 'ok', 'ok', 'ok', 'ok'],
      );
      const [accountA] = await ledger.lookupAccounts([a]);
      assert.deepEqual(
        [accountA!.debitsPending, accountA!.debitsPosted, accountA!.creditsPosted],
        [0n, 4n, 1n],
      );
      assert.equal((await ledger.lookupPending([hold])).get(hold)!.status, 'posted');
    }
  } finally {
    await pipelined.close();
  }
  const report = await ledger.verify();
  assert.ok(report.ok, JSON.stringify(report.violations));
});
