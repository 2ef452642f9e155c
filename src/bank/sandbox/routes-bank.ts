import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../platform/clock.ts';
import { notFound } from '../../platform/errors.ts';
import { AMOUNT_PATTERN } from '../../platform/money.ts';
import type { Direction } from '../types.ts';
import { operationWire, type SandboxBankState } from './bank.ts';
import { FAULTS_SCHEMA, type SandboxFaults } from './faults.ts';
import { renderStatement } from './statement.ts';
import type { Teller } from './teller.ts';

/** The bank's merchant API: what a real bank would offer Tuyere. */
export const REQUEST_ID_PATTERN = '^[A-Za-z0-9._:-]{1,64}$';
const TOKEN = { type: 'string', minLength: 1, maxLength: 64 } as const;

const movementBody = {
  type: 'object',
  additionalProperties: false,
  required: ['request_id', 'card_token', 'amount', 'currency'],
  properties: {
    request_id: { type: 'string', pattern: REQUEST_ID_PATTERN },
    card_token: TOKEN,
    amount: { type: 'string', pattern: AMOUNT_PATTERN },
    currency: { type: 'string', enum: ['CNY'] },
    notify_url: { type: 'string', pattern: '^https?://', maxLength: 2048 },
    sandbox_faults: FAULTS_SCHEMA,
  },
} as const;

interface MovementBody {
  request_id: string;
  card_token: string;
  amount: string;
  currency: string;
  notify_url?: string;
  sandbox_faults?: SandboxFaults;
}

export function registerBankRoutes(
  app: FastifyInstance,
  deps: { state: SandboxBankState; teller: Teller; clock: Clock },
) {
  const { state, teller } = deps;

  app.post(
    '/v1/cards/verify',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['pan', 'phone', 'holder_name', 'id_number'],
          properties: {
            pan: { type: 'string', minLength: 12, maxLength: 32 },
            phone: { type: 'string', pattern: '^\\+?[0-9]{6,15}$' },
            holder_name: { type: 'string', minLength: 1, maxLength: 100 },
            id_number: { type: 'string', minLength: 15, maxLength: 22 },
          },
        },
      },
    },
    async (request) => {
      const body = request.body as { pan: string; phone: string; holder_name: string; id_number: string };
      const started = state.startVerification(body.pan, body.phone, {
        name: body.holder_name,
        idNumber: body.id_number,
      });
      return {
        verification_id: started.verificationId,
        phone_masked: started.phoneMasked,
        expires_at: started.expiresAt.toISOString(),
      };
    },
  );

  app.post(
    '/v1/cards/confirm',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['verification_id', 'sms_code'],
          properties: { verification_id: TOKEN, sms_code: { type: 'string', pattern: '^[0-9]{6}$' } },
        },
      },
    },
    async (request) => {
      const body = request.body as { verification_id: string; sms_code: string };
      const card = state.confirmVerification(body.verification_id, body.sms_code);
      return { card_token: card.token, bank_name: card.bankName, card_type: card.type, last4: card.last4 };
    },
  );

  for (const [path, direction] of [
    ['/v1/debits', 'debit'],
    ['/v1/credits', 'credit'],
  ] as const) {
    app.post(path, { schema: { body: movementBody } }, (request, reply) =>
      submitMovement(teller, direction, request, reply),
    );
  }

  app.get(
    '/v1/operations/:request_id',
    {
      schema: {
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['request_id'],
          properties: { request_id: { type: 'string', pattern: REQUEST_ID_PATTERN } },
        },
      },
    },
    async (request) => {
      const { request_id } = request.params as { request_id: string };
      const operation = state.operation(request_id);
      if (!operation)
        throw notFound('operation_not_found', 'The bank has no operation with this request id.');
      return operationWire(operation, state.card(operation.cardToken).last4);
    },
  );

  app.get(
    '/v1/statements/:date',
    {
      schema: {
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['date'],
          properties: { date: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' } },
        },
      },
    },
    async (request, reply) => {
      const { date } = request.params as { date: string };
      reply.type('text/csv; charset=utf-8');
      return renderStatement(date, state.completedOn(date));
    },
  );
}

async function submitMovement(
  teller: Teller,
  direction: Direction,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const body = request.body as MovementBody;
  const result = await teller.submit(
    {
      requestId: body.request_id,
      direction,
      cardToken: body.card_token,
      amount: BigInt(body.amount),
      currency: body.currency,
      notifyUrl: body.notify_url ?? null,
      faults: body.sandbox_faults,
    },
    (ms) => hangUntilClientLeaves(reply, ms),
  );
  if (!result) {
    return reply.status(504).send({
      error: {
        code: 'gateway_timeout',
        message: 'The bank did not receive the request in time.',
        request_id: String(request.id),
      },
    });
  }
  return reply.status(result.created ? 202 : 200).send(result.body);
}

/** Holds a response open until the client disconnects or `ms` pass, whichever comes first. */
function hangUntilClientLeaves(reply: FastifyReply, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    reply.raw.once('close', done);
    function done() {
      clearTimeout(timer);
      reply.raw.off('close', done);
      resolve();
    }
  });
}
