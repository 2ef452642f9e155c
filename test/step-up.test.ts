/**
 * Step-up and card binding, written as attacks. The attacker holds the victim's session token
 * (the wallet keeps it in localStorage) but not the PIN or a device: every sensitive request is
 * refused with a stable 4xx code and nothing changes (devices, settings, cards, phone, balances,
 * the bank's card and its SMS outbox). Then the same actions with a proper step-up succeed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { testPan } from '../src/bank/testing.ts';
import { ManualClock } from '../src/platform/clock.ts';
import { createTestApp } from '../src/platform/testing/app.ts';
import { deviceKey, errorCode, latestCode, registerDevice, signIn } from './identity-fixtures.ts';
import {
  balance,
  bindCard,
  issueCard,
  newUser,
  PIN,
  post,
  settled,
  startWalletWorld,
  type TestUser,
  topUp,
  uniquePhone,
  verifiedHolder,
  type WalletWorld,
} from './wallet-fixtures.ts';

let world: WalletWorld;
let victim: TestUser;
let cardId: string;
before(async () => {
  world = await startWalletWorld();
  victim = await newUser(world.app);
  cardId = await bindCard(world, victim, '0001');
  const funded = await topUp(world, victim, cardId, 50_000n);
  assert.ok(funded.statusCode < 300, funded.body);
  assert.equal((await settled(world, funded.json().id)).state, 'succeeded');
});
after(() => world?.close());

const inject = (method: 'POST' | 'PUT' | 'PATCH', url: string, payload: object, headers = victim.headers) =>
  world.app.http.inject({ method, url, headers, payload });

/** Everything an attacker could want to change, to compare before and after. */
async function snapshot(user: TestUser) {
  const { app } = world;
  const [devices, profile, cards, wallet, bankSms, operations] = await Promise.all([
    app.db.query('SELECT id FROM identity_devices WHERE user_id = $1', [user.id]),
    app.identity.getUser(user.id),
    app.wallet.cards.list(user.id),
    balance(app, user.id),
    fetch(`${world.bank.url}/sandbox/sms`).then((r) => r.json() as Promise<{ messages: unknown[] }>),
    app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM wallet_bank_operations WHERE user_id = $1', [
      user.id,
    ]),
  ]);
  return {
    devices: devices.rows.length,
    phone: profile!.phone,
    passwordFree: profile!.password_free_enabled,
    cards: cards.map((c) => c.id).sort(),
    wallet,
    bankSms: bankSms.messages.length,
    bankOperations: operations.rows[0]!.n,
  };
}

function rawDeviceBody(userId: string, challenge: { challenge_id: string; nonce: string }) {
  const key = deviceKey('p256');
  const spki = Buffer.from(key.publicKeyBase64, 'base64');
  const message = JSON.stringify([
    'tuyere-device-registration/v1',
    challenge.challenge_id,
    userId,
    challenge.nonce,
    createHash('sha256').update(spki).digest('base64url'),
  ]);
  return {
    challenge_id: challenge.challenge_id,
    kind: 'phone',
    name: 'Attacker phone',
    key_type: 'p256',
    public_key: key.publicKeyBase64,
    signature: key.sign(message),
    user_verification: true,
  };
}

test('a stolen session without the PIN: every sensitive request is refused and nothing changes', async () => {
  const { app } = world;
  const base = `/v1/users/${victim.id}`;
  const off = await inject('PATCH', `${base}/payment-settings`, { password_free_enabled: false });
  assert.equal(off.statusCode, 200, 'turning password-free off needs no step-up');
  const before = await snapshot(victim);
  const attackerPhone = uniquePhone();
  const refused: Array<[string, Awaited<ReturnType<typeof inject>>, string]> = [];
  for (const proof of [undefined, { type: 'none' }]) {
    const withProof = (body: object) => (proof ? { ...body, proof } : body);
    const challenge = (await inject('POST', `${base}/devices/registration-challenges`, {})).json() as {
      challenge_id: string;
      nonce: string;
    };
    refused.push([
      'raw device key with user verification',
      await inject('POST', `${base}/devices`, withProof(rawDeviceBody(victim.id, challenge))),
      'step_up_required',
    ]);
    const options = (await inject('POST', `${base}/passkeys/registration-options`, {})).json();
    refused.push([
      'passkey',
      await inject(
        'POST',
        `${base}/passkeys`,
        withProof({
          challenge_id: options.challenge_id,
          kind: 'browser',
          name: 'Attacker laptop',
          response: { id: 'x', rawId: 'x', type: 'public-key', response: {} },
        }),
      ),
      'step_up_required',
    ]);
    refused.push([
      'password-free on',
      await inject('PATCH', `${base}/payment-settings`, withProof({ password_free_enabled: true })),
      'step_up_required',
    ]);
    refused.push([
      'withdrawal',
      await post(app, `${base}/withdrawals`, victim, withProof({ card_id: cardId, amount: '10000' })),
      'step_up_required',
    ]);
    refused.push([
      'top-up',
      await post(app, `${base}/top-ups`, victim, withProof({ card_id: cardId, amount: '10000' })),
      'step_up_required',
    ]);
    refused.push([
      'card binding',
      await inject(
        'POST',
        `${base}/cards/verifications`,
        withProof({ pan: testPan('0001'), phone: victim.phone }),
      ),
      'step_up_required',
    ]);
    refused.push([
      'phone change',
      await inject('PUT', `${base}/phone`, withProof({ new_phone: attackerPhone, sms_code: '123456' })),
      'step_up_required',
    ]);
  }
  // A guessed PIN is refused (and counted), never accepted.
  refused.push([
    'withdrawal with a guessed PIN',
    await post(app, `${base}/withdrawals`, victim, {
      card_id: cardId,
      amount: '10000',
      proof: { type: 'pin', pin: '246813' },
    }),
    'pin_incorrect',
  ]);
  for (const [what, response, code] of refused) {
    assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${what}: ${response.statusCode}`);
    assert.equal(errorCode(response), code, `${what}: ${response.body}`);
  }
  assert.deepEqual(await snapshot(victim), before, 'nothing changed');
});

test('a signature is bound to its action: a challenge for another purpose is refused, nothing changes', async () => {
  const { app } = world;
  const who = { userId: victim.id, accessToken: '', refreshToken: '', headers: victim.headers };
  const device = await registerDevice(app, who, { proof: { type: 'pin', pin: PIN } });
  const base = `/v1/users/${victim.id}`;
  const signed = async (amount: string, payee: string, purpose: string) => {
    const challenge = (
      await inject('POST', `${base}/payment-challenges`, { amount, currency: 'CNY', payee, purpose })
    ).json();
    return {
      type: 'device_signature',
      challenge_id: challenge.challenge_id,
      device_id: device.deviceId,
      signature: device.key.sign(challenge.payload),
    };
  };
  const self = `user:${victim.id}`;
  const before = await snapshot(victim);
  const attempts: Array<[string, Promise<Awaited<ReturnType<typeof inject>>>]> = [
    [
      'a device.add challenge used to withdraw',
      signed('0', self, 'device.add').then((proof) =>
        post(app, `${base}/withdrawals`, victim, { card_id: cardId, amount: '10000', proof }),
      ),
    ],
    [
      'a withdraw challenge (right amount and card) used to top up',
      signed('10000', `card:${cardId}`, 'withdraw').then((proof) =>
        post(app, `${base}/top-ups`, victim, { card_id: cardId, amount: '10000', proof }),
      ),
    ],
    [
      'a transfer challenge used to bind a card',
      signed('100', 'merchant:m1', 'transfer').then((proof) =>
        inject('POST', `${base}/cards/verifications`, { pan: testPan('0001'), phone: victim.phone, proof }),
      ),
    ],
    [
      'a card.bind challenge used to turn on password-free payments',
      signed('0', self, 'card.bind').then((proof) =>
        inject('PATCH', `${base}/payment-settings`, { password_free_enabled: true, proof }),
      ),
    ],
  ];
  for (const [what, attempt] of attempts) {
    const response = await attempt;
    assert.equal(response.statusCode, 403, `${what}: ${response.body}`);
    assert.equal(errorCode(response), 'challenge_purpose_mismatch', what);
  }
  // A step-up challenge cannot pay a friend either.
  const withdrawChallenge = await signed('500', `card:${cardId}`, 'withdraw');
  const transfer = await post(app, `${base}/transfers`, victim, {
    to_user_id: (await newUser(app)).id,
    amount: '500',
    proof: withdrawChallenge,
  });
  assert.equal(errorCode(transfer), 'challenge_purpose_mismatch', transfer.body);
  // A non-money step-up challenge binds amount 0 to the user themself.
  const loose = await inject('POST', `${base}/payment-challenges`, {
    amount: '100',
    currency: 'CNY',
    payee: self,
    purpose: 'device.add',
  });
  assert.equal(errorCode(loose), 'challenge_binding_invalid');
  assert.deepEqual(await snapshot(victim), before, 'nothing changed');

  // The right purpose works: the trusted device confirms turning password-free on.
  const on = await inject('PATCH', `${base}/payment-settings`, {
    password_free_enabled: true,
    proof: await signed('0', self, 'password_free.enable'),
  });
  assert.equal(on.statusCode, 200, on.body);
  assert.equal(on.json().password_free_enabled, true);
});

test('card binding as banks do it: real name required, four elements from the bank’s own records', async () => {
  const { app } = world;
  const url = (user: TestUser) => `/v1/users/${user.id}/cards/verifications`;
  const proof = { type: 'pin', pin: PIN };

  // Not real-name verified: refused before the bank is asked, even with the PIN.
  const unverified = await newUser(app);
  const noRealName = await inject(
    'POST',
    url(unverified),
    { pan: testPan('0001'), phone: unverified.phone, proof },
    unverified.headers,
  );
  assert.equal(noRealName.statusCode, 403);
  assert.equal(errorCode(noRealName), 'realname_required');

  // The attacker's own card (their name, their phone) on the victim's account: the bank's
  // records name another holder, so nothing is texted and nothing bound.
  const attacker = await newUser(app);
  const attackersPan = testPan('0001', '621799');
  await issueCard(world, attacker, attackersPan);
  // The victim's own card, issued in their name and reserved to their phone.
  const victimsPan = testPan('0001', '621798');
  await issueCard(world, victim, victimsPan);
  const before = await snapshot(victim);
  const mismatches = [
    { what: "the attacker's card, the attacker's phone", pan: attackersPan, phone: attacker.phone },
    { what: "the attacker's card, the victim's phone", pan: attackersPan, phone: victim.phone },
    { what: "the victim's card, the attacker's phone", pan: victimsPan, phone: attacker.phone },
    { what: 'a card the bank never issued', pan: testPan('0001', '621797'), phone: victim.phone },
  ];
  for (const { what, pan, phone } of mismatches) {
    const response = await inject('POST', url(victim), { pan, phone, proof });
    assert.equal(response.statusCode, 422, `${what}: ${response.body}`);
    assert.equal(errorCode(response), 'card_details_mismatch', what);
  }
  // The holder's name and ID number come from identity, never from the request.
  const holder = await verifiedHolder(app, attacker);
  const smuggled = await inject('POST', url(victim), {
    pan: attackersPan,
    phone: attacker.phone,
    holder_name: holder.name,
    id_number: holder.idNumber,
    proof,
  });
  assert.equal(smuggled.statusCode, 400, smuggled.body);
  assert.deepEqual(await snapshot(victim), before, 'no card bound, no code texted');

  // All four elements match: the bank texts the code and the card binds.
  const started = await inject('POST', url(victim), { pan: victimsPan, phone: victim.phone, proof });
  assert.equal(started.statusCode, 202, started.body);
  const sms = (await (await fetch(`${world.bank.url}/sandbox/sms?phone=${victim.phone}`)).json()) as {
    messages: Array<{ code: string; verification_id: string }>;
  };
  const code = sms.messages.find((m) => m.verification_id === started.json().verification_id)!.code;
  // Another user cannot finish the victim's verification (an id of someone else's in the body).
  const hijack = await inject(
    'POST',
    `/v1/users/${attacker.id}/cards`,
    { verification_id: started.json().verification_id, sms_code: code },
    attacker.headers,
  );
  assert.equal(hijack.statusCode, 404);
  assert.equal(errorCode(hijack), 'card_verification_not_found');
  const bound = await inject('POST', `/v1/users/${victim.id}/cards`, {
    verification_id: started.json().verification_id,
    sms_code: code,
  });
  assert.equal(bound.statusCode, 201, bound.body);
  assert.equal(bound.json().last4, '0001');
});

test('changing the phone: a code to the new number plus the PIN, audited; never on the session alone', async () => {
  const { app } = world;
  const user = await newUser(app);
  const base = `/v1/users/${user.id}`;
  const newPhone = uniquePhone();
  const sent = await inject('POST', `${base}/phone/verification-code`, { new_phone: newPhone }, user.headers);
  assert.equal(sent.statusCode, 202, sent.body);
  const code = await latestCode(app, newPhone);
  const noStepUp = await inject(
    'PUT',
    `${base}/phone`,
    { new_phone: newPhone, sms_code: code },
    user.headers,
  );
  assert.equal(errorCode(noStepUp), 'step_up_required');
  assert.equal((await app.identity.getUser(user.id))!.phone, user.phone);
  const taken = await inject(
    'POST',
    `${base}/phone/verification-code`,
    { new_phone: victim.phone },
    user.headers,
  );
  assert.equal(taken.statusCode, 409);
  assert.equal(errorCode(taken), 'phone_in_use');

  const changed = await inject(
    'PUT',
    `${base}/phone`,
    { new_phone: newPhone, sms_code: code, proof: { type: 'pin', pin: PIN } },
    user.headers,
  );
  assert.equal(changed.statusCode, 200, changed.body);
  assert.equal(changed.json().phone_masked, `${newPhone.slice(0, 3)}****${newPhone.slice(-4)}`);
  assert.equal((await app.identity.findUserByPhone(newPhone))?.id, user.id);
  assert.equal(await app.identity.findUserByPhone(user.phone), undefined);
  const audit = await app.identity.readAudit({ afterSeq: 0n, limit: 1000, subject: `user:${user.id}` });
  const entry = audit.find((row) => row.action === 'user.phone_changed');
  assert.ok(entry, 'the change is audited');
  assert.ok(!JSON.stringify(entry.details).includes(newPhone), 'the audit keeps the numbers masked');
});

test('a new device signs no stronger than the PIN until its cooling-off period ends', async () => {
  const clock = new ManualClock('2026-03-02T01:00:00Z');
  const app = await createTestApp({ clock, config: { newDeviceCoolingOffSeconds: 3600 } });
  try {
    const alice = await signIn(app, '13800000301');
    const { deviceId, key } = await registerDevice(app, alice);
    const pay = async () => {
      const challenge = await app.identity.createPaymentChallenge(alice.userId, {
        amount: 1000n,
        currency: 'CNY',
        payee: 'merchant:m1',
        purpose: 'order:1',
      });
      return app.identity.authorizePayment({
        userId: alice.userId,
        amount: 1000n,
        currency: 'CNY',
        payee: 'merchant:m1',
        proof: {
          type: 'device_signature',
          challengeId: challenge.challenge_id,
          deviceId,
          signature: key.sign(challenge.payload),
        },
      });
    };
    assert.equal((await pay()).strength, 'two_factor', 'cooling off: PIN level');
    clock.advance(3_599_000);
    assert.equal((await pay()).strength, 'two_factor', 'still cooling off a second before the end');
    clock.advance(1_000);
    assert.equal((await pay()).strength, 'signature', 'trusted once the period is over');
  } finally {
    await app.close();
  }
});

test('ids inside bodies: another user’s card in a top-up or withdrawal is not found, nothing moves', async () => {
  const { app } = world;
  const attacker = await newUser(app);
  const before = await snapshot(victim);
  for (const path of ['top-ups', 'withdrawals']) {
    const response = await post(app, `/v1/users/${attacker.id}/${path}`, attacker, {
      card_id: cardId,
      amount: '100',
      proof: { type: 'pin', pin: PIN },
    });
    assert.equal(response.statusCode, 404, `${path}: ${response.body}`);
    assert.equal(errorCode(response), 'card_not_found');
  }
  assert.deepEqual(await snapshot(victim), before);
  assert.equal((await snapshot(attacker)).bankOperations, 0);
});

test('an old session (a stolen token, refreshed) cannot set the first PIN that every step-up rests on', async () => {
  const clock = new ManualClock('2026-03-02T01:00:00Z');
  const app = await createTestApp({ clock, config: { firstPinLoginWindowSeconds: 900 } });
  try {
    const stolen = await signIn(app, '13800000302');
    clock.advance(901_000);
    // The access token has expired by now; the thief refreshes it: same session, same old login.
    const refreshed = await app.http.inject({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refresh_token: stolen.refreshToken },
    });
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    const headers = { authorization: `Bearer ${refreshed.json().access_token}` };
    const url = `/v1/users/${stolen.userId}/pin`;
    const set = await app.http.inject({ method: 'POST', url, headers, payload: { pin: '135792' } });
    assert.equal(set.statusCode, 403, set.body);
    assert.equal(errorCode(set), 'recent_login_required');
    const state = await app.http.inject({ method: 'GET', url, headers });
    assert.equal(state.json().set, false, 'no PIN was set');
    // The owner signs in again (a fresh SMS login) and sets it.
    const owner = await signIn(app, '13800000302');
    const ok = await app.http.inject({
      method: 'POST',
      url,
      headers: owner.headers,
      payload: { pin: '135792' },
    });
    assert.equal(ok.statusCode, 204, ok.body);
  } finally {
    await app.close();
  }
});
