import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../platform/clock.ts';
import { createTestDatabase, type TestDatabase } from '../platform/testing/database.ts';
import { formatVerifyReport, Ledger } from './index.ts';
import { dbLedger, simulate } from './testing/simulate.ts';

/**
 * Seeded simulation against the real database: rounds of 8 concurrent submissions (coalesced
 * and pipelined by the group-commit writer, batches of 1,000), account batches and expiry jobs,
 * every result compared with the independent model (testing/model.ts), balances compared and
 * `verify` run after each seed. The workload generates every event kind and flag
 * (testing/workload.ts).
 *
 * Default (every CI run): 4 new seeds x 25,000 operations; the seeds are printed.
 * Long: LEDGER_SIM_LONG=1 (or `npm run sim -- --long`) runs 100 seeds x 10,000 operations (1,000,000).
 * Replay one seed: LEDGER_SIM_SEED=1234 npm test -- ledger/simulation
 * Size: LEDGER_SIM_SEEDS, LEDGER_SIM_OPERATIONS.
 */
const LONG = process.env.LEDGER_SIM_LONG === '1';
const OPERATIONS_PER_SEED = Number(process.env.LEDGER_SIM_OPERATIONS ?? (LONG ? 10_000 : 25_000));
const SEED_COUNT = Number(process.env.LEDGER_SIM_SEEDS ?? (LONG ? 100 : 4));
const SEEDS = process.env.LEDGER_SIM_SEED
  ? [Number(process.env.LEDGER_SIM_SEED)]
  : Array.from({ length: SEED_COUNT }, (_, i) => (Date.now() + i * 7919) % 2 ** 31);

let database: TestDatabase;
let ledger: Ledger;
const clock = new ManualClock();
before(async () => {
  database = await createTestDatabase();
  // Small batches, so every round spans several pipelined transactions.
  ledger = new Ledger({ db: database.db, clock, writer: { batchEventsMax: 1000 } });
});
after(async () => {
  await ledger.close();
  await database.drop();
});

let total = 0;
for (const seed of SEEDS) {
  test(`simulation seed ${seed} (replay: LEDGER_SIM_SEED=${seed})`, async () => {
    const started = performance.now();
    // Each seed starts a day after the last one's time, in its own id namespace.
    clock.advance(86_400_000);
    const operations = await simulate(dbLedger(ledger, clock), {
      seed,
      operations: OPERATIONS_PER_SEED,
      submissions: 8,
      eventsPerSubmissionMax: 250,
      start: BigInt(clock.now().getTime()) * 1_000_000n,
    });
    total += operations;
    console.log(
      `ledger simulation seed ${seed}: ${operations} operations in ${Math.round(performance.now() - started)} ms ` +
        `(${total} so far)`,
    );
    const report = await ledger.verify();
    assert.ok(report.ok, `seed ${seed}:\n${formatVerifyReport(report)}`);
  });
}
