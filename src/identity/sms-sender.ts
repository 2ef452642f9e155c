import type { Clock } from '../platform/clock.ts';
import type { Database } from '../platform/db/database.ts';
import { unavailable } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import type { Logger } from '../platform/log.ts';
import { postSignedJson, type SignedGatewayOptions } from '../platform/signed-gateway.ts';
import { insertSandboxSms, type SandboxSms, sandboxInbox } from './store/sandbox-sms.ts';

/** The SMS connector: the signed HTTP gateway (production) or the sandbox outbox. */
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

/**
 * The SMS gateway adapter: one signed JSON POST per message (platform/signed-gateway.ts),
 * `{"message_id","phone","body"}`; any 2xx is accepted. No answer, a non-2xx or a redirect is
 * `sms_gateway_unavailable` (503, safe to retry after the resend wait). The phone and the
 * text are never logged.
 */
export class HttpSmsSender implements SmsSender {
  constructor(
    private readonly gateway: SignedGatewayOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async send(message: { phone: string; body: string }): Promise<void> {
    const messageId = uuidv7(this.clock.now().getTime());
    const reply = await postSignedJson(
      { ...this.gateway, now: () => Math.floor(this.clock.now().getTime() / 1000) },
      { message_id: messageId, phone: message.phone, body: message.body },
    );
    if (reply.ok) return;
    this.log.warn({ message_id: messageId, cause: reply.cause, status: reply.status }, 'SMS gateway failed');
    throw unavailable(
      'sms_gateway_unavailable',
      'The text message could not be sent just now; try again in a minute.',
    );
  }
}
