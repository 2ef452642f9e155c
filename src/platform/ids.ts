import { hash, randomBytes } from 'node:crypto';

/** Random source, injectable so that pure rules stay deterministic under test. */
export interface RandomSource {
  bytes(length: number): Uint8Array;
}
export const cryptoRandom: RandomSource = { bytes: (n) => randomBytes(n) };

function formatUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * UUIDv7: 48-bit millisecond timestamp then randomness, so ids sort by creation time and
 * B-tree inserts stay append-mostly.
 */
export function uuidv7(atMs: number = Date.now(), random: RandomSource = cryptoRandom): string {
  const bytes = new Uint8Array(16);
  bytes.set(random.bytes(10), 6);
  let ms = BigInt(atMs);
  for (let i = 5; i >= 0; i--) {
    bytes[i] = Number(ms & 0xffn);
    ms >>= 8n;
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return formatUuid(bytes);
}

/**
 * A deterministic id (UUIDv8 layout over SHA-256) for operations that must happen exactly
 * once: the same parts always give the same id, so a retry can never apply twice.
 * Example: `deterministicId('redpacket.grab', envelopeId, userId)`.
 */
export function deterministicId(namespace: string, ...parts: string[]): string {
  // One hashing call over the NUL-joined parts (the same bytes as hashing them one by one):
  // this runs once per grab and per account lookup on the hot paths.
  const digest = hash(
    'sha256',
    parts.length === 0 ? namespace : `${namespace}\u0000${parts.join('\u0000')}`,
    'buffer',
  );
  digest[6] = (digest[6]! & 0x0f) | 0x80;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  return formatUuid(digest.subarray(0, 16));
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
