import type { FastifyInstance } from 'fastify';
import { unauthenticated } from '../../platform/errors.ts';
import type { Identity } from '../identity.ts';
import { openSession, refreshSession, revokeSession } from '../sessions.ts';
import { consumeSmsCode, type SmsPurpose, sendSmsCode } from '../sms-codes.ts';
import { findStaffByPhone } from '../staff.ts';
import { findOrCreateUser, requireActive, userView } from '../users.ts';
import {
  EMPTY_BODY,
  NO_CONTENT,
  PHONE,
  RATE_LIMITS,
  SMS_CODE,
  strictObject,
  TIMESTAMP,
  TOKENS,
  USER,
} from './schemas.ts';

export async function authRoutes(app: FastifyInstance, identity: Identity) {
  const context = identity.context;

  app.post<{ Body: { phone: string; purpose: SmsPurpose } }>(
    '/v1/auth/sms-codes',
    {
      config: { policy: { public: true }, rateLimit: RATE_LIMITS.sms },
      schema: {
        tags: ['auth'],
        summary: 'Send a one-time sign-in code by SMS',
        description:
          'Codes expire, work once and are throttled per number. The response is the same whether or not an account exists.',
        body: strictObject({ phone: PHONE, purpose: { type: 'string', enum: ['login', 'staff_login'] } }),
        response: { 202: { type: 'object', properties: { expires_at: TIMESTAMP } } },
      },
    },
    async (request, reply) => {
      const { phone, purpose } = request.body;
      if (purpose === 'staff_login' && !(await findStaffByPhone(context.db, phone))) {
        // Same answer as for a real staff number, so staff phones cannot be discovered.
        const expiresAt = new Date(context.clock.now().getTime() + context.settings.smsCodeTtlSeconds * 1000);
        return reply.status(202).send({ expires_at: expiresAt.toISOString() });
      }
      const { expiresAt } = await sendSmsCode(context, phone, purpose, request.ip);
      return reply.status(202).send({ expires_at: expiresAt.toISOString() });
    },
  );

  app.post<{ Body: { phone: string; code: string } }>(
    '/v1/auth/login',
    {
      config: { policy: { public: true }, rateLimit: RATE_LIMITS.login },
      schema: {
        tags: ['auth'],
        summary: 'Sign in (or sign up) with the SMS code',
        body: strictObject({ phone: PHONE, code: SMS_CODE }),
        response: {
          200: {
            type: 'object',
            properties: { ...TOKENS.properties, user: USER, created: { type: 'boolean' } },
          },
        },
      },
    },
    async (request) => {
      await consumeSmsCode(context, request.body.phone, 'login', request.body.code);
      const { user, created } = await findOrCreateUser(context, request.body.phone);
      requireActive(user);
      const tokens = await openSession(context, 'user', user.id, request.headers['user-agent']);
      return { ...tokens, user: userView(user), created };
    },
  );

  app.post<{ Body: { phone: string; code: string } }>(
    '/v1/auth/staff/login',
    {
      config: { policy: { public: true }, rateLimit: RATE_LIMITS.login },
      schema: {
        tags: ['auth'],
        summary: 'Staff sign-in with the SMS code',
        body: strictObject({ phone: PHONE, code: SMS_CODE }),
        response: { 200: TOKENS },
      },
    },
    async (request) => {
      await consumeSmsCode(context, request.body.phone, 'staff_login', request.body.code);
      const staff = await findStaffByPhone(context.db, request.body.phone);
      if (staff?.status !== 'active') {
        throw unauthenticated('account_disabled', 'This staff account is disabled.');
      }
      return openSession(context, 'operator', staff.id, request.headers['user-agent']);
    },
  );

  app.post<{ Body: { refresh_token: string } }>(
    '/v1/auth/refresh',
    {
      config: { policy: { public: true }, rateLimit: RATE_LIMITS.login },
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for new tokens (rotation)',
        description: 'Each refresh token works once. Presenting a used one ends the whole session.',
        body: strictObject({ refresh_token: { type: 'string', minLength: 10, maxLength: 200 } }),
        response: { 200: TOKENS },
      },
    },
    async (request) => refreshSession(context, request.body.refresh_token),
  );

  app.post(
    '/v1/auth/logout',
    {
      config: { policy: { roles: ['user', 'operator-read', 'operator-admin', 'auditor'] } },
      schema: { tags: ['auth'], summary: 'End the current session', body: EMPTY_BODY, response: NO_CONTENT },
    },
    async (request, reply) => {
      const principal = request.principal!;
      if (principal.credentialId)
        await revokeSession(context, principal.credentialId, 'logout', principal.key);
      return reply.status(204).send();
    },
  );
}
