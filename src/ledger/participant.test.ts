import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../platform/clock.ts';
import { uuidv7 } from '../platform/ids.ts';
import { seededIntegers } from '../platform/random.ts';
import { createTestDatabase, type TestDatabase } from '../platform/testing/database.ts';
import {
  AccountFlags as AF,
  type CommitParticipant,
  type CreateTransferOutcome,
  type JoinedWrite,
  Ledger,
  Ledgers,
  CreateTransferResult as TR,
} from './index.ts';

/** Commit participants: another module's writes commit with a submission's transfers, or neither does. */

let database: TestDatabase;
let ledger: Ledger;
const clock = new ManualClock('2026-03-01T00:00:00Z');

before(async () => {
  database = await createTestDatabase();
  // These tests are about atomicity, not latency: a loaded CI machine must not turn a slow
  // queue into 'ledger_overloaded' rejections.
  ledger = new Ledger({ db: database.db, clock, writer: { queueWaitMsMax: 300_000 } });
  await database.db.query('CREATE TABLE participant_rows (transfer_id uuid PRIMARY KEY, note text NOT NULL)');
});
after(async () => {
  await ledger.close();
  await database.drop();
});

async function accounts(count: number, flags = 0): Promise<string[]> {
  const ids = Array.from({ length: count }, () => uuidv7());
  const results = await ledger.createAccounts(ids.map((id) => ({ id, ledger: Ledgers.CNY, code: 1, flags })));
  assert.ok(results.every((r) => r.result === 'ok'));
  return ids;
}

/** Writes one row per transfer; refuses when told to or when any transfer failed. */
function recorder(
  ids: string[],
  options: { refuse?: boolean } = {},
): CommitParticipant & { seen: CreateTransferOutcome[] | null } {
  const inner = writer(ids, 'recorded');
  return {
    seen: null,
    writes(outcomes) {
      this.seen = outcomes;
      if (options.refuse) throw new Error('refused on purpose');
      if (outcomes.some((o) => o.result !== TR.ok)) throw new Error('a transfer failed');
      return inner.writes(outcomes);
    },
    refusal: inner.refusal,
  };
}

async function rowsFor(ids: string[]): Promise<number> {
  const { rows } = await database.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM participant_rows WHERE transfer_id = ANY($1::uuid[])',
    [ids],
  );
  return rows[0]!.n;
}
async function transfersFor(ids: string[]): Promise<number> {
  return (await ledger.lookupTransfers(ids)).length;
}

/** A typed write as a module's store would build it: one row per id, accepted when all went in. */
function insertRows(ids: string[], note: string): JoinedWrite {
  return {
    render(sql, applies) {
      const inserted = sql.name('participant_rows');
      return {
        ctes: [
          `${inserted} AS (INSERT INTO participant_rows
             SELECT unnest(${sql.param(ids)}::uuid[]), ${sql.param(note)}::text WHERE ${applies} RETURNING 1)`,
        ],
        accepted: `(SELECT count(*) FROM ${inserted}) = ${ids.length}`,
      };
    },
  };
}

/** A guard with no CTE of its own: accepted only while a row with this note exists. */
function noteExists(note: string): JoinedWrite {
  return {
    render: (sql) => ({
      ctes: [],
      accepted: `EXISTS (SELECT 1 FROM participant_rows WHERE note = ${sql.param(note)}::text)`,
    }),
  };
}

function writer(ids: string[], note: string): CommitParticipant {
  return {
    writes(outcomes) {
      const failed = outcomes.find((o) => o.result !== TR.ok);
      if (failed) throw new Error(`refused: ${failed.result}`);
      return [insertRows(ids, note)];
    },
    refusal: () => new Error('participant rows missing'),
  };
}

/**
 * Refuses in SQL, after its writes ran: it inserts its rows, then accepts only if a guard row
 * (which the test never creates) exists. The whole batch statement must roll back.
 */
function refusingInSql(ids: string[]): CommitParticipant {
  return {
    writes: () => [insertRows(ids, 'doomed'), noteExists('guard')],
    refusal: () => new Error('refused in SQL'),
  };
}

test('a participant sees its own outcomes and its writes commit with the transfers', async () => {
  const [a, b] = await accounts(2);
  const ids = [uuidv7(), uuidv7()];
  const probe = recorder(ids);
  const outcomes = await ledger.createTransfers(
    ids.map((id) => ({
      id,
      debitAccountId: a!,
      creditAccountId: b!,
      amount: 10n,
      ledger: Ledgers.CNY,
      code: 1,
    })),
    { participant: probe },
  );
  assert.deepEqual(
    probe.seen?.map((o) => o.result),
    [TR.ok, TR.ok],
  );
  assert.deepEqual(outcomes, probe.seen);
  const ids2 = [uuidv7()];
  await ledger.createTransfers(
    ids2.map((id) => ({
      id,
      debitAccountId: a!,
      creditAccountId: b!,
      amount: 1n,
      ledger: Ledgers.CNY,
      code: 1,
    })),
    { participant: writer(ids2, 'one') },
  );
  assert.equal(await rowsFor(ids2), 1);
});

test('a refusing participant leaves no transfer behind and does not sink the rest of its batch', async () => {
  const [a, b] = await accounts(2);
  const refusedIds = [uuidv7(), uuidv7()];
  const okIds = Array.from({ length: 20 }, () => uuidv7());
  const plainIds = Array.from({ length: 20 }, () => uuidv7());
  const event = (id: string) => ({
    id,
    debitAccountId: a!,
    creditAccountId: b!,
    amount: 7n,
    ledger: Ledgers.CNY,
    code: 1,
  });
  // Submitted in the same turn, so they share a batch.
  const [refused, ...rest] = await Promise.allSettled([
    ledger.createTransfers(refusedIds.map(event), { participant: recorder(refusedIds, { refuse: true }) }),
    ...okIds.map((id) => ledger.createTransfers([event(id)], { participant: writer([id], 'ok') })),
    ...plainIds.map((id) => ledger.createTransfers([event(id)])),
  ]);
  assert.equal(refused!.status, 'rejected');
  assert.match(String((refused as PromiseRejectedResult).reason), /refused on purpose/);
  for (const outcome of rest) assert.equal(outcome.status, 'fulfilled');
  assert.equal(await transfersFor(refusedIds), 0);
  assert.equal(await transfersFor(okIds), okIds.length);
  assert.equal(await rowsFor(okIds), okIds.length);
  assert.equal(await transfersFor(plainIds), plainIds.length);
  const [debit] = await ledger.lookupAccounts([a!]);
  assert.equal(debit!.debitsPosted, 7n * 40n);
  assert.ok((await ledger.verify()).ok);
});

test('a participant refusing in SQL rolls back the whole batch statement, then the rest commits', async () => {
  const [a, b] = await accounts(2);
  const event = (id: string) => ({
    id,
    debitAccountId: a!,
    creditAccountId: b!,
    amount: 3n,
    ledger: Ledgers.CNY,
    code: 1,
  });
  // Warm the writer so the batch below takes the pipelined (single statement) path.
  await ledger.createTransfers([event(uuidv7())]);
  const doomedIds = [uuidv7(), uuidv7()];
  const okIds = Array.from({ length: 10 }, () => uuidv7());
  const [doomed, ...rest] = await Promise.allSettled([
    ledger.createTransfers(doomedIds.map(event), { participant: refusingInSql(doomedIds) }),
    ...okIds.map((id) => ledger.createTransfers([event(id)], { participant: writer([id], 'after') })),
  ]);
  assert.equal(doomed!.status, 'rejected');
  assert.match(String((doomed as PromiseRejectedResult).reason), /refused in SQL/);
  for (const outcome of rest) assert.equal(outcome.status, 'fulfilled');
  assert.equal(await transfersFor(doomedIds), 0);
  assert.equal(await rowsFor(doomedIds), 0);
  assert.equal(await transfersFor(okIds), okIds.length);
  assert.equal(await rowsFor(okIds), okIds.length);
  const [debit] = await ledger.lookupAccounts([a!]);
  assert.equal(debit!.debitsPosted, 3n * 11n);
  assert.ok((await ledger.verify()).ok);
});

test('a participant can refuse on the ledger outcomes: nothing of its submission stays', async () => {
  const [funded, poor, target] = await accounts(3, AF.debits_must_not_exceed_credits);
  const [source] = await accounts(1);
  await ledger.createTransfers([
    {
      id: uuidv7(),
      debitAccountId: source!,
      creditAccountId: funded!,
      amount: 100n,
      ledger: Ledgers.CNY,
      code: 1,
    },
  ]);
  // The first event would succeed, the second cannot: the participant refuses, so neither stays.
  const ids = [uuidv7(), uuidv7()];
  await assert.rejects(
    ledger.createTransfers(
      [
        {
          id: ids[0]!,
          debitAccountId: funded!,
          creditAccountId: target!,
          amount: 60n,
          ledger: Ledgers.CNY,
          code: 1,
        },
        {
          id: ids[1]!,
          debitAccountId: poor!,
          creditAccountId: target!,
          amount: 1n,
          ledger: Ledgers.CNY,
          code: 1,
        },
      ],
      { participant: writer(ids, 'never') },
    ),
    /exceeds_credits/,
  );
  assert.equal(await transfersFor(ids), 0);
  const [account] = await ledger.lookupAccounts([funded!]);
  assert.equal(account!.debitsPosted, 0n);
  assert.ok((await ledger.verify()).ok);
});

test('a refused submission burns no id: its transient failures are not recorded, so a retry can succeed', async () => {
  // The grab engine relies on this: a payout refused with its batch (any outcome not ok) is
  // retried later under the same deterministic id.
  const [poor, target] = await accounts(2, AF.debits_must_not_exceed_credits);
  const [source] = await accounts(1);
  const payout = {
    id: uuidv7(),
    debitAccountId: poor!,
    creditAccountId: target!,
    amount: 5n,
    ledger: Ledgers.CNY,
    code: 1,
  };
  await assert.rejects(
    ledger.createTransfers([payout], { participant: writer([payout.id], 'never') }),
    /exceeds_credits/,
  );
  await ledger.createTransfers([
    {
      id: uuidv7(),
      debitAccountId: source!,
      creditAccountId: poor!,
      amount: 5n,
      ledger: Ledgers.CNY,
      code: 1,
    },
  ]);
  const [retried] = await ledger.createTransfers([payout], { participant: writer([payout.id], 'paid') });
  assert.equal(retried!.result, TR.ok);
  // Without a participant the same failure is recorded: the id stays refused.
  const other = { ...payout, id: uuidv7(), amount: 1000n };
  assert.equal((await ledger.createTransfers([other]))[0]!.result, TR.exceeds_credits);
  assert.equal((await ledger.createTransfers([{ ...other, amount: 1n }]))[0]!.result, TR.id_already_failed);
  assert.ok((await ledger.verify()).ok);
});

test('under pipelined load, a participant row exists exactly when its transfers do', async () => {
  const pool = await accounts(40);
  const random = seededIntegers(Number(process.env.LEDGER_PARTICIPANT_SEED ?? 11));
  const submissions: Array<{ ids: string[]; refuse: boolean; settled: Promise<'fulfilled' | 'rejected'> }> =
    [];
  for (let round = 0; round < 30; round++) {
    for (let k = 0; k < 20; k++) {
      const ids = Array.from({ length: 1 + random.below(5) }, () => uuidv7());
      const draw = random.below(14);
      const refuse = draw < 2;
      const events = ids.map((id) => {
        const debit = pool[random.below(pool.length)]!;
        let credit = pool[random.below(pool.length)]!;
        if (credit === debit) credit = pool[(pool.indexOf(debit) + 1) % pool.length]!;
        return {
          id,
          debitAccountId: debit,
          creditAccountId: credit,
          amount: 1n + BigInt(random.below(50)),
          ledger: Ledgers.CNY,
          code: 1,
        };
      });
      // Half the refusals are decided in Node before sending, half in SQL after the writes ran.
      const participant =
        draw === 0
          ? recorder(ids, { refuse: true })
          : draw === 1
            ? refusingInSql(ids)
            : writer(ids, `round ${round}`);
      submissions.push({
        ids,
        refuse,
        settled: ledger.createTransfers(events, { participant }).then(
          () => 'fulfilled' as const,
          () => 'rejected' as const,
        ),
      });
    }
    // Let some rounds overlap in the pipeline and some not.
    if (round % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const started = performance.now();
  const outcomes = await Promise.all(submissions.map((submission) => submission.settled));
  console.log(`writer: ${Math.round(performance.now() - started)} ms`);
  const allIds = submissions.flatMap((submission) => submission.ids);
  const stored = new Set((await ledger.lookupTransfers(allIds)).map((transfer) => transfer.id));
  const { rows } = await database.db.query<{ transfer_id: string }>(
    'SELECT transfer_id FROM participant_rows WHERE transfer_id = ANY($1::uuid[])',
    [allIds],
  );
  const written = new Set(rows.map((row) => row.transfer_id));
  let refusedCount = 0;
  for (const [index, submission] of submissions.entries()) {
    assert.equal(outcomes[index], submission.refuse ? 'rejected' : 'fulfilled');
    for (const id of submission.ids) {
      assert.equal(stored.has(id), !submission.refuse, `transfer ${id}`);
      assert.equal(written.has(id), !submission.refuse, `participant row ${id}`);
    }
    if (submission.refuse) refusedCount++;
  }
  assert.ok(refusedCount > 0, 'the seed refused nothing: the test would prove nothing');
  assert.ok((await ledger.verify()).ok);
});

test('writes that render nothing, or only an acceptance, join both the pipelined and unpipelined paths', async () => {
  const [a, b] = await accounts(2);
  const event = (id: string) => ({
    id,
    debitAccountId: a!,
    creditAccountId: b!,
    amount: 2n,
    ledger: Ledgers.CNY,
    code: 1,
  });
  await ledger.createTransfers([event(uuidv7())], { participant: writer([uuidv7()], 'present') });
  const ids = Array.from({ length: 6 }, () => uuidv7());
  // First pipelined (the writer is warm), then through a writer that never pipelines.
  const unpipelined = new Ledger({ db: database.db, clock, writer: { pipelineDepth: 1 } });
  for (const [round, target] of [ledger, unpipelined].entries()) {
    const mine = ids.slice(round * 3, round * 3 + 3);
    const participants: CommitParticipant[] = [
      { writes: () => [], refusal: () => new Error('never') },
      { writes: () => [noteExists('present')], refusal: () => new Error('never') },
      {
        writes: () => [noteExists('present'), insertRows([mine[2]!], 'mixed')],
        refusal: () => new Error('never'),
      },
    ];
    const settled = await Promise.allSettled([
      target.createTransfers([event(uuidv7())], { participant: refusingInSql([uuidv7()]) }),
      ...participants.map((participant, k) => target.createTransfers([event(mine[k]!)], { participant })),
    ]);
    assert.equal(settled[0]!.status, 'rejected');
    for (const outcome of settled.slice(1)) {
      assert.equal(outcome.status, 'fulfilled', String((outcome as PromiseRejectedResult).reason));
    }
    assert.equal(await transfersFor(mine), 3);
  }
  await unpipelined.close();
  assert.equal(await rowsFor([ids[2]!, ids[5]!]), 2);
  const refusedGuard = {
    writes: () => [noteExists('no such note')],
    refusal: () => new Error('guard failed'),
  };
  const id = uuidv7();
  await assert.rejects(ledger.createTransfers([event(id)], { participant: refusedGuard }), /guard failed/);
  assert.equal(await transfersFor([id]), 0);
  assert.ok((await ledger.verify()).ok);
});
