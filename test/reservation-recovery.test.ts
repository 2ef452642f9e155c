/**
 * Reservations whose operation never committed (issue 14): a withdrawal or payment killed
 * between reserving its limits and committing its hold and row, and never retried, would hold
 * its limits forever. Recovery gives each back exactly once, on that operation's behalf, and a
 * late retry of the same id takes it back: counted once, never twice, never money moved
 * without its reservation, even when recovery and the retry race.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { LimitCheck, PaymentAuthorization } from '../src/identity/index.ts';
import { walletAccount } from '../src/wallet/context.ts';
import { WalletTransfers } from '../src/wallet/index.ts';
import { fundWallets } from './redpacket-fixtures.ts';
import {
  bindCard,
  newUser,
  settled,
  startWalletWorld,
  type TestUser,
  type WalletWorld,
} from './wallet-fixtures.ts';

let world: WalletWorld;
let user: TestUser;
let cardId: string;
before(async () => {
  world = await startWalletWorld();
  user = await newUser(world.app);
  cardId = await bindCard(world, user, '0001');
  await fundWallets(world.app, [user.id], 1_000_000n);
});
after(() => world.close());

const pin = (userId: string): PaymentAuthorization => ({ userId, strength: 'two_factor', via: 'pin' });
/** Recovery as its job runs it, late enough that every reservation below is past its grace. */
const later = () => new Date(Date.now() + 3_600_000);

/** The reservation a withdrawal makes before committing (what a SIGKILL right after leaves). */
function withdrawalCheck(operationId: string, amount: bigint, card = cardId): LimitCheck {
  return {
    reservationId: operationId,
    userId: user.id,
    amount,
    method: 'withdrawal_to_own_card',
    fingerprint: `withdrawal:${card}`,
    authorization: pin(user.id),
  };
}

const withdraw = (operationId: string, amount: bigint) =>
  world.app.wallet.withdraw({ operationId, userId: user.id, cardId, amount, authorization: pin(user.id) });

async function reservationState(id: string): Promise<string | undefined> {
  const { rows } = await world.app.db.query<{ state: string }>(
    'SELECT state FROM identity_limit_reservations WHERE id = $1',
    [id],
  );
  return rows[0]?.state;
}

async function twoFactorUsed(): Promise<bigint> {
  const line = (await world.app.identity.limitsOverview(user.id)).find((l) => l.name === 'daily_two_factor');
  return BigInt(line!.used);
}

async function assertVerifyClean(): Promise<void> {
  const failing = (await world.app.verify()).filter((check) => !check.ok);
  assert.deepEqual(
    failing.map((check) => `${check.name}: ${check.violations.slice(0, 3).join('; ')}`),
    [],
  );
}

test('a withdrawal that reserved and never committed: recovery gives its limits back once; a retry takes them again', async () => {
  const usedBefore = await twoFactorUsed();
  const crashed = randomUUID();
  assert.equal((await world.app.identity.checkAndReserve(withdrawalCheck(crashed, 700n))).allowed, true);
  // A withdrawal that committed keeps its reservation: its row owns it.
  const committed = randomUUID();
  await withdraw(committed, 300n);
  assert.equal((await settled(world, committed))?.state, 'succeeded');
  assert.equal(await twoFactorUsed(), usedBefore + 1_000n);

  // Within the grace period nothing is touched: the call may still be committing.
  await world.app.wallet.recoverOperations(new Date());
  assert.equal(await reservationState(crashed), 'reserved');

  await world.app.wallet.recoverOperations(later());
  assert.equal(await reservationState(crashed), 'abandoned');
  assert.equal(await reservationState(committed), 'reserved');
  assert.equal(await twoFactorUsed(), usedBefore + 300n, 'only the committed withdrawal counts');
  // Idempotent: a second run gives nothing back twice.
  await world.app.wallet.recoverOperations(later());
  assert.equal(await twoFactorUsed(), usedBefore + 300n);
  await assertVerifyClean();

  // Another movement under the id (another card) is no retry: refused, and takes nothing.
  const otherCard = randomUUID();
  await assert.rejects(world.app.identity.checkAndReserve(withdrawalCheck(crashed, 700n, otherCard)), {
    code: 'reservation_exists_with_different_fields',
  });
  assert.equal(await reservationState(crashed), 'abandoned');

  // The client's late retry with the same id takes the reservation again and withdraws.
  await withdraw(crashed, 700n);
  assert.equal((await settled(world, crashed))?.state, 'succeeded');
  assert.equal(await reservationState(crashed), 'reserved');
  assert.equal(await twoFactorUsed(), usedBefore + 1_000n, 'counted once');
  await world.app.wallet.recoverOperations(later());
  assert.equal(await twoFactorUsed(), usedBefore + 1_000n);
  await assertVerifyClean();
});

test('recovery gives the limits back while the retry is between reserving and committing: the commit is refused, the retry takes them again', async () => {
  const usedBefore = await twoFactorUsed();
  const operationId = randomUUID();
  await world.app.identity.checkAndReserve(withdrawalCheck(operationId, 500n));
  // The retry finds the reservation held (a reuse), and right then recovery, which sees no row
  // yet, gives it back: the worst interleaving, forced.
  const identity = world.app.identity;
  const original = identity.checkAndReserve.bind(identity);
  let interleaved = 0;
  identity.checkAndReserve = async (check) => {
    const decision = await original(check);
    if (check.reservationId === operationId && decision.allowed && decision.reused) {
      interleaved++;
      assert.equal(await world.app.wallet.recoverOperations(later()), 1);
    }
    return decision;
  };
  try {
    await withdraw(operationId, 500n);
  } finally {
    identity.checkAndReserve = original;
  }
  assert.equal(interleaved, 1, 'recovery ran between the reuse and the commit');
  assert.equal((await settled(world, operationId))?.state, 'succeeded');
  assert.equal(await reservationState(operationId), 'reserved');
  assert.equal(await twoFactorUsed(), usedBefore + 500n, 'counted once');
  await assertVerifyClean();
});

test('recovery and retries racing on many crashed withdrawals: each ends withdrawn once or refused whole, then counted once', async () => {
  const usedBefore = await twoFactorUsed();
  const ids = Array.from({ length: 12 }, () => randomUUID());
  for (const id of ids) await world.app.identity.checkAndReserve(withdrawalCheck(id, 100n));
  // Recovery runs "an hour later" twice, so it may also give back a reservation a retry has
  // just taken again: that retry is refused whole (operation_interrupted), nothing written.
  const outcomes = await Promise.allSettled([
    world.app.wallet.recoverOperations(later()),
    ...ids.map((id) => withdraw(id, 100n)),
    world.app.wallet.recoverOperations(later()),
  ]);
  const refused = new Set<string>();
  outcomes.forEach((outcome, index) => {
    if (outcome.status === 'fulfilled') return;
    assert.equal((outcome.reason as { code?: string }).code, 'operation_interrupted', String(outcome.reason));
    refused.add(ids[index - 1]!);
  });
  for (const id of ids) {
    if (!refused.has(id)) continue;
    assert.equal(await world.app.wallet.operations.get(id), undefined, `${id}: refused, nothing written`);
    assert.equal(await reservationState(id), 'abandoned', `${id}: its limits given back`);
  }
  // The client retries the refused ones with the same ids.
  for (const id of refused) await withdraw(id, 100n);
  for (const id of ids) {
    assert.equal((await settled(world, id))?.state, 'succeeded', `${id} withdrawn`);
    assert.equal(await reservationState(id), 'reserved', `${id} holds its limits`);
  }
  await world.app.wallet.recoverOperations(later());
  assert.equal(await twoFactorUsed(), usedBefore + 1_200n);
  await assertVerifyClean();
});

test('a payment that reserved and never paid: recovery gives its limits back; a paid one keeps them; a retry pays once', async () => {
  const bob = await newUser(world.app);
  await fundWallets(world.app, [bob.id], 1n);
  const request = (paymentId: string, amount: bigint) => ({
    paymentId,
    userId: user.id,
    amount,
    targetAccountId: walletAccount(bob.id),
    code: WalletTransfers.friendTransfer,
    source: 'balance',
    authorization: pin(user.id),
  });
  const usedBefore = await twoFactorUsed();
  const paid = randomUUID();
  assert.equal((await world.app.wallet.pay(request(paid, 200n))).status, 'completed');
  const crashed = randomUUID();
  await world.app.identity.checkAndReserve({
    reservationId: crashed,
    userId: user.id,
    amount: 400n,
    method: 'balance_payment',
    fingerprint: `pay:${walletAccount(bob.id)}`,
    authorization: pin(user.id),
  });
  await world.app.wallet.recoverOperations(later());
  assert.equal(await reservationState(paid), 'reserved');
  assert.equal(await reservationState(crashed), 'abandoned');
  assert.equal(await twoFactorUsed(), usedBefore + 200n);
  await assertVerifyClean();
  assert.equal((await world.app.wallet.pay(request(crashed, 400n))).status, 'completed');
  assert.equal(await reservationState(crashed), 'reserved');
  assert.equal(await twoFactorUsed(), usedBefore + 600n);
  await assertVerifyClean();
});

test('the limits overview shows the class I red envelope lifetime counter', async () => {
  const fresh = await newUser(world.app);
  const lines = await world.app.identity.limitsOverview(fresh.id);
  const envelopes = lines.find((line) => line.name === 'class_i_red_envelopes_lifetime');
  assert.ok(envelopes, JSON.stringify(lines.map((line) => line.name)));
  assert.equal(envelopes.period, 'all');
  assert.equal(envelopes.used, '0');
  assert.equal(envelopes.remaining, envelopes.cap);
  assert.notEqual(envelopes.cap, null);
});
