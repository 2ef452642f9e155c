/**
 * Every sandbox bank fault knob, end to end over HTTP: the app (listening on loopback)
 * talks to a real sandbox bank, which posts signed callbacks back. Each case ends with the
 * ledger verifying and the user's balance exactly as expected.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertBooksBalance,
  balance,
  bindCard,
  eventually,
  newUser,
  PIN,
  settled,
  startWalletWorld,
  topUp,
  verifiedHolder,
  type WalletWorld,
  withdraw,
} from './wallet-fixtures.ts';

let world: WalletWorld;
before(async () => {
  world = await startWalletWorld({ config: { walletWithdrawalFeeBps: 100, walletWithdrawalFeeMin: 100 } });
});
after(() => world.close());

async function callbacksDelivered(requestId: string, count: number) {
  await eventually(async () => {
    const response = await fetch(`${world.bank.url}/sandbox/callbacks?request_id=${requestId}`);
    const body = (await response.json()) as { deliveries: Array<{ status: string }> };
    const delivered = body.deliveries.filter((c) => c.status === 'delivered').length;
    return delivered >= count && body.deliveries.every((c) => c.status !== 'pending') ? true : undefined;
  });
}

/** Top-up through a card ending in `last4`; returns the final operation and the balance. */
async function topUpWith(last4: string, amount: bigint, bin?: string) {
  const user = await newUser(world.app);
  const cardId = await bindCard(world, user, last4, bin);
  const response = await topUp(world, user, cardId, amount);
  assert.ok([201, 202].includes(response.statusCode), response.body);
  const op = await settled(world, response.json().id);
  return { user, cardId, response, op, balance: await balance(world.app, user.id) };
}

test('plain card (0001): the top-up is posted once the bank confirms', async () => {
  const { op, balance: b } = await topUpWith('0001', 10_000n);
  assert.equal(op.state, 'succeeded');
  assert.deepEqual([b.available, b.incoming, b.held], ['10000', '0', '0']);
  await assertBooksBalance(world.app);
});

test('declines: insufficient funds (0002), blocked (0003), credit limit (0004) void the top-up', async () => {
  for (const [last4, reason] of [
    ['0002', 'insufficient_funds'],
    ['0003', 'card_blocked'],
    ['0004', 'limit_exceeded'],
  ] as const) {
    const { op, balance: b } = await topUpWith(last4, 20_000n);
    assert.equal(op.state, 'failed', last4);
    assert.equal(op.failureReason, reason);
    assert.deepEqual([b.available, b.balance, b.incoming], ['0', '0', '0'], last4);
  }
  await assertBooksBalance(world.app);
});

test('latency (0005): slower than our timeout, the outcome is unknown, then settled exactly once', async () => {
  const { op, balance: b } = await topUpWith('0005', 3_000n);
  assert.equal(op.state, 'succeeded');
  assert.equal(b.available, '3000');
  await assertBooksBalance(world.app);
});

test('lost callback (0006): only polling finds the outcome', async () => {
  const user = await newUser(world.app);
  const cardId = await bindCard(world, user, '0006');
  const response = await topUp(world, user, cardId, 5_000n);
  assert.equal(response.statusCode, 202, response.body);
  assert.equal(response.json().status, 'pending');
  // Without polling it stays pending: the money is incoming, not spendable.
  assert.equal((await balance(world.app, user.id)).incoming, '5000');
  const op = await settled(world, response.json().id);
  assert.equal(op.state, 'succeeded');
  assert.deepEqual(await balance(world.app, user.id), {
    currency: 'CNY',
    available: '5000',
    balance: '5000',
    held: '0',
    incoming: '0',
  });
  await assertBooksBalance(world.app);
});

test('duplicate callbacks (0007): three deliveries, one posting', async () => {
  const user = await newUser(world.app);
  const cardId = await bindCard(world, user, '0007');
  const response = await topUp(world, user, cardId, 700n);
  const id = response.json().id as string;
  await callbacksDelivered(`tu-${id}`, 3);
  const op = await settled(world, id, { poll: false });
  assert.equal(op.state, 'succeeded');
  assert.equal((await balance(world.app, user.id)).available, '700');
  await assertBooksBalance(world.app);
});

test('early callback (0008): the callback settles it before the API answers; the answer agrees', async () => {
  const user = await newUser(world.app);
  const cardId = await bindCard(world, user, '0008');
  const response = await topUp(world, user, cardId, 800n);
  assert.equal(response.statusCode, 201, response.body);
  assert.equal(response.json().status, 'succeeded');
  await callbacksDelivered(`tu-${response.json().id}`, 1);
  assert.equal((await balance(world.app, user.id)).available, '800');
  await assertBooksBalance(world.app);
});

test('out-of-order callbacks (0009): a stale "processing" after the final event changes nothing', async () => {
  const user = await newUser(world.app);
  const cardId = await bindCard(world, user, '0009');
  const response = await topUp(world, user, cardId, 900n);
  const id = response.json().id as string;
  await callbacksDelivered(`tu-${id}`, 2);
  const op = await settled(world, id, { poll: false });
  assert.equal(op.state, 'succeeded');
  assert.equal(op.bankSequence, 2, 'the stale sequence 1 did not overwrite sequence 2');
  assert.equal((await balance(world.app, user.id)).available, '900');
  await assertBooksBalance(world.app);
});

test('timeout, accepted (0010): our call times out, the callback or the poller settles it once', async () => {
  const user = await newUser(world.app);
  const cardId = await bindCard(world, user, '0010');
  const response = await topUp(world, user, cardId, 1_000n);
  assert.ok([201, 202].includes(response.statusCode), response.body);
  const op = await settled(world, response.json().id);
  assert.equal(op.state, 'succeeded');
  assert.equal((await balance(world.app, user.id)).available, '1000');
  await assertBooksBalance(world.app);
});

test('timeout, not received (0011): the bank never got it, so the top-up is voided', async () => {
  const user = await newUser(world.app);
  const cardId = await bindCard(world, user, '0011');
  const response = await topUp(world, user, cardId, 1_100n);
  assert.equal(response.statusCode, 202, response.body);
  const op = await settled(world, response.json().id);
  assert.equal(op.state, 'failed');
  assert.equal(op.failureReason, 'bank_not_received');
  assert.deepEqual(
    [(await balance(world.app, user.id)).available, (await balance(world.app, user.id)).incoming],
    ['0', '0'],
  );
  await assertBooksBalance(world.app);
});

test('withdrawals: held, then posted with the linked fee; declined and lost ones release or settle exactly', async () => {
  const user = await newUser(world.app);
  const plain = await bindCard(world, user, '0001');
  await settled(world, (await topUp(world, user, plain, 50_000n)).json().id);

  // Success: 100.00 out plus a 1% fee (1.00).
  const ok = await withdraw(world, user, plain, 10_000n);
  assert.ok([201, 202].includes(ok.statusCode), ok.body);
  assert.equal(ok.json().fee, '100');
  assert.equal((await settled(world, ok.json().id)).state, 'succeeded');
  assert.equal((await balance(world.app, user.id)).available, String(50_000 - 10_100));

  // Declined by the bank: the hold (amount and fee) is released.
  const blocked = await bindCard(world, user, '0003');
  const declined = await withdraw(world, user, blocked, 5_000n);
  assert.equal((await settled(world, declined.json().id)).state, 'failed');
  assert.deepEqual(
    [(await balance(world.app, user.id)).available, (await balance(world.app, user.id)).held],
    [String(50_000 - 10_100), '0'],
  );

  // Lost callback: held until the poller settles it.
  const lost = await bindCard(world, user, '0006');
  const pending = await withdraw(world, user, lost, 2_000n);
  assert.equal(pending.statusCode, 202, pending.body);
  assert.equal(
    (await balance(world.app, user.id)).held,
    '2100',
    'amount and the minimum fee (1.00) are held',
  );
  assert.equal((await settled(world, pending.json().id)).state, 'succeeded');

  // Not received: voided after the call timed out, nothing moves.
  const hang = await bindCard(world, user, '0011');
  const never = await withdraw(world, user, hang, 1_000n);
  assert.equal((await settled(world, never.json().id)).state, 'failed');

  // More than the balance: refused before the bank is asked.
  const tooMuch = await withdraw(world, user, plain, 40_000n);
  assert.equal(tooMuch.statusCode, 409, tooMuch.body);
  assert.equal(tooMuch.json().error.code, 'insufficient_balance');

  const final = await balance(world.app, user.id);
  assert.deepEqual(
    [final.available, final.held, final.incoming],
    [String(50_000 - 10_100 - 2_100), '0', '0'],
  );
  await assertBooksBalance(world.app);
});

test('callbacks must carry a valid signature', async () => {
  const forged = await fetch(`${world.baseUrl}/v1/bank/callbacks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': 'evt_x',
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': 'v1,AAAA',
    },
    body: JSON.stringify({ id: 'evt_x', type: 'operation.succeeded', data: {} }),
  });
  assert.equal(forged.status, 401);
  assert.equal(
    ((await forged.json()) as { error: { code: string } }).error.code,
    'callback_signature_invalid',
  );
});

test('bad input gets stable 4xx codes; the PAN is checked by Luhn before it leaves Tuyere', async () => {
  const user = await newUser(world.app);
  await verifiedHolder(world.app, user);
  const badPan = await world.app.http.inject({
    method: 'POST',
    url: `/v1/users/${user.id}/cards/verifications`,
    headers: user.headers,
    payload: { pan: '6222020000000000', phone: user.phone, proof: { type: 'pin', pin: PIN } },
  });
  assert.equal(badPan.statusCode, 400);
  assert.equal(badPan.json().error.code, 'card_number_invalid');
  const noKey = await world.app.http.inject({
    method: 'POST',
    url: `/v1/users/${user.id}/top-ups`,
    headers: user.headers,
    payload: { card_id: '00000000-0000-4000-8000-000000000000', amount: '100' },
  });
  assert.equal(noKey.json().error.code, 'idempotency_key_required');
  const numberAmount = await topUp(world, user, '00000000-0000-4000-8000-000000000000', 100n).then(() =>
    world.app.http.inject({
      method: 'POST',
      url: `/v1/users/${user.id}/top-ups`,
      headers: { ...user.headers, 'idempotency-key': 'k-number' },
      payload: { card_id: '00000000-0000-4000-8000-000000000000', amount: 100 },
    }),
  );
  assert.equal(numberAmount.statusCode, 400);
  const unknownCard = await topUp(world, user, '00000000-0000-4000-8000-000000000000', 100n);
  assert.equal(unknownCard.statusCode, 404);
  assert.equal(unknownCard.json().error.code, 'card_not_found');
  const zero = await topUp(world, user, '00000000-0000-4000-8000-000000000000', 0n);
  assert.equal(zero.json().error.code, 'invalid_amount');
});
