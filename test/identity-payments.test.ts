import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PaymentProof } from '../src/identity/index.ts';
import { ManualClock } from '../src/platform/clock.ts';
import { AppError } from '../src/platform/errors.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import {
  errorCode,
  FIXTURE_PIN,
  paymentChallenge,
  registerDevice,
  type SignedIn,
  signIn,
} from './identity-fixtures.ts';

const clock = new ManualClock('2026-03-02T01:00:00Z');
let app: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn;
before(async () => {
  // Cooling-off of new devices has its own test (test/step-up.test.ts); here devices sign at full strength.
  app = await createTestApp({ clock, config: { newDeviceCoolingOffSeconds: 0 } });
  alice = await signIn(app, '13800000201');
  bob = await signIn(app, '13800000202');
  carol = await signIn(app, '13800000203');
});
after(() => app.close());

async function rejects(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code);
    return true;
  });
}

const pay = (who: SignedIn, amount: bigint, payee: string, proof: PaymentProof) =>
  app.identity.authorizePayment({ userId: who.userId, amount, currency: 'CNY', payee, proof });

test('a device signature over the challenge authorizes exactly that payment, once', async () => {
  const { deviceId, key } = await registerDevice(app, alice, { keyType: 'p256' });
  const challenge = await paymentChallenge(app, alice, { amount: '50000', payee: `user:${bob.userId}` });
  const signature = key.sign(challenge.payload);
  const proof: PaymentProof = {
    type: 'device_signature',
    challengeId: challenge.challenge_id,
    deviceId,
    signature,
  };

  // Reuse for a different amount or payee is refused, and does not burn the challenge.
  await rejects(pay(alice, 50001n, `user:${bob.userId}`, proof), 'challenge_mismatch');
  await rejects(pay(alice, 50000n, 'user:someone-else', proof), 'challenge_mismatch');
  // A tampered signature is refused.
  const tampered = Buffer.from(signature, 'base64');
  tampered[tampered.length - 1]! ^= 0x01;
  await rejects(
    pay(alice, 50000n, `user:${bob.userId}`, { ...proof, signature: tampered.toString('base64') }),
    'signature_invalid',
  );
  // The genuine one passes with signature strength (the device proves user verification).
  const authorization = await pay(alice, 50000n, `user:${bob.userId}`, proof);
  assert.equal(authorization.strength, 'signature');
  assert.equal(authorization.deviceId, deviceId);
  // Replaying it is refused.
  await rejects(pay(alice, 50000n, `user:${bob.userId}`, proof), 'challenge_replayed');
});

test('a challenge is bound to its user, expires, and a disabled device cannot sign', async () => {
  const { deviceId, key } = await registerDevice(app, alice, { keyType: 'ed25519' });
  const challenge = await paymentChallenge(app, alice, { amount: '100', payee: 'merchant:m1' });
  const proof: PaymentProof = {
    type: 'device_signature',
    challengeId: challenge.challenge_id,
    deviceId,
    signature: key.sign(challenge.payload),
  };
  await rejects(pay(bob, 100n, 'merchant:m1', proof), 'challenge_not_found');

  const bobDevice = await registerDevice(app, bob, { keyType: 'ed25519' });
  const bobsKeyOnAlice = {
    ...proof,
    deviceId: bobDevice.deviceId,
    signature: bobDevice.key.sign(challenge.payload),
  };
  await rejects(pay(alice, 100n, 'merchant:m1', bobsKeyOnAlice), 'device_not_usable');

  clock.advance(121_000);
  await rejects(pay(alice, 100n, 'merchant:m1', proof), 'challenge_expired');

  const fresh = await paymentChallenge(app, alice, { amount: '100', payee: 'merchant:m1' });
  const disable = await app.http.inject({
    method: 'POST',
    url: `/v1/devices/${deviceId}/disable`,
    headers: alice.headers,
    payload: { reason: 'lost' },
  });
  assert.equal(disable.json().status, 'disabled');
  await rejects(
    pay(alice, 100n, 'merchant:m1', {
      type: 'device_signature',
      challengeId: fresh.challenge_id,
      deviceId,
      signature: key.sign(fresh.payload),
    }),
    'device_not_usable',
  );
});

test('a device key without user verification gives two-factor strength; a wearable gets its own daily cap', async () => {
  const watch = await registerDevice(app, alice, {
    keyType: 'p256',
    kind: 'wearable',
    userVerification: false,
  });
  const challenge = await paymentChallenge(app, alice, { amount: '1000', payee: 'merchant:m2' });
  const authorization = await pay(alice, 1000n, 'merchant:m2', {
    type: 'device_signature',
    challengeId: challenge.challenge_id,
    deviceId: watch.deviceId,
    signature: watch.key.sign(challenge.payload),
  });
  assert.equal(authorization.strength, 'two_factor');
  assert.equal(authorization.deviceDailyLimit, 50_000n);
  const decision = await app.identity.checkAndReserve({
    userId: alice.userId,
    amount: 50_001n,
    method: 'balance_payment',
    authorization,
  });
  assert.deepEqual(decision.allowed ? 'allowed' : decision.reason, 'device_daily_limit_exceeded');
});

test('password-free is off until turned on with a step-up; then small payments only', async () => {
  await rejects(pay(alice, 100n, 'merchant:m1', { type: 'none' }), 'payment_authorization_required');
  const on = await app.http.inject({
    method: 'PATCH',
    url: `/v1/users/${alice.userId}/payment-settings`,
    headers: alice.headers,
    payload: { password_free_enabled: true, proof: { type: 'pin', pin: FIXTURE_PIN } },
  });
  assert.equal(on.statusCode, 200, on.body);
  assert.equal(on.json().password_free_enabled, true);
  const small = await pay(alice, 20_000n, 'merchant:m1', { type: 'none' });
  assert.equal(small.strength, 'single_factor');
  await rejects(pay(alice, 20_001n, 'merchant:m1', { type: 'none' }), 'payment_authorization_required');
  const off = await app.http.inject({
    method: 'PATCH',
    url: `/v1/users/${alice.userId}/payment-settings`,
    headers: alice.headers,
    payload: { password_free_enabled: false },
  });
  assert.equal(off.statusCode, 200);
  await rejects(pay(alice, 100n, 'merchant:m1', { type: 'none' }), 'payment_authorization_required');
});

test('PIN: set once, brute force locks it, only a reset with SMS unlocks it; never echoed', async () => {
  const url = `/v1/users/${carol.userId}/pin`;
  const weak = await app.http.inject({
    method: 'POST',
    url,
    headers: carol.headers,
    payload: { pin: '123456' },
  });
  assert.equal(errorCode(weak), 'pin_too_weak');
  const set = await app.http.inject({
    method: 'POST',
    url,
    headers: carol.headers,
    payload: { pin: '135792' },
  });
  assert.equal(set.statusCode, 204);
  assert.equal(set.body, '');
  const again = await app.http.inject({
    method: 'POST',
    url,
    headers: carol.headers,
    payload: { pin: '246813' },
  });
  assert.equal(errorCode(again), 'pin_already_set');

  assert.equal(
    (await pay(carol, 100n, 'merchant:m1', { type: 'pin', pin: '135792' })).strength,
    'two_factor',
  );
  for (let attempt = 1; attempt <= 4; attempt++) {
    await rejects(pay(carol, 100n, 'merchant:m1', { type: 'pin', pin: '000001' }), 'pin_incorrect');
  }
  await rejects(pay(carol, 100n, 'merchant:m1', { type: 'pin', pin: '000001' }), 'pin_locked');
  // Locked: even the right PIN is refused, in parallel too.
  const results = await Promise.allSettled(
    Array.from({ length: 5 }, () => pay(carol, 100n, 'merchant:m1', { type: 'pin', pin: '135792' })),
  );
  assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as AppError).code === 'pin_locked'));
  const state = await app.http.inject({ method: 'GET', url, headers: carol.headers });
  assert.ok(state.json().locked_until);
  assert.ok(!state.body.includes('135792'));

  // Change needs the old PIN, which is locked; reset needs an SMS code.
  const change = await app.http.inject({
    method: 'PUT',
    url,
    headers: carol.headers,
    payload: { old_pin: '135792', new_pin: '975318' },
  });
  assert.equal(errorCode(change), 'pin_locked');
  const code = await app.http.inject({
    method: 'POST',
    url: `${url}/reset-code`,
    headers: carol.headers,
    payload: {},
  });
  assert.equal(code.statusCode, 202);
  const sms = (await app.identity.sandboxSms!.latestCode('13800000203'))!;
  const wrongCode = sms === '000000' ? '111111' : '000000';
  const badReset = await app.http.inject({
    method: 'POST',
    url: `${url}/reset`,
    headers: carol.headers,
    payload: { sms_code: wrongCode, new_pin: '975318' },
  });
  assert.equal(errorCode(badReset), 'sms_code_invalid');
  const reset = await app.http.inject({
    method: 'POST',
    url: `${url}/reset`,
    headers: carol.headers,
    payload: { sms_code: sms, new_pin: '975318' },
  });
  assert.equal(reset.statusCode, 204, reset.body);
  assert.equal((await pay(carol, 100n, 'merchant:m1', { type: 'pin', pin: '975318' })).via, 'pin');

  // The lock expires on its own after the configured time, too.
  for (let attempt = 1; attempt <= 5; attempt++)
    await pay(carol, 1n, 'm', { type: 'pin', pin: '000002' }).catch(() => {});
  await rejects(pay(carol, 100n, 'merchant:m1', { type: 'pin', pin: '975318' }), 'pin_locked');
  clock.advance(10_801_000);
  assert.equal((await pay(carol, 100n, 'merchant:m1', { type: 'pin', pin: '975318' })).via, 'pin');
});

test('the PIN is stored only as an argon2id hash of a peppered value', async () => {
  const { rows } = await app.db.query<{ pin_hash: string }>(
    'SELECT pin_hash FROM identity_pins WHERE user_id = $1',
    [carol.userId],
  );
  assert.match(rows[0]!.pin_hash, /^\$argon2id\$/);
  assert.ok(!rows[0]!.pin_hash.includes('975318'));
});

test('device registration needs proof of possession of the private key', async () => {
  alice = await signIn(app, '13800000201'); // the earlier tests moved the clock past the access token's life
  const challenge = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${alice.userId}/devices/registration-challenges`,
    headers: alice.headers,
    payload: {},
  });
  const { challenge_id } = challenge.json();
  const { deviceKey } = await import('./identity-fixtures.ts');
  const mine = deviceKey('ed25519');
  const other = deviceKey('ed25519');
  const response = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${alice.userId}/devices`,
    headers: alice.headers,
    payload: {
      challenge_id,
      kind: 'phone',
      name: 'Stolen key',
      key_type: 'ed25519',
      public_key: mine.publicKeyBase64,
      signature: other.sign('anything at all, signed by another key'),
      user_verification: true,
      proof: { type: 'pin', pin: FIXTURE_PIN },
    },
  });
  assert.equal(response.statusCode, 422);
  assert.equal(errorCode(response), 'signature_invalid');
});
