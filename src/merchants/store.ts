import type { Queryable } from '../platform/db/database.ts';

/**
 * The merchants module's tables, and the only place with their SQL: merchants_merchants (the
 * account) and merchants_api_keys (keys by public prefix, secrets only as SHA-256 digests).
 */
export type MerchantRecord = { id: string; name: string; status: 'active' | 'suspended'; created_at: Date };

export type ApiKeyRecord = {
  id: string;
  merchant_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
};

const API_KEY_COLUMNS = 'id, merchant_id, name, prefix, scopes, created_at, last_used_at, revoked_at';

/** Inserts a merchant; nothing when the id exists already. */
export async function insertMerchant(
  q: Queryable,
  merchant: { id: string; name: string; createdAt: Date },
): Promise<void> {
  await q.query(
    'INSERT INTO merchants_merchants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
    [merchant.id, merchant.name, merchant.createdAt],
  );
}

export async function getMerchant(q: Queryable, merchantId: string): Promise<MerchantRecord | undefined> {
  const { rows } = await q.query<MerchantRecord>(
    'SELECT id, name, status, created_at FROM merchants_merchants WHERE id = $1',
    [merchantId],
  );
  return rows[0];
}

export async function insertApiKey(
  q: Queryable,
  key: {
    id: string;
    merchantId: string;
    name: string;
    prefix: string;
    secretDigest: string;
    scopes: readonly string[];
    createdAt: Date;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO merchants_api_keys (id, merchant_id, name, prefix, secret_digest, scopes, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [key.id, key.merchantId, key.name, key.prefix, key.secretDigest, key.scopes, key.createdAt],
  );
}

export async function getApiKey(q: Queryable, keyId: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await q.query<ApiKeyRecord>(
    `SELECT ${API_KEY_COLUMNS} FROM merchants_api_keys WHERE id = $1`,
    [keyId],
  );
  return rows[0];
}

export async function listApiKeys(q: Queryable, merchantId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await q.query<ApiKeyRecord>(
    `SELECT ${API_KEY_COLUMNS} FROM merchants_api_keys WHERE merchant_id = $1 ORDER BY created_at, id`,
    [merchantId],
  );
  return rows;
}

/** An unrevoked key, locked (rotation). */
export async function lockActiveApiKey(
  tx: Queryable,
  keyId: string,
): Promise<{ merchant_id: string; name: string; scopes: string[] } | undefined> {
  const { rows } = await tx.query<{ merchant_id: string; name: string; scopes: string[] }>(
    'SELECT merchant_id, name, scopes FROM merchants_api_keys WHERE id = $1 AND revoked_at IS NULL FOR UPDATE',
    [keyId],
  );
  return rows[0];
}

/** Revokes a key rotated away, pointing at its replacement. */
export async function markApiKeyReplaced(
  tx: Queryable,
  keyId: string,
  at: Date,
  newKeyId: string,
): Promise<void> {
  await tx.query('UPDATE merchants_api_keys SET revoked_at = $2, replaced_by = $3 WHERE id = $1', [
    keyId,
    at,
    newKeyId,
  ]);
}

/** Revokes an unrevoked key; returns its merchant, or undefined when it was revoked already or unknown. */
export async function revokeApiKeyRow(
  tx: Queryable,
  keyId: string,
  at: Date,
): Promise<{ merchant_id: string } | undefined> {
  const { rows } = await tx.query<{ merchant_id: string }>(
    'UPDATE merchants_api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING merchant_id',
    [keyId, at],
  );
  return rows[0];
}

export type KeyForAuthentication = {
  id: string;
  merchant_id: string;
  secret_digest: string;
  scopes: string[];
  revoked_at: Date | null;
  /** The merchant's status. */
  status: string;
};

/** The key with this public prefix and its merchant's status: authentication's one read. */
export async function keyForAuthentication(
  q: Queryable,
  prefix: string,
): Promise<KeyForAuthentication | undefined> {
  const { rows } = await q.query<KeyForAuthentication>(
    `SELECT k.id, k.merchant_id, k.secret_digest, k.scopes, k.revoked_at, m.status
     FROM merchants_api_keys k JOIN merchants_merchants m ON m.id = k.merchant_id WHERE k.prefix = $1`,
    [prefix],
  );
  return rows[0];
}

/** Sets last_used_at to `at` unless it was set less than a minute before. */
export async function touchApiKey(q: Queryable, keyId: string, at: Date): Promise<void> {
  await q.query(
    "UPDATE merchants_api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2 - interval '1 minute')",
    [keyId, at],
  );
}

/** Route policies' owner resolvers: the owning merchant's id, or undefined. */
export async function merchantOwner(q: Queryable, merchantId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ owner: string }>(
    'SELECT id AS owner FROM merchants_merchants WHERE id = $1',
    [merchantId],
  );
  return rows[0]?.owner;
}

export async function apiKeyOwner(q: Queryable, keyId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ owner: string }>(
    'SELECT merchant_id AS owner FROM merchants_api_keys WHERE id = $1',
    [keyId],
  );
  return rows[0]?.owner;
}
