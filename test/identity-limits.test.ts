import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeChineseId } from '../src/identity/chinese-id.ts';
import type { PaymentAuthorization } from '../src/identity/index.ts';
import { ManualClock } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { errorCode, signIn } from './identity-fixtures.ts';

// 23:30 in Shanghai on 2 March is 15:30 UTC.
const clock = new ManualClock('2026-03-02T15:30:00Z');
let app: TestApp;
before(async () => {
  app = await createTestApp({ clock });
});
after(() => app.close());

const viaPin = (userId: string): PaymentAuthorization => ({ userId, strength: 'two_factor', via: 'pin' });

test('100 parallel spends never exceed the limit', async () => {
  const user = await app.identity.issueSessionForTesting('13800000301');
  // Class I lifetime cap 1,000 CNY = 100,000 fen; 100 spends of 1,500 fen want 150,000.
  const decisions = await Promise.all(
    Array.from({ length: 100 }, () =>
      app.identity.checkAndReserve({
        userId: user.user.id,
        amount: 1_500n,
        method: 'balance_payment',
        authorization: viaPin(user.user.id),
      }),
    ),
  );
  const allowed = decisions.filter((d) => d.allowed).length;
  assert.equal(allowed, 66, '66 × 1,500 = 99,000 fits; the 67th would be 100,500');
  assert.ok(
    decisions
      .filter((d) => !d.allowed)
      .every((d) => !d.allowed && d.reason === 'class_lifetime_limit_exceeded'),
  );
  const { rows } = await app.db.query<{ used: bigint }>(
    "SELECT used FROM identity_limit_counters WHERE user_id = $1 AND counter = 'balance_lifetime'",
    [user.user.id],
  );
  assert.equal(rows[0]!.used, 99_000n);
});

test('a released reservation gives its amount back, once', async () => {
  const { user } = await app.identity.issueSessionForTesting('13800000302');
  const first = await app.identity.checkAndReserve({
    reservationId: '0195a000-0000-7000-8000-000000000001',
    userId: user.id,
    amount: 100_000n,
    method: 'balance_transfer',
    authorization: viaPin(user.id),
  });
  assert.ok(first.allowed);
  // The same reservation id again is idempotent, not a second charge.
  const repeat = await app.identity.checkAndReserve({
    reservationId: '0195a000-0000-7000-8000-000000000001',
    userId: user.id,
    amount: 100_000n,
    method: 'balance_transfer',
    authorization: viaPin(user.id),
  });
  assert.ok(repeat.allowed);
  const over = await app.identity.checkAndReserve({
    userId: user.id,
    amount: 1n,
    method: 'balance_transfer',
    authorization: viaPin(user.id),
  });
  assert.ok(!over.allowed);
  assert.equal(await app.identity.releaseReservation('0195a000-0000-7000-8000-000000000001'), true);
  assert.equal(await app.identity.releaseReservation('0195a000-0000-7000-8000-000000000001'), false);
  const after = await app.identity.checkAndReserve({
    userId: user.id,
    amount: 100_000n,
    method: 'balance_transfer',
    authorization: viaPin(user.id),
  });
  assert.ok(after.allowed);
});

test('daily caps count by Shanghai business day and reset at local midnight', async () => {
  const { user } = await app.identity.issueSessionForTesting('13800000303');
  await app.db.query('UPDATE identity_users SET account_class = 3 WHERE id = $1', [user.id]);
  const spend = (amount: bigint) =>
    app.identity.checkAndReserve({
      userId: user.id,
      amount,
      method: 'balance_payment',
      authorization: viaPin(user.id),
    });
  assert.ok((await spend(500_000n)).allowed, 'PIN (two-factor) cap is 5,000 CNY a day');
  const denied = await spend(1n);
  assert.ok(!denied.allowed && denied.reason === 'daily_limit_exceeded');
  clock.advance(31 * 60_000); // 00:01 in Shanghai, still 2 March in UTC
  assert.ok((await spend(500_000n)).allowed);
  // A signature-strength payment has its own, higher cap.
  const signed = await app.identity.checkAndReserve({
    userId: user.id,
    amount: 1_000_000n,
    method: 'balance_payment',
    authorization: { strength: 'signature' },
  });
  assert.ok(signed.allowed);
});

test('static QR is capped at 500 CNY a day; bank-card quick pay skips the class cap', async () => {
  const { user } = await app.identity.issueSessionForTesting('13800000304');
  const qr = await app.identity.checkAndReserve({
    userId: user.id,
    amount: 50_001n,
    method: 'static_qr',
    authorization: viaPin(user.id),
  });
  assert.ok(!qr.allowed && qr.reason === 'method_daily_limit_exceeded');
  const card = await app.identity.checkAndReserve({
    userId: user.id,
    amount: 200_000n,
    method: 'bank_card_quick_pay',
    authorization: { strength: 'signature' },
  });
  assert.ok(card.allowed, 'class I lifetime cap does not apply to quick pay');
});

test('real-name verification raises the class; the ID number is encrypted and shown masked', async () => {
  const alice = await signIn(app, '13800000305');
  const url = `/v1/users/${alice.userId}/real-name`;
  const verify = (idNumber: string, requested = 'III') =>
    app.http.inject({
      method: 'POST',
      url,
      headers: alice.headers,
      payload: { name: '李四', id_number: idNumber, requested_class: requested },
    });

  assert.equal(errorCode(await verify('110101199003071235')), 'id_number_invalid');
  assert.equal((await verify(makeChineseId('110101', '19900307', '999'))).statusCode, 503);
  assert.equal(errorCode(await verify(makeChineseId('110101', '19900307', '998'))), 'real_name_mismatch');
  assert.equal(errorCode(await verify(makeChineseId('110101', '19900307', '997'))), 'id_number_not_found');

  // (On another account: the real name is set once, so Alice's first success is final.)
  const carol = await signIn(app, '13800000307');
  const partial = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${carol.userId}/real-name`,
    headers: carol.headers,
    payload: { name: '王五', id_number: makeChineseId('110101', '19900307', '996'), requested_class: 'III' },
  });
  assert.equal(partial.json().account_class, 'II', 'three sources give class II even when III was asked');
  const idNumber = makeChineseId('110101', '19900307', '123');
  const full = await verify(idNumber);
  assert.equal(full.statusCode, 200, full.body);
  assert.equal(full.json().account_class, 'III');
  assert.equal(full.json().id_number_masked, `1101**********${idNumber.slice(-4)}`);
  assert.equal(full.json().real_name, '李*');
  assert.ok(!full.body.includes(idNumber));

  const { rows } = await app.db.query<{ id_number_ciphertext: Buffer; id_number_key_id: string }>(
    'SELECT id_number_ciphertext, id_number_key_id FROM identity_users WHERE id = $1',
    [alice.userId],
  );
  assert.ok(!rows[0]!.id_number_ciphertext.toString('latin1').includes(idNumber));
  assert.equal(rows[0]!.id_number_key_id, 'local1');

  const bob = await signIn(app, '13800000306');
  const taken = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${bob.userId}/real-name`,
    headers: bob.headers,
    payload: { name: '李四', id_number: idNumber, requested_class: 'II' },
  });
  assert.equal(errorCode(taken), 'id_number_in_use');

  const limits = await app.http.inject({
    method: 'GET',
    url: `/v1/users/${alice.userId}/limits`,
    headers: alice.headers,
  });
  assert.equal(limits.json().limits[0].name, 'class_iii_yearly');
  assert.equal(limits.json().limits[0].cap, '20000000');
});

test('attack: a verified real name cannot be replaced by the user with another name or ID number', async () => {
  const dave = await signIn(app, '13800000308');
  const url = `/v1/users/${dave.userId}/real-name`;
  const submit = (name: string, idNumber: string, requested = 'II') =>
    app.http.inject({
      method: 'POST',
      url,
      headers: dave.headers,
      payload: { name, id_number: idNumber, requested_class: requested },
    });
  const original = makeChineseId('310104', '19880815', '996');
  const first = await submit('赵六', original);
  assert.equal(first.statusCode, 200, first.body);
  const state = async () =>
    (
      await app.db.query(
        'SELECT real_name, id_number_digest, id_number_ciphertext, verified_at, account_class FROM identity_users WHERE id = $1',
        [dave.userId],
      )
    ).rows[0];
  const before = await state();

  const otherName = await submit('钱七', original);
  assert.equal(otherName.statusCode, 409);
  assert.equal(errorCode(otherName), 'real_name_already_set');
  const otherId = await submit('赵六', makeChineseId('310104', '19880815', '123'), 'III');
  assert.equal(otherId.statusCode, 409);
  assert.equal(errorCode(otherId), 'real_name_already_set');
  const concurrent = await Promise.all([
    submit('孙八', makeChineseId('310104', '19880815', '124'), 'III'),
    submit('周九', makeChineseId('310104', '19880815', '125'), 'III'),
  ]);
  assert.deepEqual(
    concurrent.map((r) => errorCode(r)),
    ['real_name_already_set', 'real_name_already_set'],
  );
  assert.deepEqual(await state(), before, 'nothing changed');

  // The same name and ID number again is fine (nothing new to set).
  assert.equal((await submit('赵六', original)).statusCode, 200);
});

test('an operator corrects a verified real name; the change is audited with the reason', async () => {
  const erin = await signIn(app, '13800000309');
  const first = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${erin.userId}/real-name`,
    headers: erin.headers,
    payload: { name: '吴一', id_number: makeChineseId('440106', '19950620', '996'), requested_class: 'II' },
  });
  assert.equal(first.statusCode, 200, first.body);
  const corrected = await app.http.inject({
    method: 'POST',
    url: `/v1/operator/users/${erin.userId}/real-name`,
    headers: app.operatorHeaders,
    payload: {
      name: '吴二',
      id_number: makeChineseId('440106', '19950620', '124'),
      requested_class: 'III',
      reason: 'ticket 42: typo in the name',
    },
  });
  assert.equal(corrected.statusCode, 200, corrected.body);
  assert.equal(corrected.json().real_name, '吴*');
  assert.equal(corrected.json().account_class, 'III');
  const audit = await app.http.inject({
    method: 'GET',
    url: `/v1/audit?subject=user:${erin.userId}`,
    headers: app.operatorHeaders,
  });
  const entry = audit
    .json()
    .entries.find((e: { action: string }) => e.action === 'operator.real_name_corrected');
  assert.ok(entry, audit.body);
  assert.equal(entry.details.reason, 'ticket 42: typo in the name');
});
