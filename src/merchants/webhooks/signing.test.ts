import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { AppError } from '../../platform/errors.ts';
import {
  hasValidSignature,
  liveSecrets,
  newWebhookSecret,
  secretKey,
  signature,
  signedHeaders,
} from './signing.ts';

const counting = (start: number) => {
  let next = start;
  return { bytes: (n: number) => Uint8Array.from({ length: n }, () => next++ % 256) };
};

// Verifies with the official library at the message's own time (its tolerance is 5 minutes).
function officialVerify(secret: string, body: string, headers: Record<string, string>): unknown {
  const realNow = Date.now;
  Date.now = () => Number(headers['webhook-timestamp']) * 1000;
  try {
    return new Webhook(secret).verify(body, headers);
  } finally {
    Date.now = realNow;
  }
}

test('a secret is whsec_ and 32 random bytes in base64', () => {
  const secret = newWebhookSecret(counting(7));
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(secretKey(secret).length, 32);
  assert.equal(secretKey(secret)[0], 7);
  assert.throws(
    () => secretKey('sk_not_a_secret'),
    (e) => e instanceof AppError && e.code === 'webhook_secret_invalid',
  );
});

test('signatures match the official standardwebhooks signer and verifier', () => {
  const secret = newWebhookSecret(counting(1));
  const at = new Date('2026-11-29T12:00:00.900Z');
  const body = JSON.stringify({ type: 'order.paid', timestamp: at.toISOString(), data: { amount: '100' } });
  const id = 'msg_2a7f';
  assert.equal(
    signature(secret, id, Math.floor(at.getTime() / 1000), body),
    new Webhook(secret).sign(id, at, body),
  );
  const headers = signedHeaders([secret], id, at, body);
  assert.equal(headers['webhook-timestamp'], String(Math.floor(at.getTime() / 1000)));
  assert.deepEqual(officialVerify(secret, body, headers), JSON.parse(body));
  // One byte changed in the body, or another secret: the official library refuses it.
  assert.throws(() => officialVerify(secret, body.replace('100', '101'), headers));
  assert.throws(() => officialVerify(newWebhookSecret(counting(2)), body, headers));
});

test('during a rotation overlap both secrets sign, and either verifies with the official library', () => {
  const oldSecret = newWebhookSecret(counting(10));
  const newSecret = newWebhookSecret(counting(20));
  const endpoint = {
    secret: newSecret,
    previous_secret: oldSecret,
    previous_secret_expires_at: new Date('2026-11-30T00:00:00Z'),
  };
  const during = new Date('2026-11-29T23:59:59Z');
  assert.deepEqual(liveSecrets(endpoint, during), [newSecret, oldSecret]);
  const body = '{"type":"order.closed","timestamp":"2026-11-29T23:59:59.000Z","data":{}}';
  const headers = signedHeaders(liveSecrets(endpoint, during), 'evt', during, body);
  assert.equal(headers['webhook-signature'].split(' ').length, 2);
  assert.ok(officialVerify(oldSecret, body, headers));
  assert.ok(officialVerify(newSecret, body, headers));
  const seconds = Number(headers['webhook-timestamp']);
  assert.ok(hasValidSignature(oldSecret, 'evt', seconds, body, headers['webhook-signature']));

  // At the end of the overlap the old secret stops signing.
  const after = new Date('2026-11-30T00:00:00Z');
  assert.deepEqual(liveSecrets(endpoint, after), [newSecret]);
  const later = signedHeaders(liveSecrets(endpoint, after), 'evt', after, body);
  assert.ok(officialVerify(newSecret, body, later));
  assert.throws(() => officialVerify(oldSecret, body, later));
});
