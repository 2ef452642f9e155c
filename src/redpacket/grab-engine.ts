import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { TransferCodes } from '../chart.ts';
import type { Ledger } from '../ledger/index.ts';
import { Ledgers, succeeded } from '../ledger/index.ts';
import type { Clock } from '../platform/clock.ts';
import type { Database } from '../platform/db/database.ts';
import { AppError } from '../platform/errors.ts';
import { deterministicId } from '../platform/ids.ts';
import type { Logger } from '../platform/log.ts';
import type { Groups, NewGroupEvent } from '../social/index.ts';
import { walletAccount } from '../wallet/context.ts';
import type { Wallet } from '../wallet/index.ts';
import { luckiestIndex } from './split.ts';
import { type EnvelopeState, loadGrabsInto, loadStates } from './state.ts';

/**
 * The grab path. Grabs are queued in memory and handled in batches by one loop per process:
 *
 * 1. one claim transaction per batch locks the batch's envelopes (in id order), checks
 *    membership for every (group, user) pair in one query, hands out share indexes in order,
 *    and writes all grabs, envelope counters and group events with set-based statements;
 * 2. the grabs' ledger transfers (escrow → wallet, id = f(envelope, user)) join the ledger's
 *    group commit, while the next batch is already claiming;
 * 3. a grab is acknowledged once its transfer is in the ledger.
 *
 * Over-allocation is impossible by construction: shares were drawn when the envelope was sent
 * and a grab claims a share index (unique per envelope), never an amount. A second grab by
 * the same user is stopped in memory, by the primary key (envelope, user), and by the ledger's
 * deterministic transfer id. A crash between claim and booking leaves a grab without its
 * transfer; the booking sweeper (a job) finds it by time window and books it, exactly once.
 */
export type GrabOutcome =
  | { outcome: 'grabbed' | 'already_grabbed'; amount: bigint; envelopeId: string }
  | { outcome: 'all_taken' | 'expired' | 'not_eligible' | 'not_active' | 'not_found'; envelopeId: string };

export interface GrabEngineOptions {
  /** Most grabs claimed in one transaction. */
  batchMax?: number;
  /** Most grabs waiting; beyond it grabs fail fast with `redpacket_overloaded`. */
  queueMax?: number;
  /** Envelopes kept in memory. */
  cacheMax?: number;
  /** Claim transactions in flight at once. */
  pipelineDepth?: number;
}

interface Waiting {
  envelopeId: string;
  userId: string;
  resolve: (outcome: GrabOutcome) => void;
  reject: (error: unknown) => void;
}

interface Claimed {
  waiting: Waiting;
  state: EnvelopeState;
  index: number;
  amount: bigint;
  transferId: string;
}

export interface GrabStats {
  batches: number;
  grabbed: number;
  refused: number;
}

export class GrabEngine {
  private readonly queue: Waiting[] = [];
  private readonly cache = new Map<string, EnvelopeState>();
  private loop: Promise<void> | null = null;
  private readonly inFlightBookings = new Set<Promise<void>>();
  private closed = false;
  private readonly batchMax: number;
  private readonly queueMax: number;
  private readonly cacheMax: number;
  private readonly pipelineDepth: number;
  readonly stats: GrabStats = { batches: 0, grabbed: 0, refused: 0 };
  /** Called with each batch's outcomes (metrics). */
  onOutcomes: ((outcomes: GrabOutcome[], latencyMs: number) => void) | null = null;

  constructor(
    private readonly deps: {
      db: Database;
      clock: Clock;
      ledger: Ledger;
      wallet: Wallet;
      groups: Groups;
      log: Logger;
    },
    options: GrabEngineOptions = {},
  ) {
    this.batchMax = options.batchMax ?? 4096;
    this.queueMax = options.queueMax ?? 200_000;
    this.cacheMax = options.cacheMax ?? 100_000;
    this.pipelineDepth = options.pipelineDepth ?? 2;
  }

  grab(envelopeId: string, userId: string): Promise<GrabOutcome> {
    if (this.closed)
      return Promise.reject(new AppError('unavailable', 'redpacket_closed', 'Shutting down; retry.'));
    if (this.queue.length >= this.queueMax) {
      return Promise.reject(
        new AppError(
          'unavailable',
          'redpacket_overloaded',
          'Too many people are grabbing right now; try again in a moment.',
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ envelopeId, userId, resolve, reject });
      this.loop ??= new Promise<void>((start) => setImmediate(start)).then(() => this.drain());
    });
  }

  /** What this process last saw of an envelope (no database read): for answering a grab. */
  summary(envelopeId: string): { id: string; status: string; grabbedCount: number; shares: number } | null {
    const state = this.cache.get(envelopeId);
    return state
      ? { id: state.id, status: state.status, grabbedCount: state.grabs.size, shares: state.shares.length }
      : null;
  }

  /** Forget a cached envelope (after this process changed it outside the grab path). */
  forget(envelopeId: string): void {
    this.cache.delete(envelopeId);
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.loop) await this.loop;
    await Promise.all(this.inFlightBookings);
  }

  /**
   * Keeps up to `pipelineDepth` claim transactions in flight. Two batches on the same envelope
   * are still ordered by the envelope's row lock, and the later one sees the earlier one's
   * grabs (it compares the locked row's count with its cache and reloads if they differ).
   */
  private async drain(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    try {
      while (this.queue.length > 0 || inFlight.size > 0) {
        if (this.queue.length > 0 && inFlight.size < this.pipelineDepth) {
          const running: Promise<void> = this.runBatch(this.queue.splice(0, this.batchMax)).finally(() =>
            inFlight.delete(running),
          );
          inFlight.add(running);
          // Let callers arriving in this turn join the next batch.
          await new Promise<void>((resolve) => setImmediate(resolve));
          continue;
        }
        await Promise.race(inFlight);
      }
    } finally {
      this.loop = null;
    }
  }

  private async runBatch(batch: Waiting[]): Promise<void> {
    const started = performance.now();
    try {
      const outcomes = await this.processBatch(batch);
      this.onOutcomes?.(outcomes, performance.now() - started);
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      this.deps.log.error({ err: error }, 'grab batch failed');
    }
  }

  private async processBatch(batch: Waiting[]): Promise<GrabOutcome[]> {
    this.stats.batches++;
    const results = new Map<Waiting, GrabOutcome>();
    const toBook: Claimed[] = [];
    const alreadyUnbooked: Array<{ waiting: Waiting; state: EnvelopeState }> = [];

    const claimed = await this.deps.db.transaction(async (tx) => {
      results.clear();
      toBook.length = 0;
      alreadyUnbooked.length = 0;
      const states = await this.lockFresh(tx, [...new Set(batch.map((w) => w.envelopeId))]);
      const now = this.deps.clock.now();
      const memberships = await this.deps.groups.filterMembers(
        tx,
        batch.flatMap((w) => {
          const state = states.get(w.envelopeId);
          return state?.groupId ? [{ groupId: state.groupId, userId: w.userId }] : [];
        }),
      );
      const claims: Claimed[] = [];
      const nextIndex = new Map<string, number>();
      const seenInBatch = new Map<string, Claimed>();
      for (const waiting of batch) {
        const state = states.get(waiting.envelopeId);
        const envelopeId = waiting.envelopeId;
        if (!state) {
          results.set(waiting, { outcome: 'not_found', envelopeId });
          continue;
        }
        const known = state.grabs.get(waiting.userId);
        if (known) {
          results.set(waiting, { outcome: 'already_grabbed', amount: known.amount, envelopeId });
          if (!known.booked) alreadyUnbooked.push({ waiting, state });
          continue;
        }
        const duplicate = seenInBatch.get(`${envelopeId}/${waiting.userId}`);
        if (duplicate) {
          results.set(waiting, { outcome: 'already_grabbed', amount: duplicate.amount, envelopeId });
          continue;
        }
        const eligible = state.groupId
          ? memberships.has(`${state.groupId}/${waiting.userId}`)
          : state.recipientId === waiting.userId;
        if (!eligible) {
          results.set(waiting, { outcome: 'not_eligible', envelopeId });
          continue;
        }
        if (state.status === 'expired' || (state.status === 'active' && state.expiresAt <= now)) {
          results.set(waiting, { outcome: 'expired', envelopeId });
          continue;
        }
        if (state.status === 'finished') {
          results.set(waiting, { outcome: 'all_taken', envelopeId });
          continue;
        }
        if (state.status !== 'active') {
          results.set(waiting, { outcome: 'not_active', envelopeId });
          continue;
        }
        const index = nextIndex.get(envelopeId) ?? state.grabs.size;
        if (index >= state.shares.length) {
          results.set(waiting, { outcome: 'all_taken', envelopeId });
          continue;
        }
        nextIndex.set(envelopeId, index + 1);
        const claim: Claimed = {
          waiting,
          state,
          index,
          amount: state.shares[index]!,
          transferId: deterministicId('redpacket.grab', envelopeId, waiting.userId),
        };
        seenInBatch.set(`${envelopeId}/${waiting.userId}`, claim);
        claims.push(claim);
      }
      if (claims.length > 0) await this.writeClaims(tx, claims, now);
      return claims;
    });

    // Committed: remember the grabs, then book them in the ledger without holding up the next batch.
    for (const claim of claimed) {
      claim.state.grabs.set(claim.waiting.userId, {
        index: claim.index,
        amount: claim.amount,
        transferId: claim.transferId,
        booked: false,
      });
      if (claim.state.grabs.size === claim.state.shares.length) claim.state.status = 'finished';
      toBook.push(claim);
    }
    this.trimCache();
    const outcomes: GrabOutcome[] = [];
    // Repeat grabs whose transfer this process has not seen booked are answered after booking.
    const answeredAfterBooking = new Set(alreadyUnbooked.map((entry) => entry.waiting));
    for (const waiting of batch) {
      const result = results.get(waiting);
      if (result && !answeredAfterBooking.has(waiting)) {
        waiting.resolve(result);
        outcomes.push(result);
        if (result.outcome !== 'already_grabbed') this.stats.refused++;
      }
    }
    const bookings = [
      ...toBook.map((claim) => ({
        waiting: claim.waiting,
        state: claim.state,
        outcome: { outcome: 'grabbed', amount: claim.amount, envelopeId: claim.state.id } as GrabOutcome,
      })),
      ...alreadyUnbooked.map(({ waiting, state }) => ({ waiting, state, outcome: results.get(waiting)! })),
    ];
    if (bookings.length > 0) this.book(bookings);
    return outcomes;
  }

  /**
   * Locks the envelopes for this claim (id order, so batches in several processes never
   * deadlock) and makes sure the cached grabs are current: another process may have claimed
   * shares since we cached them, which shows as a different grabbed_count.
   */
  private async lockFresh(tx: pg.PoolClient, ids: string[]): Promise<Map<string, EnvelopeState>> {
    const { rows } = await tx.query<{
      id: string;
      status: EnvelopeState['status'];
      grabbed_count: number;
      expires_at: Date;
    }>(
      `SELECT id, status, grabbed_count, expires_at FROM redpacket_envelopes
       WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [ids.sort()],
    );
    const missing = rows.filter((row) => !this.cache.has(row.id)).map((row) => row.id);
    if (missing.length > 0)
      for (const [id, state] of await loadStates(tx, missing)) this.cache.set(id, state);
    const stale = new Map<string, EnvelopeState>();
    const states = new Map<string, EnvelopeState>();
    for (const row of rows) {
      const state = this.cache.get(row.id)!;
      state.status = row.status;
      state.expiresAt = row.expires_at;
      if (state.grabs.size !== row.grabbed_count) stale.set(row.id, state);
      states.set(row.id, state);
    }
    await loadGrabsInto(tx, stale);
    return states;
  }

  private async writeClaims(tx: pg.PoolClient, claims: Claimed[], now: Date): Promise<void> {
    const inserted = await tx.query(
      `INSERT INTO redpacket_grabs (envelope_id, user_id, share_index, amount, transfer_id, grabbed_at)
       SELECT e, u, i, a, t, $6 FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::bigint[], $5::uuid[]) AS x(e, u, i, a, t)`,
      [
        claims.map((c) => c.state.id),
        claims.map((c) => c.waiting.userId),
        claims.map((c) => c.index),
        claims.map((c) => c.amount),
        claims.map((c) => c.transferId),
        now,
      ],
    );
    if (inserted.rowCount !== claims.length) throw new Error('grab insert count mismatch');

    const perEnvelope = new Map<
      string,
      { state: EnvelopeState; count: number; amount: bigint; claims: Claimed[] }
    >();
    for (const claim of claims) {
      const entry = perEnvelope.get(claim.state.id) ?? {
        state: claim.state,
        count: 0,
        amount: 0n,
        claims: [],
      };
      entry.count++;
      entry.amount += claim.amount;
      entry.claims.push(claim);
      perEnvelope.set(claim.state.id, entry);
    }
    const entries = [...perEnvelope.values()];
    const finishes = entries.map((e) => e.state.grabs.size + e.count === e.state.shares.length);
    await tx.query(
      `UPDATE redpacket_envelopes r SET grabbed_count = r.grabbed_count + x.n, grabbed_amount = r.grabbed_amount + x.a,
         status = CASE WHEN x.f THEN 'finished' ELSE r.status END, finished_at = CASE WHEN x.f THEN $5::timestamptz ELSE r.finished_at END,
         last_grab_at = $5
       FROM unnest($1::uuid[], $2::int[], $3::bigint[], $4::boolean[]) AS x(id, n, a, f) WHERE r.id = x.id`,
      [
        entries.map((e) => e.state.id),
        entries.map((e) => e.count),
        entries.map((e) => e.amount),
        finishes,
        now,
      ],
    );

    // One 'envelope.grabbed' event per envelope per batch, listing its grabs: a storm writes
    // a few events per batch instead of one per grab.
    const events: NewGroupEvent[] = [];
    entries.forEach((entry, position) => {
      const groupId = entry.state.groupId;
      if (!groupId) return;
      events.push({
        groupId,
        type: 'envelope.grabbed',
        actorId: null,
        payload: {
          envelope_id: entry.state.id,
          grabs: entry.claims.map((c) => ({ user_id: c.waiting.userId, amount: c.amount.toString() })),
          grabbed_count: entry.state.grabs.size + entry.count,
          shares: entry.state.shares.length,
        },
      });
      if (finishes[position]) {
        const luckiest = luckiestIndex(entry.state.shares);
        const owner =
          entry.claims.find((c) => c.index === luckiest)?.waiting.userId ??
          [...entry.state.grabs].find(([, grab]) => grab.index === luckiest)?.[0] ??
          null;
        events.push({
          groupId,
          type: 'envelope.finished',
          actorId: null,
          payload: { envelope_id: entry.state.id, luckiest_user_id: owner },
        });
      }
    });
    await this.deps.groups.appendEvents(tx, events);
  }

  /** Books claimed grabs in the ledger, then answers their callers. */
  private book(bookings: Array<{ waiting: Waiting; state: EnvelopeState; outcome: GrabOutcome }>): void {
    const work = (async () => {
      try {
        await this.deps.wallet.accounts.wallets([...new Set(bookings.map((b) => b.waiting.userId))]);
        const grabs = bookings.map((b) => ({
          state: b.state,
          userId: b.waiting.userId,
          grab: b.state.grabs.get(b.waiting.userId)!,
        }));
        const failed = await bookGrabs(
          this.deps.ledger,
          grabs.map((g) => ({ ...g.grab, escrowAccountId: g.state.escrowAccountId, userId: g.userId })),
        );
        bookings.forEach((booking, i) => {
          const grab = grabs[i]!.grab;
          if (failed.has(grab.transferId)) {
            booking.waiting.reject(
              new AppError(
                'internal',
                'grab_booking_failed',
                'Your share is reserved; it will reach your wallet shortly.',
              ),
            );
            return;
          }
          grab.booked = true;
          if (booking.outcome.outcome === 'grabbed') this.stats.grabbed++;
          booking.waiting.resolve(booking.outcome);
        });
        this.onOutcomes?.(
          bookings.map((b) => b.outcome),
          0,
        );
      } catch (error) {
        this.deps.log.error({ err: error }, 'booking grabs failed; the sweeper will book them');
        for (const booking of bookings) booking.waiting.reject(error);
      }
    })();
    this.inFlightBookings.add(work);
    void work.finally(() => this.inFlightBookings.delete(work));
  }

  private trimCache(): void {
    if (this.cache.size <= this.cacheMax) return;
    // Finished and expired envelopes go first; then the oldest entries (Map keeps insertion order).
    for (const [id, state] of this.cache) {
      if (this.cache.size <= this.cacheMax * 0.9) return;
      if (state.status !== 'active') this.cache.delete(id);
    }
    for (const id of this.cache.keys()) {
      if (this.cache.size <= this.cacheMax * 0.9) return;
      this.cache.delete(id);
    }
  }
}

/** Submits grab transfers (escrow → wallet); returns the ids the ledger refused. */
export async function bookGrabs(
  ledger: Ledger,
  grabs: ReadonlyArray<{ transferId: string; amount: bigint; escrowAccountId: string; userId: string }>,
): Promise<Set<string>> {
  const failed = new Set<string>();
  for (let start = 0; start < grabs.length; start += 8000) {
    const chunk = grabs.slice(start, start + 8000);
    const results = await ledger.createTransfers(
      chunk.map((grab) => ({
        id: grab.transferId,
        debitAccountId: grab.escrowAccountId,
        creditAccountId: walletAccount(grab.userId),
        amount: grab.amount,
        ledger: Ledgers.CNY,
        code: TransferCodes.envelopeGrab,
      })),
    );
    results.forEach((result, i) => {
      if (!succeeded(result.result)) failed.add(chunk[i]!.transferId);
    });
  }
  return failed;
}
