import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Ledger } from '../src/ledger/index.ts';
import { ManualClock } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { GrabEngine, type GrabOutcome } from '../src/redpacket/index.ts';
import { assertBooks, fundWallets, ids, walletBalance } from './redpacket-fixtures.ts';
import { newUser, PIN, post, type TestUser } from './wallet-fixtures.ts';

let app: TestApp;
let clock: ManualClock;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let mallory: TestUser;
let groupId: string;

before(async () => {
  clock = new ManualClock(new Date());
  app = await createTestApp({ clock, config: { groupMembersMax: 5000 } });
  [alice, bob, carol, mallory] = [
    await newUser(app),
    await newUser(app),
    await newUser(app),
    await newUser(app),
  ];
  await fundWallets(app, [alice.id], 100_000_00n);
  groupId = (await app.social.create(alice.id, 'Family', [bob.id, carol.id])).id;
});
after(async () => {
  await app.close();
});

const pin = { type: 'pin', pin: PIN };
const grab = (user: TestUser, envelopeId: string) =>
  app.http.inject({ method: 'POST', url: `/v1/envelopes/${envelopeId}/grab`, headers: user.headers });

test('a lucky group envelope: each member grabs once, shares sum to the total, luckiest marked, books clean', async () => {
  const before = await walletBalance(app, alice.id);
  const sent = await post(app, '/v1/envelopes', alice, {
    group_id: groupId,
    kind: 'lucky',
    amount: '1000',
    shares: 3,
    greeting: 'Happy New Year',
    proof: pin,
  });
  assert.equal(sent.statusCode, 201, sent.body);
  const envelope = sent.json();
  assert.equal(envelope.status, 'active');
  assert.equal(await walletBalance(app, alice.id), before - 1000n);

  const amounts: bigint[] = [];
  for (const member of [bob, carol, alice]) {
    const response = await grab(member, envelope.id);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().outcome, 'grabbed');
    amounts.push(BigInt(response.json().amount));
  }
  assert.equal(
    amounts.reduce((a, b) => a + b, 0n),
    1000n,
  );
  assert.ok(amounts.every((amount) => amount >= 1n));
  const again = (await grab(bob, envelope.id)).json();
  assert.equal(again.outcome, 'already_grabbed');
  assert.equal(BigInt(again.amount), amounts[0]);

  const outsider = await grab(mallory, envelope.id);
  assert.equal(outsider.statusCode, 404);
  const view = (
    await app.http.inject({ method: 'GET', url: `/v1/envelopes/${envelope.id}`, headers: carol.headers })
  ).json();
  assert.equal(view.status, 'finished');
  assert.equal(view.grabs.filter((g: { luckiest: boolean }) => g.luckiest).length, 1);
  const largest = view.grabs.reduce((best: { amount: string }, g: { amount: string }) =>
    BigInt(g.amount) > BigInt(best.amount) ? g : best,
  );
  assert.equal(largest.luckiest, true);

  const events = await app.social.events(groupId, 0n, 500);
  const types = events
    .filter((e) => (e.payload as { envelope_id?: string }).envelope_id === envelope.id)
    .map((e) => e.type);
  assert.deepEqual(types, [
    'envelope.sent',
    'envelope.grabbed',
    'envelope.grabbed',
    'envelope.grabbed',
    'envelope.finished',
  ]);
  assert.equal(await walletBalance(app, bob.id), amounts[0]);
  await assertBooks(app);
});

test('the list of who got what is hidden from those who have not grabbed until it is over', async () => {
  const envelope = (
    await post(app, '/v1/envelopes', alice, {
      group_id: groupId,
      kind: 'fixed',
      amount: '300',
      shares: 3,
      proof: pin,
    })
  ).json();
  assert.equal((await grab(bob, envelope.id)).json().amount, '100');
  const carolView = (
    await app.http.inject({ method: 'GET', url: `/v1/envelopes/${envelope.id}`, headers: carol.headers })
  ).json();
  assert.equal(carolView.grabs, null);
  const bobView = (
    await app.http.inject({ method: 'GET', url: `/v1/envelopes/${envelope.id}`, headers: bob.headers })
  ).json();
  assert.equal(bobView.grabs.length, 1);
  assert.equal(
    (await app.http.inject({ method: 'GET', url: `/v1/envelopes/${envelope.id}`, headers: mallory.headers }))
      .statusCode,
    404,
  );
});

test('attack: polling a lucky envelope between grabs reveals no share to a member who has not grabbed', async () => {
  const envelope = (
    await post(app, '/v1/envelopes', alice, {
      group_id: groupId,
      kind: 'lucky',
      amount: '1000',
      shares: 2,
      proof: pin,
    })
  ).json();
  const view = async (user: TestUser) =>
    (
      await app.http.inject({ method: 'GET', url: `/v1/envelopes/${envelope.id}`, headers: user.headers })
    ).json();
  const before = await view(carol);
  assert.equal(before.grabbed_amount, null);
  const bobShare = (await grab(bob, envelope.id)).json().amount as string;
  // Carol polls after Bob's grab: she learns that one share is gone, not how much it was.
  const polled = await view(carol);
  assert.equal(polled.grabbed_count, 1);
  assert.equal(polled.grabbed_amount, null);
  assert.equal(polled.grabs, null);
  assert.equal(polled.refund_amount, null);
  // The sender and the grabber still see the amounts.
  assert.equal((await view(alice)).grabbed_amount, bobShare);
  assert.equal((await view(bob)).grabbed_amount, bobShare);
  // Once Carol has grabbed (the envelope is finished), everything is shown.
  await grab(carol, envelope.id);
  const after = await view(carol);
  assert.equal(after.status, 'finished');
  assert.equal(after.grabbed_amount, '1000');
  assert.equal(after.grabs.length, 2);
});

test('bad envelopes are refused with stable codes and move no money', async () => {
  const before = await walletBalance(app, alice.id);
  const cases: Array<[object, number, string]> = [
    [{ group_id: groupId, kind: 'lucky', amount: '1000', shares: 4 }, 400, 'too_many_shares'],
    [{ group_id: groupId, kind: 'lucky', amount: '2', shares: 3 }, 400, 'share_below_minimum'],
    [{ group_id: groupId, kind: 'fixed', amount: '100', shares: 3 }, 400, 'uneven_fixed_envelope'],
    [{ group_id: groupId, kind: 'lucky', amount: '2000001', shares: 3 }, 400, 'envelope_amount_too_large'],
    [{ recipient_id: bob.id, kind: 'personal', amount: '20001' }, 400, 'envelope_amount_too_large'],
    [{ recipient_id: alice.id, kind: 'personal', amount: '100' }, 400, 'cannot_send_to_self'],
    [
      { group_id: groupId, recipient_id: bob.id, kind: 'lucky', amount: '100', shares: 1 },
      400,
      'envelope_target_required',
    ],
    [{ group_id: randomUUID(), kind: 'lucky', amount: '100', shares: 1 }, 404, 'group_not_found'],
  ];
  for (const [body, status, code] of cases) {
    const response = await post(app, '/v1/envelopes', alice, { ...body, proof: pin });
    assert.equal(response.statusCode, status, `${code}: ${response.body}`);
    assert.equal(response.json().error.code, code);
  }
  const wrongPin = await post(app, '/v1/envelopes', alice, {
    group_id: groupId,
    kind: 'lucky',
    amount: '100',
    shares: 2,
    proof: { type: 'pin', pin: '000000' },
  });
  assert.equal(wrongPin.statusCode >= 400 && wrongPin.statusCode < 500, true);
  const broke = await post(app, '/v1/envelopes', mallory, {
    recipient_id: bob.id,
    kind: 'personal',
    amount: '500',
    proof: pin,
  });
  assert.ok(broke.statusCode >= 400 && broke.statusCode < 500, broke.body);
  assert.equal(await walletBalance(app, alice.id), before);
  assert.equal(await walletBalance(app, mallory.id), 0n);
  await assertBooks(app);
});

test('a retried send (same Idempotency-Key) is the same envelope, paid once', async () => {
  const before = await walletBalance(app, alice.id);
  const key = randomUUID();
  const body = { recipient_id: bob.id, kind: 'personal', amount: '888', greeting: 'for you', proof: pin };
  const [first, second] = await Promise.all([
    post(app, '/v1/envelopes', alice, body, key),
    post(app, '/v1/envelopes', alice, body, key),
  ]);
  const statuses = [first.statusCode, second.statusCode].sort();
  assert.ok(statuses[0] === 201 && (statuses[1] === 201 || statuses[1] === 409), String(statuses));
  const replay = await post(app, '/v1/envelopes', alice, body, key);
  assert.equal(replay.statusCode, 201);
  assert.equal(await walletBalance(app, alice.id), before - 888n);
  const envelope = replay.json();
  assert.equal(
    (await grab(carol, envelope.id)).statusCode,
    404,
    'a personal envelope is for its recipient only',
  );
  assert.equal((await grab(bob, envelope.id)).json().amount, '888');
});

test('races: concurrent grabbers × shares never over-allocate, never grab twice, and fill exactly', async () => {
  for (const [grabbers, shares] of [
    [10, 1],
    [10, 10],
    [100, 10],
    [100, 100],
    [1000, 10],
    [1000, 100],
  ] as const) {
    for (let round = 0; round < 2; round++) {
      const users = ids(grabbers);
      const group = await app.social.create(alice.id, `race ${grabbers}x${shares}`, users, {
        members: 'synthetic',
      });
      const total = BigInt(shares) * 137n + 11n;
      const envelope = await app.redpacket.send({
        envelopeId: randomUUID(),
        senderId: alice.id,
        groupId: group.id,
        kind: 'lucky',
        total,
        shares,
        greeting: 'race',
        proof: { type: 'pin', pin: PIN },
      });
      // Each grabber asks twice, all at once.
      const outcomes = await Promise.all(
        [...users, ...users].map((user) => app.redpacket.grab(envelope.id, user)),
      );
      const grabbed = outcomes.filter((o) => o.outcome === 'grabbed');
      assert.equal(grabbed.length, Math.min(grabbers, shares), `${grabbers}x${shares}`);
      const sum = grabbed.reduce((a, o) => a + ('amount' in o ? o.amount : 0n), 0n);
      assert.equal(sum, total, 'fully claimed: the sum is the total');
      assert.ok(grabbed.every((o) => 'amount' in o && o.amount >= 1n));
      assert.ok(outcomes.every((o) => ['grabbed', 'already_grabbed', 'all_taken'].includes(o.outcome)));
      const { rows } = await app.db.query<{ n: number; users: number }>(
        'SELECT count(*)::int AS n, count(DISTINCT user_id)::int AS users FROM redpacket_grabs WHERE envelope_id = $1',
        [envelope.id],
      );
      assert.equal(rows[0]!.n, Math.min(grabbers, shares));
      assert.equal(rows[0]!.users, rows[0]!.n, 'at most one grab per user');
    }
  }
  await assertBooks(app);
});

test('two processes grabbing the same envelopes: stale caches are refused and retried, never double-paid', async () => {
  // A second grab engine with its own ledger writer and cache, as in a second process.
  const otherLedger = new Ledger({ db: app.db, clock: app.clock });
  const other = new GrabEngine({
    db: app.db,
    clock: app.clock,
    ledger: otherLedger,
    wallet: app.wallet,
    groups: app.social,
    log: app.log,
  });
  try {
    const users = ids(40);
    const group = await app.social.create(alice.id, 'two processes', users, { members: 'synthetic' });
    const envelopes = [];
    for (let i = 0; i < 8; i++) {
      envelopes.push(
        await app.redpacket.send({
          envelopeId: randomUUID(),
          senderId: alice.id,
          groupId: group.id,
          kind: 'lucky',
          total: 30n * 97n,
          shares: 30,
          greeting: 'two',
          proof: { type: 'pin', pin: PIN },
        }),
      );
    }
    // Every user grabs every envelope through both processes at once, in waves.
    const answers = new Map<string, GrabOutcome[]>();
    for (const envelope of envelopes) {
      const outcomes = await Promise.all(
        users.flatMap((user) => [
          app.redpacket.grab(envelope.id, user).then((o) => [user, o] as const),
          other.grab(envelope.id, user).then((o) => [user, o] as const),
        ]),
      );
      for (const [user, outcome] of outcomes) {
        const key = `${envelope.id}/${user}`;
        answers.set(key, [...(answers.get(key) ?? []), outcome]);
      }
    }
    for (const envelope of envelopes) {
      const { rows } = await app.db.query<{ user_id: string; amount: bigint }>(
        'SELECT user_id, amount FROM redpacket_grabs WHERE envelope_id = $1',
        [envelope.id],
      );
      assert.equal(rows.length, 30, 'every share taken once');
      assert.equal(
        rows.reduce((sum, row) => sum + row.amount, 0n),
        30n * 97n,
      );
      const stored = new Map(rows.map((row) => [row.user_id, row.amount]));
      for (const user of users) {
        const [first, second] = answers.get(`${envelope.id}/${user}`)!;
        const paid = stored.get(user);
        for (const outcome of [first!, second!]) {
          if (paid === undefined) assert.equal(outcome.outcome, 'all_taken');
          else if (outcome.outcome === 'grabbed' || outcome.outcome === 'already_grabbed')
            assert.equal(outcome.amount, paid, 'both processes tell the same amount');
          // A process that saw the envelope full before learning of this user's grab says all taken.
          else assert.equal(outcome.outcome, 'all_taken');
        }
        if (paid !== undefined)
          assert.equal(
            [first!, second!].filter((o) => o.outcome === 'grabbed').length,
            1,
            'exactly one process says "grabbed"',
          );
      }
    }
    assert.ok(app.redpacket.engine.stats.stale + other.stats.stale > 0, 'the stale-cache path ran');
    await assertBooks(app);
  } finally {
    await other.close();
    await otherLedger.close();
  }
});

test('an expiry landing between claim and commit refuses the grab: no payout from an expired envelope', async () => {
  const users = ids(3);
  const group = await app.social.create(alice.id, 'late', users, { members: 'synthetic' });
  const envelope = await app.redpacket.send({
    envelopeId: randomUUID(),
    senderId: alice.id,
    groupId: group.id,
    kind: 'fixed',
    total: 300n,
    shares: 3,
    greeting: 'late',
    proof: { type: 'pin', pin: PIN },
  });
  assert.equal((await app.redpacket.grab(envelope.id, users[0]!)).outcome, 'grabbed');
  // Expire it behind the engine's back (another process's expiry job): its cache still says active.
  await app.db.query(
    "UPDATE redpacket_envelopes SET status = 'expired', refund_amount = total - grabbed_amount, finished_at = now() WHERE id = $1",
    [envelope.id],
  );
  const late = await app.redpacket.grab(envelope.id, users[1]!);
  assert.equal(late.outcome, 'expired');
  const { rows } = await app.db.query<{ grabbed_count: number }>(
    'SELECT grabbed_count FROM redpacket_envelopes WHERE id = $1',
    [envelope.id],
  );
  assert.equal(rows[0]!.grabbed_count, 1);
  await app.redpacket.expireDue(app.clock.now());
  await assertBooks(app);
});

test('an operator storm: campaign envelopes, every share grabbed, progress visible, books clean', async () => {
  const tooBig = await post(
    app,
    '/v1/operator/storms',
    { headers: app.operatorHeaders },
    { envelopes: 5, shares: 30, grabbers: 20 },
  );
  assert.equal(tooBig.statusCode, 400);
  assert.equal(tooBig.json().error.code, 'storm_too_large');
  const started = await post(
    app,
    '/v1/operator/storms',
    { headers: app.operatorHeaders },
    { envelopes: 5, shares: 10, grabbers: 20 },
  );
  assert.equal(started.statusCode, 202, started.body);
  const stormId = started.json().storm_id;
  let status: { state: string; grabbed: number; attempts: number; grabbed_amount: string } | undefined;
  for (let i = 0; i < 200; i++) {
    status = (
      await app.http.inject({
        method: 'GET',
        url: `/v1/operator/storms/${stormId}`,
        headers: app.operatorHeaders,
      })
    ).json();
    if (status!.state === 'finished' || status!.state === 'failed') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(status!.state, 'finished', JSON.stringify(status));
  assert.equal(status!.grabbed, 50);
  assert.equal(status!.attempts, 100);
  assert.equal(status!.grabbed_amount, String(5 * 10 * 88));
  const metrics = (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /tuyere_redpacket_grabs_total\{outcome="grabbed"\} \d+/);
  await assertBooks(app);
});

test('expiry refunds total − grabbed to the sender exactly once, even when run twice at once', async () => {
  const users = ids(5);
  const group = await app.social.create(alice.id, 'expiry', users, { members: 'synthetic' });
  const envelope = await app.redpacket.send({
    envelopeId: randomUUID(),
    senderId: alice.id,
    groupId: group.id,
    kind: 'lucky',
    total: 1000n,
    shares: 5,
    greeting: 'expiry',
    proof: { type: 'pin', pin: PIN },
  });
  const taken = await Promise.all(users.slice(0, 2).map((user) => app.redpacket.grab(envelope.id, user)));
  const grabbedSum = taken.reduce((a, o) => a + ('amount' in o ? o.amount : 0n), 0n);
  // Other tests' envelopes expire too; count only this one's refund.
  const othersUnclaimed = BigInt(
    (
      await app.db.query(
        "SELECT coalesce(sum(total - grabbed_amount), 0)::text AS s FROM redpacket_envelopes WHERE status = 'active' AND id <> $1 AND sender_id = $2",
        [envelope.id, alice.id],
      )
    ).rows[0]!.s as string,
  );
  const before = await walletBalance(app, alice.id);
  clock.advance(24 * 3_600_000 - 1000);
  assert.equal((await app.redpacket.expireDue(clock.now())).expired, 0, 'not yet');
  clock.advance(2000);
  const due = Number(
    (
      await app.db.query(
        "SELECT count(*)::int AS n FROM redpacket_envelopes WHERE status = 'active' AND expires_at <= $1",
        [clock.now()],
      )
    ).rows[0]!.n,
  );
  const runs = await Promise.all([
    app.redpacket.expireDue(clock.now()),
    app.redpacket.expireDue(clock.now()),
  ]);
  assert.equal(runs[0].expired + runs[1].expired, due, 'each due envelope expired once across both runs');
  const refundsBefore = await walletBalance(app, alice.id);
  assert.equal((await app.redpacket.expireDue(clock.now())).expired, 0);
  assert.equal(await walletBalance(app, alice.id), refundsBefore, 'a third run refunds nothing more');
  assert.equal(await walletBalance(app, alice.id), before + othersUnclaimed + (1000n - grabbedSum));
  const late = await app.redpacket.grab(envelope.id, users[4]!);
  assert.equal(late.outcome, 'expired');
  const view = (await app.redpacket.get(envelope.id, null))!;
  assert.equal(view.refundAmount, 1000n - grabbedSum);
  await assertBooks(app);
});

test('a member removed after grabbing once cannot grab again: the commit re-checks membership', async () => {
  // Fresh users: earlier tests moved the clock past older sessions.
  const [host, dave, erin] = [await newUser(app), await newUser(app), await newUser(app)];
  await fundWallets(app, [host.id], 1_000_00n);
  const club = (await app.social.create(host.id, 'Club', [dave.id, erin.id])).id;
  const send = async () => {
    const sent = await post(app, '/v1/envelopes', host, {
      group_id: club,
      kind: 'fixed',
      amount: '90',
      shares: 3,
      greeting: 'again',
      proof: pin,
    });
    assert.equal(sent.statusCode, 201, sent.body);
    return sent.json().id as string;
  };
  const first = await send();
  // Dave grabs once, so this process now knows him as a member of the club.
  assert.equal((await grab(dave, first)).json().outcome, 'grabbed');
  const second = await send();
  await app.social.remove(club, host.id, dave.id);
  const before = await walletBalance(app, dave.id);
  const refused = await grab(dave, second);
  assert.equal(refused.statusCode, 404, refused.body);
  assert.equal(await walletBalance(app, dave.id), before);
  // The refusal did not cost anyone else their grab.
  assert.equal((await grab(erin, second)).json().outcome, 'grabbed');
  const view = (
    await app.http.inject({ method: 'GET', url: `/v1/envelopes/${second}`, headers: host.headers })
  ).json();
  assert.deepEqual(
    view.grabs.map((g: { user_id: string }) => g.user_id),
    [erin.id],
  );
  await assertBooks(app);
});

test('at the expiry deadline, one outcome: a grab 1 s before gets a share, a grab 1 s after is refused before any job ran, and the refund includes its share', async () => {
  const users = ids(3);
  const group = await app.social.create(alice.id, 'deadline', users, { members: 'synthetic' });
  const envelope = await app.redpacket.send({
    envelopeId: randomUUID(),
    senderId: alice.id,
    groupId: group.id,
    kind: 'fixed',
    total: 300n,
    shares: 3,
    greeting: 'deadline',
    proof: { type: 'pin', pin: PIN },
  });
  const expiresAt = (await app.redpacket.get(envelope.id, null))!.expiresAt;
  clock.set(new Date(expiresAt.getTime() - 1000));
  assert.equal((await app.redpacket.grab(envelope.id, users[0]!)).outcome, 'grabbed');
  clock.set(new Date(expiresAt.getTime() + 1000));
  // No expiry job has run: the grab itself compares the deadline with now.
  assert.equal((await app.redpacket.get(envelope.id, null))!.status, 'active');
  assert.equal((await app.redpacket.grab(envelope.id, users[1]!)).outcome, 'expired');
  const before = await walletBalance(app, alice.id);
  await app.redpacket.expireDue(clock.now());
  const view = (await app.redpacket.get(envelope.id, null))!;
  assert.equal(view.status, 'expired');
  assert.equal(view.refundAmount, 200n, 'the refused grab’s share went back to the sender');
  assert.ok((await walletBalance(app, alice.id)) - before >= 200n);
  assert.equal((await app.redpacket.grab(envelope.id, users[2]!)).outcome, 'expired');
  await assertBooks(app);
});
