import { EventEmitter } from 'node:events';
import type { Clock } from '../platform/clock.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import type { JoinedWrite } from '../platform/db/joined-write.ts';
import { conflict, forbidden, invalid, notFound, unprocessable } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { GROUP_LIMITS, type GroupEventType, type MemberRole, mayLeave, mayRemove } from './rules.ts';
import type { EventStamp, GroupRow, NewGroupEvent } from './store.ts';
import * as store from './store.ts';

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

/**
 * Which of these ids are users (identity's public API; social never reads identity's tables).
 * Members must be real people: a made-up id would still count toward member_count, which caps
 * the shares of the group's envelopes.
 */
export type ExistingUsers = (userIds: readonly string[]) => Promise<ReadonlySet<string>>;

/**
 * `members: 'synthetic'` skips the check, for service callers that make up grabbers on purpose
 * (the operator's storm, benches, load tests); the HTTP routes never pass it.
 */
export interface MemberOptions {
  members?: 'users' | 'synthetic';
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
 * together; or join them to a ledger commit as typed writes (`eventsWrite`, `membersGuard`),
 * whose SQL stays here.
 */
export class Groups {
  /** Emits the group id whenever this process appends to it, so live streams wake at once. */
  readonly appended = new EventEmitter().setMaxListeners(0);

  /** Most members in a group (GROUP_MEMBERS_MAX). */
  readonly membersMax: number;
  /** Service callers (bench, storms) may add many at once; the HTTP route caps at GROUP_LIMITS.inviteBatchMax. */
  private readonly inviteBatchMax = 10_000;

  constructor(
    private readonly deps: {
      db: Database;
      clock: Clock;
      membersMax?: number;
      /** Without it (unit tests of social alone) every id counts as a user. */
      existingUsers?: ExistingUsers;
    },
  ) {
    this.membersMax = deps.membersMax ?? GROUP_LIMITS.membersMax;
  }

  /** Refuses ids that are not users (422 unknown_user), unless the caller asks for synthetic members. */
  private async assertUsers(userIds: readonly string[], options: MemberOptions): Promise<void> {
    if (options.members === 'synthetic' || !this.deps.existingUsers || userIds.length === 0) return;
    const existing = await this.deps.existingUsers(userIds);
    const unknown = userIds.filter((id) => !existing.has(id));
    if (unknown.length > 0) {
      throw unprocessable('unknown_user', 'Only existing users can be members of a group.', {
        user_ids: unknown.slice(0, 20),
      });
    }
  }

  async create(
    ownerId: string,
    name: string,
    memberIds: readonly string[] = [],
    options: MemberOptions = {},
  ): Promise<Group> {
    const trimmed = name.trim();
    if (trimmed.length === 0) throw invalid('invalid_group_name', 'Give the group a name.');
    const members = [...new Set([ownerId, ...memberIds])];
    if (members.length > this.membersMax) {
      throw invalid('group_too_large', `A group has at most ${this.membersMax} members.`);
    }
    await this.assertUsers(
      members.filter((id) => id !== ownerId),
      options,
    );
    const now = this.deps.clock.now();
    const id = uuidv7(now.getTime());
    return this.deps.db.transaction(async (tx) => {
      const row = await store.insertGroup(tx, {
        id,
        name: trimmed,
        ownerId,
        memberIds: members,
        createdAt: now,
      });
      await this.appendEvents(tx, [
        {
          groupId: id,
          type: 'group.created',
          actorId: ownerId,
          payload: { name: trimmed, member_ids: members },
        },
      ]);
      return toGroup({ ...row, last_seq: 1n });
    });
  }

  async get(groupId: string): Promise<Group | null> {
    const row = await store.getGroup(this.deps.db, groupId);
    return row ? toGroup(row) : null;
  }

  async listForUser(userId: string): Promise<Group[]> {
    return (await store.groupsOfUser(this.deps.db, userId)).map(toGroup);
  }

  async members(groupId: string): Promise<Member[]> {
    const rows = await store.listMembers(this.deps.db, groupId);
    return rows.map((row) => ({ userId: row.user_id, role: row.role, joinedAt: row.joined_at }));
  }

  async roleOf(
    groupId: string,
    userId: string,
    executor: Queryable = this.deps.db,
  ): Promise<MemberRole | null> {
    return store.memberRole(executor, groupId, userId);
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
    return store.nonMembers(executor, pairs);
  }

  /**
   * For another module's commit (a ledger commit participant): accepted only if every
   * (group, user) pair is a member when that statement runs (the red-envelope commit checks
   * its grabbers with it, so a removal takes effect at once).
   */
  membersGuard(pairs: ReadonlyArray<{ groupId: string; userId: string }>): JoinedWrite {
    return store.membersGuard(pairs);
  }

  async invite(
    groupId: string,
    actorId: string,
    userIds: readonly string[],
    options: MemberOptions = {},
  ): Promise<Member[]> {
    if (userIds.length === 0 || userIds.length > this.inviteBatchMax) {
      throw invalid(
        'invalid_invite',
        `Invite between 1 and ${GROUP_LIMITS.inviteBatchMax} people at a time.`,
      );
    }
    await this.assertUsers([...new Set(userIds)], options);
    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (tx) => {
      const group = await this.lockGroup(tx, groupId);
      if (!(await this.roleOf(groupId, actorId, tx)))
        throw forbidden('not_a_member', 'Only members can invite people.');
      const added = await store.insertMembers(tx, groupId, [...new Set(userIds)], now);
      if (group.member_count + added.length > this.membersMax) {
        throw conflict('group_full', `The group would exceed ${this.membersMax} members.`);
      }
      if (added.length === 0) return;
      await store.addToMemberCount(tx, groupId, added.length);
      await this.appendEvents(
        tx,
        added.map((userId) => ({
          groupId,
          type: 'member.joined' as const,
          actorId,
          payload: { user_id: userId },
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
      await store.deleteMember(tx, groupId, targetId);
      await store.addToMemberCount(tx, groupId, -1);
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
    const rows = await store.eventsAfter(this.deps.db, groupId, afterSeq, Math.min(Math.max(limit, 1), 500));
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
  async appendEvents(tx: Queryable, events: readonly NewGroupEvent[]): Promise<GroupEvent[]> {
    if (events.length === 0) return [];
    const stamp = this.stamp(events);
    const seqs = await store.insertEvents(tx, events, stamp);
    if (!seqs) throw notFound('group_not_found', 'No such group.');
    const appended: GroupEvent[] = events.map((event, index) => ({
      ...event,
      seq: seqs[index]!,
      id: stamp.ids[index]!,
      createdAt: stamp.now,
    }));
    const groupIds = [...new Set(events.map((event) => event.groupId))];
    queueMicrotask(() => this.announce(groupIds));
    return appended;
  }

  /**
   * The same append as part of another module's commit (a ledger commit participant): it
   * writes only when that statement applies, and is accepted when every group existed.
   * `groupIds` are the groups it appends to: call `announce(groupIds)` once that statement
   * has committed. It may be rendered more than once (a re-run batch); each rendering takes
   * fresh event ids and time.
   */
  eventsWrite(events: readonly NewGroupEvent[]): JoinedWrite & { groupIds: string[] } {
    return store.eventsWrite(events, () => this.stamp(events));
  }

  /** Wakes this process's live streams of these groups (after their new events committed). */
  announce(groupIds: readonly string[]): void {
    for (const id of groupIds) this.appended.emit('group', id);
  }

  /** Ids and time for new events: ids are UUIDv7 of the same instant. */
  private stamp(events: readonly NewGroupEvent[]): EventStamp {
    const now = this.deps.clock.now();
    return { now, ids: events.map(() => uuidv7(now.getTime())) };
  }

  private async lockGroup(tx: Queryable, groupId: string): Promise<GroupRow> {
    const row = await store.lockGroup(tx, groupId);
    if (!row) throw notFound('group_not_found', 'No such group.');
    return row;
  }
}
