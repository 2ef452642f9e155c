import type { FastifyInstance } from 'fastify';
import { forbidden, notFound } from '../../platform/errors.ts';
import type { Identity } from '../identity.ts';
import { revokeAllSessions } from '../sessions.ts';
import { createStaff, findStaffByPhone, STAFF_ROLES, type StaffRole, staffView } from '../staff.ts';
import { findUserByPhone, getUser, setUserStatus, userView, verifyRealName } from '../users.ts';
import { owners } from './owners.ts';
import { AUDIT_ENTRY, NAME, PHONE, params, STAFF, strictObject, TIMESTAMP, USER, UUID } from './schemas.ts';

/** Staff tools: find and freeze users, create staff, read the audit log and the sandbox SMS inbox. */
export async function operatorRoutes(
  app: FastifyInstance,
  identity: Identity,
  options: { sandboxInbox: boolean },
) {
  const context = identity.context;
  const own = owners(identity);

  app.get<{ Querystring: { phone: string } }>(
    '/v1/operator/users',
    {
      config: { policy: { roles: ['operator-read', 'operator-admin'] } },
      schema: {
        tags: ['operator'],
        summary: 'Find a user by phone number',
        querystring: strictObject({ phone: PHONE }),
        response: { 200: USER },
      },
    },
    async (request) => {
      const user = await findUserByPhone(context.db, request.query.phone);
      if (!user) throw notFound('user_not_found', 'No user has this phone number.');
      await identity.audit({
        actor: request.principal!.key,
        action: 'operator.user_looked_up',
        subject: `user:${user.id}`,
      });
      return userView(user);
    },
  );

  app.post<{ Params: { user_id: string }; Body: { status: 'active' | 'frozen'; reason: string } }>(
    '/v1/operator/users/:user_id/status',
    {
      config: { policy: { roles: ['operator-admin'], owner: own.user } },
      schema: {
        tags: ['operator'],
        summary: 'Freeze or unfreeze a user; freezing ends every session',
        params: params('user_id'),
        body: strictObject({
          status: { type: 'string', enum: ['active', 'frozen'] },
          reason: { type: 'string', minLength: 1, maxLength: 200 },
        }),
        response: { 200: USER },
      },
    },
    async (request) => {
      const { user_id } = request.params;
      await setUserStatus(context, user_id, request.body.status, request.principal!.key, request.body.reason);
      if (request.body.status === 'frozen')
        await revokeAllSessions(context, user_id, 'account_frozen', request.principal!.key);
      return userView((await getUser(context.db, user_id))!);
    },
  );

  app.post<{
    Params: { user_id: string };
    Body: { name: string; id_number: string; requested_class: 'II' | 'III'; reason: string };
  }>(
    '/v1/operator/users/:user_id/real-name',
    {
      config: { policy: { roles: ['operator-admin'], owner: own.user } },
      schema: {
        tags: ['operator'],
        summary:
          "Correct a user's verified real name (users set theirs once; changes go through here, audited)",
        description:
          'The name and ID number are checked with the real-name verifier as for a user; the audit log records ' +
          'operator.real_name_corrected with the reason and the masked ID number.',
        params: params('user_id'),
        body: strictObject({
          name: NAME,
          id_number: { type: 'string', minLength: 18, maxLength: 22 },
          requested_class: { type: 'string', enum: ['II', 'III'] },
          reason: { type: 'string', minLength: 1, maxLength: 200 },
        }),
        response: { 200: USER },
      },
    },
    async (request) => {
      const user = await verifyRealName(
        context,
        request.params.user_id,
        {
          name: request.body.name,
          idNumber: request.body.id_number,
          requestedClass: request.body.requested_class === 'III' ? 3 : 2,
        },
        { actor: request.principal!.key, reason: request.body.reason },
      );
      return userView(user);
    },
  );

  app.post<{ Body: { phone: string; name: string; roles: StaffRole[] } }>(
    '/v1/operator/staff',
    {
      config: { policy: { roles: ['operator-admin'] } },
      schema: {
        tags: ['operator'],
        summary: 'Create a staff account',
        body: strictObject({
          phone: PHONE,
          name: NAME,
          roles: {
            type: 'array',
            minItems: 1,
            uniqueItems: true,
            items: { type: 'string', enum: [...STAFF_ROLES] },
          },
        }),
        response: { 201: STAFF },
      },
    },
    async (request, reply) =>
      reply.status(201).send(staffView(await createStaff(context, request.body, request.principal!.key))),
  );

  app.get<{ Querystring: { after_seq?: string; limit?: string; subject?: string; actor?: string } }>(
    '/v1/audit',
    {
      config: { policy: { roles: ['auditor', 'operator-read', 'operator-admin'] } },
      schema: {
        tags: ['audit'],
        summary: 'The audit log, oldest first (page with after_seq)',
        querystring: strictObject(
          {
            after_seq: { type: 'string', pattern: '^[0-9]{1,18}$' },
            limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$', description: '1-500, default 100' },
            subject: { type: 'string', maxLength: 100 },
            actor: { type: 'string', maxLength: 100 },
          },
          [],
        ),
        response: {
          200: {
            type: 'object',
            properties: {
              entries: { type: 'array', items: AUDIT_ENTRY },
              next_after_seq: { type: ['string', 'null'] },
            },
          },
        },
      },
    },
    async (request) => {
      const limit = Math.min(500, Number(request.query.limit ?? '100'));
      const rows = await identity.readAudit({
        afterSeq: BigInt(request.query.after_seq ?? '0'),
        limit,
        subject: request.query.subject,
        actor: request.query.actor,
      });
      const entries = rows.map((row) => ({ ...row, seq: row.seq.toString(), at: row.at.toISOString() }));
      return { entries, next_after_seq: rows.length === limit ? entries.at(-1)!.seq : null };
    },
  );

  // Development only (never registered in production), operator-admin only, audited, and never
  // for a staff phone: reading another staff member's sign-in code would be signing in as them.
  if (identity.sandboxSms && options.sandboxInbox) {
    const inbox = identity.sandboxSms;
    app.get<{ Querystring: { phone: string } }>(
      '/v1/sandbox/sms',
      {
        config: { policy: { roles: ['operator-admin'] } },
        schema: {
          tags: ['sandbox'],
          summary:
            "Sandbox SMS inbox for a user's phone (development profile with the sandbox SMS connector; never staff phones; audited)",
          querystring: strictObject({ phone: PHONE }),
          response: {
            200: {
              type: 'object',
              properties: {
                messages: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      id: UUID,
                      phone: { type: 'string' },
                      body: { type: 'string' },
                      created_at: TIMESTAMP,
                    },
                  },
                },
              },
            },
          },
        },
      },
      async (request) => {
        const { phone } = request.query;
        if (await findStaffByPhone(context.db, phone))
          throw forbidden(
            'staff_inbox_forbidden',
            'Staff sign-in codes are never shown; a staff member reads their own phone (or `tuyere sandbox-sms` on the server, in development).',
          );
        const user = await findUserByPhone(context.db, phone);
        await identity.audit({
          actor: request.principal!.key,
          action: 'sandbox.sms_inbox_read',
          subject: user ? `user:${user.id}` : 'phone:unregistered',
        });
        return {
          messages: (await inbox.inbox(phone)).map((m) => ({
            ...m,
            created_at: m.created_at.toISOString(),
          })),
        };
      },
    );
  }
}
