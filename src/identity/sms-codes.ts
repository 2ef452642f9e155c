import { businessDate } from '../platform/clock.ts';
import { AppError, invalid, unauthenticated } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { constantTimeEqualHex, type IdentityContext, keyedDigest, randomDigits } from './context.ts';
import {
  claimSmsDailyBucket,
  claimSmsResendWindow,
  countFailedSmsAttempt,
  insertSmsCode,
  lockLatestSmsCode,
  markSmsCodeConsumed,
} from './store/sms-codes.ts';

/**
 * One-time SMS codes. Only a keyed digest of the code is stored; a code expires, works
 * once, and dies after a few wrong guesses. Sending is throttled per number and per source.
 */
export type SmsPurpose = 'login' | 'staff_login' | 'pin_reset' | 'phone_change';

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
  phone_change: (code) =>
    `[Tuyere] Your code to make this number your Tuyere account's phone is ${code}. Never share it.`,
};

/**
 * Where a request came from, for the per-source SMS caps: an IPv4 address (IPv4-mapped IPv6
 * included), or an IPv6 /64 (one subscriber usually holds a whole /64). Pure.
 */
export function smsSource(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Sends a code to `phone`, asked for from `sourceIp`. Three throttles, each claimed by one
 * conditional upsert in the same transaction as the code row (so concurrent requests cannot
 * all pass a check and then all insert; a refused claim rolls the others back):
 *
 * - one code per number per resend window (all sources together): 5 parallel requests send 1;
 * - a daily cap per (number, source): the victim's own quota is not shared with anyone else's;
 * - a daily cap per source over all numbers: one source cannot SMS-bomb many numbers.
 *
 * Why this cannot lock the owner of a number out of login: there is no daily cap per number
 * alone. An attacker spamming a victim's number uses up only the attacker's own (number, source)
 * and source quotas; the victim, from their own network, still has a full quota for their
 * number. The only cap shared by everyone is the resend wait, and it costs the victim at most
 * `smsResendSeconds` — and the code that holds the window was delivered to the victim's phone,
 * so it works for them. Abuse of one number from many sources is bounded by the resend wait
 * (one SMS per window), and each source by its daily caps.
 */
export async function sendSmsCode(
  context: IdentityContext,
  phone: string,
  purpose: SmsPurpose,
  sourceIp: string,
): Promise<{ expiresAt: Date }> {
  assertPhone(phone);
  const { db, clock, settings, secrets } = context;
  const now = clock.now();
  const today = businessDate(now, settings.timeZone);
  const source = smsSource(sourceIp);
  const code = randomDigits(context.random, 6);
  const expiresAt = new Date(now.getTime() + settings.smsCodeTtlSeconds * 1000);
  await db.transaction(async (tx) => {
    const window = await claimSmsResendWindow(tx, `phone:${phone}`, now, settings.smsResendSeconds);
    if (!window.claimed) {
      const waitMs = settings.smsResendSeconds * 1000 - (now.getTime() - window.lastSentAt.getTime());
      const wait = Math.max(1, Math.ceil(waitMs / 1000));
      throw new AppError(
        'rate_limited',
        'sms_code_too_soon',
        `A code was just sent; wait ${wait} s before asking again.`,
        { retry_after_s: wait },
      );
    }
    if (
      !(await claimSmsDailyBucket(
        tx,
        `phone-ip:${phone}|${source}`,
        today,
        now,
        settings.smsDailyMaxPerPhone,
      ))
    ) {
      throw new AppError(
        'rate_limited',
        'sms_daily_limit',
        'Too many codes were sent to this number today; try again tomorrow.',
      );
    }
    if (!(await claimSmsDailyBucket(tx, `ip:${source}`, today, now, settings.smsDailyMaxPerIp))) {
      throw new AppError(
        'rate_limited',
        'sms_source_daily_limit',
        'Too many codes were requested from this network today; try again tomorrow.',
      );
    }
    await insertSmsCode(tx, {
      id: uuidv7(now.getTime()),
      phone,
      purpose,
      digest: keyedDigest(secrets.hmacKey, 'sms', phone, purpose, code),
      createdAt: now,
      expiresAt,
    });
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
