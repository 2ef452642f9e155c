import type { DemoWorld } from '../platform/module.ts';
import { startSandboxBank } from './sandbox/server.ts';
import { type BankConfig, bankSettings } from './settings.ts';
import { testPan } from './testing.ts';

/** What the wallet's demo needs from the bank: each person's sandbox card and its SMS codes. */
export interface DemoBank {
  /** Demo person → a sandbox test card (plain: every operation succeeds) and its reserved phone. */
  cards: Record<string, { pan: string; phone: string }>;
  /** The code the sandbox texted for a card verification, or null. */
  smsCode(phone: string, verificationId: string): Promise<string | null>;
  /** Whether the sandbox still knows a card token; null when the sandbox cannot be reached. */
  knowsCard(cardToken: string): Promise<boolean | null>;
}

declare module '../platform/module.ts' {
  interface DemoWorld {
    /** Set by the bank's demo when a sandbox bank is reachable (or started for the seeding). */
    bank?: DemoBank;
  }
}

const DEMO_CARDS = {
  alice: { pan: testPan('6001', '622202'), phone: '13800000001' },
  bob: { pan: testPan('6002', '621700'), phone: '13800000002' },
  carol: { pan: testPan('6003', '622848'), phone: '13800000003' },
};

/**
 * The demo binds cards at the sandbox bank. With no BANK_URL, `tuyere serve` runs one alongside,
 * and `tuyere demo` on its own starts one for the seeding (stopped once every module has seeded).
 */
export async function seedBankDemo(config: BankConfig, world: DemoWorld): Promise<void> {
  const settings = bankSettings(config);
  if (!config.bankUrl && !(await reachable(settings.url))) {
    const sandbox = await startSandboxBank({
      port: settings.sandboxPort,
      secret: settings.webhookSecret,
      seed: settings.seed,
      callbackUrl: null,
      timeZone: config.timeZone,
      logLevel: 'warn',
    });
    world.cleanups.push(() => sandbox.stop());
  }
  const url = settings.url;
  world.bank = {
    cards: DEMO_CARDS,
    async smsCode(phone, verificationId) {
      const inbox = await fetch(`${url}/sandbox/sms?phone=${phone}`);
      const messages =
        ((await inbox.json()) as { messages?: Array<{ code: string; verification_id: string }> }).messages ??
        [];
      return messages.find((m) => m.verification_id === verificationId)?.code ?? null;
    },
    async knowsCard(cardToken) {
      const known = await fetch(`${url}/sandbox/cards/${encodeURIComponent(cardToken)}`).catch(() => null);
      return known ? known.ok : null;
    },
  };
}

async function reachable(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/sandbox/sms?phone=10000000000`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}
