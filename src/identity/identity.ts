import type { Clock } from '../platform/clock.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import type { JoinedWrite } from '../platform/db/joined-write.ts';
import type { Authenticator, Principal } from '../platform/http/policy.ts';
import { cryptoRandom, type RandomSource } from '../platform/ids.ts';
import type { Logger } from '../platform/log.ts';
import { type AuditEntry, appendAudit, verifyAuditChain } from './audit.ts';
import { type IdentityContext, identitySecrets, identitySettings } from './context.ts';
import {
  abandonReservation,
  checkAndReserve,
  type HeldReservation,
  heldReservations,
  type LimitCheck,
  type LimitDecision,
  limitsOverview,
  planReservations,
  type ReservationPlan,
  releaseReservation,
  reservationHeld,
} from './limits.ts';
import {
  authorizePayment,
  createPaymentChallenge,
  type PaymentAuthorization,
  type PaymentProof,
  type PaymentRequest,
  requireStepUp,
  type StepUp,
  type StepUpAction,
} from './payment-authorization.ts';
import { type RealNameVerifier, SandboxRealNameVerifier } from './realname-verifier.ts';
import { bearerToken, openSession, principalFromAccessToken, sessionStillActive } from './sessions.ts';
import type { IdentityConfig } from './settings.ts';
import { SandboxSmsSender, type SmsSender } from './sms-sender.ts';
import { createStaff, type StaffRole, staffView } from './staff.ts';
import { findAuditRows } from './store/audit.ts';
import {
  findOrCreateUser,
  findUserByPhone,
  getUser,
  getUsers,
  reencryptIdNumbers,
  type UserRecord,
  verifiedHolder,
} from './users.ts';

/**
 * The identity module's service: who is calling (authenticators), whether they may move
 * money (authorizePayment) and how much (checkAndReserve / releaseReservation), plus the
 * audit log. Other modules use this object, never identity's tables.
 */
export class Identity {
  readonly context: IdentityContext;
  /** The sandbox SMS inbox (tests and the demo read codes from it). */
  readonly sandboxSms: SandboxSmsSender | undefined;

  constructor(options: {
    db: Database;
    clock: Clock;
    log: Logger;
    config: IdentityConfig;
    random?: RandomSource;
    sms?: SmsSender;
    verifier?: RealNameVerifier;
  }) {
    this.sandboxSms = options.sms
      ? options.sms instanceof SandboxSmsSender
        ? options.sms
        : undefined
      : new SandboxSmsSender(options.db, options.clock);
    this.context = {
      db: options.db,
      clock: options.clock,
      log: options.log.child({ module: 'identity' }),
      random: options.random ?? cryptoRandom,
      settings: identitySettings(options.config),
      secrets: identitySecrets(options.config),
      sms: options.sms ?? this.sandboxSms!,
      verifier: options.verifier ?? new SandboxRealNameVerifier(),
    };
  }

  /**
   * Resolves `Authorization: Bearer` session tokens (JWT); null for any other bearer value (an
   * operator token, a merchant's API key: other authenticators' business). The server refuses
   * a bearer value no authenticator recognises; a malformed Authorization header throws here.
   */
  readonly authenticator: Authenticator = async (request) => {
    const token = bearerToken(request);
    if (token === undefined) return null;
    if (token.split('.').length === 3) return principalFromAccessToken(this.context, token);
    return null;
  };

  /**
   * Checks the proof carried by a money-moving request.
   * @example
   *   const authorization = await identity.authorizePayment({
   *     userId, amount: 1250n, currency: 'CNY', payee: `user:${friendId}`,
   *     proof: { type: 'pin', pin: body.pin },
   *   });
   */
  authorizePayment(request: PaymentRequest): Promise<PaymentAuthorization> {
    return authorizePayment(this.context, request);
  }

  /**
   * Demands a step-up for a sensitive action that moves no money (device.add, card.bind, ...):
   * the PIN or a device signature over a challenge with that purpose. Throws step_up_required
   * for a missing or `none` proof; money actions (withdraw, top_up) use authorizePayment with `action`.
   * @example await identity.requireStepUp(userId, 'card.bind', paymentProofFromBody(body.proof));
   */
  requireStepUp(userId: string, action: StepUpAction, proof: PaymentProof | undefined): Promise<StepUp> {
    return requireStepUp(this.context, userId, action, proof);
  }

  /**
   * The verified holder's name and full ID number, for a bank's four-element card check; null
   * when the account is not real-name verified. Stays server-side: never put it in a response.
   */
  verifiedHolder(userId: string): Promise<{ name: string; idNumber: string } | null> {
    return verifiedHolder(this.context, userId);
  }

  createPaymentChallenge(
    userId: string,
    input: { amount: bigint; currency: string; payee: string; purpose: string },
  ) {
    return createPaymentChallenge(this.context, userId, input);
  }

  /**
   * Reserves `amount` against every limit that applies, atomically, or says why not.
   * @example
   *   const decision = await identity.checkAndReserve({
   *     reservationId: transferId, userId, amount, method: 'balance_transfer', authorization,
   *   });
   *   if (!decision.allowed) throw forbidden(decision.reason, 'Over your limit');
   */
  checkAndReserve(check: LimitCheck): Promise<LimitDecision> {
    return checkAndReserve(this.context, check);
  }

  /** Gives back a reservation whose payment failed. Idempotent. */
  releaseReservation(reservationId: string): Promise<boolean> {
    return releaseReservation(this.context, reservationId);
  }

  /**
   * Reservations still held, made before `olderThan` by payments whose fingerprint starts with
   * `fingerprintPrefix` (e.g. 'withdrawal:'): for the owning module's recovery, oldest first.
   */
  heldReservations(query: {
    fingerprintPrefix: string;
    olderThan: Date;
    after?: HeldReservation;
    limit?: number;
  }): Promise<HeldReservation[]> {
    return heldReservations(this.context, query);
  }

  /**
   * Gives back a reservation whose payment never committed, on behalf of that payment only
   * (same id, user and fingerprint). `neverCommitted` runs on the caller's own rows inside the
   * transaction that holds the reservation locked, so no payment commits under it meanwhile.
   * A late retry of the payment takes it again. Idempotent.
   * @example
   *   await identity.abandonReservation({ reservationId: op, userId, fingerprint }, async (tx) =>
   *     !(await getOperation(tx, op)));
   */
  abandonReservation(
    owner: { reservationId: string; userId: string; fingerprint: string },
    neverCommitted: (tx: Queryable) => Promise<boolean>,
  ): Promise<boolean> {
    return abandonReservation(this.context, owner, neverCommitted);
  }

  /** Joined to a payment's commit: it commits only while its reservation is still held. */
  reservationHeld(reservationId: string): JoinedWrite {
    return reservationHeld(reservationId);
  }

  limitsOverview(userId: string) {
    return limitsOverview(this.context, userId);
  }

  /**
   * True while the session a principal signed in with still stands (not logged out, expired or
   * frozen); false for a principal without a session. Long-lived streams re-check it.
   */
  async sessionActive(principal: Principal): Promise<boolean> {
    if (!principal.credentialId) return false;
    return sessionStillActive(this.context, principal.credentialId, principal.id);
  }

  getUser(userId: string): Promise<UserRecord | undefined> {
    return getUser(this.context.db, userId);
  }

  /** Several users by id, in one query (those that exist). */
  getUsers(userIds: readonly string[]): Promise<UserRecord[]> {
    return getUsers(this.context.db, userIds);
  }

  /** The user with this phone number (as stored, e.g. "13800138000"), if any. */
  findUserByPhone(phone: string): Promise<UserRecord | undefined> {
    return findUserByPhone(this.context.db, phone);
  }

  /**
   * Records an action in the hash-chained audit log.
   *
   * Given `tx` (the caller's open transaction), the entry is appended in it, so it commits or
   * rolls back with the action it describes: another module (merchants) records its actions
   * atomically without touching identity's tables itself, since the SQL stays identity's.
   * The audit head row stays locked until that transaction ends (appends are serialized), so
   * join only short transactions. Without `tx` the entry commits on its own.
   * @example
   *   await db.transaction(async (tx) => {
   *     await insertMerchant(tx, merchant);
   *     await identity.audit({ actor, action: 'merchant.created', subject: `merchant:${id}` }, tx);
   *   });
   */
  async audit(entry: AuditEntry, tx?: Queryable): Promise<void> {
    const at = this.context.clock.now();
    if (tx) await appendAudit(tx, at, entry);
    else await this.context.db.transaction((own) => appendAudit(own, at, entry));
  }

  /** Audit entries after `afterSeq`, oldest first, optionally of one subject and/or actor. */
  readAudit(filter: { afterSeq: bigint; limit: number; subject?: string; actor?: string }) {
    return findAuditRows(this.context.db, filter);
  }

  verifyAuditChain() {
    return verifyAuditChain(this.context.db);
  }

  /** After prepending a key to TUYERE_ID_ENCRYPTION_KEYS: moves every ID number to it. */
  /**
   * Creates a staff account outside HTTP (`tuyere create-staff`): how production gets its first
   * operator-admin, since it has no root operator token. Audited with the given actor.
   */
  async createStaff(
    input: { phone: string; name: string; roles: readonly StaffRole[] },
    actor: string,
  ): Promise<ReturnType<typeof staffView>> {
    return staffView(await createStaff(this.context, input, actor));
  }

  reencryptIdNumbers(): Promise<number> {
    return reencryptIdNumbers(this.context);
  }

  /** Signs in a user without SMS (demo seeding and tests only). */
  async issueSessionForTesting(
    phone: string,
  ): Promise<{ user: UserRecord; sessionId: string; accessToken: string; refreshToken: string }> {
    const { user } = await findOrCreateUser(this.context, phone);
    const tokens = await openSession(this.context, 'user', user.id, 'test');
    return {
      user,
      sessionId: tokens.session_id,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
    };
  }

  async issueStaffSessionForTesting(staffId: string): Promise<string> {
    return (await openSession(this.context, 'operator', staffId, 'test')).access_token;
  }

  /**
   * Decides a batch's limits without locking (in order, exactly as checkAndReserve would one by one)
   * and returns the reservations as a write to join to the payments' own commit: the wallet's
   * friend transfers commit limits, ledger transfers and rows together. See ReservationPlan.
   */
  planReservations(checks: readonly LimitCheck[]): Promise<ReservationPlan> {
    return planReservations(this.context, checks);
  }
}
