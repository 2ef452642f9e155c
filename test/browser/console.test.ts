/**
 * The ops console in a real browser: an operator disables a user's device, and starts a
 * red-envelope storm that the live dashboard shows.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  completeRawDeviceRegistration,
  rawRegistrationMessage,
  startRawDeviceRegistration,
} from '../../src/identity/devices.ts';
import { TEST_OPERATOR_TOKEN } from '../../src/platform/testing/app.ts';
import { deviceKey } from '../identity-fixtures.ts';
import {
  assertNoConsoleErrors,
  type BrowserWorld,
  screenshot,
  startBrowserWorld,
  uniquePhone,
  watchErrors,
} from './harness.ts';

let world: BrowserWorld;
before(async () => {
  world = await startBrowserWorld();
});
after(() => world?.close());

async function openConsole() {
  const context = await world.browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = watchErrors(page);
  await page.goto(`${world.baseUrl}/console`);
  await page.getByTestId('operator-token').fill(TEST_OPERATOR_TOKEN);
  await page.getByTestId('console-login').click();
  await page.getByTestId('stat-payments').waitFor();
  return { context, page, errors };
}

test('an operator finds a user and disables their phone remotely', { timeout: 60_000 }, async () => {
  const phone = uniquePhone();
  const session = await world.app.identity.issueSessionForTesting(phone);
  const userId = session.user.id;
  const key = deviceKey('ed25519');
  const challenge = await startRawDeviceRegistration(world.app.identity.context, userId);
  const device = await completeRawDeviceRegistration(world.app.identity.context, userId, {
    challengeId: challenge.challenge_id,
    kind: 'phone',
    name: 'Lost phone',
    keyType: 'ed25519',
    publicKey: key.publicKeyBase64,
    signature: key.sign(
      rawRegistrationMessage(
        userId,
        challenge.challenge_id,
        challenge.nonce,
        Buffer.from(key.publicKeyBase64, 'base64'),
      ),
    ),
    userVerification: true,
  });

  const operator = await openConsole();
  const { page } = operator;
  await page.getByTestId('nav-users').click();
  await page.getByTestId('user-phone').fill(phone);
  await page.getByTestId('find-user').click();
  const row = page.getByTestId('device-row').filter({ hasText: 'Lost phone' });
  await row.getByTestId('device-status').filter({ hasText: 'active' }).waitFor();
  await row.getByTestId('disable-device').click();
  await row.getByTestId('device-status').filter({ hasText: 'disabled' }).waitFor();
  await page.getByTestId('audit').getByText(`device:${device.id}`).first().waitFor();
  await screenshot(page, 'console-01-user-device-disabled');

  const devices = await world.app.http.inject({
    method: 'GET',
    url: `/v1/users/${userId}/devices`,
    headers: { authorization: `Bearer ${session.accessToken}` },
  });
  assert.equal(devices.json().devices.find((d: { id: string }) => d.id === device.id).status, 'disabled');
  assertNoConsoleErrors(operator);
  await operator.context.close();
});

test('the dashboard shows a red-envelope storm as it happens', { timeout: 90_000 }, async () => {
  const operator = await openConsole();
  const { page } = operator;
  await page.getByTestId('storm-envelopes').fill('10');
  await page.getByTestId('storm-shares').fill('20');
  await page.getByTestId('storm-grabbers').fill('40');
  await page.getByTestId('storm').click();
  await page
    .getByTestId('storm-progress')
    .filter({ hasText: /state: finished/ })
    .waitFor({ timeout: 60_000 });
  // The next samples carry the storm's grabs: the peak grab rate and the chart move.
  // Polled from the test, not with a string predicate: that is eval'd in the page, which its CSP refuses.
  await pollUntil(async () => Number(await page.getByTestId('stat-grabs-peak').textContent()) > 0);
  await pollUntil(
    async () => Number(await page.getByTestId('chart-throughput').getAttribute('data-points')) >= 3,
  );
  await screenshot(page, 'console-02-dashboard-storm');
  const progress = (await page.getByTestId('storm-progress').textContent()) ?? '';
  assert.match(progress, /grabbed: 200/);

  await page.getByTestId('nav-ledger').click();
  await page.getByTestId('verify').click();
  await page.getByTestId('verify-result').filter({ hasText: 'Books balance' }).waitFor();
  await screenshot(page, 'console-03-ledger-verify');
  assertNoConsoleErrors(operator);
  await operator.context.close();
});

async function pollUntil(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
