import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { verifyLimitCounters } from '../src/identity/verify-limits.ts';
import type { VerifyCheck } from '../src/platform/module.ts';
import type { TestApp } from '../src/platform/testing/app.ts';
import { VERIFY_SETTLE_MS } from '../src/platform/verify-position.ts';
import { verifyEnvelopeBooks, verifyGrabPayouts } from '../src/redpacket/verify.ts';
import { verifyWallet, verifyWithdrawalFees } from '../src/wallet/verify.ts';
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
 * Incremental module checks: after a recorded checkpoint a run examines only rows finished
 * since; `full` still finds a tampered old row an incremental run skips; a tampered new row
 * is caught incrementally (and its failure records no checkpoint).
 */
let world: WalletWorld;
let app: TestApp;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let card: string;

const FEE_RULE = { bps: 100, min: 100n };
/** Every row written so far is older than the settle margin at this "now". */
const later = () => new Date(Date.now() + 2 * VERIFY_SETTLE_MS);
const incremental = () => ({ full: false, record: true, now: later() });
const full = () => ({ full: true, record: false, now: later() });

before(async () => {
  world = await startWalletWorld({
    config: { walletWithdrawalFeeBps: FEE_RULE.bps, walletWithdrawalFeeMin: Number(FEE_RULE.min) },
  });
  app = world.app;
  [alice, bob, carol] = [await newUser(app), await newUser(app), await newUser(app)];
  await fundWallets(app, [alice.id], 100_000n);
  card = await bindCard(world, carol, '0001');
  await settled(world, (await topUp(world, carol, card, 50_000n)).json().id);
  assert.equal(
    (await settled(world, (await withdraw(world, carol, card, 10_000n)).json().id)).state,
    'succeeded',
  );
  await acceptedTransfer();
  await grabbedEnvelope();
});
after(async () => {
  await world.close();
});

/** The counts in a check's `examined`, in order ("3 finished + 1 pending ..." → [3, 1]). */
function counts(check: VerifyCheck): number[] {
  return [
    ...(check.examined ?? '').matchAll(/(\d[\d,]*) (?:finished|pending|in transit|closed|open|grabs)/g),
  ].map((m) => Number(m[1]!.replaceAll(',', '')));
}

function only(checks: VerifyCheck[], name: string): VerifyCheck {
  return checks.find((check) => check.name === name)!;
}

const BANK = 'wallet: bank operations agree with the ledger';
const TRANSIT = 'wallet: friend transfers in transit hold exactly their amount';

/** A friend transfer that waits in transit for acceptance, then is accepted (finished). */
async function acceptedTransfer(): Promise<string> {
  const sent = await post(app, `/v1/users/${alice.id}/transfers`, alice, {
    to_user_id: bob.id,
    amount: '300',
    require_acceptance: true,
    proof: { type: 'pin', pin: PIN },
  });
  assert.equal(sent.statusCode, 201, sent.body);
  const id = sent.json().id as string;
  const accepted = await post(app, `/v1/users/${bob.id}/transfers/${id}/accept`, bob, {});
  assert.equal(accepted.statusCode, 200, accepted.body);
  return id;
}

/** A two-share envelope grabbed to the end (finished: its books closed). */
async function grabbedEnvelope(): Promise<string> {
  const sent = await post(app, '/v1/envelopes', alice, {
    recipient_id: bob.id,
    kind: 'personal',
    amount: '200',
    greeting: 'For you',
    proof: { type: 'pin', pin: PIN },
  });
  assert.equal(sent.statusCode, 201, sent.body);
  const id = sent.json().id as string;
  const grabbed = await app.http.inject({
    method: 'POST',
    url: `/v1/envelopes/${id}/grab`,
    headers: bob.headers,
  });
  assert.equal(grabbed.statusCode, 200, grabbed.body);
  return id;
}

test('wallet: a second run examines only operations and transfers finished since the checkpoint', async () => {
  const first = await verifyWallet(app.db, app.ledger, incremental());
  assert.ok(counts(only(first, BANK))[0]! >= 2, only(first, BANK).examined);
  assert.ok(counts(only(first, TRANSIT))[0]! >= 1, only(first, TRANSIT).examined);
  assert.deepEqual(
    first.filter((c) => !c.ok).map((c) => c.name),
    [],
  );
  const again = await verifyWallet(app.db, app.ledger, incremental());
  assert.equal(counts(only(again, BANK))[0], 0, only(again, BANK).examined);
  assert.equal(counts(only(again, TRANSIT))[0], 0, only(again, TRANSIT).examined);

  await settled(world, (await topUp(world, carol, card, 1_000n)).json().id);
  await acceptedTransfer();
  const next = await verifyWallet(app.db, app.ledger, incremental());
  assert.equal(counts(only(next, BANK))[0], 1, only(next, BANK).examined);
  assert.equal(counts(only(next, TRANSIT))[0], 1, only(next, TRANSIT).examined);
  const fees = await verifyWithdrawalFees(app.db, app.ledger, FEE_RULE, incremental());
  assert.ok(fees.ok && counts(fees)[0]! >= 1, fees.examined);
  assert.equal(counts(await verifyWithdrawalFees(app.db, app.ledger, FEE_RULE, incremental()))[0], 0);
});

test('wallet: a tampered old operation is skipped incrementally and caught by full; a tampered new one is caught', async () => {
  await verifyWallet(app.db, app.ledger, incremental());
  await verifyWithdrawalFees(app.db, app.ledger, FEE_RULE, incremental());
  const { rows } = await app.db.query<{ id: string }>(
    "SELECT id FROM wallet_bank_operations WHERE kind = 'withdrawal' AND state = 'succeeded' LIMIT 1",
  );
  const old = rows[0]!.id;
  const shiftFee = (id: string, by: number) =>
    app.db.query('UPDATE wallet_bank_operations SET fee = fee + $2 WHERE id = $1', [id, by]);
  await shiftFee(old, -1);
  try {
    assert.ok((await verifyWithdrawalFees(app.db, app.ledger, FEE_RULE, incremental())).ok);
    const caught = await verifyWithdrawalFees(app.db, app.ledger, FEE_RULE, full());
    assert.ok(!caught.ok && caught.violations.some((v) => v.includes(old)), caught.violations.join('; '));
  } finally {
    await shiftFee(old, 1);
  }

  const setState = (id: string, state: string) =>
    app.db.query('UPDATE wallet_bank_operations SET state = $2 WHERE id = $1', [id, state]);
  await setState(old, 'failed');
  try {
    assert.ok(only(await verifyWallet(app.db, app.ledger, incremental()), BANK).ok);
    const caught = only(await verifyWallet(app.db, app.ledger, full()), BANK);
    assert.ok(!caught.ok && caught.violations.some((v) => v.includes(old)), caught.violations.join('; '));
  } finally {
    await setState(old, 'succeeded');
  }

  const transit = await app.db.query<{ id: string }>(
    "SELECT id FROM wallet_transfers WHERE via_transit AND state = 'completed' ORDER BY finished_at LIMIT 1",
  );
  const transfer = transit.rows[0]!.id;
  const setTransfer = (state: string) =>
    app.db.query('UPDATE wallet_transfers SET state = $2 WHERE id = $1', [transfer, state]);
  await setTransfer('awaiting_acceptance');
  try {
    assert.ok(only(await verifyWallet(app.db, app.ledger, incremental()), TRANSIT).ok);
    const caught = only(await verifyWallet(app.db, app.ledger, full()), TRANSIT);
    assert.ok(
      !caught.ok && caught.violations.some((v) => v.includes(transfer)),
      caught.violations.join('; '),
    );
  } finally {
    await setTransfer('completed');
  }

  const fresh = (await withdraw(world, carol, card, 2_000n)).json().id as string;
  assert.equal((await settled(world, fresh)).state, 'succeeded');
  await shiftFee(fresh, -1);
  try {
    for (let run = 0; run < 2; run++) {
      const caught = await verifyWithdrawalFees(app.db, app.ledger, FEE_RULE, incremental());
      assert.ok(!caught.ok && caught.violations.some((v) => v.includes(fresh)), caught.violations.join('; '));
    }
  } finally {
    await shiftFee(fresh, 1);
  }
  const clean = await verifyWithdrawalFees(app.db, app.ledger, FEE_RULE, incremental());
  assert.ok(clean.ok && counts(clean)[0] === 1, clean.examined);
});

test('redpacket: a second run examines only envelopes closed since; full catches an old tamper; a new one is caught', async () => {
  const first = await verifyGrabPayouts(app.db, app.ledger, incremental());
  assert.ok(first.ok, first.violations.join('; '));
  assert.ok(counts(first)[1]! >= 1, first.examined);
  assert.ok((await verifyEnvelopeBooks(app.db, app.ledger, incremental())).ok);
  const again = await verifyGrabPayouts(app.db, app.ledger, incremental());
  assert.deepEqual(counts(again).slice(0, 2), [0, 0], again.examined);
  assert.equal(counts(await verifyEnvelopeBooks(app.db, app.ledger, incremental()))[0], 0);

  const { rows } = await app.db.query<{ id: string; grabbers: string[] }>(
    "SELECT id, grabbers FROM redpacket_envelopes WHERE status = 'finished' LIMIT 1",
  );
  const old = rows[0]!;
  const setGrabbers = (id: string, users: string[]) =>
    app.db.query('UPDATE redpacket_envelopes SET grabbers = $2::uuid[] WHERE id = $1', [id, users]);
  await setGrabbers(old.id, [carol.id]);
  try {
    assert.ok((await verifyGrabPayouts(app.db, app.ledger, incremental())).ok);
    const caught = await verifyGrabPayouts(app.db, app.ledger, full());
    assert.ok(!caught.ok && caught.violations.some((v) => v.includes(old.id)), caught.violations.join('; '));
  } finally {
    await setGrabbers(old.id, old.grabbers);
  }

  const fresh = await grabbedEnvelope();
  await setGrabbers(fresh, [carol.id]);
  try {
    const caught = await verifyGrabPayouts(app.db, app.ledger, incremental());
    assert.ok(!caught.ok && caught.violations.some((v) => v.includes(fresh)), caught.violations.join('; '));
    assert.deepEqual(counts(caught).slice(0, 2), [1, 1], caught.examined);
  } finally {
    await setGrabbers(fresh, [bob.id]);
  }
  const books = await verifyEnvelopeBooks(app.db, app.ledger, incremental());
  assert.ok(books.ok && counts(books)[0] === 1, books.examined);
});

test('identity limits: a second run checks only the counters of users who reserved or released since', async () => {
  const counters = (check: VerifyCheck) => Number(check.examined!.split(' ')[0]!.replaceAll(',', ''));
  const pay = async (from: TestUser, to: TestUser) => {
    const paid = await post(app, `/v1/users/${from.id}/transfers`, from, {
      to_user_id: to.id,
      amount: '7',
      proof: { type: 'pin', pin: PIN },
    });
    assert.equal(paid.statusCode, 201, paid.body);
  };
  await pay(bob, alice);
  const first = await verifyLimitCounters(app.db, incremental());
  assert.ok(first.ok && counters(first) > 0, first.examined);
  const again = await verifyLimitCounters(app.db, incremental());
  assert.ok(again.ok && counters(again) === 0, again.examined);

  await pay(alice, bob);
  const { rows } = await app.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM identity_limit_counters WHERE user_id = $1',
    [alice.id],
  );
  const next = await verifyLimitCounters(app.db, incremental());
  assert.ok(next.ok, next.violations.join('; '));
  assert.equal(counters(next), rows[0]!.n, next.examined);

  const shift = (userId: string, by: number) =>
    app.db.query(
      'UPDATE identity_limit_counters SET used = used + $2 WHERE user_id = $1 AND counter || period = (SELECT min(counter || period) FROM identity_limit_counters WHERE user_id = $1)',
      [userId, by],
    );
  // Bob reserved nothing since the checkpoint: his tampered counter waits for a full run.
  await shift(bob.id, -1);
  try {
    assert.ok((await verifyLimitCounters(app.db, incremental())).ok);
    const caught = await verifyLimitCounters(app.db, full());
    assert.ok(!caught.ok && caught.violations.some((v) => v.includes(bob.id)), caught.violations.join('; '));
  } finally {
    await shift(bob.id, 1);
  }
  await pay(alice, bob);
  await shift(alice.id, -1);
  try {
    const caught = await verifyLimitCounters(app.db, incremental());
    assert.ok(
      !caught.ok && caught.violations.some((v) => v.includes(alice.id)),
      caught.violations.join('; '),
    );
  } finally {
    await shift(alice.id, 1);
  }
  assert.ok((await verifyLimitCounters(app.db, incremental())).ok);
});
