import {
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Queryable } from '../platform/db/database.ts';
import { AppError, conflict, invalid, notFound } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { appendAudit } from './audit.ts';
import { canonicalDeviceRegistration } from './challenge.ts';
import { type IdentityContext, randomToken } from './context.ts';
import { parseRawPublicKey, publicKeyDigest, type RawKeyType, verifyRawSignature } from './device-keys.ts';
import { insertChallenge, lockChallenge, markChallengeUsed } from './store/challenges.ts';
import {
  countActiveDevices,
  type DeviceKind,
  type DeviceRecord,
  deviceIdByCredential,
  disableDeviceRow,
  getDevice,
  insertDevice,
  listDevices,
  updateDeviceSettings,
} from './store/devices.ts';

/**
 * Devices hold a key pair whose private key never leaves them: passkeys (WebAuthn) in
 * browsers and phones, raw P-256/Ed25519 keys in native apps and wearables. A device can
 * be renamed, given a lower daily limit, or disabled remotely (a lost phone).
 */
export { type DeviceKind, type DeviceRecord, getDevice, listDevices } from './store/devices.ts';

const MAX_DEVICES_PER_USER = 20;

export function deviceView(device: DeviceRecord) {
  return {
    id: device.id,
    kind: device.kind,
    name: device.name,
    key_type: device.key_type,
    user_verification: device.user_verification,
    daily_limit: device.daily_limit === null ? null : device.daily_limit.toString(),
    status: device.status,
    created_at: device.created_at.toISOString(),
    last_used_at: device.last_used_at?.toISOString() ?? null,
    disabled_at: device.disabled_at?.toISOString() ?? null,
  };
}

async function createChallenge(
  context: IdentityContext,
  userId: string,
  purpose: 'device_registration' | 'webauthn_registration',
) {
  const now = context.clock.now();
  const id = uuidv7(now.getTime());
  const nonce = randomToken(context.random);
  const expiresAt = new Date(now.getTime() + context.settings.challengeTtlSeconds * 1000);
  await insertChallenge(context.db, { id, userId, purpose, nonce, payload: {}, createdAt: now, expiresAt });
  return { id, nonce, expiresAt };
}

/**
 * Marks a registration challenge used, once. Returns its nonce; throws challenge_not_found,
 * challenge_expired or challenge_replayed.
 */
async function spendChallenge(
  tx: Queryable,
  now: Date,
  challengeId: string,
  userId: string,
  purpose: 'device_registration' | 'webauthn_registration',
): Promise<{ nonce: string }> {
  const challenge = await lockChallenge(tx, challengeId, userId, purpose);
  if (!challenge) throw notFound('challenge_not_found', 'No such challenge; ask for a new one.');
  if (challenge.used_at)
    throw new AppError(
      'conflict',
      'challenge_replayed',
      'This challenge was already used; ask for a new one.',
    );
  if (challenge.expires_at.getTime() <= now.getTime())
    throw new AppError('conflict', 'challenge_expired', 'This challenge has expired; ask for a new one.');
  await markChallengeUsed(tx, challengeId, now);
  return challenge;
}

async function assertRoomForDevice(tx: Queryable, userId: string): Promise<void> {
  if ((await countActiveDevices(tx, userId)) >= MAX_DEVICES_PER_USER) {
    throw conflict('too_many_devices', `At most ${MAX_DEVICES_PER_USER} active devices; disable one first.`);
  }
}

function defaultDailyLimit(context: IdentityContext, kind: DeviceKind): bigint | null {
  return kind === 'wearable' ? context.settings.wearableDailyLimit : null;
}

/** Step 1 for native keys: a nonce the device signs with the key it registers. */
export async function startRawDeviceRegistration(context: IdentityContext, userId: string) {
  const challenge = await createChallenge(context, userId, 'device_registration');
  return {
    challenge_id: challenge.id,
    nonce: challenge.nonce,
    expires_at: challenge.expiresAt.toISOString(),
    sign_format:
      'JSON array ["tuyere-device-registration/v1", challenge_id, user_id, nonce, base64url(sha256(SPKI DER public key))]',
  };
}

export function rawRegistrationMessage(
  userId: string,
  challengeId: string,
  nonce: string,
  spki: Buffer,
): string {
  return canonicalDeviceRegistration({ challengeId, userId, nonce, publicKeyDigest: publicKeyDigest(spki) });
}

/** Step 2: proof of possession; the signature must verify under the submitted public key. */
export async function completeRawDeviceRegistration(
  context: IdentityContext,
  userId: string,
  input: {
    challengeId: string;
    kind: DeviceKind;
    name: string;
    keyType: RawKeyType;
    publicKey: string;
    signature: string;
    userVerification: boolean;
  },
): Promise<DeviceRecord> {
  const { spki } = parseRawPublicKey(input.keyType, input.publicKey);
  const now = context.clock.now();
  const id = uuidv7(now.getTime());
  await context.db.transaction(async (tx) => {
    const challenge = await spendChallenge(tx, now, input.challengeId, userId, 'device_registration');
    const message = rawRegistrationMessage(userId, input.challengeId, challenge.nonce, spki);
    if (!verifyRawSignature(input.keyType, spki, message, input.signature)) {
      throw new AppError(
        'unprocessable',
        'signature_invalid',
        'The signature does not verify with this public key over the registration challenge.',
      );
    }
    await assertRoomForDevice(tx, userId);
    await insertDevice(tx, {
      id,
      userId,
      kind: input.kind,
      name: input.name,
      keyType: input.keyType,
      publicKey: spki,
      userVerification: input.userVerification,
      dailyLimit: defaultDailyLimit(context, input.kind),
      createdAt: now,
    });
    await appendAudit(tx, now, {
      actor: `user:${userId}`,
      action: 'device.registered',
      subject: `device:${id}`,
      details: {
        user_id: userId,
        kind: input.kind,
        key_type: input.keyType,
        user_verification: input.userVerification,
      },
    });
  });
  return (await getDevice(context.db, id))!;
}

/** Step 1 for passkeys: WebAuthn creation options; the challenge is stored for step 2. */
export async function startWebauthnRegistration(context: IdentityContext, userId: string, userName: string) {
  const existing = await listDevices(context.db, userId);
  const challenge = await createChallenge(context, userId, 'webauthn_registration');
  const options = await generateRegistrationOptions({
    rpName: 'Tuyere',
    rpID: context.settings.webauthnRpId,
    userName,
    userID: Buffer.from(userId.replaceAll('-', ''), 'hex'),
    challenge: challenge.nonce,
    attestationType: 'none',
    excludeCredentials: existing.filter((d) => d.credential_id).map((d) => ({ id: d.credential_id! })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    supportedAlgorithmIDs: [-7, -8],
  });
  return { challenge_id: challenge.id, expires_at: challenge.expiresAt.toISOString(), options };
}

export async function completeWebauthnRegistration(
  context: IdentityContext,
  userId: string,
  input: { challengeId: string; kind: DeviceKind; name: string; response: RegistrationResponseJSON },
): Promise<DeviceRecord> {
  const now = context.clock.now();
  const id = uuidv7(now.getTime());
  await context.db.transaction(async (tx) => {
    const challenge = await spendChallenge(tx, now, input.challengeId, userId, 'webauthn_registration');
    let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verification = await verifyRegistrationResponse({
        response: input.response,
        expectedChallenge: Buffer.from(challenge.nonce).toString('base64url'),
        expectedOrigin: context.settings.webauthnOrigins,
        expectedRPID: context.settings.webauthnRpId,
        requireUserVerification: false,
      });
    } catch (error) {
      throw new AppError(
        'unprocessable',
        'webauthn_registration_invalid',
        `The passkey registration did not verify: ${(error as Error).message}`,
      );
    }
    if (!verification.verified)
      throw new AppError(
        'unprocessable',
        'webauthn_registration_invalid',
        'The passkey registration did not verify.',
      );
    const { credential, userVerified } = verification.registrationInfo;
    await assertRoomForDevice(tx, userId);
    if ((await deviceIdByCredential(tx, credential.id)) !== undefined)
      throw conflict('device_already_registered', 'This passkey is already registered.');
    await insertDevice(tx, {
      id,
      userId,
      kind: input.kind,
      name: input.name,
      keyType: 'webauthn',
      publicKey: Buffer.from(credential.publicKey),
      credential: { id: credential.id, signCount: credential.counter },
      userVerification: userVerified,
      dailyLimit: defaultDailyLimit(context, input.kind),
      createdAt: now,
    });
    await appendAudit(tx, now, {
      actor: `user:${userId}`,
      action: 'device.registered',
      subject: `device:${id}`,
      details: { user_id: userId, kind: input.kind, key_type: 'webauthn', user_verification: userVerified },
    });
  });
  return (await getDevice(context.db, id))!;
}

/**
 * Rename and/or lower the device's daily limit. A user may only lower a limit below the
 * kind's default (raising needs an operator), so a stolen session cannot lift a wearable cap.
 */
export async function updateDevice(
  context: IdentityContext,
  deviceId: string,
  changes: { name?: string; dailyLimit?: bigint | null },
  actor: { key: string; staff: boolean },
): Promise<DeviceRecord> {
  const now = context.clock.now();
  await context.db.transaction(async (tx) => {
    const device = await getDevice(tx, deviceId);
    if (!device) throw notFound('not_found', 'No such device.');
    if (changes.dailyLimit !== undefined && !actor.staff) {
      const ceiling = device.daily_limit ?? defaultDailyLimit(context, device.kind);
      if (ceiling !== null && (changes.dailyLimit === null || changes.dailyLimit > ceiling)) {
        throw new AppError(
          'forbidden',
          'device_limit_raise_forbidden',
          'You can lower a device limit yourself; raising it needs support.',
        );
      }
    }
    await updateDeviceSettings(tx, deviceId, changes);
    await appendAudit(tx, now, {
      actor: actor.key,
      action: changes.dailyLimit !== undefined ? 'device.limit_changed' : 'device.renamed',
      subject: `device:${deviceId}`,
      details: {
        user_id: device.user_id,
        ...(changes.dailyLimit !== undefined
          ? { from: device.daily_limit?.toString() ?? null, to: changes.dailyLimit?.toString() ?? null }
          : {}),
      },
    });
  });
  return (await getDevice(context.db, deviceId))!;
}

export async function disableDevice(
  context: IdentityContext,
  deviceId: string,
  actor: string,
  reason: string,
): Promise<DeviceRecord> {
  const now = context.clock.now();
  await context.db.transaction(async (tx) => {
    const disabled = await disableDeviceRow(tx, deviceId, now, actor);
    if (disabled) {
      await appendAudit(tx, now, {
        actor,
        action: 'device.disabled',
        subject: `device:${deviceId}`,
        details: { user_id: disabled.user_id, reason },
      });
    }
  });
  const device = await getDevice(context.db, deviceId);
  if (!device) throw notFound('not_found', 'No such device.');
  return device;
}

export function assertDeviceName(name: string): void {
  if (name.trim().length === 0)
    throw invalid('device_name_invalid', 'Give the device a name, e.g. "Alice\'s phone".');
}
