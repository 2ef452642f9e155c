/**
 * Browser-test harness: a whole Tuyere app (fresh test database, sandbox bank over loopback)
 * serving the built web apps, driven by Debian's Chromium through playwright-core.
 * Every page records console errors and failed requests; `assertNoConsoleErrors` fails
 * the test on any.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type SandboxBank, startSandboxBank } from '../../src/bank/index.ts';
import type { Config } from '../../src/modules.ts';
import { createTestApp, type TestApp } from '../../src/platform/testing/app.ts';
import { buildWeb } from '../../src/web/index.ts';

export const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-results/screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SECRET = 'whsec_YnJvd3Nlci10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5';

export interface BrowserWorld {
  app: TestApp;
  bank: SandboxBank;
  /** http://localhost:<port>: WebAuthn needs a secure context, and localhost is one. */
  baseUrl: string;
  browser: Browser;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startBrowserWorld(config: Partial<Config> = {}): Promise<BrowserWorld> {
  await buildWeb({ quiet: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  // playwright's launch() always starts Chromium on a fresh temporary --user-data-dir of its own.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP localhost 127.0.0.1',
    ],
  });
  const bank = await startSandboxBank({ secret: SECRET, seed: 'browser-tests', callbackUrl: null });
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const app = await createTestApp({
    config: {
      bankUrl: bank.url,
      bankWebhookSecret: SECRET,
      webauthnRpId: 'localhost',
      webauthnOrigins: baseUrl,
      ...config,
    } as Partial<Config>,
  });
  try {
    await app.http.listen({ port, host: '127.0.0.1' });
  } catch (error) {
    await browser.close();
    await bank.stop();
    await app.close();
    throw error;
  }
  bank.setCallbackUrl(`http://127.0.0.1:${port}/v1/bank/callbacks`);
  return {
    app,
    bank,
    baseUrl,
    browser,
    close: async () => {
      await browser.close();
      await bank.stop();
      await app.close();
    },
  };
}

export interface Phone {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

/** A 375 px wide phone-sized browser context with console-error capture. */
export async function openPhone(
  world: BrowserWorld,
  options: { language?: 'en' | 'zh' } = {},
): Promise<Phone> {
  const context = await world.browser.newContext({
    viewport: { width: 375, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: options.language === 'zh' ? 'zh-CN' : 'en-US',
    serviceWorkers: 'block',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page, errors: watchErrors(page) };
}

export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    // A 4xx the app handles and explains (e.g. a refused amount) is logged by Chromium as a failed resource.
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    errors.push(text);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.stack ?? error.message}`));
  return errors;
}

export function assertNoConsoleErrors(...phones: Array<{ errors: string[] }>): void {
  assert.deepEqual(
    phones.flatMap((phone) => phone.errors),
    [],
    'no console errors during the test',
  );
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({
    path: path.join(SCREENSHOTS, `${name}.png`),
    fullPage: false,
    animations: 'disabled',
  });
}

/** The newest sandbox SMS code sent to a phone (what a demo user reads in the console). */
export async function smsCode(world: BrowserWorld, phone: string): Promise<string> {
  // The page's request for a code may still be in flight: wait for the message to exist.
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await world.app.http.inject({
      method: 'GET',
      url: `/v1/sandbox/sms?phone=${phone}`,
      headers: world.app.operatorHeaders,
    });
    const body = response.json() as { messages: Array<{ body: string }> };
    const code = body.messages?.[0]?.body.match(/\d{6}/)?.[0];
    if (code) return code;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`no SMS code for ${phone} within 10 s`);
}

/** The newest code the sandbox bank texted to a phone for binding a card. */
export async function bankSmsCode(world: BrowserWorld, phone: string): Promise<string> {
  // The click that asks the bank to text a code returns before the bank has; wait for it.
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await fetch(`${world.bank.url}/sandbox/sms?phone=${phone}`);
    const body = (await response.json()) as { messages?: Array<{ code: string }> } | Array<{ code: string }>;
    const list = Array.isArray(body) ? body : (body.messages ?? []);
    if (list[0]) return list[0].code;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`no bank SMS code for ${phone} within 10 s`);
}

/** Adds a CDP virtual authenticator (internal, resident keys, user verification) to a page. */
export async function addVirtualAuthenticator(page: Page): Promise<string> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

let phoneCounter = 0;
/** A phone number unique to this process and call. */
export function uniquePhone(): string {
  phoneCounter++;
  return `136${String(process.pid % 10_000).padStart(4, '0')}${String(phoneCounter).padStart(4, '0')}`;
}

/** Signs a new user up through the UI: phone, SMS code, real name, PIN, passkey (optional; adding it needs the PIN). */
export async function signUp(
  world: BrowserWorld,
  phone: Phone,
  options: {
    number: string;
    name: string;
    idNumber: string;
    pin: string;
    passkey: boolean;
    screenshots?: boolean;
  },
): Promise<void> {
  const { page } = phone;
  await page.goto(world.baseUrl);
  await page.getByTestId('phone').fill(options.number);
  await page.getByTestId('send-code').click();
  await page.getByTestId('code').waitFor();
  if (options.screenshots) await screenshot(page, 'wallet-01-login-code');
  await page.getByTestId('code').fill(await smsCode(world, options.number));
  await page.getByTestId('login').click();
  await page.getByTestId('real-name').fill(options.name);
  await page.getByTestId('id-number').fill(options.idNumber);
  if (options.screenshots) await screenshot(page, 'wallet-02-real-name');
  await page.getByTestId('verify').click();
  await page.getByTestId('pin').fill(options.pin);
  await page.getByTestId('pin-repeat').fill(options.pin);
  await page.getByTestId('set-pin').click();
  await page.getByTestId('create-passkey').waitFor();
  if (options.passkey) {
    await page.getByTestId('passkey-pin').fill(options.pin);
    if (options.screenshots) await screenshot(page, 'wallet-03-passkey');
    await page.getByTestId('create-passkey').click();
  } else {
    await page.getByText(/Skip for now|暂时跳过/).click();
  }
  await page.getByTestId('balance').waitFor();
}
