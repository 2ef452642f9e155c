import type { Queryable } from '../../platform/db/database.ts';
import type { JoinedWrite } from '../../platform/db/joined-write.ts';
import type { AccountClass } from '../limit-rules.ts';

/**
 * SQL of payment limits: identity_limit_counters (what each user used per counter and period)
 * and identity_limit_reservations (one row per reserved payment, naming the counters it
 * charged). Also the write the limits planner joins to a ledger commit (`reservationsWrite`).
 */

export async function accountClass(q: Queryable, userId: string): Promise<AccountClass | undefined> {
  const { rows } = await q.query<{ account_class: number }>(
    'SELECT account_class FROM identity_users WHERE id = $1',
    [userId],
  );
  return rows[0]?.account_class as AccountClass | undefined;
}

export async function accountClasses(
  q: Queryable,
  userIds: readonly string[],
): Promise<Map<string, AccountClass>> {
  const { rows } = await q.query<{ id: string; account_class: number }>(
    'SELECT id, account_class FROM identity_users WHERE id = ANY($1::uuid[])',
    [userIds],
  );
  return new Map(rows.map((row) => [row.id, row.account_class as AccountClass]));
}

/** What one counter holds (zero when it has no row yet). */
export async function counterUsage(
  q: Queryable,
  userId: string,
  counter: string,
  period: string,
): Promise<{ used: bigint; payments: number }> {
  const { rows } = await q.query<{ used: bigint; payments: number }>(
    'SELECT used, payments FROM identity_limit_counters WHERE user_id = $1 AND counter = $2 AND period = $3',
    [userId, counter, period],
  );
  return { used: rows[0]?.used ?? 0n, payments: rows[0]?.payments ?? 0 };
}

/** A reservation row as the limits service compares it with a new check. */
export type ReservationRow = {
  id: string;
  user_id: string;
  amount: bigint;
  state: string;
  fingerprint: string | null;
};

export async function getReservation(q: Queryable, id: string): Promise<ReservationRow | undefined> {
  const { rows } = await q.query<ReservationRow>(
    'SELECT id, user_id, amount, state, fingerprint FROM identity_limit_reservations WHERE id = $1',
    [id],
  );
  return rows[0];
}

/**
 * Charges one counter if the payment fits (used + amount <= cap, payments + 1 <= maxPayments),
 * creating it if needed; the row stays locked until the transaction ends. False: over the cap.
 */
export async function chargeCounterWithin(
  tx: Queryable,
  userId: string,
  charge: { counter: string; period: string; cap: bigint | null; maxPayments: number | null },
  amount: bigint,
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO identity_limit_counters AS c (user_id, counter, period, used, payments) VALUES ($1, $2, $3, $4, 1)
     ON CONFLICT (user_id, counter, period) DO UPDATE SET used = c.used + excluded.used, payments = c.payments + 1
     WHERE ($5::bigint IS NULL OR c.used + excluded.used <= $5::bigint)
       AND ($6::integer IS NULL OR c.payments + 1 <= $6::integer)`,
    [userId, charge.counter, charge.period, amount, charge.cap, charge.maxPayments],
  );
  return rowCount === 1;
}

export async function insertReservations(tx: Queryable, reservations: ReservationColumns): Promise<void> {
  await tx.query(
    `INSERT INTO identity_limit_reservations (id, user_id, amount, method, strength, counters, state, created_at, fingerprint)
     SELECT id, user_id, amount, method, strength, counters::jsonb, 'reserved', created_at, fingerprint
       FROM unnest($1::uuid[], $2::uuid[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[])
         AS r (id, user_id, amount, method, strength, counters, created_at, fingerprint)`,
    reservations,
  );
}

/**
 * Marks a reservation released and gives its amount back to every counter it charged, in the
 * caller's transaction. False when it was not reserved (unknown, or released already).
 */
export async function releaseReservationRow(
  tx: Queryable,
  reservationId: string,
  at: Date,
  state: 'released' | 'abandoned' = 'released',
): Promise<boolean> {
  const { rows } = await tx.query<{
    user_id: string;
    amount: bigint;
    counters: Array<{ counter: string; period: string }>;
  }>(
    `UPDATE identity_limit_reservations SET state = $3, released_at = $2
     WHERE id = $1 AND state = 'reserved' RETURNING user_id, amount, counters`,
    [reservationId, at, state],
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
}

/** A reservation still held, as recovery lists it for the module whose payment made it. */
export type HeldReservation = {
  id: string;
  user_id: string;
  amount: bigint;
  method: string;
  fingerprint: string | null;
  created_at: Date;
};

/**
 * Reservations still `reserved`, created before `before`, whose fingerprint starts with
 * `fingerprintPrefix` (the owning module's payments), oldest first, after `after` (paging).
 */
export async function heldReservationsBefore(
  q: Queryable,
  fingerprintPrefix: string,
  before: Date,
  after: { createdAt: Date; id: string } | undefined,
  limit: number,
): Promise<HeldReservation[]> {
  const { rows } = await q.query<HeldReservation>(
    `SELECT id, user_id, amount, method, fingerprint, created_at FROM identity_limit_reservations
      WHERE state = 'reserved' AND created_at < $1 AND starts_with(fingerprint, $2)
        AND ($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::uuid))
      ORDER BY created_at, id LIMIT $5`,
    [before, fingerprintPrefix, after?.createdAt ?? null, after?.id ?? null, limit],
  );
  return rows;
}

/**
 * Locks a reservation still `reserved` (FOR UPDATE, until the caller's transaction ends), so no
 * payment can commit under it meanwhile (see reservationHeldWrite). Undefined when not reserved.
 */
export async function lockHeldReservation(tx: Queryable, id: string): Promise<ReservationRow | undefined> {
  const { rows } = await tx.query<ReservationRow>(
    `SELECT id, user_id, amount, state, fingerprint FROM identity_limit_reservations
      WHERE id = $1 AND state = 'reserved' FOR UPDATE`,
    [id],
  );
  return rows[0];
}

/**
 * Takes an abandoned reservation again for a retry of its payment: back to `reserved` with the
 * retry's counters and time. False when it is not abandoned (a concurrent retry took it first).
 * The caller charges the counters in the same transaction.
 */
export async function retakeAbandonedReservation(
  tx: Queryable,
  id: string,
  columns: { method: string; strength: string; counters: string; at: Date },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE identity_limit_reservations
        SET state = 'reserved', method = $2, strength = $3, counters = $4::jsonb, created_at = $5, released_at = NULL
      WHERE id = $1 AND state = 'abandoned'`,
    [id, columns.method, columns.strength, columns.counters, columns.at],
  );
  return rowCount === 1;
}

/**
 * A guard joined to a payment's commit: the payment commits only while its reservation is still
 * `reserved`, and locks it (FOR SHARE) until then, so recovery cannot abandon it in between.
 */
export function reservationHeldWrite(reservationId: string): JoinedWrite {
  return {
    render(sql) {
      const held = sql.name('held_reservation');
      return {
        ctes: [
          `${held} AS (
          SELECT id FROM identity_limit_reservations
           WHERE id = ${sql.param(reservationId)}::uuid AND state = 'reserved' FOR SHARE)`,
        ],
        accepted: `EXISTS (SELECT 1 FROM ${held})`,
      };
    },
  };
}

export interface CounterKey {
  userId: string;
  counter: string;
  period: string;
}

/** What a counter row held when the plan read it; null when there was no row. */
export type CounterRead = { used: bigint; payments: number } | null;

/** One counter a committed plan charges. */
export interface CounterWrite extends CounterKey {
  /** What the plan read: the row must still hold exactly this at commit. */
  read: CounterRead;
  /** Added to `used`. */
  amount: bigint;
  /** Added to `payments`. */
  payments: number;
}

/** Reservation rows as columns: id, user_id, amount, method, strength, counters (JSON), created_at. */
export type ReservationColumns = [
  string[],
  string[],
  string[],
  string[],
  string[],
  string[],
  Date[],
  Array<string | null>,
];

export type CounterRow = {
  user_id: string;
  counter: string;
  period: string;
  used: bigint;
  payments: number;
};

/** The counter rows among `keys` (committed rows, no lock). */
export async function readCounters(q: Queryable, keys: readonly CounterKey[]): Promise<CounterRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await q.query<CounterRow>(
    `SELECT c.user_id, c.counter, c.period, c.used, c.payments
       FROM unnest($1::uuid[], $2::text[], $3::text[]) AS k (user_id, counter, period)
       JOIN identity_limit_counters c ON c.user_id = k.user_id AND c.counter = k.counter AND c.period = k.period`,
    [keys.map((k) => k.userId), keys.map((k) => k.counter), keys.map((k) => k.period)],
  );
  return rows;
}

/** The reservations that already exist among `ids` (committed rows, no lock). */
export async function getReservations(q: Queryable, ids: readonly string[]): Promise<ReservationRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<ReservationRow>(
    'SELECT id, user_id, amount, state, fingerprint FROM identity_limit_reservations WHERE id = ANY($1::uuid[])',
    [ids],
  );
  return rows;
}

/**
 * Charges the counters and inserts the reservation rows, as part of another module's statement
 * (the wallet's ledger commit). Optimistic: nothing was locked when the plan was made, so it is
 * accepted only if
 * - every counter the plan read still holds exactly what it read (used and payments),
 * - every counter the plan found missing is still missing (it is inserted here), and
 * - no reservation with one of these ids appeared meanwhile.
 * Otherwise the whole statement rolls back and the caller plans again.
 *
 * The statement's snapshot can predate a commit that changed a counter (the ledger sends its
 * statement while the previous batch is still committing), so the read values are compared
 * with what `SELECT ... FOR UPDATE` returns, which is the latest committed version, never in
 * the UPDATE's own WHERE: an UPDATE whose snapshot version fails its WHERE skips the row
 * instead of re-checking the latest version, and a moved counter would be charged blind.
 * The UPDATE then adds to the latest version, which the lock proved equal to what was read.
 * Counters are locked in (user, counter, period) byte order, so two batches cannot deadlock
 * with each other; a deadlock with a single checkAndReserve (which charges in its own order)
 * fails the batch statement, and the writer's retry plans it again.
 */
export function reservationsWrite(
  counters: readonly CounterWrite[],
  reservations: ReservationColumns,
): JoinedWrite {
  const existing = counters.filter((c) => c.read !== null);
  const created = counters.filter((c) => c.read === null);
  const reservationCount = reservations[0].length;
  return {
    render(sql, applies) {
      const ctes: string[] = [];
      const accepted: string[] = [];
      if (existing.length > 0) {
        const [locked, charged] = [sql.name('locked_counters'), sql.name('charged_counters')];
        const users = sql.param(existing.map((c) => c.userId));
        const names = sql.param(existing.map((c) => c.counter));
        const periods = sql.param(existing.map((c) => c.period));
        ctes.push(
          `${locked} AS (
          SELECT c.user_id, c.counter, c.period, c.used, c.payments
            FROM unnest(${users}::uuid[], ${names}::text[], ${periods}::text[]) AS k (user_id, counter, period)
            JOIN identity_limit_counters c ON c.user_id = k.user_id AND c.counter = k.counter AND c.period = k.period
           WHERE ${applies}
           ORDER BY c.user_id, c.counter COLLATE "C", c.period COLLATE "C" FOR UPDATE OF c)`,
          `${charged} AS (
          UPDATE identity_limit_counters c SET used = c.used + v.amount, payments = c.payments + v.n
            FROM unnest(${users}::uuid[], ${names}::text[], ${periods}::text[],
                        ${sql.param(existing.map((c) => c.read!.used.toString()))}::int8[],
                        ${sql.param(existing.map((c) => c.read!.payments))}::int4[],
                        ${sql.param(existing.map((c) => c.amount.toString()))}::int8[],
                        ${sql.param(existing.map((c) => c.payments))}::int4[])
                 AS v (user_id, counter, period, used, payments, amount, n)
            JOIN ${locked} l ON l.user_id = v.user_id AND l.counter = v.counter AND l.period = v.period
                            AND l.used = v.used AND l.payments = v.payments
           WHERE c.user_id = v.user_id AND c.counter = v.counter AND c.period = v.period
           RETURNING 1)`,
        );
        accepted.push(`(SELECT count(*) FROM ${charged}) = ${existing.length}`);
      }
      if (created.length > 0) {
        const inserted = sql.name('created_counters');
        ctes.push(
          `${inserted} AS (
          INSERT INTO identity_limit_counters (user_id, counter, period, used, payments)
          SELECT * FROM unnest(${sql.param(created.map((c) => c.userId))}::uuid[],
                               ${sql.param(created.map((c) => c.counter))}::text[],
                               ${sql.param(created.map((c) => c.period))}::text[],
                               ${sql.param(created.map((c) => c.amount.toString()))}::int8[],
                               ${sql.param(created.map((c) => c.payments))}::int4[])
           WHERE ${applies}
          ON CONFLICT (user_id, counter, period) DO NOTHING RETURNING 1)`,
        );
        accepted.push(`(SELECT count(*) FROM ${inserted}) = ${created.length}`);
      }
      if (reservationCount > 0) {
        const inserted = sql.name('reservations');
        const [ids, userIds, amounts, methods, strengths, charges, at, fingerprints] = reservations;
        ctes.push(
          `${inserted} AS (
          INSERT INTO identity_limit_reservations (id, user_id, amount, method, strength, counters, state, created_at, fingerprint)
          SELECT id, user_id, amount, method, strength, counters::jsonb, 'reserved', created_at, fingerprint
            FROM unnest(${sql.param(ids)}::uuid[], ${sql.param(userIds)}::uuid[], ${sql.param(amounts)}::int8[],
                        ${sql.param(methods)}::text[], ${sql.param(strengths)}::text[], ${sql.param(charges)}::text[],
                        ${sql.param(at)}::timestamptz[], ${sql.param(fingerprints)}::text[])
                 AS r (id, user_id, amount, method, strength, counters, created_at, fingerprint)
           WHERE ${applies}
          ON CONFLICT (id) DO NOTHING RETURNING 1)`,
        );
        accepted.push(`(SELECT count(*) FROM ${inserted}) = ${reservationCount}`);
      }
      return { ctes, accepted: accepted.length === 0 ? 'true' : accepted.join(' AND ') };
    },
  };
}

/**
 * The users whose reservations were made or released after `since` (all users when null): a
 * counter changes only then, so an incremental check looks at theirs alone.
 */
const TOUCHED = `touched AS (
       SELECT user_id FROM identity_limit_reservations WHERE $1::timestamptz IS NOT NULL AND created_at > $1
       UNION SELECT user_id FROM identity_limit_reservations WHERE $1::timestamptz IS NOT NULL AND released_at > $1)`;
const IN_SCOPE = (column: string) =>
  `($1::timestamptz IS NULL OR ${column} IN (SELECT user_id FROM touched))`;

/**
 * For `tuyere verify`: limit counters that disagree with their reservations. Each counter must
 * hold exactly the amounts and the number of the reservations still reserved that name it: a
 * reservation released twice, or released by a payment that did not make it, leaves a counter
 * that under-counts. Every counter, or (`since`) those of users whose reservations changed
 * after it. At most `limit` rows; all in the caller's snapshot.
 */
export async function limitCounterMismatches(q: Queryable, limit: number, since: Date | null = null) {
  const { rows } = await q.query<{
    user_id: string;
    counter: string;
    period: string;
    used: string;
    payments: number;
    reserved: string;
    reservations: number;
  }>(
    `WITH ${TOUCHED},
     charged AS (
       SELECT r.user_id, c->>'counter' AS counter, c->>'period' AS period,
              sum(r.amount) AS used, count(*)::int AS payments
         FROM identity_limit_reservations r, jsonb_array_elements(r.counters) c
        WHERE r.state = 'reserved' AND ${IN_SCOPE('r.user_id')} GROUP BY 1, 2, 3),
     counters AS (SELECT * FROM identity_limit_counters WHERE ${IN_SCOPE('user_id')})
     SELECT coalesce(k.user_id, c.user_id)::text AS user_id, coalesce(k.counter, c.counter) AS counter,
            coalesce(k.period, c.period) AS period, coalesce(k.used, 0)::text AS used,
            coalesce(k.payments, 0) AS payments, coalesce(c.used, 0)::text AS reserved,
            coalesce(c.payments, 0) AS reservations
       FROM counters k
       FULL JOIN charged c ON c.user_id = k.user_id AND c.counter = k.counter AND c.period = k.period
      WHERE coalesce(k.used, 0) <> coalesce(c.used, 0) OR coalesce(k.payments, 0) <> coalesce(c.payments, 0)
      LIMIT ${limit}`,
    [since],
  );
  return rows;
}

/** How many limit counters the check looks at (all, or those of users touched after `since`). */
export async function limitCounterCount(q: Queryable, since: Date | null = null): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `WITH ${TOUCHED} SELECT count(*)::int AS n FROM identity_limit_counters WHERE ${IN_SCOPE('user_id')}`,
    [since],
  );
  return rows[0]!.n;
}

/**
 * The newest time a reservation was made or released after `since` (from the start when null)
 * and at or before `upTo`, if any: where a passing check may put its checkpoint.
 */
export async function lastLimitChange(
  q: Queryable,
  since: Date | null,
  upTo: Date,
): Promise<Date | undefined> {
  const { rows } = await q.query<{ at: Date | null }>(
    `SELECT greatest(
       (SELECT max(created_at) FROM identity_limit_reservations
         WHERE created_at > coalesce($1::timestamptz, '-infinity') AND created_at <= $2),
       (SELECT max(released_at) FROM identity_limit_reservations
         WHERE released_at > coalesce($1::timestamptz, '-infinity') AND released_at <= $2)) AS at`,
    [since, upTo],
  );
  return rows[0]?.at ?? undefined;
}

/** The time the limit-counter check last verified up to (identity_verify_checkpoints). */
export async function limitsVerifiedUpTo(q: Queryable, check: string): Promise<Date | undefined> {
  const { rows } = await q.query<{ after_at: Date }>(
    'SELECT after_at FROM identity_verify_checkpoints WHERE check_name = $1',
    [check],
  );
  return rows[0]?.after_at;
}

/** Records `at` unless a later time is already recorded (two runs at once). */
export async function recordLimitsVerified(q: Queryable, check: string, at: Date, now: Date): Promise<void> {
  await q.query(
    `INSERT INTO identity_verify_checkpoints AS c (check_name, after_at, verified_at) VALUES ($1, $2, $3)
     ON CONFLICT (check_name) DO UPDATE SET after_at = excluded.after_at, verified_at = excluded.verified_at
     WHERE c.after_at < excluded.after_at`,
    [check, at, now],
  );
}
