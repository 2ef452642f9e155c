import { AppError, conflict, invalid, unauthenticated } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { appendAudit } from './audit.ts';
import { isValidChineseId, maskIdNumber, normalizeIdNumber } from './chinese-id.ts';
import { type IdentityContext, keyedDigest } from './context.ts';
import { CURRENT_SEAL_FORMAT, decryptField, encryptField } from './id-encryption.ts';
import type { AccountClass } from './limit-rules.ts';
import { classForSources } from './realname-verifier.ts';
import { assertPhone, consumeSmsCode } from './sms-codes.ts';
import {
  findUserByPhone,
  findUserIdByIdNumberDigest,
  getUser,
  insertUser,
  lockIdNumbersToReseal,
  readSealedIdNumber,
  realNameConflicts,
  recordRealName,
  type UserRecord,
  updatePasswordFree,
  updateSealedIdNumber,
  updateUserPhone,
  updateUserStatus,
} from './store/users.ts';

export { findUserByPhone, getUser, getUsers, type UserRecord } from './store/users.ts';

/** Sign-up is implicit: the first successful SMS login creates a class I account. */
export async function findOrCreateUser(
  context: IdentityContext,
  phone: string,
): Promise<{ user: UserRecord; created: boolean }> {
  assertPhone(phone);
  const existing = await findUserByPhone(context.db, phone);
  if (existing) return { user: existing, created: false };
  const now = context.clock.now();
  const id = uuidv7(now.getTime());
  const inserted = await context.db.transaction(async (tx) => {
    const created = await insertUser(tx, { id, phone, createdAt: now });
    if (created)
      await appendAudit(tx, now, { actor: `user:${id}`, action: 'user.signed_up', subject: `user:${id}` });
    return created;
  });
  const user = await findUserByPhone(context.db, phone);
  return { user: user!, created: inserted };
}

export function userView(user: UserRecord) {
  return {
    id: user.id,
    phone_masked: `${user.phone.slice(0, 3)}****${user.phone.slice(-4)}`,
    status: user.status,
    account_class: (['I', 'II', 'III'] as const)[user.account_class - 1]!,
    real_name_verified: user.verified_at !== null,
    real_name: user.real_name ? maskName(user.real_name) : null,
    id_number_masked: user.id_number_masked,
    password_free_enabled: user.password_free_enabled,
    created_at: user.created_at.toISOString(),
  };
}

/** Shows the surname only: 张三 → 张*. */
function maskName(name: string): string {
  const characters = [...name];
  return characters[0] + '*'.repeat(Math.max(1, characters.length - 1));
}

/**
 * Real-name verification: validates the ID number, asks the verifier connector, and on a
 * match stores the name with the ID number encrypted (and a keyed digest so one identity
 * cannot back several accounts). The class only ever goes up. The real name is set once: a
 * later submission must carry the same name and ID number (to raise the class); any other is
 * refused with 409 real_name_already_set (a change goes through an operator).
 */
export async function verifyRealName(
  context: IdentityContext,
  userId: string,
  input: { name: string; idNumber: string; requestedClass: 2 | 3 },
  /** An operator correcting a verified real name (audited with the reason); users never pass it. */
  correction?: { actor: string; reason: string },
): Promise<UserRecord> {
  const idNumber = normalizeIdNumber(input.idNumber);
  if (!isValidChineseId(idNumber)) {
    throw invalid(
      'id_number_invalid',
      'The ID number is not a valid 18-character resident ID; check each digit.',
    );
  }
  // Set once: a different name or ID number is refused before the verifier is even asked.
  const digest = keyedDigest(context.secrets.hmacKey, 'id-number', idNumber);
  if (!correction && (await realNameConflicts(context.db, userId, input.name, digest)))
    throw realNameAlreadySet();
  const outcome = await context.verifier.verify({
    name: input.name,
    idNumber,
    requestedClass: input.requestedClass,
  });
  if (outcome.status === 'unavailable') {
    throw new AppError(
      'unavailable',
      'verifier_unavailable',
      'The real-name service is unavailable right now; try again in a few minutes.',
    );
  }
  if (outcome.status === 'name_mismatch') {
    throw new AppError(
      'unprocessable',
      'real_name_mismatch',
      'The name does not match the ID number; check both and try again.',
    );
  }
  if (outcome.status === 'id_not_found') {
    throw new AppError(
      'unprocessable',
      'id_number_not_found',
      'No identity with this ID number was found; check the number.',
    );
  }
  const granted = Math.min(classForSources(outcome.sources), input.requestedClass) as AccountClass;
  const now = context.clock.now();
  const sealed = encryptField(context.secrets.keyring, idNumber, userId);
  await context.db.transaction(async (tx) => {
    const owner = await findUserIdByIdNumberDigest(tx, digest);
    if (owner !== undefined && owner !== userId) {
      throw conflict('id_number_in_use', 'This ID number is already verified on another account.');
    }
    const recorded = await recordRealName(tx, userId, {
      name: input.name,
      sealed,
      masked: maskIdNumber(idNumber),
      digest,
      at: now,
      accountClass: granted,
      replace: correction !== undefined,
    });
    // A concurrent first submission with another name won the race: this one changes nothing.
    if (!recorded) throw realNameAlreadySet();
    await appendAudit(tx, now, {
      actor: correction?.actor ?? `user:${userId}`,
      action: correction ? 'operator.real_name_corrected' : 'user.real_name_verified',
      subject: `user:${userId}`,
      details: {
        sources: outcome.sources,
        granted_class: granted,
        id_number: maskIdNumber(idNumber),
        ...(correction ? { reason: correction.reason } : {}),
      },
    });
  });
  return (await getUser(context.db, userId))!;
}

function realNameAlreadySet(): AppError {
  return conflict(
    'real_name_already_set',
    'A real name is already verified on this account; only support can change it.',
  );
}

/** True when `idNumber` is the one verified on the account (PIN reset re-verification). */
export async function idNumberMatches(
  context: IdentityContext,
  userId: string,
  idNumber: string,
): Promise<boolean> {
  const sealed = await readSealedIdNumber(context.db, userId);
  if (!sealed) return false;
  let stored: string;
  try {
    stored = decryptField(context.secrets.keyring, sealed, userId);
  } catch (error) {
    // Not sealed for this user (copied from another row, or tampered with): it proves nothing.
    context.log.error({ err: error, user: userId }, 'stored ID number does not authenticate for its user');
    return false;
  }
  return stored === normalizeIdNumber(idNumber);
}

/**
 * The verified holder (name and full ID number, decrypted here) for checks with third parties
 * such as a bank's four-element card check; null when the account is not real-name verified.
 * Never returned to clients.
 */
export async function verifiedHolder(
  context: IdentityContext,
  userId: string,
): Promise<{ name: string; idNumber: string } | null> {
  const user = await getUser(context.db, userId);
  if (!user?.verified_at || !user.real_name) return null;
  const sealed = await readSealedIdNumber(context.db, userId);
  if (!sealed) return null;
  try {
    return { name: user.real_name, idNumber: decryptField(context.secrets.keyring, sealed, userId) };
  } catch (error) {
    context.log.error({ err: error, user: userId }, 'stored ID number does not authenticate for its user');
    return null;
  }
}

/**
 * Re-encrypts every ID number not under the newest key (after prepending a key to
 * TUYERE_ID_ENCRYPTION_KEYS) or not in the newest format (format 1 rows, not bound to their
 * user). Batched and restartable; returns how many rows moved.
 */
export async function reencryptIdNumbers(context: IdentityContext, batchSize = 500): Promise<number> {
  const { keyring } = context.secrets;
  let moved = 0;
  for (;;) {
    const count = await context.db.transaction(async (tx) => {
      const rows = await lockIdNumbersToReseal(tx, keyring.currentKeyId, CURRENT_SEAL_FORMAT, batchSize);
      for (const row of rows) {
        const sealed = encryptField(keyring, decryptField(keyring, row, row.id), row.id);
        await updateSealedIdNumber(tx, row.id, sealed);
      }
      return rows.length;
    });
    moved += count;
    if (count < batchSize) return moved;
  }
}

export async function setUserStatus(
  context: IdentityContext,
  userId: string,
  status: 'active' | 'frozen',
  actor: string,
  reason: string,
) {
  const now = context.clock.now();
  await context.db.transaction(async (tx) => {
    await updateUserStatus(tx, userId, status);
    await appendAudit(tx, now, {
      actor,
      action: `user.${status === 'frozen' ? 'frozen' : 'unfrozen'}`,
      subject: `user:${userId}`,
      details: { reason },
    });
  });
}

/** Turns password-free small payments on or off. */
export async function setPasswordFree(
  context: IdentityContext,
  userId: string,
  enabled: boolean,
  actor: string,
): Promise<void> {
  const now = context.clock.now();
  await context.db.transaction(async (tx) => {
    await updatePasswordFree(tx, userId, enabled);
    await appendAudit(tx, now, {
      actor,
      action: 'limits.password_free_changed',
      subject: `user:${userId}`,
      details: { enabled },
    });
  });
}

export function requireActive(user: UserRecord | undefined): UserRecord {
  if (!user) throw unauthenticated('account_unknown', 'No such account.');
  if (user.status !== 'active')
    throw unauthenticated('account_disabled', 'This account is frozen; contact support.');
  return user;
}

const maskPhone = (phone: string) => `${phone.slice(0, 3)}****${phone.slice(-4)}`;

function phoneInUse(): AppError {
  return conflict('phone_in_use', 'Another account already uses this phone number.');
}

/** Refuses a new phone that is malformed or already another account's (before an SMS is sent). */
export async function assertPhoneAvailable(context: IdentityContext, phone: string): Promise<void> {
  assertPhone(phone);
  if (await findUserByPhone(context.db, phone)) throw phoneInUse();
}

/**
 * Moves the account to a new phone number, proven by the SMS code sent to that number
 * (purpose phone_change). The caller has already demanded the step-up (PIN or device
 * signature). Audited with both numbers masked.
 */
export async function changePhone(
  context: IdentityContext,
  userId: string,
  input: { newPhone: string; smsCode: string },
): Promise<UserRecord> {
  await assertPhoneAvailable(context, input.newPhone);
  await consumeSmsCode(context, input.newPhone, 'phone_change', input.smsCode);
  const now = context.clock.now();
  await context.db.transaction(async (tx) => {
    const user = await getUser(tx, userId);
    if (!user) throw invalid('account_unknown', 'No such account.');
    let moved: boolean;
    try {
      moved = await updateUserPhone(tx, userId, input.newPhone);
    } catch (error) {
      // Two accounts racing for one number: the unique index refuses the second.
      if ((error as { code?: string }).code === '23505') throw phoneInUse();
      throw error;
    }
    if (!moved) throw phoneInUse();
    await appendAudit(tx, now, {
      actor: `user:${userId}`,
      action: 'user.phone_changed',
      subject: `user:${userId}`,
      details: { from: maskPhone(user.phone), to: maskPhone(input.newPhone) },
    });
  });
  return (await getUser(context.db, userId))!;
}
