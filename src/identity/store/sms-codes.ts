import type { Queryable } from '../../platform/db/database.ts';

/** identity_sms_codes: one-time codes, stored only as keyed digests. */

/** When codes were sent to a phone since `since`, newest first. */
export async function smsCodesSentSince(q: Queryable, phone: string, since: Date): Promise<Date[]> {
  const { rows } = await q.query<{ created_at: Date }>(
    'SELECT created_at FROM identity_sms_codes WHERE phone = $1 AND created_at > $2 ORDER BY created_at DESC',
    [phone, since],
  );
  return rows.map((row) => row.created_at);
}

export async function insertSmsCode(
  q: Queryable,
  code: { id: string; phone: string; purpose: string; digest: string; createdAt: Date; expiresAt: Date },
): Promise<void> {
  await q.query(
    `INSERT INTO identity_sms_codes (id, phone, purpose, code_digest, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [code.id, code.phone, code.purpose, code.digest, code.createdAt, code.expiresAt],
  );
}

export type SmsCodeRow = {
  id: string;
  code_digest: string;
  expires_at: Date;
  failed_attempts: number;
  consumed_at: Date | null;
};

/** The newest code for (phone, purpose), locked. */
export async function lockLatestSmsCode(
  tx: Queryable,
  phone: string,
  purpose: string,
): Promise<SmsCodeRow | undefined> {
  const { rows } = await tx.query<SmsCodeRow>(
    `SELECT id, code_digest, expires_at, failed_attempts, consumed_at FROM identity_sms_codes
     WHERE phone = $1 AND purpose = $2 ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE`,
    [phone, purpose],
  );
  return rows[0];
}

export async function countFailedSmsAttempt(tx: Queryable, codeId: string): Promise<void> {
  await tx.query('UPDATE identity_sms_codes SET failed_attempts = failed_attempts + 1 WHERE id = $1', [
    codeId,
  ]);
}

export async function markSmsCodeConsumed(tx: Queryable, codeId: string, at: Date): Promise<void> {
  await tx.query('UPDATE identity_sms_codes SET consumed_at = $2 WHERE id = $1', [codeId, at]);
}
