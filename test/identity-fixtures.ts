import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { TestApp } from '../src/platform/testing/app.ts';

/** Helpers shared by the identity tests: sign-in through the sandbox SMS inbox, device keys. */
export interface SignedIn {
  userId: string;
  accessToken: string;
  refreshToken: string;
  headers: Record<string, string>;
}

export async function latestCode(app: TestApp, phone: string): Promise<string> {
  const code = await app.identity.sandboxSms!.latestCode(phone);
  assert.ok(code, `no SMS to ${phone}`);
  return code;
}

export async function signIn(app: TestApp, phone: string): Promise<SignedIn> {
  const sent = await app.http.inject({
    method: 'POST',
    url: '/v1/auth/sms-codes',
    payload: { phone, purpose: 'login' },
  });
  assert.equal(sent.statusCode, 202, sent.body);
  const login = await app.http.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { phone, code: await latestCode(app, phone) },
  });
  assert.equal(login.statusCode, 200, login.body);
  const body = login.json();
  return {
    userId: body.user.id,
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    headers: { authorization: `Bearer ${body.access_token}` },
  };
}

export interface DeviceKey {
  keyType: 'p256' | 'ed25519';
  privateKey: KeyObject;
  publicKeyBase64: string;
  sign(message: string): string;
}

export function deviceKey(keyType: 'p256' | 'ed25519'): DeviceKey {
  const { privateKey, publicKey } =
    keyType === 'p256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return {
    keyType,
    privateKey,
    publicKeyBase64: (publicKey.export({ format: 'der', type: 'spki' }) as Buffer).toString('base64'),
    sign: (message) =>
      sign(keyType === 'p256' ? 'sha256' : null, Buffer.from(message, 'utf8'), privateKey).toString('base64'),
  };
}

/** The PIN registerDevice sets (when none is set yet) for the device.add step-up. */
export const FIXTURE_PIN = '135792';

/**
 * Registers a raw device key over HTTP (challenge, then proof of possession), with the
 * device.add step-up: `proof`, else the PIN (FIXTURE_PIN is set first when none is).
 */
export async function registerDevice(
  app: TestApp,
  who: SignedIn,
  options: {
    keyType?: 'p256' | 'ed25519';
    kind?: 'phone' | 'browser' | 'wearable';
    userVerification?: boolean;
    proof?: Record<string, unknown>;
  } = {},
): Promise<{ deviceId: string; key: DeviceKey }> {
  if (!options.proof) {
    const pin = await app.http.inject({
      method: 'POST',
      url: `/v1/users/${who.userId}/pin`,
      headers: who.headers,
      payload: { pin: FIXTURE_PIN },
    });
    assert.ok(pin.statusCode === 204 || errorCode(pin) === 'pin_already_set', pin.body);
  }
  const key = deviceKey(options.keyType ?? 'p256');
  const challenge = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${who.userId}/devices/registration-challenges`,
    headers: who.headers,
    payload: {},
  });
  assert.equal(challenge.statusCode, 201, challenge.body);
  const { challenge_id, nonce } = challenge.json();
  const spki = Buffer.from(key.publicKeyBase64, 'base64');
  const message = JSON.stringify([
    'tuyere-device-registration/v1',
    challenge_id,
    who.userId,
    nonce,
    createHash('sha256').update(spki).digest('base64url'),
  ]);
  const created = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${who.userId}/devices`,
    headers: who.headers,
    payload: {
      challenge_id,
      kind: options.kind ?? 'phone',
      name: 'Test device',
      key_type: key.keyType,
      public_key: key.publicKeyBase64,
      signature: key.sign(message),
      user_verification: options.userVerification ?? true,
      proof: options.proof ?? { type: 'pin', pin: FIXTURE_PIN },
    },
  });
  assert.equal(created.statusCode, 201, created.body);
  return { deviceId: created.json().id, key };
}

export async function paymentChallenge(
  app: TestApp,
  who: SignedIn,
  input: { amount: string; payee: string; currency?: string; purpose?: string },
): Promise<{ challenge_id: string; payload: string }> {
  const response = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${who.userId}/payment-challenges`,
    headers: who.headers,
    payload: { currency: 'CNY', purpose: 'transfer', ...input },
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json();
}

export function errorCode(response: { json(): unknown }): string {
  return (response.json() as { error: { code: string } }).error.code;
}
