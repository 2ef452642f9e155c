import { createServer, type IncomingHttpHeaders } from 'node:http';
import { withLuhnDigit } from './cards.ts';

/** Test helpers for code that talks to the sandbox bank (this module's tests and the wallet's). */

/** A Luhn-valid test PAN ending in `last4` (e.g. "0002"), with a sandbox BIN. */
export function testPan(last4: string, bin = '622202', length = 16): string {
  // Adjust the digit just before the last four until the whole number passes Luhn.
  const middle = '0'.repeat(length - bin.length - 5);
  for (let digit = 0; digit <= 9; digit++) {
    const pan = `${bin}${middle}${digit}${last4}`;
    if (withLuhnDigit(pan.slice(0, -1)) === pan) return pan;
  }
  throw new Error(`no Luhn-valid PAN ends in ${last4}`);
}

export interface ReceivedCallback {
  headers: IncomingHttpHeaders;
  body: string;
  arrivedAt: number;
}

/**
 * An HTTP endpoint that records every callback it receives. `failNext(n)` makes the next n
 * matching deliveries answer 500, to exercise the bank's retries.
 */
export async function startCallbackReceiver() {
  const received: ReceivedCallback[] = [];
  const waiters = new Set<() => void>();
  let failures = 0;
  let failMatching = '';
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (failures > 0 && body.includes(failMatching)) {
        failures -= 1;
        response.writeHead(500).end();
        return;
      }
      received.push({
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        arrivedAt: Date.now(),
      });
      response.writeHead(204).end();
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/bank/callbacks`,
    received,
    /** The next `count` callbacks whose body contains `matching` are answered with 500. */
    failNext(count: number, matching = '') {
      failures = count;
      failMatching = matching;
    },
    /** Resolves with the callbacks once `predicate` holds; rejects after a generous timeout. */
    async waitFor(
      predicate: (all: ReceivedCallback[]) => boolean,
      timeoutMs = 10_000,
    ): Promise<ReceivedCallback[]> {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline)
          throw new Error(`callbacks not received in ${timeoutMs} ms (have ${received.length})`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, 50);
          waiters.add(wake);
        });
      }
      return received;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls `check` until it returns a value, or throws after a generous timeout. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A running sandbox bank, a callback receiver and a connector wired together, for
 * end-to-end tests over real HTTP on 127.0.0.1. `card(last4)` creates a card via the
 * sandbox admin API and returns its token.
 */
export async function startBankFixture(options: { timeoutMs?: number; seed?: string } = {}) {
  const { startSandboxBank } = await import('./sandbox/server.ts');
  const { HttpBankConnector } = await import('./http-connector.ts');
  const receiver = await startCallbackReceiver();
  const secret = 'whsec_dGVzdC1zZWNyZXQtZm9yLWJhbmstdGVzdHM=';
  const bank = await startSandboxBank({
    secret,
    seed: options.seed ?? 'bank-tests',
    callbackUrl: receiver.url,
    callbackRetryDelaysMs: [20, 50, 100],
    hangMs: 10_000,
  });
  const connector = new HttpBankConnector({
    baseUrl: bank.url,
    webhookSecret: secret,
    timeoutMs: options.timeoutMs ?? 2_000,
  });
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${bank.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return {
    bank,
    receiver,
    connector,
    secret,
    admin,
    async card(last4: string, extra: Record<string, unknown> = {}): Promise<string> {
      const created = await admin('POST', '/sandbox/cards', {
        pan: testPan(last4, (extra.bin as string) ?? '622202'),
        phone: '13800138000',
        ...extra,
        bin: undefined,
      });
      if (created.status !== 201) throw new Error(`card not created: ${JSON.stringify(created.body)}`);
      return created.body.card_token as string;
    },
    async available(token: string): Promise<bigint> {
      return BigInt((await admin('GET', `/sandbox/cards/${token}`)).body.available as string);
    },
    async stop() {
      await bank.stop();
      await receiver.stop();
    },
  };
}
