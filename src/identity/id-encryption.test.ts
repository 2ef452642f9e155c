import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decryptField, encryptField, parseKeyring } from './id-encryption.ts';

const key = () => randomBytes(32).toString('base64');

test('new writes use the newest key and old ciphertexts still decrypt after rotation', () => {
  const k1 = key();
  const old = parseKeyring(`k1:${k1}`);
  const sealed = encryptField(old, '110101199003071234');
  assert.equal(sealed.keyId, 'k1');
  assert.ok(!sealed.ciphertext.toString('latin1').includes('110101199003071234'));
  const rotated = parseKeyring(`k2:${key()},k1:${k1}`);
  assert.equal(decryptField(rotated, sealed.keyId, sealed.ciphertext), '110101199003071234');
  assert.equal(encryptField(rotated, 'x').keyId, 'k2');
});

test('a tampered ciphertext or a swapped key id is refused', () => {
  const ring = parseKeyring(`a:${key()},b:${key()}`);
  const sealed = encryptField(ring, '110101199003071234');
  const tampered = Buffer.from(sealed.ciphertext);
  tampered[14]! ^= 1;
  assert.throws(() => decryptField(ring, sealed.keyId, tampered));
  assert.throws(() => decryptField(ring, 'b', sealed.ciphertext));
  assert.throws(() => decryptField(ring, 'missing', sealed.ciphertext), /not in the keyring/);
});

test('bad keyrings are rejected with a useful message', () => {
  assert.throws(() => parseKeyring(''), /no keys/);
  assert.throws(() => parseKeyring('k1:c2hvcnQ='), /32 bytes/);
  assert.throws(() => parseKeyring('nocolon'), /keyId:base64key/);
});
