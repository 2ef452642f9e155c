import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../platform/clock.ts';
import { createTestDatabase, type TestDatabase } from '../platform/testing/database.ts';
import { Ledger } from './index.ts';
import { InMemoryLedger } from './testing/in-memory.ts';
import { dbLedger, type SimulatedLedger, simulate } from './testing/simulate.ts';

/**
 * Model-based tests of the pure state machine: seeded workloads (every event kind and flag,
 * testing/workload.ts) against the independent model (testing/model.ts). Every result and every
 * balance must agree.
 *
 * Default: 100 seeds x 10,000 operations (1,000,000), new seeds each run (printed).
 * Long (LEDGER_SIM_LONG=1, or `npm run sim -- --long`): 1,000 seeds (10,000,000).
 * Replay one seed: LEDGER_SIM_SEED=<seed> npm test -- ledger/model (or `npm run sim -- --seed <seed>`)
 * Size: LEDGER_MODEL_SEEDS, LEDGER_MODEL_OPERATIONS.
 */
const SEEDS = process.env.LEDGER_SIM_SEED
  ? [Number(process.env.LEDGER_SIM_SEED)]
  : Array.from(
      {
        length: Number(process.env.LEDGER_MODEL_SEEDS ?? (process.env.LEDGER_SIM_LONG === '1' ? 1000 : 100)),
      },
      (_, i) => (Date.now() + i * 7919) % 2 ** 31,
    );
const OPERATIONS = Number(process.env.LEDGER_MODEL_OPERATIONS ?? 10_000);
const START = BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1_000_000n;

function pureCore(): SimulatedLedger {
  const core = new InMemoryLedger();
  return {
    setNow: (now) => {
      assert.ok(now > core.timestamp);
      core.timestamp = now;
    },
    createAccounts: async (events) => core.createAccounts(events).map((o) => o.result),
    createTransfers: async (submissions) =>
      submissions.map((events) => core.createTransfers(events).map((o) => o.result)),
    expire: async () => {
      core.expireDue();
    },
    balances: async (ids) => {
      core.expireDue(); // the pure core has no read path: reads see holds past their deadline expired
      return new Map(
        ids.map((id) => {
          const a = core.accounts.get(id)!;
          return [
            id,
            [a.debitsPending, a.debitsPosted, a.creditsPending, a.creditsPosted, a.closed ? 1n : 0n],
          ];
        }),
      );
    },
  };
}

test(`the pure state machine agrees with the model (${SEEDS.length} seeds x ${OPERATIONS} operations)`, async () => {
  let operations = 0;
  const started = performance.now();
  for (const seed of SEEDS) {
    operations += await simulate(pureCore(), {
      seed,
      operations: OPERATIONS,
      submissions: 4,
      eventsPerSubmissionMax: 60,
      start: START,
      midRoundAccounts: true,
    });
  }
  console.log(
    `ledger model: ${operations} operations over ${SEEDS.length} seeds (${SEEDS[0]}..${SEEDS[SEEDS.length - 1]}) ` +
      `in ${Math.round(performance.now() - started)} ms; replay one: LEDGER_SIM_SEED=<seed>`,
  );
});

let database: TestDatabase;
let ledger: Ledger;
const clock = new ManualClock();
before(async () => {
  database = await createTestDatabase();
  ledger = new Ledger({ db: database.db, clock });
});
after(async () => {
  await ledger.close();
  await database.drop();
});

test('the database-backed Ledger agrees with the model on short runs, and the books verify', async () => {
  let start = BigInt(clock.now().getTime()) * 1_000_000n;
  for (const seed of SEEDS.slice(0, 20)) {
    await simulate(dbLedger(ledger, clock), {
      seed,
      operations: 600,
      submissions: 4,
      eventsPerSubmissionMax: 12,
      start,
    });
    start = BigInt(clock.now().getTime()) * 1_000_000n + 1_000_000_000_000n;
  }
  const report = await ledger.verify();
  assert.equal(report.ok, true, JSON.stringify(report.violations));
});
