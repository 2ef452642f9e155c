import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../platform/clock.ts';
import { uuidv7 } from '../platform/ids.ts';
import { createTestDatabase, type TestDatabase } from '../platform/testing/database.ts';
import { AccountFlags as AF, Ledger, TransferFlags as TF } from './index.ts';
import { batchHash, GENESIS_HASH } from './journal.ts';
import { eventsBetween, journalBatchesAfter } from './store/verify.ts';
import type { LedgerVerifyOptions, VerifyCheck } from './verify.ts';

/**
 * verify must catch each kind of damage. Every test builds a small valid ledger, checks that
 * it verifies, tampers with one row the way a bug or an intruder would, and expects the
 * matching check to fail.
 */
interface Books {
  database: TestDatabase;
  ledger: Ledger;
  clock: ManualClock;
  accounts: string[];
  pendingPosted: string;
  post: string;
  open: string;
  plain: string;
}

async function books(): Promise<Books> {
  const database = await createTestDatabase();
  const clock = new ManualClock();
  const ledger = new Ledger({ db: database.db, clock });
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
  const post = uuidv7();
  await ledger.createTransfers([
    { id: post, pendingId: pendingPosted, amount: 40n, flags: TF.post_pending_transfer },
  ]);
  const open = uuidv7();
  await ledger.createTransfers([
    {
      id: open,
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
  return { database, ledger, clock, accounts, pendingPosted, post, open, plain };
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

/**
 * An attacker with database access who knows the journal's encoding: after editing rows, they
 * recompute every batch hash from the rows, so the chain verifies again. What remains to catch
 * the edit are the checks on what the rows mean.
 */
async function forgeJournal(db: TestDatabase['db']): Promise<void> {
  let previous: Buffer = GENESIS_HASH;
  for (let after = 0n; ; ) {
    const batches = await journalBatchesAfter(db, after);
    if (batches.length === 0) break;
    for (const batch of batches) {
      const events = await eventsBetween(db, batch.timestamp_first, batch.timestamp_last);
      const hash = batchHash(previous, events);
      await db.query('UPDATE ledger_journal SET prev_hash = $2, hash = $3 WHERE sequence = $1', [
        batch.sequence.toString(),
        previous,
        hash,
      ]);
      previous = hash;
      after = batch.sequence;
    }
  }
  await db.query('UPDATE ledger_head SET hash = $1', [previous]);
}

/** Tampers fresh books and expects exactly `expected` checks to fail, each naming its rows. */
async function expectExactly(
  tamper: (b: Books) => Promise<unknown>,
  expected: VerifyCheck[],
  options: LedgerVerifyOptions = {},
  setup?: (b: Books) => Promise<unknown>,
) {
  const fresh = await books();
  try {
    await setup?.(fresh);
    assert.equal((await fresh.ledger.verify(options)).ok, true, 'the books verify before tampering');
    await tamper(fresh);
    const report = await fresh.ledger.verify(options);
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.name);
    assert.deepEqual(failed.sort(), [...expected].sort(), JSON.stringify(report.violations));
  } finally {
    await fresh.ledger.close();
    await fresh.database.drop();
  }
}

test('forging the journal after an edit leaves the chain green (so the meaning checks must catch it)', async () => {
  await expectExactly(async (b) => {
    await b.database.db.query('UPDATE ledger_transfers SET user_data_64 = 7 WHERE id = $1', [b.plain]);
    await forgeJournal(b.database.db);
  }, []);
});

test('resolution_amount: a post above its pending amount, balances and journal forged to match', async () => {
  await expectExactly(
    async (b) => {
      const db = b.database.db;
      await db.query('UPDATE ledger_transfers SET amount = 41 WHERE id = $1', [b.post]);
      await db.query('UPDATE ledger_accounts SET debits_posted = debits_posted + 1 WHERE id = $1', [
        b.accounts[1],
      ]);
      await db.query('UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1', [
        b.accounts[2],
      ]);
      await db.query(
        `UPDATE ledger_account_balances SET credits_posted = credits_posted + 1
        WHERE account_id = $1 AND timestamp >= (SELECT timestamp FROM ledger_transfers WHERE id = $2)`,
        [b.accounts[2], b.post],
      );
      await forgeJournal(db);
    },
    ['resolution_amount'],
  );
});

test('resolution_amount: a void of less than its pending amount', async () => {
  const voidId = uuidv7();
  await expectExactly(
    async (b) => {
      const db = b.database.db;
      // The void released 5; say it released 4 and keep the extra 1 pending nowhere.
      await db.query('UPDATE ledger_transfers SET amount = 4 WHERE id = $1', [voidId]);
      await forgeJournal(db);
    },
    ['resolution_amount'],
    {},
    (b) =>
      b.ledger.createTransfers([
        { id: voidId, pendingId: b.open, amount: 0n, flags: TF.void_pending_transfer },
      ]),
  );
});

test('resolution_accounts: a post moved to another ledger than its pending transfer', async () => {
  await expectExactly(
    async (b) => {
      await b.database.db.query('UPDATE ledger_transfers SET ledger = 2 WHERE id = $1', [b.post]);
      await forgeJournal(b.database.db);
    },
    ['resolution_accounts'],
  );
});

test('resolution_deadline: a post after its pending transfer expired (timeout forged in)', async () => {
  const late = uuidv7();
  await expectExactly(
    async (b) => {
      const db = b.database.db;
      // Give the hold a 5 s timeout after the fact, deadline row included, so only the order shows.
      await db.query('UPDATE ledger_transfers SET timeout = 5 WHERE id = $1', [b.open]);
      await db.query(
        'UPDATE ledger_pending SET expires_at = (SELECT timestamp + 5000000000 FROM ledger_transfers WHERE id = $1) WHERE id = $1',
        [b.open],
      );
      await forgeJournal(db);
    },
    ['resolution_deadline'],
    {},
    async (b) => {
      b.clock.advance(60_000);
      await b.ledger.createTransfers([
        { id: late, pendingId: b.open, amount: 5n, flags: TF.post_pending_transfer },
      ]);
    },
  );
});

test('pending_deadline: an open hold whose deadline was edited (not journaled, still caught)', async () => {
  await expectExactly(
    (b) =>
      b.database.db.query(
        'UPDATE ledger_pending SET expires_at = (SELECT timestamp + 3600000000000 FROM ledger_transfers WHERE id = $1) WHERE id = $1',
        [b.open],
      ),
    ['pending_deadline'],
  );
});

test('account_closed: a closed account reopened by an edit (not journaled, still caught)', async () => {
  await expectExactly(
    (b) => b.database.db.query('UPDATE ledger_accounts SET closed = false WHERE id = $1', [b.accounts[0]]),
    ['account_closed'],
    {},
    (b) =>
      b.ledger.createTransfers([
        {
          id: uuidv7(),
          debitAccountId: b.accounts[0]!,
          creditAccountId: b.accounts[2]!,
          amount: 0n,
          ledger: 1,
          code: 1,
          flags: TF.pending | TF.closing_debit,
        },
      ]),
  );
  await expectExactly(
    (b) => b.database.db.query('UPDATE ledger_accounts SET closed = true WHERE id = $1', [b.accounts[0]]),
    ['account_closed'],
  );
});

test('balance_history: an edited and a deleted history row', async () => {
  await expectExactly(
    (b) =>
      b.database.db.query(
        `UPDATE ledger_account_balances SET credits_posted = credits_posted + 1
          WHERE account_id = $1 AND timestamp = (SELECT min(timestamp) FROM ledger_account_balances WHERE account_id = $1)`,
        [b.accounts[2]],
      ),
    ['balance_history'],
  );
  await expectExactly(
    (b) =>
      b.database.db.query(
        `DELETE FROM ledger_account_balances
          WHERE account_id = $1 AND timestamp = (SELECT max(timestamp) FROM ledger_account_balances WHERE account_id = $1)`,
        [b.accounts[2]],
      ),
    ['balance_history'],
  );
});

test('orphan_holds: an open hold recoded to a code no module owns', async () => {
  await expectExactly(
    async (b) => {
      await b.database.db.query('UPDATE ledger_transfers SET code = 99 WHERE id = $1', [b.open]);
      await forgeJournal(b.database.db);
    },
    ['orphan_holds'],
    { holdCodes: [1] },
  );
});

test('incremental: a run from the checkpoint verifies only what came after, and --full still sees old edits', async () => {
  const b = await books();
  try {
    const recorded = await b.ledger.verify({ full: false, record: true });
    assert.equal(recorded.ok, true);
    assert.ok(recorded.checks.every((c) => c.from === '0'));
    await b.ledger.createTransfers([
      {
        id: uuidv7(),
        debitAccountId: b.accounts[0]!,
        creditAccountId: b.accounts[2]!,
        amount: 3n,
        ledger: 1,
        code: 1,
      },
    ]);
    const next = await b.ledger.verify({ full: false, record: true });
    assert.equal(next.ok, true, JSON.stringify(next.violations));
    const journal = next.checks.find((c) => c.name === 'journal_chain')!;
    assert.equal(journal.from, recorded.head.sequence);
    assert.equal(journal.examined, 1);

    // Two runs recording at once leave consistent checkpoints (the later position wins).
    for (let i = 0; i < 3; i++) {
      await b.ledger.createTransfers([
        {
          id: uuidv7(),
          debitAccountId: b.accounts[0]!,
          creditAccountId: b.accounts[1]!,
          amount: 1n,
          ledger: 1,
          code: 1,
        },
      ]);
      const both = await Promise.all([
        b.ledger.verify({ full: false, record: true }),
        b.ledger.verify({ full: i === 1, record: true }),
      ]);
      assert.ok(both.every((report) => report.ok));
    }
    assert.equal((await b.ledger.verify({ full: false, record: true })).ok, true);

    // An old, already verified row edited without touching the journal: the incremental run
    // trusts what it verified before (the documented trade-off); --full does not.
    await b.database.db.query('UPDATE ledger_transfers SET user_data_32 = 9 WHERE id = $1', [b.plain]);
    assert.equal((await b.ledger.verify({ full: false })).ok, true);
    const full = await b.ledger.verify({ full: true });
    assert.deepEqual(
      full.checks.filter((c) => !c.ok).map((c) => c.name),
      ['journal_chain'],
    );

    // Re-hashing the journal to hide the edit changes the hash at the checkpoint: caught.
    await forgeJournal(b.database.db);
    const forged = await b.ledger.verify({ full: false });
    assert.equal(forged.ok, false);
    assert.match(forged.violations[0]!.message, /checkpoint at journal batch \d+ no longer matches/);
  } finally {
    await b.ledger.close();
    await b.database.drop();
  }
});

test('a busy database: verify while transfers, posts and voids commit shows no false violations', async () => {
  const b = await books();
  try {
    let writing = true;
    const writer = (async () => {
      let round = 0;
      while (writing) {
        const hold = uuidv7();
        await b.ledger.createTransfers([
          {
            id: uuidv7(),
            debitAccountId: b.accounts[0]!,
            creditAccountId: b.accounts[1]!,
            amount: 2n,
            ledger: 1,
            code: 1,
          },
          {
            id: hold,
            debitAccountId: b.accounts[1]!,
            creditAccountId: b.accounts[2]!,
            amount: 1n,
            ledger: 1,
            code: 1,
            flags: TF.pending,
          },
        ]);
        await b.ledger.createTransfers([
          {
            id: uuidv7(),
            pendingId: hold,
            amount: round % 2 === 0 ? 1n : 0n,
            flags: round % 2 === 0 ? TF.post_pending_transfer : TF.void_pending_transfer,
          },
        ]);
        round++;
      }
      return round;
    })();
    let runs = 0;
    try {
      for (; runs < 6; runs++) {
        const report = await b.ledger.verify({ full: runs % 2 === 0, record: true, holdCodes: [1] });
        assert.equal(report.ok, true, JSON.stringify(report.violations));
      }
    } finally {
      writing = false;
    }
    assert.ok((await writer) > 0, 'transfers were written during the runs');
    assert.equal((await b.ledger.verify()).ok, true);
  } finally {
    await b.ledger.close();
    await b.database.drop();
  }
});
