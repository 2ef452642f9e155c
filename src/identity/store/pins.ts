import type { Queryable } from '../../platform/db/database.ts';

/** identity_pins: one argon2id PIN hash per user, with its failure count and lock. */

/** Stores a user's first PIN; false when one is already set. */
export async function insertPin(q: Queryable, userId: string, pinHash: string, at: Date): Promise<boolean> {
  const { rowCount } = await q.query(
    'INSERT INTO identity_pins (user_id, pin_hash, updated_at) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING',
    [userId, pinHash, at],
  );
  return rowCount === 1;
}

/** Sets (or replaces) a user's PIN and clears the failure count and lock. */
export async function upsertPin(q: Queryable, userId: string, pinHash: string, at: Date): Promise<void> {
  await q.query(
    `INSERT INTO identity_pins (user_id, pin_hash, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (user_id) DO UPDATE SET pin_hash = excluded.pin_hash, failed_attempts = 0, locked_until = NULL, updated_at = excluded.updated_at`,
    [userId, pinHash, at],
  );
}

export type PinRow = { pin_hash: string; failed_attempts: number; locked_until: Date | null };

/** The user's PIN row, locked (one user's attempts go one at a time). */
export async function lockPin(tx: Queryable, userId: string): Promise<PinRow | undefined> {
  const { rows } = await tx.query<PinRow>(
    'SELECT pin_hash, failed_attempts, locked_until FROM identity_pins WHERE user_id = $1 FOR UPDATE',
    [userId],
  );
  return rows[0];
}

/** Sets the failure count and lock (0 and null after a right PIN). */
export async function updatePinFailures(
  tx: Queryable,
  userId: string,
  failedAttempts: number,
  lockedUntil: Date | null,
): Promise<void> {
  await tx.query('UPDATE identity_pins SET failed_attempts = $2, locked_until = $3 WHERE user_id = $1', [
    userId,
    failedAttempts,
    lockedUntil,
  ]);
}

/** Whether a PIN is set, and until when it is locked (null when unset or never locked). */
export async function pinLock(
  q: Queryable,
  userId: string,
): Promise<{ locked_until: Date | null } | undefined> {
  const { rows } = await q.query<{ locked_until: Date | null }>(
    'SELECT locked_until FROM identity_pins WHERE user_id = $1',
    [userId],
  );
  return rows[0];
}
