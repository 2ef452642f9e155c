/**
 * Friend transfers are group-committed (one limits transaction, one ledger call and one
 * row insert per batch). Concurrent batches must still never overshoot a limit, never send
 * one id twice, and refuse exactly what sending one by one would refuse.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Ledgers } from '../src/ledger/index.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { bankClearingAccount, walletAccount } from '../src/wallet/context.ts';
import { WalletTransfers } from '../src/wallet/index.ts';
import { assertBooksBalance, newUser } from './wallet-fixtures.ts';

let app: TestApp;
before(async () => {
  // Two-factor (PIN) payments: at most 10.00 CNY a day.
  app = await createTestApp({ config: { limitDailyTwoFactor: 1_000 } });
});
after(() => app.close());

test('concurrent batches: the daily cap holds exactly, duplicates send once, balances agree', async () => {
  const [alice, bob, carol] = [await newUser(app), await newUser(app), await newUser(app)];
  await app.wallet.accounts.system();
  await app.wallet.openWallet(alice.id);
  await app.ledger.createTransfers([
    {
      id: randomUUID(),
      debitAccountId: bankClearingAccount,
      creditAccountId: walletAccount(alice.id),
      amount: 50_000n,
      ledger: Ledgers.CNY,
      code: WalletTransfers.topUp,
    },
  ]);
  const authorization = { userId: alice.id, strength: 'two_factor' as const, via: 'pin' as const };
  const ids: string[] = Array.from({ length: 30 }, () => randomUUID());
  // 30 distinct transfers of 1.00 CNY, each sent three times at once (90 calls).
  const calls = ids.flatMap((transferId, index) =>
    [0, 1, 2].map(() =>
      app.wallet
        .sendTransfer({
          transferId,
          senderId: alice.id,
          to: { userId: index % 2 ? bob.id : carol.id },
          amount: 100n,
          authorization,
        })
        .then(
          (transfer) => ({ ok: true as const, id: transfer.id }),
          (error: { code?: string }) => ({ ok: false as const, code: error.code }),
        ),
    ),
  );
  const results = await Promise.all(calls);
  const sent = new Set(results.filter((r) => r.ok).map((r) => (r as { id: string }).id));
  assert.equal(sent.size, 10, 'exactly 10.00 CNY fits under the daily cap');
  for (const r of results.filter((r) => !r.ok)) {
    assert.ok(
      ['daily_limit_exceeded', 'reservation_released'].includes(r.code ?? ''),
      `unexpected refusal ${r.code}`,
    );
  }
  const balance = BigInt((await app.wallet.balance(alice.id)).available);
  assert.equal(balance, 50_000n - 1_000n);
  const limits = await app.identity.limitsOverview(alice.id);
  assert.equal(limits.find((l) => l.name === 'daily_two_factor')!.used, '1000');
  // A refused id stays refused; a sent id answers with its transfer.
  const again = await app.wallet.sendTransfer({
    transferId: [...sent][0]!,
    senderId: alice.id,
    to: { userId: ids.indexOf([...sent][0]!) % 2 ? bob.id : carol.id },
    amount: 100n,
    authorization,
  });
  assert.equal(again.state, 'completed');
  await assertBooksBalance(app);
});
