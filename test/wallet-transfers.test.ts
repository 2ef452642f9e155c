/**
 * Transfers between friends over HTTP, with a ManualClock: acceptance expiry and delayed
 * arrival return or deliver the money exactly once however the jobs, the recipient and the
 * sender race. Also the idempotency stress test for money requests.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Ledgers } from '../src/ledger/index.ts';
import { ManualClock } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { bankClearingAccount, walletAccount } from '../src/wallet/context.ts';
import { WalletTransfers } from '../src/wallet/index.ts';
import { assertBooksBalance, newUser, PIN, post, type TestUser } from './wallet-fixtures.ts';

let app: TestApp;
const clock = new ManualClock(new Date());
const HOUR = 3_600_000;

before(async () => {
  app = await createTestApp({ clock });
});
after(() => app.close());

/** Gives a user money straight from bank clearing (a top-up without a bank, for these tests). */
async function fund(user: TestUser, amount: bigint) {
  await app.wallet.accounts.system();
  await app.wallet.openWallet(user.id);
  const [result] = await app.ledger.createTransfers([
    {
      id: randomUUID(),
      debitAccountId: bankClearingAccount,
      creditAccountId: walletAccount(user.id),
      amount,
      ledger: Ledgers.CNY,
      code: WalletTransfers.topUp,
    },
  ]);
  assert.equal(result!.result, 'ok');
}

/** Posts with a fresh session: the clock moves by hours here, beyond an access token's life. */
async function postAs(url: string, user: TestUser, payload: unknown, key?: string) {
  const session = await app.identity.issueSessionForTesting(user.phone);
  return post(app, url, { headers: { authorization: `Bearer ${session.accessToken}` } }, payload, key);
}

const available = async (user: TestUser) => BigInt((await app.wallet.balance(user.id)).available);

function send(from: TestUser, body: Record<string, unknown>, key?: string) {
  return postAs(`/v1/users/${from.id}/transfers`, from, { proof: { type: 'pin', pin: PIN }, ...body }, key);
}

test('an immediate transfer by phone, with a memo, shows on both statements', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice, 10_000n);
  const sent = await send(alice, { to_phone: bob.phone, amount: '2500', memo: 'lunch, thanks "bob"' });
  assert.equal(sent.statusCode, 201, sent.body);
  assert.equal(sent.json().status, 'completed');
  assert.deepEqual([await available(alice), await available(bob)], [7_500n, 2_500n]);
  const statement = await app.http.inject({ url: `/v1/users/${bob.id}/statement`, headers: bob.headers });
  const items = statement.json().items;
  assert.equal(items.length, 1);
  assert.equal(items[0].memo, 'lunch, thanks "bob"');
  assert.equal(items[0].direction, 'in');
  assert.equal(items[0].counterparty, `user:${alice.id}`);
  const csv = await app.http.inject({ url: `/v1/users/${alice.id}/statement.csv`, headers: alice.headers });
  const lines = csv.body.trim().split('\n');
  assert.equal(lines.length, 3, csv.body); // header, the funding, the transfer
  assert.match(lines[2]!, /,transfer,out,posted,-2500,-25\.00,CNY,user:[0-9a-f-]+,"lunch, thanks ""bob"""$/);
  await assertBooksBalance(app);
});

test('refusals: wrong PIN, self, unknown recipient, too little money; nothing moves', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice, 1_000n);
  const wrongPin = await postAs(`/v1/users/${alice.id}/transfers`, alice, {
    to_user_id: bob.id,
    amount: '100',
    proof: { type: 'pin', pin: '000000' },
  });
  assert.equal(wrongPin.json().error.code, 'pin_incorrect');
  assert.equal(
    (await send(alice, { to_user_id: alice.id, amount: '100' })).json().error.code,
    'transfer_to_self',
  );
  assert.equal(
    (await send(alice, { to_phone: '13999999999', amount: '100' })).json().error.code,
    'recipient_not_found',
  );
  const poor = await send(alice, { to_user_id: bob.id, amount: '5000' });
  assert.equal(poor.statusCode, 409);
  assert.equal(poor.json().error.code, 'insufficient_balance');
  assert.equal((await send(alice, { to_user_id: bob.id, to_phone: bob.phone, amount: '1' })).statusCode, 400);
  assert.deepEqual([await available(alice), await available(bob)], [1_000n, 0n]);
});

test('acceptance: the money waits in transit; accepting delivers it once', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice, 5_000n);
  const sent = await send(alice, { to_user_id: bob.id, amount: '3000', require_acceptance: true });
  assert.equal(sent.json().status, 'awaiting_acceptance');
  assert.deepEqual([await available(alice), await available(bob)], [2_000n, 0n]);
  const url = `/v1/users/${bob.id}/transfers/${sent.json().id}/accept`;
  const [first, second] = await Promise.all([postAs(url, bob, {}), postAs(url, bob, {})]);
  assert.deepEqual([first.statusCode, second.statusCode], [200, 200]);
  assert.equal(first.json().status, 'completed');
  // Too late for expiry to return it.
  clock.advance(25 * HOUR);
  await app.wallet.processDueTransfers();
  assert.deepEqual([await available(alice), await available(bob)], [2_000n, 3_000n]);
  // Only the recipient may accept; the sender sees it as not found.
  const bySender = await postAs(`/v1/users/${alice.id}/transfers/${sent.json().id}/accept`, alice, {});
  assert.equal(bySender.statusCode, 404);
  await assertBooksBalance(app);
});

test('acceptance expiry: unaccepted money returns to the sender exactly once, however often the job runs', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice, 4_000n);
  const sent = await send(alice, { to_user_id: bob.id, amount: '4000', require_acceptance: true });
  clock.advance(24 * HOUR - 1000);
  await app.wallet.processDueTransfers();
  assert.equal((await app.wallet.transfers.get(sent.json().id))!.state, 'awaiting_acceptance');
  clock.advance(2000);
  const [, , , lateAccept] = await Promise.all([
    app.wallet.processDueTransfers(),
    app.wallet.processDueTransfers(),
    app.wallet.processDueTransfers(),
    postAs(`/v1/users/${bob.id}/transfers/${sent.json().id}/accept`, bob, {}),
  ]);
  assert.equal(lateAccept.statusCode, 409, lateAccept.body);
  assert.equal(lateAccept.json().error.code, 'transfer_not_acceptable');
  const transfer = (await app.wallet.transfers.get(sent.json().id))!;
  const total = (await available(alice)) + (await available(bob));
  assert.equal(total, 4_000n, 'the money exists exactly once');
  // Past accept_by the accept is refused whoever gets there first (it used to accept either outcome).
  assert.equal(transfer.state, 'returned');
  assert.deepEqual([await available(alice), await available(bob)], [4_000n, 0n]);
  await app.wallet.processDueTransfers();
  assert.equal((await available(alice)) + (await available(bob)), 4_000n);
  await assertBooksBalance(app);
});

test('expiry with nobody racing: returned, and a late accept is refused', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice, 1_000n);
  const sent = await send(alice, { to_user_id: bob.id, amount: '1000', require_acceptance: true });
  clock.advance(24 * HOUR + 1000);
  assert.equal(await app.wallet.processDueTransfers(), 1);
  assert.equal(await app.wallet.processDueTransfers(), 0);
  assert.equal((await app.wallet.transfers.get(sent.json().id))!.state, 'returned');
  const late = await postAs(`/v1/users/${bob.id}/transfers/${sent.json().id}/accept`, bob, {});
  assert.equal(late.statusCode, 409);
  assert.equal(late.json().error.code, 'transfer_not_acceptable');
  assert.deepEqual([await available(alice), await available(bob)], [1_000n, 0n]);
  await assertBooksBalance(app);
});

test('delayed arrival: cancellable until it arrives; arrives on time otherwise', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice, 6_000n);
  const cancelled = await send(alice, { to_user_id: bob.id, amount: '1000', delay_hours: 2 });
  const arriving = await send(alice, { to_user_id: bob.id, amount: '2000', delay_hours: 24 });
  assert.equal(arriving.json().status, 'scheduled');
  assert.equal(await available(alice), 3_000n);
  const cancelUrl = `/v1/users/${alice.id}/transfers/${cancelled.json().id}/cancel`;
  const cancel = await postAs(cancelUrl, alice, {});
  assert.equal(cancel.json().status, 'cancelled');
  assert.equal(await available(alice), 4_000n);
  clock.advance(3 * HOUR);
  await app.wallet.processDueTransfers();
  assert.equal(await available(bob), 0n, 'the cancelled one never arrives');
  clock.advance(20 * HOUR);
  await app.wallet.processDueTransfers();
  assert.equal(await available(bob), 0n, 'the 24 h one is not due yet');
  clock.advance(2 * HOUR);
  await app.wallet.processDueTransfers();
  assert.equal(await available(bob), 2_000n);
  const tooLate = await postAs(`/v1/users/${alice.id}/transfers/${arriving.json().id}/cancel`, alice, {});
  assert.equal(tooLate.json().error.code, 'transfer_not_cancellable');
  assert.deepEqual([await available(alice), await available(bob)], [4_000n, 2_000n]);
  await assertBooksBalance(app);
});

test('cancel racing arrival: exactly one of them moves the money', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice, 10_000n);
  const ids: string[] = [];
  for (let i = 0; i < 10; i++)
    ids.push((await send(alice, { to_user_id: bob.id, amount: '1000', delay_hours: 2 })).json().id);
  clock.advance(2 * HOUR + 1000);
  const [, ...cancels] = await Promise.all([
    app.wallet.processDueTransfers(),
    ...ids.map((id) => postAs(`/v1/users/${alice.id}/transfers/${id}/cancel`, alice, {})),
  ]);
  let delivered = 0n;
  for (const id of ids) {
    const transfer = (await app.wallet.transfers.get(id))!;
    // Past arrive_at a cancel is refused whoever gets there first (it used to accept either outcome).
    assert.equal(transfer.state, 'completed');
    delivered += 1_000n;
  }
  assert.ok(cancels.every((c) => c.statusCode === 409 && c.json().error.code === 'transfer_not_cancellable'));
  assert.equal(await available(bob), delivered);
  assert.equal(await available(alice), 10_000n - delivered);
  await assertBooksBalance(app);
});

/** The transfer as the database holds it, without running any job. */
const stateOf = async (id: string) => (await app.wallet.transfers.get(id))!.state;

test('deadlines at the moment of acting, with no job: accept one second before and after accept_by', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice, 2_000n);
  const early = (await send(alice, { to_user_id: bob.id, amount: '700', require_acceptance: true })).json();
  const late = (await send(alice, { to_user_id: bob.id, amount: '1300', require_acceptance: true })).json();
  const acceptBy = Date.parse(late.accept_by);
  clock.set(new Date(acceptBy - 1000));
  const onTime = await postAs(`/v1/users/${bob.id}/transfers/${early.id}/accept`, bob, {});
  assert.equal(onTime.statusCode, 200, onTime.body);
  assert.equal(onTime.json().status, 'completed');
  clock.set(new Date(acceptBy + 1000));
  const tooLate = await postAs(`/v1/users/${bob.id}/transfers/${late.id}/accept`, bob, {});
  assert.equal(tooLate.statusCode, 409, tooLate.body);
  assert.equal(tooLate.json().error.code, 'transfer_not_acceptable');
  assert.equal(await stateOf(late.id), 'returned', 'the late accept returned the money, as the job would');
  assert.deepEqual([await available(alice), await available(bob)], [1_300n, 700n]);
  // Asking again answers the same.
  const again = await postAs(`/v1/users/${bob.id}/transfers/${late.id}/accept`, bob, {});
  assert.equal(again.json().error.code, 'transfer_not_acceptable');
  assert.equal(await app.wallet.processDueTransfers(), 0, 'nothing left for the job');
  assert.deepEqual([await available(alice), await available(bob)], [1_300n, 700n]);
  await assertBooksBalance(app);
});

test('deadlines at the moment of acting, with no job: cancel one second before and after arrive_at', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice, 3_000n);
  const early = (await send(alice, { to_user_id: bob.id, amount: '1000', delay_hours: 2 })).json();
  const late = (await send(alice, { to_user_id: bob.id, amount: '2000', delay_hours: 2 })).json();
  const arriveAt = Date.parse(late.arrive_at);
  clock.set(new Date(arriveAt - 1000));
  const onTime = await postAs(`/v1/users/${alice.id}/transfers/${early.id}/cancel`, alice, {});
  assert.equal(onTime.statusCode, 200, onTime.body);
  assert.equal(onTime.json().status, 'cancelled');
  clock.set(new Date(arriveAt + 1000));
  const tooLate = await postAs(`/v1/users/${alice.id}/transfers/${late.id}/cancel`, alice, {});
  assert.equal(tooLate.statusCode, 409, tooLate.body);
  assert.equal(tooLate.json().error.code, 'transfer_not_cancellable');
  assert.equal(await stateOf(late.id), 'completed', 'the late cancel delivered it, as the job would');
  assert.deepEqual([await available(alice), await available(bob)], [1_000n, 2_000n]);
  assert.equal(await app.wallet.processDueTransfers(), 0, 'nothing left for the job');
  await assertBooksBalance(app);
});

test('a delayed transfer needing acceptance: accepted after arrival with no job; its deadline is fixed at sending', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice, 2_000n);
  const body = { to_user_id: bob.id, amount: '1000', delay_hours: 2, require_acceptance: true };
  const first = (await send(alice, body)).json();
  const second = (await send(alice, body)).json();
  assert.equal(Date.parse(first.accept_by) - Date.parse(first.arrive_at), 24 * HOUR);
  // Before arrival it cannot be accepted; one second after, it can (the job has not run).
  clock.set(new Date(Date.parse(first.arrive_at) - 1000));
  const notYet = await postAs(`/v1/users/${bob.id}/transfers/${first.id}/accept`, bob, {});
  assert.equal(notYet.json().error.code, 'transfer_not_acceptable');
  clock.set(new Date(Date.parse(first.arrive_at) + 1000));
  const arrived = await postAs(`/v1/users/${bob.id}/transfers/${first.id}/accept`, bob, {});
  assert.equal(arrived.statusCode, 200, arrived.body);
  assert.equal(arrived.json().status, 'completed');
  // The second is first touched one second after its accept_by: it goes back to the sender.
  clock.set(new Date(Date.parse(second.accept_by) + 1000));
  const tooLate = await postAs(`/v1/users/${bob.id}/transfers/${second.id}/accept`, bob, {});
  assert.equal(tooLate.statusCode, 409, tooLate.body);
  assert.equal(tooLate.json().error.code, 'transfer_not_acceptable');
  assert.equal(await stateOf(second.id), 'returned');
  assert.deepEqual([await available(alice), await available(bob)], [1_000n, 1_000n]);
  await assertBooksBalance(app);
});

test('idempotency stress: random replays, reused keys and concurrent duplicates never move money twice', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice, 1_000_000n);
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const keys = Array.from({ length: 12 }, (_, i) => ({
    key: `stress-${i}-${randomUUID()}`,
    amount: String(100 + i),
  }));
  const originals = new Map<string, string>();
  for (let round = 0; round < 6; round++) {
    const batch = Array.from({ length: 10 }, () => {
      const pick = keys[Math.floor(random() * keys.length)]!;
      const mutate = random() < 0.2;
      return { ...pick, amount: mutate ? String(Number(pick.amount) + 1) : pick.amount, mutate };
    });
    const responses = await Promise.all(
      batch.map((b) => send(alice, { to_user_id: bob.id, amount: b.amount, memo: 'stress' }, b.key)),
    );
    responses.forEach((response, index) => {
      const { key, mutate } = batch[index]!;
      if (response.statusCode === 409 && response.json().error.code === 'idempotency_request_in_flight')
        return;
      if (response.statusCode === 422) {
        assert.equal(response.json().error.code, 'idempotency_key_reused');
        return;
      }
      assert.equal(response.statusCode, 201, response.body);
      const original = originals.get(key);
      if (original === undefined) originals.set(key, response.body);
      else assert.equal(response.body, original, 'a replay returns the original response byte for byte');
      void mutate;
    });
  }
  // Every key that ever succeeded moved its original amount once.
  let expected = 0n;
  for (const body of originals.values()) expected += BigInt(JSON.parse(body).amount);
  assert.equal(await available(bob), expected);
  assert.equal(await available(alice), 1_000_000n - expected);
  const { rows } = await app.db.query<{ count: string }>(
    'SELECT count(*)::text AS count FROM wallet_transfers WHERE sender_id = $1',
    [alice.id],
  );
  assert.equal(Number(rows[0]!.count), originals.size);
  await assertBooksBalance(app);
});
