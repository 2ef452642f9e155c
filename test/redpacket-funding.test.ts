/**
 * Envelope funding is never stranded (issue 14): a payment that commits after the sweep gave
 * up on the envelope (marked it failed) refunds the escrow to the sender exactly once, and
 * verify covers envelopes still funding or failed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ManualClock } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { verifyRedpackets } from '../src/redpacket/index.ts';
import type { PayRequest, PayResult } from '../src/wallet/index.ts';
import { assertBooks, fundWallets, walletBalance } from './redpacket-fixtures.ts';
import { eventually, newUser, PIN } from './wallet-fixtures.ts';

let app: TestApp;
const clock = new ManualClock(new Date());
before(async () => {
  app = await createTestApp({ clock });
});
after(() => app.close());

const envelopeRow = async (id: string) =>
  (
    await app.db.query<{
      status: string;
      refund_amount: bigint | null;
      refund_booked: boolean;
      escrow_account_id: string;
    }>(
      'SELECT status, refund_amount, refund_booked, escrow_account_id FROM redpacket_envelopes WHERE id = $1',
      [id],
    )
  ).rows[0];

/** Holds every wallet payment until `release` is called: a payment that commits late. */
function delayPayments() {
  const wallet = app.wallet as { pay(request: PayRequest): Promise<PayResult> };
  const real = wallet.pay;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  wallet.pay = async (request) => {
    await gate;
    return real.call(app.wallet, request);
  };
  return {
    release: () => {
      wallet.pay = real;
      release();
    },
  };
}

test('a payment that commits after the sweep failed the envelope refunds the escrow, exactly once', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fundWallets(app, [alice.id], 5_000n);
  const envelopeId = randomUUID();
  const delayed = delayPayments();
  const sending = app.redpacket.send({
    envelopeId,
    senderId: alice.id,
    recipientId: bob.id,
    kind: 'personal',
    total: 1_500n,
    shares: 1,
    greeting: 'late',
    proof: { type: 'pin', pin: PIN },
  });
  await eventually(async () => ((await envelopeRow(envelopeId))?.status === 'funding' ? true : undefined));
  // Past the sweep's bound the payment has not started: the sweep fails the envelope.
  clock.advance(61_000);
  await app.redpacket.settleFunding(clock.now());
  assert.equal((await envelopeRow(envelopeId))!.status, 'failed');
  assert.deepEqual(await verifyRedpackets(app.db, app.ledger, { now: clock.now() }), []);
  // Now the payment commits: the money must come back, not sit in the escrow.
  delayed.release();
  await sending;
  const row = (await envelopeRow(envelopeId))!;
  assert.equal(row.status, 'failed');
  assert.deepEqual([row.refund_amount, row.refund_booked], [1_500n, true]);
  assert.equal(await walletBalance(app, alice.id), 5_000n);
  // The sweep and a (card) funding notice after that change nothing.
  await app.redpacket.settleFunding(clock.now());
  await app.redpacket.onFunded((await fundId(envelopeId))!, 'completed');
  assert.equal(await walletBalance(app, alice.id), 5_000n);
  const [escrow] = await app.ledger.lookupAccounts([row.escrow_account_id]);
  assert.deepEqual([escrow!.creditsPosted, escrow!.debitsPosted], [1_500n, 1_500n]);
  await assertBooks(app);
});

test('a failed envelope found paid by the sweep is refunded by the sweep', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fundWallets(app, [alice.id], 2_000n);
  const sent = await app.redpacket.send({
    envelopeId: randomUUID(),
    senderId: alice.id,
    recipientId: bob.id,
    kind: 'personal',
    total: 700n,
    shares: 1,
    greeting: 'paid, then failed',
    proof: { type: 'pin', pin: PIN },
  });
  // The state a crash leaves: the envelope failed while its payment was committing.
  await app.db.query("UPDATE redpacket_envelopes SET status = 'failed' WHERE id = $1", [sent.id]);
  const violations = await verifyRedpackets(app.db, app.ledger, { now: clock.now() });
  assert.equal(violations.length, 1, violations.join('\n'));
  assert.match(violations[0]!, /failed, but its escrow holds 700/);
  await app.redpacket.settleFunding(clock.now());
  await app.redpacket.settleFunding(clock.now());
  assert.equal(await walletBalance(app, alice.id), 2_000n);
  await assertBooks(app);
});

test('verify flags an envelope funding past the bound with no pending payment', async () => {
  const [alice, bob] = [await newUser(app), await newUser(app)];
  await fundWallets(app, [alice.id], 2_000n);
  const envelopeId = randomUUID();
  const delayed = delayPayments();
  const sending = app.redpacket.send({
    envelopeId,
    senderId: alice.id,
    recipientId: bob.id,
    kind: 'personal',
    total: 300n,
    shares: 1,
    greeting: 'stuck',
    proof: { type: 'pin', pin: PIN },
  });
  await eventually(async () => ((await envelopeRow(envelopeId))?.status === 'funding' ? true : undefined));
  assert.deepEqual(await verifyRedpackets(app.db, app.ledger, { now: clock.now() }), []);
  const later = new Date(clock.now().getTime() + 11 * 60_000);
  const violations = await verifyRedpackets(app.db, app.ledger, { now: later });
  assert.equal(violations.length, 1, violations.join('\n'));
  assert.match(
    violations[0]!,
    new RegExp(`envelope ${envelopeId}: funding for \\d+ s with no pending payment`),
  );
  delayed.release();
  assert.equal((await sending).status, 'active');
  assert.deepEqual(await verifyRedpackets(app.db, app.ledger, { now: later }), []);
});

async function fundId(envelopeId: string): Promise<string | undefined> {
  const { rows } = await app.db.query<{ fund_transfer_id: string }>(
    'SELECT fund_transfer_id FROM redpacket_envelopes WHERE id = $1',
    [envelopeId],
  );
  return rows[0]?.fund_transfer_id;
}
