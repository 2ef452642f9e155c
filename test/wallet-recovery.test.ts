/**
 * Half-done bank operations, as a crash (or the code before holds and rows committed together)
 * leaves them: `tuyere verify` flags each one exactly, the recovery job heals it without ever
 * asking the bank to move money the ledger does not hold, and verify is clean again.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Ledgers, TransferFlags } from '../src/ledger/index.ts';
import { bankClearingAccount, walletAccount } from '../src/wallet/context.ts';
import { WalletTransfers } from '../src/wallet/index.ts';
import { verifyWallet } from '../src/wallet/verify.ts';
import { fundWallets, walletBalance } from './redpacket-fixtures.ts';
import {
  bindCard,
  newUser,
  startWalletWorld,
  type TestUser,
  type WalletWorld,
  withdraw,
} from './wallet-fixtures.ts';

let world: WalletWorld;
let user: TestUser;
let cardId: string;
before(async () => {
  world = await startWalletWorld();
  user = await newUser(world.app);
  cardId = await bindCard(world, user, '0001');
  await fundWallets(world.app, [user.id], 100_000n);
});
after(() => world.close());

async function operationViolations(now = new Date()): Promise<string[]> {
  const checks = await verifyWallet(world.app.db, world.app.ledger, { full: true, record: false, now });
  return checks.find((check) => check.name.includes('bank operations agree'))!.violations;
}

/** Writes an operation row straight into the table, as older code or a tamperer could. */
async function insertRow(
  kind: 'top_up' | 'withdrawal',
  fields: { state?: string; failureReason?: string; called?: boolean } = {},
) {
  const id = randomUUID();
  await world.app.db.query(
    `INSERT INTO wallet_bank_operations (id, user_id, kind, card_id, request_id, amount, fee, state, failure_reason,
       bank_call_finished_at, next_poll_at, created_at)
     VALUES ($1::uuid, $2, $3, $4, 'tu-' || $1::text, 1000, 0, $5, $6, $7, now(), now() - interval '10 minutes')`,
    [
      id,
      user.id,
      kind,
      cardId,
      fields.state ?? 'pending',
      fields.failureReason ?? null,
      fields.called ? new Date() : null,
    ],
  );
  return id;
}

test('a pending withdrawal without its hold is flagged, failed by recovery, and never sent to the bank', async () => {
  const id = await insertRow('withdrawal');
  assert.deepEqual(await operationViolations(), [
    `bank operation ${id} is pending but its ledger transfer is missing`,
  ]);
  // The poller reaches it first: it heals it from the ledger instead of re-sending it.
  await world.app.wallet.pollBank(new Date(Date.now() + 3_600_000));
  const op = await world.app.wallet.operations.get(id);
  assert.equal(op?.state, 'failed');
  assert.equal(op?.failureReason, 'hold_missing');
  const status = await world.app.wallet.deps.bank.status(`tu-${id}`);
  assert.equal(status.found, false, 'the bank never heard of it');
  assert.deepEqual(await operationViolations(), []);
});

test('a pending operation whose hold was already posted (killed inside settle) follows the ledger after recovery', async () => {
  const id = await insertRow('top_up');
  await world.app.ledger.createTransfers([
    {
      id,
      debitAccountId: bankClearingAccount,
      creditAccountId: walletAccount(user.id),
      amount: 1000n,
      ledger: Ledgers.CNY,
      code: WalletTransfers.topUp,
      flags: TransferFlags.pending,
      userData128: user.id,
    },
  ]);
  await world.app.ledger.createTransfers([
    { id: randomUUID(), pendingId: id, amount: 1000n, flags: TransferFlags.post_pending_transfer },
  ]);
  // Within a minute of the post it is a settlement in progress; after that it is stuck.
  assert.deepEqual(await operationViolations(), []);
  assert.deepEqual(await operationViolations(new Date(Date.now() + 120_000)), [
    `bank operation ${id} is pending but its ledger transfer is posted`,
  ]);
  assert.equal(await world.app.wallet.recoverOperations(), 1);
  assert.equal((await world.app.wallet.operations.get(id))?.state, 'succeeded');
  assert.equal(await world.app.wallet.recoverOperations(), 0, 'recovery is idempotent');
  assert.deepEqual(await operationViolations(), []);
});

test('failed without a hold is accepted only for a hold that was never booked and never sent', async () => {
  const refused = await insertRow('withdrawal', { state: 'failed', failureReason: 'insufficient_balance' });
  const sent = await insertRow('withdrawal', {
    state: 'failed',
    failureReason: 'bank_not_received',
    called: true,
  });
  const odd = await insertRow('withdrawal', { state: 'failed', failureReason: 'declined' });
  const violations = await operationViolations();
  assert.ok(!violations.some((v) => v.includes(refused)), violations.join('; '));
  assert.ok(
    violations.some((v) => v.includes(sent) && v.includes('sent to the bank')),
    violations.join('; '),
  );
  assert.ok(
    violations.some((v) => v.includes(odd)),
    violations.join('; '),
  );
  await world.app.db.query('DELETE FROM wallet_bank_operations WHERE id = ANY($1::uuid[])', [
    [sent, odd, refused],
  ]);
  assert.deepEqual(await operationViolations(), []);
});

test('a withdrawal over the balance: 409, its row failed in the same commit as the refused hold, limits released; a replay answers the same', async () => {
  const before = await walletBalance(world.app, user.id);
  const key = randomUUID();
  const refused = await withdraw(world, user, cardId, 400_000n, key);
  assert.equal(refused.statusCode, 409, refused.body);
  assert.equal(refused.json().error.code, 'insufficient_balance');
  const { rows } = await world.app.db.query<{ id: string; state: string; failure_reason: string }>(
    `SELECT id, state, failure_reason FROM wallet_bank_operations WHERE user_id = $1 AND amount = 400000`,
    [user.id],
  );
  assert.equal(rows.length, 1);
  assert.deepEqual([rows[0]!.state, rows[0]!.failure_reason], ['failed', 'insufficient_balance']);
  const { rows: reservations } = await world.app.db.query<{ state: string }>(
    'SELECT state FROM identity_limit_reservations WHERE id = $1',
    [rows[0]!.id],
  );
  assert.equal(reservations[0]?.state, 'released');
  const replay = await withdraw(world, user, cardId, 400_000n, key);
  assert.equal(replay.statusCode, 409, replay.body);
  assert.equal(await walletBalance(world.app, user.id), before);
  assert.deepEqual(await operationViolations(), []);
});
