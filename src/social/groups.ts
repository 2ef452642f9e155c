import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Clock } from '../platform/clock.ts';
import { binaryArray } from '../platform/db/binary-array.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import { StatementBuilder } from '../platform/db/statement.ts';
import { conflict, forbidden, invalid, notFound } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { GROUP_LIMITS, type GroupEventType, type MemberRole, mayLeave, mayRemove } from './rules.ts';

export interface Group {
  id: string;
  name: string;
  ownerId: string;
  memberCount: number;
  lastSeq: bigint;
  createdAt: Date;
}
export interface Member {
  userId: string;
  role: MemberRole;
  joinedAt: Date;
}
export interface GroupEvent {
  groupId: string;
  seq: bigint;
  id: string;
  type: GroupEventType;
  actorId: string | null;
  payload: Record<string, unknown>;
  createdAt: Date;
}
export interface NewGroupEvent {
  groupId: string;
  type: GroupEventType;
  actorId: string | null;
  payload: Record<string, unknown>;
}

interface GroupRow {
  id: string;
  name: string;
  owner_id: string;
  member_count: number;
  last_seq: bigint;
  created_at: Date;
  [key: string]: unknown;
}
const toGroup = (row: GroupRow): Group => ({
  id: row.id,
  name: row.name,
  ownerId: row.owner_id,
  memberCount: row.member_count,
  lastSeq: row.last_seq,
  createdAt: row.created_at,
});

/**
 * Chat groups and their event streams. Other modules (red envelopes) append events through
 * `appendEvents`, inside their own transaction, so an envelope and its announcement commit
 * together.
 */
export class Groups {
  /** Emits the group id whenever this process appends to it, so live streams wake at once. */
  readonly appended = new EventEmitter().setMaxListeners(0);

  private readonly membersMax: number;
  /** Service callers (bench, storms) may add many at once; the HTTP route caps at GROUP_LIMITS.inviteBatchMax. */
  private readonly inviteBatchMax = 10_000;

  constructor(private readonly deps: { db: Database; clock: Clock; membersMax?: number }) {
    this.membersMax = deps.membersMax ?? GROUP_LIMITS.membersMax;
  }

  async create(ownerId: string, name: string, memberIds: readonly string[] = []): Promise<Group> {
    const trimmed = name.trim();
    if (trimmed.length === 0) throw invalid('invalid_group_name', 'Give the group a name.');
    const members = [...new Set([ownerId, ...memberIds])];
    if (members.length > this.membersMax) {
      throw invalid('group_too_large', `A group has at most ${this.membersMax} members.`);
    }
    const now = this.deps.clock.now();
    const id = uuidv7(now.getTime());
    return this.deps.db.transaction(async (tx) => {
      const { rows } = await tx.query<GroupRow>(
        `INSERT INTO social_groups (id, name, owner_id, member_count, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [id, trimmed, ownerId, members.length, now],
      );
      await tx.query(
        `INSERT INTO social_group_members (group_id, user_id, role, joined_at)
         SELECT $1, member, CASE WHEN member = $2 THEN 'owner' ELSE 'member' END, $3 FROM unnest($4::uuid[]) AS member`,
        [id, ownerId, now, members],
      );
      await this.appendEvents(tx, [
        {
          groupId: id,
          type: 'group.created',
          actorId: ownerId,
          payload: { name: trimmed, member_ids: members },
        },
      ]);
      return toGroup({ ...rows[0]!, last_seq: 1n });
    });
  }

  async get(groupId: string): Promise<Group | null> {
    const { rows } = await this.deps.db.query<GroupRow>('SELECT * FROM social_groups WHERE id = $1', [
      groupId,
    ]);
    return rows[0] ? toGroup(rows[0]) : null;
  }

  async listForUser(userId: string): Promise<Group[]> {
    const { rows } = await this.deps.db.query<GroupRow>(
      `SELECT g.* FROM social_groups g JOIN social_group_members m ON m.group_id = g.id
       WHERE m.user_id = $1 ORDER BY g.created_at DESC LIMIT 500`,
      [userId],
    );
    return rows.map(toGroup);
  }

  async members(groupId: string): Promise<Member[]> {
    const { rows } = await this.deps.db.query<{ user_id: string; role: MemberRole; joined_at: Date }>(
      'SELECT user_id, role, joined_at FROM social_group_members WHERE group_id = $1 ORDER BY joined_at, user_id',
      [groupId],
    );
    return rows.map((row) => ({ userId: row.user_id, role: row.role, joinedAt: row.joined_at }));
  }

  async roleOf(
    groupId: string,
    userId: string,
    executor: Queryable = this.deps.db,
  ): Promise<MemberRole | null> {
    const { rows } = await executor.query<{ role: MemberRole }>(
      'SELECT role FROM social_group_members WHERE group_id = $1 AND user_id = $2',
      [groupId, userId],
    );
    return rows[0]?.role ?? null;
  }

  /**
   * The (group, user) pairs that are NOT memberships, as `${groupId}/${userId}`: for checking
   * many grabbers at once, where nearly all are members and the answer is usually empty.
   */
  async nonMembers(
    executor: Queryable,
    pairs: ReadonlyArray<{ groupId: string; userId: string }>,
  ): Promise<Set<string>> {
    if (pairs.length === 0) return new Set();
    const { rows } = await executor.query<{ g: string; u: string }>(
      `SELECT p.g, p.u FROM unnest($1::uuid[], $2::uuid[]) AS p (g, u)
       WHERE NOT EXISTS (SELECT 1 FROM social_group_members m WHERE m.group_id = p.g AND m.user_id = p.u)`,
      [pairs.map((p) => p.groupId), pairs.map((p) => p.userId)],
    );
    return new Set(rows.map((row) => `${row.g}/${row.u}`));
  }

  /**
   * A SQL boolean for another module's statement: every (group, user) pair is a member now
   * (the red-envelope commit checks its grabbers with it).
   */
  allMembersSql(sql: StatementBuilder, pairs: ReadonlyArray<{ groupId: string; userId: string }>): string {
    if (pairs.length === 0) return 'true';
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
    return `NOT EXISTS (SELECT 1 FROM unnest(${groups}::uuid[], ${users}::uuid[]) AS p (g, u)
      WHERE NOT EXISTS (SELECT 1 FROM social_group_members m WHERE m.group_id = p.g AND m.user_id = p.u))`;
  }

  async invite(groupId: string, actorId: string, userIds: readonly string[]): Promise<Member[]> {
    if (userIds.length === 0 || userIds.length > this.inviteBatchMax) {
      throw invalid(
        'invalid_invite',
        `Invite between 1 and ${GROUP_LIMITS.inviteBatchMax} people at a time.`,
      );
    }
    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (tx) => {
      const group = await this.lockGroup(tx, groupId);
      if (!(await this.roleOf(groupId, actorId, tx)))
        throw forbidden('not_a_member', 'Only members can invite people.');
      const { rows } = await tx.query<{ user_id: string }>(
        `INSERT INTO social_group_members (group_id, user_id, role, joined_at)
         SELECT $1, u, 'member', $2 FROM unnest($3::uuid[]) AS u ON CONFLICT DO NOTHING RETURNING user_id`,
        [groupId, now, [...new Set(userIds)]],
      );
      if (group.member_count + rows.length > this.membersMax) {
        throw conflict('group_full', `The group would exceed ${this.membersMax} members.`);
      }
      if (rows.length === 0) return;
      await tx.query('UPDATE social_groups SET member_count = member_count + $2 WHERE id = $1', [
        groupId,
        rows.length,
      ]);
      await this.appendEvents(
        tx,
        rows.map((row) => ({
          groupId,
          type: 'member.joined' as const,
          actorId,
          payload: { user_id: row.user_id },
        })),
      );
    });
    return this.members(groupId);
  }

  /** Removes a member (owner only), or the actor itself when actor = target (leaving). */
  async remove(groupId: string, actorId: string, targetId: string): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      const group = await this.lockGroup(tx, groupId);
      const actorRole = await this.roleOf(groupId, actorId, tx);
      const targetRole = await this.roleOf(groupId, targetId, tx);
      if (!targetRole) throw notFound('member_not_found', 'That person is not in this group.');
      if (!mayRemove(actorRole, actorId, targetId))
        throw forbidden('not_group_owner', 'Only the group owner can remove members.');
      if (actorId === targetId && !mayLeave(targetRole, group.member_count)) {
        throw conflict(
          'owner_cannot_leave',
          'The owner can leave only as the last member; remove the others first.',
        );
      }
      if (targetRole === 'owner' && actorId !== targetId)
        throw forbidden('cannot_remove_owner', 'The owner cannot be removed.');
      await tx.query('DELETE FROM social_group_members WHERE group_id = $1 AND user_id = $2', [
        groupId,
        targetId,
      ]);
      await tx.query('UPDATE social_groups SET member_count = member_count - 1 WHERE id = $1', [groupId]);
      await this.appendEvents(tx, [
        {
          groupId,
          type: actorId === targetId ? 'member.left' : 'member.removed',
          actorId,
          payload: { user_id: targetId },
        },
      ]);
    });
  }

  async postMessage(groupId: string, senderId: string, text: string): Promise<GroupEvent> {
    const body = text.trim();
    if (body.length === 0 || body.length > GROUP_LIMITS.messageLengthMax) {
      throw invalid('invalid_message', `A message has 1 to ${GROUP_LIMITS.messageLengthMax} characters.`);
    }
    return this.deps.db.transaction(async (tx) => {
      if (!(await this.roleOf(groupId, senderId, tx)))
        throw forbidden('not_a_member', 'Only members can post here.');
      const [event] = await this.appendEvents(tx, [
        { groupId, type: 'message.posted', actorId: senderId, payload: { text: body } },
      ]);
      return event!;
    });
  }

  /** Events after `afterSeq`, oldest first. */
  async events(groupId: string, afterSeq: bigint, limit = 100): Promise<GroupEvent[]> {
    const { rows } = await this.deps.db.query<{
      group_id: string;
      seq: bigint;
      id: string;
      type: GroupEventType;
      actor_id: string | null;
      payload: Record<string, unknown>;
      created_at: Date;
    }>('SELECT * FROM social_group_events WHERE group_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [
      groupId,
      afterSeq,
      Math.min(Math.max(limit, 1), 500),
    ]);
    return rows.map((row) => ({
      groupId: row.group_id,
      seq: row.seq,
      id: row.id,
      type: row.type,
      actorId: row.actor_id,
      payload: row.payload,
      createdAt: row.created_at,
    }));
  }

  /**
   * Appends events in the caller's transaction. Sequence numbers are taken per group with
   * one row update per group (groups locked in id order, so concurrent batches cannot
   * deadlock), and the events inserted, all in one statement.
   */
  async appendEvents(tx: pg.PoolClient, events: readonly NewGroupEvent[]): Promise<GroupEvent[]> {
    if (events.length === 0) return [];
    const sql = new StatementBuilder();
    const append = this.appendStatement(events, sql, 'true');
    const { rows } = await tx.query<{ id: string; last_seq: bigint }>(
      `WITH ${append.ctes.join(',\n')} SELECT id, last_seq FROM ${append.bumped}`,
      sql.values,
    );
    if (rows.length !== append.groupIds.length) throw notFound('group_not_found', 'No such group.');
    const lastSeq = new Map(rows.map((row) => [row.id, row.last_seq]));
    const appended: GroupEvent[] = events.map((event, index) => ({
      ...event,
      seq:
        lastSeq.get(event.groupId)! -
        BigInt(append.counts.get(event.groupId)!) +
        BigInt(append.places[index]!),
      id: append.ids[index]!,
      createdAt: append.now,
    }));
    queueMicrotask(() => this.announce(append.groupIds));
    return appended;
  }

  /**
   * The same append as part of another module's statement (a ledger commit participant):
   * CTEs that write only when the SQL boolean `applies` holds, and `accepted`, true when every
   * group existed. Call `announce` once that statement has committed.
   */
  appendEventsWrite(
    events: readonly NewGroupEvent[],
    sql: StatementBuilder,
    applies: string,
  ): { ctes: string[]; accepted: string; groupIds: string[] } {
    if (events.length === 0) return { ctes: [], accepted: 'true', groupIds: [] };
    const append = this.appendStatement(events, sql, applies);
    return {
      ctes: append.ctes,
      accepted: `(SELECT count(*) FROM ${append.bumped}) = ${append.groupIds.length}`,
      groupIds: append.groupIds,
    };
  }

  /** Wakes this process's live streams of these groups (after their new events committed). */
  announce(groupIds: readonly string[]): void {
    for (const id of groupIds) this.appended.emit('group', id);
  }

  private appendStatement(events: readonly NewGroupEvent[], sql: StatementBuilder, applies: string) {
    const counts = new Map<string, number>();
    // Each event's place among its group's new events (1-based): its seq is last_seq - n + place.
    const places = events.map((event) => {
      const place = (counts.get(event.groupId) ?? 0) + 1;
      counts.set(event.groupId, place);
      return place;
    });
    const groupIds = [...counts.keys()].sort();
    const now = this.deps.clock.now();
    const ids = events.map(() => uuidv7(now.getTime()));
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
         SELECT x.g, b.last_seq - b.n + x.place, x.i, x.t, x.a, x.p::jsonb, ${sql.param(now)}::timestamptz
           FROM unnest(${sql.param(events.map((e) => e.groupId))}::uuid[], ${sql.param(places)}::int[],
                       ${sql.param(ids)}::uuid[], ${sql.param(events.map((e) => e.type))}::text[],
                       ${sql.param(events.map((e) => e.actorId))}::uuid[],
                       ${sql.param(events.map((e) => JSON.stringify(e.payload)))}::text[]) AS x (g, place, i, t, a, p)
           JOIN ${bumped} b ON b.id = x.g)`,
    ];
    return { ctes, bumped, groupIds, counts, places, ids, now };
  }

  private async lockGroup(tx: pg.PoolClient, groupId: string): Promise<GroupRow> {
    const { rows } = await tx.query<GroupRow>('SELECT * FROM social_groups WHERE id = $1 FOR UPDATE', [
      groupId,
    ]);
    if (!rows[0]) throw notFound('group_not_found', 'No such group.');
    return rows[0];
  }
}
