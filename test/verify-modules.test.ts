import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { fundWallets } from './redpacket-fixtures.ts';
import { newUser, PIN, post, type TestUser } from './wallet-fixtures.ts';

/**
 * Module verify checks against tampering: each test edits one row with SQL, as an attacker
 * with database access would, and expects exactly the named check to fail among all of
 * `tuyere verify`'s checks; then puts the row back.
 */
let app: TestApp;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let mallory: TestUser;
let envelopeId: string;

before(async () => {
  app = await createTestApp({ clock: new ManualClock(new Date()) });
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
});
after(async () => {
  await app.close();
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
