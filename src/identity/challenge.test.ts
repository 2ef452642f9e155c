import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  canonicalDeviceRegistration,
  canonicalPaymentChallenge,
  challengeMatches,
  challengeServes,
  webauthnChallengeFor,
} from './challenge.ts';

const fields = {
  challengeId: '01234567-89ab-7def-8123-456789abcdef',
  userId: 'fedcba98-7654-7321-8fed-cba987654321',
  amount: 1250n,
  currency: 'CNY',
  payee: 'merchant:m1',
  purpose: 'order:42',
  nonce: 'n0nce',
  expiresAt: new Date('2026-01-01T00:02:00.000Z'),
};

test('the payment challenge is a JSON array binding every field in a fixed order', () => {
  assert.equal(
    canonicalPaymentChallenge(fields),
    '["tuyere-payment-challenge/v1","01234567-89ab-7def-8123-456789abcdef","fedcba98-7654-7321-8fed-cba987654321","1250","CNY","merchant:m1","order:42","n0nce","2026-01-01T00:02:00.000Z"]',
  );
  // Field order does not depend on how the object was written.
  const shuffled = Object.fromEntries(Object.entries(fields).reverse()) as typeof fields;
  assert.equal(canonicalPaymentChallenge(shuffled), canonicalPaymentChallenge(fields));
});

test('changing any bound field changes the signed bytes', () => {
  const base = canonicalPaymentChallenge(fields);
  const changes: Partial<typeof fields>[] = [
    { challengeId: '11234567-89ab-7def-8123-456789abcdef' },
    { userId: 'aedcba98-7654-7321-8fed-cba987654321' },
    { amount: 1251n },
    { currency: 'USD' },
    { payee: 'merchant:m2' },
    { purpose: 'order:43' },
    { nonce: 'other' },
    { expiresAt: new Date('2026-01-01T00:02:00.001Z') },
  ];
  for (const change of changes) assert.notEqual(canonicalPaymentChallenge({ ...fields, ...change }), base);
});

test('a payee or purpose cannot smuggle a field boundary', () => {
  const a = canonicalPaymentChallenge({ ...fields, payee: 'merchant:m1","order:42', purpose: '' });
  const b = canonicalPaymentChallenge({ ...fields, payee: 'merchant:m1', purpose: 'order:42' });
  assert.notEqual(a, b);
});

test('the device registration message names its version, challenge, user, nonce and key', () => {
  assert.equal(
    canonicalDeviceRegistration({ challengeId: 'c', userId: 'u', nonce: 'n', publicKeyDigest: 'k' }),
    '["tuyere-device-registration/v1","c","u","n","k"]',
  );
});

test('a WebAuthn challenge is the base64url SHA-256 of the canonical payload', () => {
  assert.equal(webauthnChallengeFor(''), '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU');
  assert.notEqual(webauthnChallengeFor('a'), webauthnChallengeFor('b'));
});

test('a challenge matches only the payment it was issued for', () => {
  const payment = { userId: fields.userId, amount: 1250n, currency: 'CNY', payee: 'merchant:m1' };
  assert.ok(challengeMatches(fields, payment));
  assert.ok(!challengeMatches(fields, { ...payment, amount: 1249n }));
  assert.ok(!challengeMatches(fields, { ...payment, currency: 'USD' }));
  assert.ok(!challengeMatches(fields, { ...payment, payee: 'user:x' }));
  assert.ok(!challengeMatches(fields, { ...payment, userId: 'someone-else' }));
});

test('a step-up challenge serves its own action only, and a step-up action only its own challenge', () => {
  assert.equal(challengeServes('withdraw', 'withdraw'), true);
  assert.equal(challengeServes('device.add', 'device.add'), true);
  assert.equal(challengeServes('device.add', 'withdraw'), false);
  assert.equal(challengeServes('top_up', 'withdraw'), false);
  assert.equal(challengeServes('order:42', 'card.bind'), false);
  assert.equal(challengeServes('withdraw', undefined), false);
  assert.equal(challengeServes('order:42', undefined), true);
  assert.equal(challengeServes('transfer', undefined), true);
});
