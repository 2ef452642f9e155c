/**
 * Limit reservations are released only by the operation that made them (issue 14): a failing
 * duplicate (the same id with a different amount or target, or a concurrent retry whose own
 * step fails) never gives back the reservation a successful payment holds, so the money stays
 * moved and the caps keep counting it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { PaymentAuthorization } from '../src/identity/index.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { walletAccount } from '../src/wallet/context.ts';
import { WalletTransfers } from '../src/wallet/index.ts';
import { assertBooks, fundWallets, walletBalance } from './redpacket-fixtures.ts';
import { newUser, PIN } from './wallet-fixtures.ts';

let app: TestApp;
before(async () => {
  app = await createTestApp();
});
after(() => app.close());

const pin = (userId: string): PaymentAuthorization => ({ userId, strength: 'two_factor', via: 'pin' });

async function reservation(id: string) {
  const { rows } = await app.db.query<{ state: string; amount: bigint }>(
    'SELECT state, amount FROM identity_limit_reservations WHERE id = $1',
    [id],
  );
  return rows[0];
}

async function counters(userId: string): Promise<Record<string, string>> {
  const { rows } = await app.db.query<{ counter: string; used: bigint; payments: number }>(
    'SELECT counter, used, payments FROM identity_limit_counters WHERE user_id = $1 ORDER BY counter',
    [userId],
  );
  return Object.fromEntries(rows.map((row) => [row.counter, `${row.used}/${row.payments}`]));
}

test('a duplicate payment with the same id and a different amount fails; the original keeps its reservation and counters', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fundWallets(app, [alice.id, bob.id], 10_000n);
  const paymentId = randomUUID();
  const request = {
    paymentId,
    userId: alice.id,
    targetAccountId: walletAccount(bob.id),
    code: WalletTransfers.friendTransfer,
    source: 'balance',
    authorization: pin(alice.id),
  };
  assert.equal((await app.wallet.pay({ ...request, amount: 300n })).status, 'completed');
  const held = await counters(alice.id);
  await assert.rejects(app.wallet.pay({ ...request, amount: 500n }), {
    code: 'payment_exists_with_different_fields',
  });
  // A different target under the same id is refused the same way.
  await assert.rejects(
    app.wallet.pay({ ...request, amount: 300n, targetAccountId: walletAccount(alice.id) }),
    { code: 'payment_exists_with_different_fields' },
  );
  assert.deepEqual(await reservation(paymentId), { state: 'reserved', amount: 300n });
  assert.deepEqual(await counters(alice.id), held);
  assert.equal(await walletBalance(app, alice.id), 9_700n);
  // An exact replay answers from what happened, and changes nothing either.
  assert.equal((await app.wallet.pay({ ...request, amount: 300n })).status, 'completed');
  assert.deepEqual(await counters(alice.id), held);
});

test('a concurrent duplicate that fails does not release the reservation the original made', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fundWallets(app, [alice.id, bob.id], 10_000n);
  const paymentId = randomUUID();
  // The original is in flight: it has reserved its limits (step 1) and not yet moved the money.
  const original = await app.identity.checkAndReserve({
    reservationId: paymentId,
    userId: alice.id,
    amount: 400n,
    method: 'balance_payment',
    authorization: pin(alice.id),
  });
  assert.ok(original.allowed);
  const held = await counters(alice.id);
  // The duplicate (same id and amount) finds the reservation made, then fails on its own step
  // (its target does not exist). Before issue 14 its compensation released the original's.
  await assert.rejects(
    app.wallet.pay({
      paymentId,
      userId: alice.id,
      amount: 400n,
      targetAccountId: randomUUID(),
      code: WalletTransfers.friendTransfer,
      source: 'balance',
      authorization: pin(alice.id),
    }),
    { code: 'payment_target_not_found' },
  );
  assert.deepEqual(await reservation(paymentId), { state: 'reserved', amount: 400n });
  assert.deepEqual(await counters(alice.id), held);
  // A payment that fails on its own reservation still gives it back.
  const alone = randomUUID();
  await assert.rejects(
    app.wallet.pay({
      paymentId: alone,
      userId: alice.id,
      amount: 400n,
      targetAccountId: randomUUID(),
      code: WalletTransfers.friendTransfer,
      source: 'balance',
      authorization: pin(alice.id),
    }),
    { code: 'payment_target_not_found' },
  );
  assert.equal((await reservation(alone))?.state, 'released');
  assert.deepEqual(await counters(alice.id), held);
});

test('an envelope sent again under its id with a different total is refused; the envelope, its escrow and reservation stay', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fundWallets(app, [alice.id], 10_000n);
  const envelopeId = randomUUID();
  const send = (total: bigint) =>
    app.redpacket.send({
      envelopeId,
      senderId: alice.id,
      recipientId: bob.id,
      kind: 'personal',
      total,
      shares: 1,
      greeting: 'hi',
      proof: { type: 'pin', pin: PIN },
    });
  const sent = await send(800n);
  assert.equal(sent.status, 'active');
  const held = await counters(alice.id);
  await assert.rejects(send(900n), { code: 'envelope_exists_with_different_fields' });
  assert.equal((await send(800n)).status, 'active', 'an exact retry answers the envelope');
  const fundId = (
    await app.db.query<{ fund_transfer_id: string }>(
      'SELECT fund_transfer_id FROM redpacket_envelopes WHERE id = $1',
      [envelopeId],
    )
  ).rows[0]!.fund_transfer_id;
  assert.deepEqual(await reservation(fundId), { state: 'reserved', amount: 800n });
  assert.deepEqual(await counters(alice.id), held);
  assert.equal(await walletBalance(app, alice.id), 9_200n);
  await assertBooks(app);
});
