/**
 * Friend transfers commit their limits with the ledger (one commit): the limits are planned
 * without locks and guarded at commit. These pin the guard (a counter that moved refuses the
 * commit), a denial that counted a transfer the ledger then refused (planned again, not
 * wrongly denied), and caps across two "processes" whose plans race.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Ledger, Ledgers } from '../src/ledger/index.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { AccountEnsurer, bankClearingAccount, walletAccount } from '../src/wallet/context.ts';
import { WalletTransfers } from '../src/wallet/index.ts';
import { FriendTransfers } from '../src/wallet/transfers.ts';
import { assertBooksBalance, newUser } from './wallet-fixtures.ts';

let app: TestApp;
before(async () => {
  // Two-factor (PIN) payments: at most 10.00 CNY a day.
  app = await createTestApp({ config: { limitDailyTwoFactor: 1_000 } });
  await app.wallet.accounts.system();
});
after(() => app.close());

const pin = (userId: string) => ({ userId, strength: 'two_factor' as const, via: 'pin' as const });

async function fund(userId: string, amount: bigint): Promise<void> {
  await app.wallet.openWallet(userId);
  await app.ledger.createTransfers([
    {
      id: randomUUID(),
      debitAccountId: bankClearingAccount,
      creditAccountId: walletAccount(userId),
      amount,
      ledger: Ledgers.CNY,
      code: WalletTransfers.topUp,
    },
  ]);
}

async function counters(userId: string): Promise<Map<string, { used: bigint; payments: number }>> {
  const { rows } = await app.db.query<{ counter: string; used: bigint; payments: number }>(
    'SELECT counter, used, payments FROM identity_limit_counters WHERE user_id = $1',
    [userId],
  );
  return new Map(rows.map((row) => [row.counter, { used: row.used, payments: row.payments }]));
}

/** Every counter equals the sum of its user's reserved reservations. */
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
  assert.deepEqual(rows, []);
}

test('a plan whose counters moved (or were created) before its commit is refused, then re-planned', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fund(alice.id, 10_000n);
  await app.wallet.openWallet(bob.id);
  const check = (amount: bigint, reservationId = randomUUID()) => ({
    reservationId,
    userId: alice.id,
    amount,
    method: 'balance_transfer' as const,
    authorization: pin(alice.id),
  });
  const book = (plan: Awaited<ReturnType<typeof app.identity.planReservations>>, id: string) =>
    app.ledger.createTransfers(
      [
        {
          id,
          debitAccountId: walletAccount(alice.id),
          creditAccountId: walletAccount(bob.id),
          amount: 100n,
          ledger: Ledgers.CNY,
          code: WalletTransfers.friendTransfer,
        },
      ],
      { participant: { writes: () => [plan.write([0])], refusal: () => new Error('limits moved') } },
    );
  // No counter rows yet: the plan will insert them; a reservation creating them first wins.
  const first = randomUUID();
  const fresh = await app.identity.planReservations([check(100n, first)]);
  assert.deepEqual(fresh.decisions, [{ allowed: true, reservationId: first }]);
  assert.equal((await app.identity.checkAndReserve(check(50n))).allowed, true);
  await assert.rejects(book(fresh, first), /limits moved/);
  assert.equal((await app.ledger.lookupTransfers([first])).length, 0, 'the refused transfer is not booked');
  // The rows exist now: a plan made before another charge is refused the same way.
  const stale = await app.identity.planReservations([check(100n, first)]);
  assert.equal((await app.identity.checkAndReserve(check(50n))).allowed, true);
  await assert.rejects(book(stale, first), /limits moved/);
  // Planned again, it commits and charges exactly once.
  const again = await app.identity.planReservations([check(100n, first)]);
  const [outcome] = await book(again, first);
  assert.equal(outcome!.result, 'ok');
  assert.equal((await counters(alice.id)).get('strength:two_factor')?.used, 200n);
  assert.equal((await counters(alice.id)).get('strength:two_factor')?.payments, 3);
  await assertCountersMatchReservations();
  await assertBooksBalance(app);
});

test('a transfer denied only because an earlier one of its batch took the cap, and then failed, is sent', async () => {
  const [carol, dave] = [await newUser(app), await newUser(app)];
  await fund(carol.id, 600n);
  const send = (amount: bigint) =>
    app.wallet
      .sendTransfer({
        transferId: randomUUID(),
        senderId: carol.id,
        to: { userId: dave.id },
        amount,
        authorization: pin(carol.id),
      })
      .then(
        (transfer) => transfer.state as string,
        (error: { code?: string }) => error.code,
      );
  // The first goes alone; the next two queue behind it (same sender) and form one batch:
  // 8.00 fits the cap (1.00 + 8.00 <= 10.00) but not the balance (5.00 left); 5.00 is over the
  // cap only if the 8.00 is counted. The 8.00 fails in the ledger, so the 5.00 must go.
  const results = await Promise.all([send(100n), send(800n), send(500n)]);
  assert.deepEqual(results, ['completed', 'insufficient_balance', 'completed']);
  assert.equal((await app.wallet.balance(carol.id)).available, '0');
  assert.equal((await counters(carol.id)).get('strength:two_factor')?.used, 600n);
  await assertCountersMatchReservations();
  await assertBooksBalance(app);
});

test('two processes sending for one sender at once: the cap holds exactly; conflicts are re-planned', async () => {
  const [erin, frank] = [await newUser(app), await newUser(app)];
  await fund(erin.id, 50_000n);
  await app.wallet.openWallet(frank.id);
  // A second wallet with its own ledger writer and batcher, as in a second process.
  const otherLedger = new Ledger({ db: app.db, clock: app.clock });
  const other = new FriendTransfers(
    { ...app.wallet.deps, ledger: otherLedger },
    new AccountEnsurer(otherLedger),
  );
  try {
    const ids = Array.from({ length: 40 }, () => randomUUID());
    const send = (via: FriendTransfers | null, transferId: string) =>
      (via ?? app.wallet.transfers)
        .send({
          transferId,
          senderId: erin.id,
          to: { userId: frank.id },
          amount: 50n,
          authorization: pin(erin.id),
        })
        .then(
          () => 'sent',
          (error: { code?: string }) => error.code ?? 'error',
        );
    const results = await Promise.all(ids.map((id, i) => send(i % 2 === 0 ? other : null, id)));
    const busy = ids.filter((_, i) => results[i] === 'wallet_busy');
    // A client retries what was busy (same ids): it is then sent or denied, never twice.
    const retried = await Promise.all(busy.map((id) => send(null, id)));
    const all = [...results.filter((r) => r !== 'wallet_busy'), ...retried];
    assert.equal(all.filter((r) => r === 'sent').length, 20, 'exactly 10.00 CNY fits under the daily cap');
    for (const r of all.filter((r) => r !== 'sent')) assert.equal(r, 'daily_limit_exceeded');
    assert.equal((await app.wallet.balance(erin.id)).available, String(50_000 - 1_000));
    await assertCountersMatchReservations();
    await assertBooksBalance(app);
  } finally {
    await otherLedger.close();
  }
});
