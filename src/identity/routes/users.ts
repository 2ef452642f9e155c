import type { FastifyInstance } from 'fastify';
import type { Identity } from '../identity.ts';
import { changePin, checkPinState, resetPin, setInitialPin } from '../pin.ts';
import { PAYMENT_PROOF_SCHEMA, type PaymentProofBody, stepUpProofFromBody } from '../proof-schema.ts';
import { listSessions, revokeSession } from '../sessions.ts';
import { sendSmsCode } from '../sms-codes.ts';
import {
  assertPhoneAvailable,
  changePhone,
  getUser,
  setPasswordFree,
  userView,
  verifyRealName,
} from '../users.ts';
import { owners } from './owners.ts';
import {
  EMPTY_BODY,
  LIMIT_LINE,
  NAME,
  NO_CONTENT,
  NULLABLE_TIMESTAMP,
  PHONE,
  PIN,
  params,
  RATE_LIMITS,
  SESSION,
  SMS_CODE,
  strictObject,
  TIMESTAMP,
  USER,
} from './schemas.ts';

type UserParams = { user_id: string };

/** /v1/me and /v1/users/{user_id}/...: profile, sessions, real name, settings, limits, PIN. */
export async function userRoutes(app: FastifyInstance, identity: Identity) {
  const context = identity.context;
  const own = owners(identity);
  const loadUser = async (userId: string) => (await getUser(context.db, userId))!;

  app.get(
    '/v1/me',
    {
      config: { policy: { roles: ['user'] } },
      schema: { tags: ['users'], summary: 'The signed-in user', response: { 200: USER } },
    },
    async (request) => userView(await loadUser(request.principal!.id)),
  );

  app.get<{ Params: UserParams }>(
    '/v1/users/:user_id',
    {
      config: { policy: { roles: ['user', 'operator-read', 'operator-admin'], owner: own.user } },
      schema: {
        tags: ['users'],
        summary: 'A user profile (masked)',
        params: params('user_id'),
        response: { 200: USER },
      },
    },
    async (request) => userView(await loadUser(request.params.user_id)),
  );

  app.get<{ Params: UserParams }>(
    '/v1/users/:user_id/sessions',
    {
      config: { policy: { roles: ['user', 'operator-read', 'operator-admin'], owner: own.user } },
      schema: {
        tags: ['sessions'],
        summary: 'Active sessions',
        params: params('user_id'),
        response: { 200: { type: 'object', properties: { sessions: { type: 'array', items: SESSION } } } },
      },
    },
    async (request) => ({
      sessions: await listSessions(context, request.params.user_id, request.principal!.credentialId),
    }),
  );

  app.delete<{ Params: { session_id: string } }>(
    '/v1/sessions/:session_id',
    {
      config: { policy: { roles: ['user', 'operator-admin'], owner: own.session } },
      schema: {
        tags: ['sessions'],
        summary: 'End a session (e.g. on a lost phone)',
        params: params('session_id'),
        response: NO_CONTENT,
      },
    },
    async (request, reply) => {
      await revokeSession(context, request.params.session_id, 'revoked', request.principal!.key);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: UserParams; Body: { name: string; id_number: string; requested_class: 'II' | 'III' } }>(
    '/v1/users/:user_id/real-name',
    {
      config: { policy: { roles: ['user'], owner: own.user } },
      schema: {
        tags: ['users'],
        summary: 'Verify real name and ID number to raise the account class',
        description:
          'Sandbox verifier: the ID sequence digits (positions 15-17) pick the outcome: 999 unavailable, 998 name mismatch, 997 unknown ID, 996 only 3 sources (class II); otherwise 5 sources.',
        params: params('user_id'),
        body: strictObject({
          name: NAME,
          id_number: { type: 'string', minLength: 18, maxLength: 22 },
          requested_class: { type: 'string', enum: ['II', 'III'] },
        }),
        response: { 200: USER },
      },
    },
    async (request) => {
      const user = await verifyRealName(context, request.params.user_id, {
        name: request.body.name,
        idNumber: request.body.id_number,
        requestedClass: request.body.requested_class === 'III' ? 3 : 2,
      });
      return userView(user);
    },
  );

  app.patch<{ Params: UserParams; Body: { password_free_enabled: boolean; proof?: PaymentProofBody } }>(
    '/v1/users/:user_id/payment-settings',
    {
      config: { policy: { roles: ['user'], owner: own.user } },
      schema: {
        tags: ['users'],
        summary: 'Turn password-free small payments on (step-up) or off',
        description:
          'Turning it on needs a step-up in `proof`: the PIN, or a device signature over a challenge with purpose `password_free.enable`, amount `0`, payee `user:<user_id>`. Turning it off needs none.',
        params: params('user_id'),
        body: strictObject({ password_free_enabled: { type: 'boolean' }, proof: PAYMENT_PROOF_SCHEMA }, [
          'password_free_enabled',
        ]),
        response: { 200: USER },
      },
    },
    async (request) => {
      const userId = request.params.user_id;
      if (request.body.password_free_enabled)
        await identity.requireStepUp(userId, 'password_free.enable', stepUpProofFromBody(request.body.proof));
      await setPasswordFree(context, userId, request.body.password_free_enabled, request.principal!.key);
      return userView(await loadUser(userId));
    },
  );

  app.get<{ Params: UserParams }>(
    '/v1/users/:user_id/limits',
    {
      config: { policy: { roles: ['user', 'operator-read', 'operator-admin'], owner: own.user } },
      schema: {
        tags: ['limits'],
        summary: 'Caps, usage and what is left (fen)',
        params: params('user_id'),
        response: {
          200: {
            type: 'object',
            properties: {
              account_class: { type: 'string' },
              password_free_max_payment: { type: 'string' },
              password_free_daily_count: { type: 'integer' },
              limits: { type: 'array', items: LIMIT_LINE },
            },
          },
        },
      },
    },
    async (request) => {
      const user = await loadUser(request.params.user_id);
      return {
        account_class: userView(user).account_class,
        password_free_max_payment: context.settings.passwordFreeMaxPayment.toString(),
        password_free_daily_count: context.settings.passwordFreeDailyCount,
        limits: await identity.limitsOverview(user.id),
      };
    },
  );

  app.post<{ Params: UserParams; Body: { new_phone: string } }>(
    '/v1/users/:user_id/phone/verification-code',
    {
      config: { policy: { roles: ['user'], owner: own.user }, rateLimit: RATE_LIMITS.sms },
      schema: {
        tags: ['users'],
        summary: 'Changing the phone, step 1: send an SMS code to the new number',
        params: params('user_id'),
        body: strictObject({ new_phone: PHONE }),
        response: { 202: { type: 'object', properties: { expires_at: TIMESTAMP } } },
      },
    },
    async (request, reply) => {
      await assertPhoneAvailable(context, request.body.new_phone);
      const { expiresAt } = await sendSmsCode(context, request.body.new_phone, 'phone_change', request.ip);
      return reply.status(202).send({ expires_at: expiresAt.toISOString() });
    },
  );

  app.put<{ Params: UserParams; Body: { new_phone: string; sms_code: string; proof?: PaymentProofBody } }>(
    '/v1/users/:user_id/phone',
    {
      config: { policy: { roles: ['user'], owner: own.user }, rateLimit: RATE_LIMITS.pin },
      schema: {
        tags: ['users'],
        summary: 'Changing the phone, step 2: the code sent to the new number, plus step-up',
        description:
          'Needs a step-up in `proof`: the PIN, or a device signature over a challenge with purpose `phone.change`, amount `0`, payee `user:<user_id>`. Audited (user.phone_changed).',
        params: params('user_id'),
        body: strictObject({ new_phone: PHONE, sms_code: SMS_CODE, proof: PAYMENT_PROOF_SCHEMA }, [
          'new_phone',
          'sms_code',
        ]),
        response: { 200: USER },
      },
    },
    async (request) => {
      const userId = request.params.user_id;
      await identity.requireStepUp(userId, 'phone.change', stepUpProofFromBody(request.body.proof));
      return userView(
        await changePhone(context, userId, {
          newPhone: request.body.new_phone,
          smsCode: request.body.sms_code,
        }),
      );
    },
  );

  app.get<{ Params: UserParams }>(
    '/v1/users/:user_id/pin',
    {
      config: { policy: { roles: ['user', 'operator-read', 'operator-admin'], owner: own.user } },
      schema: {
        tags: ['pin'],
        summary: 'Whether a payment PIN is set and whether it is locked',
        params: params('user_id'),
        response: {
          200: { type: 'object', properties: { set: { type: 'boolean' }, locked_until: NULLABLE_TIMESTAMP } },
        },
      },
    },
    async (request) => checkPinState(context, request.params.user_id),
  );

  app.post<{ Params: UserParams; Body: { pin: string } }>(
    '/v1/users/:user_id/pin',
    {
      config: { policy: { roles: ['user'], owner: own.user }, rateLimit: RATE_LIMITS.pin },
      schema: {
        tags: ['pin'],
        summary: 'Set the first payment PIN (within TUYERE_FIRST_PIN_LOGIN_WINDOW_SECONDS of the SMS login)',
        description:
          'Every step-up rests on the PIN, so an old session (a stolen token) cannot set it: 403 recent_login_required; sign in again with an SMS code, or reset the PIN by SMS.',
        params: params('user_id'),
        body: strictObject({ pin: PIN }),
        response: NO_CONTENT,
      },
    },
    async (request, reply) => {
      await setInitialPin(context, request.params.user_id, request.body.pin, request.principal!.credentialId);
      return reply.status(204).send();
    },
  );

  app.put<{ Params: UserParams; Body: { old_pin: string; new_pin: string } }>(
    '/v1/users/:user_id/pin',
    {
      config: { policy: { roles: ['user'], owner: own.user }, rateLimit: RATE_LIMITS.pin },
      schema: {
        tags: ['pin'],
        summary: 'Change the payment PIN (needs the old one)',
        params: params('user_id'),
        body: strictObject({ old_pin: PIN, new_pin: PIN }),
        response: NO_CONTENT,
      },
    },
    async (request, reply) => {
      await changePin(context, request.params.user_id, request.body.old_pin, request.body.new_pin);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: UserParams }>(
    '/v1/users/:user_id/pin/reset-code',
    {
      config: { policy: { roles: ['user'], owner: own.user }, rateLimit: RATE_LIMITS.sms },
      schema: {
        tags: ['pin'],
        summary: 'Send an SMS code to the account phone for a PIN reset',
        params: params('user_id'),
        body: EMPTY_BODY,
        response: { 202: { type: 'object', properties: { expires_at: TIMESTAMP } } },
      },
    },
    async (request, reply) => {
      const user = await loadUser(request.params.user_id);
      const { expiresAt } = await sendSmsCode(context, user.phone, 'pin_reset', request.ip);
      return reply.status(202).send({ expires_at: expiresAt.toISOString() });
    },
  );

  app.post<{ Params: UserParams; Body: { sms_code: string; id_number?: string; new_pin: string } }>(
    '/v1/users/:user_id/pin/reset',
    {
      config: { policy: { roles: ['user'], owner: own.user }, rateLimit: RATE_LIMITS.pin },
      schema: {
        tags: ['pin'],
        summary: 'Reset a forgotten or locked PIN: SMS code, plus the ID number on verified accounts',
        params: params('user_id'),
        body: strictObject(
          { sms_code: SMS_CODE, id_number: { type: 'string', minLength: 18, maxLength: 22 }, new_pin: PIN },
          ['sms_code', 'new_pin'],
        ),
        response: NO_CONTENT,
      },
    },
    async (request, reply) => {
      await resetPin(context, request.params.user_id, {
        smsCode: request.body.sms_code,
        idNumber: request.body.id_number,
        newPin: request.body.new_pin,
      });
      return reply.status(204).send();
    },
  );
}
