import { createHmac } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { AppError, conflict, invalid } from '../platform/errors.ts';
import { appendAudit } from './audit.ts';
import type { IdentityContext } from './context.ts';
import { consumeSmsCode } from './sms-codes.ts';
import { insertPin, lockPin, pinLock, updatePinFailures, upsertPin } from './store/pins.ts';
import { sessionStartedAt } from './store/sessions.ts';
import { getUser, idNumberMatches } from './users.ts';

/**
 * The payment PIN: 6 digits, hashed with argon2id over HMAC(pepper, user id, PIN), so a
 * stolen table alone cannot be brute-forced (a million PINs is a small space). Wrong PINs
 * count per user under a row lock; reaching the maximum locks PIN use for a while.
 * The PIN is never logged or returned.
 */
export const PIN_PATTERN = '^[0-9]{6}$';
// algorithm 2 is Argon2id (a const enum in the typings, so written as its value).
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

function assertPinShape(pin: string, field = 'pin'): void {
  if (!/^[0-9]{6}$/.test(pin)) throw invalid('pin_format', `${field} must be exactly 6 digits.`);
}

/** Rejects PINs anyone would guess first: all one digit, or a straight run. */
function isWeakPin(pin: string): boolean {
  if (/^(\d)\1{5}$/.test(pin)) return true;
  const ascending = '01234567890';
  const descending = '09876543210';
  return ascending.includes(pin) || descending.includes(pin);
}

function peppered(context: IdentityContext, userId: string, pin: string): string {
  // Hex, because the argon2 binding reads its password as UTF-8.
  return createHmac('sha256', context.secrets.pinPepper).update(`${userId}:${pin}`).digest('hex');
}

async function hashPin(context: IdentityContext, userId: string, pin: string): Promise<string> {
  return hash(peppered(context, userId, pin), ARGON2);
}

function validateNewPin(pin: string): void {
  assertPinShape(pin, 'new_pin');
  if (isWeakPin(pin))
    throw invalid(
      'pin_too_weak',
      'Choose a PIN that is not one repeated digit or a straight run like 123456.',
    );
}

/**
 * First PIN only; changing one needs the old PIN, resetting needs SMS + ID. The PIN is what
 * every step-up rests on, so a session alone (a token stolen from the browser) cannot set it:
 * the session's SMS login must be recent (`sessionId`: the caller's session).
 */
export async function setInitialPin(
  context: IdentityContext,
  userId: string,
  pin: string,
  sessionId: string | undefined,
): Promise<void> {
  validateNewPin(pin);
  const startedAt = sessionId ? await sessionStartedAt(context.db, sessionId, userId) : undefined;
  const windowMs = context.settings.firstPinLoginWindowSeconds * 1000;
  if (!startedAt || context.clock.now().getTime() - startedAt.getTime() > windowMs) {
    throw new AppError(
      'forbidden',
      'recent_login_required',
      `Setting your first payment PIN needs a recent sign-in: sign in again with an SMS code and set it within ${Math.round(windowMs / 60_000)} minutes, or reset the PIN with an SMS code.`,
    );
  }
  const pinHash = await hashPin(context, userId, pin);
  const now = context.clock.now();
  await context.db.transaction(async (tx) => {
    if (!(await insertPin(tx, userId, pinHash, now)))
      throw conflict(
        'pin_already_set',
        'A payment PIN is already set; change it with the old PIN or reset it.',
      );
    await appendAudit(tx, now, { actor: `user:${userId}`, action: 'pin.set', subject: `user:${userId}` });
  });
}

/**
 * Checks a PIN, counting failures. Throws pin_not_set, pin_locked or pin_incorrect
 * (with attempts_left). The row lock serializes one user's attempts so parallel guesses
 * cannot slip past the limit.
 */
export async function checkPin(
  context: IdentityContext,
  userId: string,
  pin: string,
  purpose: string,
): Promise<void> {
  assertPinShape(pin);
  const now = context.clock.now();
  const { settings } = context;
  const result = await context.db.transaction(async (tx) => {
    const row = await lockPin(tx, userId);
    if (!row) return { outcome: 'not_set' as const };
    if (row.locked_until && row.locked_until.getTime() > now.getTime())
      return { outcome: 'locked' as const, until: row.locked_until };
    const failedSoFar = row.locked_until ? 0 : row.failed_attempts; // a lock that ran out starts a fresh count
    if (await verify(row.pin_hash, peppered(context, userId, pin))) {
      await updatePinFailures(tx, userId, 0, null);
      return { outcome: 'ok' as const };
    }
    const failed = failedSoFar + 1;
    const lock =
      failed >= settings.pinMaxAttempts ? new Date(now.getTime() + settings.pinLockSeconds * 1000) : null;
    await updatePinFailures(tx, userId, failed, lock);
    await appendAudit(tx, now, {
      actor: `user:${userId}`,
      action: lock ? 'pin.locked' : 'pin.failed',
      subject: `user:${userId}`,
      details: { purpose, failed_attempts: failed },
    });
    return lock
      ? { outcome: 'locked' as const, until: lock }
      : { outcome: 'incorrect' as const, left: settings.pinMaxAttempts - failed };
  });
  switch (result.outcome) {
    case 'ok':
      return;
    case 'not_set':
      throw conflict('pin_not_set', 'Set a payment PIN first.');
    case 'locked':
      throw new AppError(
        'forbidden',
        'pin_locked',
        `Too many wrong PINs; PIN payments are locked until ${result.until.toISOString()}. Reset the PIN to unlock now.`,
        {
          locked_until: result.until.toISOString(),
        },
      );
    default:
      throw new AppError(
        'forbidden',
        'pin_incorrect',
        `Wrong PIN; ${result.left} attempt(s) left before PIN payments lock.`,
        {
          attempts_left: result.left,
        },
      );
  }
}

async function replacePin(
  context: IdentityContext,
  userId: string,
  newPin: string,
  action: string,
): Promise<void> {
  const pinHash = await hashPin(context, userId, newPin);
  const now = context.clock.now();
  await context.db.transaction(async (tx) => {
    await upsertPin(tx, userId, pinHash, now);
    await appendAudit(tx, now, { actor: `user:${userId}`, action, subject: `user:${userId}` });
  });
}

/** Change: re-verified by the old PIN (which counts toward the lockout like any attempt). */
export async function changePin(
  context: IdentityContext,
  userId: string,
  oldPin: string,
  newPin: string,
): Promise<void> {
  validateNewPin(newPin);
  await checkPin(context, userId, oldPin, 'pin_change');
  await replacePin(context, userId, newPin, 'pin.changed');
}

/**
 * Reset (forgotten or locked PIN): re-verified by a fresh SMS code to the account's phone,
 * and, for a real-name-verified account, the full ID number. Clears the lockout.
 */
export async function resetPin(
  context: IdentityContext,
  userId: string,
  input: { smsCode: string; idNumber?: string; newPin: string },
): Promise<void> {
  validateNewPin(input.newPin);
  const user = await getUser(context.db, userId);
  if (!user) throw invalid('account_unknown', 'No such account.');
  await consumeSmsCode(context, user.phone, 'pin_reset', input.smsCode);
  if (user.verified_at) {
    if (!input.idNumber || !(await idNumberMatches(context, userId, input.idNumber))) {
      throw new AppError(
        'forbidden',
        'id_number_mismatch',
        'The ID number does not match the one verified on this account.',
      );
    }
  }
  await replacePin(context, userId, input.newPin, 'pin.reset');
}

export async function checkPinState(
  context: IdentityContext,
  userId: string,
): Promise<{ set: boolean; locked_until: string | null }> {
  const pin = await pinLock(context.db, userId);
  const lockedUntil = pin?.locked_until;
  const locked = lockedUntil && lockedUntil.getTime() > context.clock.now().getTime();
  return { set: pin !== undefined, locked_until: locked ? lockedUntil.toISOString() : null };
}
