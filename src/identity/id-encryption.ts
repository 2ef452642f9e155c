import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for ID numbers at rest. The keyring lists keys newest first: new writes use
 * the first; any listed key still decrypts, so keys rotate by prepending a new one and
 * re-encrypting (see Identity.reencryptIdNumbers). Stored form: 12-byte IV || ciphertext ||
 * 16-byte tag, with the key id and the format in their own columns (both bound as associated
 * data, with the owning user's id from format 2 on).
 */
export interface Keyring {
  currentKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

/** Parses "k2:base64,k1:base64" (newest first). */
export function parseKeyring(spec: string): Keyring {
  const keys = new Map<string, Buffer>();
  let currentKeyId = '';
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const separator = part.indexOf(':');
    if (separator <= 0) throw new Error('TUYERE_ID_ENCRYPTION_KEYS entries must look like keyId:base64key');
    const id = part.slice(0, separator);
    const key = Buffer.from(part.slice(separator + 1), 'base64');
    if (key.length !== 32) throw new Error(`TUYERE_ID_ENCRYPTION_KEYS key "${id}" must be 32 bytes (base64)`);
    if (keys.has(id)) throw new Error(`TUYERE_ID_ENCRYPTION_KEYS lists key "${id}" twice`);
    keys.set(id, key);
    currentKeyId ||= id;
  }
  if (!currentKeyId) throw new Error('TUYERE_ID_ENCRYPTION_KEYS has no keys');
  return { currentKeyId, keys };
}

/**
 * Ciphertext formats, kept beside the ciphertext (column id_number_format):
 * 1 — associated data is the key id (legacy rows; still decrypted);
 * 2 — associated data is "tuyere:id-number:v2", the key id and the owning user id, so a
 *     ciphertext moved onto another user's row fails authentication.
 * New writes are always the current format; `tuyere reencrypt-ids` upgrades old rows.
 */
export type SealFormat = 1 | 2;
export const CURRENT_SEAL_FORMAT: SealFormat = 2;

export interface Sealed {
  keyId: string;
  ciphertext: Buffer;
  format: SealFormat;
}

function associatedData(format: SealFormat, keyId: string, boundTo: string): Buffer {
  if (format === 1) return Buffer.from(keyId);
  return Buffer.from(`tuyere:id-number:v2\0${keyId}\0${boundTo}`);
}

/** Seals `plaintext` under the newest key, bound to `boundTo` (the owning user's id). */
export function encryptField(keyring: Keyring, plaintext: string, boundTo: string): Sealed {
  const keyId = keyring.currentKeyId;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyring.keys.get(keyId)!, iv);
  cipher.setAAD(associatedData(CURRENT_SEAL_FORMAT, keyId, boundTo));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { keyId, ciphertext: Buffer.concat([iv, body, cipher.getAuthTag()]), format: CURRENT_SEAL_FORMAT };
}

/** Opens a sealed value of any known format; throws when it was not sealed for `boundTo`. */
export function decryptField(keyring: Keyring, sealed: Sealed, boundTo: string): string {
  const { keyId, ciphertext, format } = sealed;
  const key = keyring.keys.get(keyId);
  if (!key) throw new Error(`ID encryption key "${keyId}" is not in the keyring; add it back to decrypt`);
  if (format !== 1 && format !== 2) throw new Error(`Unknown ID ciphertext format ${String(format)}`);
  const decipher = createDecipheriv('aes-256-gcm', key, ciphertext.subarray(0, 12));
  decipher.setAAD(associatedData(format, keyId, boundTo));
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  return Buffer.concat([
    decipher.update(ciphertext.subarray(12, ciphertext.length - 16)),
    decipher.final(),
  ]).toString('utf8');
}

/** Legacy (format 1) sealing, kept only so tests can make rows like those written before format 2. */
export function encryptFieldLegacyForTesting(keyring: Keyring, plaintext: string): Sealed {
  const keyId = keyring.currentKeyId;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyring.keys.get(keyId)!, iv);
  cipher.setAAD(associatedData(1, keyId, ''));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { keyId, ciphertext: Buffer.concat([iv, body, cipher.getAuthTag()]), format: 1 };
}
