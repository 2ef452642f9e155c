import type { Clock } from '../platform/clock.ts';
import type { Database } from '../platform/db/database.ts';
import { uuidv7 } from '../platform/ids.ts';
import { insertSandboxSms, type SandboxSms, sandboxInbox } from './store/sandbox-sms.ts';

/** The SMS connector. A real gateway drops in behind this interface. */
export interface SmsSender {
  send(message: { phone: string; body: string }): Promise<void>;
}

/**
 * The sandbox gateway: "delivers" into identity_sms_sandbox_outbox, the inbox tests and the
 * demo read (GET /v1/sandbox/sms). It is never used with a real gateway configured.
 */
export class SandboxSmsSender implements SmsSender {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async send(message: { phone: string; body: string }): Promise<void> {
    const now = this.clock.now();
    await insertSandboxSms(this.db, { id: uuidv7(now.getTime()), ...message, createdAt: now });
  }

  inbox(phone: string, limit = 20): Promise<SandboxSms[]> {
    return sandboxInbox(this.db, phone, limit);
  }

  /** The code in the newest message to a phone (tests and the demo). */
  async latestCode(phone: string): Promise<string | undefined> {
    const [latest] = await this.inbox(phone, 1);
    return latest ? /\b(\d{6})\b/.exec(latest.body)?.[1] : undefined;
  }
}
