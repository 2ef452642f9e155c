import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WEBHOOK_EVENT_DESCRIPTIONS, WEBHOOK_EVENT_TYPES } from './events.ts';
import { attemptView, deliveryView, type EndpointChange, endpointView, type Webhooks } from './webhooks.ts';

const UUID = {
  type: 'string',
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
} as const;
const TIMESTAMP = { type: 'string', format: 'date-time' } as const;
const NULLABLE_TIMESTAMP = { type: ['string', 'null'], format: 'date-time' } as const;
const URL_FIELD = {
  type: 'string',
  minLength: 1,
  maxLength: 2048,
  description: 'https URL (http only for localhost in development); no credentials, no private addresses',
  examples: ['https://shop.example.com/tuyere/webhooks'],
} as const;
const DESCRIPTION = { type: 'string', maxLength: 200 } as const;
const EVENT_TYPES = {
  type: 'array',
  minItems: 1,
  maxItems: WEBHOOK_EVENT_TYPES.length,
  uniqueItems: true,
  items: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] },
  examples: [['order.paid', 'refund.succeeded']],
} as const;
const STATE = { type: 'string', enum: ['pending', 'delivered', 'dead'] } as const;

function strictObject(properties: Record<string, unknown>, required: string[] = Object.keys(properties)) {
  return { type: 'object', additionalProperties: false, properties, required } as const;
}

const ENDPOINT = {
  type: 'object',
  properties: {
    id: UUID,
    merchant_id: UUID,
    url: { type: 'string' },
    description: { type: 'string' },
    event_types: { type: 'array', items: { type: 'string' } },
    status: { type: 'string', enum: ['enabled', 'disabled'] },
    previous_secret_expires_at: {
      ...NULLABLE_TIMESTAMP,
      description: 'While set, deliveries are signed by the previous secret as well (rotation overlap)',
    },
    created_at: TIMESTAMP,
    updated_at: TIMESTAMP,
  },
} as const;

const ENDPOINT_WITH_SECRET = {
  type: 'object',
  properties: {
    secret: {
      type: 'string',
      description: 'The signing secret (whsec_...). Shown only now; store it safely.',
    },
    endpoint: ENDPOINT,
  },
} as const;

const DELIVERY = {
  type: 'object',
  properties: {
    id: UUID,
    event_id: { ...UUID, description: 'Also the webhook-id header: the receiver deduplicates on it' },
    event_type: { type: 'string' },
    endpoint_id: UUID,
    state: STATE,
    attempts: { type: 'integer', description: 'Attempts in the current cycle (a replay starts a new one)' },
    next_attempt_at: NULLABLE_TIMESTAMP,
    last_status_code: { type: ['integer', 'null'] },
    last_error: { type: ['string', 'null'] },
    delivered_at: NULLABLE_TIMESTAMP,
    created_at: TIMESTAMP,
  },
} as const;

const ATTEMPT = {
  type: 'object',
  properties: {
    id: UUID,
    attempted_at: TIMESTAMP,
    succeeded: { type: 'boolean' },
    status_code: { type: ['integer', 'null'] },
    latency_ms: { type: 'integer' },
    error: { type: ['string', 'null'] },
    response_body: { type: ['string', 'null'], description: 'The first 1024 characters of the response' },
  },
} as const;

const MANAGE = { roles: ['merchant', 'operator-admin'], scope: 'webhooks:manage' } as const;
const READ = { roles: ['merchant', 'operator-read', 'operator-admin'], scope: 'webhooks:manage' } as const;

/**
 * Webhook endpoints, their deliveries and replay, for the merchant (API key with
 * webhooks:manage) or operators; and the operator's replay route. Ids of another merchant's
 * endpoints and deliveries answer 404.
 */
export function webhookRoutes(
  webhooks: Webhooks,
  clock: { now(): Date },
  owners: {
    merchant: (request: FastifyRequest) => Promise<string | undefined>;
  },
) {
  return async (app: FastifyInstance) => {
    const endpointOwner = (request: FastifyRequest) =>
      webhooks.endpointOwner((request.params as { endpoint_id: string }).endpoint_id);
    const deliveryOwner = (request: FastifyRequest) =>
      webhooks.deliveryOwner((request.params as { delivery_id: string }).delivery_id);

    app.get(
      '/v1/webhook-event-types',
      {
        config: { policy: { roles: ['merchant', 'operator-read', 'operator-admin'] } },
        schema: {
          tags: ['webhooks'],
          summary: 'The webhook event catalogue',
          response: {
            200: {
              type: 'object',
              properties: {
                event_types: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: { type: { type: 'string' }, description: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
      async () => ({
        event_types: WEBHOOK_EVENT_TYPES.map((type) => ({
          type,
          description: WEBHOOK_EVENT_DESCRIPTIONS[type],
        })),
      }),
    );

    app.post<{
      Params: { merchant_id: string };
      Body: { url: string; description?: string; event_types: string[] };
    }>(
      '/v1/merchants/:merchant_id/webhook-endpoints',
      {
        config: { policy: { ...MANAGE, owner: owners.merchant } },
        schema: {
          tags: ['webhooks'],
          summary: 'Create a webhook endpoint (its signing secret is returned once)',
          params: strictObject({ merchant_id: UUID }),
          body: strictObject({ url: URL_FIELD, description: DESCRIPTION, event_types: EVENT_TYPES }, [
            'url',
            'event_types',
          ]),
          response: { 201: ENDPOINT_WITH_SECRET },
        },
      },
      async (request, reply) => {
        const { endpoint, secret } = await webhooks.createEndpoint(
          request.params.merchant_id,
          request.body,
          request.principal!.key,
        );
        return reply.status(201).send({ secret, endpoint: endpointView(endpoint, clock.now()) });
      },
    );

    app.get<{ Params: { merchant_id: string } }>(
      '/v1/merchants/:merchant_id/webhook-endpoints',
      {
        config: { policy: { ...READ, owner: owners.merchant } },
        schema: {
          tags: ['webhooks'],
          summary: "A merchant's webhook endpoints (without secrets)",
          params: strictObject({ merchant_id: UUID }),
          response: {
            200: { type: 'object', properties: { webhook_endpoints: { type: 'array', items: ENDPOINT } } },
          },
        },
      },
      async (request) => ({
        webhook_endpoints: (await webhooks.listEndpoints(request.params.merchant_id)).map((e) =>
          endpointView(e, clock.now()),
        ),
      }),
    );

    app.get<{ Params: { endpoint_id: string } }>(
      '/v1/webhook-endpoints/:endpoint_id',
      {
        config: { policy: { ...READ, owner: endpointOwner } },
        schema: {
          tags: ['webhooks'],
          summary: 'A webhook endpoint',
          params: strictObject({ endpoint_id: UUID }),
          response: { 200: ENDPOINT },
        },
      },
      async (request) => endpointView(await webhooks.getEndpoint(request.params.endpoint_id), clock.now()),
    );

    app.patch<{ Params: { endpoint_id: string }; Body: EndpointChange }>(
      '/v1/webhook-endpoints/:endpoint_id',
      {
        config: { policy: { ...MANAGE, owner: endpointOwner } },
        schema: {
          tags: ['webhooks'],
          summary:
            'Change a webhook endpoint; enabled: false disables it (it receives nothing until enabled)',
          params: strictObject({ endpoint_id: UUID }),
          body: {
            ...strictObject(
              {
                url: URL_FIELD,
                description: DESCRIPTION,
                event_types: EVENT_TYPES,
                enabled: { type: 'boolean' },
              },
              [],
            ),
            minProperties: 1,
          },
          response: { 200: ENDPOINT },
        },
      },
      async (request) =>
        endpointView(
          await webhooks.updateEndpoint(request.params.endpoint_id, request.body, request.principal!.key),
          clock.now(),
        ),
    );

    app.delete<{ Params: { endpoint_id: string } }>(
      '/v1/webhook-endpoints/:endpoint_id',
      {
        config: { policy: { ...MANAGE, owner: endpointOwner } },
        schema: {
          tags: ['webhooks'],
          summary: 'Delete a webhook endpoint with its deliveries and their log',
          params: strictObject({ endpoint_id: UUID }),
          response: { 204: { type: 'null' } },
        },
      },
      async (request, reply) => {
        await webhooks.deleteEndpoint(request.params.endpoint_id, request.principal!.key);
        return reply.status(204).send();
      },
    );

    app.post<{ Params: { endpoint_id: string }; Body: { overlap_seconds?: number } }>(
      '/v1/webhook-endpoints/:endpoint_id/rotate-secret',
      {
        config: { policy: { ...MANAGE, owner: endpointOwner } },
        schema: {
          tags: ['webhooks'],
          summary: 'Replace the signing secret; the old one keeps signing too for overlap_seconds',
          params: strictObject({ endpoint_id: UUID }),
          body: strictObject(
            {
              overlap_seconds: {
                type: 'integer',
                minimum: 0,
                maximum: 7 * 86_400,
                description: 'Default MERCHANTS_WEBHOOK_ROTATION_OVERLAP_SECONDS (24 h)',
              },
            },
            [],
          ),
          response: { 201: ENDPOINT_WITH_SECRET },
        },
      },
      async (request, reply) => {
        const { endpoint, secret } = await webhooks.rotateSecret(
          request.params.endpoint_id,
          request.body.overlap_seconds,
          request.principal!.key,
        );
        return reply.status(201).send({ secret, endpoint: endpointView(endpoint, clock.now()) });
      },
    );

    app.post<{ Params: { endpoint_id: string }; Body: { since?: string } }>(
      '/v1/webhook-endpoints/:endpoint_id/replay-dead',
      {
        config: { policy: { ...MANAGE, owner: endpointOwner } },
        schema: {
          tags: ['webhooks'],
          summary: "Replay all of an endpoint's dead deliveries (optionally those created since a time)",
          params: strictObject({ endpoint_id: UUID }),
          body: strictObject({ since: { ...TIMESTAMP, examples: ['2026-11-29T00:00:00Z'] } }, []),
          response: { 200: { type: 'object', properties: { replayed: { type: 'integer' } } } },
        },
      },
      async (request) => ({
        replayed: await webhooks.replayDead(
          request.params.endpoint_id,
          request.body.since === undefined ? undefined : new Date(request.body.since),
          request.principal!.key,
        ),
      }),
    );

    app.get<{ Params: { endpoint_id: string }; Querystring: { state?: string; limit?: number } }>(
      '/v1/webhook-endpoints/:endpoint_id/deliveries',
      {
        config: { policy: { ...READ, owner: endpointOwner } },
        schema: {
          tags: ['webhooks'],
          summary: "An endpoint's deliveries, newest first",
          params: strictObject({ endpoint_id: UUID }),
          querystring: strictObject(
            { state: STATE, limit: { type: 'integer', minimum: 1, maximum: 200 } },
            [],
          ),
          response: {
            200: { type: 'object', properties: { deliveries: { type: 'array', items: DELIVERY } } },
          },
        },
      },
      async (request) => ({
        deliveries: (await webhooks.listDeliveries(request.params.endpoint_id, request.query)).map(
          deliveryView,
        ),
      }),
    );

    app.get<{ Params: { delivery_id: string } }>(
      '/v1/webhook-deliveries/:delivery_id',
      {
        config: { policy: { ...READ, owner: deliveryOwner } },
        schema: {
          tags: ['webhooks'],
          summary: 'A delivery and its log: every attempt with status code, latency, error and response',
          params: strictObject({ delivery_id: UUID }),
          response: {
            200: {
              type: 'object',
              properties: { delivery: DELIVERY, attempts: { type: 'array', items: ATTEMPT } },
            },
          },
        },
      },
      async (request) => {
        const { delivery, attempts } = await webhooks.getDelivery(request.params.delivery_id);
        return { delivery: deliveryView(delivery), attempts: attempts.map(attemptView) };
      },
    );

    app.post<{ Params: { delivery_id: string } }>(
      '/v1/webhook-deliveries/:delivery_id/replay',
      {
        config: { policy: { ...MANAGE, owner: deliveryOwner } },
        schema: {
          tags: ['webhooks'],
          summary: 'Send a delivery again now, from the start of the retry schedule',
          params: strictObject({ delivery_id: UUID }),
          body: strictObject({}),
          response: { 200: DELIVERY },
        },
      },
      async (request) =>
        deliveryView(await webhooks.replay(request.params.delivery_id, request.principal!.key)),
    );

    app.post<{ Params: { delivery_id: string } }>(
      '/v1/operator/webhook-deliveries/:delivery_id/replay',
      {
        config: { policy: { roles: ['operator-admin'], owner: deliveryOwner } },
        schema: {
          tags: ['operator'],
          summary: "Replay a merchant's webhook delivery (audited)",
          params: strictObject({ delivery_id: UUID }),
          body: strictObject({}),
          response: { 200: DELIVERY },
        },
      },
      async (request) =>
        deliveryView(await webhooks.replay(request.params.delivery_id, request.principal!.key)),
    );
  };
}
