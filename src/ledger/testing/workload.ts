import {
  type AccountEvent,
  AccountFlags as AF,
  AMOUNT_MAX,
  MAX_ID,
  NIL_ID,
  TransferFlags as TF,
  type TransferEvent,
} from '../types.ts';

/**
 * Seeded random ledger workloads for the model test and the simulation. They draw ids from
 * small pools, so ids collide on purpose (replays, exists_with_different_*, failed ids burned
 * and reused, posts of real pending transfers), and they generate every kind of event and flag:
 * plain, pending (with and without timeouts), post (0, partial, the full-amount sentinel, too
 * much) and void (0, exact, wrong), with accounts, ledger, code and user data set or not;
 * balancing debit and credit; closing debit and credit; linked chains of transfers and of
 * accounts; zero and all-ones ids; reserved and mutually exclusive flags; amounts near the
 * int8 maximum (overflows); accounts created closed, limited either way, with history, in a
 * ledger that does not exist; imported batches of accounts and transfers (client-set
 * timestamps: increasing, repeated, regressed, in the future, 0) and imported events mixed
 * into ordinary batches.
 *
 * Time: the caller advances "now" by `ROUND_NS` per round, and timeouts are `TIMEOUTS_S`
 * (5 s past a whole round): a deadline never falls within 5 s of a round's time, so the model
 * (which knows only the round's time) and the ledger (which stamps events a few nanoseconds
 * later) always agree on whether a transfer has expired. Imported timestamps lie between 2 s
 * after the previous round and 2 s before this one (or 5 s outside), never near a round's time.
 */
export const ROUND_NS = 10_000_000_000n;
const TIMEOUTS_S = [5, 15, 25];

export interface Pools {
  accounts: number;
  transfers: number;
}

export class Namespace {
  private readonly prefix: string;
  constructor(seed: number) {
    this.prefix = (seed >>> 0).toString(16).padStart(8, '0');
  }
  /** Accounts, transfers and user data get disjoint id ranges. */
  id(kind: 'account' | 'transfer' | 'user', index: number): string {
    const tag = kind === 'account' ? 'a' : kind === 'transfer' ? 'b' : 'c';
    return `${this.prefix}-0000-4000-8000-${tag}${index.toString(16).padStart(11, '0')}`;
  }
}

export class Workload {
  private readonly ns: Namespace;
  /** Ids of pending transfers generated so far (whatever became of them): what posts and voids aim at. */
  private readonly pendingIds: string[] = [];
  /** This round's time, and the last imported timestamp handed out. */
  private now = 0n;
  private importCursor = 0n;
  /**
   * @param unorderedImports imports anywhere in a round and dated between earlier rounds'
   *   events: accepted ones then journal before an earlier batch, which `verify`'s journal walk
   *   does not handle yet, so only the pure core asks for them. Otherwise imports open a round
   *   and a regressed one is dated 1 ns (always refused).
   */
  constructor(
    private readonly random: () => number,
    seed: number,
    readonly pools: Pools,
    private readonly unorderedImports = true,
  ) {
    this.ns = new Namespace(seed);
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }
  private below(n: number): number {
    return Math.floor(this.random() * n);
  }
  private pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  /** The round's time: imported timestamps are drawn around it. */
  at(now: bigint): void {
    this.now = now;
    this.importCursor = now - ROUND_NS + 2_000_000_000n;
  }

  /** Mostly increasing within the round; sometimes repeated, regressed, in the future or 0. */
  private importedTimestamp(): bigint {
    const draw = this.random();
    if (draw < 0.02) return 0n;
    if (draw < 0.04) return this.now + 5_000_000_000n;
    if (draw < 0.06) return this.unorderedImports ? this.now - ROUND_NS - 5_000_000_000n : 1n;
    if (draw < 0.1) return this.importCursor;
    this.importCursor += BigInt(1 + this.below(3));
    return this.importCursor;
  }

  /**
   * Makes some batches imported (every event, or all but one) and slips an imported event or
   * a stray timestamp into some ordinary ones.
   */
  private maybeImport<E extends { flags?: number; timestamp?: bigint }>(
    events: E[],
    importedFlag: number,
    p: number,
  ): E[] {
    if (this.chance(p)) {
      const odd = this.chance(0.1) ? this.below(events.length) : -1;
      events.forEach((event, i) => {
        if (i === odd) return;
        event.flags = (event.flags ?? 0) | importedFlag;
        event.timestamp = this.importedTimestamp();
      });
    } else if (this.chance(0.01)) {
      const event = events[this.below(events.length)]!;
      if (this.chance(0.5)) event.flags = (event.flags ?? 0) | importedFlag;
      event.timestamp = this.importedTimestamp();
    }
    return events;
  }

  /**
   * Imported transfers touching `accountIds` (just created, at this round's time): dated
   * before them, they must be refused (imported_event_timestamp_must_postdate_*).
   */
  importedOnto(accountIds: readonly string[]): TransferEvent[] {
    return Array.from({ length: 1 + this.below(3) }, () => {
      const fresh = this.pick(accountIds);
      const other = this.accountId(this.below(this.pools.accounts));
      const [debitAccountId, creditAccountId] = this.chance(0.5) ? [fresh, other] : [other, fresh];
      return {
        id: this.transferId(),
        debitAccountId,
        creditAccountId,
        amount: this.amount(),
        ledger: 1,
        code: 1,
        flags: TF.imported,
        timestamp: this.importedTimestamp(),
      };
    });
  }

  accountId(index: number): string {
    return this.ns.id('account', index);
  }

  /** The first accounts: every pool account, valid, mostly in ledger 1 (some limited, some not). */
  initialAccounts(): AccountEvent[] {
    return Array.from({ length: this.pools.accounts }, (_, index) => ({
      id: this.accountId(index),
      ledger: index % 16 === 15 ? 2 : 1,
      code: 1,
      flags: this.pick([
        0,
        0,
        AF.debits_must_not_exceed_credits,
        AF.credits_must_not_exceed_debits,
        AF.history,
      ]),
      userData32: index % 3,
    }));
  }

  /** A batch of account events: mostly replays and collisions, a few new (and invalid) ones. */
  accounts(size: number): AccountEvent[] {
    return this.maybeImport(this.someAccounts(size), AF.imported, 0.1);
  }

  private someAccounts(size: number): AccountEvent[] {
    return Array.from({ length: size }, (_, i) => {
      const fresh = this.chance(0.5);
      const index = fresh
        ? this.pools.accounts + this.below(this.pools.accounts)
        : this.below(this.pools.accounts);
      let flags = this.pick([
        0,
        0,
        AF.debits_must_not_exceed_credits,
        AF.credits_must_not_exceed_debits,
        AF.history,
        AF.closed,
        AF.debits_must_not_exceed_credits | AF.credits_must_not_exceed_debits,
      ]);
      if (this.chance(0.02)) flags |= 1 << 12;
      if (i < size - 1 && this.chance(0.2)) flags |= AF.linked;
      else if (i === size - 1 && this.chance(0.03)) flags |= AF.linked;
      const id = this.chance(0.02) ? this.pick([NIL_ID, MAX_ID]) : this.accountId(index);
      return {
        id,
        ledger: this.pick([1, 1, 1, 1, 2, 9, 0]),
        code: this.pick([1, 1, 1, 2, 0]),
        flags,
        ...(this.chance(0.3) ? { userData128: this.ns.id('user', this.below(3)) } : {}),
        ...(this.chance(0.3) ? { userData64: BigInt(this.below(3)) } : {}),
        userData32: this.below(3),
      };
    });
  }

  private amount(): bigint {
    const draw = this.random();
    if (draw < 0.06) return 0n;
    if (draw < 0.065) return AMOUNT_MAX - BigInt(this.below(100)); // overflows
    return BigInt(1 + this.below(60));
  }

  private accountRef(): string | null {
    const draw = this.random();
    if (draw < 0.005) return null;
    if (draw < 0.01) return NIL_ID;
    if (draw < 0.015) return MAX_ID;
    if (draw < 0.03) return this.accountId(this.pools.accounts + this.below(this.pools.accounts)); // maybe missing
    return this.accountId(this.below(this.pools.accounts));
  }

  private transferId(): string {
    if (this.chance(0.004)) return NIL_ID;
    if (this.chance(0.004)) return MAX_ID;
    return this.ns.id('transfer', this.below(this.pools.transfers));
  }

  private userData(): Pick<TransferEvent, 'userData128' | 'userData64' | 'userData32'> {
    if (!this.chance(0.2)) return {};
    return {
      ...(this.chance(0.5) ? { userData128: this.ns.id('user', this.below(3)) } : {}),
      ...(this.chance(0.5) ? { userData64: BigInt(this.below(3)) } : {}),
      ...(this.chance(0.5) ? { userData32: this.below(3) } : {}),
    };
  }

  /** A batch of transfer events. */
  /** `opensRound`: the round's first submission (the only one imports go into when ordered). */
  transfers(size: number, opensRound = true): TransferEvent[] {
    const events = Array.from({ length: size }, (_, i) => {
      const event = this.transfer();
      const last = i === size - 1;
      if ((!last && this.chance(0.1)) || (last && this.chance(0.01)))
        event.flags = (event.flags ?? 0) | TF.linked;
      return event;
    });
    return this.unorderedImports || opensRound ? this.maybeImport(events, TF.imported, 0.03) : events;
  }

  private transfer(): TransferEvent {
    const draw = this.random();
    const kind =
      draw < 0.4
        ? 'plain'
        : draw < 0.6
          ? 'pending'
          : draw < 0.75
            ? 'post'
            : draw < 0.85
              ? 'void'
              : draw < 0.985
                ? 'balancing'
                : 'closing';
    const id = this.transferId();
    let flags = 0;
    if (this.chance(0.005)) flags |= 1 << 12;
    if (kind === 'post' || kind === 'void') {
      flags |= kind === 'post' ? TF.post_pending_transfer : TF.void_pending_transfer;
      if (this.chance(0.02))
        flags |= this.pick([
          TF.pending,
          TF.balancing_debit,
          TF.closing_credit,
          TF.post_pending_transfer | TF.void_pending_transfer,
        ]);
      const pendingDraw = this.random();
      const pendingId =
        pendingDraw < 0.01
          ? null
          : pendingDraw < 0.02
            ? MAX_ID
            : pendingDraw < 0.03
              ? id
              : pendingDraw < 0.15 || this.pendingIds.length === 0
                ? this.transferId()
                : this.pendingIds[
                    this.pendingIds.length - 1 - this.below(Math.min(200, this.pendingIds.length))
                  ]!;
      const amountDraw = this.random();
      const amount =
        kind === 'void'
          ? amountDraw < 0.5
            ? 0n
            : BigInt(this.below(61))
          : amountDraw < 0.3
            ? AMOUNT_MAX // the full pending amount
            : amountDraw < 0.4
              ? 0n
              : BigInt(this.below(61));
      return {
        id,
        pendingId,
        amount,
        flags,
        ...(this.chance(0.1) ? { debitAccountId: this.accountRef() } : {}),
        ...(this.chance(0.1) ? { creditAccountId: this.accountRef() } : {}),
        ...(this.chance(0.1) ? { ledger: this.pick([1, 2]) } : {}),
        ...(this.chance(0.1) ? { code: this.pick([1, 2]) } : {}),
        ...(this.chance(0.01) ? { timeout: 5 } : {}),
        ...this.userData(),
      };
    }
    if (kind === 'pending') flags |= TF.pending;
    if (kind === 'balancing')
      flags |=
        this.pick([TF.balancing_debit, TF.balancing_credit, TF.balancing_debit | TF.balancing_credit]) |
        (this.chance(0.2) ? TF.pending : 0);
    if (kind === 'closing')
      flags |=
        this.pick([TF.closing_debit, TF.closing_credit, TF.closing_debit | TF.closing_credit]) |
        (this.chance(0.9) ? TF.pending : 0);
    const pendingLike = (flags & TF.pending) !== 0;
    const timeout = pendingLike ? (this.chance(0.5) ? this.pick(TIMEOUTS_S) : 0) : this.chance(0.01) ? 5 : 0;
    return {
      id,
      debitAccountId: this.accountRef(),
      creditAccountId: this.accountRef(),
      amount: this.amount(),
      ledger: this.chance(0.02) ? this.pick([0, 2]) : this.chance(0.1) ? 2 : 1,
      code: this.chance(0.01) ? 0 : this.pick([1, 1, 2]),
      flags,
      timeout,
      ...(this.chance(0.005) ? { pendingId: this.transferId() } : {}),
      ...this.userData(),
    };
  }
}

/** JSON for a failure message (bigints as strings). */
export function show(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
}
