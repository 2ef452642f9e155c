import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../modules.ts';
import { systemClock } from '../platform/clock.ts';
import { ConfigError } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import { AppError } from '../platform/errors.ts';
import { createLogger } from '../platform/log.ts';
import { startTestGateway } from '../platform/testing/gateway-server.ts';
import { identityProviders } from './providers.ts';
import { HttpRealNameVerifier, parseOutcome, SandboxRealNameVerifier } from './realname-verifier.ts';
import { HttpSmsSender, SandboxSmsSender } from './sms-sender.ts';

const log = createLogger({ level: 'silent' });
const noDatabase = {} as Database;

test('the SMS gateway adapter posts a signed message; a gateway fault is sms_gateway_unavailable (503)', async () => {
  let status = 200;
  const gateway = await startTestGateway({ secret: 'sms-secret', reply: () => ({ status, body: {} }) });
  try {
    const sender = new HttpSmsSender(
      { url: gateway.url, secret: 'sms-secret', timeoutMs: 2000 },
      systemClock,
      log,
    );
    await sender.send({ phone: '13800000001', body: 'Your code is 123456' });
    const [request] = gateway.requests;
    assert.equal(request!.signed, true);
    assert.equal((request!.body as { phone: string }).phone, '13800000001');
    assert.match((request!.body as { message_id: string }).message_id, /^[0-9a-f-]{36}$/);

    status = 500;
    await assert.rejects(
      sender.send({ phone: '13800000001', body: 'x' }),
      (error: unknown) =>
        error instanceof AppError && error.kind === 'unavailable' && error.code === 'sms_gateway_unavailable',
    );
    const forged = new HttpSmsSender(
      { url: gateway.url, secret: 'wrong', timeoutMs: 2000 },
      systemClock,
      log,
    );
    await assert.rejects(forged.send({ phone: '13800000001', body: 'x' }), /could not be sent/);
  } finally {
    await gateway.close();
  }
});

test('the real-name gateway adapter maps answers to outcomes and every fault to unavailable', async () => {
  let answer: { status: number; body?: unknown; delayMs?: number } = {
    status: 200,
    body: { status: 'matched', sources: 5 },
  };
  const gateway = await startTestGateway({ secret: 'rn', reply: () => answer });
  try {
    const verifier = new HttpRealNameVerifier({ url: gateway.url, secret: 'rn', timeoutMs: 300 }, log);
    const ask = () => verifier.verify({ name: '张丽', idNumber: '110101199003071234', requestedClass: 3 });
    assert.deepEqual(await ask(), { status: 'matched', sources: 5 });
    assert.deepEqual(gateway.requests[0]!.body, {
      name: '张丽',
      id_number: '110101199003071234',
      requested_class: 3,
    });
    answer = { status: 200, body: { status: 'name_mismatch' } };
    assert.deepEqual(await ask(), { status: 'name_mismatch' });
    for (const fault of [
      { status: 503, body: {} },
      { status: 200, body: { status: 'matched' } },
      { status: 200, body: { status: 'maybe' } },
      { status: 200, body: {}, delayMs: 800 },
    ]) {
      answer = fault;
      assert.deepEqual(await ask(), { status: 'unavailable' }, JSON.stringify(fault));
    }
  } finally {
    await gateway.close();
  }
  assert.equal(parseOutcome(null), undefined);
  assert.deepEqual(parseOutcome({ status: 'id_not_found' }), { status: 'id_not_found' });
});

test('providers: sandbox by default in development, the gateways in production, sandbox only when asked', () => {
  const deps = { db: noDatabase, clock: systemClock, log };
  const development = identityProviders(loadConfig({}), deps);
  assert.ok(development.sms instanceof SandboxSmsSender);
  assert.ok(development.verifier instanceof SandboxRealNameVerifier);

  const gateways = {
    TUYERE_SMS_GATEWAY_URL: 'https://sms.example/send',
    TUYERE_SMS_GATEWAY_SECRET: 's',
    TUYERE_REALNAME_GATEWAY_URL: 'https://rn.example/check',
    TUYERE_REALNAME_GATEWAY_SECRET: 'r',
  };
  const production = identityProviders(loadConfig({}, { profile: 'production', ...config(gateways) }), deps);
  assert.ok(production.sms instanceof HttpSmsSender);
  assert.ok(production.verifier instanceof HttpRealNameVerifier);

  // Production with no gateway configured never falls back to the sandbox.
  assert.throws(() => identityProviders(loadConfig({}, { profile: 'production' }), deps), ConfigError);
  const staging = identityProviders(
    loadConfig({}, { profile: 'production', smsProvider: 'sandbox', realNameProvider: 'sandbox' }),
    deps,
  );
  assert.ok(staging.sms instanceof SandboxSmsSender);
  assert.ok(staging.verifier instanceof SandboxRealNameVerifier);
});

function config(env: Record<string, string>) {
  return {
    smsGatewayUrl: env.TUYERE_SMS_GATEWAY_URL!,
    smsGatewaySecret: env.TUYERE_SMS_GATEWAY_SECRET!,
    realNameGatewayUrl: env.TUYERE_REALNAME_GATEWAY_URL!,
    realNameGatewaySecret: env.TUYERE_REALNAME_GATEWAY_SECRET!,
  };
}
