import { performance } from 'node:perf_hooks';
import type { CommitParticipant, JoinedWrite, Ledger } from '../ledger/index.ts';
import { Ledgers } from '../ledger/index.ts';
import type { Clock } from '../platform/clock.ts';
import type { Database } from '../platform/db/database.ts';
import { AppError } from '../platform/errors.ts';
import { deterministicId } from '../platform/ids.ts';
import type { Logger } from '../platform/log.ts';
import type { Groups, NewGroupEvent } from '../social/index.ts';
import type { Wallet } from '../wallet/index.ts';
import { walletAccount } from '../wallet/index.ts';
import { RedpacketTransfers } from './chart.ts';
import { luckiestIndex } from './split.ts';
import type { EnvelopeState, KnownGrab } from './state.ts';
import { envelopeGrabsWrite, loadStates } from './store.ts';

/**
 * The grab path. Grabs are queued in memory and handled in batches by one loop per process:
 *
 * 1. envelopes this process has not cached are loaded, and group membership is checked for
 *    the whole batch in one read;
 * 2. shares are handed out in memory, in order, from the cached envelope (which already counts
 *    the grabs of batches still committing), so the hot path takes no lock of its own;
 * 3. the batch's payouts (escrow → wallet, id = f(envelope, user)) go to the ledger's group
 *    commit with the grab rows as a commit participant: grabs, envelope counters, group events
 *    and payouts commit in one transaction, or none of them does;
 * 4. a grab is answered once that transaction has committed.
 *
 * The participant's envelope update only applies if each envelope's grab count is the one this
 * process expected and the envelope is still active and unexpired. Another process grabbing
 * the same envelope, or an expiry, makes it refuse; the batch's envelopes are then reloaded and
 * its grabs tried again (a few times at most).
 *
 * Over-allocation is impossible by construction: shares were drawn when the envelope was sent
 * and a grab claims a share index (unique per envelope), never an amount; the escrow cannot go
 * negative. A second grab by the same user is stopped in memory, by the primary key (envelope,
 * user), and by the ledger's deterministic transfer id.
 */
export type GrabOutcome =
  | { outcome: 'grabbed' | 'already_grabbed'; amount: bigint; envelopeId: string }
  | { outcome: 'all_taken' | 'expired' | 'not_eligible' | 'not_active' | 'not_found'; envelopeId: string };

export interface GrabEngineOptions {
  /**
   * Most grabs handled in one batch (one ledger submission). Several smaller batches in flight
   * beat one large one: while one commits in PostgreSQL, the next is claimed and prepared
   * here (docs/REDPACKET.md has the measurements).
   */
  batchMax?: number;
  /** Most grabs waiting; beyond it grabs fail fast with `redpacket_overloaded`. */
  queueMax?: number;
  /** Envelopes kept in memory. */
  cacheMax?: number;
  /** Batches in flight at once (claimed and committing). */
  pipelineDepth?: number;
  /** Times a grab is retried after its batch was refused (stale cache) before giving up. */
  attemptsMax?: number;
}

interface Waiting {
  envelopeId: string;
  userId: string;
  attempts: number;
  resolve: (outcome: GrabOutcome) => void;
  reject: (error: unknown) => void;
}

interface Claimed {
  waiting: Waiting;
  state: EnvelopeState;
  grab: KnownGrab;
  /** The payout's ledger id: f(envelope, user), so a grab can only ever be paid once. */
  transferId: string;
}

/** What one batch changes on one envelope. */
interface EnvelopeClaims {
  state: EnvelopeState;
  /** grabbed_count the database must hold before this batch. */
  expectedCount: number;
  amount: bigint;
  claims: Claimed[];
}

/** The participant's refusal: this process's view of an envelope was out of date. */
class StaleEnvelopes extends Error {}

export interface GrabStats {
  batches: number;
  grabbed: number;
  refused: number;
  /** Batches whose envelopes had changed under this process's cache (then retried). */
  stale: number;
}

export class GrabEngine {
  private queue: Waiting[] = [];
  private readonly cache = new Map<string, EnvelopeState>();
  /** "group/user" pairs seen as members; the commit checks them again (see processBatch). */
  private readonly knownMembers = new Set<string>();
  private loop: Promise<void> | null = null;
  private closed = false;
  private readonly batchMax: number;
  private readonly queueMax: number;
  private readonly cacheMax: number;
  private readonly pipelineDepth: number;
  private readonly attemptsMax: number;
  readonly stats: GrabStats = { batches: 0, grabbed: 0, refused: 0, stale: 0 };
  /** Called with each batch's answers and the time from batch start to answer (metrics). */
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
    this.batchMax = options.batchMax ?? 336;
    this.queueMax = options.queueMax ?? 200_000;
    this.cacheMax = options.cacheMax ?? 100_000;
    this.pipelineDepth = options.pipelineDepth ?? 3;
    this.attemptsMax = options.attemptsMax ?? 5;
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
      this.enqueue({ envelopeId, userId, attempts: 0, resolve, reject });
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
  }

  private enqueue(waiting: Waiting, first = false): void {
    if (first) this.queue.unshift(waiting);
    else this.queue.push(waiting);
    this.loop ??= new Promise<void>((start) => setImmediate(start)).then(() => this.drain());
  }

  /** Keeps up to `pipelineDepth` batches in flight; the ledger commits them in submission order. */
  private async drain(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    try {
      while (this.queue.length > 0 || inFlight.size > 0) {
        if (this.queue.length > 0 && inFlight.size < this.pipelineDepth) {
          const batch = this.queue.length <= this.batchMax ? this.queue : this.queue.slice(0, this.batchMax);
          this.queue = this.queue.length <= this.batchMax ? [] : this.queue.slice(this.batchMax);
          const running: Promise<void> = this.runBatch(batch).finally(() => inFlight.delete(running));
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
    this.stats.batches++;
    try {
      const answered = await this.processBatch(batch);
      this.onOutcomes?.(answered, performance.now() - started);
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      this.deps.log.error({ err: error }, 'grab batch failed');
    }
  }

  /** Claims in memory, commits with the ledger, answers; returns the answers given. */
  private async processBatch(batch: Waiting[]): Promise<GrabOutcome[]> {
    const { states, notFound } = await this.statesFor(batch);
    // Membership: pairs this process has not seen as members yet are checked here, in one read
    // (so outsiders are answered without touching a batch); every pair is checked again when
    // the batch commits, which is what makes a removal take effect at once.
    const unverified = new Map<string, { groupId: string; userId: string }>();
    for (const waiting of batch) {
      const state = states.get(waiting.envelopeId);
      if (!state?.groupId || state.grabs.has(waiting.userId)) continue;
      const pair = `${state.groupId}/${waiting.userId}`;
      if (!this.knownMembers.has(pair))
        unverified.set(pair, { groupId: state.groupId, userId: waiting.userId });
    }
    if (unverified.size > 0) {
      const outsiders = await this.deps.groups.nonMembers(this.deps.db, [...unverified.values()]);
      if (this.knownMembers.size + unverified.size > this.cacheMax) this.knownMembers.clear();
      for (const pair of unverified.keys()) if (!outsiders.has(pair)) this.knownMembers.add(pair);
    }
    const eligible = (state: EnvelopeState, userId: string) =>
      state.groupId ? this.knownMembers.has(`${state.groupId}/${userId}`) : state.recipientId === userId;
    await this.deps.wallet.accounts.wallets(
      batch.flatMap((w) => {
        const state = states.get(w.envelopeId);
        return state && eligible(state, w.userId) ? [w.userId] : [];
      }),
    );

    // From here to the submission nothing awaits: the claims see one consistent cache, and
    // batches reach the ledger in the order they claimed.
    const now = this.deps.clock.now();
    const answers: GrabOutcome[] = [];
    const answer = (waiting: Waiting, outcome: GrabOutcome) => {
      waiting.resolve(outcome);
      answers.push(outcome);
      if (outcome.outcome !== 'already_grabbed' && outcome.outcome !== 'grabbed') this.stats.refused++;
    };
    let settle: (committed: boolean) => void = () => {};
    const committed = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    const perEnvelope = new Map<string, EnvelopeClaims>();
    const claims: Claimed[] = [];
    for (const waiting of batch) {
      const envelopeId = waiting.envelopeId;
      const state = this.cache.get(envelopeId);
      if (!state && notFound.has(envelopeId)) {
        answer(waiting, { outcome: 'not_found', envelopeId });
        continue;
      }
      if (!state || state !== states.get(envelopeId)) {
        // A failed batch dropped the envelope from the cache while this one was reading: start over.
        this.retry(waiting, null);
        continue;
      }
      const known = state.grabs.get(waiting.userId);
      if (known) {
        if (!known.committed)
          answer(waiting, { outcome: 'already_grabbed', amount: known.amount, envelopeId });
        else this.answerAfter(known, waiting);
        continue;
      }
      if (!eligible(state, waiting.userId)) answer(waiting, { outcome: 'not_eligible', envelopeId });
      else if (state.status === 'expired' || (state.status === 'active' && state.expiresAt <= now))
        answer(waiting, { outcome: 'expired', envelopeId });
      else if (
        state.status === 'finished' ||
        (state.status === 'active' && state.grabs.size >= state.shares.length)
      )
        answer(waiting, { outcome: 'all_taken', envelopeId });
      else if (state.status !== 'active') answer(waiting, { outcome: 'not_active', envelopeId });
      else {
        let entry = perEnvelope.get(envelopeId);
        if (!entry) {
          entry = { state, expectedCount: state.grabs.size, amount: 0n, claims: [] };
          perEnvelope.set(envelopeId, entry);
        }
        const index = state.grabs.size;
        const grab: KnownGrab = { index, amount: state.shares[index]!, committed };
        state.grabs.set(waiting.userId, grab);
        if (state.grabs.size === state.shares.length) state.status = 'finished';
        const claim = { waiting, state, grab, transferId: grabTransferId(state, waiting.userId) };
        entry.amount += grab.amount;
        entry.claims.push(claim);
        claims.push(claim);
      }
    }
    if (claims.length === 0) return answers;

    const events = this.deps.groups.eventsWrite(groupEvents([...perEnvelope.values()]));
    try {
      await this.deps.ledger.createTransfers(
        claims.map((c) => ({
          id: c.transferId,
          debitAccountId: c.state.escrowAccountId,
          creditAccountId: walletAccount(c.waiting.userId),
          amount: c.grab.amount,
          ledger: Ledgers.CNY,
          code: RedpacketTransfers.envelopeGrab,
        })),
        { participant: this.participant([...perEnvelope.values()], now, events) },
      );
    } catch (error) {
      this.abandon(claims, perEnvelope, error);
      settle(false);
      return answers;
    }
    for (const claim of claims) claim.grab.committed = null;
    settle(true);
    this.deps.groups.announce(events.groupIds);
    this.stats.grabbed += claims.length;
    for (const claim of claims) {
      answer(claim.waiting, { outcome: 'grabbed', amount: claim.grab.amount, envelopeId: claim.state.id });
    }
    this.trimCache();
    return answers;
  }

  /**
   * The batch's envelopes: from the cache, the rest loaded in one read (a state another batch
   * loaded meanwhile wins). Also says which envelopes do not exist.
   */
  private async statesFor(
    batch: Waiting[],
  ): Promise<{ states: Map<string, EnvelopeState>; notFound: Set<string> }> {
    const ids = [...new Set(batch.map((w) => w.envelopeId))];
    const missing = ids.filter((id) => !this.cache.has(id));
    const notFound = new Set<string>();
    if (missing.length > 0) {
      const loaded = await loadStates(this.deps.db, missing);
      for (const id of missing) {
        const state = loaded.get(id);
        if (!state) notFound.add(id);
        else if (!this.cache.has(id)) this.cache.set(id, state);
      }
    }
    const states = new Map<string, EnvelopeState>();
    for (const id of ids) {
      const state = this.cache.get(id);
      if (state) states.set(id, state);
    }
    return { states, notFound };
  }

  /** A repeat grab whose first grab is still committing: answered when that one is. */
  private answerAfter(known: KnownGrab, waiting: Waiting): void {
    void known.committed!.then((ok) => {
      if (ok) {
        waiting.resolve({ outcome: 'already_grabbed', amount: known.amount, envelopeId: waiting.envelopeId });
        this.onOutcomes?.(
          [{ outcome: 'already_grabbed', amount: known.amount, envelopeId: waiting.envelopeId }],
          0,
        );
      } else this.retry(waiting, null);
    });
  }

  /**
   * The batch did not commit. Its envelopes are dropped from the cache (unless a newer state
   * already replaced them) so the next attempt starts from the database; grabs refused for a
   * stale view are tried again, anything else is reported to the caller.
   */
  private abandon(claims: Claimed[], perEnvelope: Map<string, EnvelopeClaims>, error: unknown): void {
    for (const { state } of perEnvelope.values()) {
      if (this.cache.get(state.id) === state) this.cache.delete(state.id);
    }
    // A refusal may have been a membership that ended: the retry checks these pairs afresh.
    for (const { state, waiting } of claims) {
      if (state.groupId) this.knownMembers.delete(`${state.groupId}/${waiting.userId}`);
    }
    // A constraint the envelope row enforces (more grabs than shares, a grabber twice) can only
    // trip on a stale view too.
    if (error instanceof StaleEnvelopes || String((error as { code?: unknown })?.code).startsWith('23')) {
      this.stats.stale++;
      for (const claim of claims) this.retry(claim.waiting, null);
      return;
    }
    this.deps.log.error({ err: error }, 'grab batch did not commit');
    for (const claim of claims) claim.waiting.reject(error);
  }

  private retry(waiting: Waiting, error: unknown): void {
    waiting.attempts++;
    if (waiting.attempts >= this.attemptsMax) {
      waiting.reject(
        error ??
          new AppError(
            'unavailable',
            'redpacket_busy',
            'This envelope is changing too fast to grab right now; try again in a moment.',
          ),
      );
      return;
    }
    this.enqueue(waiting, true);
  }

  /**
   * The grabs, envelope counters and group events, joined to the ledger's statement for the
   * batch's payouts, as typed writes built by their owners (src/redpacket/store.ts, social's
   * Groups). The grabs are appended to each envelope's row in share order, and only if the
   * envelope still has the grab count this process expected and is active and unexpired; every
   * grabber must still be a member of the envelope's group; otherwise, or if any payout failed,
   * it refuses, rolling the payouts back too.
   *
   * Snapshot trap: the ledger may send this statement while the batch before it is still
   * committing, so its snapshot can miss that batch's grabs. envelopeGrabsWrite therefore
   * compares the expected count with what the row lock returns (the latest version), never in
   * the UPDATE's own WHERE, which would skip a row whose snapshot version failed the test
   * instead of re-checking it (details in store.ts).
   */
  private participant(entries: EnvelopeClaims[], now: Date, events: JoinedWrite): CommitParticipant {
    const grabs = envelopeGrabsWrite(
      entries.map((entry) => ({
        envelopeId: entry.state.id,
        expectedCount: entry.expectedCount,
        userIds: entry.claims.map((claim) => claim.waiting.userId),
        amount: entry.amount,
      })),
      now,
    );
    const members = this.deps.groups.membersGuard(
      entries.flatMap((entry) =>
        entry.state.groupId
          ? entry.claims.map((claim) => ({ groupId: entry.state.groupId!, userId: claim.waiting.userId }))
          : [],
      ),
    );
    return {
      writes: (outcomes) => {
        const failed = outcomes.find((outcome) => outcome.result !== 'ok');
        if (failed) throw new StaleEnvelopes(`a grab payout was refused: ${failed.result}`);
        return [grabs, events, members];
      },
      refusal: () => new StaleEnvelopes('an envelope changed under this batch'),
    };
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

/**
 * One 'envelope.grabbed' event per envelope per batch, naming who grabbed (not how much: the
 * amounts are only for those who grabbed, and for everyone once the envelope is over), and
 * 'envelope.finished' naming the luckiest once every share is taken.
 */
function groupEvents(entries: EnvelopeClaims[]): NewGroupEvent[] {
  const events: NewGroupEvent[] = [];
  for (const entry of entries) {
    const groupId = entry.state.groupId;
    if (!groupId) continue;
    const grabbedCount = entry.expectedCount + entry.claims.length;
    events.push({
      groupId,
      type: 'envelope.grabbed',
      actorId: null,
      payload: {
        envelope_id: entry.state.id,
        user_ids: entry.claims.map((c) => c.waiting.userId),
        grabbed_count: grabbedCount,
        shares: entry.state.shares.length,
      },
    });
    if (grabbedCount === entry.state.shares.length) {
      const luckiest = luckiestIndex(entry.state.shares);
      const owner = [...entry.state.grabs].find(([, grab]) => grab.index === luckiest)?.[0] ?? null;
      events.push({
        groupId,
        type: 'envelope.finished',
        actorId: null,
        payload: { envelope_id: entry.state.id, luckiest_user_id: owner },
      });
    }
  }
  return events;
}

/**
 * The ledger id of a grab's payout: a function of (envelope, user), so it can only ever be
 * paid once. Its first 48 bits are the envelope's creation time in milliseconds (as in a
 * UUIDv7) and the rest comes from the hash: payouts of envelopes sent around the same time sit
 * together in the ledger's primary-key index, so a storm's inserts touch a few hot pages
 * instead of random ones all over a large index.
 */
export function grabTransferId(envelope: { id: string; createdAt: Date }, userId: string): string {
  const hashed = deterministicId('redpacket.grab', envelope.id, userId);
  const ms = envelope.createdAt.getTime().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}${hashed.slice(13)}`;
}
