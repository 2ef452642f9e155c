import { businessDate } from '../platform/clock.ts';
import { AppError, invalid, unauthenticated } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { constantTimeEqualHex, type IdentityContext, keyedDigest, randomDigits } from './context.ts';
import {
  countFailedSmsAttempt,
  insertSmsCode,
  lockLatestSmsCode,
  markSmsCodeConsumed,
  smsCodesSentSince,
} from './store/sms-codes.ts';

/**
 * One-time SMS codes. Only a keyed digest of the code is stored; a code expires, works
 * once, and dies after a few wrong guesses. Sending is throttled per number.
 */
export type SmsPurpose = 'login' | 'staff_login' | 'pin_reset';

export const PHONE_PATTERN = '^1[3-9][0-9]{9}$';
const PHONE = new RegExp(PHONE_PATTERN);

export function assertPhone(phone: string): void {
  if (!PHONE.test(phone))
    throw invalid('phone_invalid', 'phone must be an 11-digit mainland mobile number, e.g. 13800000001.');
}

const MESSAGES: Record<SmsPurpose, (code: string) => string> = {
  login: (code) => `[Tuyere] Your sign-in code is ${code}. It expires in 5 minutes. Never share it.`,
  staff_login: (code) => `[Tuyere staff] Your sign-in code is ${code}. Never share it.`,
  pin_reset: (code) => `[Tuyere] Your code to reset your payment PIN is ${code}. Never share it.`,
};

export async function sendSmsCode(
  context: IdentityContext,
  phone: string,
  purpose: SmsPurpose,
): Promise<{ expiresAt: Date }> {
  assertPhone(phone);
  const { db, clock, settings, secrets } = context;
  const now = clock.now();
  const today = businessDate(now, settings.timeZone);
  const recent = await smsCodesSentSince(db, phone, new Date(now.getTime() - 36 * 3600_000));
  const last = recent[0];
  if (last && now.getTime() - last.getTime() < settings.smsResendSeconds * 1000) {
    const wait = Math.ceil((settings.smsResendSeconds * 1000 - (now.getTime() - last.getTime())) / 1000);
    throw new AppError(
      'rate_limited',
      'sms_code_too_soon',
      `A code was just sent; wait ${wait} s before asking again.`,
      {
        retry_after_s: wait,
      },
    );
  }
  const sentToday = recent.filter((sentAt) => businessDate(sentAt, settings.timeZone) === today).length;
  if (sentToday >= settings.smsDailyMaxPerPhone) {
    throw new AppError(
      'rate_limited',
      'sms_daily_limit',
      'Too many codes were sent to this number today; try again tomorrow.',
    );
  }
  const code = randomDigits(context.random, 6);
  const expiresAt = new Date(now.getTime() + settings.smsCodeTtlSeconds * 1000);
  await insertSmsCode(db, {
    id: uuidv7(now.getTime()),
    phone,
    purpose,
    digest: keyedDigest(secrets.hmacKey, 'sms', phone, purpose, code),
    createdAt: now,
    expiresAt,
  });
  await context.sms.send({ phone, body: MESSAGES[purpose](code) });
  return { expiresAt };
}

/**
 * Consumes the newest code for (phone, purpose). Throws sms_code_invalid, sms_code_expired,
 * sms_code_used or sms_code_attempts_exceeded; all are 401 so a caller learns nothing else.
 */
export async function consumeSmsCode(
  context: IdentityContext,
  phone: string,
  purpose: SmsPurpose,
  code: string,
): Promise<void> {
  const { db, clock, settings, secrets } = context;
  const now = clock.now();
  const digest = keyedDigest(secrets.hmacKey, 'sms', phone, purpose, code);
  const outcome = await db.transaction(async (tx) => {
    const latest = await lockLatestSmsCode(tx, phone, purpose);
    if (!latest) return 'invalid' as const;
    const matches = constantTimeEqualHex(latest.code_digest, digest);
    if (latest.consumed_at) return matches ? ('used' as const) : ('invalid' as const);
    if (latest.failed_attempts >= settings.smsCodeMaxAttempts) return 'attempts' as const;
    if (latest.expires_at.getTime() <= now.getTime()) return 'expired' as const;
    if (!matches) {
      await countFailedSmsAttempt(tx, latest.id);
      return 'invalid' as const;
    }
    await markSmsCodeConsumed(tx, latest.id, now);
    return 'ok' as const;
  });
  switch (outcome) {
    case 'ok':
      return;
    case 'used':
      throw unauthenticated('sms_code_used', 'This code was already used; ask for a new one.');
    case 'expired':
      throw unauthenticated('sms_code_expired', 'This code has expired; ask for a new one.');
    case 'attempts':
      throw unauthenticated('sms_code_attempts_exceeded', 'Too many wrong codes; ask for a new one.');
    default:
      throw unauthenticated('sms_code_invalid', 'The code is wrong; check the SMS and try again.');
  }
}
