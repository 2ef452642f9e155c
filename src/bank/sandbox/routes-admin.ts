import type { FastifyInstance } from 'fastify';
import { AMOUNT_PATTERN } from '../../platform/money.ts';
import type { CardType } from '../types.ts';
import type { Card, SandboxBankState } from './bank.ts';
import type { CallbackDispatcher } from './callbacks.ts';
import { FAULTS_SCHEMA, type SandboxFaults } from './faults.ts';

/**
 * Sandbox-only endpoints under /sandbox: what a test (or a person at the demo) needs to see
 * and steer inside the bank. A real bank has none of these.
 */
const TOKEN_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['card_token'],
  properties: { card_token: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export function cardView(card: Card) {
  return {
    card_token: card.token,
    bank_name: card.bankName,
    card_type: card.type,
    last4: card.last4,
    phone: card.phone,
    holder_name: card.holderName,
    available: card.available.toString(),
    credit_limit: card.creditLimit?.toString() ?? null,
    blocked: card.blocked,
    faults: card.faults,
  };
}

export function registerAdminRoutes(
  app: FastifyInstance,
  deps: { state: SandboxBankState; dispatcher: CallbackDispatcher; setCallbackUrl(url: string | null): void },
) {
  const { state, dispatcher } = deps;

  app.post(
    '/sandbox/cards',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['pan', 'phone'],
          properties: {
            pan: { type: 'string', minLength: 12, maxLength: 32 },
            phone: { type: 'string', pattern: '^\\+?[0-9]{6,15}$' },
            holder_name: { type: 'string', minLength: 1, maxLength: 100 },
            id_number: { type: 'string', minLength: 15, maxLength: 22 },
            card_type: { type: 'string', enum: ['debit', 'credit'] },
            bank_name: { type: 'string', minLength: 1, maxLength: 100 },
            balance: { type: 'string', pattern: AMOUNT_PATTERN },
            blocked: { type: 'boolean' },
            faults: FAULTS_SCHEMA,
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        pan: string;
        phone: string;
        holder_name?: string;
        id_number?: string;
        card_type?: CardType;
        bank_name?: string;
        balance?: string;
        blocked?: boolean;
        faults?: SandboxFaults;
      };
      const card = state.createCard(body.pan, body.phone, {
        holderName: body.holder_name,
        holderIdNumber: body.id_number,
        type: body.card_type,
        bankName: body.bank_name,
        balance: body.balance === undefined ? undefined : BigInt(body.balance),
        blocked: body.blocked,
        faults: body.faults,
      });
      return reply.status(201).send(cardView(card));
    },
  );

  app.get('/sandbox/cards/:card_token', { schema: { params: TOKEN_PARAMS } }, async (request) => {
    return cardView(state.card((request.params as { card_token: string }).card_token));
  });

  app.patch(
    '/sandbox/cards/:card_token',
    {
      schema: {
        params: TOKEN_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            available: { type: 'string', pattern: AMOUNT_PATTERN },
            blocked: { type: 'boolean' },
            faults: FAULTS_SCHEMA,
          },
        },
      },
    },
    async (request) => {
      const card = state.card((request.params as { card_token: string }).card_token);
      const body = request.body as { available?: string; blocked?: boolean; faults?: SandboxFaults };
      if (body.available !== undefined) card.available = BigInt(body.available);
      if (body.blocked !== undefined) card.blocked = body.blocked;
      if (body.faults !== undefined) card.faults = body.faults;
      return cardView(card);
    },
  );

  app.get(
    '/sandbox/sms',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { phone: { type: 'string', maxLength: 16 } },
        },
      },
    },
    async (request) => {
      const { phone } = request.query as { phone?: string };
      return {
        messages: state.sentSms(phone).map((message) => ({
          phone: message.phone,
          code: message.code,
          verification_id: message.verificationId,
          sent_at: message.sentAt,
        })),
      };
    },
  );

  app.get(
    '/sandbox/callbacks',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { request_id: { type: 'string', maxLength: 64 } },
        },
      },
    },
    async (request) => ({
      deliveries: dispatcher.deliveries((request.query as { request_id?: string }).request_id),
    }),
  );

  app.put(
    '/sandbox/settings',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['callback_url'],
          properties: { callback_url: { type: ['string', 'null'], pattern: '^https?://', maxLength: 2048 } },
        },
      },
    },
    async (request) => {
      const { callback_url } = request.body as { callback_url: string | null };
      deps.setCallbackUrl(callback_url);
      return { callback_url };
    },
  );
}
