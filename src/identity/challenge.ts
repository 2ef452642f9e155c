import { createHash } from 'node:crypto';

/**
 * What a device signs. The payload is a JSON array in a fixed order, so every field is
 * bound and no two different challenges share bytes. Pure: ids, nonce and expiry are inputs.
 */
export interface PaymentChallengeFields {
  challengeId: string;
  userId: string;
  amount: bigint;
  currency: string;
  payee: string;
  purpose: string;
  nonce: string;
  expiresAt: Date;
}

const PAYMENT_CHALLENGE_VERSION = 'tuyere-payment-challenge/v1';
const DEVICE_REGISTRATION_VERSION = 'tuyere-device-registration/v1';

/**
 * @example canonicalPaymentChallenge(fields) ===
 *   '["tuyere-payment-challenge/v1","<id>","<user>","1250","CNY","merchant:m1","order:42","<nonce>","2026-01-01T00:02:00.000Z"]'
 */
export function canonicalPaymentChallenge(fields: PaymentChallengeFields): string {
  return JSON.stringify([
    PAYMENT_CHALLENGE_VERSION,
    fields.challengeId,
    fields.userId,
    fields.amount.toString(),
    fields.currency,
    fields.payee,
    fields.purpose,
    fields.nonce,
    fields.expiresAt.toISOString(),
  ]);
}

/** What a native client signs to prove it holds the private key it registers. */
export function canonicalDeviceRegistration(fields: {
  challengeId: string;
  userId: string;
  nonce: string;
  publicKeyDigest: string;
}): string {
  return JSON.stringify([
    DEVICE_REGISTRATION_VERSION,
    fields.challengeId,
    fields.userId,
    fields.nonce,
    fields.publicKeyDigest,
  ]);
}

/** WebAuthn challenges carry the SHA-256 of the canonical payload (base64url). */
export function webauthnChallengeFor(canonical: string): string {
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

/** The bindings a payment must match exactly; any difference means the challenge is not for it. */
export function challengeMatches(
  challenge: Pick<PaymentChallengeFields, 'userId' | 'amount' | 'currency' | 'payee'>,
  payment: { userId: string; amount: bigint; currency: string; payee: string },
): boolean {
  return (
    challenge.userId === payment.userId &&
    challenge.amount === payment.amount &&
    challenge.currency === payment.currency &&
    challenge.payee === payment.payee
  );
}

/**
 * Sensitive actions that need a step-up: the PIN or a signature over a challenge whose
 * purpose names the action. withdraw and top_up move money (the challenge binds amount and
 * payee `card:<id>`); the others bind amount 0 and payee `user:<the user>`.
 */
export const STEP_UP_ACTIONS = [
  'device.add',
  'password_free.enable',
  'card.bind',
  'phone.change',
  'withdraw',
  'top_up',
] as const;
export type StepUpAction = (typeof STEP_UP_ACTIONS)[number];
export const MONEY_STEP_UP_ACTIONS: readonly string[] = ['withdraw', 'top_up'] satisfies StepUpAction[];

export function isStepUpAction(purpose: string): purpose is StepUpAction {
  return (STEP_UP_ACTIONS as readonly string[]).includes(purpose);
}

/**
 * Whether a challenge issued with `purpose` may authorize a request for `action` (undefined: an
 * ordinary payment). A step-up action's challenge serves that action only, and a step-up
 * action accepts only its own challenge; ordinary payments keep their free-form purposes.
 * @example challengeServes('withdraw', 'withdraw') === true
 * @example challengeServes('device.add', 'withdraw') === false
 * @example challengeServes('withdraw', undefined) === false  // not for a transfer either
 * @example challengeServes('order:42', undefined) === true
 */
export function challengeServes(purpose: string, action: StepUpAction | undefined): boolean {
  return (action ?? null) === (isStepUpAction(purpose) ? purpose : null);
}
