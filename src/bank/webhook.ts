import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the signature is
 * `v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`, sent with webhook-id and
 * webhook-timestamp (unix seconds). The bank signs; Tuyere verifies.
 */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;
const MAX_SIGNATURE_HEADER_CHARS = 2048;
const MAX_WEBHOOK_ID_CHARS = 128;

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export type WebhookVerifyFailure = 'missing_headers' | 'signature_invalid' | 'timestamp_stale';

export class WebhookVerifyError extends Error {
  readonly code: WebhookVerifyFailure;
  constructor(code: WebhookVerifyFailure, message: string) {
    super(message);
    this.name = 'WebhookVerifyError';
    this.code = code;
  }
}

/** A `whsec_`-prefixed base64 secret is decoded as Standard Webhooks specifies; anything else is used as UTF-8. */
function secretBytes(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

function signatureFor(secret: string, id: string, timestamp: string, body: string | Buffer): Buffer {
  const hmac = createHmac('sha256', secretBytes(secret));
  hmac.update(`${id}.${timestamp}.`);
  hmac.update(body);
  return hmac.digest();
}

export function signWebhook(secret: string, id: string, at: Date, body: string): WebhookHeaders {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signatureFor(secret, id, timestamp, body).toString('base64')}`,
  };
}

function header(
  headers: WebhookHeaders | Record<string, string | string[] | undefined>,
  name: keyof WebhookHeaders,
): string | undefined {
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Verifies a webhook's signature and freshness over the exact raw body bytes. Throws
 * WebhookVerifyError; returns the webhook id on success. The signature header may carry
 * several space-separated signatures (key rotation); any matching v1 signature is accepted.
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookHeaders | Record<string, string | string[] | undefined>,
  rawBody: string | Buffer,
  now: Date,
  toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS,
): string {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerifyError(
      'missing_headers',
      'webhook-id, webhook-timestamp and webhook-signature are required',
    );
  }
  if (
    id.length > MAX_WEBHOOK_ID_CHARS ||
    signatures.length > MAX_SIGNATURE_HEADER_CHARS ||
    !/^\d{1,12}$/.test(timestamp)
  ) {
    throw new WebhookVerifyError('signature_invalid', 'webhook headers are malformed');
  }
  const ageSeconds = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (ageSeconds > toleranceSeconds) {
    throw new WebhookVerifyError(
      'timestamp_stale',
      `webhook timestamp is ${Math.round(ageSeconds)} s away from now`,
    );
  }
  const expected = signatureFor(secret, id, timestamp, rawBody);
  for (const candidate of signatures.split(' ')) {
    const [version, encoded] = candidate.split(',', 2);
    if (version !== 'v1' || !encoded) continue;
    const given = Buffer.from(encoded, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return id;
  }
  throw new WebhookVerifyError('signature_invalid', 'no webhook signature matches');
}
