import assert from 'node:assert/strict';
import { test } from 'node:test';
import { luhnValid, normalizePan } from './cards.ts';
import { testPan } from './testing.ts';
import { signWebhook, verifyWebhook, WebhookVerifyError } from './webhook.ts';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const now = new Date('2026-03-01T08:00:00Z');
const body = '{"id":"evt_1","type":"operation.succeeded"}';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof WebhookVerifyError);
    return error.code;
  }
  return 'accepted';
}

test('a signed webhook verifies over the exact body', () => {
  const headers = signWebhook(secret, 'msg_1', now, body);
  assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
  assert.equal(verifyWebhook(secret, { ...headers }, body, now), 'msg_1');
  assert.equal(verifyWebhook(secret, { ...headers }, Buffer.from(body), now), 'msg_1');
});

test('Standard Webhooks reference vector verifies', () => {
  // From the Standard Webhooks spec's examples.
  const headers = {
    'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    'webhook-timestamp': '1614265330',
    'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };
  const payload = '{"test": 2432232314}';
  assert.equal(
    verifyWebhook(secret, headers, payload, new Date(1614265330_000)),
    'msg_p5jXN8AQM9LWM0D4loKWxJek',
  );
});

test('tampered body, wrong secret, other id and missing headers are rejected', () => {
  const headers = signWebhook(secret, 'msg_1', now, body);
  assert.equal(
    code(() => verifyWebhook(secret, headers, body.replace('succeeded', 'declined'), now)),
    'signature_invalid',
  );
  assert.equal(
    code(() => verifyWebhook('whsec_b3RoZXI=', headers, body, now)),
    'signature_invalid',
  );
  assert.equal(
    code(() => verifyWebhook(secret, { ...headers, 'webhook-id': 'msg_2' }, body, now)),
    'signature_invalid',
  );
  assert.equal(
    code(() => verifyWebhook(secret, { ...headers, 'webhook-signature': 'v2,abc' }, body, now)),
    'signature_invalid',
  );
  assert.equal(
    code(() => verifyWebhook(secret, { 'webhook-id': 'msg_1' }, body, now)),
    'missing_headers',
  );
});

test('timestamps beyond 5 minutes either way are stale; within tolerance pass', () => {
  const headers = signWebhook(secret, 'msg_1', now, body);
  const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);
  assert.equal(
    code(() => verifyWebhook(secret, headers, body, later(299))),
    'accepted',
  );
  assert.equal(
    code(() => verifyWebhook(secret, headers, body, later(301))),
    'timestamp_stale',
  );
  assert.equal(
    code(() => verifyWebhook(secret, headers, body, later(-301))),
    'timestamp_stale',
  );
});

test('any one of several signatures may match (secret rotation)', () => {
  const headers = signWebhook(secret, 'msg_1', now, body);
  const rotated = { ...headers, 'webhook-signature': `v1,AAAA ${headers['webhook-signature']}` };
  assert.equal(verifyWebhook(secret, rotated, body, now), 'msg_1');
});

test('Luhn: documented test cards pass, one changed digit fails', () => {
  for (const last4 of ['0001', '0002', '0003', '0010', '0015']) {
    const pan = testPan(last4);
    assert.ok(luhnValid(pan), pan);
    assert.ok(pan.endsWith(last4));
    const broken = `${pan.slice(0, 3)}${(Number(pan[3]) + 1) % 10}${pan.slice(4)}`;
    assert.equal(luhnValid(broken), false);
  }
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(normalizePan('4111 1111-1111 1111'), '4111111111111111');
  assert.equal(normalizePan('4111111111111112'), null);
  assert.equal(normalizePan('41111'), null);
  assert.equal(normalizePan('4111x11111111111'), null);
});
