import { businessDate } from '../platform/clock.ts';
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
  at?: Date;
}

export type LimitDecision =
  | { allowed: true; reservationId: string }
  | { allowed: false; reason: LimitDenial; cap: bigint | null; used: bigint; counter: string };

class Denied extends Error {
  constructor(readonly charge: CounterCharge) {
    super('limit denied');
  }
}

async function accountClassOf(context: IdentityContext, userId: string): Promise<AccountClass> {
  const { rows } = await context.db.query<{ account_class: number }>(
    'SELECT account_class FROM identity_users WHERE id = $1',
    [userId],
  );
  if (!rows[0]) throw conflict('account_unknown', 'No such user account.');
  return rows[0].account_class as AccountClass;
}

async function usedOn(
  context: IdentityContext,
  userId: string,
  charge: Pick<CounterCharge, 'counter' | 'period'>,
) {
  const { rows } = await context.db.query<{ used: bigint; payments: number }>(
    'SELECT used, payments FROM identity_limit_counters WHERE user_id = $1 AND counter = $2 AND period = $3',
    [userId, charge.counter, charge.period],
  );
  return { used: rows[0]?.used ?? 0n, payments: rows[0]?.payments ?? 0 };
}

export async function checkAndReserve(context: IdentityContext, check: LimitCheck): Promise<LimitDecision> {
  if (check.amount <= 0n) throw conflict('amount_invalid', 'The amount must be positive.');
  const at = check.at ?? context.clock.now();
  const reservationId = check.reservationId ?? uuidv7(at.getTime());
  const existing = await context.db.query<{ user_id: string; amount: bigint; state: string }>(
    'SELECT user_id, amount, state FROM identity_limit_reservations WHERE id = $1',
    [reservationId],
  );
  if (existing.rows[0]) {
    const row = existing.rows[0];
    if (row.user_id !== check.userId || row.amount !== check.amount) {
      throw conflict(
        'reservation_exists_with_different_fields',
        'This reservation id was already used for another payment.',
      );
    }
    if (row.state === 'reserved') return { allowed: true, reservationId };
    throw conflict('reservation_released', 'This reservation was released; use a new id.');
  }
  const charges = chargesFor(context.settings.limits, {
    accountClass: await accountClassOf(context, check.userId),
    amount: check.amount,
    method: check.method,
    strength: check.authorization.strength,
    businessDate: businessDate(at, context.settings.timeZone),
    deviceId: check.authorization.deviceId,
    deviceDailyLimit: check.authorization.deviceDailyLimit,
  });
  const obvious = firstExceeded(charges, check.amount, () => 0n);
  if (obvious) return denial(context, check.userId, obvious);
  try {
    await context.db.transaction(async (tx) => {
      for (const charge of charges) {
        const { rowCount } = await tx.query(
          `INSERT INTO identity_limit_counters AS c (user_id, counter, period, used, payments) VALUES ($1, $2, $3, $4, 1)
           ON CONFLICT (user_id, counter, period) DO UPDATE SET used = c.used + excluded.used, payments = c.payments + 1
           WHERE ($5::bigint IS NULL OR c.used + excluded.used <= $5::bigint)
             AND ($6::integer IS NULL OR c.payments + 1 <= $6::integer)`,
          [check.userId, charge.counter, charge.period, check.amount, charge.cap, charge.maxPayments],
        );
        if (rowCount !== 1) throw new Denied(charge);
      }
      await tx.query(
        `INSERT INTO identity_limit_reservations (id, user_id, amount, method, strength, counters, state, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'reserved', $7)`,
        [
          reservationId,
          check.userId,
          check.amount,
          check.method,
          check.authorization.strength,
          JSON.stringify(charges.map((c) => ({ counter: c.counter, period: c.period }))),
          at,
        ],
      );
    });
  } catch (error) {
    if (error instanceof Denied) return denial(context, check.userId, error.charge);
    throw error;
  }
  return { allowed: true, reservationId };
}

/** One check's outcome in a batch: a decision, or the error checkAndReserve would have thrown. */
export type BatchLimitOutcome = LimitDecision | { error: Error };

/**
 * checkAndReserve for many payments at once (the wallet's group commit): one transaction
 * for the whole batch instead of one per payment, with the same guarantees.
 * - Every counter the batch charges is locked first (a no-op upsert in a fixed order:
 *   user, counter, period), so concurrent batches and single reservations serialize on
 *   the same rows and can never overshoot a cap.
 * - Existing reservations are read after the locks, so a concurrent duplicate id is seen.
 * - The checks are then decided in order, each against what the earlier ones used, and
 *   all counters and reservations are written by one statement.
 * Results are those of calling checkAndReserve for each check in order.
 */
export async function checkAndReserveMany(
  context: IdentityContext,
  checks: readonly LimitCheck[],
): Promise<BatchLimitOutcome[]> {
  const outcomes: Array<BatchLimitOutcome | undefined> = new Array(checks.length);
  const now = context.clock.now();
  const userIds = [...new Set(checks.map((check) => check.userId))];
  const { rows: users } = await context.db.query<{ id: string; account_class: number }>(
    'SELECT id, account_class FROM identity_users WHERE id = ANY($1::uuid[])',
    [userIds],
  );
  const classOf = new Map(users.map((row) => [row.id, row.account_class as AccountClass]));
  type Planned = { index: number; id: string; at: Date; charges: CounterCharge[] };
  const planned: Planned[] = [];
  // Intl formatting is slow; a batch shares a few instants, so each date is computed once.
  const dates = new Map<number, string>();
  const dateOf = (at: Date) => {
    let date = dates.get(at.getTime());
    if (date === undefined) {
      date = businessDate(at, context.settings.timeZone);
      dates.set(at.getTime(), date);
    }
    return date;
  };
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
    });
    planned.push({ index, id: check.reservationId ?? uuidv7(at.getTime()), at, charges });
  });
  if (planned.length === 0) return outcomes as BatchLimitOutcome[];
  const key = (userId: string, charge: Pick<CounterCharge, 'counter' | 'period'>) =>
    `${userId}\u0000${charge.counter}\u0000${charge.period}`;
  const lockKeys = new Map<string, { userId: string; counter: string; period: string }>();
  for (const plan of planned) {
    const userId = checks[plan.index]!.userId;
    for (const charge of plan.charges) lockKeys.set(key(userId, charge), { userId, ...charge });
  }
  const sorted = [...lockKeys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

  const decided = await context.db.transaction(async (tx) => {
    const results = new Map<number, BatchLimitOutcome>();
    const { rows: locked } = await tx.query<{
      user_id: string;
      counter: string;
      period: string;
      used: bigint;
      payments: number;
    }>(
      `INSERT INTO identity_limit_counters AS c (user_id, counter, period, used, payments)
       SELECT u, k, p, 0, 0 FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS t(u, k, p, n) ORDER BY n
       ON CONFLICT (user_id, counter, period) DO UPDATE SET used = c.used
       RETURNING user_id, counter, period, used, payments`,
      [sorted.map((k) => k.userId), sorted.map((k) => k.counter), sorted.map((k) => k.period)],
    );
    const state = new Map(
      locked.map((row) => [key(row.user_id, row), { used: row.used, payments: row.payments, dirty: false }]),
    );
    const { rows: existingRows } = await tx.query<{
      id: string;
      user_id: string;
      amount: bigint;
      state: string;
    }>('SELECT id, user_id, amount, state FROM identity_limit_reservations WHERE id = ANY($1::uuid[])', [
      planned.map((plan) => plan.id),
    ]);
    const existing = new Map(existingRows.map((row) => [row.id, row]));
    const reservations: Array<{ plan: Planned; check: LimitCheck }> = [];
    for (const plan of planned) {
      const check = checks[plan.index]!;
      const prior = existing.get(plan.id);
      if (prior) {
        if (prior.user_id !== check.userId || prior.amount !== check.amount) {
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
      const counterOf = (charge: CounterCharge) => state.get(key(check.userId, charge))!;
      const over = firstExceeded(
        plan.charges,
        check.amount,
        (charge) => counterOf(charge).used,
        (charge) => counterOf(charge).payments,
      );
      if (over) {
        results.set(plan.index, {
          allowed: false,
          reason: over.denial,
          cap: over.cap,
          used: counterOf(over).used,
          counter: over.counter,
        });
        continue;
      }
      for (const charge of plan.charges) {
        const counter = counterOf(charge);
        counter.used += check.amount;
        counter.payments += 1;
        counter.dirty = true;
      }
      existing.set(plan.id, { id: plan.id, user_id: check.userId, amount: check.amount, state: 'reserved' });
      reservations.push({ plan, check });
      results.set(plan.index, { allowed: true, reservationId: plan.id });
    }
    if (reservations.length > 0) {
      const changed = sorted.filter((k) => state.get(key(k.userId, k))!.dirty);
      await tx.query(
        `WITH counters AS (
           UPDATE identity_limit_counters c SET used = v.used, payments = v.payments
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int8[], $5::int4[]) AS v(user_id, counter, period, used, payments)
           WHERE c.user_id = v.user_id AND c.counter = v.counter AND c.period = v.period
         )
         INSERT INTO identity_limit_reservations (id, user_id, amount, method, strength, counters, state, created_at)
         SELECT id, user_id, amount, method, strength, counters::jsonb, 'reserved', created_at
         FROM unnest($6::uuid[], $7::uuid[], $8::int8[], $9::text[], $10::text[], $11::text[], $12::timestamptz[])
           AS r(id, user_id, amount, method, strength, counters, created_at)`,
        [
          changed.map((k) => k.userId),
          changed.map((k) => k.counter),
          changed.map((k) => k.period),
          changed.map((k) => state.get(key(k.userId, k))!.used.toString()),
          changed.map((k) => state.get(key(k.userId, k))!.payments),
          reservations.map((r) => r.plan.id),
          reservations.map((r) => r.check.userId),
          reservations.map((r) => r.check.amount.toString()),
          reservations.map((r) => r.check.method),
          reservations.map((r) => r.check.authorization.strength),
          reservations.map((r) =>
            JSON.stringify(r.plan.charges.map((c) => ({ counter: c.counter, period: c.period }))),
          ),
          reservations.map((r) => r.plan.at),
        ],
      );
    }
    return results;
  });
  for (const [index, outcome] of decided) outcomes[index] = outcome;
  return outcomes as BatchLimitOutcome[];
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
  return context.db.transaction(async (tx) => {
    const { rows } = await tx.query<{
      user_id: string;
      amount: bigint;
      counters: Array<{ counter: string; period: string }>;
    }>(
      `UPDATE identity_limit_reservations SET state = 'released', released_at = $2
       WHERE id = $1 AND state = 'reserved' RETURNING user_id, amount, counters`,
      [reservationId, now],
    );
    const reservation = rows[0];
    if (!reservation) return false;
    for (const counter of reservation.counters) {
      await tx.query(
        `UPDATE identity_limit_counters SET used = used - $4, payments = payments - 1
         WHERE user_id = $1 AND counter = $2 AND period = $3`,
        [reservation.user_id, counter.counter, counter.period, reservation.amount],
      );
    }
    return true;
  });
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
