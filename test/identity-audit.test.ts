import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { verifyAuditChain } from '../src/identity/index.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { registerDevice, signIn } from './identity-fixtures.ts';

let app: TestApp;
before(async () => {
  app = await createTestApp();
});
after(() => app.close());

test('logins, device changes and operator actions land in a verifiable hash chain', async () => {
  const alice = await signIn(app, '13800000401');
  const { deviceId } = await registerDevice(app, alice);
  await app.http.inject({
    method: 'POST',
    url: `/v1/devices/${deviceId}/disable`,
    headers: app.operatorHeaders,
    payload: { reason: 'reported lost' },
  });
  const audit = await app.http.inject({
    method: 'GET',
    url: '/v1/audit?limit=50',
    headers: app.operatorHeaders,
  });
  assert.equal(audit.statusCode, 200, audit.body);
  const actions = audit.json().entries.map((e: { action: string }) => e.action);
  for (const action of ['user.signed_up', 'session.login', 'device.registered', 'device.disabled']) {
    assert.ok(actions.includes(action), `${action} missing from ${actions}`);
  }
  const disabled = audit.json().entries.find((e: { action: string }) => e.action === 'device.disabled');
  assert.equal(disabled.actor, 'operator:root');
  const report = await verifyAuditChain(app.db);
  assert.ok(report.ok, report.violations.join('\n'));
  assert.equal(report.checked, audit.json().entries.length);
});

test('the database refuses to update, delete or truncate audit rows', async () => {
  await assert.rejects(
    app.db.query("UPDATE identity_audit_log SET actor = 'someone' WHERE seq = 1"),
    /append-only/,
  );
  await assert.rejects(app.db.query('DELETE FROM identity_audit_log WHERE seq = 1'), /append-only/);
  await assert.rejects(app.db.query('TRUNCATE identity_audit_log'), /append-only/);
});

test('tampering that bypasses the triggers is caught by verifyAuditChain', async () => {
  await app.db.transaction(async (tx) => {
    await tx.query('ALTER TABLE identity_audit_log DISABLE TRIGGER identity_audit_log_no_update_delete');
    await tx.query('UPDATE identity_audit_log SET details = \'{"forged": true}\' WHERE seq = 2');
    await tx.query('ALTER TABLE identity_audit_log ENABLE TRIGGER identity_audit_log_no_update_delete');
  });
  const report = await verifyAuditChain(app.db);
  assert.ok(!report.ok);
  assert.match(report.violations.join('\n'), /seq 2: content does not match its hash/);
});
