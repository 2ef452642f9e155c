import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createStaff } from '../src/identity/staff.ts';
import { uuidv7 } from '../src/platform/ids.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { signIn } from './identity-fixtures.ts';

/** Staff and operator tokens: the sandbox inbox, the audit trail of operator-admin actions. */
let app: TestApp;
const staff: Record<string, string> = {};
before(async () => {
  app = await createTestApp();
  for (const [role, phone] of [
    ['operator-read', '13700000101'],
    ['operator-admin', '13700000102'],
  ] as const) {
    const record = await createStaff(app.identity.context, { phone, name: role, roles: [role] }, 'test');
    staff[role] = `Bearer ${await app.identity.issueStaffSessionForTesting(record.id)}`;
  }
});
after(() => app.close());

const json = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
const audit = async (action: string) =>
  (await app.identity.readAudit({ afterSeq: 0n, limit: 500 })).filter((entry) => entry.action === action);

test("attack: operator-read staff reads the sandbox inbox for an operator-admin's phone: 403, nothing shown", async () => {
  await app.http.inject({
    method: 'POST',
    url: '/v1/auth/sms-codes',
    payload: { phone: '13700000102', purpose: 'staff_login' },
  });
  for (const phone of ['13700000102', '13800000201']) {
    const response = await app.http.inject({
      method: 'GET',
      url: `/v1/sandbox/sms?phone=${phone}`,
      headers: { authorization: staff['operator-read']! },
    });
    assert.equal(response.statusCode, 403, response.body);
    assert.equal(response.json().error.code, 'forbidden');
    assert.equal(response.json().messages, undefined);
  }
});

test('attack: even operator-admin never sees a staff code; reading a user inbox is audited', async () => {
  const staffInbox = await app.http.inject({
    method: 'GET',
    url: '/v1/sandbox/sms?phone=13700000102',
    headers: { authorization: staff['operator-admin']! },
  });
  assert.equal(staffInbox.statusCode, 403);
  assert.equal(staffInbox.json().error.code, 'staff_inbox_forbidden');
  assert.equal(staffInbox.json().messages, undefined);

  const alice = await signIn(app, '13800000202');
  const before = (await audit('sandbox.sms_inbox_read')).length;
  const inbox = await app.http.inject({
    method: 'GET',
    url: '/v1/sandbox/sms?phone=13800000202',
    headers: { authorization: staff['operator-admin']! },
  });
  assert.equal(inbox.statusCode, 200, inbox.body);
  const reads = await audit('sandbox.sms_inbox_read');
  assert.equal(reads.length, before + 1);
  assert.equal(reads.at(-1)!.subject, `user:${alice.userId}`);
  assert.match(reads.at(-1)!.actor, /^operator:/);
  assert.doesNotMatch(json(reads), /13800000202/, 'no phone number in the audit trail');
});

test('operator-admin ledger writes are audited before they run, with the route and no body', async () => {
  const id = uuidv7();
  const created = await app.http.inject({
    method: 'POST',
    url: '/v1/ledger/accounts',
    headers: app.operatorHeaders,
    payload: { accounts: [{ id, ledger: 1, code: 1 }] },
  });
  assert.ok(created.statusCode < 500, created.body);
  const [entry] = await audit('ledger.accounts_created');
  assert.ok(entry, 'ledger write audited');
  assert.equal(entry.actor, 'operator:root');
  assert.equal(entry.subject, 'route:POST /v1/ledger/accounts');
  assert.doesNotMatch(json(entry), new RegExp(id), 'the body is not copied into the audit trail');

  // Refused callers leave no audited action: the role check comes first.
  const refused = await app.http.inject({
    method: 'POST',
    url: '/v1/ledger/transfers',
    headers: { authorization: staff['operator-read']! },
    payload: { transfers: [] },
  });
  assert.equal(refused.statusCode, 403);
  assert.equal((await audit('ledger.transfers_created')).length, 0);
});
