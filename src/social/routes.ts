import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, unavailable } from '../platform/errors.ts';
import type { Principal, Role, RoutePolicy } from '../platform/http/policy.ts';
import type { Group, GroupEvent, Groups, Member } from './groups.ts';
import { GROUP_LIMITS } from './rules.ts';

const uuid = { type: 'string', format: 'uuid' } as const;
const groupParams = {
  type: 'object',
  additionalProperties: false,
  required: ['group_id'],
  properties: { group_id: uuid },
} as const;
const groupSchema = {
  type: 'object',
  properties: {
    id: uuid,
    name: { type: 'string' },
    owner_id: uuid,
    member_count: { type: 'integer' },
    last_seq: { type: 'string', description: 'Sequence of the newest event' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;
const memberSchema = {
  type: 'object',
  properties: {
    user_id: uuid,
    role: { type: 'string', enum: ['owner', 'member'] },
    joined_at: { type: 'string', format: 'date-time' },
  },
} as const;
const eventSchema = {
  type: 'object',
  properties: {
    seq: { type: 'string' },
    id: uuid,
    type: { type: 'string' },
    actor_id: { type: ['string', 'null'] },
    payload: { type: 'object', additionalProperties: true },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

const STREAMS_MAX = 2000;
const POLL_MS = 500;
const HEARTBEAT_MS = 15_000;
/** How often an open stream re-checks that its reader is still a member with a live session. */
const RECHECK_MS = 2000;

export interface StreamGuards {
  /** Identity's answer: the principal's session still stands (no logout, expiry or freeze). */
  sessionActive: (principal: Principal) => Promise<boolean>;
  /** Overrides RECHECK_MS (tests). */
  recheckMs?: number;
  /** Overrides GROUP_LIMITS.streamsPerUser (tests). */
  perUserMax?: number;
}

function groupJson(group: Group) {
  return {
    id: group.id,
    name: group.name,
    owner_id: group.ownerId,
    member_count: group.memberCount,
    last_seq: group.lastSeq.toString(),
    created_at: group.createdAt.toISOString(),
  };
}
function memberJson(member: Member) {
  return { user_id: member.userId, role: member.role, joined_at: member.joinedAt.toISOString() };
}

function eventJson(event: GroupEvent) {
  return {
    seq: event.seq.toString(),
    id: event.id,
    type: event.type,
    actor_id: event.actorId,
    payload: event.payload,
    created_at: event.createdAt.toISOString(),
  };
}

/**
 * Who may touch a group: its members (as if they owned it), and staff for reading.
 * Returns the caller's id for members, the owner's id for others, undefined if no group.
 */
function groupMemberPolicy(groups: Groups, roles: readonly Role[]): RoutePolicy {
  return {
    roles,
    owner: async (request: FastifyRequest) => {
      const { group_id: groupId } = request.params as { group_id: string };
      const group = await groups.get(groupId);
      if (!group) return undefined;
      const principal = request.principal;
      if (principal?.kind === 'user' && (await groups.roleOf(groupId, principal.id))) return principal.id;
      return group.ownerId;
    },
  };
}

export async function socialRoutes(app: FastifyInstance, deps: { groups: Groups; streams: StreamGuards }) {
  const { groups } = deps;
  const recheckMs = deps.streams.recheckMs ?? RECHECK_MS;
  const perUserMax = deps.streams.perUserMax ?? GROUP_LIMITS.streamsPerUser;
  /** Open streams per principal key, for the per-user cap. */
  const streamsByUser = new Map<string, number>();
  const members = groupMemberPolicy(groups, ['user']);
  const membersAndStaff = groupMemberPolicy(groups, ['user', 'operator-read', 'operator-admin']);
  const me = (request: FastifyRequest) => request.principal!.id;
  const openStreams = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const close of [...openStreams]) close();
  });

  app.post(
    '/v1/groups',
    {
      config: { policy: { roles: ['user'] } },
      schema: {
        tags: ['groups'],
        summary: 'Create a group chat; the caller becomes its owner',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: GROUP_LIMITS.nameLengthMax },
            member_ids: { type: 'array', items: uuid, maxItems: GROUP_LIMITS.inviteBatchMax },
          },
        },
        response: { 201: groupSchema },
      },
    },
    async (request, reply) => {
      const body = request.body as { name: string; member_ids?: string[] };
      return reply.status(201).send(groupJson(await groups.create(me(request), body.name, body.member_ids)));
    },
  );

  app.get(
    '/v1/groups',
    {
      config: { policy: { roles: ['user'] } },
      schema: {
        tags: ['groups'],
        summary: 'Groups the caller belongs to',
        response: { 200: { type: 'object', properties: { groups: { type: 'array', items: groupSchema } } } },
      },
    },
    async (request) => ({ groups: (await groups.listForUser(me(request))).map(groupJson) }),
  );

  app.get(
    '/v1/groups/:group_id',
    {
      config: { policy: membersAndStaff },
      schema: {
        tags: ['groups'],
        summary: 'A group and its members',
        params: groupParams,
        response: {
          200: {
            type: 'object',
            properties: { group: groupSchema, members: { type: 'array', items: memberSchema } },
          },
        },
      },
    },
    async (request) => {
      const { group_id: groupId } = request.params as { group_id: string };
      const group = (await groups.get(groupId))!;
      const list = await groups.members(groupId);
      return {
        group: groupJson(group),
        members: list.map(memberJson),
      };
    },
  );

  app.post(
    '/v1/groups/:group_id/members',
    {
      config: { policy: members },
      schema: {
        tags: ['groups'],
        summary: 'Invite people to the group (any member may)',
        params: groupParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['user_ids'],
          properties: {
            user_ids: { type: 'array', items: uuid, minItems: 1, maxItems: GROUP_LIMITS.inviteBatchMax },
          },
        },
        response: {
          200: { type: 'object', properties: { members: { type: 'array', items: memberSchema } } },
        },
      },
    },
    async (request) => {
      const { group_id: groupId } = request.params as { group_id: string };
      const list = await groups.invite(
        groupId,
        me(request),
        (request.body as { user_ids: string[] }).user_ids,
      );
      return {
        members: list.map(memberJson),
      };
    },
  );

  app.delete(
    '/v1/groups/:group_id/members/:user_id',
    {
      config: { policy: members },
      schema: {
        tags: ['groups'],
        summary: 'Remove a member (owner only), or leave when user_id is yourself',
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['group_id', 'user_id'],
          properties: { group_id: uuid, user_id: uuid },
        },
        response: { 204: { type: 'null' } },
      },
    },
    async (request, reply) => {
      const { group_id: groupId, user_id: userId } = request.params as { group_id: string; user_id: string };
      await groups.remove(groupId, me(request), userId);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/groups/:group_id/messages',
    {
      config: { policy: members },
      schema: {
        tags: ['groups'],
        summary: 'Post a text message to the group',
        params: groupParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['text'],
          properties: { text: { type: 'string', minLength: 1, maxLength: GROUP_LIMITS.messageLengthMax } },
        },
        response: { 201: eventSchema },
      },
    },
    async (request, reply) => {
      const { group_id: groupId } = request.params as { group_id: string };
      const event = await groups.postMessage(groupId, me(request), (request.body as { text: string }).text);
      return reply.status(201).send(eventJson(event));
    },
  );

  app.get(
    '/v1/groups/:group_id/events',
    {
      config: { policy: membersAndStaff },
      schema: {
        tags: ['groups'],
        summary: 'The group stream after a sequence number, oldest first',
        params: groupParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string', pattern: '^[0-9]{1,18}$' },
            limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
          },
        },
        response: { 200: { type: 'object', properties: { events: { type: 'array', items: eventSchema } } } },
      },
    },
    async (request) => {
      const { group_id: groupId } = request.params as { group_id: string };
      const query = request.query as { after?: string; limit?: string };
      const events = await groups.events(groupId, BigInt(query.after ?? '0'), Number(query.limit ?? '100'));
      return { events: events.map(eventJson) };
    },
  );

  app.get(
    '/v1/groups/:group_id/stream',
    {
      config: { policy: members },
      schema: {
        tags: ['groups'],
        summary:
          'Live group stream (Server-Sent Events): one event per message, envelope sent, grabbed, finished',
        description:
          'Resume with the Last-Event-ID header or ?after=<seq>. Each SSE event id is the sequence number. ' +
          `At most ${GROUP_LIMITS.streamsPerUser} open streams per person (429 too_many_user_streams). ` +
          'Membership and session are re-checked while open: after a removal, leaving, logout or freeze ' +
          'the stream sends `event: stream.ended` with data {"reason": "membership_ended" | "session_ended"} and closes.',
        params: groupParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: { type: 'string', pattern: '^[0-9]{1,18}$' } },
        },
      },
    },
    async (request, reply) => {
      if (openStreams.size >= STREAMS_MAX)
        throw unavailable('too_many_streams', 'Too many live connections; retry shortly.');
      const principal = request.principal!;
      const mine = streamsByUser.get(principal.key) ?? 0;
      if (mine >= perUserMax) {
        throw new AppError(
          'rate_limited',
          'too_many_user_streams',
          `At most ${perUserMax} live group streams per person; close one first.`,
          { max: perUserMax },
        );
      }
      // Counted at once (before any await), so parallel opens cannot all pass the check.
      streamsByUser.set(principal.key, mine + 1);
      let counted = true;
      const uncount = () => {
        if (!counted) return;
        counted = false;
        const left = (streamsByUser.get(principal.key) ?? 1) - 1;
        if (left > 0) streamsByUser.set(principal.key, left);
        else streamsByUser.delete(principal.key);
      };
      const { group_id: groupId } = request.params as { group_id: string };
      const lastEventId = request.headers['last-event-id'];
      const startAfter =
        (request.query as { after?: string }).after ??
        (typeof lastEventId === 'string' && /^\d{1,18}$/.test(lastEventId) ? lastEventId : undefined);
      let cursor: bigint;
      try {
        cursor = startAfter !== undefined ? BigInt(startAfter) : ((await groups.get(groupId))?.lastSeq ?? 0n);
      } catch (error) {
        uncount();
        throw error;
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-request-id': String(request.id),
      });
      raw.write(': connected\n\n');
      let closed = false;
      let busy = false;
      /** Ends the stream with a last event saying why (the client should not reconnect blindly). */
      const endWith = (reason: 'membership_ended' | 'session_ended') => {
        if (closed) return;
        raw.write(`event: stream.ended\ndata: ${JSON.stringify({ reason })}\n\n`);
        end();
      };
      const pump = async () => {
        if (closed || busy) return;
        busy = true;
        try {
          for (;;) {
            const batch = await groups.events(groupId, cursor, 200);
            for (const event of batch) {
              if (closed) return;
              raw.write(
                `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(eventJson(event))}\n\n`,
              );
              cursor = event.seq;
              // The reader's own removal (or leaving) is the last event they see: nothing after it.
              if (
                (event.type === 'member.removed' || event.type === 'member.left') &&
                event.payload.user_id === principal.id
              ) {
                endWith('membership_ended');
                return;
              }
            }
            if (batch.length < 200 || closed) break;
          }
        } catch (error) {
          request.log.warn({ err: error }, 'group stream poll failed');
        } finally {
          busy = false;
        }
      };
      const onAppend = (id: string) => {
        if (id === groupId) void pump();
      };
      groups.appended.on('group', onAppend);
      const poller = setInterval(() => void pump(), POLL_MS);
      const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS);
      // Membership and session are re-checked while the stream is open: a removal, a logout or
      // a freeze ends it within recheckMs.
      const recheck = setInterval(async () => {
        try {
          if (!(await groups.roleOf(groupId, principal.id))) endWith('membership_ended');
          else if (!(await deps.streams.sessionActive(principal))) endWith('session_ended');
        } catch (error) {
          request.log.warn({ err: error }, 'group stream re-check failed');
        }
      }, recheckMs);
      const close = () => {
        if (closed) return;
        closed = true;
        openStreams.delete(end);
        uncount();
        clearInterval(poller);
        clearInterval(heartbeat);
        clearInterval(recheck);
        groups.appended.off('group', onAppend);
      };
      const end = () => {
        close();
        raw.end();
      };
      openStreams.add(end);
      request.raw.on('close', close);
      raw.on('close', close);
      void pump();
    },
  );
}
