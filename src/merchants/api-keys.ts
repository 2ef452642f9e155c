import { createHash } from 'node:crypto';
import { forbidden, invalid } from '../platform/errors.ts';
import type { RandomSource } from '../platform/ids.ts';

/**
 * Merchant API keys, as pure rules. A key is `tym_<prefix>_<secret>`: the prefix (9 random
 * bytes, 12 base64url characters) finds the key's row, the secret (32 random bytes, 43
 * characters) is kept only as its SHA-256. The full key is shown once, at creation or rotation.
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
const API_KEY_SHAPE = /^tym_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/;

/** The stored digest of a key's secret (hex). */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new key from `random`: the full key (for the merchant, once) and what is stored. */
export function newApiKey(random: RandomSource): { key: string; prefix: string; digest: string } {
  const prefix = Buffer.from(random.bytes(9)).toString('base64url');
  const secret = Buffer.from(random.bytes(32)).toString('base64url');
  return { key: `${API_KEY_PREFIX}${prefix}_${secret}`, prefix, digest: secretDigest(secret) };
}

/** The parts of a presented key, or undefined when it does not have a key's shape. */
export function parseApiKey(presented: string): { prefix: string; secret: string } | undefined {
  const match = API_KEY_SHAPE.exec(presented);
  return match ? { prefix: match[1]!, secret: match[2]! } : undefined;
}

/** Throws scope_invalid unless `scopes` is a non-empty list of known scopes. */
export function validateScopes(scopes: readonly string[]): void {
  const unknown = scopes.filter((s) => !(MERCHANT_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0 || scopes.length === 0) {
    throw invalid('scope_invalid', `Scopes must be some of: ${MERCHANT_SCOPES.join(', ')}.`, { unknown });
  }
}

/**
 * Who is granting scopes: a merchant's API key holds its own scopes; staff (an operator admin)
 * may grant any. A key can only hand out scopes it holds itself.
 */
export type Grantor = { actor: string; scopes: readonly string[] | 'any' };

/**
 * Throws scope_not_held (403) unless the grantor holds every scope in `granted`: a key with
 * only keys:manage must not mint, or rotate its way into the secret of, a payments:write key.
 */
export function assertMayGrant(grantor: Grantor, granted: readonly string[]): void {
  if (grantor.scopes === 'any') return;
  const held = grantor.scopes;
  const missing = granted.filter((scope) => !held.includes(scope));
  if (missing.length > 0) {
    throw forbidden('scope_not_held', 'An API key can grant only scopes it holds itself.', { missing });
  }
}
