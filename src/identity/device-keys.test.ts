import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import { AppError } from '../platform/errors.ts';
import { parseRawPublicKey, publicKeyDigest, verifyRawSignature } from './device-keys.ts';

const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed25519 = generateKeyPairSync('ed25519');
const spkiOf = (key: typeof p256.publicKey) => key.export({ format: 'der', type: 'spki' }) as Buffer;

test('public keys are accepted as SPKI DER or as the bare key, and stored as SPKI', () => {
  const p256Spki = spkiOf(p256.publicKey);
  const rawPoint = p256Spki.subarray(-65);
  assert.deepEqual(parseRawPublicKey('p256', p256Spki.toString('base64')).spki, p256Spki);
  assert.deepEqual(parseRawPublicKey('p256', rawPoint.toString('base64')).spki, p256Spki);
  const edSpki = spkiOf(ed25519.publicKey);
  assert.deepEqual(parseRawPublicKey('ed25519', edSpki.subarray(-32).toString('base64')).spki, edSpki);
  assert.match(publicKeyDigest(edSpki), /^[A-Za-z0-9_-]{43}$/);
});

test('a key of the other type or garbage is public_key_invalid', () => {
  const isInvalid = (error: unknown) => error instanceof AppError && error.code === 'public_key_invalid';
  assert.throws(() => parseRawPublicKey('p256', spkiOf(ed25519.publicKey).toString('base64')), isInvalid);
  assert.throws(() => parseRawPublicKey('ed25519', spkiOf(p256.publicKey).toString('base64')), isInvalid);
  assert.throws(() => parseRawPublicKey('p256', Buffer.from('not a key').toString('base64')), isInvalid);
});

test('signatures verify over the exact message: P-256 as DER or r||s, and Ed25519', () => {
  const message = '["tuyere-payment-challenge/v1","x"]';
  const p256Spki = spkiOf(p256.publicKey);
  const der = sign('sha256', Buffer.from(message), p256.privateKey).toString('base64');
  const p1363 = sign('sha256', Buffer.from(message), { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
  assert.ok(verifyRawSignature('p256', p256Spki, message, der));
  assert.ok(verifyRawSignature('p256', p256Spki, message, p1363.toString('base64')));
  assert.ok(!verifyRawSignature('p256', p256Spki, `${message} `, der));
  const edSpki = spkiOf(ed25519.publicKey);
  const edSignature = sign(null, Buffer.from(message), ed25519.privateKey).toString('base64');
  assert.ok(verifyRawSignature('ed25519', edSpki, message, edSignature));
  assert.ok(!verifyRawSignature('ed25519', edSpki, 'another message', edSignature));
  assert.ok(!verifyRawSignature('ed25519', edSpki, message, ''));
});
