import type { FastifyInstance } from 'fastify';
import { notFound } from '../platform/errors.ts';
import type { Ledger } from './ledger.ts';
import { BATCH_EVENTS_MAX } from './types.ts';
import { VERIFY_CHECKS } from './verify.ts';
import {
  type AccountEventJson,
  accountEventFromJson,
  accountEventSchema,
  accountFilterFromQuery,
  accountFilterQuerystring,
  accountSchema,
  accountToJson,
  balanceSchema,
  balanceToJson,
  cursor,
  cursorSchema,
  FILTER_DESCRIPTION,
  type FilterQuery,
  outcomesToJson,
  queryFilterFromQuery,
  queryFilterQuerystring,
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

  app.get<{ Querystring: FilterQuery }>(
    '/v1/ledger/accounts',
    {
      config: { policy: READ },
      schema: {
        tags,
        summary: 'Query accounts (TigerBeetle query_accounts): every field given must match',
        description: FILTER_DESCRIPTION,
        querystring: queryFilterQuerystring,
        response: {
          200: {
            type: 'object',
            properties: { accounts: { type: 'array', items: accountSchema }, next_cursor: cursorSchema },
          },
        },
      },
    },
    async (request) => {
      const filter = queryFilterFromQuery(request.query);
      const found = await ledger.queryAccounts({ ...filter, limit: filter.limit + 1 });
      return {
        accounts: found.slice(0, filter.limit).map(accountToJson),
        next_cursor: cursor(found, filter.limit),
      };
    },
  );

  app.get<{ Querystring: FilterQuery }>(
    '/v1/ledger/transfers',
    {
      config: { policy: READ },
      schema: {
        tags,
        summary: 'Query transfers (TigerBeetle query_transfers): every field given must match',
        description: FILTER_DESCRIPTION,
        querystring: queryFilterQuerystring,
        response: {
          200: {
            type: 'object',
            properties: { transfers: { type: 'array', items: transferSchema }, next_cursor: cursorSchema },
          },
        },
      },
    },
    async (request) => {
      const filter = queryFilterFromQuery(request.query);
      const found = await ledger.queryTransfers({ ...filter, limit: filter.limit + 1 });
      return {
        transfers: found.slice(0, filter.limit).map((transfer) => transferToJson(transfer)),
        next_cursor: cursor(found, filter.limit),
      };
    },
  );

  app.get<{ Params: { account_id: string }; Querystring: FilterQuery }>(
    '/v1/ledger/accounts/:account_id/transfers',
    {
      config: { policy: READ },
      schema: {
        tags,
        summary: 'Transfers on an account (TigerBeetle get_account_transfers), oldest first unless reversed',
        description: FILTER_DESCRIPTION,
        params: accountParams,
        querystring: accountFilterQuerystring,
        response: {
          200: {
            type: 'object',
            properties: { transfers: { type: 'array', items: transferSchema }, next_cursor: cursorSchema },
          },
        },
      },
    },
    async (request) => {
      const filter = accountFilterFromQuery(request.params.account_id, request.query);
      const found = await ledger.getAccountTransfers({ ...filter, limit: filter.limit + 1 });
      return {
        transfers: found.slice(0, filter.limit).map((transfer) => transferToJson(transfer)),
        next_cursor: cursor(found, filter.limit),
      };
    },
  );

  app.get<{ Params: { account_id: string }; Querystring: FilterQuery }>(
    '/v1/ledger/accounts/:account_id/balance-history',
    {
      config: { policy: READ },
      schema: {
        tags,
        summary:
          'Balances of a history-flagged account after each matching transfer (TigerBeetle get_account_balances)',
        description: `${FILTER_DESCRIPTION} An account without the history flag has none.`,
        params: accountParams,
        querystring: accountFilterQuerystring,
        response: {
          200: {
            type: 'object',
            properties: {
              balances: { type: 'array', items: balanceSchema },
              next_cursor: cursorSchema,
            },
          },
        },
      },
    },
    async (request) => {
      const filter = accountFilterFromQuery(request.params.account_id, request.query);
      const found = await ledger.getAccountBalances({ ...filter, limit: filter.limit + 1 });
      return {
        balances: found.slice(0, filter.limit).map(balanceToJson),
        next_cursor: cursor(found, filter.limit),
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
