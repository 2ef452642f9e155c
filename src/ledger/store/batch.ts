import { createHash } from 'node:crypto';
import { type ArrayElement, binaryArray, FixedArrayWriter } from '../../platform/db/binary-array.ts';
import type { NamedStatement, Queryable } from '../../platform/db/database.ts';
import { eventTimestamp, type JournalEvent } from '../journal.ts';
import {
  ACCOUNT_COLUMNS,
  type AccountRow,
  accountFromRow,
  arrayLiteral,
  pendingFromRow,
  TRANSFER_COLUMNS,
  type TransferRow,
  transferFromRow,
} from '../rows.ts';
import type { Effects, FailedTransfer, Timeline } from '../state-machine.ts';
import type { Account, PendingState, Transfer } from '../types.ts';

/** SQL for the write path. Every function takes the batch's transaction. */

export interface Head {
  sequence: bigint;
  hash: Buffer;
  timestampLast: bigint;
}

export async function loadLedgerIds(tx: Queryable): Promise<Set<number>> {
  const { rows } = await tx.query<{ id: number }>('SELECT id FROM ledger_ledgers');
  return new Set(rows.map((row) => row.id));
}

/** Call with the head lock held: no other batch can change accounts until commit. */
export async function loadAccounts(tx: Queryable, ids: readonly string[]): Promise<Map<string, Account>> {
  const accounts = new Map<string, Account>();
  if (ids.length === 0) return accounts;
  const { rows } = await tx.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ANY($1::uuid[])`,
    [arrayLiteral(ids)],
  );
  for (const row of rows) accounts.set(row.id, accountFromRow(row));
  return accounts;
}

/**
 * Every batch locks the head row first: it serialises journal appends, timestamps and
 * balance changes across processes. One lock per batch, so batches cannot deadlock.
 */
export async function lockHead(tx: Queryable): Promise<Head> {
  const { rows } = await tx.query<{ sequence: bigint; hash: Buffer; timestamp_last: bigint }>(
    'SELECT sequence, hash, timestamp_last FROM ledger_head WHERE singleton FOR UPDATE',
  );
  const row = rows[0];
  if (!row) throw new Error('ledger: ledger_head row is missing (migration 001 not applied?)');
  return { sequence: row.sequence, hash: row.hash, timestampLast: row.timestamp_last };
}

export async function loadTransfers(
  tx: Queryable,
  ids: readonly string[],
): Promise<{ transfers: Map<string, Transfer>; pending: Map<string, PendingState> }> {
  const transfers = new Map<string, Transfer>();
  const pending = new Map<string, PendingState>();
  if (ids.length === 0) return { transfers, pending };
  const { rows } = await tx.query<
    TransferRow & {
      status: string | null;
      expires_at: bigint | null;
      resolved_by: string | null;
      resolved_at: bigint | null;
    }
  >(
    `SELECT t.id, t.debit_account_id, t.credit_account_id, t.amount, t.pending_id, t.ledger, t.code, t.flags,
            t.timeout, t.user_data_128, t.user_data_64, t.user_data_32, t.timestamp,
            p.status, p.expires_at, p.resolved_by, p.resolved_at
       FROM ledger_transfers t LEFT JOIN ledger_pending p ON p.id = t.id
      WHERE t.id = ANY($1::uuid[])`,
    [arrayLiteral(ids)],
  );
  for (const row of rows) {
    transfers.set(row.id, transferFromRow(row));
    if (row.status !== null) pending.set(row.id, pendingFromRow({ ...row, status: row.status }));
  }
  return { transfers, pending };
}

/**
 * Pending transfers due at ledger time `timestampNs` (at most `limit`, earliest deadline first),
 * and the earliest deadline after it (null when no other pending transfer has a timeout). One
 * query over the partial index `ledger_pending_due`.
 */
export async function loadDuePending(
  tx: Queryable,
  timestampNs: bigint,
  limit: number,
): Promise<{ due: string[]; nextDeadline: bigint | null }> {
  const { rows } = await tx.query<{ id: string; expires_at: bigint; due: boolean }>(
    `(SELECT id, expires_at, true AS due FROM ledger_pending
       WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2)
     UNION ALL
     (SELECT id, expires_at, false AS due FROM ledger_pending
       WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at > $1 ORDER BY expires_at LIMIT 1)`,
    [timestampNs.toString(), limit],
  );
  const due = rows.filter((row) => row.due);
  const later = rows.find((row) => !row.due);
  // A full page of due ones: more may be due, so the bound stays at or before now.
  const nextDeadline = due.length >= limit ? due[due.length - 1]!.expires_at : (later?.expires_at ?? null);
  return { due: due.map((row) => row.id), nextDeadline };
}

/**
 * What imported events are checked against: the last account and transfer timestamps, and
 * which of `timestamps` accounts or transfers already hold (migration 005 keeps this indexed).
 */
export async function loadTimeline(tx: Queryable, timestamps: readonly bigint[]): Promise<Timeline> {
  const { rows } = await tx.query<{
    account_max: bigint | null;
    transfer_max: bigint | null;
    account_taken: bigint[];
    transfer_taken: bigint[];
  }>(
    `SELECT (SELECT max(timestamp) FROM ledger_accounts) AS account_max,
            (SELECT max(timestamp) FROM ledger_transfers) AS transfer_max,
            ARRAY(SELECT timestamp FROM ledger_accounts WHERE timestamp = ANY($1::int8[])) AS account_taken,
            ARRAY(SELECT timestamp FROM ledger_transfers WHERE timestamp = ANY($1::int8[])) AS transfer_taken`,
    [timestamps.map(String)],
  );
  const row = rows[0]!;
  return {
    accountTimestampMax: row.account_max ?? 0n,
    transferTimestampMax: row.transfer_max ?? 0n,
    accountTimestamps: new Set(row.account_taken.map(BigInt)),
    transferTimestamps: new Set(row.transfer_taken.map(BigInt)),
  };
}

/** How many of `ids` are stored transfers or failed transfer ids. */
export async function countTransfers(tx: Queryable, ids: readonly string[]): Promise<number> {
  const { rows } = await tx.query<{ count: number }>(
    `SELECT ((SELECT count(*) FROM ledger_transfers WHERE id = ANY($1::uuid[]))
           + (SELECT count(*) FROM ledger_transfers_failed WHERE id = ANY($1::uuid[])))::int AS count`,
    [arrayLiteral(ids)],
  );
  return rows[0]!.count;
}

/** The failed transfer ids among `ids` (migration 004). */
export async function loadFailedTransfers(
  tx: Queryable,
  ids: readonly string[],
): Promise<Map<string, FailedTransfer>> {
  const failed = new Map<string, FailedTransfer>();
  if (ids.length === 0) return failed;
  const { rows } = await tx.query<{ id: string; result: FailedTransfer['result']; timestamp: bigint }>(
    'SELECT id, result, timestamp FROM ledger_transfers_failed WHERE id = ANY($1::uuid[])',
    [arrayLiteral(ids)],
  );
  for (const row of rows) failed.set(row.id, row);
  return failed;
}

export interface JournalAppend {
  sequence: bigint;
  timestampFirst: bigint;
  timestampLast: bigint;
  eventCount: number;
  previousHash: Buffer;
  hash: Buffer;
  /** Advances the head even past timestamps of events that failed. */
  headTimestampLast: bigint;
  /** The head the batch was validated against: nothing is written unless it still is. */
  expected: Head;
}

/**
 * Parameters of the batch statement. Accounts created in the batch go in with their final
 * balances; a statement cannot update rows it inserts.
 */
export function buildBatchWrite(
  effects: Effects,
  accounts: Map<string, Account>,
  pending: Map<string, PendingState>,
  upsertAccountIds: ReadonlySet<string>,
  journal: JournalAppend,
): unknown[] {
  const changed = [...upsertAccountIds].map((id) => accounts.get(id)!);
  const updated = [...effects.accountsChanged.values()].filter(
    (account) => !upsertAccountIds.has(account.id),
  );
  const pendingIds = new Set(
    [...effects.pendingCreated, ...effects.pendingResolved].map((entry) => entry.id),
  );
  const pendingRows = [...pendingIds].map((id) => [id, pending.get(id)!] as const);
  const snapshots = effects.snapshots;
  type Cell = string | number | bigint | boolean | null;
  const column = <T>(element: ArrayElement, rows: readonly T[], pick: (row: T) => Cell) =>
    binaryArray(element, rows.map(pick));
  return [
    column('uuid', changed, (a) => a.id),
    column('int4', changed, (a) => a.ledger),
    column('int4', changed, (a) => a.code),
    column('int4', changed, (a) => a.flags),
    column('bool', changed, (a) => a.closed),
    column('uuid', changed, (a) => a.userData128),
    column('int8', changed, (a) => a.userData64),
    column('int4', changed, (a) => a.userData32),
    column('int8', changed, (a) => a.debitsPending),
    column('int8', changed, (a) => a.debitsPosted),
    column('int8', changed, (a) => a.creditsPending),
    column('int8', changed, (a) => a.creditsPosted),
    column('int8', changed, (a) => a.timestamp),
    ...transferColumns(effects.transfersCreated),
    column('uuid', pendingRows, ([id]) => id),
    column('text', pendingRows, ([, state]) => state.status),
    column('int8', pendingRows, ([, state]) => state.expiresAt),
    column('uuid', pendingRows, ([, state]) => state.resolvedBy),
    column('int8', pendingRows, ([, state]) => state.resolvedAt),
    column('uuid', snapshots, (s) => s.accountId),
    column('int8', snapshots, (s) => s.timestamp),
    column('int8', snapshots, (s) => s.debitsPending),
    column('int8', snapshots, (s) => s.debitsPosted),
    column('int8', snapshots, (s) => s.creditsPending),
    column('int8', snapshots, (s) => s.creditsPosted),
    journal.sequence.toString(),
    journal.timestampFirst.toString(),
    journal.timestampLast.toString(),
    journal.eventCount,
    journal.previousHash,
    journal.hash,
    journal.headTimestampLast.toString(),
    journal.expected.sequence.toString(),
    journal.expected.hash,
    column('uuid', updated, (a) => a.id),
    column('int8', updated, (a) => a.debitsPending),
    column('int8', updated, (a) => a.debitsPosted),
    column('int8', updated, (a) => a.creditsPending),
    column('int8', updated, (a) => a.creditsPosted),
    column('bool', updated, (a) => a.closed),
    ...failedColumns(effects.failed),
  ];
}

/** $53..$55: transfer ids burned by transient failures (migration 004). */
function failedColumns(failed: readonly FailedTransfer[]): Buffer[] {
  return [
    binaryArray(
      'uuid',
      failed.map((f) => f.id),
    ),
    binaryArray(
      'text',
      failed.map((f) => f.result),
    ),
    binaryArray(
      'int8',
      failed.map((f) => f.timestamp),
    ),
  ];
}

/**
 * The whole batch in one statement, so outside a transaction it is one round trip. It first
 * locks the head and writes only if the head is still `expected` (the state the batch was
 * validated against): every write waits on that check. Returns false, having written
 * nothing, if the head moved.
 *
 * The statement may be sent while the previous batch is still committing, so its snapshot
 * can predate rows that batch inserts. An UPDATE cannot see such rows, so accounts created by
 * a batch still in flight, and pending states, are upserted (INSERT ... ON CONFLICT DO
 * UPDATE acts on the latest committed row). Older accounts take the cheaper UPDATE, which
 * also follows a row to its latest version, as does the head's.
 */
export async function executeBatchWrite(
  q: Queryable,
  params: unknown[],
  joined: JoinedWrites | null = null,
): Promise<boolean> {
  const { rows } = await q.query<{ ok: boolean }>(
    named(`WITH
      head AS MATERIALIZED (
        SELECT (sequence = $45 AND hash = $46 AND ${FAILED_ID_CHECK}) AS ok FROM ledger_head WHERE singleton FOR UPDATE),
      written_accounts AS (
        INSERT INTO ledger_accounts (${ACCOUNT_COLUMNS})
        SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::bool[], $6::uuid[], $7::int8[],
                             $8::int[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int8[])
         WHERE (SELECT ok FROM head)
        ON CONFLICT (id) DO UPDATE
           SET debits_pending = excluded.debits_pending, debits_posted = excluded.debits_posted,
               credits_pending = excluded.credits_pending, credits_posted = excluded.credits_posted,
               closed = excluded.closed),
      updated_accounts AS (
        UPDATE ledger_accounts a
           SET debits_pending = u.debits_pending, debits_posted = u.debits_posted,
               credits_pending = u.credits_pending, credits_posted = u.credits_posted, closed = u.closed
          FROM unnest($47::uuid[], $48::int8[], $49::int8[], $50::int8[], $51::int8[], $52::bool[])
               AS u (id, debits_pending, debits_posted, credits_pending, credits_posted, closed)
         WHERE a.id = u.id AND (SELECT ok FROM head)),
      inserted_transfers AS (
        INSERT INTO ledger_transfers (${TRANSFER_COLUMNS})
        SELECT * FROM unnest($14::uuid[], $15::uuid[], $16::uuid[], $17::int8[], $18::uuid[], $19::int[], $20::int[],
                             $21::int[], $22::int[], $23::uuid[], $24::int8[], $25::int[], $26::int8[])
         WHERE (SELECT ok FROM head)),
      written_pending AS (
        INSERT INTO ledger_pending (id, status, expires_at, resolved_by, resolved_at)
        SELECT * FROM unnest($27::uuid[], $28::text[], $29::int8[], $30::uuid[], $31::int8[])
         WHERE (SELECT ok FROM head)
        ON CONFLICT (id) DO UPDATE
           SET status = excluded.status, resolved_by = excluded.resolved_by, resolved_at = excluded.resolved_at),
      inserted_snapshots AS (
        INSERT INTO ledger_account_balances
               (account_id, timestamp, debits_pending, debits_posted, credits_pending, credits_posted)
        SELECT * FROM unnest($32::uuid[], $33::int8[], $34::int8[], $35::int8[], $36::int8[], $37::int8[])
         WHERE (SELECT ok FROM head)),
      inserted_failed AS (
        INSERT INTO ledger_transfers_failed (id, result, timestamp)
        SELECT * FROM unnest($53::uuid[], $54::text[], $55::int8[]) WHERE (SELECT ok FROM head)),
      inserted_journal AS (
        INSERT INTO ledger_journal (sequence, timestamp_first, timestamp_last, event_count, prev_hash, hash)
        SELECT $38, $39, $40, $41, $42, $43 WHERE (SELECT ok FROM head)),
      updated_head AS (
        UPDATE ledger_head SET sequence = $38, hash = $43, timestamp_last = $44 WHERE singleton AND (SELECT ok FROM head))${joinedSql(joined)}`),
    joined ? [...params, ...joined.values] : params,
  );
  return rows[0]?.ok === true;
}

/**
 * A new transfer id ($14) that already failed raises a unique violation on
 * ledger_transfers_failed_pkey, like a duplicate transfer id: the writer then re-runs the batch
 * with its ids looked up (the state machine answers id_already_failed). Unlike the primary key,
 * this reads the statement's snapshot; a failure committed after it moved the head, so the
 * batch does not apply anyway, and one still in flight in this process is known in memory.
 */
const FAILED_ID_CHECK =
  'ledger_failed_id_check(EXISTS (SELECT 1 FROM ledger_transfers_failed WHERE id = ANY($14::uuid[])))';

const statementNames = new Map<string, NamedStatement>();

/**
 * The batch statements are large (parse and plan cost more than a millisecond) and their text
 * is one of a few shapes (per kind of participant), so each shape is prepared once per
 * connection and reused.
 */
function named(text: string): NamedStatement {
  let statement = statementNames.get(text);
  if (!statement) {
    if (statementNames.size >= 256) statementNames.clear();
    statement = { name: `ledger_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
    statementNames.set(text, statement);
  }
  return statement;
}

/** Placeholders the batch statement itself uses; joined writes number theirs after these. */
export const BATCH_WRITE_PARAMS = 55;

/**
 * A commit participant's writes (JoinedWrite values, src/platform/db/joined-write.ts) as
 * rendered into a batch statement: their CTEs (each guarded by `JOINED_APPLIES`), their
 * acceptances in one SQL boolean, which raises (SQLSTATE TL001) and so rolls the whole
 * statement back when it is false, and the values of their placeholders.
 */
export interface JoinedWrites {
  ctes: string[];
  accepted: string;
  values: unknown[];
}

export const JOINED_APPLIES = '(SELECT ok FROM head)';

export const PARTICIPANT_REFUSED = 'TL001';

function joinedSql(joined: JoinedWrites | null): string {
  if (!joined) return '\n    SELECT ok FROM head';
  const ctes = joined.ctes.map((cte) => `,\n      ${cte}`).join('');
  return `${ctes}\n    SELECT ok, ledger_participant_check(ok, (${joined.accepted}), 0) FROM head`;
}

/**
 * A batch that applies nothing but has a commit participant: the head is locked and checked,
 * and the participants' writes apply only if it is still `expected`.
 */
export async function executeHeadCheckWith(
  q: Queryable,
  expected: Head,
  joined: JoinedWrites,
): Promise<boolean> {
  const { rows } = await q.query<{ ok: boolean }>(
    named(`WITH head AS MATERIALIZED (
        SELECT (sequence = $1 AND hash = $2) AS ok FROM ledger_head WHERE singleton FOR UPDATE)${joinedSql(joined)}`),
    [expected.sequence.toString(), expected.hash, ...joined.values],
  );
  return rows[0]?.ok === true;
}

/** Placeholders of `executeHeadCheckWith`'s own statement. */
export const HEAD_CHECK_PARAMS = 2;

/** Whether the head is still `expected` (for a batch that applied nothing). */
export async function headIs(q: Queryable, expected: Head): Promise<boolean> {
  const { rows } = await q.query<{ sequence: bigint; hash: Buffer }>(
    'SELECT sequence, hash FROM ledger_head WHERE singleton',
  );
  return rows[0]?.sequence === expected.sequence && rows[0].hash.equals(expected.hash);
}

/** The 13 transfer columns as binary arrays, in one pass (the hot part of a batch). */
function transferColumns(transfers: readonly Transfer[]): Buffer[] {
  const column = (element: 'uuid' | 'int8' | 'int4') => new FixedArrayWriter(element, transfers.length);
  // In TRANSFER_COLUMNS order.
  const c = {
    id: column('uuid'),
    debit: column('uuid'),
    credit: column('uuid'),
    amount: column('int8'),
    pending: column('uuid'),
    ledger: column('int4'),
    code: column('int4'),
    flags: column('int4'),
    timeout: column('int4'),
    userData128: column('uuid'),
    userData64: column('int8'),
    userData32: column('int4'),
    timestamp: column('int8'),
  };
  for (const t of transfers) {
    c.id.push(t.id);
    c.debit.push(t.debitAccountId);
    c.credit.push(t.creditAccountId);
    c.amount.push(t.amount);
    c.pending.push(t.pendingId);
    c.ledger.push(t.ledger);
    c.code.push(t.code);
    c.flags.push(t.flags);
    c.timeout.push(t.timeout);
    c.userData128.push(t.userData128);
    c.userData64.push(t.userData64);
    c.userData32.push(t.userData32);
    c.timestamp.push(t.timestamp);
  }
  return Object.values(c).map((writer) => writer.finish());
}

/** The batch's applied events in timestamp order, as the journal hashes them. */
export function journalEvents(effects: Effects): JournalEvent[] {
  const events: JournalEvent[] = [
    ...effects.accountsCreated.map((account) => ({ kind: 'account' as const, account })),
    ...effects.transfersCreated.map((transfer) => ({ kind: 'transfer' as const, transfer })),
    ...effects.expired.map((entry) => ({
      kind: 'expiry' as const,
      pendingId: entry.id,
      timestamp: entry.timestamp,
    })),
    ...effects.failed.map((entry) => ({ kind: 'failure' as const, ...entry })),
  ];
  return events.sort((a, b) => (eventTimestamp(a) < eventTimestamp(b) ? -1 : 1));
}
