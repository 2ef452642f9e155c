import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BankError } from '../bank/index.ts';
import { PAYMENT_PROOF_SCHEMA, paymentProofFromBody, stepUpProofFromBody } from '../identity/index.ts';
import { AppError, invalid, unauthenticated } from '../platform/errors.ts';
import { idempotencyScope } from '../platform/http/idempotency.ts';
import type { Role } from '../platform/http/policy.ts';
import { deterministicId, isUuid } from '../platform/ids.ts';
import { AMOUNT_PATTERN, parseMinor } from '../platform/money.ts';
import { operationView } from './bank-operations.ts';
import { cardView } from './cards.ts';
import { CSV_HEADER, csvLine } from './rules.ts';
import type { StatementQuery } from './statements.ts';
import { transferView } from './transfers.ts';
import type { Wallet } from './wallet.ts';

type PaymentProofBody = Parameters<typeof paymentProofFromBody>[0];

const USER: readonly Role[] = ['user'];
const USER_READERS: readonly Role[] = ['user', 'operator-read', 'operator-admin'];
const STAFF_READERS: readonly Role[] = ['operator-read', 'operator-admin', 'auditor'];
const OPERATOR_ADMIN: readonly Role[] = ['operator-admin'];

const UUID = {
  type: 'string',
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
} as const;
const AMOUNT = {
  type: 'string',
  pattern: AMOUNT_PATTERN,
  description: 'Minor units (fen) as a digit string',
} as const;
const DATE = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
const USER_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['user_id'],
  properties: { user_id: UUID },
} as const;
const withParams = (extra: Record<string, unknown>) => ({
  type: 'object',
  additionalProperties: false,
  required: ['user_id', ...Object.keys(extra)],
  properties: { user_id: UUID, ...extra },
});
const EMPTY_BODY = { type: 'object', additionalProperties: false, properties: {} } as const;
/** The step-up these routes demand (identity's challenge purposes; see identity README). */
const stepUpNote = (purpose: string, payee: string) =>
  `Needs a step-up in \`proof\`: the payment PIN, or a device signature over a challenge with purpose \`${purpose}\` (amount and payee \`${payee}\`). A missing or \`none\` proof gets 403 step_up_required; a challenge for another purpose 403 challenge_purpose_mismatch.`;
/** Statement filters; `labels` are the statement types every module's transfers show as. */
const statementFilters = (labels: readonly string[]) => ({
  type: { type: 'string', pattern: `^(${labels.join('|')})(,(${labels.join('|')}))*$` },
  direction: { type: 'string', enum: ['in', 'out'] },
  from: { type: 'string', format: 'date-time' },
  to: { type: 'string', format: 'date-time' },
});

type Params = {
  user_id: string;
  card_id?: string;
  operation_id?: string;
  transfer_id?: string;
  item_id?: string;
};
const params = (request: FastifyRequest) => request.params as Params;
const ownUser = (request: FastifyRequest) => params(request).user_id;

function positive(value: string, field = 'amount'): bigint {
  const amount = parseMinor(value, field);
  if (amount <= 0n) throw invalid('invalid_amount', `${field} must be above zero.`, { field });
  return amount;
}

function statementQuery(query: Record<string, string | undefined>): StatementQuery {
  const date = (value: string | undefined, field: string) => {
    if (value === undefined) return undefined;
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime()))
      throw invalid('invalid_date', `${field} must be an ISO 8601 date-time.`);
    return parsed;
  };
  return {
    cursor: query.cursor,
    limit: query.limit === undefined ? undefined : Number(query.limit),
    types: query.type ? query.type.split(',') : undefined,
    direction: query.direction as 'in' | 'out' | undefined,
    from: date(query.from, 'from'),
    to: date(query.to, 'to'),
  };
}

/** The wallet's HTTP API. Money routes require an Idempotency-Key; ids derive from it. */
export async function walletRoutes(app: FastifyInstance, wallet: Wallet): Promise<void> {
  const STATEMENT_FILTERS = statementFilters(wallet.deps.chart.statementLabels);
  const { identity } = wallet.deps;

  /**
   * Top-ups and withdrawals: the user's own active card, then the step-up bound to this
   * action, amount and card (never password-free). Nothing is written before it passes.
   */
  const authorizeBankMovement = async (
    request: FastifyRequest,
    action: 'top_up' | 'withdraw',
    body: { card_id: string; amount: string; proof?: PaymentProofBody },
  ) => {
    const userId = params(request).user_id;
    const amount = positive(body.amount);
    await wallet.cards.active(userId, body.card_id);
    return identity.authorizePayment({
      userId,
      action,
      amount,
      currency: 'CNY',
      payee: `card:${body.card_id}`,
      proof: body.proof ? paymentProofFromBody(body.proof) : { type: 'none' },
    });
  };

  app.get(
    '/v1/users/:user_id/wallet',
    {
      config: { policy: { roles: USER_READERS, owner: ownUser } },
      schema: { tags: ['wallet'], summary: 'Balance (from the ledger)', params: USER_PARAMS },
    },
    async (request) => wallet.balance(params(request).user_id),
  );

  app.get(
    '/v1/users/:user_id/cards',
    {
      config: { policy: { roles: USER_READERS, owner: ownUser } },
      schema: { tags: ['wallet'], summary: 'Bound bank cards', params: USER_PARAMS },
    },
    async (request) => ({ cards: (await wallet.cards.list(params(request).user_id)).map(cardView) }),
  );

  app.post(
    '/v1/users/:user_id/cards/verifications',
    {
      config: { policy: { roles: USER, owner: ownUser } },
      schema: {
        tags: ['wallet'],
        summary:
          'Start binding a card: the bank checks card number, your verified name and ID number and the phone, then texts a code to that phone',
        description: `Real-name verified accounts only (403 realname_required); the holder name and ID number come from your verified identity. A mismatch with the bank's records is 422 card_details_mismatch. ${stepUpNote('card.bind', 'amount 0, payee user:<user_id>')}`,
        params: USER_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['pan', 'phone'],
          properties: {
            pan: { type: 'string', pattern: '^[0-9 ]{12,23}$' },
            phone: { type: 'string', pattern: '^1[0-9]{10}$', description: 'The phone reserved at the bank' },
            proof: PAYMENT_PROOF_SCHEMA,
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { pan: string; phone: string; proof?: PaymentProofBody };
      const userId = params(request).user_id;
      await wallet.cards.assertBindable(userId);
      await identity.requireStepUp(userId, 'card.bind', stepUpProofFromBody(body.proof));
      const started = await wallet.cards.startBinding(userId, { pan: body.pan, phone: body.phone });
      return reply.status(202).send({
        verification_id: started.verificationId,
        phone_masked: started.phoneMasked,
        expires_at: started.expiresAt.toISOString(),
      });
    },
  );

  app.post(
    '/v1/users/:user_id/cards',
    {
      config: { policy: { roles: USER, owner: ownUser } },
      schema: {
        tags: ['wallet'],
        summary: 'Finish binding a card with the SMS code',
        params: USER_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['verification_id', 'sms_code'],
          properties: {
            verification_id: { type: 'string', minLength: 1, maxLength: 128 },
            sms_code: { type: 'string', pattern: '^[0-9]{4,8}$' },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { verification_id: string; sms_code: string };
      const card = await wallet.cards.confirmBinding(params(request).user_id, {
        verificationId: body.verification_id,
        smsCode: body.sms_code,
      });
      return reply.status(201).send(cardView(card));
    },
  );

  app.delete(
    '/v1/users/:user_id/cards/:card_id',
    {
      config: { policy: { roles: USER, owner: ownUser } },
      schema: { tags: ['wallet'], summary: 'Unbind a card', params: withParams({ card_id: UUID }) },
    },
    async (request, reply) => {
      await wallet.cards.remove(params(request).user_id, params(request).card_id!);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/users/:user_id/top-ups',
    {
      config: { policy: { roles: USER, owner: ownUser }, idempotent: true },
      schema: {
        tags: ['wallet'],
        summary: 'Top up from a bound card (status pending until the bank answers)',
        description: stepUpNote('top_up', 'card:<card_id>'),
        params: USER_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['card_id', 'amount'],
          properties: { card_id: UUID, amount: AMOUNT, proof: PAYMENT_PROOF_SCHEMA },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { card_id: string; amount: string; proof?: PaymentProofBody };
      await authorizeBankMovement(request, 'top_up', body);
      const op = await wallet.topUp({
        operationId: deterministicId('wallet.top_up', idempotencyScope(request)),
        userId: params(request).user_id,
        cardId: body.card_id,
        amount: positive(body.amount),
      });
      return reply.status(op.state === 'pending' ? 202 : 201).send(operationView(op));
    },
  );

  app.post(
    '/v1/users/:user_id/withdrawals',
    {
      config: { policy: { roles: USER, owner: ownUser }, idempotent: true },
      schema: {
        tags: ['wallet'],
        summary: 'Withdraw to your own bound card; the amount and fee are held until the bank answers',
        description: stepUpNote('withdraw', 'card:<card_id>'),
        params: USER_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['card_id', 'amount'],
          properties: { card_id: UUID, amount: AMOUNT, proof: PAYMENT_PROOF_SCHEMA },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { card_id: string; amount: string; proof?: PaymentProofBody };
      const userId = params(request).user_id;
      const amount = positive(body.amount);
      const authorization = await authorizeBankMovement(request, 'withdraw', body);
      const op = await wallet.withdraw({
        operationId: deterministicId('wallet.withdrawal', idempotencyScope(request)),
        userId,
        cardId: body.card_id,
        amount,
        authorization,
      });
      return reply.status(op.state === 'pending' ? 202 : 201).send(operationView(op));
    },
  );

  app.get(
    '/v1/users/:user_id/bank-operations/:operation_id',
    {
      config: {
        policy: {
          roles: USER_READERS,
          owner: async (request) =>
            (await wallet.operations.get(params(request).operation_id!))?.userId === params(request).user_id
              ? params(request).user_id
              : undefined,
        },
      },
      schema: {
        tags: ['wallet'],
        summary: 'A top-up or withdrawal',
        params: withParams({ operation_id: UUID }),
      },
    },
    async (request) => operationView((await wallet.operations.get(params(request).operation_id!))!),
  );

  app.post(
    '/v1/users/:user_id/transfers',
    {
      config: { policy: { roles: USER, owner: ownUser }, idempotent: true },
      schema: {
        tags: ['wallet'],
        summary:
          'Send money to a friend (by user id or phone), optionally needing acceptance or arriving later',
        params: USER_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['amount', 'proof'],
          properties: {
            to_user_id: UUID,
            to_phone: { type: 'string', pattern: '^1[0-9]{10}$' },
            amount: AMOUNT,
            memo: { type: 'string', maxLength: 100 },
            require_acceptance: { type: 'boolean' },
            delay_hours: { type: 'integer', enum: [0, 2, 24] },
            proof: PAYMENT_PROOF_SCHEMA,
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        to_user_id?: string;
        to_phone?: string;
        amount: string;
        memo?: string;
        require_acceptance?: boolean;
        delay_hours?: number;
        proof: PaymentProofBody;
      };
      if ((body.to_user_id === undefined) === (body.to_phone === undefined)) {
        throw invalid('recipient_required', 'Give exactly one of to_user_id and to_phone.');
      }
      const senderId = params(request).user_id;
      const amount = positive(body.amount);
      const to = body.to_user_id ? { userId: body.to_user_id } : { phone: body.to_phone! };
      const recipientId = await wallet.transfers.recipientOf(senderId, to);
      const authorization = await identity.authorizePayment({
        userId: senderId,
        amount,
        currency: 'CNY',
        payee: `user:${recipientId}`,
        proof: paymentProofFromBody(body.proof),
      });
      const transfer = await wallet.sendTransfer({
        transferId: deterministicId('wallet.transfer', idempotencyScope(request)),
        senderId,
        to: { userId: recipientId },
        amount,
        memo: body.memo,
        requireAcceptance: body.require_acceptance,
        delayHours: body.delay_hours,
        authorization,
      });
      return reply.status(201).send(transferView(transfer));
    },
  );

  /** Sender or recipient may read a transfer. */
  const transferParty = async (request: FastifyRequest) => {
    const transfer = await wallet.transfers.get(params(request).transfer_id!);
    const userId = params(request).user_id;
    return transfer && (transfer.senderId === userId || transfer.recipientId === userId) ? userId : undefined;
  };
  const transferParams = withParams({ transfer_id: UUID });

  app.get(
    '/v1/users/:user_id/transfers/:transfer_id',
    {
      config: { policy: { roles: USER_READERS, owner: transferParty } },
      schema: { tags: ['wallet'], summary: 'A transfer you sent or received', params: transferParams },
    },
    async (request) => transferView((await wallet.transfers.get(params(request).transfer_id!))!),
  );

  app.post(
    '/v1/users/:user_id/transfers/:transfer_id/accept',
    {
      config: { policy: { roles: USER, owner: transferParty }, idempotent: true },
      schema: {
        tags: ['wallet'],
        summary: 'Accept a transfer sent to you',
        params: transferParams,
        body: EMPTY_BODY,
      },
    },
    async (request) =>
      transferView(await wallet.acceptTransfer(params(request).transfer_id!, params(request).user_id)),
  );

  app.post(
    '/v1/users/:user_id/transfers/:transfer_id/cancel',
    {
      config: { policy: { roles: USER, owner: transferParty }, idempotent: true },
      schema: {
        tags: ['wallet'],
        summary: 'Cancel a delayed transfer you sent, before it arrives',
        params: transferParams,
        body: EMPTY_BODY,
      },
    },
    async (request) =>
      transferView(await wallet.cancelTransfer(params(request).transfer_id!, params(request).user_id)),
  );

  app.get(
    '/v1/users/:user_id/statement',
    {
      config: { policy: { roles: USER_READERS, owner: ownUser } },
      schema: {
        tags: ['wallet'],
        summary: 'Transaction history, oldest first, with cursor pagination and filters',
        params: USER_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cursor: { type: 'string', pattern: '^[0-9]{1,20}$' },
            limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
            ...STATEMENT_FILTERS,
          },
        },
      },
    },
    async (request) =>
      wallet.statement(params(request).user_id, statementQuery(request.query as Record<string, string>)),
  );

  app.get(
    '/v1/users/:user_id/statement.csv',
    {
      config: { policy: { roles: USER_READERS, owner: ownUser } },
      schema: {
        tags: ['wallet'],
        summary:
          'Statement as CSV (amount_minor: integer fen, negative for money out; amount: the same in yuan)',
        params: USER_PARAMS,
        querystring: { type: 'object', additionalProperties: false, properties: STATEMENT_FILTERS },
      },
    },
    async (request, reply) => {
      const userId = params(request).user_id;
      const query = statementQuery(request.query as Record<string, string>);
      const lines = [CSV_HEADER];
      let cursor: string | undefined;
      for (let pages = 0; pages < 500; pages++) {
        const page = await wallet.statement(userId, { ...query, cursor, limit: 200 });
        for (const item of page.items) lines.push(csvLine(item));
        if (page.next_cursor === null) break;
        cursor = page.next_cursor;
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="statement.csv"')
        .send(`${lines.join('\n')}\n`);
    },
  );

  app.get(
    '/v1/users/:user_id/statement/:item_id',
    {
      config: { policy: { roles: USER_READERS, owner: ownUser } },
      schema: {
        tags: ['wallet'],
        summary: 'One statement item with its details',
        params: withParams({ item_id: UUID }),
      },
    },
    async (request) => wallet.statements.item(params(request).user_id, params(request).item_id!),
  );

  // Bank callbacks: public (the bank has no session) but only a valid signature over the
  // raw body is accepted, so this scope reads bodies as text.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 65_536 }, (_request, body, done) =>
      done(null, body),
    );
    scope.post(
      '/v1/bank/callbacks',
      {
        config: { policy: { public: true } },
        schema: {
          tags: ['wallet'],
          summary: 'Bank callbacks (Standard Webhooks signature required)',
          body: { type: 'string', maxLength: 65_536 },
        },
      },
      async (request, reply) => {
        let event: ReturnType<Wallet['deps']['bank']['parseCallback']>;
        try {
          event = wallet.deps.bank.parseCallback(request.headers, request.body as string);
        } catch (error) {
          if (!(error instanceof BankError)) throw error;
          if (error.code === 'callback_malformed') throw invalid('callback_malformed', error.message);
          throw unauthenticated(error.code, 'The callback signature or timestamp is not valid.');
        }
        const ours = await wallet.operations.handleBankEvent(event.operation);
        if (!ours)
          request.log.warn({ request_id: event.operation.requestId }, 'bank callback for an unknown request');
        return reply.status(204).send();
      },
    );
  });

  app.post(
    '/v1/operator/reconciliation/runs',
    {
      config: { policy: { roles: OPERATOR_ADMIN }, idempotent: true },
      schema: {
        tags: ['wallet'],
        summary: 'Reconcile one business date against the bank statement (safe to repeat)',
        body: { type: 'object', additionalProperties: false, required: ['date'], properties: { date: DATE } },
      },
    },
    async (request) => wallet.reconcile((request.body as { date: string }).date),
  );

  app.get(
    '/v1/operator/reconciliation/items',
    {
      config: { policy: { roles: STAFF_READERS } },
      schema: {
        tags: ['wallet'],
        summary: 'Reconciliation items (open ones wait for an operator)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: ['open', 'auto_resolved', 'resolved'] },
            date: DATE,
            after: UUID,
            limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
          },
        },
      },
    },
    async (request) => {
      const query = request.query as { state?: string; date?: string; after?: string; limit?: string };
      const limit = query.limit === undefined ? 100 : Number(query.limit);
      if (limit < 1 || limit > 500) throw invalid('invalid_limit', 'limit must be 1 to 500.');
      return { items: await wallet.reconciliation.items({ ...query, limit }) };
    },
  );

  app.post(
    '/v1/operator/reconciliation/items/:item_id/resolve',
    {
      config: { policy: { roles: OPERATOR_ADMIN }, idempotent: true },
      schema: {
        tags: ['wallet'],
        summary: 'Resolve an open reconciliation item (audited)',
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['item_id'],
          properties: { item_id: UUID },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['resolution', 'note'],
          properties: {
            resolution: { type: 'string', enum: ['post_pending', 'void_pending', 'dismiss'] },
            note: { type: 'string', minLength: 1, maxLength: 500 },
          },
        },
      },
    },
    async (request) => {
      const body = request.body as { resolution: 'post_pending' | 'void_pending' | 'dismiss'; note: string };
      const itemId = (request.params as { item_id: string }).item_id;
      if (!isUuid(itemId)) throw new AppError('not_found', 'reconciliation_item_not_found', 'No such item.');
      return wallet.reconciliation.resolveItem(itemId, { ...body, operator: request.principal!.key });
    },
  );
}
