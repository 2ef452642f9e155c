import { createHash, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../platform/db/database.ts';
import { invalid, notFound, unauthenticated } from '../platform/errors.ts';
import type { Principal } from '../platform/http/policy.ts';
import { uuidv7 } from '../platform/ids.ts';
import { appendAudit } from './audit.ts';
import { type IdentityContext, randomToken } from './context.ts';

/**
 * Merchants and their API keys. A key is `tym_<prefix>_<secret>`: the prefix finds the row,
 * the secret (256 random bits) is stored only as its SHA-256. The full key is shown once,
 * at creation or rotation.
 */
export const MERCHANT_SCOPES = [
  'payments:read',
  'payments:write',
  'refunds:write',
  'webhooks:manage',
  'keys:manage',
] as const;
export type MerchantScope = (typeof MERCHANT_SCOPES)[number];
export const API_KEY_PREFIX = 'tym_';

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

export function apiKeyView(key: ApiKeyRecord) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    created_at: key.created_at.toISOString(),
    last_used_at: key.last_used_at?.toISOString() ?? null,
    revoked_at: key.revoked_at?.toISOString() ?? null,
  };
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

export async function createMerchant(context: IdentityContext, name: string, actor: string, id?: string) {
  const now = context.clock.now();
  const merchantId = id ?? uuidv7(now.getTime());
  await context.db.transaction(async (tx) => {
    await tx.query(
      'INSERT INTO identity_merchants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
      [merchantId, name, now],
    );
    await appendAudit(tx, now, {
      actor,
      action: 'merchant.created',
      subject: `merchant:${merchantId}`,
      details: { name },
    });
  });
  return (await getMerchant(context.db, merchantId))!;
}

export async function getMerchant(db: Queryable, merchantId: string) {
  const { rows } = await db.query<{ id: string; name: string; status: string; created_at: Date }>(
    'SELECT id, name, status, created_at FROM identity_merchants WHERE id = $1',
    [merchantId],
  );
  return rows[0];
}

function validateScopes(scopes: readonly string[]): void {
  const unknown = scopes.filter((s) => !(MERCHANT_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0 || scopes.length === 0) {
    throw invalid('scope_invalid', `Scopes must be some of: ${MERCHANT_SCOPES.join(', ')}.`, { unknown });
  }
}

async function insertKey(
  context: IdentityContext,
  tx: Queryable,
  merchantId: string,
  name: string,
  scopes: readonly string[],
) {
  const now = context.clock.now();
  const id = uuidv7(now.getTime());
  const prefix = randomToken(context.random, 9);
  const secret = randomToken(context.random, 32);
  await tx.query(
    `INSERT INTO identity_merchant_api_keys (id, merchant_id, name, prefix, secret_digest, scopes, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [id, merchantId, name, prefix, sha256(secret).toString('hex'), [...new Set(scopes)], now],
  );
  return { id, key: `${API_KEY_PREFIX}${prefix}_${secret}` };
}

export async function getApiKey(db: Queryable, keyId: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.query<ApiKeyRecord>(
    'SELECT id, merchant_id, name, prefix, scopes, created_at, last_used_at, revoked_at FROM identity_merchant_api_keys WHERE id = $1',
    [keyId],
  );
  return rows[0];
}

export async function listApiKeys(db: Queryable, merchantId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<ApiKeyRecord>(
    `SELECT id, merchant_id, name, prefix, scopes, created_at, last_used_at, revoked_at FROM identity_merchant_api_keys
     WHERE merchant_id = $1 ORDER BY created_at, id`,
    [merchantId],
  );
  return rows;
}

/** Returns the full key once; only its digest is kept. */
export async function createApiKey(
  context: IdentityContext,
  merchantId: string,
  input: { name: string; scopes: readonly string[] },
  actor: string,
) {
  validateScopes(input.scopes);
  const now = context.clock.now();
  const created = await context.db.transaction(async (tx) => {
    const key = await insertKey(context, tx, merchantId, input.name, input.scopes);
    await appendAudit(tx, now, {
      actor,
      action: 'api_key.created',
      subject: `merchant:${merchantId}`,
      details: { key_id: key.id, scopes: [...input.scopes] },
    });
    return key;
  });
  return { record: (await getApiKey(context.db, created.id))!, key: created.key };
}

/** Replaces a key with a new one of the same scopes; the old one stops working at once. */
export async function rotateApiKey(context: IdentityContext, keyId: string, actor: string) {
  const now = context.clock.now();
  const created = await context.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ merchant_id: string; name: string; scopes: string[] }>(
      'SELECT merchant_id, name, scopes FROM identity_merchant_api_keys WHERE id = $1 AND revoked_at IS NULL FOR UPDATE',
      [keyId],
    );
    const old = rows[0];
    if (!old) throw notFound('api_key_not_found', 'No such active API key.');
    const key = await insertKey(context, tx, old.merchant_id, old.name, old.scopes);
    await tx.query('UPDATE identity_merchant_api_keys SET revoked_at = $2, replaced_by = $3 WHERE id = $1', [
      keyId,
      now,
      key.id,
    ]);
    await appendAudit(tx, now, {
      actor,
      action: 'api_key.rotated',
      subject: `merchant:${old.merchant_id}`,
      details: { key_id: keyId, new_key_id: key.id },
    });
    return key;
  });
  return { record: (await getApiKey(context.db, created.id))!, key: created.key };
}

export async function revokeApiKey(
  context: IdentityContext,
  keyId: string,
  actor: string,
): Promise<ApiKeyRecord> {
  const now = context.clock.now();
  await context.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ merchant_id: string }>(
      'UPDATE identity_merchant_api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING merchant_id',
      [keyId, now],
    );
    if (rows[0])
      await appendAudit(tx, now, {
        actor,
        action: 'api_key.revoked',
        subject: `merchant:${rows[0].merchant_id}`,
        details: { key_id: keyId },
      });
  });
  const key = await getApiKey(context.db, keyId);
  if (!key) throw notFound('api_key_not_found', 'No such API key.');
  return key;
}

/** Authenticates a presented merchant key; throws for a malformed, unknown or revoked one. */
export async function principalFromApiKey(context: IdentityContext, presented: string): Promise<Principal> {
  const match = /^tym_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/.exec(presented);
  const invalidKey = () =>
    unauthenticated('api_key_invalid', 'The API key is not valid or has been revoked.');
  if (!match) throw invalidKey();
  const { rows } = await context.db.query<{
    id: string;
    merchant_id: string;
    secret_digest: string;
    scopes: string[];
    revoked_at: Date | null;
    status: string;
  }>(
    `SELECT k.id, k.merchant_id, k.secret_digest, k.scopes, k.revoked_at, m.status
     FROM identity_merchant_api_keys k JOIN identity_merchants m ON m.id = k.merchant_id WHERE k.prefix = $1`,
    [match[1]],
  );
  const row = rows[0];
  const expected = Buffer.from(row?.secret_digest ?? '0'.repeat(64), 'hex');
  const ok = timingSafeEqual(expected, sha256(match[2]!)) && row && !row.revoked_at;
  if (!ok || !row) throw invalidKey();
  if (row.status !== 'active')
    throw unauthenticated('merchant_suspended', 'This merchant account is suspended; contact support.');
  // Touch last_used_at at most once a minute so authentication stays one read on hot keys.
  void context.db
    .query(
      "UPDATE identity_merchant_api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2 - interval '1 minute')",
      [row.id, context.clock.now()],
    )
    .catch(() => {});
  return {
    key: `merchant:${row.merchant_id}`,
    kind: 'merchant',
    id: row.merchant_id,
    roles: ['merchant'],
    credentialId: row.id,
    scopes: row.scopes,
  };
}
