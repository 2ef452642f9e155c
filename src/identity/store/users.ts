import type { Queryable } from '../../platform/db/database.ts';
import type { Sealed, SealFormat } from '../id-encryption.ts';
import type { AccountClass } from '../limit-rules.ts';

/** identity_users: the account, its real-name class and the encrypted ID number. */
export type UserRecord = {
  id: string;
  phone: string;
  status: 'active' | 'frozen';
  account_class: AccountClass;
  real_name: string | null;
  id_number_masked: string | null;
  verified_at: Date | null;
  password_free_enabled: boolean;
  created_at: Date;
};

const USER_COLUMNS =
  'id, phone, status, account_class, real_name, id_number_masked, verified_at, password_free_enabled, created_at';

export async function findUserByPhone(q: Queryable, phone: string): Promise<UserRecord | undefined> {
  const { rows } = await q.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM identity_users WHERE phone = $1`, [
    phone,
  ]);
  return rows[0];
}

export async function getUser(q: Queryable, userId: string): Promise<UserRecord | undefined> {
  const { rows } = await q.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM identity_users WHERE id = $1`, [
    userId,
  ]);
  return rows[0];
}

export async function getUsers(q: Queryable, userIds: readonly string[]): Promise<UserRecord[]> {
  if (userIds.length === 0) return [];
  const { rows } = await q.query<UserRecord>(
    `SELECT ${USER_COLUMNS} FROM identity_users WHERE id = ANY($1::uuid[])`,
    [userIds],
  );
  return rows;
}

/** Inserts a class I account; false when the phone already has one. */
export async function insertUser(
  q: Queryable,
  user: { id: string; phone: string; createdAt: Date },
): Promise<boolean> {
  const { rowCount } = await q.query(
    'INSERT INTO identity_users (id, phone, created_at) VALUES ($1, $2, $3) ON CONFLICT (phone) DO NOTHING',
    [user.id, user.phone, user.createdAt],
  );
  return rowCount === 1;
}

/** The account whose verified ID number has this keyed digest, if any. */
export async function findUserIdByIdNumberDigest(q: Queryable, digest: string): Promise<string | undefined> {
  const { rows } = await q.query<{ id: string }>(
    'SELECT id FROM identity_users WHERE id_number_digest = $1',
    [digest],
  );
  return rows[0]?.id;
}

/** Stores a verified real name; the class only ever goes up. */
/**
 * True when the user already has a verified real name that differs from (name, digest): the
 * real name is set once, by the user; a different one is an operator's business.
 */
export async function realNameConflicts(
  q: Queryable,
  userId: string,
  name: string,
  digest: string,
): Promise<boolean> {
  const { rows } = await q.query(
    `SELECT 1 FROM identity_users
     WHERE id = $1 AND verified_at IS NOT NULL AND (real_name IS DISTINCT FROM $2 OR id_number_digest IS DISTINCT FROM $3)`,
    [userId, name, digest],
  );
  return rows.length > 0;
}

/** Records a verified real name; false (nothing written) when a different one is already set. */
export async function recordRealName(
  q: Queryable,
  userId: string,
  verified: {
    name: string;
    sealed: Sealed;
    masked: string;
    digest: string;
    at: Date;
    accountClass: AccountClass;
    /** An operator's correction replaces whatever is set; a user's submission never does. */
    replace?: boolean;
  },
): Promise<boolean> {
  const result = await q.query(
    `UPDATE identity_users SET real_name = $2, id_number_ciphertext = $3, id_number_key_id = $4, id_number_masked = $5,
       id_number_digest = $6, verified_at = $7, account_class = GREATEST(account_class, $8), id_number_format = $9
     WHERE id = $1 AND ($10 OR verified_at IS NULL OR (real_name = $2 AND id_number_digest = $6))`,
    [
      userId,
      verified.name,
      verified.sealed.ciphertext,
      verified.sealed.keyId,
      verified.masked,
      verified.digest,
      verified.at,
      verified.accountClass,
      verified.sealed.format,
      verified.replace ?? false,
    ],
  );
  return (result.rowCount ?? 0) > 0;
}

export type SealedIdNumber = Sealed;

type SealedRow = { id_number_ciphertext: Buffer; id_number_key_id: string; id_number_format: number };
const toSealed = (row: SealedRow): Sealed => ({
  ciphertext: row.id_number_ciphertext,
  keyId: row.id_number_key_id,
  format: row.id_number_format as SealFormat,
});

/** The user's encrypted ID number, if verified. */
export async function readSealedIdNumber(q: Queryable, userId: string): Promise<Sealed | undefined> {
  const { rows } = await q.query<SealedRow>(
    'SELECT id_number_ciphertext, id_number_key_id, id_number_format FROM identity_users WHERE id = $1',
    [userId],
  );
  const row = rows[0];
  if (!row?.id_number_ciphertext || !row.id_number_key_id) return undefined;
  return toSealed(row);
}

/**
 * Locks up to `limit` ID numbers not sealed under `currentKeyId` or not in `currentFormat`
 * (skipping rows others hold).
 */
export async function lockIdNumbersToReseal(
  tx: Queryable,
  currentKeyId: string,
  currentFormat: SealFormat,
  limit: number,
): Promise<Array<{ id: string } & Sealed>> {
  const { rows } = await tx.query<{ id: string } & SealedRow>(
    `SELECT id, id_number_ciphertext, id_number_key_id, id_number_format FROM identity_users
     WHERE id_number_ciphertext IS NOT NULL AND (id_number_key_id <> $1 OR id_number_format <> $2)
     LIMIT $3 FOR UPDATE SKIP LOCKED`,
    [currentKeyId, currentFormat, limit],
  );
  return rows.map((row) => ({ id: row.id, ...toSealed(row) }));
}

export async function updateSealedIdNumber(
  tx: Queryable,
  userId: string,
  sealed: SealedIdNumber,
): Promise<void> {
  await tx.query(
    'UPDATE identity_users SET id_number_ciphertext = $2, id_number_key_id = $3, id_number_format = $4 WHERE id = $1',
    [userId, sealed.ciphertext, sealed.keyId, sealed.format],
  );
}

export async function updateUserStatus(
  q: Queryable,
  userId: string,
  status: 'active' | 'frozen',
): Promise<void> {
  await q.query('UPDATE identity_users SET status = $2 WHERE id = $1', [userId, status]);
}

export async function updatePasswordFree(q: Queryable, userId: string, enabled: boolean): Promise<void> {
  await q.query('UPDATE identity_users SET password_free_enabled = $2 WHERE id = $1', [userId, enabled]);
}

/** Moves the account to a new phone number; false when another account already has it. */
export async function updateUserPhone(q: Queryable, userId: string, phone: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE identity_users SET phone = $2
      WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM identity_users WHERE phone = $2)`,
    [userId, phone],
  );
  return rowCount === 1;
}
