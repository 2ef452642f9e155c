import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decryptField, encryptField, encryptFieldLegacyForTesting, parseKeyring } from './id-encryption.ts';

const key = () => randomBytes(32).toString('base64');
const ALICE = '0190a1b2-0000-7000-8000-000000000001';
const MALLORY = '0190a1b2-0000-7000-8000-000000000002';

test('new writes use the newest key and old ciphertexts still decrypt after rotation', () => {
  const k1 = key();
  const old = parseKeyring(`k1:${k1}`);
  const sealed = encryptField(old, '110101199003071234', ALICE);
  assert.equal(sealed.keyId, 'k1');
  assert.equal(sealed.format, 2);
  assert.ok(!sealed.ciphertext.toString('latin1').includes('110101199003071234'));
  const rotated = parseKeyring(`k2:${key()},k1:${k1}`);
  assert.equal(decryptField(rotated, sealed, ALICE), '110101199003071234');
  assert.equal(encryptField(rotated, 'x', ALICE).keyId, 'k2');
});

test('a tampered ciphertext, a swapped key id or a downgraded format is refused', () => {
  const ring = parseKeyring(`a:${key()},b:${key()}`);
  const sealed = encryptField(ring, '110101199003071234', ALICE);
  const tampered = Buffer.from(sealed.ciphertext);
  tampered[14]! ^= 1;
  assert.throws(() => decryptField(ring, { ...sealed, ciphertext: tampered }, ALICE));
  assert.throws(() => decryptField(ring, { ...sealed, keyId: 'b' }, ALICE));
  assert.throws(() => decryptField(ring, { ...sealed, format: 1 }, ALICE));
  assert.throws(() => decryptField(ring, { ...sealed, keyId: 'missing' }, ALICE), /not in the keyring/);
});

test('attack: a ciphertext copied onto another user does not decrypt there', () => {
  const ring = parseKeyring(`a:${key()}`);
  const alices = encryptField(ring, '110101199003071234', ALICE);
  assert.throws(() => decryptField(ring, alices, MALLORY));
});

test('legacy (format 1) ciphertexts, bound to the key id only, still decrypt', () => {
  const ring = parseKeyring(`a:${key()}`);
  const legacy = encryptFieldLegacyForTesting(ring, '110101199003071234');
  assert.equal(legacy.format, 1);
  assert.equal(decryptField(ring, legacy, ALICE), '110101199003071234');
});

test('bad keyrings are rejected with a useful message', () => {
  assert.throws(() => parseKeyring(''), /no keys/);
  assert.throws(() => parseKeyring('k1:c2hvcnQ='), /32 bytes/);
  assert.throws(() => parseKeyring('nocolon'), /keyId:base64key/);
});
