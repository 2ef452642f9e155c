import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { errorCode } from './identity-fixtures.ts';

/** Merchants over HTTP: accounts, the API-key lifecycle, key authentication and the audit trail. */
let app: TestApp;
before(async () => {
  app = await createTestApp();
});
after(() => app.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function createMerchant(name: string): Promise<string> {
  const created = await app.http.inject({
    method: 'POST',
    url: '/v1/operator/merchants',
    headers: app.operatorHeaders,
    payload: { name },
  });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.json().status, 'active');
  return created.json().id;
}

async function createKey(merchantId: string, scopes: string[], headers = app.operatorHeaders) {
  const response = await app.http.inject({
    method: 'POST',
    url: `/v1/merchants/${merchantId}/api-keys`,
    headers,
    payload: { name: 'till', scopes },
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json() as { api_key: string; key: { id: string; prefix: string; scopes: string[] } };
}

test('a key works until rotated or revoked; every step is in the audit log', async () => {
  const merchantId = await createMerchant('Corner Shop');
  const first = await createKey(merchantId, ['keys:manage', 'payments:read']);
  assert.match(first.api_key, /^tym_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$/);
  assert.ok(first.api_key.includes(first.key.prefix));

  const profile = await app.http.inject({
    method: 'GET',
    url: `/v1/merchants/${merchantId}`,
    headers: bearer(first.api_key),
  });
  assert.equal(profile.statusCode, 200, profile.body);
  assert.equal(profile.json().name, 'Corner Shop');
  const listed = await app.http.inject({
    method: 'GET',
    url: `/v1/merchants/${merchantId}/api-keys`,
    headers: bearer(first.api_key),
  });
  assert.equal(listed.statusCode, 200, listed.body);
  assert.deepEqual(
    listed.json().api_keys.map((k: { id: string }) => k.id),
    [first.key.id],
  );
  // The secret is the last 43 characters (it may itself contain '_', so no split('_')).
  assert.ok(!listed.body.includes(first.api_key.slice(-43)), 'the secret is never listed');

  // The merchant rotates its own key: the old one stops at once, the new one has the same scopes.
  const rotated = await app.http.inject({
    method: 'POST',
    url: `/v1/api-keys/${first.key.id}/rotate`,
    headers: bearer(first.api_key),
    payload: {},
  });
  assert.equal(rotated.statusCode, 201, rotated.body);
  const second = rotated.json() as { api_key: string; key: { id: string; scopes: string[] } };
  assert.deepEqual(second.key.scopes, first.key.scopes);
  const old = await app.http.inject({
    method: 'GET',
    url: `/v1/merchants/${merchantId}`,
    headers: bearer(first.api_key),
  });
  assert.equal(old.statusCode, 401);
  assert.equal(errorCode(old), 'api_key_invalid');
  const again = await app.http.inject({
    method: 'POST',
    url: `/v1/api-keys/${first.key.id}/rotate`,
    headers: app.operatorHeaders,
    payload: {},
  });
  assert.equal(again.statusCode, 404);
  assert.equal(errorCode(again), 'api_key_not_found');

  const revoked = await app.http.inject({
    method: 'DELETE',
    url: `/v1/api-keys/${second.key.id}`,
    headers: bearer(second.api_key),
  });
  assert.equal(revoked.statusCode, 200, revoked.body);
  assert.ok(revoked.json().revoked_at);
  const afterRevoke = await app.http.inject({
    method: 'GET',
    url: `/v1/merchants/${merchantId}`,
    headers: bearer(second.api_key),
  });
  assert.equal(afterRevoke.statusCode, 401);
  assert.equal(errorCode(afterRevoke), 'api_key_invalid');

  const audit = await app.http.inject({
    method: 'GET',
    url: `/v1/audit?subject=merchant:${merchantId}`,
    headers: app.operatorHeaders,
  });
  assert.equal(audit.statusCode, 200, audit.body);
  const entries = audit.json().entries as Array<{
    actor: string;
    action: string;
    details: Record<string, unknown>;
  }>;
  assert.deepEqual(
    entries.map((e) => [e.action, e.actor]),
    [
      ['merchant.created', 'operator:root'],
      ['api_key.created', 'operator:root'],
      ['api_key.rotated', `merchant:${merchantId}`],
      ['api_key.revoked', `merchant:${merchantId}`],
    ],
  );
  assert.deepEqual(entries[2]!.details, { key_id: first.key.id, new_key_id: second.key.id });
  const chain = await app.identity.verifyAuditChain();
  assert.ok(chain.ok, chain.violations.join('\n'));
});

test('malformed and unknown keys are refused; a suspended merchant cannot authenticate', async () => {
  const merchantId = await createMerchant('Night Market');
  const { api_key } = await createKey(merchantId, ['payments:read']);
  // tym_<prefix: 12 characters>_<secret: 43>; change one character of either part.
  const changedAt = (at: number) =>
    `${api_key.slice(0, at)}${api_key[at] === 'A' ? 'B' : 'A'}${api_key.slice(at + 1)}`;
  for (const presented of [
    'tym_short',
    changedAt(4), // an unknown prefix
    changedAt(30), // the right prefix, a wrong secret
  ]) {
    const response = await app.http.inject({
      method: 'GET',
      url: `/v1/merchants/${merchantId}`,
      headers: bearer(presented),
    });
    assert.equal(response.statusCode, 401, presented);
    assert.equal(errorCode(response), 'api_key_invalid');
  }
  // No route suspends a merchant yet; the merchants module's own test sets the status directly.
  await app.db.query("UPDATE merchants_merchants SET status = 'suspended' WHERE id = $1", [merchantId]);
  const suspended = await app.http.inject({
    method: 'GET',
    url: `/v1/merchants/${merchantId}`,
    headers: bearer(api_key),
  });
  assert.equal(suspended.statusCode, 401);
  assert.equal(errorCode(suspended), 'merchant_suspended');
});

test('a merchant reaches only its own account, and only with the scope a route needs', async () => {
  const mine = await createMerchant('Mine');
  const theirs = await createMerchant('Theirs');
  const { api_key } = await createKey(mine, ['payments:read']);
  const other = await app.http.inject({
    method: 'GET',
    url: `/v1/merchants/${theirs}`,
    headers: bearer(api_key),
  });
  assert.equal(other.statusCode, 404);
  const keys = await app.http.inject({
    method: 'POST',
    url: `/v1/merchants/${mine}/api-keys`,
    headers: bearer(api_key),
    payload: { name: 'more', scopes: ['keys:manage'] },
  });
  assert.equal(keys.statusCode, 403);
  assert.equal(errorCode(keys), 'insufficient_scope');
});

test('attack: a key holding only keys:manage cannot mint a broader key, nor rotate one to learn its secret', async () => {
  const merchantId = await createMerchant('Escalation Deli');
  const manager = await createKey(merchantId, ['keys:manage']);
  const payments = await createKey(merchantId, ['payments:read', 'payments:write']);
  const listKeys = async () =>
    (
      await app.http.inject({
        method: 'GET',
        url: `/v1/merchants/${merchantId}/api-keys`,
        headers: app.operatorHeaders,
      })
    ).json().api_keys as Array<{ id: string; revoked_at: string | null }>;
  const before = await listKeys();

  const mint = await app.http.inject({
    method: 'POST',
    url: `/v1/merchants/${merchantId}/api-keys`,
    headers: bearer(manager.api_key),
    payload: {
      name: 'everything',
      scopes: ['payments:read', 'payments:write', 'refunds:write', 'keys:manage'],
    },
  });
  assert.equal(mint.statusCode, 403, mint.body);
  assert.equal(errorCode(mint), 'scope_not_held');
  assert.deepEqual(mint.json().error.details.missing, ['payments:read', 'payments:write', 'refunds:write']);

  const rotate = await app.http.inject({
    method: 'POST',
    url: `/v1/api-keys/${payments.key.id}/rotate`,
    headers: bearer(manager.api_key),
    payload: {},
  });
  assert.equal(rotate.statusCode, 403, rotate.body);
  assert.equal(errorCode(rotate), 'scope_not_held');
  assert.ok(!rotate.body.includes('tym_'), 'no secret in the refusal');

  // Nothing changed: no new key, the payments key still works.
  assert.deepEqual(await listKeys(), before);
  const stillWorks = await app.http.inject({
    method: 'GET',
    url: `/v1/merchants/${merchantId}`,
    headers: bearer(payments.api_key),
  });
  assert.equal(stillWorks.statusCode, 200, stillWorks.body);

  // Within its own scopes a managing key may still act: a keys:manage key mints keys:manage,
  // and rotates itself.
  const same = await app.http.inject({
    method: 'POST',
    url: `/v1/merchants/${merchantId}/api-keys`,
    headers: bearer(manager.api_key),
    payload: { name: 'deputy', scopes: ['keys:manage'] },
  });
  assert.equal(same.statusCode, 201, same.body);
  const self = await app.http.inject({
    method: 'POST',
    url: `/v1/api-keys/${manager.key.id}/rotate`,
    headers: bearer(manager.api_key),
    payload: {},
  });
  assert.equal(self.statusCode, 201, self.body);
});
