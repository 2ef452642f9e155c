import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PAYMENT_PROOF_SCHEMA, paymentProofFromBody } from '../identity/index.ts';
import { notFound } from '../platform/errors.ts';
import { idempotencyScope } from '../platform/http/idempotency.ts';
import type { Role, RoutePolicy } from '../platform/http/policy.ts';
import { deterministicId } from '../platform/ids.ts';
import { AMOUNT_PATTERN, parseMinor } from '../platform/money.ts';
import type { Envelopes, EnvelopeView } from './envelopes.ts';
import type { GrabOutcome } from './grab-engine.ts';
import { STORM_LIMITS, type StormRequest, type StormRunner, type StormStatus } from './storm.ts';

const UUID = { type: 'string', format: 'uuid' } as const;
const AMOUNT = {
  type: 'string',
  pattern: AMOUNT_PATTERN,
  description: 'Minor units (fen) as a digit string',
} as const;
const envelopeParams = {
  type: 'object',
  additionalProperties: false,
  required: ['envelope_id'],
  properties: { envelope_id: UUID },
} as const;

const ENVELOPE_SCHEMA = {
  $id: 'Envelope',
  type: 'object',
  properties: {
    id: UUID,
    sender_id: UUID,
    group_id: { type: ['string', 'null'] },
    recipient_id: { type: ['string', 'null'] },
    kind: { type: 'string', enum: ['lucky', 'fixed', 'personal'] },
    total: AMOUNT,
    shares: { type: 'integer' },
    greeting: { type: 'string' },
    status: { type: 'string', enum: ['funding', 'active', 'finished', 'expired', 'failed'] },
    grabbed_count: { type: 'integer' },
    grabbed_amount: {
      type: ['string', 'null'],
      pattern: '^[0-9]+$',
      description:
        'Minor units grabbed so far; null for a member who has not grabbed while the envelope is open (polling it would reveal each share).',
    },
    refund_amount: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    expires_at: { type: 'string', format: 'date-time' },
    finished_at: { type: ['string', 'null'] },
    grabs: {
      type: ['array', 'null'],
      description:
        'Who got what: visible to the sender, to those who grabbed, and to everyone once the envelope is over.',
      items: {
        type: 'object',
        properties: {
          user_id: UUID,
          amount: AMOUNT,
          grabbed_at: { type: 'string', format: 'date-time' },
          luckiest: { type: 'boolean' },
        },
      },
    },
  },
} as const;

function envelopeJson(view: EnvelopeView) {
  return {
    id: view.id,
    sender_id: view.senderId,
    group_id: view.groupId,
    recipient_id: view.recipientId,
    kind: view.kind,
    total: view.total.toString(),
    shares: view.shareCount,
    greeting: view.greeting,
    status: view.status,
    grabbed_count: view.grabbedCount,
    grabbed_amount: view.grabbedAmount?.toString() ?? null,
    refund_amount: view.refundAmount?.toString() ?? null,
    created_at: view.createdAt.toISOString(),
    expires_at: view.expiresAt.toISOString(),
    finished_at: view.finishedAt?.toISOString() ?? null,
    grabs:
      view.grabs?.map((g) => ({
        user_id: g.userId,
        amount: g.amount.toString(),
        grabbed_at: g.grabbedAt.toISOString(),
        luckiest: g.luckiest,
      })) ?? null,
  };
}

/**
 * An envelope belongs, for access purposes, to the people who may grab it and to its sender;
 * everyone else sees a 404. Staff may read any.
 */
function envelopePolicy(envelopes: Envelopes, roles: readonly Role[]): RoutePolicy {
  return {
    roles,
    owner: async (request: FastifyRequest) => {
      const { envelope_id: envelopeId } = request.params as { envelope_id: string };
      const principal = request.principal;
      if (principal?.kind !== 'user') return (await envelopes.get(envelopeId, null))?.senderId;
      const audience = await envelopes.audience(envelopeId, principal.id);
      if (audience === null) return undefined;
      return audience === 'outsider' ? `not:${principal.id}` : principal.id;
    },
  };
}

const OUTCOME_MESSAGES: Record<GrabOutcome['outcome'], string> = {
  grabbed: 'You got a share.',
  already_grabbed: 'You already opened this envelope.',
  all_taken: 'Too slow: every share has been taken.',
  expired: 'This envelope has expired.',
  not_eligible: 'This envelope is not for you.',
  not_active: 'This envelope is not open yet.',
  not_found: 'No such envelope.',
};

function stormJson(status: StormStatus) {
  return {
    storm_id: status.id,
    state: status.state,
    envelopes: status.request.envelopes,
    shares: status.request.shares,
    grabbers: status.request.grabbers,
    group_id: status.groupId,
    envelopes_sent: status.envelopesSent,
    attempts: status.attempts,
    grabbed: status.grabbed,
    grabbed_amount: status.grabbedAmount.toString(),
    grabs_per_s: status.grabsPerSecond,
    started_at: status.startedAt.toISOString(),
    finished_at: status.finishedAt?.toISOString() ?? null,
    error: status.error,
  };
}

const STORM_SCHEMA = {
  type: 'object',
  properties: {
    storm_id: UUID,
    state: { type: 'string', enum: ['preparing', 'grabbing', 'finished', 'failed'] },
    envelopes: { type: 'integer' },
    shares: { type: 'integer' },
    grabbers: { type: 'integer' },
    group_id: { type: ['string', 'null'] },
    envelopes_sent: { type: 'integer' },
    attempts: { type: 'integer' },
    grabbed: { type: 'integer' },
    grabbed_amount: AMOUNT,
    grabs_per_s: { type: 'number' },
    started_at: { type: 'string', format: 'date-time' },
    finished_at: { type: ['string', 'null'] },
    error: { type: ['string', 'null'] },
  },
} as const;

export async function redpacketRoutes(
  app: FastifyInstance,
  deps: { envelopes: Envelopes; storms: StormRunner },
) {
  const { envelopes, storms } = deps;

  app.post(
    '/v1/operator/storms',
    {
      config: { policy: { roles: ['operator-admin'] }, idempotent: true, audit: 'redpacket.storm_started' },
      schema: {
        tags: ['red envelopes', 'operations'],
        summary: 'Start a bounded red-envelope storm on synthetic grabbers (paid by the marketing budget)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['envelopes', 'shares', 'grabbers'],
          properties: {
            envelopes: { type: 'integer', minimum: 1, maximum: STORM_LIMITS.envelopes },
            shares: { type: 'integer', minimum: 1, maximum: STORM_LIMITS.shares },
            grabbers: { type: 'integer', minimum: 1, maximum: STORM_LIMITS.grabbers },
          },
        },
        response: { 202: STORM_SCHEMA },
      },
    },
    async (request, reply) => {
      const status = storms.start(request.body as StormRequest, request.principal!.id);
      return reply.status(202).send(stormJson(status));
    },
  );

  app.get(
    '/v1/operator/storms/:storm_id',
    {
      config: { policy: { roles: ['operator-read', 'operator-admin'] } },
      schema: {
        tags: ['red envelopes', 'operations'],
        summary: 'Progress of a storm',
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['storm_id'],
          properties: { storm_id: UUID },
        },
        response: { 200: STORM_SCHEMA },
      },
    },
    async (request) => {
      const status = storms.get((request.params as { storm_id: string }).storm_id);
      if (!status) throw notFound('storm_not_found', 'No storm with this id in this process.');
      return stormJson(status);
    },
  );
  app.addSchema(ENVELOPE_SCHEMA);

  app.post(
    '/v1/envelopes',
    {
      config: { policy: { roles: ['user'] }, idempotent: true },
      schema: {
        tags: ['red envelopes'],
        summary: 'Send a red envelope to a group (lucky or fixed) or to one person (personal)',
        description:
          'The total is paid from the funding source (balance first, then a bound card) into an escrow. ' +
          "Unclaimed money returns to the sender after 24 hours. A fixed envelope's amount must divide evenly into its shares.",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'amount', 'proof'],
          properties: {
            group_id: UUID,
            recipient_id: UUID,
            kind: { type: 'string', enum: ['lucky', 'fixed', 'personal'] },
            amount: AMOUNT,
            shares: { type: 'integer', minimum: 1, maximum: 1000 },
            greeting: { type: 'string', maxLength: 200 },
            source: { type: 'string', enum: ['auto', 'balance', 'card'] },
            proof: PAYMENT_PROOF_SCHEMA,
          },
        },
        response: { 201: { $ref: 'Envelope#' } },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        group_id?: string;
        recipient_id?: string;
        kind: 'lucky' | 'fixed' | 'personal';
        amount: string;
        shares?: number;
        greeting?: string;
        source?: string;
        proof: Parameters<typeof paymentProofFromBody>[0];
      };
      const view = await envelopes.send({
        envelopeId: deterministicId('redpacket.envelope', idempotencyScope(request)),
        senderId: request.principal!.id,
        groupId: body.group_id,
        recipientId: body.recipient_id,
        kind: body.kind,
        total: parseMinor(body.amount),
        shares: body.shares ?? 1,
        greeting: body.greeting ?? '恭喜发财，大吉大利',
        source: body.source,
        proof: paymentProofFromBody(body.proof),
      });
      return reply.status(201).send(envelopeJson(view));
    },
  );

  app.post(
    '/v1/envelopes/:envelope_id/grab',
    {
      // Eligibility (group member, or the recipient) is checked by the grab engine inside its
      // claim transaction; outsiders get the same 404 as for a missing envelope.
      config: { policy: { roles: ['user'] } },
      schema: {
        tags: ['red envelopes'],
        summary: 'Open (grab) a red envelope: you get a share, or learn that all are taken',
        description: 'Exactly once per person: grabbing again answers already_grabbed with the same amount.',
        params: envelopeParams,
        response: {
          200: {
            type: 'object',
            properties: {
              outcome: { type: 'string', enum: Object.keys(OUTCOME_MESSAGES) },
              message: { type: 'string' },
              amount: AMOUNT,
              envelope: {
                type: 'object',
                description: 'The envelope as this grab left it',
                properties: {
                  id: UUID,
                  status: { type: 'string' },
                  grabbed_count: { type: 'integer' },
                  shares: { type: 'integer' },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const { envelope_id: envelopeId } = request.params as { envelope_id: string };
      const result = await envelopes.grab(envelopeId, request.principal!.id);
      if (result.outcome === 'not_found' || result.outcome === 'not_eligible') {
        throw notFound('not_found', 'No such resource.');
      }
      const summary = envelopes.engine.summary(envelopeId);
      return {
        outcome: result.outcome,
        message: OUTCOME_MESSAGES[result.outcome],
        ...('amount' in result ? { amount: result.amount.toString() } : {}),
        ...(summary
          ? {
              envelope: {
                id: summary.id,
                status: summary.status,
                grabbed_count: summary.grabbedCount,
                shares: summary.shares,
              },
            }
          : {}),
      };
    },
  );

  app.get(
    '/v1/envelopes/:envelope_id',
    {
      config: { policy: envelopePolicy(envelopes, ['user', 'operator-read', 'operator-admin']) },
      schema: {
        tags: ['red envelopes'],
        summary: 'A red envelope, with who got what once you may see it',
        params: envelopeParams,
        response: { 200: { $ref: 'Envelope#' } },
      },
    },
    async (request) => {
      const { envelope_id: envelopeId } = request.params as { envelope_id: string };
      const principal = request.principal!;
      return envelopeJson(
        (await envelopes.get(envelopeId, principal.kind === 'user' ? principal.id : null))!,
      );
    },
  );

  app.get(
    '/v1/envelope-rules',
    {
      config: { policy: { roles: ['user', 'operator-read', 'operator-admin'] } },
      schema: {
        tags: ['red envelopes'],
        summary: 'The limits new envelopes must respect',
        response: {
          200: {
            type: 'object',
            properties: {
              share_minimum: AMOUNT,
              personal_maximum: AMOUNT,
              group_maximum: AMOUNT,
              shares_maximum: { type: 'integer' },
              expiry_hours: { type: 'number' },
            },
          },
        },
      },
    },
    async () => ({
      share_minimum: envelopes.rules.shareMinimum.toString(),
      personal_maximum: envelopes.rules.personalMaximum.toString(),
      group_maximum: envelopes.rules.groupMaximum.toString(),
      shares_maximum: envelopes.rules.sharesMaximum,
      expiry_hours: envelopes.rules.expiryMs / 3_600_000,
    }),
  );
}
