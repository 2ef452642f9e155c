import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for ID numbers at rest. The keyring lists keys newest first: new writes use
 * the first; any listed key still decrypts, so keys rotate by prepending a new one and
 * re-encrypting (see Identity.reencryptIdNumbers). Stored form: 12-byte IV || ciphertext ||
 * 16-byte tag, with the key id in its own column (and bound as associated data).
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

export function encryptField(keyring: Keyring, plaintext: string): { keyId: string; ciphertext: Buffer } {
  const keyId = keyring.currentKeyId;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyring.keys.get(keyId)!, iv);
  cipher.setAAD(Buffer.from(keyId));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { keyId, ciphertext: Buffer.concat([iv, body, cipher.getAuthTag()]) };
}

export function decryptField(keyring: Keyring, keyId: string, ciphertext: Buffer): string {
  const key = keyring.keys.get(keyId);
  if (!key) throw new Error(`ID encryption key "${keyId}" is not in the keyring; add it back to decrypt`);
  const decipher = createDecipheriv('aes-256-gcm', key, ciphertext.subarray(0, 12));
  decipher.setAAD(Buffer.from(keyId));
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  return Buffer.concat([
    decipher.update(ciphertext.subarray(12, ciphertext.length - 16)),
    decipher.final(),
  ]).toString('utf8');
}
