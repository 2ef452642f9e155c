import { createHmac, timingSafeEqual } from 'node:crypto';
import { invalid } from '../../platform/errors.ts';
import type { RandomSource } from '../../platform/ids.ts';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com), as pure functions.
 *
 * A secret is `whsec_<base64 of 32 random bytes>`; the HMAC key is the decoded bytes. The
 * signed content is `<webhook-id>.<webhook-timestamp>.<body>` and each signature is
 * `v1,<base64 HMAC-SHA256>`. During a secret rotation's overlap the `webhook-signature` header
 * carries one signature per live secret, space-separated, so a receiver holding either secret
 * verifies the message.
 */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;
const SECRET_SHAPE = /^whsec_([A-Za-z0-9+/]{40,}={0,2})$/;

/** A new signing secret from `random`. */
export function newWebhookSecret(random: RandomSource): string {
  return `${WEBHOOK_SECRET_PREFIX}${Buffer.from(random.bytes(SECRET_BYTES)).toString('base64')}`;
}

/** The HMAC key of a `whsec_` secret; throws webhook_secret_invalid for anything else. */
export function secretKey(secret: string): Buffer {
  const match = SECRET_SHAPE.exec(secret);
  if (!match) throw invalid('webhook_secret_invalid', 'A webhook secret has the form whsec_<base64>.');
  return Buffer.from(match[1]!, 'base64');
}

/** One `v1,<base64>` signature of a message. `timestampSeconds` is Unix seconds. */
export function signature(secret: string, messageId: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${messageId}.${timestampSeconds}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers of one delivery attempt, signed by every live secret. */
export function signedHeaders(
  secrets: readonly string[],
  messageId: string,
  at: Date,
  body: string,
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  if (secrets.length === 0) throw new Error('signedHeaders needs at least one secret');
  const timestampSeconds = Math.floor(at.getTime() / 1000);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((s) => signature(s, messageId, timestampSeconds, body)).join(' '),
  };
}

/**
 * The secrets that sign at `now`: the current one, and the previous one while its overlap
 * window after a rotation lasts.
 */
export function liveSecrets(
  endpoint: { secret: string; previous_secret: string | null; previous_secret_expires_at: Date | null },
  now: Date,
): string[] {
  const previousLive =
    endpoint.previous_secret !== null &&
    endpoint.previous_secret_expires_at !== null &&
    now.getTime() < endpoint.previous_secret_expires_at.getTime();
  return previousLive ? [endpoint.secret, endpoint.previous_secret!] : [endpoint.secret];
}

/**
 * Whether `header` holds a valid v1 signature of the message by `secret` (constant-time per
 * candidate). For the project's own checks; receivers should use the official library.
 */
export function hasValidSignature(
  secret: string,
  messageId: string,
  timestampSeconds: number,
  body: string,
  header: string,
): boolean {
  const expected = Buffer.from(signature(secret, messageId, timestampSeconds, body));
  return header.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
