import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
} from '@simplewebauthn/server';
import type { Queryable } from '../platform/db/database.ts';
import { AppError, conflict, invalid, notFound } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import {
  canonicalPaymentChallenge,
  challengeMatches,
  challengeServes,
  isStepUpAction,
  MONEY_STEP_UP_ACTIONS,
  type StepUpAction,
  webauthnChallengeFor,
} from './challenge.ts';

export { isStepUpAction, STEP_UP_ACTIONS, type StepUpAction } from './challenge.ts';

import { type IdentityContext, randomToken } from './context.ts';
import { verifyRawSignature } from './device-keys.ts';
import type { VerificationStrength } from './limit-rules.ts';
import { passwordFreeUsage } from './limits.ts';
import { checkPin } from './pin.ts';
import { insertChallenge, lockChallenge, markChallengeUsed } from './store/challenges.ts';
import {
  type DeviceRecord,
  deviceIdByCredential,
  getDevice,
  listDevices,
  touchDevice,
  updateSignCount,
} from './store/devices.ts';
import { getUser } from './store/users.ts';

/**
 * Authorizing money: every request that moves a user's money carries a proof. The server
 * issues a challenge bound to user, amount, currency, payee, purpose, a nonce and an
 * expiry; a device signs it (passkey assertion or raw key), or the user types the PIN.
 * Small payments may go password-free within per-payment and per-day limits.
 */
export type PaymentProof =
  | { type: 'none' }
  | { type: 'pin'; pin: string }
  | { type: 'device_signature'; challengeId: string; deviceId: string; signature: string }
  | { type: 'webauthn'; challengeId: string; response: AuthenticationResponseJSON };

export interface PaymentRequest {
  userId: string;
  /** A step-up action (withdraw, top_up): no password-free, and the challenge's purpose must be it. */
  action?: StepUpAction;
  amount: bigint;
  currency: string;
  /** Who receives the money, e.g. 'user:<id>' or 'merchant:<id>'. */
  payee: string;
  proof: PaymentProof;
}

export interface PaymentAuthorization {
  userId: string;
  strength: VerificationStrength;
  via: 'password_free' | 'pin' | 'device_signature' | 'webauthn';
  deviceId?: string;
  /** The signing device's own daily cap (wearables), for the limits service. */
  deviceDailyLimit?: bigint | null;
  challengeId?: string;
}

export interface PaymentChallenge {
  challenge_id: string;
  payload: string;
  webauthn_challenge: string;
  expires_at: string;
  webauthn_options: Awaited<ReturnType<typeof generateAuthenticationOptions>> | null;
}

/** What a payment challenge row binds (amount as a string of minor units). */
type PaymentChallengePayload = { amount: string; currency: string; payee: string; purpose: string };

export async function createPaymentChallenge(
  context: IdentityContext,
  userId: string,
  input: { amount: bigint; currency: string; payee: string; purpose: string },
): Promise<PaymentChallenge> {
  assertChallengeBinding(userId, input);
  const now = context.clock.now();
  const challengeId = uuidv7(now.getTime());
  const nonce = randomToken(context.random);
  const expiresAt = new Date(now.getTime() + context.settings.challengeTtlSeconds * 1000);
  const payload = canonicalPaymentChallenge({ challengeId, userId, nonce, expiresAt, ...input });
  await insertChallenge(context.db, {
    id: challengeId,
    userId,
    purpose: 'payment',
    nonce,
    payload: {
      amount: input.amount.toString(),
      currency: input.currency,
      payee: input.payee,
      purpose: input.purpose,
    },
    createdAt: now,
    expiresAt,
  });
  const passkeys = (await listDevices(context.db, userId)).filter(
    (d) => d.status === 'active' && d.credential_id,
  );
  const webauthnChallenge = webauthnChallengeFor(payload);
  return {
    challenge_id: challengeId,
    payload,
    webauthn_challenge: webauthnChallenge,
    expires_at: expiresAt.toISOString(),
    webauthn_options:
      passkeys.length === 0
        ? null
        : await generateAuthenticationOptions({
            rpID: context.settings.webauthnRpId,
            challenge: Buffer.from(webauthnChallenge, 'base64url'),
            allowCredentials: passkeys.map((d) => ({ id: d.credential_id! })),
            userVerification: 'preferred',
          }),
  };
}

/** Money challenges bind a positive amount; a non-money step-up binds 0 to the user themself. */
function assertChallengeBinding(userId: string, input: { amount: bigint; payee: string; purpose: string }) {
  if (isStepUpAction(input.purpose) && !MONEY_STEP_UP_ACTIONS.includes(input.purpose)) {
    if (input.amount !== 0n || input.payee !== `user:${userId}`)
      throw invalid(
        'challenge_binding_invalid',
        `A "${input.purpose}" challenge binds amount "0" and payee "user:${userId}".`,
      );
    return;
  }
  if (input.amount <= 0n) throw conflict('amount_invalid', 'The amount must be positive.');
}

const rejected = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError('forbidden', code, message, details);

/**
 * Verifies a payment's proof and returns how strongly it was verified, for the limits
 * service. With `action` (withdraw, top_up) a none proof throws step_up_required and the
 * challenge must carry that purpose. Throws payment_authorization_required (step-up needed),
 * step_up_required, challenge_purpose_mismatch, challenge_not_found,
 * challenge_replayed, challenge_expired, challenge_mismatch, device_not_usable,
 * signature_invalid, pin_incorrect, pin_locked or pin_not_set.
 */
export async function authorizePayment(
  context: IdentityContext,
  request: PaymentRequest,
): Promise<PaymentAuthorization> {
  const { proof } = request;
  if (request.amount <= 0n) throw conflict('amount_invalid', 'The amount must be positive.');
  switch (proof.type) {
    case 'none':
      if (request.action) throw stepUpRequired(request.action);
      await assertPasswordFreeAllowed(context, request);
      return { userId: request.userId, strength: 'single_factor', via: 'password_free' };
    case 'pin':
      await checkPin(context, request.userId, proof.pin, request.action ?? 'payment');
      return { userId: request.userId, strength: 'two_factor', via: 'pin' };
    case 'device_signature':
    case 'webauthn':
      return authorizeBySignature(context, request, proof);
  }
}

export function stepUpRequired(action: StepUpAction): AppError {
  return rejected(
    'step_up_required',
    `This needs your payment PIN or a signature from one of your devices (challenge purpose "${action}").`,
    { action, accepted_proofs: ['pin', 'device_signature', 'webauthn'] },
  );
}

export interface StepUp {
  userId: string;
  action: StepUpAction;
  via: 'pin' | 'device_signature' | 'webauthn';
  deviceId?: string;
}

/**
 * Step-up for a sensitive action that moves no money (adding a device, turning on
 * password-free payments, binding a card, changing the phone): the PIN, or a device's
 * signature over a challenge with this purpose, amount 0 and payee `user:<userId>`.
 * A missing or `none` proof throws step_up_required; another purpose challenge_purpose_mismatch.
 */
export async function requireStepUp(
  context: IdentityContext,
  userId: string,
  action: StepUpAction,
  proof: PaymentProof | undefined,
): Promise<StepUp> {
  if (!proof || proof.type === 'none') throw stepUpRequired(action);
  if (proof.type === 'pin') {
    await checkPin(context, userId, proof.pin, action);
    return { userId, action, via: 'pin' };
  }
  const signed = await authorizeBySignature(
    context,
    { userId, amount: 0n, currency: 'CNY', payee: `user:${userId}`, action, proof },
    proof,
  );
  return { userId, action, via: proof.type, deviceId: signed.deviceId };
}

async function assertPasswordFreeAllowed(context: IdentityContext, request: PaymentRequest): Promise<void> {
  const { settings } = context;
  const user = await getUser(context.db, request.userId);
  const stepUp = (why: string) =>
    rejected('payment_authorization_required', `${why} Confirm with your PIN or a device signature.`, {
      accepted_proofs: ['pin', 'device_signature', 'webauthn'],
    });
  if (!user?.password_free_enabled) throw stepUp('Password-free payments are off for this account.');
  if (request.amount > settings.passwordFreeMaxPayment)
    throw stepUp('This amount is above the password-free limit.');
  const usage = await passwordFreeUsage(context, request.userId, context.clock.now());
  const dailyCap = settings.limits.dailyByStrength.single_factor;
  if (
    (dailyCap !== null && usage.used + request.amount > dailyCap) ||
    usage.payments + 1 > settings.passwordFreeDailyCount
  ) {
    throw stepUp("Today's password-free allowance is used up.");
  }
}

async function authorizeBySignature(
  context: IdentityContext,
  request: PaymentRequest,
  proof: Extract<PaymentProof, { type: 'device_signature' | 'webauthn' }>,
): Promise<PaymentAuthorization> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const challenge = await lockChallenge<PaymentChallengePayload>(
      tx,
      proof.challengeId,
      request.userId,
      'payment',
    );
    if (!challenge) throw notFound('challenge_not_found', 'No such payment challenge; ask for a new one.');
    if (challenge.used_at)
      throw rejected('challenge_replayed', 'This payment challenge was already used; ask for a new one.');
    if (challenge.expires_at.getTime() <= now.getTime())
      throw rejected('challenge_expired', 'This payment challenge has expired; ask for a new one.');
    // A step-up action's challenge serves that action only, and that action only its own challenge.
    const purpose = challenge.payload.purpose;
    if (!challengeServes(purpose, request.action)) {
      throw rejected(
        'challenge_purpose_mismatch',
        request.action
          ? `This challenge was issued for "${purpose}"; ask for one with purpose "${request.action}".`
          : `This challenge was issued for "${purpose}", not for this payment; ask for a new one.`,
      );
    }
    const bound = {
      userId: request.userId,
      amount: BigInt(challenge.payload.amount),
      currency: challenge.payload.currency,
      payee: challenge.payload.payee,
    };
    if (!challengeMatches(bound, request)) {
      throw rejected(
        'challenge_mismatch',
        'The challenge was issued for a different amount, currency or payee; ask for a new one for this payment.',
      );
    }
    const canonical = canonicalPaymentChallenge({
      challengeId: proof.challengeId,
      userId: request.userId,
      amount: bound.amount,
      currency: bound.currency,
      payee: bound.payee,
      purpose: challenge.payload.purpose,
      nonce: challenge.nonce,
      expiresAt: challenge.expires_at,
    });
    const { device, userVerified } =
      proof.type === 'device_signature'
        ? await verifyRawProof(tx, request.userId, proof, canonical)
        : await verifyWebauthnProof(context, tx, request.userId, proof, canonical);
    await markChallengeUsed(tx, proof.challengeId, now);
    await touchDevice(tx, device.id, now);
    // A device still cooling off signs no stronger than the PIN would (see README: new devices).
    const coolingOff =
      now.getTime() < device.created_at.getTime() + context.settings.newDeviceCoolingOffSeconds * 1000;
    return {
      userId: request.userId,
      strength: userVerified && !coolingOff ? 'signature' : 'two_factor',
      via: proof.type,
      deviceId: device.id,
      deviceDailyLimit: device.daily_limit,
      challengeId: proof.challengeId,
    } satisfies PaymentAuthorization;
  });
}

function assertUsable(device: DeviceRecord | undefined, userId: string): DeviceRecord {
  if (!device || device.user_id !== userId || device.status !== 'active') {
    throw rejected('device_not_usable', 'This device is unknown, not yours, or disabled.');
  }
  return device;
}

async function verifyRawProof(
  tx: Queryable,
  userId: string,
  proof: Extract<PaymentProof, { type: 'device_signature' }>,
  canonical: string,
) {
  const device = assertUsable(await getDevice(tx, proof.deviceId), userId);
  if (device.key_type === 'webauthn')
    throw rejected('device_not_usable', 'Passkeys sign with a WebAuthn assertion, not a raw signature.');
  if (!verifyRawSignature(device.key_type, device.public_key, canonical, proof.signature)) {
    throw rejected('signature_invalid', 'The signature does not verify over this payment challenge.');
  }
  return { device, userVerified: device.user_verification };
}

async function verifyWebauthnProof(
  context: IdentityContext,
  tx: Queryable,
  userId: string,
  proof: Extract<PaymentProof, { type: 'webauthn' }>,
  canonical: string,
) {
  const deviceId = await deviceIdByCredential(tx, proof.response.id);
  const device = assertUsable(deviceId ? await getDevice(tx, deviceId) : undefined, userId);
  let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    result = await verifyAuthenticationResponse({
      response: proof.response,
      expectedChallenge: webauthnChallengeFor(canonical),
      expectedOrigin: context.settings.webauthnOrigins,
      expectedRPID: context.settings.webauthnRpId,
      credential: {
        id: device.credential_id!,
        publicKey: new Uint8Array(device.public_key),
        counter: Number(device.sign_count),
      },
      requireUserVerification: false,
    });
  } catch {
    throw rejected('signature_invalid', 'The passkey assertion does not verify over this payment challenge.');
  }
  if (!result.verified)
    throw rejected('signature_invalid', 'The passkey assertion does not verify over this payment challenge.');
  await updateSignCount(tx, device.id, result.authenticationInfo.newCounter);
  return { device, userVerified: result.authenticationInfo.userVerified };
}
