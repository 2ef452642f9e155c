import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../platform/http/policy.ts';
import { type Grantor, MERCHANT_SCOPES } from './api-keys.ts';
import { apiKeyView, type Merchants, merchantView } from './merchants.ts';

/** JSON schemas of the merchant routes. Request objects are strict (no unknown properties). */
const UUID = {
  type: 'string',
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
} as const;
/** A merchant key grants from its own scopes; an operator admin may grant any. */
function grantorOf(principal: Principal): Grantor {
  return { actor: principal.key, scopes: principal.kind === 'merchant' ? (principal.scopes ?? []) : 'any' };
}

const NAME = { type: 'string', minLength: 1, maxLength: 64 } as const;
const TIMESTAMP = { type: 'string', format: 'date-time' } as const;
const NULLABLE_TIMESTAMP = { type: ['string', 'null'], format: 'date-time' } as const;
const EMPTY_BODY = { type: 'object', additionalProperties: false, properties: {} } as const;

function strictObject(properties: Record<string, unknown>) {
  return {
    type: 'object',
    additionalProperties: false,
    properties,
    required: Object.keys(properties),
  } as const;
}

const MERCHANT = {
  type: 'object',
  properties: {
    id: UUID,
    name: { type: 'string' },
    status: { type: 'string' },
    review_state: {
      type: ['string', 'null'],
      description: 'Onboarding review state; null without onboarding',
    },
    created_at: TIMESTAMP,
  },
} as const;

const API_KEY = {
  type: 'object',
  properties: {
    id: UUID,
    name: { type: 'string' },
    prefix: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    created_at: TIMESTAMP,
    last_used_at: NULLABLE_TIMESTAMP,
    revoked_at: NULLABLE_TIMESTAMP,
  },
} as const;

const KEY_WITH_SECRET = {
  type: 'object',
  properties: {
    api_key: { type: 'string', description: 'The full key. Shown only now; store it safely.' },
    key: API_KEY,
  },
} as const;

/**
 * Merchant profile and API keys (created, rotated and revoked by the merchant or an
 * operator-admin), and the operator route creating a merchant.
 */
export async function merchantRoutes(app: FastifyInstance, merchants: Merchants) {
  const own = {
    merchant: (request: FastifyRequest) =>
      merchants.merchantOwner((request.params as { merchant_id: string }).merchant_id),
    apiKey: (request: FastifyRequest) => merchants.apiKeyOwner((request.params as { key_id: string }).key_id),
  };

  app.get<{ Params: { merchant_id: string } }>(
    '/v1/merchants/:merchant_id',
    {
      config: { policy: { roles: ['merchant', 'operator-read', 'operator-admin'], owner: own.merchant } },
      schema: {
        tags: ['merchants'],
        summary: 'A merchant',
        params: strictObject({ merchant_id: UUID }),
        response: { 200: MERCHANT },
      },
    },
    async (request) => merchantView((await merchants.getMerchant(request.params.merchant_id))!),
  );

  app.get<{ Params: { merchant_id: string } }>(
    '/v1/merchants/:merchant_id/api-keys',
    {
      config: {
        policy: {
          roles: ['merchant', 'operator-read', 'operator-admin'],
          owner: own.merchant,
          scope: 'keys:manage',
        },
      },
      schema: {
        tags: ['merchants'],
        summary: 'API keys (without secrets)',
        params: strictObject({ merchant_id: UUID }),
        response: { 200: { type: 'object', properties: { api_keys: { type: 'array', items: API_KEY } } } },
      },
    },
    async (request) => ({
      api_keys: (await merchants.listApiKeys(request.params.merchant_id)).map(apiKeyView),
    }),
  );

  app.post<{ Params: { merchant_id: string }; Body: { name: string; scopes: string[] } }>(
    '/v1/merchants/:merchant_id/api-keys',
    {
      config: {
        policy: { roles: ['merchant', 'operator-admin'], owner: own.merchant, scope: 'keys:manage' },
      },
      schema: {
        tags: ['merchants'],
        summary: 'Create an API key (the secret is returned once)',
        params: strictObject({ merchant_id: UUID }),
        body: strictObject({
          name: NAME,
          scopes: {
            type: 'array',
            minItems: 1,
            maxItems: MERCHANT_SCOPES.length,
            uniqueItems: true,
            items: { type: 'string', enum: [...MERCHANT_SCOPES] },
          },
        }),
        response: { 201: KEY_WITH_SECRET },
      },
    },
    async (request, reply) => {
      const { record, key } = await merchants.createApiKey(
        request.params.merchant_id,
        request.body,
        grantorOf(request.principal!),
      );
      return reply.status(201).send({ api_key: key, key: apiKeyView(record) });
    },
  );

  app.post<{ Params: { key_id: string } }>(
    '/v1/api-keys/:key_id/rotate',
    {
      config: { policy: { roles: ['merchant', 'operator-admin'], owner: own.apiKey, scope: 'keys:manage' } },
      schema: {
        tags: ['merchants'],
        summary: 'Replace an API key with a new one of the same scopes; the old one stops working',
        params: strictObject({ key_id: UUID }),
        body: EMPTY_BODY,
        response: { 201: KEY_WITH_SECRET },
      },
    },
    async (request, reply) => {
      const { record, key } = await merchants.rotateApiKey(
        request.params.key_id,
        grantorOf(request.principal!),
      );
      return reply.status(201).send({ api_key: key, key: apiKeyView(record) });
    },
  );

  app.delete<{ Params: { key_id: string } }>(
    '/v1/api-keys/:key_id',
    {
      config: { policy: { roles: ['merchant', 'operator-admin'], owner: own.apiKey, scope: 'keys:manage' } },
      schema: {
        tags: ['merchants'],
        summary: 'Revoke an API key',
        params: strictObject({ key_id: UUID }),
        response: { 200: API_KEY },
      },
    },
    async (request) =>
      apiKeyView(await merchants.revokeApiKey(request.params.key_id, request.principal!.key)),
  );

  app.post<{ Body: { name: string } }>(
    '/v1/operator/merchants',
    {
      config: { policy: { roles: ['operator-admin'] } },
      schema: {
        tags: ['operator'],
        summary: 'Create a merchant',
        body: strictObject({ name: NAME }),
        response: { 201: MERCHANT },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(merchantView(await merchants.createMerchant(request.body.name, request.principal!.key))),
  );
}
