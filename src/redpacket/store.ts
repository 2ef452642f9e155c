import { binaryArray } from '../platform/db/binary-array.ts';
import type { Queryable } from '../platform/db/database.ts';
import type { JoinedWrite } from '../platform/db/joined-write.ts';
import type { VerifyPosition } from '../platform/verify-position.ts';
import type { EnvelopeKind } from './rules.ts';
import type { EnvelopeState, EnvelopeStatus, KnownGrab } from './state.ts';

/**
 * The red-envelope module's table, and the only place with its SQL: redpacket_envelopes (an
 * envelope, its shares, and its grabs in share order: position i of `grabbers` drew share i;
 * redpacket_grabs is a read-only view over them). The grab path's reads and its write joined
 * to the ledger's commit are here too.
 */

export interface EnvelopeRow {
  id: string;
  sender_id: string;
  group_id: string | null;
  recipient_id: string | null;
  kind: EnvelopeKind;
  total: bigint;
  shares: bigint[];
  /** Position i: who drew share i. */
  grabbers: string[];
  grabbed_ats: Date[];
  greeting: string;
  status: EnvelopeStatus;
  grabbed_count: number;
  grabbed_amount: bigint;
  refund_amount: bigint | null;
  refund_booked: boolean;
  escrow_account_id: string;
  fund_transfer_id: string;
  funding_source: string;
  created_at: Date;
  expires_at: Date;
  finished_at: Date | null;
  [key: string]: unknown;
}

/** A new envelope, in status 'funding'; nothing (false) when the id exists already (a retried send). */
export async function insertEnvelope(
  q: Queryable,
  envelope: {
    id: string;
    senderId: string;
    groupId: string | null;
    recipientId: string | null;
    kind: EnvelopeKind;
    total: bigint;
    shares: readonly bigint[];
    greeting: string;
    escrowAccountId: string;
    fundTransferId: string;
    fundingSource: string;
    createdAt: Date;
    expiresAt: Date;
  },
): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO redpacket_envelopes (id, sender_id, group_id, recipient_id, kind, total, shares, greeting, status,
         escrow_account_id, fund_transfer_id, funding_source, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'funding', $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
    [
      envelope.id,
      envelope.senderId,
      envelope.groupId,
      envelope.recipientId,
      envelope.kind,
      envelope.total,
      envelope.shares,
      envelope.greeting,
      envelope.escrowAccountId,
      envelope.fundTransferId,
      envelope.fundingSource,
      envelope.createdAt,
      envelope.expiresAt,
    ],
  );
  return rowCount === 1;
}

export async function getEnvelope(q: Queryable, envelopeId: string): Promise<EnvelopeRow | undefined> {
  const { rows } = await q.query<EnvelopeRow>('SELECT * FROM redpacket_envelopes WHERE id = $1', [
    envelopeId,
  ]);
  return rows[0];
}

/** 'funding' → 'active' with a fresh expiry; the row if it changed (undefined if it was not funding). */
export async function activateEnvelope(
  tx: Queryable,
  envelopeId: string,
  expiry: { expiresAt: Date; campaignExpiresAt: Date },
): Promise<EnvelopeRow | undefined> {
  const { rows } = await tx.query<EnvelopeRow>(
    `UPDATE redpacket_envelopes
        SET status = 'active', expires_at = CASE WHEN funding_source = 'campaign' THEN $3::timestamptz ELSE $2::timestamptz END
      WHERE id = $1 AND status = 'funding' RETURNING *`,
    [envelopeId, expiry.expiresAt, expiry.campaignExpiresAt],
  );
  return rows[0];
}

/** Campaign envelopes sent into `groupId` since `since` (the campaign rate limit). */
export async function campaignEnvelopesSince(
  q: Queryable,
  campaignSender: string,
  groupId: string,
  since: Date,
): Promise<number> {
  const { rows } = await q.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM redpacket_envelopes
      WHERE sender_id = $1 AND created_at >= $3 AND group_id = $2 AND funding_source = 'campaign'`,
    [campaignSender, groupId, since],
  );
  return rows[0]!.count;
}

/** 'funding' → 'failed' (nothing if it is no longer funding). */
export async function markEnvelopeFailed(q: Queryable, envelopeId: string): Promise<void> {
  await q.query("UPDATE redpacket_envelopes SET status = 'failed' WHERE id = $1 AND status = 'funding'", [
    envelopeId,
  ]);
}

/** The envelope paid for by this funding payment, if any. */
export async function envelopeIdByFunding(q: Queryable, fundTransferId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ id: string }>(
    'SELECT id FROM redpacket_envelopes WHERE fund_transfer_id = $1',
    [fundTransferId],
  );
  return rows[0]?.id;
}

/** Envelopes still funding that were created before `before`, oldest first (at most 200). */
export async function envelopesStillFunding(
  q: Queryable,
  before: Date,
): Promise<Array<{ id: string; fund_transfer_id: string }>> {
  const { rows } = await q.query<{ id: string; fund_transfer_id: string }>(
    `SELECT id, fund_transfer_id FROM redpacket_envelopes WHERE status = 'funding' AND created_at < $1 ORDER BY created_at LIMIT 200`,
    [before],
  );
  return rows;
}

/** Active envelopes whose time is up at `now`, the earliest first. */
export async function envelopesDue(q: Queryable, now: Date, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM redpacket_envelopes WHERE status = 'active' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
    [now, limit],
  );
  return rows.map((row) => row.id);
}

/** Expired envelopes whose refund is not booked yet, the earliest first. */
export async function envelopesUnrefunded(q: Queryable, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM redpacket_envelopes WHERE status = 'expired' AND NOT refund_booked ORDER BY expires_at LIMIT $1`,
    [limit],
  );
  return rows.map((row) => row.id);
}

/**
 * 'active' → 'expired' if its time is up at `now`, with refund_amount = total − grabbed
 * (one locked update); the row if it changed.
 */
export async function expireEnvelope(
  tx: Queryable,
  envelopeId: string,
  now: Date,
): Promise<EnvelopeRow | undefined> {
  const { rows } = await tx.query<EnvelopeRow>(
    `UPDATE redpacket_envelopes SET status = 'expired', refund_amount = total - grabbed_amount, finished_at = $2
         WHERE id = $1 AND status = 'active' AND expires_at <= $2 RETURNING *`,
    [envelopeId, now],
  );
  return rows[0];
}

/**
 * A failed envelope whose payment went through after all (it committed after the envelope was
 * failed): its whole total is to be refunded. Sets refund_amount = total once; the row if it changed.
 */
export async function refundFailedEnvelope(q: Queryable, envelopeId: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE redpacket_envelopes SET refund_amount = total
       WHERE id = $1 AND status = 'failed' AND refund_amount IS NULL AND NOT refund_booked`,
    [envelopeId],
  );
  return rowCount === 1;
}

/** A failed envelope whose payment certainly never moved money: nothing to refund, settled. */
export async function closeFailedEnvelope(q: Queryable, envelopeId: string, now: Date): Promise<void> {
  await q.query(
    `UPDATE redpacket_envelopes SET refund_amount = 0, refund_booked = true, refund_booked_at = $2
       WHERE id = $1 AND status = 'failed' AND refund_amount IS NULL`,
    [envelopeId, now],
  );
}

/** Failed envelopes not settled yet (their payment's outcome not yet known to be nothing, or a refund to book). */
export async function failedEnvelopesUnsettled(
  q: Queryable,
  limit: number,
): Promise<
  Array<{
    id: string;
    sender_id: string;
    fund_transfer_id: string;
    created_at: Date;
    refund_amount: bigint | null;
  }>
> {
  const { rows } = await q.query<{
    id: string;
    sender_id: string;
    fund_transfer_id: string;
    created_at: Date;
    refund_amount: bigint | null;
  }>(
    `SELECT id, sender_id, fund_transfer_id, created_at, refund_amount FROM redpacket_envelopes
       WHERE status = 'failed' AND NOT refund_booked ORDER BY created_at LIMIT $1`,
    [limit],
  );
  return rows;
}

export async function markRefundBooked(q: Queryable, envelopeId: string, now: Date): Promise<void> {
  await q.query(
    'UPDATE redpacket_envelopes SET refund_booked = true, refund_booked_at = coalesce(refund_booked_at, $2) WHERE id = $1',
    [envelopeId, now],
  );
}

/** The grab path's read: envelopes with their grabs (kept in the envelope row, in share order) in one query. */
export async function loadStates(q: Queryable, ids: readonly string[]): Promise<Map<string, EnvelopeState>> {
  const states = new Map<string, EnvelopeState>();
  if (ids.length === 0) return states;
  const { rows } = await q.query<EnvelopeRow>(
    `SELECT id, group_id, recipient_id, status, shares, grabbers, escrow_account_id, expires_at, created_at
     FROM redpacket_envelopes WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  for (const row of rows) {
    const grabs = new Map<string, KnownGrab>();
    row.grabbers.forEach((userId, index) => {
      grabs.set(userId, { index, amount: row.shares[index]!, committed: null });
    });
    states.set(row.id, {
      id: row.id,
      groupId: row.group_id,
      recipientId: row.recipient_id,
      status: row.status,
      shares: row.shares,
      escrowAccountId: row.escrow_account_id,
      expiresAt: row.expires_at,
      createdAt: row.created_at,
      grabs,
    });
  }
  return states;
}

/** What one grab batch appends to one envelope row. */
export interface EnvelopeGrabs {
  envelopeId: string;
  /** grabbed_count the row must hold before this batch (what this process expected). */
  expectedCount: number;
  /** The grabbers, in share order (their share indexes are expectedCount, expectedCount + 1, ...). */
  userIds: string[];
  /** Sum of their shares. */
  amount: bigint;
}

/**
 * The grabs of one batch, appended to their envelope rows in share order, as a write joined to
 * the ledger's statement for the batch's payouts (a commit participant). It is accepted only if
 * every envelope still had the grab count this process expected and is active and unexpired at
 * `now`; otherwise the whole statement, payouts included, rolls back.
 */
export function envelopeGrabsWrite(entries: readonly EnvelopeGrabs[], now: Date): JoinedWrite {
  return {
    render(sql, applies) {
      if (entries.length === 0) return { ctes: [], accepted: 'true' };
      // Envelope k's grabbers are users[first_k .. first_k + n_k - 1] (1-based), in share order.
      const users: string[] = [];
      const firsts: number[] = [];
      for (const entry of entries) {
        firsts.push(users.length + 1);
        users.push(...entry.userIds);
      }
      const [locked, grabbed] = [sql.name('locked_envelopes'), sql.name('grabbed')];
      const ids = sql.param(entries.map((e) => e.envelopeId));
      const at = `${sql.param(now)}::timestamptz`;
      // The statement's snapshot may predate the batch committed just before it, so the
      // expected count is compared with what the row lock returns (the latest version), never
      // in the UPDATE's own WHERE: a row whose snapshot version failed that test would be
      // skipped instead of re-checked. Status and expiry are checked on the returned rows
      // rather than in WHERE too, so that the planner reaches the batch's few envelopes by
      // primary key, never through the index of active envelopes (whatever its statistics
      // say in the middle of a storm). A returned 'finished' can only come from 'active': a
      // finished envelope's count never matches.
      const lock = `${locked} AS (
          SELECT id, grabbed_count FROM redpacket_envelopes
           WHERE id = ANY(${ids}::uuid[]) AND ${applies} ORDER BY id FOR UPDATE)`;
      const update = `${grabbed} AS (
          UPDATE redpacket_envelopes r
             SET grabbers = r.grabbers || (${sql.param(binaryArray('uuid', users))}::uuid[])[y.first : y.first + y.n - 1],
                 grabbed_ats = r.grabbed_ats || array_fill(${at}, ARRAY[y.n]),
                 grabbed_count = r.grabbed_count + y.n,
                 grabbed_amount = r.grabbed_amount + y.amount,
                 status = CASE WHEN r.status <> 'active' THEN r.status
                               WHEN r.grabbed_count + y.n = cardinality(r.shares) THEN 'finished' ELSE 'active' END,
                 finished_at = CASE WHEN r.status = 'active' AND r.grabbed_count + y.n = cardinality(r.shares) THEN ${at}
                                    ELSE r.finished_at END,
                 last_grab_at = ${at}
            FROM unnest(${ids}::uuid[], ${sql.param(entries.map((e) => e.expectedCount))}::int[],
                        ${sql.param(entries.map((e) => e.userIds.length))}::int[],
                        ${sql.param(entries.map((e) => e.amount))}::bigint[], ${sql.param(firsts)}::int[])
                 AS y (id, expected, n, amount, first)
            JOIN ${locked} l ON l.id = y.id AND l.grabbed_count = y.expected
           WHERE r.id = ANY(${ids}::uuid[]) AND r.id = y.id
           RETURNING r.status IN ('active', 'finished') AND r.expires_at > ${at} AS live)`;
      return {
        ctes: [lock, update],
        accepted: `(SELECT count(*) FILTER (WHERE live) FROM ${grabbed}) = ${entries.length}`,
      };
    },
  };
}

/**
 * An envelope as `tuyere verify` reads it: what its escrow should hold, its grabs, and the
 * first problem its counters show (grab counts, distinct grabbers and no more grabs than
 * shares are table constraints; what is left is arithmetic). `closed_at`: when its books
 * closed (finished, or refund booked), null while open.
 */
export type EnvelopeBooksRow = {
  id: string;
  status: 'funding' | 'active' | 'finished' | 'expired' | 'failed';
  escrow_account_id: string;
  fund_transfer_id: string;
  created_at: Date;
  refund_amount: bigint | null;
  refund_booked: boolean;
  shares: bigint[];
  grabbers: string[];
  /** total − grabbed − refund (funded envelopes). */
  owed: bigint;
  /** The refund of an expired envelope not booked yet (the escrow holds it until then). */
  refund_pending: bigint;
  problem: string | null;
  closed_at: Date | null;
};

const CLOSED_AT = 'coalesce(refund_booked_at, finished_at)';
const CLOSED = `(status = 'finished' OR refund_booked) AND ${CLOSED_AT} IS NOT NULL`;
const ENVELOPE_BOOKS = `id, status, escrow_account_id, fund_transfer_id, created_at, refund_amount, refund_booked,
  shares, grabbers,
  total - grabbed_amount - CASE WHEN status = 'expired' THEN coalesce(refund_amount, 0) ELSE 0 END AS owed,
  CASE WHEN status = 'expired' AND NOT refund_booked THEN coalesce(refund_amount, 0) ELSE 0 END AS refund_pending,
  CASE
    WHEN (SELECT sum(s) FROM unnest(shares) s) <> total THEN 'shares do not sum to the total'
    WHEN grabbed_amount <> coalesce((SELECT sum(s) FROM unnest(shares[1:grabbed_count]) s), 0)
      THEN 'grabbed amount differs from the shares drawn'
    WHEN status = 'finished' AND grabbed_count <> cardinality(shares) THEN 'finished with shares left'
    WHEN status = 'expired' AND refund_amount <> total - grabbed_amount THEN 'refund is not the unclaimed remainder'
  END AS problem,
  CASE WHEN ${CLOSED} THEN ${CLOSED_AT} END AS closed_at`;

/** For `tuyere verify`: envelopes whose books are still open (funding, active, refund not booked). */
export async function openEnvelopeBooks(q: Queryable): Promise<EnvelopeBooksRow[]> {
  const { rows } = await q.query<EnvelopeBooksRow>(
    `SELECT ${ENVELOPE_BOOKS} FROM redpacket_envelopes WHERE NOT (${CLOSED})`,
  );
  return rows;
}

/** For `tuyere verify`: envelopes whose books closed, the page after `after` in (closed at, id) order. */
export async function closedEnvelopeBooksPage(
  q: Queryable,
  after: VerifyPosition,
  limit: number,
): Promise<EnvelopeBooksRow[]> {
  const { rows } = await q.query<EnvelopeBooksRow>(
    `SELECT ${ENVELOPE_BOOKS} FROM redpacket_envelopes
      WHERE ${CLOSED} AND (${CLOSED_AT}, id) > ($1, $2)
      ORDER BY ${CLOSED_AT}, id LIMIT $3`,
    [after.at, after.id, limit],
  );
  return rows;
}

/** The checkpoints of the red envelopes' incremental checks (redpacket_verify_checkpoints). */
export const redpacketVerifyCheckpoints = {
  async load(q: Queryable, check: string): Promise<VerifyPosition | undefined> {
    const { rows } = await q.query<{ after_at: Date; after_id: string }>(
      'SELECT after_at, after_id FROM redpacket_verify_checkpoints WHERE check_name = $1',
      [check],
    );
    return rows[0] ? { at: rows[0].after_at, id: rows[0].after_id } : undefined;
  },
  async save(q: Queryable, check: string, at: VerifyPosition, now: Date): Promise<void> {
    await q.query(
      `INSERT INTO redpacket_verify_checkpoints AS c (check_name, after_at, after_id, verified_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (check_name) DO UPDATE SET after_at = excluded.after_at, after_id = excluded.after_id,
         verified_at = excluded.verified_at
       WHERE (c.after_at, c.after_id) < (excluded.after_at, excluded.after_id)`,
      [check, at.at, at.id, now],
    );
  },
};

/** For `tuyere verify`: which of `fundTransferIds` fund an envelope (the rest fund none). */
export async function envelopesFundedBy(
  q: Queryable,
  fundTransferIds: readonly string[],
): Promise<Set<string>> {
  const { rows } = await q.query<{ fund_transfer_id: string }>(
    'SELECT fund_transfer_id FROM redpacket_envelopes WHERE fund_transfer_id = ANY($1::uuid[])',
    [fundTransferIds],
  );
  return new Set(rows.map((row) => row.fund_transfer_id));
}
