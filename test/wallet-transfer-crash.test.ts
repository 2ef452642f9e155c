import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Ledgers } from '../src/ledger/index.ts';
import { seededIntegers } from '../src/platform/random.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { bankClearingAccount, transitAccount, walletAccount } from '../src/wallet/context.ts';
import { WalletTransfers } from '../src/wallet/index.ts';
import { verifyWallet } from '../src/wallet/verify.ts';
import type { PlannedTransfer } from './fixtures/transfer-worker.ts';

/**
 * A friend transfer commits its limits reservation, its ledger transfer and its wallet row
 * together (one ledger commit with a participant), so killing the process at any moment leaves
 * either all three or none. A worker sends immediate, acceptance and delayed transfers (some
 * over the limits, some over the balance) and is SIGKILLed at random moments; after every run
 * the books are checked before the next run retries the same ids.
 */
const CONFIG = {
  // Two-factor payments: 300.00 CNY a day, so some of them are refused by the limits.
  limitDailyTwoFactor: 30_000,
};

test('SIGKILL while friend transfers commit strands no money and no reservation', async () => {
  const app = await createTestApp({ config: CONFIG });
  try {
    const random = seededIntegers(Number(process.env.WALLET_CRASH_SEED ?? 7));
    const users: string[] = [];
    for (let i = 0; i < 30; i++) {
      const phone = `139${String(process.pid % 10_000).padStart(4, '0')}${String(i).padStart(4, '0')}`;
      users.push((await app.identity.issueSessionForTesting(phone)).user.id);
    }
    await app.wallet.accounts.system();
    await app.wallet.accounts.wallets(users);
    // Most senders can pay; a few run out of money (insufficient_balance mid-batch).
    await app.ledger.createTransfers(
      users.map((userId, i) => ({
        id: randomUUID(),
        debitAccountId: bankClearingAccount,
        creditAccountId: walletAccount(userId),
        amount: i % 6 === 0 ? 4_000n : 60_000n,
        ledger: Ledgers.CNY,
        code: WalletTransfers.topUp,
      })),
    );
    const senders = users.slice(0, 24);
    const transfers: PlannedTransfer[] = Array.from({ length: 900 }, (_, i) => {
      const senderId = senders[random.below(senders.length)]!;
      let recipientId = users[random.below(users.length)]!;
      if (recipientId === senderId) recipientId = users[(users.indexOf(senderId) + 1) % users.length]!;
      const kind = i % 3;
      return {
        id: randomUUID(),
        senderId,
        recipientId,
        amount: String(100 + random.below(2_400)),
        requireAcceptance: kind === 1 || (kind === 2 && i % 2 === 0),
        delayHours: kind === 2 ? (i % 4 < 2 ? 2 : 24) : 0,
        strength: i % 2 === 0 ? 'signature' : 'two_factor',
      };
    });

    const directory = mkdtempSync(path.join(tmpdir(), 'tuyere-transfer-crash-'));
    const acknowledged = new Map<string, string>();
    const kills = 5;
    for (let run = 0; run <= kills; run++) {
      const planFile = path.join(directory, `plan-${run}.json`);
      writeFileSync(
        planFile,
        JSON.stringify({
          config: CONFIG,
          clients: 32,
          transfers: run % 2 === 0 ? transfers : [...transfers].reverse(),
        }),
      );
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', new URL('./fixtures/transfer-worker.ts', import.meta.url).pathname],
        {
          env: {
            ...process.env,
            TRANSFER_DB_URL: app.db.url,
            TRANSFER_PLAN: planFile,
            TRANSFER_DATA_DIR: directory,
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let buffer = '';
      let answers = 0;
      const outcomes = new Map<string, number>();
      const finished = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      // Kill after a random number of answers: early (first batches) to late.
      const killAfter = run < kills ? 1 + Math.floor(Math.random() * 500) : Number.POSITIVE_INFINITY;
      child.stdout.on('data', (chunk) => {
        buffer += String(chunk);
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) {
          const [tag, id, detail] = line.split(' ');
          if (tag !== 'ACK' && tag !== 'NO') continue;
          const key = tag === 'ACK' ? 'sent' : detail!;
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
          if (tag === 'ACK') acknowledged.set(id!, detail!);
          if (++answers >= killAfter) child.kill('SIGKILL');
        }
      });
      await finished;
      console.log(
        `run ${run + 1}: ${answers} answers ${JSON.stringify(Object.fromEntries(outcomes))}${run < kills ? ', then SIGKILL' : ', ran to the end'}`,
      );
      await assertWhole(app, transfers, acknowledged);
    }
    assert.ok(acknowledged.size > 0);
  } finally {
    await app.close();
  }
});

/**
 * What no crash may break: money in transit always has its row; every row, reservation and
 * ledger transfer of a friend transfer has the other two; every counter equals the sum of its
 * reservations; the books verify.
 */
async function assertWhole(app: TestApp, transfers: PlannedTransfer[], acknowledged: Map<string, string>) {
  const ids = transfers.map((t) => t.id);
  const { rows } = await app.db.query<{ id: string; amount: bigint; state: string }>(
    'SELECT id, amount, state FROM wallet_transfers WHERE id = ANY($1::uuid[])',
    [ids],
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  const booked = new Map((await app.ledger.lookupTransfers(ids)).map((t) => [t.id, t]));
  const { rows: reservations } = await app.db.query<{ id: string; amount: bigint; state: string }>(
    'SELECT id, amount, state FROM identity_limit_reservations WHERE id = ANY($1::uuid[])',
    [ids],
  );
  const reserved = new Map(reservations.map((row) => [row.id, row]));
  for (const account of await app.ledger.lookupAccounts(ids.map(transitAccount))) {
    const held = account.creditsPosted - account.debitsPosted;
    if (held === 0n) continue;
    const row = byId.get(account.userData128!);
    assert.ok(row, `transit account of ${account.userData128} holds ${held} but has no wallet row`);
    assert.ok(['scheduled', 'awaiting_acceptance'].includes(row.state), `${row.id} is ${row.state}`);
    assert.equal(row.amount, held);
  }
  for (const row of rows) {
    assert.equal(booked.get(row.id)?.amount, row.amount, `wallet row ${row.id} has its ledger transfer`);
  }
  for (const id of booked.keys()) {
    assert.ok(byId.has(id), `ledger transfer ${id} has its wallet row`);
    assert.equal(reserved.get(id)?.state, 'reserved', `ledger transfer ${id} has its reservation`);
  }
  for (const reservation of reservations) {
    assert.ok(booked.has(reservation.id), `reservation ${reservation.id} has its ledger transfer`);
  }
  for (const [id, state] of acknowledged) {
    assert.ok(byId.has(id), `acknowledged transfer ${id} (${state}) is stored`);
  }
  const { rows: miscounted } = await app.db.query(
    `WITH charged AS (
       SELECT r.user_id, e->>'counter' AS counter, e->>'period' AS period,
              sum(r.amount) AS used, count(*)::int AS payments
         FROM identity_limit_reservations r, jsonb_array_elements(r.counters) e
        WHERE r.state = 'reserved' GROUP BY 1, 2, 3)
     SELECT * FROM identity_limit_counters c FULL JOIN charged x USING (user_id, counter, period)
      WHERE coalesce(c.used, 0) <> coalesce(x.used, 0) OR coalesce(c.payments, 0) <> coalesce(x.payments, 0)`,
  );
  assert.deepEqual(miscounted, [], 'every limit counter equals the sum of its reservations');
  const ledger = await app.ledger.verify();
  assert.ok(ledger.ok, JSON.stringify(ledger.violations.slice(0, 5)));
  for (const check of await verifyWallet(app.db, app.ledger, {
    full: true,
    record: false,
    now: new Date(),
  })) {
    assert.ok(check.ok, `${check.name}: ${check.violations.slice(0, 3).join('; ')}`);
  }
}
