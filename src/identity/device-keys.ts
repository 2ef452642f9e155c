import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { invalid } from '../platform/errors.ts';

/**
 * Raw device keys from native apps and wearables: P-256 (ECDSA over SHA-256) or Ed25519.
 * Clients send the public key as base64 of SPKI DER, or the bare key (65-byte uncompressed
 * P-256 point, 32-byte Ed25519). Stored as SPKI DER.
 */
export type RawKeyType = 'p256' | 'ed25519';

const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function parseRawPublicKey(keyType: RawKeyType, encoded: string): { spki: Buffer; key: KeyObject } {
  const bytes = Buffer.from(encoded, 'base64');
  let spki = bytes;
  if (keyType === 'p256' && bytes.length === 65 && bytes[0] === 0x04)
    spki = Buffer.concat([P256_SPKI_PREFIX, bytes]);
  if (keyType === 'ed25519' && bytes.length === 32) spki = Buffer.concat([ED25519_SPKI_PREFIX, bytes]);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    throw invalid(
      'public_key_invalid',
      'public_key must be base64 of an SPKI DER key or a raw P-256/Ed25519 key.',
    );
  }
  const ok =
    (keyType === 'ed25519' && key.asymmetricKeyType === 'ed25519') ||
    (keyType === 'p256' &&
      key.asymmetricKeyType === 'ec' &&
      key.asymmetricKeyDetails?.namedCurve === 'prime256v1');
  if (!ok)
    throw invalid(
      'public_key_invalid',
      `public_key is not a ${keyType === 'p256' ? 'P-256' : 'Ed25519'} key.`,
    );
  return { spki: key.export({ format: 'der', type: 'spki' }) as Buffer, key };
}

export function publicKeyDigest(spki: Buffer): string {
  return createHash('sha256').update(spki).digest('base64url');
}

/**
 * Verifies a raw signature over `message`. P-256 signatures may be DER or the 64-byte
 * r||s (IEEE P1363) form that WebCrypto produces.
 */
export function verifyRawSignature(
  keyType: RawKeyType,
  spki: Buffer,
  message: string,
  signatureBase64: string,
): boolean {
  const signature = Buffer.from(signatureBase64, 'base64');
  if (signature.length === 0 || signature.length > 200) return false;
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const data = Buffer.from(message, 'utf8');
  try {
    if (keyType === 'ed25519') return verify(null, data, key, signature);
    const dsaEncoding = signature.length === 64 ? 'ieee-p1363' : 'der';
    return verify('sha256', data, { key, dsaEncoding }, signature);
  } catch {
    return false;
  }
}
