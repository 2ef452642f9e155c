import { createHmac, createPrivateKey, createPublicKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../platform/clock.ts';
import type { Database } from '../platform/db/database.ts';
import type { RandomSource } from '../platform/ids.ts';
import type { Logger } from '../platform/log.ts';
import { loadOrCreateSecret } from '../platform/secrets.ts';
import { type Keyring, parseKeyring } from './id-encryption.ts';
import type { LimitPolicy } from './limit-rules.ts';
import type { RealNameVerifier } from './realname-verifier.ts';
import type { IdentityConfig } from './settings.ts';
import type { SmsSender } from './sms-sender.ts';

/** Identity's settings, read once from the platform config. */
export interface IdentitySettings {
  timeZone: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  smsCodeTtlSeconds: number;
  smsCodeMaxAttempts: number;
  smsResendSeconds: number;
  smsDailyMaxPerPhone: number;
  smsDailyMaxPerIp: number;
  pinMaxAttempts: number;
  pinLockSeconds: number;
  challengeTtlSeconds: number;
  /** The first PIN needs a session whose SMS login is at most this old. */
  firstPinLoginWindowSeconds: number;
  /** How long a newly added device signs no stronger than the PIN. */
  newDeviceCoolingOffSeconds: number;
  webauthnRpId: string;
  webauthnOrigins: string[];
  limits: LimitPolicy;
  wearableDailyLimit: bigint;
  passwordFreeMaxPayment: bigint;
  passwordFreeDailyCount: number;
}

export function identitySettings(config: IdentityConfig): IdentitySettings {
  const fen = (value: number) => BigInt(value);
  return {
    timeZone: config.timeZone,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    refreshTokenTtlDays: config.refreshTokenTtlDays,
    smsCodeTtlSeconds: config.smsCodeTtlSeconds,
    smsCodeMaxAttempts: 5,
    smsResendSeconds: config.smsResendSeconds,
    smsDailyMaxPerPhone: config.smsDailyMaxPerPhone,
    smsDailyMaxPerIp: config.smsDailyMaxPerIp,
    pinMaxAttempts: config.pinMaxAttempts,
    pinLockSeconds: config.pinLockSeconds,
    challengeTtlSeconds: config.challengeTtlSeconds,
    firstPinLoginWindowSeconds: config.firstPinLoginWindowSeconds,
    newDeviceCoolingOffSeconds: config.newDeviceCoolingOffSeconds,
    webauthnRpId: config.webauthnRpId,
    webauthnOrigins: config.webauthnOrigins
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    limits: {
      classILifetime: fen(config.limitClassILifetime),
      classIEnvelopesLifetime: fen(config.limitClassIEnvelopesLifetime),
      classYearly: { 2: fen(config.limitClassIIYearly), 3: fen(config.limitClassIIIYearly) },
      dailyByStrength: {
        signature: fen(config.limitDailySignature),
        two_factor: fen(config.limitDailyTwoFactor),
        single_factor: fen(config.limitDailySingleFactor),
      },
      methodDaily: { static_qr: fen(config.limitDailyStaticQr) },
      singleFactorDailyCount: config.passwordFreeDailyCount,
    },
    wearableDailyLimit: fen(config.limitDailyWearable),
    passwordFreeMaxPayment: fen(config.passwordFreeMaxPayment),
    passwordFreeDailyCount: config.passwordFreeDailyCount,
  };
}

/** Secrets identity needs: from config, or generated once into the data directory. */
export interface IdentitySecrets {
  keyring: Keyring;
  hmacKey: Buffer;
  pinPepper: Buffer;
  signingKey: KeyObject;
  verifyingKey: KeyObject;
}

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function identitySecrets(config: IdentityConfig): IdentitySecrets {
  const secret = (name: string, fromEnv: string) => loadOrCreateSecret(config, name, fromEnv || undefined);
  const keyringSpec =
    config.idEncryptionKeys ||
    `local1:${Buffer.from(secret('id-encryption-key', ''), 'base64url').toString('base64')}`;
  const seed = Buffer.from(secret('jwt-ed25519-seed', config.jwtSigningKey), 'base64url');
  if (seed.length !== 32) throw new Error('TUYERE_JWT_SIGNING_KEY must be a base64url 32-byte Ed25519 seed');
  const signingKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return {
    keyring: parseKeyring(keyringSpec),
    hmacKey: Buffer.from(secret('identity-hmac-key', config.identityHmacKey), 'utf8'),
    pinPepper: Buffer.from(secret('pin-pepper', config.pinPepper), 'utf8'),
    signingKey,
    verifyingKey: createPublicKey(signingKey),
  };
}

/** Everything the identity services share. */
export interface IdentityContext {
  db: Database;
  clock: Clock;
  log: Logger;
  random: RandomSource;
  settings: IdentitySettings;
  secrets: IdentitySecrets;
  sms: SmsSender;
  verifier: RealNameVerifier;
}

/** Keyed digest (HMAC-SHA256, hex) for low-entropy values such as SMS codes and ID numbers. */
export function keyedDigest(key: Buffer, ...parts: string[]): string {
  const hmac = createHmac('sha256', key);
  hmac.update(parts.join('\u0000'));
  return hmac.digest('hex');
}

export function constantTimeEqualHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

export function randomDigits(random: RandomSource, count: number): string {
  // Rejection sampling keeps every digit uniform.
  let out = '';
  while (out.length < count) {
    for (const byte of random.bytes(count * 2)) {
      if (byte < 250 && out.length < count) out += String(byte % 10);
    }
  }
  return out;
}

export function randomToken(random: RandomSource, bytes = 32): string {
  return Buffer.from(random.bytes(bytes)).toString('base64url');
}
