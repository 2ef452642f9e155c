import { DEMO_PEOPLE } from '../identity/index.ts';
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

/** Each demo person's card as the sandbox bank issued it: holder name, ID number and reserved phone are theirs. */
const DEMO_CARDS = {
  alice: { pan: testPan('6001', '622202'), person: DEMO_PEOPLE.alice },
  bob: { pan: testPan('6002', '621700'), person: DEMO_PEOPLE.bob },
  carol: { pan: testPan('6003', '622848'), person: DEMO_PEOPLE.carol },
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
  // The bank binds only cards it issued, to their holder: put the demo cards on its books
  // (idempotent; a restarted sandbox has forgotten them).
  for (const { pan, person } of Object.values(DEMO_CARDS)) {
    const issued = await fetch(`${url}/sandbox/cards`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        pan,
        phone: person.phone,
        holder_name: person.name,
        id_number: person.idNumber,
      }),
    }).catch(() => null);
    if (!issued?.ok) world.notes.push(`sandbox bank: demo card ${pan.slice(-4)} not issued`);
  }
  world.bank = {
    cards: Object.fromEntries(
      Object.entries(DEMO_CARDS).map(([who, card]) => [who, { pan: card.pan, phone: card.person.phone }]),
    ),
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
