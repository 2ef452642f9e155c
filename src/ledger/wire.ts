import { invalid } from '../platform/errors.ts';
import { AMOUNT_PATTERN } from '../platform/money.ts';
import type { AccountBalance, AccountFilter, QueryFilter } from './query.ts';
import type { CreateAccountOutcome, CreateTransferOutcome } from './results.ts';
import {
  type Account,
  type AccountEvent,
  AccountFlags,
  type PendingState,
  type Transfer,
  type TransferEvent,
  TransferFlags,
} from './types.ts';

/**
 * JSON shapes of the operator API: snake_case, amounts and other int8 values as digit
 * strings, flags as lists of names.
 */
type FlagTable = Record<string, number>;

const ACCOUNT_FLAG_NAMES = Object.keys(AccountFlags).filter((name) => name !== 'none');
const TRANSFER_FLAG_NAMES = Object.keys(TransferFlags).filter((name) => name !== 'none');

export function flagsFromNames(names: readonly string[] | undefined, table: FlagTable): number {
  return (names ?? []).reduce((flags, name) => flags | (table[name] ?? 0), 0);
}

export function flagNames(flags: number, table: FlagTable): string[] {
  return Object.entries(table)
    .filter(([name, bit]) => name !== 'none' && (flags & bit) !== 0)
    .map(([name]) => name);
}

const lower = (id: string | undefined | null) => (id ? id.toLowerCase() : id);

// --- schemas --------------------------------------------------------------------------------

const uuid = { type: 'string', format: 'uuid' } as const;
const amount = { type: 'string', pattern: AMOUNT_PATTERN } as const;
const int64 = { type: 'string', pattern: '^-?(0|[1-9][0-9]{0,18})$' } as const;
const int32 = { type: 'integer', minimum: 0, maximum: 2_147_483_647 } as const;
const importedTimestamp = {
  type: 'string',
  pattern: '^(0|[1-9][0-9]{0,19})$',
  description: "Only with flag 'imported': the event's original time, ns since the Unix epoch",
} as const;

export const accountEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'ledger', 'code'],
  properties: {
    id: uuid,
    ledger: int32,
    code: int32,
    flags: { type: 'array', items: { type: 'string', enum: ACCOUNT_FLAG_NAMES }, uniqueItems: true },
    user_data_128: uuid,
    user_data_64: int64,
    user_data_32: int32,
    timestamp: importedTimestamp,
  },
} as const;

export const transferEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'amount'],
  properties: {
    id: uuid,
    debit_account_id: uuid,
    credit_account_id: uuid,
    amount,
    pending_id: uuid,
    ledger: int32,
    code: int32,
    flags: { type: 'array', items: { type: 'string', enum: TRANSFER_FLAG_NAMES }, uniqueItems: true },
    timeout: { ...int32, description: 'Seconds until a pending transfer expires; 0 = never' },
    user_data_128: uuid,
    user_data_64: int64,
    user_data_32: int32,
    timestamp: importedTimestamp,
  },
} as const;

export const accountSchema = {
  type: 'object',
  properties: {
    id: uuid,
    ledger: { type: 'integer' },
    code: { type: 'integer' },
    flags: { type: 'array', items: { type: 'string' } },
    closed: { type: 'boolean' },
    user_data_128: { type: ['string', 'null'] },
    user_data_64: { type: 'string' },
    user_data_32: { type: 'integer' },
    debits_pending: { type: 'string' },
    debits_posted: { type: 'string' },
    credits_pending: { type: 'string' },
    credits_posted: { type: 'string' },
    timestamp: { type: 'string', description: 'Ledger timestamp (ns since the Unix epoch)' },
  },
} as const;

export const transferSchema = {
  type: 'object',
  properties: {
    id: uuid,
    debit_account_id: uuid,
    credit_account_id: uuid,
    amount: { type: 'string' },
    pending_id: { type: ['string', 'null'] },
    ledger: { type: 'integer' },
    code: { type: 'integer' },
    flags: { type: 'array', items: { type: 'string' } },
    timeout: { type: 'integer' },
    user_data_128: { type: ['string', 'null'] },
    user_data_64: { type: 'string' },
    user_data_32: { type: 'integer' },
    timestamp: { type: 'string' },
    pending_status: { type: 'string', enum: ['pending', 'posted', 'voided', 'expired'] },
  },
} as const;

export const resultsSchema = {
  type: 'object',
  properties: {
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: { index: { type: 'integer' }, result: { type: 'string' }, timestamp: { type: 'string' } },
      },
    },
  },
} as const;

// --- decoding and encoding -------------------------------------------------------------------

export interface AccountEventJson {
  id: string;
  ledger: number;
  code: number;
  flags?: string[];
  user_data_128?: string;
  user_data_64?: string;
  user_data_32?: number;
  timestamp?: string;
}

export interface TransferEventJson {
  id: string;
  debit_account_id?: string;
  credit_account_id?: string;
  amount: string;
  pending_id?: string;
  ledger?: number;
  code?: number;
  flags?: string[];
  timeout?: number;
  user_data_128?: string;
  user_data_64?: string;
  user_data_32?: number;
  timestamp?: string;
}

export function accountEventFromJson(json: AccountEventJson): AccountEvent {
  return {
    id: json.id.toLowerCase(),
    ledger: json.ledger,
    code: json.code,
    flags: flagsFromNames(json.flags, AccountFlags),
    userData128: lower(json.user_data_128) ?? null,
    userData64: BigInt(json.user_data_64 ?? '0'),
    userData32: json.user_data_32 ?? 0,
    timestamp: BigInt(json.timestamp ?? '0'),
  };
}

export function transferEventFromJson(json: TransferEventJson): TransferEvent {
  return {
    id: json.id.toLowerCase(),
    debitAccountId: lower(json.debit_account_id) ?? null,
    creditAccountId: lower(json.credit_account_id) ?? null,
    amount: BigInt(json.amount),
    pendingId: lower(json.pending_id) ?? null,
    ledger: json.ledger ?? 0,
    code: json.code ?? 0,
    flags: flagsFromNames(json.flags, TransferFlags),
    timeout: json.timeout ?? 0,
    userData128: lower(json.user_data_128) ?? null,
    userData64: BigInt(json.user_data_64 ?? '0'),
    userData32: json.user_data_32 ?? 0,
    timestamp: BigInt(json.timestamp ?? '0'),
  };
}

export function accountToJson(account: Account) {
  return {
    id: account.id,
    ledger: account.ledger,
    code: account.code,
    flags: flagNames(account.flags, AccountFlags),
    closed: account.closed,
    user_data_128: account.userData128,
    user_data_64: account.userData64.toString(),
    user_data_32: account.userData32,
    debits_pending: account.debitsPending.toString(),
    debits_posted: account.debitsPosted.toString(),
    credits_pending: account.creditsPending.toString(),
    credits_posted: account.creditsPosted.toString(),
    timestamp: account.timestamp.toString(),
  };
}

export function transferToJson(transfer: Transfer, pending?: PendingState) {
  return {
    id: transfer.id,
    debit_account_id: transfer.debitAccountId,
    credit_account_id: transfer.creditAccountId,
    amount: transfer.amount.toString(),
    pending_id: transfer.pendingId,
    ledger: transfer.ledger,
    code: transfer.code,
    flags: flagNames(transfer.flags, TransferFlags),
    timeout: transfer.timeout,
    user_data_128: transfer.userData128,
    user_data_64: transfer.userData64.toString(),
    user_data_32: transfer.userData32,
    timestamp: transfer.timestamp.toString(),
    ...(pending ? { pending_status: pending.status } : {}),
  };
}

export function outcomesToJson(outcomes: readonly (CreateAccountOutcome | CreateTransferOutcome)[]) {
  return {
    results: outcomes.map((outcome) => ({
      index: outcome.index,
      result: outcome.result,
      ...(outcome.timestamp !== undefined ? { timestamp: outcome.timestamp.toString() } : {}),
    })),
  };
}

// --- query filters (query string) ------------------------------------------------------------

/** Most results of one HTTP page. */
export const FILTER_PAGE_MAX = 1000;

const filterFields = {
  user_data_128: { type: 'string', format: 'uuid' },
  user_data_64: { type: 'string', pattern: '^-?(0|[1-9][0-9]{0,18})$' },
  user_data_32: { type: 'string', pattern: '^(0|[1-9][0-9]{0,9})$' },
  code: { type: 'string', pattern: '^(0|[1-9][0-9]{0,9})$' },
  timestamp_min: {
    type: 'string',
    pattern: '^(0|[1-9][0-9]{0,18})$',
    description: 'Inclusive lower bound on the timestamp (ns); 0 = none',
  },
  timestamp_max: {
    type: 'string',
    pattern: '^(0|[1-9][0-9]{0,18})$',
    description: 'Inclusive upper bound on the timestamp (ns); 0 = none',
  },
  after: {
    type: 'string',
    pattern: '^[0-9]{1,19}$',
    description: 'next_cursor of the previous page (oldest first)',
  },
  before: {
    type: 'string',
    pattern: '^[0-9]{1,19}$',
    description: 'next_cursor of the previous page (reversed)',
  },
  limit: {
    type: 'string',
    pattern: '^[1-9][0-9]{0,3}$',
    description: `1 to ${FILTER_PAGE_MAX} (default 100)`,
  },
  reversed: { type: 'string', enum: ['true', 'false'], description: 'Newest first' },
} as const;

export const queryFilterQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: { ...filterFields, ledger: { type: 'string', pattern: '^(0|[1-9][0-9]{0,9})$' } },
} as const;

export const accountFilterQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...filterFields,
    debits: {
      type: 'string',
      enum: ['true', 'false'],
      description: 'Transfers debiting the account (default true)',
    },
    credits: {
      type: 'string',
      enum: ['true', 'false'],
      description: 'Transfers crediting the account (default true)',
    },
  },
} as const;

export const FILTER_DESCRIPTION =
  'Fields left out (or 0) do not filter. Pages: pass next_cursor as `after` (or `before` when ' +
  'reversed). Invalid filters are 400 with code ledger_filter_timestamp, ledger_filter_limit, ' +
  'ledger_filter_direction or ledger_filter_account_id.';

export const cursorSchema = { type: ['string', 'null'], description: 'Null on the last page' } as const;

export const balanceSchema = {
  type: 'object',
  properties: {
    timestamp: { type: 'string', description: 'The transfer after which these were the balances' },
    debits_pending: { type: 'string' },
    debits_posted: { type: 'string' },
    credits_pending: { type: 'string' },
    credits_posted: { type: 'string' },
  },
} as const;

export interface FilterQuery {
  user_data_128?: string;
  user_data_64?: string;
  user_data_32?: string;
  ledger?: string;
  code?: string;
  timestamp_min?: string;
  timestamp_max?: string;
  after?: string;
  before?: string;
  limit?: string;
  reversed?: string;
  debits?: string;
  credits?: string;
}

function commonFilterFromQuery(query: FilterQuery) {
  const limit = Number(query.limit ?? 100);
  if (limit > FILTER_PAGE_MAX) {
    throw invalid('ledger_filter_limit', `limit must be 1 to ${FILTER_PAGE_MAX}.`);
  }
  // after/before are exclusive cursors: they tighten the inclusive bounds.
  let timestampMin = BigInt(query.timestamp_min ?? '0');
  let timestampMax = BigInt(query.timestamp_max ?? '0');
  if (query.after !== undefined && BigInt(query.after) + 1n > timestampMin)
    timestampMin = BigInt(query.after) + 1n;
  if (query.before !== undefined) {
    const below = BigInt(query.before) - 1n;
    if (below < 1n) throw invalid('ledger_filter_timestamp', 'before must be above 1.');
    if (timestampMax === 0n || below < timestampMax) timestampMax = below;
  }
  return {
    userData128: query.user_data_128?.toLowerCase() ?? null,
    userData64: BigInt(query.user_data_64 ?? '0'),
    userData32: Number(query.user_data_32 ?? 0),
    code: Number(query.code ?? 0),
    timestampMin,
    timestampMax,
    limit,
    reversed: query.reversed === 'true',
  };
}

export function queryFilterFromQuery(query: FilterQuery): QueryFilter {
  return { ...commonFilterFromQuery(query), ledger: Number(query.ledger ?? 0) };
}

export function accountFilterFromQuery(accountId: string, query: FilterQuery): AccountFilter {
  return {
    ...commonFilterFromQuery(query),
    accountId: accountId.toLowerCase(),
    debits: query.debits !== 'false',
    credits: query.credits !== 'false',
  };
}

/** The timestamp to page on from, when there is a further page (the query fetched limit + 1). */
export function cursor(found: readonly { timestamp: bigint }[], limit: number): string | null {
  return found.length > limit ? found[limit - 1]!.timestamp.toString() : null;
}

export function balanceToJson(balance: AccountBalance) {
  return {
    timestamp: balance.timestamp.toString(),
    debits_pending: balance.debitsPending.toString(),
    debits_posted: balance.debitsPosted.toString(),
    credits_pending: balance.creditsPending.toString(),
    credits_posted: balance.creditsPosted.toString(),
  };
}
