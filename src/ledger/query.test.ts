import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../platform/clock.ts';
import { AppError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { seededUnitFloats } from '../platform/random.ts';
import { createTestDatabase, type TestDatabase } from '../platform/testing/database.ts';
import { type Account, AccountFlags as AF, Ledger, TransferFlags as TF, type Transfer } from './index.ts';
import {
  type AccountFilter,
  matchesAccountFilter,
  matchesQueryFilter,
  page,
  type QueryFilter,
} from './query.ts';

/**
 * The query operations in SQL agree with the pure rules of query.ts (which TigerBeetle's own
 * cases check, tigerbeetle-cases.test.ts): random filters over a small ledger, each answered
 * by the store and by the rules applied to every stored row.
 */
let database: TestDatabase;
let ledger: Ledger;
const clock = new ManualClock('2026-03-01T00:00:00Z');
const owners = [uuidv7(), uuidv7()];
let accounts: Account[] = [];
let transfers: Transfer[] = [];

before(async () => {
  database = await createTestDatabase();
  ledger = new Ledger({ db: database.db, clock });
  const random = seededUnitFloats(14);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const events = Array.from({ length: 12 }, (_, i) => ({
    id: uuidv7(),
    ledger: 1 + (i % 2),
    code: pick([1, 2, 3]),
    flags: AF.history,
    userData128: pick([...owners, null]),
    userData64: pick([0n, 10n, 11n]),
    userData32: pick([0, 1, 2]),
  }));
  for (const event of events) {
    assert.equal((await ledger.createAccounts([event]))[0]!.result, 'ok');
    clock.advance(1);
  }
  for (let round = 0; round < 40; round++) {
    const debit = pick(events);
    const credit = pick(events.filter((e) => e.ledger === debit.ledger && e.id !== debit.id));
    const [outcome] = await ledger.createTransfers([
      {
        id: uuidv7(),
        debitAccountId: debit.id,
        creditAccountId: credit.id,
        amount: BigInt(1 + Math.floor(random() * 50)),
        ledger: debit.ledger,
        code: pick([1, 2, 3]),
        flags: pick([0, 0, TF.pending]),
        userData128: pick([...owners, null]),
        userData64: pick([0n, 20n]),
        userData32: pick([0, 5]),
      },
    ]);
    assert.equal(outcome!.result, 'ok');
    clock.advance(1);
  }
  accounts = await ledger.lookupAccounts(events.map((e) => e.id));
  transfers = (
    await Promise.all(
      events.map((e) => ledger.getAccountTransfers({ accountId: e.id, debits: true, limit: 1000 })),
    )
  ).flat();
  assert.equal(transfers.length, 40);
});
after(async () => {
  await ledger.close();
  await database.drop();
});

function randomFilter(random: () => number) {
  const maybe = <T>(value: T, zero: T) => (random() < 0.35 ? value : zero);
  const stamps = [...accounts, ...transfers].map((o) => o.timestamp).sort((a, b) => (a < b ? -1 : 1));
  const stamp = () => stamps[Math.floor(random() * stamps.length)]!;
  const [low, high] = [stamp(), stamp()].sort((a, b) => (a < b ? -1 : 1));
  return {
    userData128: maybe(owners[Math.floor(random() * 2)]!, null),
    userData64: maybe(random() < 0.5 ? 10n : 20n, 0n),
    userData32: maybe(random() < 0.5 ? 1 : 5, 0),
    code: maybe(1 + Math.floor(random() * 3), 0),
    timestampMin: maybe(low!, 0n),
    timestampMax: maybe(high!, 0n),
    limit: random() < 0.3 ? 1 + Math.floor(random() * 4) : 100,
    reversed: random() < 0.5,
  };
}

test('query_accounts and query_transfers answer as the rules do', async () => {
  const random = seededUnitFloats(7);
  for (let i = 0; i < 150; i++) {
    const filter: QueryFilter = { ...randomFilter(random), ledger: random() < 0.3 ? 1 : 0 };
    const ids = (list: { id: string }[]) => list.map((o) => o.id);
    assert.deepEqual(
      ids(await ledger.queryAccounts(filter)),
      ids(
        page(
          accounts.filter((a) => matchesQueryFilter(filter, a)),
          filter,
        ),
      ),
      JSON.stringify(filter, (_, v) => (typeof v === 'bigint' ? v.toString() : v)),
    );
    assert.deepEqual(
      ids(await ledger.queryTransfers(filter)),
      ids(
        page(
          transfers.filter((t) => matchesQueryFilter(filter, t)),
          filter,
        ),
      ),
    );
  }
});

test('account history filters: transfers and balances answer as the rules do', async () => {
  const random = seededUnitFloats(8);
  for (let i = 0; i < 150; i++) {
    const account = accounts[Math.floor(random() * accounts.length)]!;
    const side = random();
    const filter: AccountFilter = {
      ...randomFilter(random),
      accountId: account.id,
      debits: side < 0.66,
      credits: side >= 0.33,
    };
    const expected = page(
      transfers.filter((t) => matchesAccountFilter(filter, t)),
      filter,
    );
    const got = await ledger.getAccountTransfers(filter);
    assert.deepEqual(
      got.map((t) => t.id),
      expected.map((t) => t.id),
    );
    const balances = await ledger.getAccountBalances(filter);
    assert.deepEqual(
      balances.map((b) => b.timestamp),
      expected.map((t) => t.timestamp),
    );
  }
  // The newest balance of an account is its balance now.
  const account = accounts.find((a) => a.debitsPosted + a.creditsPosted + a.debitsPending > 0n)!;
  const [latest] = await ledger.getAccountBalances({
    accountId: account.id,
    debits: true,
    credits: true,
    limit: 1,
    reversed: true,
  });
  assert.deepEqual(
    [latest!.debitsPending, latest!.debitsPosted, latest!.creditsPending, latest!.creditsPosted],
    [account.debitsPending, account.debitsPosted, account.creditsPending, account.creditsPosted],
  );
});

test('invalid filters are refused with stable codes', async () => {
  const codeOf = async (promise: Promise<unknown>) => {
    try {
      await promise;
      return 'accepted';
    } catch (error) {
      assert.ok(error instanceof AppError);
      return error.code;
    }
  };
  const accountId = accounts[0]!.id;
  assert.equal(await codeOf(ledger.queryAccounts({ limit: 0 })), 'ledger_filter_limit');
  assert.equal(
    await codeOf(ledger.queryTransfers({ limit: 10, timestampMin: 5n, timestampMax: 4n })),
    'ledger_filter_timestamp',
  );
  assert.equal(
    await codeOf(ledger.getAccountTransfers({ accountId, limit: 10, debits: false, credits: false })),
    'ledger_filter_direction',
  );
  assert.equal(
    await codeOf(
      ledger.getAccountBalances({
        accountId: '00000000-0000-0000-0000-000000000000',
        limit: 10,
        debits: true,
      }),
    ),
    'ledger_filter_account_id',
  );
  assert.equal(
    await codeOf(ledger.queryAccounts({ limit: 10, userData128: 'nope' })),
    'ledger_invalid_filter',
  );
});
