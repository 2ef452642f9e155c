import type { BankOperation, StatementLine } from './connector.ts';
import { BankError } from './connector.ts';
import { STATEMENT_HEADER } from './types.ts';

/** Parses the sandbox bank's wire formats into connector types, trusting nothing. */

const DIRECTIONS = new Set(['debit', 'credit']);
const STATUSES = new Set(['processing', 'succeeded', 'declined']);
const DECLINES = new Set(['insufficient_funds', 'card_blocked', 'limit_exceeded']);
const DIGITS = /^(0|[1-9][0-9]{0,18})$/;
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

function fail(code: 'callback_malformed' | 'statement_malformed' | 'bank_unavailable', what: string): never {
  throw new BankError(code, `The bank sent a malformed ${what}.`, { retryable: code === 'bank_unavailable' });
}

function text(value: unknown, max = 128): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

function date(value: unknown): Date | null {
  if (!text(value, 40)) return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}

/** An operation object from a response or callback; `context` names the error on failure. */
export function parseOperation(
  value: unknown,
  context: 'callback_malformed' | 'bank_unavailable',
): BankOperation {
  const o = (value ?? {}) as Record<string, unknown>;
  const createdAt = date(o.created_at);
  const completedAt = o.completed_at === null ? null : date(o.completed_at);
  const ok =
    text(o.request_id, 64) &&
    text(o.bank_reference, 64) &&
    DIRECTIONS.has(o.direction as string) &&
    typeof o.amount === 'string' &&
    DIGITS.test(o.amount) &&
    text(o.currency, 3) &&
    STATUSES.has(o.status as string) &&
    (o.decline_reason === null || DECLINES.has(o.decline_reason as string)) &&
    (o.status === 'declined') === (o.decline_reason !== null) &&
    text(o.card_last4, 4) &&
    (o.sequence === 1 || o.sequence === 2) &&
    createdAt !== null &&
    (o.completed_at === null || completedAt !== null);
  if (!ok) fail(context, 'operation');
  return {
    requestId: o.request_id as string,
    bankReference: o.bank_reference as string,
    direction: o.direction as BankOperation['direction'],
    amount: BigInt(o.amount as string),
    currency: o.currency as string,
    status: o.status as BankOperation['status'],
    declineReason: o.decline_reason as BankOperation['declineReason'],
    cardLast4: o.card_last4 as string,
    sequence: o.sequence as number,
    createdAt: createdAt!,
    completedAt,
  };
}

/** The daily statement CSV (see README "Statement format"). */
export function parseStatement(csv: string): StatementLine[] {
  const rows = csv.split('\n').filter((line) => line !== '');
  if (rows[0] !== STATEMENT_HEADER) fail('statement_malformed', 'statement header');
  return rows.slice(1).map((row) => {
    const fields = row.split(',');
    const [businessDate, bankReference, requestId, direction, amount, currency, status] = fields;
    const ok =
      fields.length === 7 &&
      DATE.test(businessDate!) &&
      text(bankReference, 64) &&
      text(requestId, 128) &&
      DIRECTIONS.has(direction!) &&
      DIGITS.test(amount!) &&
      text(currency, 3) &&
      (status === 'succeeded' || status === 'declined');
    if (!ok) fail('statement_malformed', 'statement line');
    return {
      businessDate: businessDate!,
      bankReference: bankReference!,
      requestId: requestId!,
      direction: direction as StatementLine['direction'],
      amount: BigInt(amount!),
      currency: currency!,
      status: status as StatementLine['status'],
    };
  });
}
