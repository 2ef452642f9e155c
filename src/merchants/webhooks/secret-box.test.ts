import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cryptoRandom } from '../../platform/ids.ts';
import { openSecret, parseSecretBoxKey, sealSecret } from './secret-box.ts';

const key = parseSecretBoxKey(Buffer.alloc(32, 7).toString('base64url'));
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

test('a sealed secret opens with its key and endpoint, and shows nothing of the secret', () => {
  const sealed = sealSecret(key, secret, 'endpoint-a', cryptoRandom);
  assert.match(sealed, /^v1:/);
  assert.ok(!sealed.includes(secret.slice(6)));
  assert.equal(openSecret(key, sealed, 'endpoint-a'), secret);
  assert.notEqual(sealSecret(key, secret, 'endpoint-a', cryptoRandom), sealed, 'a fresh IV each time');
});

test('another endpoint, another key or a flipped byte does not open', () => {
  const sealed = sealSecret(key, secret, 'endpoint-a', cryptoRandom);
  assert.throws(() => openSecret(key, sealed, 'endpoint-b'));
  assert.throws(() =>
    openSecret(parseSecretBoxKey(Buffer.alloc(32, 8).toString('base64')), sealed, 'endpoint-a'),
  );
  const bytes = Buffer.from(sealed.slice(3), 'base64');
  bytes[20] = bytes[20]! ^ 1;
  assert.throws(() => openSecret(key, `v1:${bytes.toString('base64')}`, 'endpoint-a'));
  assert.throws(() => parseSecretBoxKey('too-short'));
});
