import type { FastifyInstance } from 'fastify';
import { notFound } from '../platform/errors.ts';
import type { Ledger } from './ledger.ts';
import { BATCH_EVENTS_MAX, HISTORY_PAGE_MAX } from './types.ts';
import { VERIFY_CHECKS } from './verify.ts';
import {
  type AccountEventJson,
  accountEventFromJson,
  accountEventSchema,
  accountSchema,
  accountToJson,
  outcomesToJson,
  resultsSchema,
  type TransferEventJson,
  transferEventFromJson,
  transferEventSchema,
  transferSchema,
  transferToJson,
} from './wire.ts';

/** Operator HTTP API under /v1/ledger. Reads: operator-read or operator-admin; writes: operator-admin. */
const READ = { roles: ['operator-read', 'operator-admin'] } as const;
const WRITE = { roles: ['operator-admin'] } as const;
const tags = ['ledger'];

const accountParams = {
  type: 'object',
  additionalProperties: false,
  required: ['account_id'],
  properties: { account_id: { type: 'string', format: 'uuid' } },
} as const;

export async function ledgerRoutes(app: FastifyInstance, deps: { ledger: Ledger }): Promise<void> {
  const { ledger } = deps;

  app.post<{ Body: { accounts: AccountEventJson[] } }>(
    '/v1/ledger/accounts',
    {
      config: { policy: WRITE, audit: 'ledger.accounts_created' },
      schema: {
        tags,
        summary: `Create up to ${BATCH_EVENTS_MAX} accounts; one result per event, in order`,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['accounts'],
          properties: {
            accounts: { type: 'array', minItems: 1, maxItems: BATCH_EVENTS_MAX, items: accountEventSchema },
          },
        },
        response: { 200: resultsSchema },
      },
    },
    async (request) =>
      outcomesToJson(await ledger.createAccounts(request.body.accounts.map(accountEventFromJson))),
  );

  app.post<{ Body: { transfers: TransferEventJson[] } }>(
    '/v1/ledger/transfers',
    {
      config: { policy: WRITE, audit: 'ledger.transfers_created' },
      schema: {
        tags,
        summary: `Create up to ${BATCH_EVENTS_MAX} transfers; one result per event, in order`,
        description:
          'Transfer ids make this idempotent: resubmitting an id returns `exists` (same fields) or ' +
          '`exists_with_different_<field>`; nothing is applied twice.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['transfers'],
          properties: {
            transfers: { type: 'array', minItems: 1, maxItems: BATCH_EVENTS_MAX, items: transferEventSchema },
          },
        },
        response: { 200: resultsSchema },
      },
    },
    async (request) =>
      outcomesToJson(await ledger.createTransfers(request.body.transfers.map(transferEventFromJson))),
  );

  app.get<{ Params: { account_id: string } }>(
    '/v1/ledger/accounts/:account_id',
    {
      config: { policy: READ },
      schema: {
        tags,
        summary: 'An account and its balances',
        params: accountParams,
        response: { 200: accountSchema },
      },
    },
    async (request) => {
      const [account] = await ledger.lookupAccounts([request.params.account_id.toLowerCase()]);
      if (!account) throw notFound('ledger_account_not_found', 'No account has this id.');
      return accountToJson(account);
    },
  );

  app.get<{ Params: { account_id: string }; Querystring: { after?: string; limit?: string } }>(
    '/v1/ledger/accounts/:account_id/transfers',
    {
      config: { policy: READ },
      schema: {
        tags,
        summary: 'Transfers on an account, oldest first, with cursor pagination',
        params: accountParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: {
              type: 'string',
              pattern: '^[0-9]{1,19}$',
              description: 'next_cursor of the previous page',
            },
            limit: {
              type: 'string',
              pattern: '^[1-9][0-9]{0,3}$',
              description: `1 to ${HISTORY_PAGE_MAX} (default 100)`,
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              transfers: { type: 'array', items: transferSchema },
              next_cursor: { type: ['string', 'null'] },
            },
          },
        },
      },
    },
    async (request) => {
      const page = await ledger.getAccountHistory(request.params.account_id.toLowerCase(), {
        ...(request.query.after ? { after: BigInt(request.query.after) } : {}),
        limit: Number(request.query.limit ?? 100),
      });
      return {
        transfers: page.transfers.map((transfer) => transferToJson(transfer)),
        next_cursor: page.nextCursor?.toString() ?? null,
      };
    },
  );

  app.get<{ Params: { account_id: string }; Querystring: { as_of: string } }>(
    '/v1/ledger/accounts/:account_id/balances',
    {
      config: { policy: READ },
      schema: {
        tags,
        summary: 'Balances of a history-flagged account as of a ledger timestamp',
        params: accountParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['as_of'],
          properties: {
            as_of: { type: 'string', pattern: '^[0-9]{1,19}$', description: 'Ledger timestamp (ns)' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              timestamp: { type: 'string' },
              debits_pending: { type: 'string' },
              debits_posted: { type: 'string' },
              credits_pending: { type: 'string' },
              credits_posted: { type: 'string' },
            },
          },
        },
      },
    },
    async (request) => {
      const balances = await ledger.getBalancesAsOf(
        request.params.account_id.toLowerCase(),
        BigInt(request.query.as_of),
      );
      if (!balances)
        throw notFound('ledger_account_not_yet_created', 'The account did not exist at that time.');
      return {
        timestamp: balances.timestamp.toString(),
        debits_pending: balances.debitsPending.toString(),
        debits_posted: balances.debitsPosted.toString(),
        credits_pending: balances.creditsPending.toString(),
        credits_posted: balances.creditsPosted.toString(),
      };
    },
  );

  app.get<{ Params: { transfer_id: string } }>(
    '/v1/ledger/transfers/:transfer_id',
    {
      config: { policy: READ },
      schema: {
        tags,
        summary: 'A transfer (with its live status when it is pending)',
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['transfer_id'],
          properties: { transfer_id: { type: 'string', format: 'uuid' } },
        },
        response: { 200: transferSchema },
      },
    },
    async (request) => {
      const id = request.params.transfer_id.toLowerCase();
      const [transfer] = await ledger.lookupTransfers([id]);
      if (!transfer) throw notFound('ledger_transfer_not_found', 'No transfer has this id.');
      const pending = (await ledger.lookupPending([id])).get(id);
      return transferToJson(transfer, pending);
    },
  );

  app.get(
    '/v1/ledger/verify',
    {
      config: { policy: READ },
      schema: {
        tags,
        summary: 'Prove the books: balances, flags, pending resolutions and the journal hash chain',
        response: {
          200: {
            type: 'object',
            properties: {
              ok: { type: 'boolean' },
              counts: {
                type: 'object',
                properties: {
                  ledgers: { type: 'integer' },
                  accounts: { type: 'integer' },
                  transfers: { type: 'integer' },
                  journalBatches: { type: 'integer' },
                },
              },
              checks: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string', enum: [...VERIFY_CHECKS] },
                    ok: { type: 'boolean' },
                    violations: { type: 'integer' },
                  },
                },
              },
              violations: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    check: { type: 'string' },
                    message: { type: 'string' },
                    details: { type: 'object', additionalProperties: true },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => ledger.verify(),
  );
}
