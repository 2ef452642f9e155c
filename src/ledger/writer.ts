import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Clock } from '../platform/clock.ts';
import type { Database } from '../platform/db/database.ts';
import { AppError } from '../platform/errors.ts';
import { batchHash, eventTimestamp } from './journal.ts';
import type { CreateAccountOutcome, CreateTransferOutcome } from './results.ts';
import { LedgerStateMachine } from './state-machine.ts';
import {
  journalEvents,
  loadLedgerIds,
  loadPendingAccountIds,
  loadTransfers,
  lockAccounts,
  lockHead,
  writeBatch,
} from './store.ts';
import { type AccountEvent, type TransferEvent, TransferFlags } from './types.ts';

/**
 * Group commit: one writer per process coalesces whatever callers have submitted into one
 * database transaction (up to `batchEventsMax` events), validates it in order with the pure
 * state machine, writes it with set-based statements, commits once, then answers each caller.
 * The whole batch is retried on serialization failure or deadlock.
 */
export type Command =
  | { kind: 'accounts'; events: readonly AccountEvent[] }
  | { kind: 'transfers'; events: readonly TransferEvent[] }
  | { kind: 'expire'; pendingIds: readonly string[] };

export type CommandOutcome = CreateAccountOutcome[] | CreateTransferOutcome[] | string[];

export interface WriterOptions {
  /** Most events committed in one transaction. */
  batchEventsMax?: number;
  /** Most events waiting; beyond it submissions fail fast with `ledger_overloaded`. */
  queueEventsMax?: number;
  /** A submission still queued after this long fails with `ledger_overloaded`. */
  queueWaitMsMax?: number;
  /** Attempts per batch on serialization failure or deadlock. */
  attemptsMax?: number;
}

interface Submission {
  command: Command;
  size: number;
  enqueuedAt: number;
  resolve: (outcome: CommandOutcome) => void;
  reject: (error: unknown) => void;
}

export class GroupCommitWriter {
  private readonly queue: Submission[] = [];
  private queuedEvents = 0;
  private running: Promise<void> | null = null;
  private closed = false;
  private ledgerIds: Set<number> | null = null;
  private readonly batchEventsMax: number;
  private readonly queueEventsMax: number;
  private readonly queueWaitMsMax: number;
  private readonly attemptsMax: number;
  /** Batches committed by this writer (for metrics and tests). */
  batchesCommitted = 0;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    options: WriterOptions = {},
  ) {
    this.batchEventsMax = options.batchEventsMax ?? 8190;
    this.queueEventsMax = options.queueEventsMax ?? 262_144;
    this.queueWaitMsMax = options.queueWaitMsMax ?? 10_000;
    this.attemptsMax = options.attemptsMax ?? 8;
  }

  submit(command: Command): Promise<CommandOutcome> {
    if (this.closed)
      return Promise.reject(new AppError('unavailable', 'ledger_closed', 'The ledger writer is closed.'));
    const size = Math.max(1, command.kind === 'expire' ? command.pendingIds.length : command.events.length);
    if (this.queuedEvents + size > this.queueEventsMax) {
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
      this.queue.push({ command, size, enqueuedAt: performance.now(), resolve, reject });
      this.queuedEvents += size;
      this.running ??= this.drainQueue();
    });
  }

  /** Stops accepting submissions and waits for everything queued to commit. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  private async drainQueue(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        if (batch.length > 0) await this.commitOrSplit(batch);
      }
    } finally {
      this.running = null;
    }
  }

  private takeBatch(): Submission[] {
    const batch: Submission[] = [];
    let events = 0;
    const now = performance.now();
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && events + next.size > this.batchEventsMax) break;
      this.queue.shift();
      this.queuedEvents -= next.size;
      if (now - next.enqueuedAt > this.queueWaitMsMax) {
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

  /** A batch that fails for a non-retryable reason is re-run per caller, so one cannot sink the rest. */
  private async commitOrSplit(batch: Submission[]): Promise<void> {
    try {
      const outcomes = await this.commit(batch.map((submission) => submission.command));
      batch.forEach((submission, index) => {
        submission.resolve(outcomes[index]!);
      });
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      for (const submission of batch) await this.commitOrSplit([submission]);
    }
  }

  private async commit(commands: readonly Command[]): Promise<CommandOutcome[]> {
    const outcomes = await this.db.transaction((tx) => this.runBatch(tx, commands), {
      maxAttempts: this.attemptsMax,
    });
    this.batchesCommitted++;
    return outcomes;
  }

  private async runBatch(tx: pg.PoolClient, commands: readonly Command[]): Promise<CommandOutcome[]> {
    const { accountIds, transferIds, pendingIds } = collectIds(commands);
    for (const id of await loadPendingAccountIds(tx, [...pendingIds])) accountIds.add(id);
    const accounts = await lockAccounts(tx, [...accountIds].sort());
    const head = await lockHead(tx);
    const { transfers, pending } = await loadTransfers(tx, [...transferIds]);
    if (commands.some((command) => command.kind === 'accounts') || this.ledgerIds === null) {
      this.ledgerIds = await loadLedgerIds(tx);
    }

    const machine = new LedgerStateMachine({ ledgers: this.ledgerIds, accounts, transfers, pending });
    const clockNs = BigInt(this.clock.now().getTime()) * 1_000_000n;
    const timestampFirst = clockNs > head.timestampLast ? clockNs : head.timestampLast + 1n;
    let timestamp = timestampFirst;
    const outcomes: CommandOutcome[] = [];
    for (const command of commands) {
      if (command.kind === 'accounts') outcomes.push(machine.createAccounts(command.events, timestamp));
      else if (command.kind === 'transfers')
        outcomes.push(machine.createTransfers(command.events, timestamp));
      else outcomes.push(machine.expirePending(command.pendingIds, timestamp));
      timestamp += BigInt(
        Math.max(1, command.kind === 'expire' ? command.pendingIds.length : command.events.length),
      );
    }

    const events = journalEvents(machine.effects);
    if (events.length === 0) return outcomes;
    await writeBatch(tx, machine.effects, accounts, pending, {
      sequence: head.sequence + 1n,
      timestampFirst: eventTimestamp(events[0]!),
      timestampLast: eventTimestamp(events[events.length - 1]!),
      eventCount: events.length,
      previousHash: head.hash,
      hash: batchHash(head.hash, events),
      headTimestampLast: timestamp - 1n,
    });
    return outcomes;
  }
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
