import { binaryArray } from '../platform/db/binary-array.ts';
import type { Queryable } from '../platform/db/database.ts';
import type { JoinedWrite } from '../platform/db/joined-write.ts';
import { StatementBuilder } from '../platform/db/statement.ts';
import type { GroupEventType, MemberRole } from './rules.ts';

/**
 * The social module's tables, and the only place with their SQL: social_groups (a group and
 * the sequence of its stream's last event), social_group_members, social_group_events (each
 * group's ordered stream). Also the writes other modules join to a ledger commit
 * (`membersGuard`, `eventsWrite`): typed values whose SQL is rendered here.
 */

export interface GroupRow {
  id: string;
  name: string;
  owner_id: string;
  member_count: number;
  last_seq: bigint;
  created_at: Date;
  [key: string]: unknown;
}

export interface MemberRow {
  user_id: string;
  role: MemberRole;
  joined_at: Date;
  [key: string]: unknown;
}

export interface EventRow {
  group_id: string;
  seq: bigint;
  id: string;
  type: GroupEventType;
  actor_id: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
  [key: string]: unknown;
}

/** An event to append; its sequence number is taken when it is written. */
export interface NewGroupEvent {
  groupId: string;
  type: GroupEventType;
  actorId: string | null;
  payload: Record<string, unknown>;
}

/** What an append needs besides the events: one id per event, and the time they carry. */
export interface EventStamp {
  ids: string[];
  now: Date;
}

/** A new group with its members (the owner included) in one transaction's two statements. */
export async function insertGroup(
  tx: Queryable,
  group: { id: string; name: string; ownerId: string; memberIds: readonly string[]; createdAt: Date },
): Promise<GroupRow> {
  const { rows } = await tx.query<GroupRow>(
    `INSERT INTO social_groups (id, name, owner_id, member_count, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
    [group.id, group.name, group.ownerId, group.memberIds.length, group.createdAt],
  );
  await tx.query(
    `INSERT INTO social_group_members (group_id, user_id, role, joined_at)
         SELECT $1, member, CASE WHEN member = $2 THEN 'owner' ELSE 'member' END, $3 FROM unnest($4::uuid[]) AS member`,
    [group.id, group.ownerId, group.createdAt, group.memberIds],
  );
  return rows[0]!;
}

export async function getGroup(q: Queryable, groupId: string): Promise<GroupRow | undefined> {
  const { rows } = await q.query<GroupRow>('SELECT * FROM social_groups WHERE id = $1', [groupId]);
  return rows[0];
}

/** The group row, locked until the transaction ends (invites and removals go one at a time). */
export async function lockGroup(tx: Queryable, groupId: string): Promise<GroupRow | undefined> {
  const { rows } = await tx.query<GroupRow>('SELECT * FROM social_groups WHERE id = $1 FOR UPDATE', [
    groupId,
  ]);
  return rows[0];
}

/** The user's groups, newest first (at most 500). */
export async function groupsOfUser(q: Queryable, userId: string): Promise<GroupRow[]> {
  const { rows } = await q.query<GroupRow>(
    `SELECT g.* FROM social_groups g JOIN social_group_members m ON m.group_id = g.id
       WHERE m.user_id = $1 ORDER BY g.created_at DESC LIMIT 500`,
    [userId],
  );
  return rows;
}

export async function listMembers(q: Queryable, groupId: string): Promise<MemberRow[]> {
  const { rows } = await q.query<MemberRow>(
    'SELECT user_id, role, joined_at FROM social_group_members WHERE group_id = $1 ORDER BY joined_at, user_id',
    [groupId],
  );
  return rows;
}

export async function memberRole(q: Queryable, groupId: string, userId: string): Promise<MemberRole | null> {
  const { rows } = await q.query<{ role: MemberRole }>(
    'SELECT role FROM social_group_members WHERE group_id = $1 AND user_id = $2',
    [groupId, userId],
  );
  return rows[0]?.role ?? null;
}

/** The (group, user) pairs that are not memberships, as `${groupId}/${userId}`. */
export async function nonMembers(
  q: Queryable,
  pairs: ReadonlyArray<{ groupId: string; userId: string }>,
): Promise<Set<string>> {
  const { rows } = await q.query<{ g: string; u: string }>(
    `SELECT p.g, p.u FROM unnest($1::uuid[], $2::uuid[]) AS p (g, u)
       WHERE NOT EXISTS (SELECT 1 FROM social_group_members m WHERE m.group_id = p.g AND m.user_id = p.u)`,
    [pairs.map((p) => p.groupId), pairs.map((p) => p.userId)],
  );
  return new Set(rows.map((row) => `${row.g}/${row.u}`));
}

/** Adds members (those already in are skipped); returns the ones added. */
export async function insertMembers(
  tx: Queryable,
  groupId: string,
  userIds: readonly string[],
  joinedAt: Date,
): Promise<string[]> {
  const { rows } = await tx.query<{ user_id: string }>(
    `INSERT INTO social_group_members (group_id, user_id, role, joined_at)
         SELECT $1, u, 'member', $2 FROM unnest($3::uuid[]) AS u ON CONFLICT DO NOTHING RETURNING user_id`,
    [groupId, joinedAt, userIds],
  );
  return rows.map((row) => row.user_id);
}

export async function deleteMember(tx: Queryable, groupId: string, userId: string): Promise<void> {
  await tx.query('DELETE FROM social_group_members WHERE group_id = $1 AND user_id = $2', [groupId, userId]);
}

/** Moves the group's member count by `delta` (positive: joined, negative: left). */
export async function addToMemberCount(tx: Queryable, groupId: string, delta: number): Promise<void> {
  await tx.query('UPDATE social_groups SET member_count = member_count + $2 WHERE id = $1', [groupId, delta]);
}

/** Events after `afterSeq`, oldest first. */
export async function eventsAfter(
  q: Queryable,
  groupId: string,
  afterSeq: bigint,
  limit: number,
): Promise<EventRow[]> {
  const { rows } = await q.query<EventRow>(
    'SELECT * FROM social_group_events WHERE group_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
    [groupId, afterSeq, limit],
  );
  return rows;
}

/**
 * Appends events in the caller's transaction, in one statement. Returns each event's sequence
 * number, or null if one of the groups does not exist (nothing was then written for it, and
 * the caller should roll back).
 */
export async function insertEvents(
  tx: Queryable,
  events: readonly NewGroupEvent[],
  stamp: EventStamp,
): Promise<bigint[] | null> {
  const sql = new StatementBuilder();
  const append = appendStatement(events, stamp, sql, 'true');
  const { rows } = await tx.query<{ id: string; last_seq: bigint }>(
    `WITH ${append.ctes.join(',\n')} SELECT id, last_seq FROM ${append.bumped}`,
    sql.values,
  );
  if (rows.length !== append.groupIds.length) return null;
  const lastSeq = new Map(rows.map((row) => [row.id, row.last_seq]));
  return events.map(
    (event, index) =>
      lastSeq.get(event.groupId)! - BigInt(append.counts.get(event.groupId)!) + BigInt(append.places[index]!),
  );
}

/**
 * For another module's commit (a ledger commit participant): accepted only if every
 * (group, user) pair is a member when that statement runs.
 */
export function membersGuard(pairs: ReadonlyArray<{ groupId: string; userId: string }>): JoinedWrite {
  return {
    render: (sql) => {
      if (pairs.length === 0) return { ctes: [], accepted: 'true' };
      const groups = sql.param(
        binaryArray(
          'uuid',
          pairs.map((p) => p.groupId),
        ),
      );
      const users = sql.param(
        binaryArray(
          'uuid',
          pairs.map((p) => p.userId),
        ),
      );
      return {
        ctes: [],
        accepted: `NOT EXISTS (SELECT 1 FROM unnest(${groups}::uuid[], ${users}::uuid[]) AS p (g, u)
      WHERE NOT EXISTS (SELECT 1 FROM social_group_members m WHERE m.group_id = p.g AND m.user_id = p.u))`,
      };
    },
  };
}

/**
 * The append of `insertEvents` as part of another module's commit (a ledger commit
 * participant): it writes only when that statement applies, and is accepted when every group
 * existed. `stamp` is called at each rendering (a re-run batch renders again), so each takes
 * fresh event ids and time. `groupIds`: the groups it appends to, sorted.
 */
export function eventsWrite(
  events: readonly NewGroupEvent[],
  stamp: () => EventStamp,
): JoinedWrite & { groupIds: string[] } {
  const groupIds = [...new Set(events.map((event) => event.groupId))].sort();
  return {
    groupIds,
    render: (sql, applies) => {
      if (events.length === 0) return { ctes: [], accepted: 'true' };
      const append = appendStatement(events, stamp(), sql, applies);
      return {
        ctes: append.ctes,
        accepted: `(SELECT count(*) FROM ${append.bumped}) = ${append.groupIds.length}`,
      };
    },
  };
}

/**
 * Sequence numbers are taken per group with one row update per group (groups locked in id
 * order, so concurrent batches cannot deadlock), and the events inserted, all in one statement.
 */
function appendStatement(
  events: readonly NewGroupEvent[],
  stamp: EventStamp,
  sql: StatementBuilder,
  applies: string,
) {
  const counts = new Map<string, number>();
  // Each event's place among its group's new events (1-based): its seq is last_seq - n + place.
  const places = events.map((event) => {
    const place = (counts.get(event.groupId) ?? 0) + 1;
    counts.set(event.groupId, place);
    return place;
  });
  const groupIds = [...counts.keys()].sort();
  const [locked, bumped, inserted] = [
    sql.name('locked_groups'),
    sql.name('bumped_groups'),
    sql.name('group_events'),
  ];
  const groupIdsParam = sql.param(groupIds);
  // Lock the groups in id order, advance their sequences, insert the events.
  const ctes = [
    `${locked} AS (SELECT id FROM social_groups WHERE id = ANY(${groupIdsParam}::uuid[]) AND ${applies} ORDER BY id FOR UPDATE)`,
    `${bumped} AS (
         UPDATE social_groups g SET last_seq = g.last_seq + c.n
           FROM unnest(${groupIdsParam}::uuid[], ${sql.param(groupIds.map((id) => counts.get(id)!))}::int[]) AS c (id, n)
          WHERE g.id = c.id AND g.id IN (SELECT id FROM ${locked})
          RETURNING g.id, g.last_seq, c.n)`,
    `${inserted} AS (
         INSERT INTO social_group_events (group_id, seq, id, type, actor_id, payload, created_at)
         SELECT x.g, b.last_seq - b.n + x.place, x.i, x.t, x.a, x.p::jsonb, ${sql.param(stamp.now)}::timestamptz
           FROM unnest(${sql.param(events.map((e) => e.groupId))}::uuid[], ${sql.param(places)}::int[],
                       ${sql.param(stamp.ids)}::uuid[], ${sql.param(events.map((e) => e.type))}::text[],
                       ${sql.param(events.map((e) => e.actorId))}::uuid[],
                       ${sql.param(events.map((e) => JSON.stringify(e.payload)))}::text[]) AS x (g, place, i, t, a, p)
           JOIN ${bumped} b ON b.id = x.g)`,
  ];
  return { ctes, bumped, groupIds, counts, places };
}
