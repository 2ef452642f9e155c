/**
 * The wallet in a real browser at 375 px: sign-up through to a first transfer confirmed
 * with a passkey (CDP virtual authenticator), and amounts the app refuses.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeChineseId } from '../../src/identity/chinese-id.ts';
import {
  addVirtualAuthenticator,
  assertNoConsoleErrors,
  type BrowserWorld,
  bankSmsCode,
  openPhone,
  screenshot,
  signUp,
  startBrowserWorld,
  uniquePhone,
} from './harness.ts';

let world: BrowserWorld;
before(async () => {
  world = await startBrowserWorld();
});
after(() => world?.close());

test('sign up, passkey, bind a card, top up, and a first transfer confirmed with the passkey', {
  timeout: 90_000,
}, async () => {
  const phone = await openPhone(world);
  const { page } = phone;
  await addVirtualAuthenticator(page);
  const number = uniquePhone();
  const friend = uniquePhone();
  await world.app.identity.issueSessionForTesting(friend);

  const idNumber = makeChineseId('110101', '19900307', String(100 + (process.pid % 800)));
  await signUp(world, phone, {
    number,
    name: '李雷',
    idNumber,
    pin: '258013',
    passkey: true,
    screenshots: true,
  }).catch(async (error) => {
    await screenshot(page, 'wallet-failed-signup');
    throw error;
  });
  await page.getByTestId('balance').filter({ hasText: '¥0.00' }).waitFor();
  await screenshot(page, 'wallet-04-home-empty');

  // The bank issued this plain card to 李雷, reserved to their phone; binding it checks all
  // four elements and needs a step-up (the passkey), then the code the bank "texted".
  const issued = await fetch(`${world.bank.url}/sandbox/cards`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      pan: '6222020000060001',
      phone: number,
      holder_name: '李雷',
      id_number: idNumber,
    }),
  });
  assert.equal(issued.status, 201, await issued.text());
  await page.getByTestId('action-cards').click();
  await page.getByTestId('pan').fill('6222 0200 0006 0001');
  await page.getByTestId('card-phone').fill(number);
  await page.getByTestId('card-send-code').click();
  await page.getByTestId('pay-passkey').waitFor();
  await screenshot(page, 'wallet-05a-card-step-up');
  await page.getByTestId('pay-passkey').click();
  await page.getByTestId('card-code').fill(await bankSmsCode(world, number));
  await page.getByTestId('bind-card').click();
  await page.getByTestId('cards').getByText('0001').waitFor();
  await screenshot(page, 'wallet-05-cards');

  // Top up 200.00 and wait for the bank's callback to land.
  await page.goto(`${world.baseUrl}/#/money/top-up`);
  await page.getByTestId('amount').fill('200');
  await page.getByTestId('submit').click();
  await page.getByTestId('pay-passkey').click(); // a top-up needs a step-up too
  await page.getByTestId('balance').filter({ hasText: '¥200.00' }).waitFor({ timeout: 20_000 });

  // Transfer 50.25 to a friend, confirmed with the passkey.
  await page.getByTestId('action-transfer').click();
  await page.getByTestId('recipient-phone').fill(friend);
  await page.getByTestId('find-recipient').click();
  await page.getByTestId('amount').fill('50.25');
  await page.getByTestId('memo').fill('Dinner 🍜');
  await screenshot(page, 'wallet-06-transfer');
  await page.getByTestId('submit').click();
  assert.equal(await page.getByTestId('confirm-amount').textContent(), '¥50.25');
  await page.getByTestId('pay-passkey').waitFor();
  await screenshot(page, 'wallet-07-confirm-passkey');
  await page.getByTestId('pay-passkey').click();
  await page.getByTestId('balance').filter({ hasText: '¥149.75' }).waitFor();
  await page.getByTestId('recent').getByText('Dinner 🍜').waitFor();
  await screenshot(page, 'wallet-08-home-after-transfer');

  // The friend got exactly 50.25, and the books balance.
  const friendUser = await world.app.identity.findUserByPhone(friend);
  assert.equal((await world.app.wallet.balance(friendUser!.id)).available, '5025');
  assert.ok((await world.app.ledger.verify()).ok);

  // History: filter to transfers, open the detail page.
  await page.getByTestId('tab-history').click();
  await page.getByTestId('filter-type-transfer,transfer_return').click();
  await page.getByTestId('history').getByText('Dinner 🍜').click();
  await page.getByTestId('detail').waitFor();
  assert.match((await page.getByTestId('detail').textContent()) ?? '', /50\.25/);
  await screenshot(page, 'wallet-09-history-detail');

  // Chinese, one switch away.
  await page.goto(`${world.baseUrl}/#/me`);
  await page.getByTestId('language-switch').click();
  await page.getByText('退出登录').waitFor();
  await screenshot(page, 'wallet-10-me-zh');
  await page.getByTestId('language-switch').click();

  // Password-free small payments are off until turned on, and turning them on is a step-up.
  const toggle = page.getByTestId('password-free');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  await toggle.click();
  await page.getByTestId('pay-passkey').click();
  await page.locator('[data-testid="password-free"][aria-pressed="true"]').waitFor();
  const me = await world.app.identity.findUserByPhone(number);
  assert.equal(me?.password_free_enabled, true);

  // At 375 px nothing overflows sideways.
  const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the 375 px viewport`);
  assertNoConsoleErrors(phone);
  await phone.context.close();
});

test('a bad amount is refused as it is typed, and the API’s refusal is explained', {
  timeout: 60_000,
}, async () => {
  const phone = await openPhone(world);
  const { page } = phone;
  const number = uniquePhone();
  await signUp(world, phone, {
    number,
    name: '韩梅梅',
    idNumber: makeChineseId('310101', '19920512', String(100 + ((process.pid + 1) % 800))),
    pin: '369024',
    passkey: false,
  });
  const friend = uniquePhone();
  await world.app.identity.issueSessionForTesting(friend);

  await page.goto(`${world.baseUrl}/#/money/transfer`);
  // Sending to yourself: the API refuses, and the app says why in words.
  await page.getByTestId('recipient-phone').fill(number);
  await page.getByTestId('find-recipient').click();
  await page.getByTestId('error').filter({ hasText: 'You cannot send money to yourself.' }).waitFor();

  await page.getByTestId('recipient-phone').fill(friend);
  await page.getByTestId('find-recipient').click();
  const amount = page.getByTestId('amount');
  const submit = page.getByTestId('submit');
  await amount.fill('12.345');
  await page.getByTestId('amount-error').filter({ hasText: 'At most two decimal places' }).waitFor();
  assert.equal(await submit.isDisabled(), true);
  await screenshot(page, 'wallet-11-bad-amount');
  await amount.fill('0.00');
  await page.getByTestId('amount-error').filter({ hasText: 'more than 0' }).waitFor();
  assert.equal(await submit.isDisabled(), true);
  // Letters never get in; more than the balance (0.00) is refused before any request.
  await amount.fill('');
  await amount.pressSequentially('1a2.5');
  assert.equal(await amount.inputValue(), '12.5');
  await page.getByTestId('amount-error').filter({ hasText: 'More than your available balance' }).waitFor();
  assert.equal(await submit.isDisabled(), true);
  assertNoConsoleErrors(phone);
  await phone.context.close();
});
