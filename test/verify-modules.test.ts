import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestApp } from '../src/platform/testing/app.ts';
import { fundWallets } from './redpacket-fixtures.ts';
import {
  bindCard,
  newUser,
  PIN,
  post,
  settled,
  startWalletWorld,
  type TestUser,
  topUp,
  type WalletWorld,
  withdraw,
} from './wallet-fixtures.ts';

/**
 * Module verify checks against tampering: each test edits one row with SQL, as an attacker
 * with database access would, and expects exactly the named check to fail among all of
 * `tuyere verify`'s checks; then puts the row back.
 */
let world: WalletWorld;
let app: TestApp;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let mallory: TestUser;
let envelopeId: string;
let paidOut: string;
let held: string;
let cardEnvelope: string;

before(async () => {
  world = await startWalletWorld({ config: { walletWithdrawalFeeBps: 100, walletWithdrawalFeeMin: 100 } });
  app = world.app;
  [alice, bob, carol, mallory] = [
    await newUser(app),
    await newUser(app),
    await newUser(app),
    await newUser(app),
  ];
  await fundWallets(app, [alice.id], 100_000n);
  const groupId = (await app.social.create(alice.id, 'Family', [bob.id, carol.id])).id;
  const sent = await post(app, '/v1/envelopes', alice, {
    group_id: groupId,
    kind: 'lucky',
    amount: '1000',
    shares: 3,
    greeting: 'Good luck',
    proof: { type: 'pin', pin: PIN },
  });
  assert.equal(sent.statusCode, 201, sent.body);
  envelopeId = sent.json().id;
  for (const member of [bob, carol]) {
    const grabbed = await app.http.inject({
      method: 'POST',
      url: `/v1/envelopes/${envelopeId}/grab`,
      headers: member.headers,
    });
    assert.equal(grabbed.statusCode, 200, grabbed.body);
  }
  // A withdrawal paid out (its fee posted) and one whose callback is lost (both holds open).
  const card = await bindCard(world, carol, '0001');
  await settled(world, (await topUp(world, carol, card, 50_000n)).json().id);
  const ok = await withdraw(world, carol, card, 10_000n);
  paidOut = ok.json().id;
  assert.equal((await settled(world, paidOut)).state, 'succeeded');
  const lost = await withdraw(world, carol, await bindCard(world, carol, '0006'), 2_000n);
  assert.equal(lost.statusCode, 202, lost.body);
  held = lost.json().id;
  // An envelope paid by a card whose bank notice is lost: funding, its hold open.
  const dave = await newUser(app);
  await bindCard(world, dave, '0006');
  const byCard = await post(app, '/v1/envelopes', dave, {
    recipient_id: alice.id,
    kind: 'personal',
    amount: '500',
    source: 'card',
    proof: { type: 'pin', pin: PIN },
  });
  assert.ok([201, 202].includes(byCard.statusCode), byCard.body);
  cardEnvelope = byCard.json().id;
});
after(async () => {
  await world.close();
});

async function failing(): Promise<string[]> {
  return (await app.verify()).filter((check) => !check.ok).map((check) => check.name);
}

async function expectExactly(
  tamper: () => Promise<unknown>,
  restore: () => Promise<unknown>,
  expected: string[],
): Promise<void> {
  assert.deepEqual(await failing(), [], 'clean before tampering');
  await tamper();
  try {
    assert.deepEqual(await failing(), expected);
  } finally {
    await restore();
  }
  assert.deepEqual(await failing(), [], 'clean after restoring');
}

test('redpacket payouts: a grab credited to someone who was never paid is caught (escrow totals still agree)', async () => {
  const { rows } = await app.db.query<{ grabbers: string[] }>(
    'SELECT grabbers FROM redpacket_envelopes WHERE id = $1',
    [envelopeId],
  );
  const grabbers = rows[0]!.grabbers;
  const setGrabbers = (users: string[]) =>
    app.db.query('UPDATE redpacket_envelopes SET grabbers = $2::uuid[] WHERE id = $1', [envelopeId, users]);
  await expectExactly(
    () => setGrabbers([grabbers[0]!, mallory.id]),
    () => setGrabbers(grabbers),
    ["redpacket: each grabber's payout matches the grab"],
  );
});

test('wallet fees: a withdrawal whose recorded fee no longer follows the rule or its fee transfer', async () => {
  await expectExactly(
    () => app.db.query('UPDATE wallet_bank_operations SET fee = fee - 1 WHERE id = $1', [paidOut]),
    () => app.db.query('UPDATE wallet_bank_operations SET fee = fee + 1 WHERE id = $1', [paidOut]),
    ['wallet: withdrawal fees follow the fee rule and their fee transfers'],
  );
});

test('wallet fees: each withdrawal is checked against the rule recorded on it, not today’s setting', async () => {
  const { rows } = await app.db.query<{ fee_bps: number | null; fee_min: string | null }>(
    'SELECT fee_bps, fee_min::text FROM wallet_bank_operations WHERE id = $1',
    [paidOut],
  );
  assert.deepEqual(rows[0], { fee_bps: 100, fee_min: '100' });
  // A row charged under another rule (as after a rate change) that its fee follows: clean.
  // The fee itself is not touched, so the fee transfer still matches.
  const { rows: amounts } = await app.db.query<{ amount: string; fee: string }>(
    'SELECT amount::text, fee::text FROM wallet_bank_operations WHERE id = $1',
    [paidOut],
  );
  const { amount, fee } = amounts[0]!;
  const flatRule = (value: string) =>
    app.db.query('UPDATE wallet_bank_operations SET fee_bps = 1, fee_min = $2 WHERE id = $1', [
      paidOut,
      value,
    ]);
  const restore = () =>
    app.db.query('UPDATE wallet_bank_operations SET fee_bps = 100, fee_min = 100 WHERE id = $1', [paidOut]);
  try {
    await flatRule(fee);
    assert.deepEqual(
      await failing(),
      [],
      `a fee that follows its own recorded rule is clean (amount ${amount})`,
    );
  } finally {
    await restore();
  }
  // The recorded rule tampered so the fee no longer follows it: caught.
  await expectExactly(() => flatRule((BigInt(fee) + 1n).toString()), restore, [
    'wallet: withdrawal fees follow the fee rule and their fee transfers',
  ]);
});

test('wallet holds: an open hold whose bank operation was deleted is an orphan', async () => {
  let saved: unknown;
  await expectExactly(
    async () => {
      const { rows } = await app.db.query(
        'DELETE FROM wallet_bank_operations WHERE id = $1 RETURNING row_to_json(wallet_bank_operations.*) AS row',
        [held],
      );
      assert.equal(rows.length, 1);
      saved = rows[0]!.row;
    },
    () =>
      app.db.query(
        'INSERT INTO wallet_bank_operations SELECT * FROM json_populate_record(NULL::wallet_bank_operations, $1)',
        [saved],
      ),
    ['wallet: every open wallet hold belongs to a pending bank operation'],
  );
});

test('identity limits: a counter that under-counts its reservations', async () => {
  const { rows } = await app.db.query<{ user_id: string; counter: string; period: string }>(
    'SELECT user_id, counter, period FROM identity_limit_counters WHERE used > 0 LIMIT 1',
  );
  assert.equal(rows.length, 1, 'payments reserved limits');
  const key = [rows[0]!.user_id, rows[0]!.counter, rows[0]!.period];
  const shift = (by: number) =>
    app.db.query(
      'UPDATE identity_limit_counters SET used = used + $4 WHERE user_id = $1 AND counter = $2 AND period = $3',
      [...key, by],
    );
  await expectExactly(
    () => shift(-1),
    () => shift(1),
    ['identity: limit counters agree with their reservations'],
  );
});

test('redpacket holds: an open funding hold whose envelope no longer names it is an orphan', async () => {
  const { rows } = await app.db.query<{ fund_transfer_id: string; status: string }>(
    'SELECT fund_transfer_id, status FROM redpacket_envelopes WHERE id = $1',
    [cardEnvelope],
  );
  assert.equal(rows[0]!.status, 'funding');
  const fundTransferId = rows[0]!.fund_transfer_id;
  const setFund = (id: string) =>
    app.db.query('UPDATE redpacket_envelopes SET fund_transfer_id = $2 WHERE id = $1', [cardEnvelope, id]);
  await expectExactly(
    () => setFund('00000000-0000-4000-8000-000000000001'),
    () => setFund(fundTransferId),
    ['redpacket: every open funding hold funds an envelope'],
  );
});

test('a busy database: grabs and friend transfers commit while tuyere verify runs, with no false violation', async () => {
  const members = [];
  for (let i = 0; i < 10; i++) members.push(await newUser(app));
  await fundWallets(app, [alice.id], 100_000n);
  const groupId = (
    await app.social.create(
      alice.id,
      'Busy',
      members.map((m) => m.id),
    )
  ).id;
  const sent = await post(app, '/v1/envelopes', alice, {
    group_id: groupId,
    kind: 'lucky',
    amount: '5000',
    shares: members.length,
    greeting: 'Busy',
    proof: { type: 'pin', pin: PIN },
  });
  assert.equal(sent.statusCode, 201, sent.body);
  let writing = true;
  const writes = (async () => {
    const done: number[] = [];
    const grabs = members.map((member) =>
      app.http.inject({
        method: 'POST',
        url: `/v1/envelopes/${sent.json().id}/grab`,
        headers: member.headers,
      }),
    );
    for (let i = 0; writing && i < 40; i++) {
      const paid = await post(app, `/v1/users/${alice.id}/transfers`, alice, {
        to_user_id: members[i % members.length]!.id,
        amount: '7',
        proof: { type: 'pin', pin: PIN },
      });
      done.push(paid.statusCode);
    }
    for (const grabbed of await Promise.all(grabs)) assert.equal(grabbed.statusCode, 200, grabbed.body);
    return done;
  })();
  try {
    for (let run = 0; run < 4; run++) {
      const checks = await app.verify({ full: run % 2 === 1, record: true });
      assert.deepEqual(
        checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.violations.slice(0, 3).join('; ')}`),
        [],
      );
    }
  } finally {
    writing = false;
  }
  const statuses = await writes;
  assert.ok(statuses.length > 0 && statuses.every((s) => s === 201 || s === 200), JSON.stringify(statuses));
  assert.deepEqual(await failing(), []);
});
