import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { RandomSource } from '../../platform/ids.ts';

/**
 * Webhook signing secrets at rest. Tuyere must know a secret to sign with it, so it cannot keep
 * only a digest; it keeps it sealed with AES-256-GCM under a server key
 * (MERCHANTS_WEBHOOK_SECRET_KEY), bound to its endpoint's id as associated data so a sealed
 * secret copied onto another endpoint's row does not open. A database dump alone yields no
 * secret. Stored form: `v1:<base64 of 12-byte IV || ciphertext || 16-byte tag>`.
 */
const VERSION = 'v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The 32-byte key from its base64 or base64url text; throws for anything else. */
export function parseSecretBoxKey(text: string): Buffer {
  const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) throw new Error('MERCHANTS_WEBHOOK_SECRET_KEY must be 32 bytes in base64');
  return key;
}

export function sealSecret(key: Buffer, secret: string, endpointId: string, random: RandomSource): string {
  const iv = Buffer.from(random.bytes(IV_BYTES));
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(endpointId));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return VERSION + Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64');
}

/** The secret sealed for `endpointId`; throws when the key, the endpoint or the bytes differ. */
export function openSecret(key: Buffer, sealed: string, endpointId: string): string {
  if (!sealed.startsWith(VERSION)) throw new Error('unknown sealed webhook secret format');
  const bytes = Buffer.from(sealed.slice(VERSION.length), 'base64');
  const iv = bytes.subarray(0, IV_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(endpointId));
  decipher.setAuthTag(tag);
  return Buffer.concat([
    decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
}
