import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { deterministicId } from '../src/platform/ids.ts';
import type { TestApp } from '../src/platform/testing/app.ts';
import type { MoneyPathAction } from './fixtures/money-path-worker.ts';
import { fundWallets, walletBalance } from './redpacket-fixtures.ts';
import {
  bindCard,
  newUser,
  PIN,
  SECRET,
  settled,
  startWalletWorld,
  type WalletWorld,
} from './wallet-fixtures.ts';

/**
 * SIGKILL at each named step of every bank and envelope money path (src/platform/crash-points.ts;
 * friend transfers have their own test, wallet-transfer-crash.test.ts). A child process runs the
 * action and kills itself at the step; then the recovery jobs run, the client retries with the
 * same id, and: the operation ended exactly once, the bank moved the card's money exactly once
 * (its balance changed by the amount, not twice), nothing is stranded, and `tuyere verify`
 * (app.verify(): every module's checks) is clean.
 */
const WORKER_CONFIG = (world: WalletWorld) => ({
  bankUrl: world.bank.url,
  bankWebhookSecret: SECRET,
  bankTimeoutMs: 800,
  walletBankPollAfterMs: 0,
});

const BANK_POINTS = (kind: string) => [
  `wallet.${kind}.before-hold`,
  `wallet.${kind}.after-hold`,
  `wallet.${kind}.after-bank`,
  `wallet.${kind}.after-resolve`,
];

/** Runs `action` in a child that SIGKILLs itself at `point`; fails if the point never fired. */
async function crashAt(world: WalletWorld, action: MoneyPathAction, point: string): Promise<void> {
  const directory = mkdtempSync(path.join(tmpdir(), 'tuyere-money-crash-'));
  const planFile = path.join(directory, 'plan.json');
  writeFileSync(planFile, JSON.stringify({ config: WORKER_CONFIG(world), action }));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./fixtures/money-path-worker.ts', import.meta.url).pathname],
    {
      env: {
        ...process.env,
        MONEY_DB_URL: world.app.db.url,
        MONEY_PLAN: planFile,
        MONEY_DATA_DIR: world.app.config.dataDir,
        TUYERE_CRASH_AT: point,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += String(chunk);
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_, s) => resolve(s)),
  );
  assert.equal(signal, 'SIGKILL', `the crash point ${point} fired (the child said: ${output.trim()})`);
}

/** What the recovery jobs do (poller, recovery, envelope sweep and expiry), run as they would later. */
async function recover(app: TestApp, later: Date): Promise<void> {
  await app.wallet.recoverOperations(later);
  await app.wallet.pollBank(later);
  await app.redpacket.settleFunding(later);
}

async function assertVerifyClean(app: TestApp): Promise<void> {
  const failing = (await app.verify()).filter((check) => !check.ok);
  assert.deepEqual(
    failing.map((check) => `${check.name}: ${check.violations.slice(0, 3).join('; ')}`),
    [],
  );
}

async function reservationState(app: TestApp, id: string): Promise<string | undefined> {
  const { rows } = await app.db.query<{ state: string }>(
    'SELECT state FROM identity_limit_reservations WHERE id = $1',
    [id],
  );
  return rows[0]?.state;
}

/** What today's two-factor limit counts for the user (withdrawals here are PIN-authorized). */
async function withdrawalLimitUsed(app: TestApp, userId: string): Promise<bigint> {
  const line = (await app.identity.limitsOverview(userId)).find((l) => l.name === 'daily_two_factor');
  return BigInt(line!.used);
}

async function cardAvailable(world: WalletWorld, cardId: string): Promise<bigint> {
  const card = await world.app.wallet.cards.get(cardId);
  const response = await fetch(`${world.bank.url}/sandbox/cards/${card!.cardToken}`);
  return BigInt(((await response.json()) as { available: string }).available);
}

test('SIGKILL at each step of a top-up and a withdrawal: moved once at the bank, healed, verify clean', async () => {
  const world = await startWalletWorld();
  const { app } = world;
  // No callbacks: outcomes arrive by polling, in the child (so the settlement's crash points
  // fire there) or in the recovery below.
  world.bank.setCallbackUrl(null);
  try {
    const user = await newUser(app);
    const cardId = await bindCard(world, user, '0001');
    await fundWallets(app, [user.id], 50_000n);
    for (const kind of ['top_up', 'withdrawal'] as const) {
      for (const point of BANK_POINTS(kind)) {
        const operationId = randomUUID();
        const amount = 1_000n;
        const walletBefore = await walletBalance(app, user.id);
        const cardBefore = await cardAvailable(world, cardId);
        const usedBefore = await withdrawalLimitUsed(app, user.id);
        const action = { kind, operationId, userId: user.id, cardId, amount: amount.toString() };
        await crashAt(world, action, point);
        const row = await app.wallet.operations.get(operationId);
        if (point.endsWith('before-hold')) assert.equal(row, undefined, `${point}: no row before the hold`);
        else assert.ok(row, `${point}: the row committed with its hold`);
        if (row) {
          const [hold] = await app.ledger.lookupTransfers([operationId]);
          assert.equal(hold?.amount, amount, `${point}: the row has its hold`);
        }
        await recover(app, new Date(Date.now() + 3_600_000));
        if (kind === 'withdrawal') {
          // Killed between reserving its limits and committing: recovery gave the reservation
          // back on the withdrawal's behalf, so the limits count only what committed.
          const reserved = await reservationState(app, operationId);
          const committed = row !== undefined;
          assert.equal(reserved, committed ? 'reserved' : 'abandoned', `${point}: its reservation`);
          assert.equal(
            await withdrawalLimitUsed(app, user.id),
            usedBefore + (committed ? amount : 0n),
            `${point}: the limits count what committed`,
          );
        }
        // The client retries with the same id (its idempotency key) and waits for the outcome.
        const retried =
          kind === 'top_up'
            ? await app.wallet.topUp({ operationId, userId: user.id, cardId, amount })
            : await app.wallet.withdraw({
                operationId,
                userId: user.id,
                cardId,
                amount,
                authorization: { userId: user.id, strength: 'two_factor', via: 'pin' },
              });
        const op = retried.state === 'pending' ? await settled(world, operationId) : retried;
        assert.equal(op?.state, 'succeeded', `${point}: the operation succeeded (${op?.failureReason})`);
        const sign = kind === 'top_up' ? 1n : -1n;
        assert.equal(
          await cardAvailable(world, cardId),
          cardBefore - sign * amount,
          `${point}: the bank moved it once`,
        );
        assert.equal(
          await walletBalance(app, user.id),
          walletBefore + sign * amount - op!.fee,
          `${point}: the wallet moved once`,
        );
        await recover(app, new Date(Date.now() + 3_600_000));
        if (kind === 'withdrawal') {
          // The retry took the reservation back (or kept it): counted once, never twice.
          assert.equal(
            await reservationState(app, operationId),
            'reserved',
            `${point}: held after the retry`,
          );
          assert.equal(
            await withdrawalLimitUsed(app, user.id),
            usedBefore + amount,
            `${point}: counted once`,
          );
        }
        await assertVerifyClean(app);
      }
    }
  } finally {
    await world.close();
  }
});

test('SIGKILL at each step of an envelope send (balance or card) and of its refund: healed, nothing stranded', async () => {
  const world = await startWalletWorld();
  const { app } = world;
  // No callbacks: outcomes arrive by polling, in the child (so the settlement's crash points
  // fire there) or in the recovery below.
  world.bank.setCallbackUrl(null);
  try {
    const sender = await newUser(app);
    const cardId = await bindCard(world, sender, '0001');
    await fundWallets(app, [sender.id], 20_000n);
    const members = Array.from({ length: 5 }, () => randomUUID());
    const group = await app.social.create(sender.id, 'crash', members, { members: 'synthetic' });
    const sends: Array<{ source: 'balance' | 'card'; point: string }> = [
      { source: 'balance', point: 'redpacket.send.after-record' },
      { source: 'balance', point: 'redpacket.send.after-pay' },
      { source: 'card', point: 'redpacket.send.after-pay' },
      ...BANK_POINTS('card_payment').map((point) => ({ source: 'card' as const, point })),
    ];
    const opened: string[] = [];
    for (const { source, point } of sends) {
      const envelopeId = randomUUID();
      const total = 500n;
      const walletBefore = await walletBalance(app, sender.id);
      const cardBefore = await cardAvailable(world, cardId);
      const action: MoneyPathAction = {
        kind: 'envelope_send',
        envelopeId,
        senderId: sender.id,
        groupId: group.id,
        total: total.toString(),
        shares: 5,
        source,
        pin: PIN,
      };
      await crashAt(world, action, `${point}`);
      // Later, the jobs: the bank's answer, recovery, and the funding sweep (past its 60 s grace).
      await recover(app, new Date(Date.now() + 3_600_000));
      const payment = await app.wallet.paymentStatus(
        (
          await app.db.query<{ fund_transfer_id: string }>(
            'SELECT fund_transfer_id FROM redpacket_envelopes WHERE id = $1',
            [envelopeId],
          )
        ).rows[0]?.fund_transfer_id ?? randomUUID(),
      );
      if (payment?.status === 'pending') {
        await settled(world, payment.paymentId);
        await recover(app, new Date(Date.now() + 3_600_000));
      }
      const envelope = await app.redpacket.get(envelopeId, sender.id);
      const paid =
        (await app.wallet.paymentStatus(payment?.paymentId ?? randomUUID()))?.status === 'completed';
      // Paid once and open, or not paid at all and failed (or never recorded): never paid and stuck.
      if (paid) assert.equal(envelope?.status, 'active', `${source} ${point}: a paid envelope opens`);
      else assert.ok(!envelope || envelope.status === 'failed', `${source} ${point}: ${envelope?.status}`);
      if (paid) opened.push(envelopeId);
      // Its limits are held exactly when it was paid: a send killed before paying gives them back.
      const { rows: reservations } = await app.db.query<{ state: string }>(
        `SELECT r.state FROM identity_limit_reservations r JOIN redpacket_envelopes e ON e.fund_transfer_id = r.id
          WHERE e.id = $1`,
        [envelopeId],
      );
      assert.ok(
        paid ? reservations[0]?.state === 'reserved' : reservations[0]?.state !== 'reserved',
        `${source} ${point}: limits ${reservations[0]?.state ?? 'none'} for a ${paid ? 'paid' : 'failed'} envelope`,
      );
      const taken = paid ? total : 0n;
      if (source === 'balance') {
        assert.equal(
          await walletBalance(app, sender.id),
          walletBefore - taken,
          `${point}: balance paid once`,
        );
      } else {
        assert.equal(await cardAvailable(world, cardId), cardBefore - taken, `${point}: card charged once`);
        assert.equal(await walletBalance(app, sender.id), walletBefore, `${point}: the balance untouched`);
      }
      await assertVerifyClean(app);
    }
    assert.ok(opened.length >= 3, `envelopes opened: ${opened.length}`);

    // Refunds: fresh envelopes with one grab each, then expiry (a day later) with a SIGKILL at
    // each step of the refund; expiry runs again twice, as its job would.
    const booked = async () =>
      (
        await app.db.query<{ sum: bigint | null }>(
          'SELECT sum(refund_amount)::int8 AS sum FROM redpacket_envelopes WHERE sender_id = $1 AND refund_booked',
          [sender.id],
        )
      ).rows[0]!.sum ?? 0n;
    for (const point of ['redpacket.refund.after-expire', 'redpacket.refund.after-transfer']) {
      const fresh: string[] = [];
      for (let i = 0; i < 2; i++) {
        const envelope = await app.redpacket.send({
          envelopeId: randomUUID(),
          senderId: sender.id,
          groupId: group.id,
          kind: 'lucky',
          total: 500n,
          shares: 5,
          greeting: 'refund',
          source: 'balance',
          proof: { type: 'pin', pin: PIN },
        });
        await app.redpacket.grab(envelope.id, members[0]!);
        fresh.push(envelope.id);
      }
      const walletBefore = await walletBalance(app, sender.id);
      const bookedBefore = await booked();
      const expiry = new Date(Date.now() + 25 * 3_600_000);
      await crashAt(world, { kind: 'envelope_refund', at: expiry.toISOString() }, point);
      await app.redpacket.expireDue(expiry);
      await app.redpacket.expireDue(expiry);
      const { rows } = await app.db.query<{
        id: string;
        status: string;
        refund_amount: bigint;
        refund_booked: boolean;
      }>(
        'SELECT id, status, refund_amount, refund_booked FROM redpacket_envelopes WHERE id = ANY($1::uuid[])',
        [fresh],
      );
      for (const row of rows) {
        assert.equal(row.status, 'expired', `${point}: ${row.id} expired`);
        assert.equal(row.refund_booked, true, `${point}: ${row.id} refunded`);
        const [refund] = await app.ledger.lookupTransfers([deterministicId('redpacket.refund', row.id)]);
        assert.equal(refund?.amount, row.refund_amount, `${point}: ${row.id} refunded its remainder`);
      }
      // The sender got back exactly the refunds booked meanwhile: each once, none lost.
      assert.equal(
        (await walletBalance(app, sender.id)) - walletBefore,
        (await booked()) - bookedBefore,
        `${point}: refunded exactly once`,
      );
      await assertVerifyClean(app);
    }
  } finally {
    await world.close();
  }
});
