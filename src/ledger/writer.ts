import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Clock } from '../platform/clock.ts';
import { type Database, isRetryable, type Queryable } from '../platform/db/database.ts';
import { type JoinedWrite, type RenderedWrite, renderAll } from '../platform/db/joined-write.ts';
import { StatementBuilder } from '../platform/db/statement.ts';
import { AppError } from '../platform/errors.ts';
import { batchHash, eventTimestamp } from './journal.ts';
import type { CreateAccountOutcome, CreateTransferOutcome } from './results.ts';
import { type FailedTransfer, LedgerStateMachine } from './state-machine.ts';
import {
  BATCH_WRITE_PARAMS,
  buildBatchWrite,
  countTransfers,
  executeBatchWrite,
  executeHeadCheckWith,
  HEAD_CHECK_PARAMS,
  type Head,
  headIs,
  JOINED_APPLIES,
  type JoinedWrites,
  journalEvents,
  loadAccounts,
  loadDuePending,
  loadFailedTransfers,
  loadLedgerIds,
  loadTimeline,
  loadTransfers,
  lockHead,
  PARTICIPANT_REFUSED,
} from './store/batch.ts';
import {
  type Account,
  type AccountEvent,
  AccountFlags,
  AMOUNT_MAX,
  type PendingState,
  type Transfer,
  type TransferEvent,
  TransferFlags,
} from './types.ts';

/**
 * Group commit: one writer per process coalesces whatever callers have submitted into one
 * database transaction (up to `batchEventsMax` events), validates it in order with the pure
 * state machine, writes it with one set-based statement, commits once, then answers each
 * caller.
 *
 * Concurrency control is one row: every batch, in every process, locks `ledger_head` first.
 * The head's (sequence, hash) names the exact ledger state, which lets the writer pipeline:
 * while batch N commits, batch N+1 is validated against N's in-memory result and then waits
 * on the head lock; it writes only if the head is exactly the one N produced, and otherwise
 * (N failed, or another process wrote) it is re-run from the database. Results are thus
 * always those of a serial execution.
 */
export type Command =
  | { kind: 'accounts'; events: readonly AccountEvent[] }
  | { kind: 'transfers'; events: readonly TransferEvent[]; participant?: CommitParticipant }
  | { kind: 'expire'; pendingIds: readonly string[] };

/**
 * Another module's writes that must commit atomically with one submission's transfers (a red
 * envelope's grabs with their payouts, a friend transfer's limit charges and wallet row). They
 * are typed building blocks (JoinedWrite), built by the owning module's own code from its own
 * data; the ledger only renders them. In the pipelined path they join the ledger's own batch
 * statement as extra CTEs, so a batch and its participant commit in one round trip and the head
 * lock is never held while this process is busy with something else. (Run unpipelined, they
 * are executed as a statement of their own inside the batch's transaction.)
 *
 * - `writes(outcomes)` gets the submission's outcomes (known in memory before anything is
 *   sent) and returns the writes that commit with them; throwing refuses at once, with the
 *   thrown error (nothing of the submission is written).
 * - Each JoinedWrite renders CTEs whose writes all hold `applies` (true exactly when the batch
 *   applies) and an acceptance; when an acceptance is false at commit the whole statement rolls
 *   back, this submission is rejected with `refusal()` and the rest of the batch is re-run.
 * - `writes` may be called more than once (a speculation that failed is re-run from the
 *   database), so it must depend only on the outcomes it is given.
 *
 * The CTEs run in the statement's snapshot: they do not see the ledger rows the same statement
 * writes, and UPDATEs follow rows to their latest committed version only when the snapshot's
 * version passes their WHERE (compare versions against what `SELECT ... FOR UPDATE` returns,
 * never in the UPDATE's own WHERE). Lock order is head first, then whatever the CTEs lock, so
 * nothing they lock may be held by anyone waiting on the ledger.
 */
export interface CommitParticipant {
  /** The writes that commit with this submission's transfers; throw to refuse at once. */
  writes(outcomes: CreateTransferOutcome[]): JoinedWrite[];
  /** The error the submission is rejected with when an acceptance is false at commit. */
  refusal(): Error;
}

/** The batch's participant refused: its submission is rejected with `cause`. */
class ParticipantRefused extends Error {
  constructor(
    readonly submission: Submission,
    override readonly cause: unknown,
  ) {
    super('ledger: a commit participant refused');
  }

  /** The refusal's SQLSTATE, so a deadlock or serialization failure is retried like any other. */
  get code(): string | undefined {
    return (this.cause as { code?: string } | null)?.code;
  }

  /** Rejects the refused submission; returns the rest of the batch. */
  settle(batch: Submission[]): Submission[] {
    this.submission.reject(this.cause);
    return batch.filter((submission) => submission !== this.submission);
  }
}

export type CommandOutcome = CreateAccountOutcome[] | CreateTransferOutcome[] | string[];

export interface WriterOptions {
  /** Most events committed in one transaction. */
  batchEventsMax?: number;
  /** Most events waiting; beyond it submissions fail fast with `ledger_overloaded`. */
  queueEventsMax?: number;
  /** A submission still queued after this long fails with `ledger_overloaded`. */
  queueWaitMsMax?: number;
  /** Batches in flight at once (1 = no pipelining). */
  pipelineDepth?: number;
  /** Most accounts kept in the in-memory balance cache before it is dropped. */
  cacheAccountsMax?: number;
}

interface Submission {
  command: Command;
  size: number;
  enqueuedAt: number;
  /** Carries imported events (client-set timestamps): batched alone. */
  imported: boolean;
  resolve: (outcome: CommandOutcome) => void;
  reject: (error: unknown) => void;
}

/** A batch validated in memory and ready to write. */
interface Prepared {
  outcomes: CommandOutcome[];
  /** The head this batch was validated against; it may only be written on top of it. */
  base: Head;
  /** The head after this batch. */
  tip: Head;
  /** Statement parameters, or null when nothing was applied. */
  write: unknown[] | null;
  accounts: Map<string, Account>;
  transfers: Map<string, Transfer>;
  pending: Map<string, PendingState>;
  createdAccountIds: string[];
  /** Transfer ids this batch burned (transient failures). */
  failed: FailedTransfer[];
  /**
   * A lower bound on the earliest deadline of the pending transfers after this batch (null:
   * none has a timeout), so the next batch looks for due ones only once one may be due.
   */
  nextDeadline: bigint | null;
}

/** Most due pending transfers a batch expires before its own events. */
export const DUE_PER_BATCH_MAX = 4096;

/** After a speculation fails, this many batches run unpipelined (another process is active). */
const SPECULATION_PAUSE_BATCHES = 4;

/** A speculative batch in flight: `sent` once its statement is on the wire (or it gave up). */
interface InFlight {
  sent: Promise<void>;
  done: Promise<void>;
  /** The head this batch leads to: a batch may only be prepared on top of it. */
  tip: Head | null;
}
const SETTLED: InFlight = { sent: Promise.resolve(), done: Promise.resolve(), tip: null };

export class GroupCommitWriter {
  private readonly queue: Submission[] = [];
  private queuedEvents = 0;
  private running: Promise<void> | null = null;
  private closed = false;
  private ledgerIds: Set<number> | null = null;
  private readonly options: Required<WriterOptions>;

  // Speculative state: the ledger after every batch prepared so far (committed or in flight).
  private tip: Head | null = null;
  private readonly cache = new Map<string, Account>();
  /** Transfers and pending states written by batches still in flight, by id. */
  private readonly inflightTransfers = new Map<string, Transfer>();
  private readonly inflightPending = new Map<string, PendingState>();
  /** Transfer ids burned by batches still in flight. */
  private readonly inflightFailed = new Map<string, FailedTransfer>();
  /** Accounts created by batches not yet committed: later batches must upsert, not update, them. */
  private readonly inflightCreatedAccounts = new Map<string, Prepared>();
  private epoch = 0;
  private speculationPaused = 0;
  /**
   * Prepared.nextDeadline of the last batch prepared, with the head it leads to. A batch built
   * on exactly that head (pipelined, or under the lock when no other process wrote since)
   * needs no lookup while the deadline lies ahead; any other head means another state.
   */
  private deadlineBound: { head: Head; nextDeadline: bigint | null } | null = null;

  /** Batches committed by this writer, and batches re-run after a failed speculation. */
  readonly stats = { batchesCommitted: 0, speculationsFailed: 0 };

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    options: WriterOptions = {},
  ) {
    this.options = {
      batchEventsMax: options.batchEventsMax ?? 2048,
      queueEventsMax: options.queueEventsMax ?? 262_144,
      queueWaitMsMax: options.queueWaitMsMax ?? 10_000,
      pipelineDepth: options.pipelineDepth ?? 2,
      cacheAccountsMax: options.cacheAccountsMax ?? 200_000,
    };
  }

  get batchesCommitted(): number {
    return this.stats.batchesCommitted;
  }

  submit(command: Command): Promise<CommandOutcome> {
    if (this.closed) {
      return Promise.reject(new AppError('unavailable', 'ledger_closed', 'The ledger writer is closed.'));
    }
    const size = commandSize(command);
    if (this.queuedEvents + size > this.options.queueEventsMax) {
      return Promise.reject(
        new AppError(
          'unavailable',
          'ledger_overloaded',
          'The ledger is overloaded; retry shortly with the same ids.',
          {
            queuedEvents: this.queuedEvents,
          },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({
        command,
        size,
        enqueuedAt: performance.now(),
        imported: hasImported(command),
        resolve,
        reject,
      });
      this.queuedEvents += size;
      // Start on the next turn of the event loop, so callers submitting together share a batch.
      this.running ??= new Promise<void>((started) => setImmediate(started)).then(() => this.drainQueue());
    });
  }

  /** Stops accepting submissions and waits for everything queued to commit. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  private async drainQueue(): Promise<void> {
    const inflight: InFlight[] = [];
    try {
      while (this.queue.length > 0 || inflight.length > 0) {
        if (this.queue.length === 0 || inflight.length >= this.options.pipelineDepth) {
          await inflight.shift()!.done;
          continue;
        }
        const batch = this.takeBatch();
        if (batch.length === 0) continue;
        const previous = inflight[inflight.length - 1] ?? SETTLED;
        // Speculate only on top of the batch still in flight. After a failed speculation the tip
        // can be an earlier batch's re-run while a later one still waits for its own re-run; a
        // batch prepared on that tip would miss the later batch's effects (its burned ids, say)
        // and could commit ahead of it.
        const onTopOfInflight =
          previous === SETTLED ||
          (this.tip !== null && previous.tip !== null && sameHead(previous.tip, this.tip));
        const prepared = onTopOfInflight
          ? await this.prepareSpeculatively(batch.map((submission) => submission.command))
          : null;
        if (prepared === null) {
          // Unpipelined: wait for everything in flight, then run from the database.
          await Promise.all(inflight.splice(0).map((entry) => entry.done));
          await this.commitOrSplit(batch);
        } else {
          let markSent = () => {};
          const sent = new Promise<void>((resolve) => {
            markSent = resolve;
          });
          const done = this.finishSpeculative(batch, prepared, previous, markSent).finally(markSent);
          inflight.push({ sent, done, tip: prepared.tip });
        }
      }
    } finally {
      this.running = null;
    }
  }

  private takeBatch(): Submission[] {
    const batch: Submission[] = [];
    let events = 0;
    let participants = 0;
    const now = performance.now();
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && events + next.size > this.options.batchEventsMax) break;
      // One participant per batch: its writes may touch the same rows as another's, and two
      // CTEs of one statement cannot see each other's writes.
      if (participantOf(next) && participants++ > 0) break;
      // An imported command gets a batch of its own: its events are dated in the past but applied
      // after the batch's due expiries, and verify replays balance history in that order only
      // when nothing else shares the batch.
      if (batch.length > 0 && (next.imported || batch[0]!.imported)) break;
      this.queue.shift();
      this.queuedEvents -= next.size;
      if (now - next.enqueuedAt > this.options.queueWaitMsMax) {
        next.reject(
          new AppError('unavailable', 'ledger_overloaded', 'The ledger did not reach this request in time.'),
        );
        continue;
      }
      batch.push(next);
      events += next.size;
    }
    return batch;
  }

  /** Validates a batch on top of the in-memory tip; null when there is no trusted tip. */
  private async prepareSpeculatively(commands: readonly Command[]): Promise<Prepared | null> {
    if (this.tip === null || this.options.pipelineDepth < 2) return null;
    // Imported events are checked against the stored timeline: only under the head lock.
    if (commands.some(hasImported)) return null;
    if (this.speculationPaused > 0) {
      this.speculationPaused--;
      return null;
    }
    const epoch = this.epoch;
    try {
      const prepared = await this.prepare(this.db, commands, this.tip, true, false);
      if (epoch !== this.epoch) return null;
      this.publish(prepared);
      return prepared;
    } catch {
      return null;
    }
  }

  /** Makes a prepared batch the new tip, so the next batch can build on it. */
  private publish(prepared: Prepared): void {
    this.tip = prepared.tip;
    this.deadlineBound = { head: prepared.tip, nextDeadline: prepared.nextDeadline };
    for (const [id, account] of prepared.accounts) this.cache.set(id, account);
    for (const [id, transfer] of prepared.transfers) this.inflightTransfers.set(id, transfer);
    for (const [id, state] of prepared.pending) this.inflightPending.set(id, state);
    for (const id of prepared.createdAccountIds) this.inflightCreatedAccounts.set(id, prepared);
    for (const failed of prepared.failed) this.inflightFailed.set(failed.id, failed);
    if (this.cache.size > this.options.cacheAccountsMax) this.invalidate();
  }

  private invalidate(): void {
    this.epoch++;
    this.tip = null;
    this.cache.clear();
    this.inflightTransfers.clear();
    this.inflightPending.clear();
    this.inflightCreatedAccounts.clear();
    this.inflightFailed.clear();
  }

  private async finishSpeculative(
    batch: Submission[],
    prepared: Prepared,
    previous: InFlight,
    markSent: () => void,
  ): Promise<void> {
    let committed = false;
    let duplicateId = false;
    let refused: ParticipantRefused | null = null;
    try {
      // Participants' writes join the batch statement. One refusing on the outcomes alone fails
      // the batch before anything is sent.
      const joined = joinParticipant(
        batch,
        prepared.outcomes,
        prepared.write ? BATCH_WRITE_PARAMS : HEAD_CHECK_PARAMS,
      );
      // Send behind the previous batch, so batches normally reach the head lock in order.
      await previous.sent;
      const sending = sendWrite(this.db, prepared, joined);
      markSent();
      committed = await sending;
    } catch (error) {
      if (error instanceof ParticipantRefused && !isRetryable(error)) refused = error;
      else duplicateId = isDuplicateTransferId(error);
    }
    if (committed) {
      this.stats.batchesCommitted++;
      for (const [id, transfer] of prepared.transfers) {
        if (this.inflightTransfers.get(id) === transfer) this.inflightTransfers.delete(id);
      }
      for (const [id, state] of prepared.pending) {
        if (this.inflightPending.get(id) === state) this.inflightPending.delete(id);
      }
      for (const id of prepared.createdAccountIds) {
        if (this.inflightCreatedAccounts.get(id) === prepared) this.inflightCreatedAccounts.delete(id);
      }
      for (const failed of prepared.failed) {
        if (this.inflightFailed.get(failed.id) === failed) this.inflightFailed.delete(failed.id);
      }
      batch.forEach((submission, index) => {
        submission.resolve(prepared.outcomes[index]!);
      });
      return;
    }
    this.invalidate();
    if (!duplicateId && !refused) {
      this.stats.speculationsFailed++;
      this.speculationPaused = SPECULATION_PAUSE_BATCHES;
    }
    await previous.done;
    await this.commitOrSplit(refused ? refused.settle(batch) : batch, duplicateId);
  }

  /**
   * A batch that fails for a non-retryable reason is re-run per caller, so one cannot sink the
   * rest; a participant that refuses has its own submission rejected and the rest re-run.
   */
  private async commitOrSplit(batch: Submission[], lookUpExisting = false): Promise<void> {
    for (;;) {
      if (batch.length === 0) return;
      try {
        const outcomes = await this.commitFromDatabase(batch, lookUpExisting);
        batch.forEach((submission, index) => {
          submission.resolve(outcomes[index]!);
        });
        return;
      } catch (error) {
        if (error instanceof ParticipantRefused) {
          batch = error.settle(batch);
          continue;
        }
        if (batch.length === 1) {
          batch[0]!.reject(error);
          return;
        }
        for (const submission of batch) await this.commitOrSplit([submission], lookUpExisting);
        return;
      }
    }
  }

  /** The unpipelined path: lock the head, load everything from the database, write, commit. */
  private async commitFromDatabase(
    batch: readonly Submission[],
    lookUpFirst: boolean,
  ): Promise<CommandOutcome[]> {
    const commands = batch.map((submission) => submission.command);
    // The first attempt normally assumes new transfer ids (the common case) and skips looking
    // them up; a duplicate id then fails the insert and the batch re-runs with the lookup.
    for (let lookUpExisting = lookUpFirst; ; lookUpExisting = true) {
      this.invalidate();
      try {
        const committed = await this.db.transaction(async (tx) => {
          const head = await lockHead(tx);
          const prepared = await this.prepare(tx, commands, head, false, lookUpExisting);
          if (prepared.write && !(await executeBatchWrite(tx, prepared.write))) {
            throw new Error('ledger: the head moved while this batch held its lock');
          }
          await runParticipant(tx, batch, prepared.outcomes);
          return prepared;
        });
        this.stats.batchesCommitted++;
        this.tip = committed.tip;
        this.deadlineBound = { head: committed.tip, nextDeadline: committed.nextDeadline };
        for (const [id, account] of committed.accounts) this.cache.set(id, account);
        return committed.outcomes;
      } catch (error) {
        this.invalidate();
        if (!lookUpExisting && isDuplicateTransferId(error)) continue;
        throw error;
      }
    }
  }

  /**
   * Loads what the batch needs (from the speculative state first when `useCache`), runs the
   * state machine, and builds the write. Reads made here before the head lock are safe: the
   * head check at write time rejects the batch if anything changed since.
   */
  private async prepare(
    q: Queryable,
    commands: readonly Command[],
    base: Head,
    useCache: boolean,
    lookUpExisting: boolean,
  ): Promise<Prepared> {
    const { accountIds, transferIds, pendingIds } = collectIds(commands);
    const clockNs = BigInt(this.clock.now().getTime()) * 1_000_000n;
    let timestamp = clockNs > base.timestampLast ? clockNs : base.timestampLast + 1n;
    // A pending transfer past its deadline is expired for this batch's every event, whether or
    // not the expiry job has run: the batch expires the due ones first (TigerBeetle's pulse).
    // Looked up before the transfers below, so a hold resolved by a batch in flight is seen so.
    const { due, nextDeadline } = await this.duePending(q, timestamp, base, useCache);
    for (const id of due) {
      pendingIds.add(id);
      transferIds.add(id);
    }
    const transfers = new Map<string, Transfer>();
    const pending = new Map<string, PendingState>();
    const toLoad: string[] = [];
    for (const id of lookUpExisting ? transferIds : pendingIds) {
      const transfer = useCache ? this.inflightTransfers.get(id) : undefined;
      if (!transfer) {
        toLoad.push(id);
        continue;
      }
      transfers.set(id, transfer);
      const state = this.inflightPending.get(id);
      if (state) pending.set(id, state);
    }
    if (useCache) {
      // Ids created by a batch still in flight are existing transfers too.
      for (const id of transferIds) {
        const transfer = this.inflightTransfers.get(id);
        if (transfer && !transfers.has(id)) transfers.set(id, transfer);
      }
    }
    // Burned ids: those of batches in flight, and (when ids are looked up) the stored ones.
    // In-flight ones are read first: a batch that commits during the database read leaves the
    // in-flight map when it commits, so reading the map after the query could miss it in both.
    const burnedInFlight = new Map<string, FailedTransfer>();
    if (useCache)
      for (const id of transferIds) {
        const burned = this.inflightFailed.get(id);
        if (burned) burnedInFlight.set(id, burned);
      }
    const failed = lookUpExisting ? await loadFailedTransfers(q, [...transferIds]) : new Map();
    for (const [id, burned] of burnedInFlight) failed.set(id, burned);
    const loaded = await loadTransfers(q, toLoad);
    for (const [id, transfer] of loaded.transfers) transfers.set(id, transfer);
    for (const [id, state] of loaded.pending) if (!pending.has(id)) pending.set(id, state);
    for (const id of pendingIds) {
      const target = transfers.get(id);
      if (target) accountIds.add(target.debitAccountId).add(target.creditAccountId);
    }

    const accounts = new Map<string, Account>();
    const missing: string[] = [];
    for (const id of accountIds) {
      const cached = useCache ? this.cache.get(id) : undefined;
      if (cached) accounts.set(id, cached);
      else missing.push(id);
    }
    for (const [id, account] of await loadAccounts(q, missing)) accounts.set(id, account);
    if (this.ledgerIds === null || commands.some((command) => command.kind === 'accounts')) {
      this.ledgerIds = await loadLedgerIds(q);
    }

    const timeline = commands.some(hasImported)
      ? await loadTimeline(q, importedTimestamps(commands))
      : undefined;
    const machine = new LedgerStateMachine({
      ledgers: this.ledgerIds,
      accounts,
      transfers,
      pending,
      failed,
      timeline,
    });
    // Expired before the batch's events.
    const expiredFirst = new Set(due.length > 0 ? machine.expirePending(due, timestamp) : []);
    timestamp += BigInt(due.length);
    const outcomes: CommandOutcome[] = [];
    for (const command of commands) {
      if (command.kind === 'accounts') outcomes.push(machine.createAccounts(command.events, timestamp));
      else if (command.kind === 'transfers')
        outcomes.push(machine.createTransfers(command.events, timestamp));
      else {
        // The first job's command reports every expiry of its batch, so jobs' counts add up.
        const claimed = [...expiredFirst];
        expiredFirst.clear();
        outcomes.push([...claimed, ...machine.expirePending(command.pendingIds, timestamp)]);
      }
      timestamp += BigInt(commandSize(command));
    }

    if (!lookUpExisting && (await failedEventsMayExist(q, commands, outcomes))) {
      // A refused event might really be a resubmission: decide with the stored transfers.
      return this.prepare(q, commands, base, useCache, true);
    }

    const effects = machine.effects;
    let deadlineAfter = nextDeadline;
    for (const { state } of effects.pendingCreated) {
      if (state.expiresAt !== null && (deadlineAfter === null || state.expiresAt < deadlineAfter))
        deadlineAfter = state.expiresAt;
    }
    const changedTransfers = new Map(effects.transfersCreated.map((transfer) => [transfer.id, transfer]));
    const changedPending = new Map<string, PendingState>();
    for (const entry of [...effects.pendingCreated, ...effects.pendingResolved])
      changedPending.set(entry.id, pending.get(entry.id)!);
    for (const id of changedPending.keys())
      if (!changedTransfers.has(id)) changedTransfers.set(id, transfers.get(id)!);
    const events = journalEvents(effects);
    if (events.length === 0) {
      return {
        outcomes,
        base,
        tip: base,
        write: null,
        accounts,
        transfers: changedTransfers,
        pending: changedPending,
        createdAccountIds: [],
        failed: [],
        nextDeadline: deadlineAfter,
      };
    }
    const hash = batchHash(base.hash, events);
    const tip: Head = { sequence: base.sequence + 1n, hash, timestampLast: timestamp - 1n };
    const createdAccountIds = effects.accountsCreated.map((account) => account.id);
    const upsert = new Set(createdAccountIds);
    for (const id of effects.accountsChanged.keys()) if (this.inflightCreatedAccounts.has(id)) upsert.add(id);
    const write = buildBatchWrite(effects, accounts, pending, upsert, {
      sequence: tip.sequence,
      timestampFirst: eventTimestamp(events[0]!),
      timestampLast: eventTimestamp(events[events.length - 1]!),
      eventCount: events.length,
      previousHash: base.hash,
      hash,
      headTimestampLast: tip.timestampLast,
      expected: base,
    });
    return {
      outcomes,
      base,
      tip,
      write,
      accounts,
      transfers: changedTransfers,
      pending: changedPending,
      createdAccountIds,
      failed: effects.failed,
      nextDeadline: deadlineAfter,
    };
  }

  /**
   * The pending transfers due at `timestamp`, and a lower bound on the next deadline. Without a
   * query while the tip's bound says none is due; pending transfers of batches still in flight
   * (not yet in the database) are checked in memory.
   */
  private async duePending(
    q: Queryable,
    timestamp: bigint,
    base: Head,
    useCache: boolean,
  ): Promise<{ due: string[]; nextDeadline: bigint | null }> {
    const bound = this.deadlineBound;
    const known = bound && sameHead(bound.head, base) ? bound.nextDeadline : undefined;
    if (known === null || (known !== undefined && known > timestamp)) return { due: [], nextDeadline: known };
    // Batches still in flight first: one that commits while the query runs is then either seen
    // here or (committed before the query began) in the query's snapshot.
    const due = new Set<string>();
    let inflightNext: bigint | null = null;
    if (useCache) {
      for (const [id, state] of this.inflightPending) {
        if (state.status !== 'pending' || state.expiresAt === null) continue;
        if (state.expiresAt <= timestamp) due.add(id);
        else if (inflightNext === null || state.expiresAt < inflightNext) inflightNext = state.expiresAt;
      }
    }
    const loaded = await loadDuePending(q, timestamp, DUE_PER_BATCH_MAX);
    for (const id of loaded.due) due.add(id);
    let nextDeadline = loaded.nextDeadline;
    if (inflightNext !== null && (nextDeadline === null || inflightNext < nextDeadline))
      nextDeadline = inflightNext;
    return { due: [...due], nextDeadline };
  }
}

function sameHead(a: Head, b: Head): boolean {
  return a.sequence === b.sequence && a.hash.equals(b.hash);
}

function hasImported(command: Command): boolean {
  if (command.kind === 'expire') return false;
  const flag = command.kind === 'accounts' ? AccountFlags.imported : TransferFlags.imported;
  return command.events.some((event) => ((event.flags ?? 0) & flag) !== 0);
}

function importedTimestamps(commands: readonly Command[]): bigint[] {
  const timestamps: bigint[] = [];
  for (const command of commands) {
    if (command.kind === 'expire') continue;
    // Only those in range: the others are refused before they are compared with anything.
    for (const event of command.events)
      if (event.timestamp && event.timestamp > 0n && event.timestamp <= AMOUNT_MAX)
        timestamps.push(event.timestamp);
  }
  return timestamps;
}

/**
 * The first attempt skips looking up event ids. An accepted event that already exists then
 * fails the insert; a refused one would not, so refused ids are checked here.
 */
async function failedEventsMayExist(q: Queryable, commands: readonly Command[], outcomes: CommandOutcome[]) {
  const refused: string[] = [];
  commands.forEach((command, index) => {
    if (command.kind !== 'transfers') return;
    for (const outcome of outcomes[index] as CreateTransferOutcome[]) {
      if (outcome.result !== 'ok' && outcome.result !== 'exists')
        refused.push(command.events[outcome.index]!.id);
    }
  });
  return refused.length > 0 && (await countTransfers(q, refused)) > 0;
}

/**
 * The batch's write (with its participant's writes joined), or a check that the head is still
 * its base when nothing was applied. One statement, outside any explicit transaction: one
 * round trip. A participant's refusal is thrown as ParticipantRefused.
 */
async function sendWrite(db: Database, prepared: Prepared, joined: Joined | null): Promise<boolean> {
  try {
    if (prepared.write) return await executeBatchWrite(db, prepared.write, joined?.writes ?? null);
    return joined
      ? await executeHeadCheckWith(db, prepared.base, joined.writes)
      : await headIs(db, prepared.base);
  } catch (error) {
    if (!joined || (error as { code?: string }).code !== PARTICIPANT_REFUSED) throw error;
    throw new ParticipantRefused(joined.submission, joined.participant.refusal());
  }
}

interface Joined {
  writes: JoinedWrites;
  submission: Submission;
  participant: CommitParticipant;
}

/**
 * The batch's participant's writes, rendered with placeholders numbered after the batch
 * statement's own; null when the batch has no participant or its writes are empty.
 */
function joinParticipant(
  batch: readonly Submission[],
  outcomes: readonly CommandOutcome[],
  offset: number,
): Joined | null {
  const index = batch.findIndex(participantOf);
  if (index < 0) return null;
  const submission = batch[index]!;
  const participant = participantOf(submission)!;
  const sql = new StatementBuilder(offset);
  let rendered: RenderedWrite;
  try {
    rendered = renderAll(participant.writes(outcomes[index] as CreateTransferOutcome[]), sql, JOINED_APPLIES);
  } catch (cause) {
    throw new ParticipantRefused(submission, cause);
  }
  if (isEmpty(rendered)) return null;
  return {
    writes: { ctes: rendered.ctes, accepted: rendered.accepted, values: sql.values },
    submission,
    participant,
  };
}

function participantOf(submission: Submission): CommitParticipant | undefined {
  return submission.command.kind === 'transfers' ? submission.command.participant : undefined;
}

/** Writes that write nothing and accept always (e.g. every transfer of the submission failed). */
function isEmpty(rendered: RenderedWrite): boolean {
  return rendered.ctes.length === 0 && rendered.accepted === 'true';
}

/**
 * Runs the batch's participant inside its transaction (the unpipelined path), as a statement
 * of its own; a refusal rolls the batch back.
 */
async function runParticipant(
  tx: pg.PoolClient,
  batch: readonly Submission[],
  outcomes: readonly CommandOutcome[],
): Promise<void> {
  const index = batch.findIndex(participantOf);
  if (index < 0) return;
  const submission = batch[index]!;
  const participant = participantOf(submission)!;
  let refusal: unknown;
  try {
    const sql = new StatementBuilder();
    const rendered = renderAll(participant.writes(outcomes[index] as CreateTransferOutcome[]), sql, 'true');
    if (isEmpty(rendered)) return;
    const ctes = rendered.ctes.length > 0 ? `WITH ${rendered.ctes.join(',\n')} ` : '';
    const { rows } = await tx.query<{ accepted: boolean | null }>(
      `${ctes}SELECT (${rendered.accepted}) AS accepted`,
      sql.values,
    );
    if (rows[0]?.accepted === true) return;
    refusal = participant.refusal();
  } catch (cause) {
    refusal = cause;
  }
  throw new ParticipantRefused(submission, refusal);
}

function commandSize(command: Command): number {
  return Math.max(1, command.kind === 'expire' ? command.pendingIds.length : command.events.length);
}

/**
 * An insert of a transfer id that already exists (it may trip the pending table's key first),
 * or that already failed (ledger_transfers_failed: the batch statement's check, or the insert).
 */
function isDuplicateTransferId(error: unknown): boolean {
  const { code, constraint } = error as { code?: string; constraint?: string };
  return (
    code === '23505' &&
    (constraint === 'ledger_transfers_pkey' ||
      constraint === 'ledger_pending_pkey' ||
      constraint === 'ledger_transfers_failed_pkey')
  );
}

function collectIds(commands: readonly Command[]) {
  const accountIds = new Set<string>();
  const transferIds = new Set<string>();
  const pendingIds = new Set<string>();
  for (const command of commands) {
    if (command.kind === 'accounts') {
      for (const event of command.events) accountIds.add(event.id);
    } else if (command.kind === 'expire') {
      for (const id of command.pendingIds) {
        pendingIds.add(id);
        transferIds.add(id);
      }
    } else {
      for (const event of command.events) {
        transferIds.add(event.id);
        if (event.debitAccountId) accountIds.add(event.debitAccountId);
        if (event.creditAccountId) accountIds.add(event.creditAccountId);
        const flags = event.flags ?? 0;
        if (
          event.pendingId &&
          flags & (TransferFlags.post_pending_transfer | TransferFlags.void_pending_transfer)
        ) {
          pendingIds.add(event.pendingId);
          transferIds.add(event.pendingId);
        }
      }
    }
  }
  return { accountIds, transferIds, pendingIds };
}
