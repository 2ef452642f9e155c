import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEMO_PEOPLE, seedIdentityDemo } from '../src/identity/demo.ts';
import { verifyAuditChain } from '../src/identity/index.ts';
import type { DemoWorld } from '../src/platform/module.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { signIn } from './identity-fixtures.ts';

let app: TestApp;
before(async () => {
  app = await createTestApp();
});
after(() => app.close());

test('the demo seeds Alice (III), Bob (II) and staff, twice without change, and they can sign in', async () => {
  const seed = async () => {
    const world: DemoWorld = { people: {}, logins: [], notes: [], cleanups: [] };
    await seedIdentityDemo(app.identity, world);
    return world;
  };
  const first = await seed();
  const second = await seed();
  assert.deepEqual(first, second);
  const alice = await signIn(app, DEMO_PEOPLE.alice.phone);
  const me = await app.http.inject({ method: 'GET', url: '/v1/me', headers: alice.headers });
  assert.equal(me.json().account_class, 'III');
  const bob = await signIn(app, DEMO_PEOPLE.bob.phone);
  assert.equal(
    (await app.http.inject({ method: 'GET', url: '/v1/me', headers: bob.headers })).json().account_class,
    'II',
  );

  await app.http.inject({
    method: 'POST',
    url: '/v1/auth/sms-codes',
    payload: { phone: DEMO_PEOPLE.operator.phone, purpose: 'staff_login' },
  });
  // Staff codes never show in the sandbox inbox, even to the root operator token.
  const inbox = await app.http.inject({
    method: 'GET',
    url: `/v1/sandbox/sms?phone=${DEMO_PEOPLE.operator.phone}`,
    headers: app.operatorHeaders,
  });
  assert.equal(inbox.statusCode, 403);
  assert.equal(inbox.json().error.code, 'staff_inbox_forbidden');
  assert.equal(inbox.json().messages, undefined);
  const code = (await app.identity.sandboxSms!.latestCode(DEMO_PEOPLE.operator.phone))!;
  const staffLogin = await app.http.inject({
    method: 'POST',
    url: '/v1/auth/staff/login',
    payload: { phone: DEMO_PEOPLE.operator.phone, code },
  });
  assert.equal(staffLogin.statusCode, 200, staffLogin.body);
  const audit = await app.http.inject({
    method: 'GET',
    url: '/v1/audit',
    headers: { authorization: `Bearer ${staffLogin.json().access_token}` },
  });
  assert.equal(audit.statusCode, 200);
  assert.ok((await verifyAuditChain(app.db)).ok);
});

test('legacy ID ciphertexts (not bound to a user) are upgraded by reencrypt-ids; a copied ciphertext proves nothing', async () => {
  const { encryptFieldLegacyForTesting } = await import('../src/identity/id-encryption.ts');
  const { idNumberMatches } = await import('../src/identity/users.ts');
  const identity = app.identity;
  const person = async (phone: string) =>
    (
      await app.db.query<{ id: string; id_number_format: number }>(
        'SELECT id, id_number_format FROM identity_users WHERE phone = $1',
        [phone],
      )
    ).rows[0]!;
  const alice = await person(DEMO_PEOPLE.alice.phone);
  const legacy = encryptFieldLegacyForTesting(identity.context.secrets.keyring, DEMO_PEOPLE.alice.idNumber);
  await app.db.query(
    'UPDATE identity_users SET id_number_ciphertext = $2, id_number_key_id = $3, id_number_format = 1 WHERE id = $1',
    [alice.id, legacy.ciphertext, legacy.keyId],
  );
  assert.ok(await idNumberMatches(identity.context, alice.id, DEMO_PEOPLE.alice.idNumber), 'legacy decrypts');
  assert.equal(await identity.reencryptIdNumbers(), 1);
  assert.equal((await person(DEMO_PEOPLE.alice.phone)).id_number_format, 2);
  assert.ok(await idNumberMatches(identity.context, alice.id, DEMO_PEOPLE.alice.idNumber));

  // Someone with write access to the table copies Alice's ciphertext onto Bob's row: it no
  // longer authenticates there, so Alice's ID number cannot pass Bob's PIN-reset check.
  const bob = await person(DEMO_PEOPLE.bob.phone);
  const bobSealed = (
    await app.db.query<{ id_number_ciphertext: Buffer; id_number_key_id: string; id_number_format: number }>(
      'SELECT id_number_ciphertext, id_number_key_id, id_number_format FROM identity_users WHERE id = $1',
      [bob.id],
    )
  ).rows[0]!;
  await app.db.query(
    `UPDATE identity_users SET (id_number_ciphertext, id_number_key_id, id_number_format) =
       (SELECT id_number_ciphertext, id_number_key_id, id_number_format FROM identity_users WHERE id = $2)
     WHERE id = $1`,
    [bob.id, alice.id],
  );
  assert.equal(await idNumberMatches(identity.context, bob.id, DEMO_PEOPLE.alice.idNumber), false);
  await app.db.query(
    'UPDATE identity_users SET id_number_ciphertext = $2, id_number_key_id = $3, id_number_format = $4 WHERE id = $1',
    [bob.id, bobSealed.id_number_ciphertext, bobSealed.id_number_key_id, bobSealed.id_number_format],
  );
  assert.ok(await idNumberMatches(identity.context, bob.id, DEMO_PEOPLE.bob.idNumber), 'restored');
});

test('ID numbers re-encrypt under a newly prepended key and still decrypt', async () => {
  const { Identity } = await import('../src/identity/index.ts');
  const { idNumberMatches } = await import('../src/identity/users.ts');
  const { randomBytes } = await import('node:crypto');
  const oldKey = (await import('node:fs'))
    .readFileSync(`${app.config.dataDir}/secrets/id-encryption-key`, 'utf8')
    .trim();
  const rotated = new Identity({
    db: app.db,
    clock: app.clock,
    log: app.log,
    config: {
      ...app.config,
      idEncryptionKeys: `k2:${randomBytes(32).toString('base64')},local1:${Buffer.from(oldKey, 'base64url').toString('base64')}`,
    },
  });
  const moved = await rotated.reencryptIdNumbers();
  assert.equal(moved, 3); // Alice, Bob and Carol
  assert.equal(await rotated.reencryptIdNumbers(), 0);
  const { rows } = await app.db.query<{ id: string; id_number_key_id: string }>(
    'SELECT id, id_number_key_id FROM identity_users WHERE phone = $1',
    [DEMO_PEOPLE.alice.phone],
  );
  assert.equal(rows[0]!.id_number_key_id, 'k2');
  assert.ok(await idNumberMatches(rotated.context, rows[0]!.id, DEMO_PEOPLE.alice.idNumber));
});
