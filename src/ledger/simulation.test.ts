import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../platform/clock.ts';
import { seededUnitFloats } from '../platform/random.ts';
import { createTestDatabase, type TestDatabase } from '../platform/testing/database.ts';
import { formatVerifyReport, Ledger } from './index.ts';
import { LedgerModel } from './testing/model.ts';
import {
  materializeAccount,
  materializeTransfer,
  Namespace,
  type Pools,
  randomAccount,
  randomTransfer,
} from './testing/workload.ts';

/**
 * Seeded simulation against the real database: rounds of concurrent submissions (coalesced
 * and pipelined by the group-commit writer), every result compared with the reference model,
 * balances compared and `verify` run after each seed.
 *
 * Replay one seed: LEDGER_SIM_SEED=1234 npm test -- ledger/simulation
 * Operations per seed: LEDGER_SIM_OPERATIONS (default 50,000; 4 seeds).
 */
const OPERATIONS_PER_SEED = Number(process.env.LEDGER_SIM_OPERATIONS ?? 50_000);
const SEEDS = process.env.LEDGER_SIM_SEED
  ? [Number(process.env.LEDGER_SIM_SEED)]
  : [0, 1, 2, 3].map((i) => (Date.now() + i * 7919) % 2 ** 31);
const SUBMISSIONS_PER_ROUND = 8;
const EVENTS_PER_SUBMISSION_MAX = 250;

let database: TestDatabase;
let ledger: Ledger;
before(async () => {
  database = await createTestDatabase();
  // Small batches, so every round spans several pipelined transactions.
  ledger = new Ledger({ db: database.db, clock: new ManualClock(), writer: { batchEventsMax: 1000 } });
});
after(async () => {
  await ledger.close();
  await database.drop();
});

for (const seed of SEEDS) {
  test(`simulation seed ${seed} (replay: LEDGER_SIM_SEED=${seed})`, async () => {
    console.log(`ledger simulation seed ${seed}: ${OPERATIONS_PER_SEED} operations`);
    const random = seededUnitFloats(seed);
    const ns = new Namespace(seed);
    const pools: Pools = { accounts: 48, transfers: Math.max(100, Math.floor(OPERATIONS_PER_SEED / 3)) };
    const model = new LedgerModel();

    const accountEvents = Array.from({ length: 80 }, () =>
      materializeAccount(ns, randomAccount(random, pools)),
    );
    const accountResults = await ledger.createAccounts(accountEvents);
    assert.deepEqual(
      accountResults.map((o) => o.result),
      model.createAccounts(accountEvents),
      `seed ${seed}: accounts`,
    );

    for (let done = 0, round = 0; done < OPERATIONS_PER_SEED; round++) {
      const submissions = Array.from({ length: SUBMISSIONS_PER_ROUND }, () => {
        const size = 1 + Math.floor(random() * EVENTS_PER_SUBMISSION_MAX);
        return Array.from({ length: size }, () => materializeTransfer(ns, randomTransfer(random, pools)));
      });
      const actual = await Promise.all(submissions.map((events) => ledger.createTransfers(events)));
      submissions.forEach((events, index) => {
        const expected = model.createTransfers(events);
        const got = actual[index]!.map((o) => o.result);
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          const at = got.findIndex((result, i) => result !== expected[i]);
          assert.fail(
            `seed ${seed} round ${round} submission ${index} event ${at}: got ${got[at]}, model ${expected[at]} ` +
              `(${JSON.stringify(events[at], (_, v) => (typeof v === 'bigint' ? v.toString() : v))})`,
          );
        }
        done += events.length;
      });
    }

    const ids = [...model.state.accounts.keys()];
    const accounts = new Map((await ledger.lookupAccounts(ids)).map((a) => [a.id, a]));
    for (const id of ids) {
      const expected = model.state.accounts.get(id)!;
      const account = accounts.get(id)!;
      assert.deepEqual(
        [account.debitsPending, account.debitsPosted, account.creditsPending, account.creditsPosted],
        [expected.debitsPending, expected.debitsPosted, expected.creditsPending, expected.creditsPosted],
        `seed ${seed}: balances of ${id}`,
      );
    }
    const report = await ledger.verify();
    assert.ok(report.ok, `seed ${seed}:\n${formatVerifyReport(report)}`);
  });
}
