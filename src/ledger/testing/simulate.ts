import assert from 'node:assert/strict';
import type { ManualClock } from '../../platform/clock.ts';
import { seededUnitFloats } from '../../platform/random.ts';
import type { Ledger } from '../index.ts';
import type { AccountEvent, TransferEvent } from '../types.ts';
import { LedgerModel } from './model.ts';
import { ROUND_NS, show, Workload } from './workload.ts';

/** What the simulation drives: the pure core or the database-backed Ledger. */
export interface SimulatedLedger {
  /** Sets ledger time (nanoseconds) for the next round; it only ever moves forward. */
  setNow(now: bigint): void;
  createAccounts(events: AccountEvent[]): Promise<string[]>;
  /** Submitted together (the DB-backed ledger coalesces and pipelines them), answered in order. */
  createTransfers(submissions: TransferEvent[][]): Promise<string[][]>;
  /** The expiry job at the current time. */
  expire(): Promise<void>;
  balances(ids: string[]): Promise<Map<string, bigint[]>>;
}

export interface SimulationOptions {
  seed: number;
  operations: number;
  /** Concurrent submissions per round. */
  submissions: number;
  eventsPerSubmissionMax: number;
  /** Ledger time of round 0 (nanoseconds, a whole millisecond). */
  start: bigint;
  /**
   * Account batches inside transfer rounds with imports dated before them (the postdate
   * rules), and imports anywhere in a round. Accepted ones then journal before an earlier
   * batch's range, which `verify`'s journal walk does not handle yet, so only the pure core
   * runs them.
   */
  midRoundAccounts?: boolean;
}

/**
 * One seeded run: rounds of account batches, expiry jobs and concurrent transfer submissions,
 * every result compared with the model, then every balance. Returns the operations run.
 */
export async function simulate(system: SimulatedLedger, options: SimulationOptions): Promise<number> {
  const { seed } = options;
  const random = seededUnitFloats(seed);
  const pools = { accounts: 48, transfers: Math.max(100, options.operations) };
  const workload = new Workload(random, seed, pools, !!options.midRoundAccounts);
  const model = new LedgerModel();
  let now = options.start;
  const fail = (where: string, got: string[], expected: string[], events: unknown[]) => {
    const at = got.findIndex((result, i) => result !== expected[i]);
    assert.fail(
      `seed ${seed} ${where} event ${at}: got ${got[at]}, model ${expected[at]} (${show(events[at])})` +
        `\n  replay: LEDGER_SIM_SEED=${seed}`,
    );
  };

  system.setNow(now);
  model.at(now);
  workload.at(now);
  const initial = workload.initialAccounts();
  const initialResults = await system.createAccounts(initial);
  const expectedInitial = model.createAccounts(initial);
  if (show(initialResults) !== show(expectedInitial))
    fail('initial accounts', initialResults, expectedInitial, initial);

  let done = initial.length;
  for (let round = 1; done < options.operations; round++) {
    now += ROUND_NS;
    system.setNow(now);
    model.at(now);
    workload.at(now);
    const draw = random();
    // With `midRoundAccounts`, some transfer rounds open with an account batch: accounts created
    // at this round's time, so an imported transfer dated before it must postdate them.
    if (draw < 0.04 || (options.midRoundAccounts && draw >= 0.15 && random() < 0.03)) {
      const events = workload.accounts(1 + Math.floor(random() * 6));
      const got = await system.createAccounts(events);
      const expected = model.createAccounts(events);
      if (show(got) !== show(expected)) fail(`round ${round} accounts`, got, expected, events);
      done += events.length;
      if (options.midRoundAccounts && random() < 0.5) {
        const imported = workload.importedOnto(events.map((event) => event.id));
        const [gotImported] = await system.createTransfers([imported]);
        const expectedImported = model.createTransfers(imported);
        if (show(gotImported) !== show(expectedImported))
          fail(`round ${round} imported onto new accounts`, gotImported!, expectedImported, imported);
        done += imported.length;
      }
    }
    if (draw < 0.04) {
      // accounts only
    } else if (draw < 0.15) {
      await system.expire();
      model.expire();
    } else {
      const submissions = Array.from({ length: options.submissions }, (_, index) =>
        workload.transfers(1 + Math.floor(random() * options.eventsPerSubmissionMax), index === 0),
      );
      const got = await system.createTransfers(submissions);
      submissions.forEach((events, index) => {
        const expected = model.createTransfers(events);
        if (show(got[index]) !== show(expected))
          fail(`round ${round} submission ${index}`, got[index]!, expected, events);
        done += events.length;
      });
    }
  }

  model.expire(); // balances are read at the deadline's far side, job or no job
  const ids = [...model.state.accounts.keys()];
  const actual = await system.balances(ids);
  for (const id of ids) {
    const expected = model.state.accounts.get(id)!;
    assert.deepEqual(
      actual.get(id),
      [
        expected.debitsPending,
        expected.debitsPosted,
        expected.creditsPending,
        expected.creditsPosted,
        expected.closed ? 1n : 0n,
      ],
      `seed ${seed}: balances of ${id} (replay: LEDGER_SIM_SEED=${seed})`,
    );
  }
  return done;
}

/** The database-backed Ledger as a simulated ledger; `clock` is the Ledger's clock. */
export function dbLedger(ledger: Ledger, clock: ManualClock): SimulatedLedger {
  return {
    setNow: (now) => clock.set(new Date(Number(now / 1_000_000n))),
    createAccounts: async (events) => (await ledger.createAccounts(events)).map((o) => o.result),
    createTransfers: async (submissions) =>
      (await Promise.all(submissions.map((events) => ledger.createTransfers(events)))).map((outcomes) =>
        outcomes.map((o) => o.result),
      ),
    expire: async () => {
      await ledger.expirePendingTransfers(clock.now());
    },
    balances: async (ids) =>
      new Map(
        (await ledger.lookupAccounts(ids)).map((a) => [
          a.id,
          [a.debitsPending, a.debitsPosted, a.creditsPending, a.creditsPosted, a.closed ? 1n : 0n],
        ]),
      ),
  };
}
