import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance } from 'fastify';
import { parseMinor } from '../../platform/money.ts';
import type { RawKeyType } from '../device-keys.ts';
import {
  assertDeviceName,
  completeRawDeviceRegistration,
  completeWebauthnRegistration,
  type DeviceKind,
  deviceView,
  disableDevice,
  listDevices,
  startRawDeviceRegistration,
  startWebauthnRegistration,
  updateDevice,
} from '../devices.ts';
import type { Identity } from '../identity.ts';
import { PAYMENT_PROOF_SCHEMA, type PaymentProofBody, stepUpProofFromBody } from '../proof-schema.ts';
import { getUser } from '../users.ts';
import { owners } from './owners.ts';
import { AMOUNT, DEVICE, EMPTY_BODY, NAME, params, strictObject, TIMESTAMP, UUID } from './schemas.ts';

type UserParams = { user_id: string };
const KIND = { type: 'string', enum: ['phone', 'browser', 'wearable'] } as const;
const STEP_UP_NOTE =
  'Needs a step-up in `proof`: the payment PIN, or a signature from one of your devices over a challenge with purpose `device.add`, amount `0` and payee `user:<user_id>`. A missing or `none` proof gets 403 step_up_required. A new device signs no stronger than the PIN for TUYERE_NEW_DEVICE_COOLING_OFF_SECONDS.';

/** Devices (passkeys and raw keys) and payment challenges. */
export async function deviceRoutes(app: FastifyInstance, identity: Identity) {
  const context = identity.context;
  const own = owners(identity);
  const isStaff = (roles: readonly string[]) => roles.includes('operator-admin');

  app.get<{ Params: UserParams }>(
    '/v1/users/:user_id/devices',
    {
      config: { policy: { roles: ['user', 'operator-read', 'operator-admin'], owner: own.user } },
      schema: {
        tags: ['devices'],
        summary: 'Registered devices',
        params: params('user_id'),
        response: { 200: { type: 'object', properties: { devices: { type: 'array', items: DEVICE } } } },
      },
    },
    async (request) => ({ devices: (await listDevices(context.db, request.params.user_id)).map(deviceView) }),
  );

  app.post<{ Params: UserParams }>(
    '/v1/users/:user_id/devices/registration-challenges',
    {
      config: { policy: { roles: ['user'], owner: own.user } },
      schema: {
        tags: ['devices'],
        summary: 'Start registering a native key: a nonce to sign with it',
        params: params('user_id'),
        body: EMPTY_BODY,
        response: {
          201: {
            type: 'object',
            properties: {
              challenge_id: UUID,
              nonce: { type: 'string' },
              expires_at: TIMESTAMP,
              sign_format: { type: 'string' },
            },
          },
        },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await startRawDeviceRegistration(context, request.params.user_id)),
  );

  app.post<{
    Params: UserParams;
    Body: {
      challenge_id: string;
      kind: DeviceKind;
      name: string;
      key_type: RawKeyType;
      public_key: string;
      signature: string;
      user_verification: boolean;
      proof?: PaymentProofBody;
    };
  }>(
    '/v1/users/:user_id/devices',
    {
      config: { policy: { roles: ['user'], owner: own.user } },
      schema: {
        tags: ['devices'],
        summary: 'Register a native P-256 or Ed25519 key (proof of possession, plus step-up)',
        description: STEP_UP_NOTE,
        params: params('user_id'),
        body: strictObject(
          {
            challenge_id: UUID,
            kind: KIND,
            name: NAME,
            key_type: { type: 'string', enum: ['p256', 'ed25519'] },
            public_key: {
              type: 'string',
              minLength: 40,
              maxLength: 400,
              description: 'base64 SPKI DER, or raw key bytes',
            },
            signature: {
              type: 'string',
              minLength: 40,
              maxLength: 400,
              description: 'base64 signature over the registration payload',
            },
            user_verification: {
              type: 'boolean',
              description: 'The key is only usable after fingerprint/face',
            },
            proof: PAYMENT_PROOF_SCHEMA,
          },
          ['challenge_id', 'kind', 'name', 'key_type', 'public_key', 'signature', 'user_verification'],
        ),
        response: { 201: DEVICE },
      },
    },
    async (request, reply) => {
      assertDeviceName(request.body.name);
      await identity.requireStepUp(
        request.params.user_id,
        'device.add',
        stepUpProofFromBody(request.body.proof),
      );
      const device = await completeRawDeviceRegistration(context, request.params.user_id, {
        challengeId: request.body.challenge_id,
        kind: request.body.kind,
        name: request.body.name,
        keyType: request.body.key_type,
        publicKey: request.body.public_key,
        signature: request.body.signature,
        userVerification: request.body.user_verification,
      });
      return reply.status(201).send(deviceView(device));
    },
  );

  app.post<{ Params: UserParams }>(
    '/v1/users/:user_id/passkeys/registration-options',
    {
      config: { policy: { roles: ['user'], owner: own.user } },
      schema: {
        tags: ['devices'],
        summary: 'Start registering a passkey: WebAuthn creation options',
        params: params('user_id'),
        body: EMPTY_BODY,
        response: {
          201: {
            type: 'object',
            properties: {
              challenge_id: UUID,
              expires_at: TIMESTAMP,
              options: { type: 'object', additionalProperties: true },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const user = (await getUser(context.db, request.params.user_id))!;
      return reply.status(201).send(await startWebauthnRegistration(context, user.id, user.phone));
    },
  );

  app.post<{
    Params: UserParams;
    Body: {
      challenge_id: string;
      kind: DeviceKind;
      name: string;
      response: RegistrationResponseJSON;
      proof?: PaymentProofBody;
    };
  }>(
    '/v1/users/:user_id/passkeys',
    {
      config: { policy: { roles: ['user'], owner: own.user } },
      schema: {
        tags: ['devices'],
        summary: 'Finish registering a passkey (plus step-up)',
        description: STEP_UP_NOTE,
        params: params('user_id'),
        body: strictObject(
          {
            challenge_id: UUID,
            kind: KIND,
            name: NAME,
            response: {
              type: 'object',
              description: 'The RegistrationResponseJSON from @simplewebauthn/browser',
              additionalProperties: true,
            },
            proof: PAYMENT_PROOF_SCHEMA,
          },
          ['challenge_id', 'kind', 'name', 'response'],
        ),
        response: { 201: DEVICE },
      },
    },
    async (request, reply) => {
      assertDeviceName(request.body.name);
      await identity.requireStepUp(
        request.params.user_id,
        'device.add',
        stepUpProofFromBody(request.body.proof),
      );
      const device = await completeWebauthnRegistration(context, request.params.user_id, {
        challengeId: request.body.challenge_id,
        kind: request.body.kind,
        name: request.body.name,
        response: request.body.response,
      });
      return reply.status(201).send(deviceView(device));
    },
  );

  app.patch<{ Params: { device_id: string }; Body: { name?: string; daily_limit?: string | null } }>(
    '/v1/devices/:device_id',
    {
      config: { policy: { roles: ['user', 'operator-admin'], owner: own.device } },
      schema: {
        tags: ['devices'],
        summary: 'Rename a device or change its daily limit (users may only lower it)',
        params: params('device_id'),
        body: {
          ...strictObject({ name: NAME, daily_limit: { anyOf: [AMOUNT, { type: 'null' }] } }, []),
          minProperties: 1,
        },
        response: { 200: DEVICE },
      },
    },
    async (request) => {
      if (request.body.name !== undefined) assertDeviceName(request.body.name);
      const dailyLimit =
        request.body.daily_limit === undefined
          ? undefined
          : request.body.daily_limit === null
            ? null
            : parseMinor(request.body.daily_limit, 'daily_limit');
      const device = await updateDevice(
        context,
        request.params.device_id,
        { name: request.body.name, dailyLimit },
        { key: request.principal!.key, staff: isStaff(request.principal!.roles) },
      );
      return deviceView(device);
    },
  );

  app.post<{ Params: { device_id: string }; Body: { reason?: string } }>(
    '/v1/devices/:device_id/disable',
    {
      config: { policy: { roles: ['user', 'operator-admin'], owner: own.device } },
      schema: {
        tags: ['devices'],
        summary: 'Disable a device remotely (lost or stolen); it can no longer sign payments',
        params: params('device_id'),
        body: strictObject({ reason: { type: 'string', maxLength: 200 } }, []),
        response: { 200: DEVICE },
      },
    },
    async (request) =>
      deviceView(
        await disableDevice(
          context,
          request.params.device_id,
          request.principal!.key,
          request.body.reason ?? 'disabled',
        ),
      ),
  );

  app.post<{
    Params: UserParams;
    Body: { amount: string; currency: string; payee: string; purpose: string };
  }>(
    '/v1/users/:user_id/payment-challenges',
    {
      config: { policy: { roles: ['user'], owner: own.user } },
      schema: {
        tags: ['payments'],
        summary: 'A single-use challenge to sign for one payment or step-up',
        description:
          'Bound to user, amount, currency, payee, purpose, nonce and expiry. Native keys sign `payload` (UTF-8); passkeys use `webauthn_options` (challenge = SHA-256 of payload). Step-up purposes: `withdraw` and `top_up` (amount, payee `card:<card_id>`); `device.add`, `password_free.enable`, `card.bind`, `phone.change` (amount `0`, payee `user:<user_id>`). A step-up challenge serves only its own action.',
        params: params('user_id'),
        body: strictObject({
          amount: AMOUNT,
          currency: { type: 'string', pattern: '^[A-Z]{3}$' },
          payee: {
            type: 'string',
            pattern: '^[a-z_]+:[A-Za-z0-9._:-]{1,100}$',
            description: 'e.g. user:<id> or merchant:<id>',
          },
          purpose: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,100}$' },
        }),
        response: {
          201: {
            type: 'object',
            properties: {
              challenge_id: UUID,
              payload: { type: 'string' },
              webauthn_challenge: { type: 'string' },
              expires_at: TIMESTAMP,
              webauthn_options: { type: ['object', 'null'], additionalProperties: true },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const challenge = await identity.createPaymentChallenge(request.params.user_id, {
        amount: parseMinor(request.body.amount),
        currency: request.body.currency,
        payee: request.body.payee,
        purpose: request.body.purpose,
      });
      return reply.status(201).send(challenge);
    },
  );
}
