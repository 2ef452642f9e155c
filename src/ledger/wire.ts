import { AMOUNT_PATTERN } from '../platform/money.ts';
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
