/**
 * A true race for limit-reservation ownership (issue 14): an original payment and a failing
 * duplicate under the same id (a different amount or target) run at the same time, in either
 * order, many times. Whatever wins, a reservation is released only when no money moved under
 * its id: money that moved always keeps a reserved reservation of exactly its amount, and every
 * limit counter equals the sum of its reservations.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { PaymentAuthorization } from '../src/identity/index.ts';
import { seededIntegers } from '../src/platform/random.ts';
import type { TestApp } from '../src/platform/testing/app.ts';
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

const ITERATIONS = Number(process.env.RESERVATION_RACE_ITERATIONS ?? 60);

let world: WalletWorld;
let app: TestApp;
before(async () => {
  world = await startWalletWorld();
  app = world.app;
});
after(() => world.close());

const pin = (userId: string): PaymentAuthorization => ({ userId, strength: 'two_factor', via: 'pin' });

/** Lets one side start a few event-loop turns later, so each order (and true overlap) happens. */
async function stagger(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function reservationOf(id: string) {
  const { rows } = await app.db.query<{ state: string; amount: bigint }>(
    'SELECT state, amount FROM identity_limit_reservations WHERE id = $1',
    [id],
  );
  return rows[0];
}

async function assertCountersMatchReservations(): Promise<void> {
  const { rows } = await app.db.query(
    `WITH charged AS (
       SELECT r.user_id, e->>'counter' AS counter, e->>'period' AS period,
              sum(r.amount) AS used, count(*)::int AS payments
         FROM identity_limit_reservations r, jsonb_array_elements(r.counters) e
        WHERE r.state = 'reserved' GROUP BY 1, 2, 3)
     SELECT * FROM identity_limit_counters c FULL JOIN charged x USING (user_id, counter, period)
      WHERE coalesce(c.used, 0) <> coalesce(x.used, 0) OR coalesce(c.payments, 0) <> coalesce(x.payments, 0)`,
  );
  assert.deepEqual(rows, [], 'every limit counter equals the sum of its reservations');
}

test(`balance payments: original vs failing duplicate, ${ITERATIONS} races`, async () => {
  const random = seededIntegers(Number(process.env.RESERVATION_RACE_SEED ?? 14));
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fundWallets(app, [alice.id, bob.id], 10_000_000n);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < ITERATIONS; i++) {
    const paymentId = randomUUID();
    const original = {
      paymentId,
      userId: alice.id,
      amount: 300n,
      targetAccountId: walletAccount(bob.id),
      code: WalletTransfers.friendTransfer,
      source: 'balance',
      authorization: pin(alice.id),
    };
    const variant = i % 3;
    const duplicate =
      variant === 0
        ? { ...original, amount: 500n } // a different amount
        : variant === 1
          ? { ...original, targetAccountId: randomUUID() } // a target that does not exist
          : { ...original, targetAccountId: walletAccount(alice.id) }; // a different target
    const [first, second] = random.below(2) === 0 ? [original, duplicate] : [duplicate, original];
    const delay = random.below(4);
    const results = await Promise.allSettled([
      app.wallet.pay(first),
      stagger(delay).then(() => app.wallet.pay(second)),
    ]);
    const key = results
      .map((r) => (r.status === 'fulfilled' ? r.value.status : (r.reason as { code?: string }).code))
      .join('+');
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const [moved] = await app.ledger.lookupTransfers([paymentId]);
    const reservation = await reservationOf(paymentId);
    if (moved) {
      assert.deepEqual(
        reservation,
        { state: 'reserved', amount: moved.amount },
        `race ${i} (${key}): the money moved, so its reservation stays`,
      );
    } else {
      assert.ok(
        !reservation || reservation.state === 'released',
        `race ${i} (${key}): nothing moved, nothing held`,
      );
    }
    assert.ok(results.some((r) => r.status === 'fulfilled') === Boolean(moved), `race ${i}: ${key}`);
    // Two different payments under one id: at most one of them is answered as done.
    assert.ok(results.filter((r) => r.status === 'fulfilled').length <= 1, `race ${i}: both answered ${key}`);
  }
  console.log(`payment races: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  await assertCountersMatchReservations();
});

test(`withdrawals: original vs failing duplicate (another card or amount), ${Math.ceil(ITERATIONS / 3)} races`, async () => {
  const random = seededIntegers(Number(process.env.RESERVATION_RACE_SEED ?? 14) + 1);
  const user: TestUser = await newUser(app);
  const cards = [await bindCard(world, user, '0001'), await bindCard(world, user, '0001')];
  await fundWallets(app, [user.id], 10_000_000n);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < Math.ceil(ITERATIONS / 3); i++) {
    const operationId = randomUUID();
    const original = {
      operationId,
      userId: user.id,
      cardId: cards[0]!,
      amount: 1_000n,
      authorization: pin(user.id),
    };
    const duplicate = i % 2 === 0 ? { ...original, cardId: cards[1]! } : { ...original, amount: 2_000n };
    const [first, second] = random.below(2) === 0 ? [original, duplicate] : [duplicate, original];
    const results = await Promise.allSettled([
      app.wallet.withdraw(first),
      stagger(random.below(4)).then(() => app.wallet.withdraw(second)),
    ]);
    const key = results
      .map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code))
      .join('+');
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const op = await settled(world, operationId);
    const reservation = await reservationOf(operationId);
    assert.equal(op?.state, 'succeeded', `race ${i} (${key}): one of them withdrew`);
    assert.deepEqual(
      reservation,
      { state: 'reserved', amount: op!.amount },
      `race ${i} (${key}): the withdrawal keeps its reservation`,
    );
    const [hold] = await app.ledger.lookupTransfers([operationId]);
    assert.equal(hold?.amount, op!.amount, `race ${i}: the hold is the stored operation's`);
  }
  console.log(`withdrawal races: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  await assertCountersMatchReservations();
});
