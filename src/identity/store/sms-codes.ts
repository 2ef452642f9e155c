import type { Queryable } from '../../platform/db/database.ts';

/** identity_sms_codes: one-time codes, stored only as keyed digests. */

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

/**
 * identity_sms_throttle: claims one send in the resend-window bucket of a number. The conditional
 * upsert locks the bucket row, so of concurrent claims exactly one passes per window; the others
 * get the time of the send that holds the window.
 */
export async function claimSmsResendWindow(
  tx: Queryable,
  bucket: string,
  now: Date,
  resendSeconds: number,
): Promise<{ claimed: true } | { claimed: false; lastSentAt: Date }> {
  const { rows } = await tx.query(
    `INSERT INTO identity_sms_throttle (bucket, window_key, sent, last_sent_at) VALUES ($1, '', 1, $2)
     ON CONFLICT (bucket) DO UPDATE SET sent = identity_sms_throttle.sent + 1, last_sent_at = EXCLUDED.last_sent_at
     WHERE identity_sms_throttle.last_sent_at <= $2::timestamptz - make_interval(secs => $3::int)
     RETURNING bucket`,
    [bucket, now, resendSeconds],
  );
  if (rows.length > 0) return { claimed: true };
  const held = await tx.query<{ last_sent_at: Date }>(
    'SELECT last_sent_at FROM identity_sms_throttle WHERE bucket = $1',
    [bucket],
  );
  return { claimed: false, lastSentAt: held.rows[0]?.last_sent_at ?? now };
}

/** Claims one send in a per-day counting bucket; false when `max` were already sent in `day`. */
export async function claimSmsDailyBucket(
  tx: Queryable,
  bucket: string,
  day: string,
  now: Date,
  max: number,
): Promise<boolean> {
  const { rows } = await tx.query(
    `INSERT INTO identity_sms_throttle (bucket, window_key, sent, last_sent_at) VALUES ($1, $2, 1, $3)
     ON CONFLICT (bucket) DO UPDATE SET
       sent = CASE WHEN identity_sms_throttle.window_key = EXCLUDED.window_key
                   THEN identity_sms_throttle.sent + 1 ELSE 1 END,
       window_key = EXCLUDED.window_key, last_sent_at = EXCLUDED.last_sent_at
     WHERE identity_sms_throttle.window_key <> EXCLUDED.window_key OR identity_sms_throttle.sent < $4
     RETURNING bucket`,
    [bucket, day, now, max],
  );
  return rows.length > 0;
}
