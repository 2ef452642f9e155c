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

/**
 * Imported events (TigerBeetle's `imported` flag): an existing ledger's history migrated with
 * its own timestamps, through the database-backed writer.
 */
let database: TestDatabase;
let ledger: Ledger;
const clock = new ManualClock('2026-03-01T00:00:00Z');
const DAY_NS = 86_400n * 1_000_000_000n;
const past = (days: number) =>
  BigInt(Date.parse('2026-03-01T00:00:00Z')) * 1_000_000n - BigInt(days) * DAY_NS;

before(async () => {
  database = await createTestDatabase();
  ledger = new Ledger({ db: database.db, clock });
});
after(async () => {
  await ledger.close();
  await database.drop();
});

const id = () => uuidv7();

test('imported accounts and transfers keep their timestamps; the rules answer as TigerBeetle does', async () => {
  const [a, b] = [id(), id()];
  const base = past(30);
  const accounts = await ledger.createAccounts([
    { id: a, ledger: Ledgers.CNY, code: 1, flags: AF.imported, timestamp: base },
    { id: b, ledger: Ledgers.CNY, code: 1, flags: AF.imported, timestamp: base + 1n },
  ]);
  assert.deepEqual(
    accounts.map((o) => [o.result, o.timestamp]),
    [
      [AR.ok, base],
      [AR.ok, base + 1n],
    ],
  );

  const pendingId = id();
  const imported = await ledger.createTransfers([
    {
      id: id(),
      debitAccountId: a,
      creditAccountId: b,
      amount: 10n,
      ledger: 1,
      code: 1,
      flags: TF.imported | TF.linked,
      timestamp: base + 10n,
    },
    {
      id: pendingId,
      debitAccountId: a,
      creditAccountId: b,
      amount: 5n,
      ledger: 1,
      code: 1,
      flags: TF.imported | TF.pending | TF.linked,
      timestamp: base + 11n,
    },
    {
      id: id(),
      pendingId,
      amount: 5n,
      flags: TF.imported | TF.post_pending_transfer,
      timestamp: base + 12n,
    },
  ]);
  assert.deepEqual(
    imported.map((o) => [o.result, o.timestamp]),
    [
      [TR.ok, base + 10n],
      [TR.ok, base + 11n],
      [TR.ok, base + 12n],
    ],
  );
  const [stored] = await ledger.lookupTransfers([pendingId]);
  assert.equal(stored!.timestamp, base + 11n);
  const [accountA] = await ledger.lookupAccounts([a]);
  assert.deepEqual([accountA!.debitsPending, accountA!.debitsPosted, accountA!.timestamp], [0n, 15n, base]);

  const plain = { id: id(), debitAccountId: a, creditAccountId: b, amount: 1n, ledger: 1, code: 1 };
  const mixed = await ledger.createTransfers([
    { ...plain, flags: TF.imported, timestamp: base + 20n },
    { ...plain, id: id() },
  ]);
  assert.deepEqual(
    mixed.map((o) => o.result),
    [TR.ok, TR.imported_event_expected],
  );
  const [regress] = await ledger.createTransfers([
    { ...plain, id: id(), flags: TF.imported, timestamp: base + 15n },
  ]);
  assert.equal(regress!.result, TR.imported_event_timestamp_must_not_regress);
  const [future] = await ledger.createTransfers([
    { ...plain, id: id(), flags: TF.imported, timestamp: past(-1) },
  ]);
  assert.equal(future!.result, TR.imported_event_timestamp_must_not_advance);
  const [outOfRange] = await ledger.createTransfers([
    { ...plain, id: id(), flags: TF.imported, timestamp: (1n << 64n) - 2n },
  ]);
  assert.equal(outOfRange!.result, TR.imported_event_timestamp_out_of_range);
  const [noTimestamp] = await ledger.createTransfers([{ ...plain, id: id(), timestamp: base + 30n }]);
  assert.equal(noTimestamp!.result, TR.timestamp_must_be_zero);
  const [timeout] = await ledger.createTransfers([
    { ...plain, id: id(), flags: TF.imported | TF.pending, timeout: 5, timestamp: base + 30n },
  ]);
  assert.equal(timeout!.result, TR.imported_event_timeout_must_be_zero);
  const [sameAsAccount] = await ledger.createAccounts([
    { id: id(), ledger: 1, code: 1, flags: AF.imported, timestamp: base + 20n },
  ]);
  assert.equal(sameAsAccount!.result, AR.imported_event_timestamp_must_not_regress);

  // A regular transfer takes the clock's time; an import after it must come later still.
  const [now] = await ledger.createTransfers([{ ...plain, id: id() }]);
  assert.equal(now!.result, TR.ok);
  const [late] = await ledger.createTransfers([
    { ...plain, id: id(), flags: TF.imported, timestamp: base + 40n },
  ]);
  assert.equal(late!.result, TR.imported_event_timestamp_must_not_regress);
  const [resubmitted] = await ledger.createTransfers([
    { ...plain, flags: TF.imported, timestamp: base + 20n },
  ]);
  assert.equal(resubmitted!.result, TR.exists);
  assert.equal(resubmitted!.timestamp, base + 20n);
  const report = await ledger.verify();
  assert.ok(report.ok, JSON.stringify(report.violations));
});
