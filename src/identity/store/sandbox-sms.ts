import type { Queryable } from '../../platform/db/database.ts';

/** identity_sms_sandbox_outbox: what the sandbox SMS connector "delivered". */
export type SandboxSms = { id: string; phone: string; body: string; created_at: Date };

export async function insertSandboxSms(
  q: Queryable,
  message: { id: string; phone: string; body: string; createdAt: Date },
): Promise<void> {
  await q.query(
    'INSERT INTO identity_sms_sandbox_outbox (id, phone, body, created_at) VALUES ($1, $2, $3, $4)',
    [message.id, message.phone, message.body, message.createdAt],
  );
}

/** The newest messages to a phone, newest first. */
export async function sandboxInbox(q: Queryable, phone: string, limit: number): Promise<SandboxSms[]> {
  const { rows } = await q.query<SandboxSms>(
    'SELECT id, phone, body, created_at FROM identity_sms_sandbox_outbox WHERE phone = $1 ORDER BY created_at DESC, id DESC LIMIT $2',
    [phone, limit],
  );
  return rows;
}
