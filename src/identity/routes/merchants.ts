import type { FastifyInstance } from 'fastify';
import type { Identity } from '../identity.ts';
import {
  apiKeyView,
  createApiKey,
  getMerchant,
  listApiKeys,
  MERCHANT_SCOPES,
  revokeApiKey,
  rotateApiKey,
} from '../merchants.ts';
import { owners } from './owners.ts';
import { API_KEY, EMPTY_BODY, MERCHANT, NAME, params, strictObject } from './schemas.ts';

const KEY_WITH_SECRET = {
  type: 'object',
  properties: {
    api_key: { type: 'string', description: 'The full key. Shown only now; store it safely.' },
    key: API_KEY,
  },
} as const;

/** Merchant profile and API keys (created, rotated and revoked by the merchant or an operator-admin). */
export async function merchantRoutes(app: FastifyInstance, identity: Identity) {
  const context = identity.context;
  const own = owners(identity);

  app.get<{ Params: { merchant_id: string } }>(
    '/v1/merchants/:merchant_id',
    {
      config: { policy: { roles: ['merchant', 'operator-read', 'operator-admin'], owner: own.merchant } },
      schema: {
        tags: ['merchants'],
        summary: 'A merchant',
        params: params('merchant_id'),
        response: { 200: MERCHANT },
      },
    },
    async (request) => {
      const merchant = (await getMerchant(context.db, request.params.merchant_id))!;
      return { ...merchant, created_at: merchant.created_at.toISOString() };
    },
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
        params: params('merchant_id'),
        response: { 200: { type: 'object', properties: { api_keys: { type: 'array', items: API_KEY } } } },
      },
    },
    async (request) => ({
      api_keys: (await listApiKeys(context.db, request.params.merchant_id)).map(apiKeyView),
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
        params: params('merchant_id'),
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
      const { record, key } = await createApiKey(
        context,
        request.params.merchant_id,
        request.body,
        request.principal!.key,
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
        params: params('key_id'),
        body: EMPTY_BODY,
        response: { 201: KEY_WITH_SECRET },
      },
    },
    async (request, reply) => {
      const { record, key } = await rotateApiKey(context, request.params.key_id, request.principal!.key);
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
        params: params('key_id'),
        response: { 200: API_KEY },
      },
    },
    async (request) => apiKeyView(await revokeApiKey(context, request.params.key_id, request.principal!.key)),
  );
}
