/**
 * Red envelopes between two browsers: Alice sends a lucky envelope to a group chat, Bob sees
 * it arrive live (group stream over fetch, token in the Authorization header), opens it, and
 * both see who got what and who was luckiest.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeChineseId } from '../../src/identity/chinese-id.ts';
import { bindCard, newUser, PIN, settled, type TestUser, topUp } from '../wallet-fixtures.ts';
import {
  assertNoConsoleErrors,
  type BrowserWorld,
  openPhone,
  type Phone,
  screenshot,
  startBrowserWorld,
  uniquePhone,
} from './harness.ts';

let world: BrowserWorld;
before(async () => {
  world = await startBrowserWorld();
});
after(() => world?.close());

let idCounter = 0;
async function verifiedUser(name: string): Promise<TestUser & { token: string }> {
  const user = await newUser(world.app, uniquePhone());
  const sequence = String(200 + ((process.pid * 7 + idCounter++) % 700));
  const verified = await world.app.http.inject({
    method: 'POST',
    url: `/v1/users/${user.id}/real-name`,
    headers: user.headers,
    payload: { name, id_number: makeChineseId('440305', '19880818', sequence), requested_class: 'III' },
  });
  assert.equal(verified.statusCode, 200, verified.body);
  return { ...user, token: user.headers.authorization!.slice(7) };
}

/** A phone already signed in as `user` (the sign-up flow has its own test). */
async function signedInPhone(user: { token: string }, language: 'en' | 'zh' = 'en'): Promise<Phone> {
  const phone = await openPhone(world, { language });
  await phone.context.addInitScript(`
    localStorage.setItem('tuyere.wallet.session', JSON.stringify({ access_token: ${JSON.stringify(user.token)} }));
    sessionStorage.setItem('tuyere.wallet.onboarding-skipped', 'passkey');
  `);
  return phone;
}

test('Alice sends a lucky envelope; Bob sees it live, opens it, and both see the luckiest', {
  timeout: 90_000,
}, async () => {
  const alice = await verifiedUser('王小明');
  const bob = await verifiedUser('赵丽');
  const card = await bindCard(world as never, alice, '0001');
  const funded = await topUp(world as never, alice, card, 10_000n);
  await settled(world as never, funded.json().id);
  const group = await world.app.http.inject({
    method: 'POST',
    url: '/v1/groups',
    headers: alice.headers,
    payload: { name: 'Family 家人', member_ids: [bob.id] },
  });
  assert.equal(group.statusCode, 201, group.body);
  const groupId = group.json().id as string;

  const alicePhone = await signedInPhone(alice);
  const bobPhone = await signedInPhone(bob, 'zh');
  const [a, b] = [alicePhone.page, bobPhone.page];
  await Promise.all([
    a.goto(`${world.baseUrl}/#/groups/${groupId}`),
    b.goto(`${world.baseUrl}/#/groups/${groupId}`),
  ]);
  await a
    .getByTestId('live')
    .filter({ hasText: 'Live' })
    .waitFor()
    .catch(async (error) => {
      await screenshot(a, 'envelope-failed-live');
      console.log(alicePhone.errors);
      throw error;
    });
  await b.getByTestId('live').filter({ hasText: '实时' }).waitFor();

  // A chat message travels live first.
  await a.getByTestId('message-input').fill('Happy new year!');
  await a.getByTestId('send-message').click();
  await b.getByTestId('message').filter({ hasText: 'Happy new year!' }).waitFor();

  // Alice: a lucky envelope of 8.88 in 2 shares, confirmed with her PIN.
  await a.getByTestId('compose-envelope').click();
  await a.getByTestId('shares').fill('2');
  await a.getByTestId('envelope-amount').fill('8.88');
  await a.getByTestId('greeting').fill('新年快乐');
  assert.equal(await a.getByTestId('envelope-total').textContent(), '¥8.88');
  await screenshot(a, 'envelope-01-compose');
  await a.getByTestId('envelope-submit').click();
  await a.getByTestId('confirm-pin').fill(PIN);
  await a.getByTestId('pay-pin').click();

  // Bob's chat shows it without a reload; he opens it.
  const bobEnvelope = b.getByTestId('envelope').filter({ hasText: '新年快乐' });
  await bobEnvelope.waitFor();
  await screenshot(b, 'envelope-02-arrived');
  await bobEnvelope.click();
  await b.getByTestId('open-envelope').waitFor();
  await screenshot(b, 'envelope-03-closed');
  await b.getByTestId('open-envelope').click();
  await b
    .getByTestId('grabbed-amount')
    .waitFor({ timeout: 5000 })
    .catch(async (error) => {
      await screenshot(b, 'envelope-failed-open');
      console.log(bobPhone.errors);
      throw error;
    });
  const bobAmount = (await b.getByTestId('grabbed-amount').textContent()) ?? '';
  assert.match(bobAmount, /^¥\d+\.\d\d$/);
  await screenshot(b, 'envelope-04-opened');
  await b.getByTestId('envelope-close').click();

  // Alice sees Bob's grab live, and takes the other share.
  await a.getByTestId('grab-line').first().waitFor();
  await a.getByTestId('envelope').filter({ hasText: '新年快乐' }).click();
  await a.getByTestId('open-envelope').click();
  const aliceAmount = (await a.getByTestId('grabbed-amount').textContent()) ?? '';
  await a.getByTestId('grabs').getByTestId('grab').nth(1).waitFor();
  await a.getByTestId('luckiest').waitFor();
  await screenshot(a, 'envelope-05-who-got-what');

  // Exact money: the two shares are the whole 8.88.
  const fen = (text: string) => BigInt(text.replace(/[¥.,]/g, ''));
  assert.equal(fen(aliceAmount) + fen(bobAmount), 888n);
  await b.getByTestId('grab-line').nth(1).waitFor();
  await b
    .getByText(/手气最佳/)
    .first()
    .waitFor();
  await screenshot(b, 'envelope-06-chat-after');
  assert.ok((await world.app.ledger.verify()).ok);
  assertNoConsoleErrors(alicePhone, bobPhone);
  await Promise.all([alicePhone.context.close(), bobPhone.context.close()]);
});
