import { hostname } from 'node:os';
import { Cron } from 'croner';
import type pg from 'pg';
import type { Clock } from '../clock.ts';
import type { Database, Queryable } from '../db/database.ts';
import { uuidv7 } from '../ids.ts';
import type { Logger } from '../log.ts';

/**
 * Background jobs and outbox on one table, claimed with FOR UPDATE SKIP LOCKED.
 *
 * Two kinds of handler:
 * - transactional: the handler's database work and the job's completion commit in one
 *   transaction holding the job row, so a crash mid-job rolls everything back and the next
 *   worker redoes it from scratch: nothing twice, nothing lost.
 * - leased: for work that calls the outside world (a bank). The claim is a lease; a worker
 *   that dies leaves it to expire and another worker retries, so handlers must be
 *   idempotent (deterministic ids).
 * Failures back off exponentially; after max attempts a job is 'dead' and waits for an
 * operator. Periodic jobs are enqueued with unique_key "<schedule>@<time>", so several
 * processes enqueue each occurrence once.
 */
export interface Job<P = Record<string, unknown>> {
  id: string;
  kind: string;
  payload: P;
  attempts: number;
  runAt: Date;
}

export interface JobContext {
  /** The transaction holding the job row (transactional handlers only). */
  tx: pg.PoolClient | null;
  clock: Clock;
  log: Logger;
}

export interface HandlerOptions {
  mode?: 'transactional' | 'leased';
  maxAttempts?: number;
  leaseMs?: number;
  /** Backoff before attempt n+1; default 2^n seconds capped at 10 minutes. */
  backoffMs?: (attempts: number) => number;
}

type Handler = { run: (job: Job, context: JobContext) => Promise<void>; options: Required<HandlerOptions> };

export interface EnqueueOptions {
  runAt?: Date;
  uniqueKey?: string;
  maxAttempts?: number;
  /** Enqueue inside the caller's transaction (outbox): the job exists iff that commits. */
  tx?: pg.PoolClient;
}

export interface Schedule {
  name: string;
  /** Cron expression, evaluated in `timeZone`. */
  cron: string;
  kind: string;
  payload?: Record<string, unknown>;
}

const defaultBackoff = (attempts: number) => Math.min(600_000, 1000 * 2 ** attempts);

export class JobQueue {
  private readonly handlers = new Map<string, Handler>();
  private readonly schedules: Schedule[] = [];
  private readonly workerId = `${hostname()}:${process.pid}:${uuidv7().slice(-8)}`;
  private running = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private idle: Array<() => void> = [];

  constructor(
    private readonly deps: {
      db: Database;
      clock: Clock;
      log: Logger;
      timeZone: string;
      concurrency?: number;
      pollMs?: number;
    },
  ) {}

  register<P>(
    kind: string,
    run: (job: Job<P>, context: JobContext) => Promise<void>,
    options: HandlerOptions = {},
  ): void {
    if (this.handlers.has(kind)) throw new Error(`Job kind ${kind} registered twice`);
    this.handlers.set(kind, {
      run: run as Handler['run'],
      options: {
        mode: options.mode ?? 'transactional',
        maxAttempts: options.maxAttempts ?? 10,
        leaseMs: options.leaseMs ?? 60_000,
        backoffMs: options.backoffMs ?? defaultBackoff,
      },
    });
  }

  schedule(schedule: Schedule): void {
    new Cron(schedule.cron, { timezone: this.deps.timeZone, paused: true }); // validates the expression
    this.schedules.push(schedule);
  }

  async enqueue(
    kind: string,
    payload: Record<string, unknown> = {},
    options: EnqueueOptions = {},
  ): Promise<string | null> {
    const now = this.deps.clock.now();
    const id = uuidv7(now.getTime());
    const maxAttempts = options.maxAttempts ?? this.handlers.get(kind)?.options.maxAttempts ?? 10;
    const executor: Queryable = options.tx ?? this.deps.db;
    const result = await executor.query(
      `INSERT INTO platform_jobs (id, kind, payload, state, run_at, max_attempts, unique_key, created_at)
       VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7) ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING RETURNING id`,
      [id, kind, JSON.stringify(payload), options.runAt ?? now, maxAttempts, options.uniqueKey ?? null, now],
    );
    return result.rowCount === 1 ? id : null;
  }

  /** Enqueues the next occurrence of every schedule (idempotent across processes). */
  async enqueueSchedules(): Promise<void> {
    const now = this.deps.clock.now();
    for (const schedule of this.schedules) {
      const next = new Cron(schedule.cron, { timezone: this.deps.timeZone, paused: true }).nextRun(now);
      if (!next) continue;
      await this.enqueue(
        schedule.kind,
        { ...schedule.payload, scheduled_for: next.toISOString() },
        {
          runAt: next,
          uniqueKey: `${schedule.name}@${next.toISOString()}`,
        },
      );
    }
  }

  /** Claims and runs ready jobs until none is ready; returns how many ran. For tests and CLI. */
  async drain(limit = 1000): Promise<number> {
    let ran = 0;
    while (ran < limit) {
      const claimed = await this.claim(Math.min(this.deps.concurrency ?? 4, limit - ran));
      if (claimed.length === 0) break;
      await Promise.all(claimed.map((job) => this.execute(job)));
      ran += claimed.length;
    }
    return ran;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = async () => {
      if (this.stopped) return;
      try {
        await this.enqueueSchedules();
        await this.poll();
      } catch (error) {
        this.deps.log.error({ err: error }, 'job poll failed');
      }
      if (!this.stopped) this.timer = setTimeout(tick, this.deps.pollMs ?? 500);
    };
    void tick();
  }

  /** Stops claiming and waits for running jobs to finish (graceful shutdown). */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running === 0) return;
    await Promise.race([
      new Promise<void>((resolve) => this.idle.push(resolve)),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs)),
    ]);
  }

  async depth(): Promise<Array<{ state: string; count: number }>> {
    const { rows } = await this.deps.db.query<{ state: string; count: string }>(
      "SELECT state, count(*)::text AS count FROM platform_jobs WHERE state <> 'done' GROUP BY state",
    );
    return rows.map((row) => ({ state: row.state, count: Number(row.count) }));
  }

  private async poll(): Promise<void> {
    const capacity = (this.deps.concurrency ?? 4) - this.running;
    if (capacity <= 0) return;
    const jobs = await this.claim(capacity);
    for (const job of jobs) {
      this.running++;
      void this.execute(job).finally(() => {
        this.running--;
        if (this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
      });
    }
  }

  private async claim(limit: number): Promise<Array<Job & { leaseMs: number }>> {
    const kinds = [...this.handlers.keys()];
    if (kinds.length === 0 || limit <= 0) return [];
    const now = this.deps.clock.now();
    // Lease from the longest handler lease; each job's own lease is set just below.
    const { rows } = await this.deps.db.query<{
      id: string;
      kind: string;
      payload: Record<string, unknown>;
      attempts: number;
      run_at: Date;
    }>(
      `UPDATE platform_jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, lease_until = $2::timestamptz + make_interval(secs => $5)
       WHERE id IN (
         SELECT id FROM platform_jobs
         WHERE kind = ANY($3) AND ((state = 'queued' AND run_at <= $2) OR (state = 'running' AND lease_until < $2))
         ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING id, kind, payload, attempts, run_at`,
      [
        this.workerId,
        now,
        kinds,
        limit,
        Math.max(...[...this.handlers.values()].map((h) => h.options.leaseMs)) / 1000,
      ],
    );
    return rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      payload: row.payload,
      attempts: row.attempts,
      runAt: row.run_at,
      leaseMs: this.handlers.get(row.kind)!.options.leaseMs,
    }));
  }

  private async execute(job: Job): Promise<void> {
    const handler = this.handlers.get(job.kind)!;
    const { clock, log, db } = this.deps;
    const jobLog = log.child({ job_id: job.id, job_kind: job.kind, attempt: job.attempts });
    try {
      if (handler.options.mode === 'transactional') {
        await db.transaction(async (tx) => {
          const held = await tx.query(
            "SELECT 1 FROM platform_jobs WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3 FOR UPDATE",
            [job.id, this.workerId, job.attempts],
          );
          if (held.rowCount !== 1) return; // another worker took it over after our lease ran out
          await handler.run(job, { tx, clock, log: jobLog });
          await tx.query(
            "UPDATE platform_jobs SET state = 'done', finished_at = $2, last_error = NULL WHERE id = $1",
            [job.id, clock.now()],
          );
        });
      } else {
        await handler.run(job, { tx: null, clock, log: jobLog });
        await db.query(
          "UPDATE platform_jobs SET state = 'done', finished_at = $3, last_error = NULL WHERE id = $1 AND locked_by = $2 AND attempts = $4",
          [job.id, this.workerId, clock.now(), job.attempts],
        );
      }
    } catch (error) {
      const attemptsLeft = job.attempts < handler.options.maxAttempts;
      jobLog.warn({ err: error, dead: !attemptsLeft }, 'job failed');
      await db.query(
        `UPDATE platform_jobs SET state = $3, run_at = $4, lease_until = NULL, last_error = $5
         WHERE id = $1 AND locked_by = $2 AND attempts = $6`,
        [
          job.id,
          this.workerId,
          attemptsLeft ? 'queued' : 'dead',
          new Date(clock.now().getTime() + handler.options.backoffMs(job.attempts)),
          String((error as Error)?.message ?? error).slice(0, 2000),
          job.attempts,
        ],
      );
    }
  }
}
