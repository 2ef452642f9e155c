/**
 * Reconciliation against the sandbox bank's statement with injected discrepancies (the
 * statement knobs on magic cards 0012-0015), each reported once; and the funding API
 * (balance first, then a card) into an escrow account.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Ledgers } from '../src/ledger/index.ts';
import { accountId } from '../src/platform/chart.ts';
import { businessDate } from '../src/platform/clock.ts';
import { RedpacketAccounts, RedpacketTransfers } from '../src/redpacket/index.ts';
import {
  assertBooksBalance,
  balance,
  bindCard,
  eventually,
  newUser,
  settled,
  startWalletWorld,
  topUp,
  type WalletWorld,
} from './wallet-fixtures.ts';

let world: WalletWorld;
before(async () => {
  world = await startWalletWorld({ config: { walletMaxCards: 10 } });
});
after(() => world.close());

test('statement discrepancies are each reported once; a settled-but-pending top-up is posted automatically', async () => {
  const { app } = world;
  const user = await newUser(app);
  const ids: Record<string, string> = {};
  for (const last4 of ['0001', '0012', '0013', '0014', '0015']) {
    const cardId = await bindCard(world, user, last4);
    ids[last4] = (await topUp(world, user, cardId, 1_000n)).json().id;
    await settled(world, ids[last4]!);
  }
  // Lost callback, never polled: still pending on our side, settled at the bank.
  const lostCard = await bindCard(world, user, '0006');
  ids.lost = (await topUp(world, user, lostCard, 2_000n)).json().id;
  await eventually(async () => {
    const status = await app.bank.status(`tu-${ids.lost}`);
    return status.found && status.operation.status === 'succeeded' ? true : undefined;
  });
  assert.equal((await app.wallet.operations.get(ids.lost!))!.state, 'pending');

  const date = businessDate(new Date(), 'Asia/Shanghai');
  const run = await app.http.inject({
    method: 'POST',
    url: '/v1/operator/reconciliation/runs',
    headers: { ...app.operatorHeaders, 'idempotency-key': randomUUID() },
    payload: { date },
  });
  assert.equal(run.statusCode, 200, run.body);
  const report = run.json();
  const byKind = Object.fromEntries(
    report.discrepancies.map((d: { kind: string; request_id: string }) => [d.request_id, d.kind]),
  );
  assert.equal(byKind[`tu-${ids['0012']}`], 'missing_in_statement');
  assert.equal(byKind[`tu-${ids['0014']}`], 'amount_mismatch');
  assert.equal(byKind[`tu-${ids['0015']}`], 'duplicate_in_statement');
  assert.equal(byKind[`tu-${ids.lost}`], 'missing_in_ledger');
  const extra = report.discrepancies.filter((d: { request_id: string }) =>
    d.request_id.startsWith('sandbox-extra-'),
  );
  assert.equal(extra.length, 1);
  assert.equal(extra[0].kind, 'missing_in_ledger');
  assert.equal(
    report.discrepancies.length,
    5,
    'nothing else: the plain card and the extra card itself match',
  );
  assert.equal(report.auto_resolved, 1);
  assert.equal(report.open, 4);
  assert.equal((await app.wallet.operations.get(ids.lost!))!.state, 'succeeded');

  // Run again (the daily job and an operator both ran it): nothing is reported twice.
  const again = await app.wallet.reconcile(date);
  assert.ok(again.discrepancies.every((d) => !d.new));
  const { rows } = await app.db.query<{ count: string }>(
    'SELECT count(*)::text AS count FROM wallet_reconciliation_items WHERE business_date = $1',
    [date],
  );
  assert.equal(Number(rows[0]!.count), 5);

  // Operators see the open ones and resolve them (audited); a resolved item stays resolved.
  const open = await app.http.inject({
    url: '/v1/operator/reconciliation/items?state=open',
    headers: app.operatorHeaders,
  });
  assert.equal(open.json().items.length, 4);
  const item = open.json().items[0];
  const resolveUrl = `/v1/operator/reconciliation/items/${item.id}/resolve`;
  const resolved = await app.http.inject({
    method: 'POST',
    url: resolveUrl,
    headers: { ...app.operatorHeaders, 'idempotency-key': randomUUID() },
    payload: { resolution: 'dismiss', note: 'bank confirmed its file was wrong' },
  });
  assert.equal(resolved.statusCode, 200, resolved.body);
  assert.equal(resolved.json().state, 'resolved');
  const post = await app.http.inject({
    method: 'POST',
    url: resolveUrl,
    headers: { ...app.operatorHeaders, 'idempotency-key': randomUUID() },
    payload: { resolution: 'post_pending', note: 'again' },
  });
  assert.equal(post.json().error.code, 'reconciliation_item_closed');

  assert.equal((await balance(app, user.id)).available, String(5 * 1_000 + 2_000));
  await assertBooksBalance(app);
});

test('funding order: balance first, then a bound card; card payments complete through the bank', async () => {
  const { app } = world;
  const user = await newUser(app);
  const cardId = await bindCard(world, user, '0001');
  await settled(world, (await topUp(world, user, cardId, 1_000n)).json().id);
  const envelope = randomUUID();
  const escrow = accountId('envelopeEscrow', envelope);
  await app.ledger.createAccounts([
    { id: escrow, ledger: Ledgers.CNY, code: RedpacketAccounts.envelopeEscrow },
  ]);
  const notified: Array<Record<string, unknown>> = [];
  app.jobs.register<Record<string, unknown>>(
    'test.envelope_funded',
    async (job) => void notified.push(job.payload),
  );

  const fromBalance = await app.wallet.pay({
    paymentId: randomUUID(),
    userId: user.id,
    amount: 600n,
    targetAccountId: escrow,
    code: RedpacketTransfers.envelopeFund,
  });
  assert.deepEqual([fromBalance.status, fromBalance.source], ['completed', 'balance']);

  // 400 left: a 500 payment falls through to the card.
  const paymentId = randomUUID();
  const fromCard = await app.wallet.pay({
    paymentId,
    userId: user.id,
    amount: 500n,
    targetAccountId: escrow,
    code: RedpacketTransfers.envelopeFund,
    notifyKind: 'test.envelope_funded',
  });
  assert.equal(fromCard.source, 'card');
  const final = await app.wallet.awaitPayment(paymentId, { timeoutMs: 10_000 });
  assert.equal(final.status, 'completed');
  // A replay answers from what happened, without moving money again.
  assert.equal(
    (
      await app.wallet.pay({
        paymentId,
        userId: user.id,
        amount: 500n,
        targetAccountId: escrow,
        code: RedpacketTransfers.envelopeFund,
      })
    ).status,
    'completed',
  );
  await app.jobs.drain();
  assert.deepEqual(notified, [{ payment_id: paymentId, user_id: user.id, status: 'completed' }]);
  const [account] = await app.ledger.lookupAccounts([escrow]);
  assert.equal(account!.creditsPosted, 1_100n);
  assert.equal((await balance(app, user.id)).available, '400');
  await assertBooksBalance(app);
});
