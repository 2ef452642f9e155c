import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type SandboxBank, startSandboxBank } from '../src/bank/index.ts';
import { eventually, testPan } from '../src/bank/testing.ts';
import { makeChineseId } from '../src/identity/chinese-id.ts';
import type { Config } from '../src/modules.ts';
import type { Clock } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';

/**
 * A whole app wired to a real sandox bank over loopback HTTP: the app listens on a free
 * port and the bank posts its signed callbacks there.
 */
export interface WalletWorld {
  app: TestApp;
  bank: SandboxBank;
  baseUrl: string;
  close(): Promise<void>;
}

export const PIN = '135792';
export const SECRET = 'whsec_d2FsbGV0LXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODk=';

export async function startWalletWorld(
  options: { clock?: Clock; config?: Partial<Config>; bankClock?: Clock } = {},
): Promise<WalletWorld> {
  const bank = await startSandboxBank({
    secret: SECRET,
    seed: 'wallet-tests',
    callbackUrl: null,
    callbackRetryDelaysMs: [20, 50, 100],
    hangMs: 5_000,
    clock: options.bankClock,
  });
  const app = await createTestApp({
    clock: options.clock,
    config: {
      bankUrl: bank.url,
      bankWebhookSecret: SECRET,
      bankTimeoutMs: 800,
      walletBankPollAfterMs: 0,
      ...options.config,
    },
  });
  const baseUrl = await app.http.listen({ port: 0, host: '127.0.0.1' });
  bank.setCallbackUrl(`${baseUrl}/v1/bank/callbacks`);
  return {
    app,
    bank,
    baseUrl,
    close: async () => {
      await bank.stop();
      await app.close();
    },
  };
}

let phoneCounter = 0;
export function uniquePhone(): string {
  phoneCounter++;
  return `137${String(process.pid % 10_000).padStart(4, '0')}${String(phoneCounter).padStart(4, '0')}`;
}

export interface TestUser {
  id: string;
  phone: string;
  headers: Record<string, string>;
}

/** A signed-in user with a payment PIN. */
export async function newUser(app: TestApp, phone = uniquePhone()): Promise<TestUser> {
  const session = await app.identity.issueSessionForTesting(phone);
  const headers = { authorization: `Bearer ${session.accessToken}` };
  const pin = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${session.user.id}/pin`,
    headers,
    payload: { pin: PIN },
  });
  assert.ok(pin.statusCode < 300, pin.body);
  return { id: session.user.id, phone, headers };
}

let idCounter = 0;
/**
 * Verifies the user's real name (once) and returns the holder as identity has it: banks bind
 * cards only to their verified holder.
 */
export async function verifiedHolder(
  app: TestApp,
  user: TestUser,
): Promise<{ name: string; idNumber: string }> {
  const known = await app.identity.verifiedHolder(user.id);
  if (known) return known;
  idCounter++;
  const birth = new Date(Date.UTC(1970, 0, 1) + ((process.pid % 3000) * 7 + idCounter) * 86_400_000);
  const idNumber = makeChineseId('110101', birth.toISOString().slice(0, 10).replaceAll('-', ''), '123');
  const verified = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${user.id}/real-name`,
    headers: user.headers,
    payload: { name: '测试用户', id_number: idNumber, requested_class: 'III' },
  });
  assert.equal(verified.statusCode, 200, verified.body);
  return (await app.identity.verifiedHolder(user.id))!;
}

/** Puts a card on the sandbox bank's books in the user's verified name, reserved to their phone. */
export async function issueCard(world: WalletWorld, user: TestUser, pan: string): Promise<void> {
  const holder = await verifiedHolder(world.app, user);
  const issued = await fetch(`${world.bank.url}/sandbox/cards`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pan, phone: user.phone, holder_name: holder.name, id_number: holder.idNumber }),
  });
  assert.equal(issued.status, 201, await issued.text());
}

/**
 * Binds a sandbox card ending in `last4` over HTTP, as the user would: the bank issues it in
 * their verified name, then verify (with the PIN as step-up), SMS code, confirm. Returns the card id.
 */
let binCounter = 0;
export async function bindCard(
  world: WalletWorld,
  user: TestUser,
  last4: string,
  bin?: string,
): Promise<string> {
  const { app } = world;
  // A fresh BIN per binding keeps card numbers unique across users (the bank ties a card to one phone).
  bin ??= `69${String(process.pid % 100).padStart(2, '0')}${String(binCounter++ % 100).padStart(2, '0')}`;
  const pan = testPan(last4, bin);
  await issueCard(world, user, pan);
  const started = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${user.id}/cards/verifications`,
    headers: user.headers,
    payload: { pan, phone: user.phone, proof: { type: 'pin', pin: PIN } },
  });
  assert.equal(started.statusCode, 202, started.body);
  const sms = await fetch(`${world.bank.url}/sandbox/sms?phone=${user.phone}`);
  const messages = (await sms.json()) as { messages?: Array<{ code: string }> } | Array<{ code: string }>;
  const list = Array.isArray(messages) ? messages : (messages.messages ?? []);
  assert.ok(list[0], 'the bank sent an SMS code');
  const confirmed = await app.http.inject({
    method: 'POST',
    url: `/v1/users/${user.id}/cards`,
    headers: user.headers,
    payload: { verification_id: started.json().verification_id, sms_code: list[0].code },
  });
  assert.equal(confirmed.statusCode, 201, confirmed.body);
  return confirmed.json().id;
}

export async function post(
  app: TestApp,
  url: string,
  user: { headers: Record<string, string> },
  payload: unknown,
  key: string = randomUUID(),
) {
  return app.http.inject({
    method: 'POST',
    url,
    headers: { ...user.headers, 'idempotency-key': key },
    payload: payload as object,
  });
}

export async function topUp(
  world: WalletWorld,
  user: TestUser,
  cardId: string,
  amount: bigint,
  key?: string,
) {
  return post(
    world.app,
    `/v1/users/${user.id}/top-ups`,
    user,
    { card_id: cardId, amount: amount.toString(), proof: { type: 'pin', pin: PIN } },
    key,
  );
}

export async function withdraw(
  world: WalletWorld,
  user: TestUser,
  cardId: string,
  amount: bigint,
  key?: string,
) {
  return post(
    world.app,
    `/v1/users/${user.id}/withdrawals`,
    user,
    { card_id: cardId, amount: amount.toString(), proof: { type: 'pin', pin: PIN } },
    key,
  );
}

/** Waits until the operation is final, polling the bank as the job would (lost callbacks, unknown outcomes). */
export async function settled(world: WalletWorld, operationId: string, options: { poll?: boolean } = {}) {
  return eventually(async () => {
    if (options.poll !== false) await world.app.wallet.pollBank(new Date(Date.now() + 3_600_000));
    const op = await world.app.wallet.operations.get(operationId);
    return op && op.state !== 'pending' ? op : undefined;
  }, 20_000);
}

export async function balance(app: TestApp, userId: string) {
  return app.wallet.balance(userId);
}

export async function assertBooksBalance(app: TestApp): Promise<void> {
  const report = await app.ledger.verify();
  assert.ok(report.ok, JSON.stringify(report.violations.slice(0, 5)));
}

export { eventually };
