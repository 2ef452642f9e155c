import { businessDate } from '../platform/clock.ts';
import type { Queryable } from '../platform/db/database.ts';
import type { JoinedWrite } from '../platform/db/joined-write.ts';
import { conflict } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import type { IdentityContext } from './context.ts';
import {
  type AccountClass,
  type CounterCharge,
  chargesFor,
  firstExceeded,
  type LimitDenial,
  type PaymentMethod,
  remaining,
  type VerificationStrength,
} from './limit-rules.ts';
import type { CounterKey, CounterRead, CounterWrite, ReservationColumns } from './store/limits.ts';
import * as store from './store/limits.ts';

/**
 * The limits service: "may this user move X by method M now?". A yes reserves the amount
 * on every counter the payment charges, in one transaction, each with a conditional
 * upsert (used + amount <= cap), so concurrent payments can never overshoot a cap.
 * A payment that later fails gives its reservation back with releaseReservation.
 */
export interface LimitCheck {
  /** Caller-chosen id (e.g. the transfer id) makes the call idempotent; otherwise one is generated. */
  reservationId?: string;
  userId: string;
  amount: bigint;
  method: PaymentMethod;
  /** From authorizePayment. */
  authorization: { strength: VerificationStrength; deviceId?: string; deviceDailyLimit?: bigint | null };
  /** The payment funds a red envelope even though its method is a card's (the class I envelope cap). */
  envelope?: boolean;
  /**
   * What the payment is (its target, card...), caller-chosen: a check under an existing
   * reservation id reuses it only with the same fingerprint (and user and amount), so a
   * duplicate with different fields is refused instead of sharing (and later releasing) it.
   */
  fingerprint?: string;
  at?: Date;
}

export type LimitDecision =
  | {
      allowed: true;
      reservationId: string;
      /**
       * True when the reservation already existed under this id (a retry or a concurrent
       * duplicate): this call made nothing, so it must never release it. Only the call that
       * made a reservation (and then only if its payment did not happen) may release it.
       */
      reused?: boolean;
    }
  | { allowed: false; reason: LimitDenial; cap: bigint | null; used: bigint; counter: string };

/** Another call retook the abandoned reservation first. */
class Retaken extends Error {}

class Denied extends Error {
  constructor(readonly charge: CounterCharge) {
    super('limit denied');
  }
}

async function accountClassOf(context: IdentityContext, userId: string): Promise<AccountClass> {
  const found = await store.accountClass(context.db, userId);
  if (!found) throw conflict('account_unknown', 'No such user account.');
  return found;
}

function usedOn(context: IdentityContext, userId: string, charge: Pick<CounterCharge, 'counter' | 'period'>) {
  return store.counterUsage(context.db, userId, charge.counter, charge.period);
}

export async function checkAndReserve(context: IdentityContext, check: LimitCheck): Promise<LimitDecision> {
  if (check.amount <= 0n) throw conflict('amount_invalid', 'The amount must be positive.');
  const at = check.at ?? context.clock.now();
  const reservationId = check.reservationId ?? uuidv7(at.getTime());
  const existing = async (): Promise<LimitDecision | null> => {
    const row = await store.getReservation(context.db, reservationId);
    if (!row) return null;
    if (!sameReservation(row, check)) {
      throw conflict(
        'reservation_exists_with_different_fields',
        'This reservation id was already used for another payment.',
      );
    }
    if (row.state === 'reserved') return { allowed: true, reservationId, reused: true };
    // Abandoned by recovery (its payment never committed): this retry takes it again below.
    if (row.state === 'abandoned') return null;
    throw conflict('reservation_released', 'This reservation was released; use a new id.');
  };
  const found = await existing();
  if (found) return found;
  const abandoned = (await store.getReservation(context.db, reservationId))?.state === 'abandoned';
  const charges = chargesFor(context.settings.limits, {
    accountClass: await accountClassOf(context, check.userId),
    amount: check.amount,
    method: check.method,
    strength: check.authorization.strength,
    businessDate: businessDate(at, context.settings.timeZone),
    deviceId: check.authorization.deviceId,
    deviceDailyLimit: check.authorization.deviceDailyLimit,
    envelope: check.envelope,
  });
  const obvious = firstExceeded(charges, check.amount, () => 0n);
  if (obvious) return denial(context, check.userId, obvious);
  try {
    await context.db.transaction(async (tx) => {
      const columns = reservationColumns([check], [{ index: 0, id: reservationId, at, charges }]);
      // Retaking an abandoned reservation: the state flips first (and locks the row), so two
      // retries cannot both charge the counters; the loser answers as a duplicate below.
      if (
        abandoned &&
        !(await store.retakeAbandonedReservation(tx, reservationId, {
          method: check.method,
          strength: check.authorization.strength,
          counters: columns[5][0]!,
          at,
        }))
      )
        throw new Retaken();
      for (const charge of charges) {
        if (!(await store.chargeCounterWithin(tx, check.userId, charge, check.amount)))
          throw new Denied(charge);
      }
      if (!abandoned) await store.insertReservations(tx, columns);
    });
  } catch (error) {
    if (error instanceof Denied) return denial(context, check.userId, error.charge);
    // A concurrent call made (or retook) the same reservation first: answer as a retry.
    if (error instanceof Retaken || (error as { code?: string }).code === '23505') {
      const raced = await existing();
      if (raced) return raced;
    }
    throw error;
  }
  return { allowed: true, reservationId };
}

/** One check's outcome in a batch: a decision, or the error checkAndReserve would have thrown. */
export type BatchLimitOutcome = LimitDecision | { error: Error };

/** A check that passed the static checks, with the counters it would charge. */
interface Planned {
  index: number;
  id: string;
  at: Date;
  charges: CounterCharge[];
}

/** A counter as a batch decides against it: what it held, plus the earlier checks' charges. */
interface CounterState {
  used: bigint;
  payments: number;
  /** Checks (indexes) of this decision that charged it, in order. */
  chargedBy: number[];
}

/** A reservation row that already exists for a check's id. */
interface PriorReservation {
  user_id: string;
  amount: bigint;
  state: string;
  fingerprint: string | null;
}

/** Whether an existing reservation is this check's (a retry): same user, amount and, when both name one, payment. */
function sameReservation(row: PriorReservation, check: LimitCheck): boolean {
  const fingerprintsDiffer =
    row.fingerprint !== null && check.fingerprint !== undefined && row.fingerprint !== check.fingerprint;
  return row.user_id === check.userId && row.amount === check.amount && !fingerprintsDiffer;
}

const counterKey = (userId: string, charge: Pick<CounterCharge, 'counter' | 'period'>) =>
  `${userId}\u0000${charge.counter}\u0000${charge.period}`;

/**
 * The static part of a batch: amounts, account classes and each check's charges. Checks that
 * fail here get their error in `outcomes`; the others are `planned`.
 */
function planChecks(
  context: IdentityContext,
  checks: readonly LimitCheck[],
  classOf: ReadonlyMap<string, AccountClass>,
  now: Date,
  dateOf = businessDates(context),
): { outcomes: Array<BatchLimitOutcome | undefined>; planned: Planned[] } {
  const outcomes: Array<BatchLimitOutcome | undefined> = new Array(checks.length);
  const planned: Planned[] = [];
  checks.forEach((check, index) => {
    if (check.amount <= 0n) {
      outcomes[index] = { error: conflict('amount_invalid', 'The amount must be positive.') };
      return;
    }
    const accountClass = classOf.get(check.userId);
    if (!accountClass) {
      outcomes[index] = { error: conflict('account_unknown', 'No such user account.') };
      return;
    }
    const at = check.at ?? now;
    const charges = chargesFor(context.settings.limits, {
      accountClass,
      amount: check.amount,
      method: check.method,
      strength: check.authorization.strength,
      businessDate: dateOf(at),
      deviceId: check.authorization.deviceId,
      deviceDailyLimit: check.authorization.deviceDailyLimit,
      envelope: check.envelope,
    });
    planned.push({ index, id: check.reservationId ?? uuidv7(at.getTime()), at, charges });
  });
  return { outcomes, planned };
}

/** Business dates by instant: Intl formatting is slow, and a batch shares a few instants. */
function businessDates(context: IdentityContext): (at: Date) => string {
  const dates = new Map<number, string>();
  return (at) => {
    let date = dates.get(at.getTime());
    if (date === undefined) {
      date = businessDate(at, context.settings.timeZone);
      dates.set(at.getTime(), date);
    }
    return date;
  };
}

/** The users' account classes, in one read. */
function classesOf(q: Queryable, checks: readonly LimitCheck[]) {
  return store.accountClasses(q, [...new Set(checks.map((check) => check.userId))]);
}

/**
 * Decides the planned checks in order, each against the counters as the earlier ones left
 * them (the counters in `counterOf` are updated in place). This is checkAndReserve's decision
 * for each check, one after another (planReservations decides a batch with it).
 * `reserved` are the checks that take a new reservation (and charge their counters).
 */
function decideInOrder(
  checks: readonly LimitCheck[],
  planned: readonly Planned[],
  counterOf: (userId: string, charge: CounterCharge) => CounterState,
  existing: Map<string, PriorReservation>,
): { results: Map<number, BatchLimitOutcome>; reserved: Planned[]; deniedBy: Map<number, CounterState> } {
  const results = new Map<number, BatchLimitOutcome>();
  const reserved: Planned[] = [];
  const deniedBy = new Map<number, CounterState>();
  for (const plan of planned) {
    const check = checks[plan.index]!;
    const prior = existing.get(plan.id);
    if (prior) {
      if (!sameReservation(prior, check)) {
        results.set(plan.index, {
          error: conflict(
            'reservation_exists_with_different_fields',
            'This reservation id was already used for another payment.',
          ),
        });
      } else if (prior.state === 'reserved') {
        results.set(plan.index, { allowed: true, reservationId: plan.id });
      } else {
        results.set(plan.index, {
          error: conflict('reservation_released', 'This reservation was released; use a new id.'),
        });
      }
      continue;
    }
    const over = firstExceeded(
      plan.charges,
      check.amount,
      (charge) => counterOf(check.userId, charge).used,
      (charge) => counterOf(check.userId, charge).payments,
    );
    if (over) {
      const counter = counterOf(check.userId, over);
      deniedBy.set(plan.index, counter);
      results.set(plan.index, {
        allowed: false,
        reason: over.denial,
        cap: over.cap,
        used: counter.used,
        counter: over.counter,
      });
      continue;
    }
    for (const charge of plan.charges) {
      const counter = counterOf(check.userId, charge);
      counter.used += check.amount;
      counter.payments += 1;
      counter.chargedBy.push(plan.index);
    }
    existing.set(plan.id, {
      user_id: check.userId,
      amount: check.amount,
      state: 'reserved',
      fingerprint: check.fingerprint ?? null,
    });
    reserved.push(plan);
    results.set(plan.index, { allowed: true, reservationId: plan.id });
  }
  return { results, reserved, deniedBy };
}

/** The reservation rows of `reserved` as columns: id, user, amount, method, strength, counters, created_at. */
function reservationColumns(checks: readonly LimitCheck[], reserved: readonly Planned[]): ReservationColumns {
  return [
    reserved.map((r) => r.id),
    reserved.map((r) => checks[r.index]!.userId),
    reserved.map((r) => checks[r.index]!.amount.toString()),
    reserved.map((r) => checks[r.index]!.method),
    reserved.map((r) => checks[r.index]!.authorization.strength),
    reserved.map((r) => JSON.stringify(r.charges.map((c) => ({ counter: c.counter, period: c.period })))),
    reserved.map((r) => r.at),
    reserved.map((r) => checks[r.index]!.fingerprint ?? null),
  ];
}

/**
 * A batch's limits decided without taking a lock, to be committed with the payments
 * themselves (the wallet joins `write` to the ledger commit of its friend transfers).
 */
export interface ReservationPlan {
  /**
   * One outcome per check, in order: what checkAndReserve would answer for each check in turn
   * against the counters as read. Nothing is reserved until `write` commits.
   */
  decisions: BatchLimitOutcome[];
  /**
   * The counter charges and reservation rows of the allowed checks among `committed` (indexes
   * into the checks; the others are not charged), as a write joined to another module's commit.
   * It is accepted only if every counter it charges still holds what this plan read; otherwise
   * the commit is refused and the caller plans again.
   */
  write(committed: Iterable<number>): JoinedWrite;
  /**
   * Denied checks whose denial may not hold once only `committed` checks are charged: the
   * counter that denied each was charged, earlier in the plan, by an allowed check that is not
   * among `committed`. Plan those again after this commit.
   */
  deniedByUncommitted(committed: Iterable<number>): number[];
}

/**
 * Plans a batch's reservations: reads the counters and the existing reservations (no locks),
 * then decides each check in order exactly like checkAndReserve one by one (same outcomes, same error
 * codes). Nothing is written here; the plan's `write` is optimistic: it charges the counters
 * only if they still hold what was read here, compared under the row lock at commit.
 */
export async function planReservations(
  context: IdentityContext,
  checks: readonly LimitCheck[],
): Promise<ReservationPlan> {
  const now = context.clock.now();
  const dateOf = businessDates(context);
  // The counters are read by key together with the classes, so before the classes are known:
  // the keys of every class a user could have (three at most, and they share their counters).
  const keys = new Map<string, CounterKey>();
  for (const check of checks) {
    if (check.amount <= 0n) continue;
    const date = dateOf(check.at ?? now);
    for (const accountClass of [1, 2, 3] as const) {
      const charges = chargesFor(context.settings.limits, {
        accountClass,
        amount: check.amount,
        method: check.method,
        strength: check.authorization.strength,
        businessDate: date,
        deviceId: check.authorization.deviceId,
        deviceDailyLimit: check.authorization.deviceDailyLimit,
        envelope: check.envelope,
      });
      for (const charge of charges) {
        keys.set(counterKey(check.userId, charge), {
          userId: check.userId,
          counter: charge.counter,
          period: charge.period,
        });
      }
    }
  }
  const [classOf, counterRows, reservationRows] = await Promise.all([
    classesOf(context.db, checks),
    store.readCounters(context.db, [...keys.values()]),
    store.getReservations(
      context.db,
      checks.flatMap((check) => (check.reservationId === undefined ? [] : [check.reservationId])),
    ),
  ]);
  const { outcomes, planned } = planChecks(context, checks, classOf, now, dateOf);
  const read = new Map(counterRows.map((row) => [counterKey(row.user_id, row), row]));
  const state = new Map<string, CounterState & { key: CounterKey; read: CounterRead }>();
  const counterOf = (userId: string, charge: CounterCharge) => {
    const key = counterKey(userId, charge);
    let counter = state.get(key);
    if (!counter) {
      if (!keys.has(key)) throw new Error(`limits: counter ${key} was not read`);
      const row = read.get(key);
      const base: CounterRead = row ? { used: row.used, payments: row.payments } : null;
      counter = {
        used: base?.used ?? 0n,
        payments: base?.payments ?? 0,
        chargedBy: [],
        key: { userId, counter: charge.counter, period: charge.period },
        read: base,
      };
      state.set(key, counter);
    }
    return counter;
  };
  const existing = new Map<string, PriorReservation>(reservationRows.map((row) => [row.id, row]));
  const { results, reserved, deniedBy } = decideInOrder(checks, planned, counterOf, existing);
  for (const [index, outcome] of results) outcomes[index] = outcome;
  const chargesOf = new Map(reserved.map((plan) => [plan.index, plan]));
  return {
    decisions: outcomes as BatchLimitOutcome[],
    write(committed) {
      const charged = new Set<number>();
      for (const index of committed) if (chargesOf.has(index)) charged.add(index);
      const counters: CounterWrite[] = [];
      for (const counter of state.values()) {
        const by = counter.chargedBy.filter((index) => charged.has(index));
        if (by.length === 0) continue;
        counters.push({
          ...counter.key,
          read: counter.read,
          amount: by.reduce((sum, index) => sum + checks[index]!.amount, 0n),
          payments: by.length,
        });
      }
      const rows = reserved.filter((plan) => charged.has(plan.index));
      return store.reservationsWrite(counters, reservationColumns(checks, rows));
    },
    deniedByUncommitted(committed) {
      const done = new Set(committed);
      const again: number[] = [];
      for (const [index, counter] of deniedBy) {
        if (counter.chargedBy.some((earlier) => earlier < index && !done.has(earlier))) again.push(index);
      }
      return again;
    },
  };
}

async function denial(
  context: IdentityContext,
  userId: string,
  charge: CounterCharge,
): Promise<LimitDecision> {
  const { used } = await usedOn(context, userId, charge);
  return { allowed: false, reason: charge.denial, cap: charge.cap, used, counter: charge.counter };
}

/** Gives a failed payment's reservation back. Idempotent: a second call changes nothing. */
export async function releaseReservation(context: IdentityContext, reservationId: string): Promise<boolean> {
  const now = context.clock.now();
  return context.db.transaction((tx) => store.releaseReservationRow(tx, reservationId, now));
}

/** The payment a held reservation was made for, as its owner's recovery sees it. */
export interface HeldReservation {
  reservationId: string;
  userId: string;
  amount: bigint;
  method: string;
  fingerprint: string | null;
  createdAt: Date;
}

/**
 * Reservations still held that were made before `olderThan` by payments whose fingerprint
 * starts with `fingerprintPrefix` (one module's kind of payment), oldest first, a page at a time.
 */
export async function heldReservations(
  context: IdentityContext,
  query: { fingerprintPrefix: string; olderThan: Date; after?: HeldReservation; limit?: number },
): Promise<HeldReservation[]> {
  const after = query.after && { createdAt: query.after.createdAt, id: query.after.reservationId };
  const rows = await store.heldReservationsBefore(
    context.db,
    query.fingerprintPrefix,
    query.olderThan,
    after,
    query.limit ?? 500,
  );
  return rows.map((row) => ({
    reservationId: row.id,
    userId: row.user_id,
    amount: row.amount,
    method: row.method,
    fingerprint: row.fingerprint,
    createdAt: row.created_at,
  }));
}

/**
 * Gives back the reservation of a payment that never committed, on behalf of that payment only:
 * it must still be reserved for the same user and fingerprint. The reservation is locked for
 * the whole decision, so no payment can commit under it (reservationHeld) between the owner's
 * `neverCommitted` check (run in the same transaction, on the owner's own rows) and the release.
 * It ends `abandoned`: a late retry of the payment under the same id takes it again
 * (checkAndReserve), never counted twice. Idempotent: false when nothing was released.
 */
export async function abandonReservation(
  context: IdentityContext,
  owner: { reservationId: string; userId: string; fingerprint: string },
  neverCommitted: (tx: Queryable) => Promise<boolean>,
): Promise<boolean> {
  const now = context.clock.now();
  return context.db.transaction(async (tx) => {
    const row = await store.lockHeldReservation(tx, owner.reservationId);
    if (!row || row.user_id !== owner.userId || row.fingerprint !== owner.fingerprint) return false;
    if (!(await neverCommitted(tx))) return false;
    return store.releaseReservationRow(tx, owner.reservationId, now, 'abandoned');
  });
}

/** A guard for a payment's commit: it commits only while its reservation is held (see abandonReservation). */
export function reservationHeld(reservationId: string): JoinedWrite {
  return store.reservationHeldWrite(reservationId);
}

export interface LimitLine {
  name: string;
  period: string;
  cap: string | null;
  used: string;
  remaining: string | null;
}

/** What a user has left today and this year, for the app and for support staff. */
export async function limitsOverview(
  context: IdentityContext,
  userId: string,
  at: Date = context.clock.now(),
): Promise<LimitLine[]> {
  const accountClass = await accountClassOf(context, userId);
  const today = businessDate(at, context.settings.timeZone);
  const { limits } = context.settings;
  const lines: Array<{ name: string; counter: string; period: string; cap: bigint | null }> = [
    accountClass === 1
      ? { name: 'class_i_lifetime', counter: 'balance_lifetime', period: 'all', cap: limits.classILifetime }
      : {
          name: `class_${accountClass === 2 ? 'ii' : 'iii'}_yearly`,
          counter: 'balance_yearly',
          period: today.slice(0, 4),
          cap: limits.classYearly[accountClass],
        },
    {
      name: 'daily_signature',
      counter: 'strength:signature',
      period: today,
      cap: limits.dailyByStrength.signature,
    },
    {
      name: 'daily_two_factor',
      counter: 'strength:two_factor',
      period: today,
      cap: limits.dailyByStrength.two_factor,
    },
    {
      name: 'daily_password_free',
      counter: 'strength:single_factor',
      period: today,
      cap: limits.dailyByStrength.single_factor,
    },
    {
      name: 'daily_static_qr',
      counter: 'method:static_qr',
      period: today,
      cap: limits.methodDaily.static_qr ?? null,
    },
  ];
  // Class I may send red envelopes up to a lifetime total, however they are paid (DOMAIN.md).
  if (accountClass === 1) {
    lines.push({
      name: 'class_i_red_envelopes_lifetime',
      counter: 'red_envelope_lifetime',
      period: 'all',
      cap: limits.classIEnvelopesLifetime,
    });
  }
  const out: LimitLine[] = [];
  for (const line of lines) {
    const { used } = await usedOn(context, userId, line);
    const left = remaining(line.cap, used);
    out.push({
      name: line.name,
      period: line.period,
      cap: line.cap?.toString() ?? null,
      used: used.toString(),
      remaining: left?.toString() ?? null,
    });
  }
  return out;
}

/** Today's password-free usage, for authorizePayment's step-up decision. */
export async function passwordFreeUsage(context: IdentityContext, userId: string, at: Date) {
  return usedOn(context, userId, {
    counter: 'strength:single_factor',
    period: businessDate(at, context.settings.timeZone),
  });
}
