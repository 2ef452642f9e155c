import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../platform/clock.ts';
import { createTestDatabase, type TestDatabase } from '../platform/testing/database.ts';
import { Ledger } from './index.ts';
import { InMemoryLedger } from './testing/in-memory.ts';
import { LedgerModel } from './testing/model.ts';
import {
  type AbstractAccount,
  type AbstractTransfer,
  accountArbitrary,
  materializeAccount,
  materializeTransfer,
  Namespace,
  type Pools,
  transferArbitrary,
} from './testing/workload.ts';

/**
 * Model-based tests: random command sequences run against the reference model and against
 * (1) the pure state machine and (2) the database-backed Ledger. Every result code and every
 * balance must agree.
 */
const POOLS: Pools = { accounts: 6, transfers: 14 };

type Step =
  | { kind: 'accounts'; events: AbstractAccount[] }
  | { kind: 'transfers'; events: AbstractTransfer[] };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('accounts' as const),
      events: fc.array(accountArbitrary(POOLS), { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('transfers' as const),
      events: fc.array(transferArbitrary(POOLS), { minLength: 1, maxLength: 6 }),
    }),
  },
);
const scenarioArbitrary = fc.record({
  seed: fc.nat(),
  steps: fc.array(stepArbitrary, { minLength: 1, maxLength: 25 }),
});

interface System {
  createAccounts(events: ReturnType<typeof materializeAccount>[]): Promise<string[]>;
  createTransfers(events: ReturnType<typeof materializeTransfer>[]): Promise<string[]>;
  balances(ids: string[]): Promise<Map<string, bigint[]>>;
}

async function runScenario(system: System, scenario: { seed: number; steps: Step[] }): Promise<void> {
  const model = new LedgerModel();
  const ns = new Namespace(scenario.seed);
  for (const [index, step] of scenario.steps.entries()) {
    if (step.kind === 'accounts') {
      const events = step.events.map((event) => materializeAccount(ns, event));
      assert.deepEqual(
        await system.createAccounts(events),
        model.createAccounts(events),
        `step ${index} (accounts)`,
      );
    } else {
      const events = step.events.map((event) => materializeTransfer(ns, event));
      assert.deepEqual(
        await system.createTransfers(events),
        model.createTransfers(events),
        `step ${index} (transfers)`,
      );
    }
  }
  const ids = [...model.state.accounts.keys()];
  const actual = await system.balances(ids);
  for (const id of ids) {
    const expected = model.state.accounts.get(id)!;
    assert.deepEqual(
      actual.get(id),
      [expected.debitsPending, expected.debitsPosted, expected.creditsPending, expected.creditsPosted],
      `balances of ${id}`,
    );
  }
}

test('the pure state machine agrees with the model', async () => {
  await fc.assert(
    fc.asyncProperty(scenarioArbitrary, async (scenario) => {
      const core = new InMemoryLedger();
      await runScenario(
        {
          createAccounts: async (events) => core.createAccounts(events).map((o) => o.result),
          createTransfers: async (events) => core.createTransfers(events).map((o) => o.result),
          balances: async (ids) =>
            new Map(
              ids.map((id) => {
                const a = core.accounts.get(id)!;
                return [id, [a.debitsPending, a.debitsPosted, a.creditsPending, a.creditsPosted]];
              }),
            ),
        },
        scenario,
      );
    }),
    { numRuns: 400 },
  );
});

let database: TestDatabase;
let ledger: Ledger;
before(async () => {
  database = await createTestDatabase();
  ledger = new Ledger({ db: database.db, clock: new ManualClock() });
});
after(async () => {
  await ledger.close();
  await database.drop();
});

test('the database-backed Ledger agrees with the model, and the books verify', async () => {
  const dbSystem: System = {
    createAccounts: async (events) => (await ledger.createAccounts(events)).map((o) => o.result),
    createTransfers: async (events) => (await ledger.createTransfers(events)).map((o) => o.result),
    balances: async (ids) =>
      new Map(
        (await ledger.lookupAccounts(ids)).map((a) => [
          a.id,
          [a.debitsPending, a.debitsPosted, a.creditsPending, a.creditsPosted],
        ]),
      ),
  };
  let run = 0;
  await fc.assert(
    fc.asyncProperty(scenarioArbitrary, async (scenario) => {
      // Each run gets its own id namespace, so runs share one database without interfering.
      await runScenario(dbSystem, { ...scenario, seed: scenario.seed * 1000 + run++ });
    }),
    { numRuns: 100 },
  );
  const report = await ledger.verify();
  assert.equal(report.ok, true, JSON.stringify(report.violations));
});
