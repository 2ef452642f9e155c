import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../platform/clock.ts';
import { uuidv7 } from '../platform/ids.ts';
import { createTestDatabase, type TestDatabase } from '../platform/testing/database.ts';
import { AccountFlags as AF, Ledger, TransferFlags as TF } from './index.ts';
import type { VerifyCheck } from './verify.ts';

/**
 * verify must catch each kind of damage. Every test builds a small valid ledger, checks that
 * it verifies, tampers with one row the way a bug or an intruder would, and expects the
 * matching check to fail.
 */
interface Books {
  database: TestDatabase;
  ledger: Ledger;
  accounts: string[];
  pendingPosted: string;
  plain: string;
}

async function books(): Promise<Books> {
  const database = await createTestDatabase();
  const ledger = new Ledger({ db: database.db, clock: new ManualClock() });
  const accounts = [uuidv7(), uuidv7(), uuidv7()];
  await ledger.createAccounts([
    { id: accounts[0]!, ledger: 1, code: 1 },
    { id: accounts[1]!, ledger: 1, code: 1, flags: AF.debits_must_not_exceed_credits },
    { id: accounts[2]!, ledger: 1, code: 1, flags: AF.history },
  ]);
  const plain = uuidv7();
  const pendingPosted = uuidv7();
  await ledger.createTransfers([
    {
      id: plain,
      debitAccountId: accounts[0]!,
      creditAccountId: accounts[1]!,
      amount: 100n,
      ledger: 1,
      code: 1,
    },
    {
      id: pendingPosted,
      debitAccountId: accounts[1]!,
      creditAccountId: accounts[2]!,
      amount: 40n,
      ledger: 1,
      code: 1,
      flags: TF.pending,
    },
  ]);
  await ledger.createTransfers([
    { id: uuidv7(), pendingId: pendingPosted, amount: 0n, flags: TF.post_pending_transfer },
  ]);
  await ledger.createTransfers([
    {
      id: uuidv7(),
      debitAccountId: accounts[0]!,
      creditAccountId: accounts[2]!,
      amount: 5n,
      ledger: 1,
      code: 1,
      flags: TF.pending,
    },
  ]);
  const report = await ledger.verify();
  assert.equal(report.ok, true, JSON.stringify(report.violations));
  return { database, ledger, accounts, pendingPosted, plain };
}

let shared: Books;
before(async () => {
  shared = await books();
});
after(async () => {
  await shared.ledger.close();
  await shared.database.drop();
});

async function expectCaught(tamper: (b: Books) => Promise<unknown>, ...checks: VerifyCheck[]) {
  const fresh = await books();
  try {
    await tamper(fresh);
    const report = await fresh.ledger.verify();
    assert.equal(report.ok, false);
    for (const check of checks) {
      assert.equal(
        report.checks.find((c) => c.name === check)?.ok,
        false,
        `${check} should fail: ${JSON.stringify(report.checks)}`,
      );
    }
    assert.ok(report.violations.length > 0);
  } finally {
    await fresh.ledger.close();
    await fresh.database.drop();
  }
}

test('a clean ledger verifies with counts', async () => {
  const report = await shared.ledger.verify();
  assert.equal(report.ok, true);
  assert.equal(report.counts.accounts, 3);
  assert.equal(report.counts.transfers, 4);
  assert.equal(report.counts.journalBatches, 4);
});

test('an account balance edited without a transfer breaks ledger balance and account balance', async () => {
  await expectCaught(
    (b) =>
      b.database.db.query('UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1', [
        b.accounts[0],
      ]),
    'ledger_balance',
    'account_balance',
  );
});

test('a balance moved between two accounts still breaks account balance', async () => {
  await expectCaught(async (b) => {
    await b.database.db.query('UPDATE ledger_accounts SET debits_posted = debits_posted + 7 WHERE id = $1', [
      b.accounts[0],
    ]);
    await b.database.db.query(
      'UPDATE ledger_accounts SET credits_posted = credits_posted + 7 WHERE id = $1',
      [b.accounts[2]],
    );
  }, 'account_balance');
});

test('an overdraft written behind the flag is caught', async () => {
  await expectCaught(
    (b) =>
      b.database.db.query('UPDATE ledger_accounts SET debits_posted = debits_posted + 1000 WHERE id = $1', [
        b.accounts[1],
      ]),
    'account_flags',
  );
});

test('an edited transfer amount breaks the journal chain', async () => {
  await expectCaught(async (b) => {
    await b.database.db.query('UPDATE ledger_transfers SET amount = 101 WHERE id = $1', [b.plain]);
    await b.database.db.query(
      'UPDATE ledger_accounts SET debits_posted = debits_posted + 1 WHERE id = $1; ',
      [b.accounts[0]],
    );
    await b.database.db.query(
      'UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1',
      [b.accounts[1]],
    );
  }, 'journal_chain');
});

test('a deleted journal batch, a forged hash and an unjournaled transfer are caught', async () => {
  await expectCaught(
    (b) => b.database.db.query('DELETE FROM ledger_journal WHERE sequence = 2'),
    'journal_chain',
  );
  await expectCaught(
    (b) =>
      b.database.db.query(
        "UPDATE ledger_journal SET hash = decode(repeat('ab', 32), 'hex') WHERE sequence = 1",
      ),
    'journal_chain',
  );
  await expectCaught(
    (b) =>
      b.database.db.query(
        `INSERT INTO ledger_transfers SELECT $1, debit_account_id, credit_account_id, 0, NULL, ledger, code, flags, 0,
           NULL, 0, 0, timestamp + 1000000 FROM ledger_transfers WHERE id = $2`,
        [uuidv7(), b.plain],
      ),
    'journal_chain',
  );
});

test('a pending transfer marked voided after it was posted is caught', async () => {
  await expectCaught(
    (b) =>
      b.database.db.query("UPDATE ledger_pending SET status = 'voided' WHERE id = $1", [b.pendingPosted]),
    'pending_resolution',
  );
});

test('a pending transfer both posted and voided is caught', async () => {
  await expectCaught(async (b) => {
    await b.database.db.query('DROP INDEX ledger_transfers_pending_id');
    await b.database.db.query(
      `INSERT INTO ledger_transfers SELECT $1, debit_account_id, credit_account_id, amount, pending_id, ledger, code, 8, 0,
         NULL, 0, 0, timestamp + 1 FROM ledger_transfers WHERE pending_id = $2`,
      [uuidv7(), b.pendingPosted],
    );
  }, 'pending_resolution');
});
