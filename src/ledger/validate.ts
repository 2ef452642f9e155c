import { invalid } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { type AccountEvent, AMOUNT_MAX, BATCH_EVENTS_MAX, type TransferEvent } from './types.ts';

/**
 * Shape checks at the API boundary (types and ranges the database columns can hold). They
 * throw for the whole call; business rules are the state machine's result codes instead.
 */
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(1n << 63n);

function assertBatch(events: readonly unknown[]): void {
  if (!Array.isArray(events) || events.length === 0 || events.length > BATCH_EVENTS_MAX) {
    throw invalid('ledger_batch_size', `A batch holds 1 to ${BATCH_EVENTS_MAX} events.`, {
      size: events?.length,
    });
  }
}

function fail(index: number, field: string, rule: string): never {
  throw invalid('ledger_invalid_event', `Event ${index}: ${field} ${rule}.`, { index, field });
}

function checkId(index: number, field: string, value: unknown, optional: boolean): void {
  if (optional && (value === undefined || value === null)) return;
  if (typeof value !== 'string' || !isUuid(value)) fail(index, field, 'must be a lowercase UUID');
}

function checkInt(index: number, field: string, value: unknown, optional: boolean): void {
  if (optional && value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > INT32_MAX) {
    fail(index, field, `must be an integer from 0 to ${INT32_MAX}`);
  }
}

function checkUserData(
  index: number,
  event: { userData128?: unknown; userData64?: unknown; userData32?: unknown },
) {
  checkId(index, 'userData128', event.userData128, true);
  const ud64 = event.userData64;
  if (ud64 !== undefined && (typeof ud64 !== 'bigint' || ud64 < INT64_MIN || ud64 > AMOUNT_MAX)) {
    fail(index, 'userData64', 'must be a bigint within int8');
  }
  checkInt(index, 'userData32', event.userData32, true);
}

/** Range is the state machine's (imported_event_timestamp_out_of_range); here only the type. */
function checkTimestamp(index: number, timestamp: unknown): void {
  if (
    timestamp !== undefined &&
    (typeof timestamp !== 'bigint' || timestamp < 0n || timestamp >= 1n << 64n)
  ) {
    fail(index, 'timestamp', 'must be a bigint from 0 to 2^64 - 1');
  }
}

export function assertAccountEvents(events: readonly AccountEvent[]): void {
  assertBatch(events);
  events.forEach((event, index) => {
    checkId(index, 'id', event.id, false);
    checkInt(index, 'ledger', event.ledger, false);
    checkInt(index, 'code', event.code, false);
    checkInt(index, 'flags', event.flags, true);
    checkUserData(index, event);
    checkTimestamp(index, event.timestamp);
  });
}

export function assertTransferEvents(events: readonly TransferEvent[]): void {
  assertBatch(events);
  events.forEach((event, index) => {
    checkId(index, 'id', event.id, false);
    checkId(index, 'debitAccountId', event.debitAccountId, true);
    checkId(index, 'creditAccountId', event.creditAccountId, true);
    checkId(index, 'pendingId', event.pendingId, true);
    if (typeof event.amount !== 'bigint' || event.amount > AMOUNT_MAX || event.amount < -AMOUNT_MAX) {
      fail(index, 'amount', 'must be a bigint of minor units within int8');
    }
    checkInt(index, 'ledger', event.ledger, true);
    checkInt(index, 'code', event.code, true);
    checkInt(index, 'flags', event.flags, true);
    checkInt(index, 'timeout', event.timeout, true);
    checkUserData(index, event);
    checkTimestamp(index, event.timestamp);
  });
}

export function assertIds(ids: readonly string[], limit = BATCH_EVENTS_MAX): void {
  if (!Array.isArray(ids) || ids.length > limit)
    throw invalid('ledger_batch_size', `At most ${limit} ids per lookup.`);
  ids.forEach((id, index) => {
    checkId(index, 'id', id, false);
  });
}

/** Field types of a query or account filter (the filter rules themselves are in query.ts). */
export function assertQueryFields(filter: {
  userData128?: unknown;
  userData64?: unknown;
  userData32?: unknown;
  ledger?: unknown;
  code?: unknown;
  timestampMin?: unknown;
  timestampMax?: unknown;
  limit?: unknown;
}): void {
  const bad = (field: string, rule: string): never => {
    throw invalid('ledger_invalid_filter', `${field} ${rule}.`, { field });
  };
  if (filter.userData128 != null && (typeof filter.userData128 !== 'string' || !isUuid(filter.userData128)))
    bad('userData128', 'must be a lowercase UUID');
  const ud64 = filter.userData64;
  if (ud64 !== undefined && (typeof ud64 !== 'bigint' || ud64 < INT64_MIN || ud64 > AMOUNT_MAX))
    bad('userData64', 'must be a bigint within int8');
  for (const field of ['userData32', 'ledger', 'code'] as const) {
    const value = filter[field];
    if (
      value !== undefined &&
      (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > INT32_MAX)
    )
      bad(field, `must be an integer from 0 to ${INT32_MAX}`);
  }
  for (const field of ['timestampMin', 'timestampMax'] as const) {
    const value = filter[field];
    if (value !== undefined && typeof value !== 'bigint') bad(field, 'must be a bigint');
  }
  if (typeof filter.limit !== 'number') bad('limit', 'must be a number');
}
