import type { Queryable } from '../../platform/db/database.ts';
import type { RawKeyType } from '../device-keys.ts';

/** identity_devices: passkeys and raw device keys, with their own daily limits. */
export type DeviceKind = 'phone' | 'browser' | 'wearable';

export type DeviceRecord = {
  id: string;
  user_id: string;
  kind: DeviceKind;
  name: string;
  key_type: 'webauthn' | RawKeyType;
  public_key: Buffer;
  credential_id: string | null;
  sign_count: bigint;
  user_verification: boolean;
  daily_limit: bigint | null;
  status: 'active' | 'disabled';
  disabled_at: Date | null;
  created_at: Date;
  last_used_at: Date | null;
};

const DEVICE_COLUMNS =
  'id, user_id, kind, name, key_type, public_key, credential_id, sign_count, user_verification, daily_limit, status, disabled_at, created_at, last_used_at';

export async function getDevice(q: Queryable, deviceId: string): Promise<DeviceRecord | undefined> {
  const { rows } = await q.query<DeviceRecord>(
    `SELECT ${DEVICE_COLUMNS} FROM identity_devices WHERE id = $1`,
    [deviceId],
  );
  return rows[0];
}

export async function listDevices(q: Queryable, userId: string): Promise<DeviceRecord[]> {
  const { rows } = await q.query<DeviceRecord>(
    `SELECT ${DEVICE_COLUMNS} FROM identity_devices WHERE user_id = $1 ORDER BY created_at, id`,
    [userId],
  );
  return rows;
}

export async function countActiveDevices(q: Queryable, userId: string): Promise<number> {
  const { rows } = await q.query<{ count: string }>(
    "SELECT count(*)::text AS count FROM identity_devices WHERE user_id = $1 AND status = 'active'",
    [userId],
  );
  return Number(rows[0]!.count);
}

/** The id of the passkey with this WebAuthn credential id, if registered. */
export async function deviceIdByCredential(q: Queryable, credentialId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ id: string }>('SELECT id FROM identity_devices WHERE credential_id = $1', [
    credentialId,
  ]);
  return rows[0]?.id;
}

export async function insertDevice(
  q: Queryable,
  device: {
    id: string;
    userId: string;
    kind: DeviceKind;
    name: string;
    keyType: 'webauthn' | RawKeyType;
    publicKey: Buffer;
    /** Passkeys only. */
    credential?: { id: string; signCount: number };
    userVerification: boolean;
    dailyLimit: bigint | null;
    createdAt: Date;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO identity_devices (id, user_id, kind, name, key_type, public_key, credential_id, sign_count, user_verification, daily_limit, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      device.id,
      device.userId,
      device.kind,
      device.name,
      device.keyType,
      device.publicKey,
      device.credential?.id ?? null,
      device.credential?.signCount ?? 0,
      device.userVerification,
      device.dailyLimit,
      device.createdAt,
    ],
  );
}

/** Renames (when `name` is given) and/or sets the daily limit (when `dailyLimit` is not undefined). */
export async function updateDeviceSettings(
  q: Queryable,
  deviceId: string,
  changes: { name?: string; dailyLimit?: bigint | null },
): Promise<void> {
  await q.query(
    `UPDATE identity_devices SET name = COALESCE($2, name),
       daily_limit = CASE WHEN $3 THEN $4::bigint ELSE daily_limit END WHERE id = $1`,
    [deviceId, changes.name ?? null, changes.dailyLimit !== undefined, changes.dailyLimit ?? null],
  );
}

/** Disables an active device; returns its user, or undefined when it was not active. */
export async function disableDeviceRow(
  q: Queryable,
  deviceId: string,
  at: Date,
  by: string,
): Promise<{ user_id: string } | undefined> {
  const { rows } = await q.query<{ user_id: string }>(
    `UPDATE identity_devices SET status = 'disabled', disabled_at = $2, disabled_by = $3
     WHERE id = $1 AND status = 'active' RETURNING user_id`,
    [deviceId, at, by],
  );
  return rows[0];
}

export async function touchDevice(q: Queryable, deviceId: string, at: Date): Promise<void> {
  await q.query('UPDATE identity_devices SET last_used_at = $2 WHERE id = $1', [deviceId, at]);
}

export async function updateSignCount(q: Queryable, deviceId: string, signCount: number): Promise<void> {
  await q.query('UPDATE identity_devices SET sign_count = $2 WHERE id = $1', [deviceId, signCount]);
}
