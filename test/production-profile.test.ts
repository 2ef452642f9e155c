import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/modules.ts';
import { ConfigError } from '../src/platform/config.ts';
import { createTestDatabase } from '../src/platform/testing/database.ts';
import { startTestGateway } from '../src/platform/testing/gateway-server.ts';
import { hasStackTrace, startServe, tempDataDir, tuyere } from './cli-spawn.ts';

/** What production must be given: every secret, the database, the gateways, the bank. */
const REQUIRED = [
  'DATABASE_URL',
  'TUYERE_ID_ENCRYPTION_KEYS',
  'TUYERE_IDENTITY_HMAC_KEY',
  'TUYERE_PIN_PEPPER',
  'TUYERE_JWT_SIGNING_KEY',
  'TUYERE_SMS_GATEWAY_URL',
  'TUYERE_SMS_GATEWAY_SECRET',
  'TUYERE_REALNAME_GATEWAY_URL',
  'TUYERE_REALNAME_GATEWAY_SECRET',
  'TUYERE_WEBAUTHN_RP_ID',
  'TUYERE_WEBAUTHN_ORIGINS',
  'BANK_URL',
  'BANK_WEBHOOK_SECRET',
  'MERCHANTS_WEBHOOK_SECRET_KEY',
];

test('production without secrets stops with exit code 2, naming every missing variable, no stack trace', () => {
  const result = tuyere(['serve'], { NODE_ENV: 'production', DATABASE_URL: undefined });
  assert.equal(result.code, 2, result.stdout + result.stderr);
  for (const name of REQUIRED) assert.match(result.stderr, new RegExp(`- ${name}\\b`), name);
  assert.ok(!hasStackTrace(result.stderr), result.stderr);
  assert.equal(result.stdout.trim(), '');

  // Only what is missing is named; the sandbox provider makes its gateway unnecessary (staging).
  const some = tuyere(['migrate'], {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://nowhere.invalid/x',
    TUYERE_SMS_PROVIDER: 'sandbox',
    TUYERE_OPERATOR_TOKEN: 'a-root-token',
  });
  assert.equal(some.code, 2);
  assert.doesNotMatch(some.stderr, /- DATABASE_URL\b|TUYERE_SMS_GATEWAY_URL/);
  assert.match(some.stderr, /- TUYERE_REALNAME_GATEWAY_URL/);
  assert.match(some.stderr, /TUYERE_OPERATOR_TOKEN must not be set in production/);
});

test('the production check is part of loading the configuration', () => {
  assert.throws(
    () => loadConfig({ NODE_ENV: 'production' }),
    (error: unknown) =>
      error instanceof ConfigError && REQUIRED.every((name) => error.message.includes(name)),
  );
  assert.equal(loadConfig({ NODE_ENV: 'test' }).profile, 'development');
});

test('production with everything set starts: no sandbox routes, no demo, no root token, no generated secrets; SMS goes out signed', async () => {
  const database = await createTestDatabase({ sources: [] });
  const smsSecret = randomBytes(16).toString('hex');
  const gateway = await startTestGateway({
    secret: smsSecret,
    reply: (request) =>
      request.path === '/realname'
        ? { status: 200, body: { status: 'matched', sources: 5 } }
        : { status: 200 },
  });
  const dataDir = tempDataDir();
  const server = await startServe({
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    TUYERE_DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'warn',
    JOBS_ENABLED: 'false',
    TUYERE_ID_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    TUYERE_IDENTITY_HMAC_KEY: randomBytes(32).toString('base64url'),
    TUYERE_PIN_PEPPER: randomBytes(32).toString('base64url'),
    TUYERE_JWT_SIGNING_KEY: randomBytes(32).toString('base64url'),
    TUYERE_SMS_GATEWAY_URL: `${gateway.url}/sms`,
    TUYERE_SMS_GATEWAY_SECRET: smsSecret,
    TUYERE_REALNAME_GATEWAY_URL: `${gateway.url}/realname`,
    TUYERE_REALNAME_GATEWAY_SECRET: smsSecret,
    TUYERE_WEBAUTHN_RP_ID: 'wallet.example',
    TUYERE_WEBAUTHN_ORIGINS: 'https://wallet.example',
    BANK_URL: `${gateway.url}/bank`,
    BANK_WEBHOOK_SECRET: randomBytes(32).toString('base64url'),
    MERCHANTS_WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
  });
  try {
    assert.match(server.banner, /production profile/);
    // The wallet and the console come first in the banner.
    assert.match(
      server.banner,
      /up in .*\n(Applied \d+ migrations\.\n)?\s+Wallet:\s+http:\S+\/\n\s+Console:\s+http:\S+\/console\n\s+API:/,
    );
    assert.doesNotMatch(server.banner, /Sandbox bank|Demo|Bearer/);
    assert.equal((await fetch(`${server.base}/health`)).status, 200);
    for (const url of ['/v1/sandbox/sms?phone=13800000001', '/v1/sandbox/sms']) {
      const response = await fetch(`${server.base}${url}`);
      assert.equal(response.status, 404, url);
    }
    // There is no root operator token: an unknown bearer is just refused.
    const audit = await fetch(`${server.base}/v1/audit`, {
      headers: { authorization: 'Bearer test-operator-token-0123456789abcdef' },
    });
    assert.equal(audit.status, 401);

    const sent = await fetch(`${server.base}/v1/auth/sms-codes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: '13800000001', purpose: 'login' }),
    });
    assert.equal(sent.status, 202, await sent.text());
    const sms = gateway.requests.filter((request) => request.path === '/sms');
    assert.equal(sms.length, 1);
    assert.equal(sms[0]!.signed, true);
    assert.equal((sms[0]!.body as { phone: string }).phone, '13800000001');

    const count = async (table: string) =>
      Number((await database.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    assert.equal(await count('identity_users'), 0, 'no demo users');
    assert.equal(await count('identity_staff'), 0, 'no demo staff');
    assert.equal(await count('identity_sms_sandbox_outbox'), 0, 'nothing went to the sandbox');
    assert.ok(!existsSync(path.join(dataDir, 'secrets')), 'no secret was generated');
  } finally {
    assert.equal(await server.stop(), 0);
    await gateway.close();
    await database.drop();
  }
});

test('production: `tuyere demo` refuses; `tuyere create-staff` makes the first operator-admin', async () => {
  const database = await createTestDatabase({ sources: [] });
  try {
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
      LOG_LEVEL: 'warn',
      TUYERE_SMS_PROVIDER: 'sandbox',
      TUYERE_REALNAME_PROVIDER: 'sandbox',
      TUYERE_ID_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      TUYERE_IDENTITY_HMAC_KEY: 'h',
      TUYERE_PIN_PEPPER: 'p',
      TUYERE_JWT_SIGNING_KEY: randomBytes(32).toString('base64url'),
      TUYERE_WEBAUTHN_RP_ID: 'wallet.example',
      TUYERE_WEBAUTHN_ORIGINS: 'https://wallet.example',
      BANK_URL: 'http://127.0.0.1:9',
      BANK_WEBHOOK_SECRET: 'w',
      MERCHANTS_WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
    };
    const demo = tuyere(['demo'], env);
    assert.equal(demo.code, 2);
    assert.match(demo.stderr, /never seeded in the production profile/);
    const staff = tuyere(
      [
        'create-staff',
        '--phone',
        '13700000009',
        '--name',
        'First admin',
        '--roles',
        'operator-admin',
        '--json',
      ],
      env,
    );
    assert.equal(staff.code, 0, staff.stderr);
    assert.deepEqual(JSON.parse(staff.stdout.trim().split('\n').at(-1)!).roles, ['operator-admin']);
    const badRole = tuyere(['create-staff', '--phone', '13700000008', '--name', 'X', '--roles', 'root'], env);
    assert.equal(badRole.code, 2);
    assert.match(badRole.stderr, /Unknown role root/);
  } finally {
    await database.drop();
  }
});
