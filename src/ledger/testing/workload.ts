import fc from 'fast-check';
import { type AccountEvent, AccountFlags as AF, TransferFlags as TF, type TransferEvent } from '../types.ts';

/**
 * Random ledger workloads for the model test and the simulation. Events name accounts and
 * transfers by small indices, so ids collide on purpose (duplicates, posts of real pending
 * transfers); `materialize` maps indices to UUIDs within one namespace.
 */
export interface AbstractAccount {
  id: number;
  ledger: number;
  flags: number;
}

export type TransferKind = 'plain' | 'pending' | 'post' | 'void' | 'balancing';

export interface AbstractTransfer {
  id: number;
  kind: TransferKind;
  debit: number;
  credit: number;
  amount: bigint;
  ledger: number;
  pending: number;
  linked: boolean;
}

export interface Pools {
  accounts: number;
  transfers: number;
}

const ACCOUNT_FLAG_CHOICES = [
  0,
  0,
  AF.debits_must_not_exceed_credits,
  AF.credits_must_not_exceed_debits,
  AF.history,
];
const KINDS: TransferKind[] = ['plain', 'plain', 'plain', 'pending', 'pending', 'post', 'void', 'balancing'];

export function accountArbitrary(pools: Pools): fc.Arbitrary<AbstractAccount> {
  return fc.record({
    id: fc.nat(pools.accounts - 1),
    ledger: fc.constantFrom(1, 1, 1, 2, 9),
    flags: fc.constantFrom(...ACCOUNT_FLAG_CHOICES),
  });
}

export function transferArbitrary(pools: Pools): fc.Arbitrary<AbstractTransfer> {
  return fc.record({
    id: fc.nat(pools.transfers - 1),
    kind: fc.constantFrom(...KINDS),
    debit: fc.nat(pools.accounts - 1),
    credit: fc.nat(pools.accounts - 1),
    amount: fc.bigInt(0n, 60n),
    ledger: fc.constantFrom(1, 1, 1, 2),
    pending: fc.nat(pools.transfers - 1),
    linked: fc.boolean(),
  });
}

/** The same shapes drawn from a seeded source, for the long simulation. */
export function randomAccount(random: () => number, pools: Pools): AbstractAccount {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  return {
    id: Math.floor(random() * pools.accounts),
    ledger: pick([1, 1, 1, 2]),
    flags: pick(ACCOUNT_FLAG_CHOICES),
  };
}

export function randomTransfer(random: () => number, pools: Pools): AbstractTransfer {
  const index = (n: number) => Math.floor(random() * n);
  return {
    id: index(pools.transfers),
    kind: KINDS[index(KINDS.length)]!,
    debit: index(pools.accounts),
    credit: index(pools.accounts),
    amount: BigInt(index(61)),
    ledger: random() < 0.9 ? 1 : 2,
    pending: index(pools.transfers),
    linked: random() < 0.2,
  };
}

export class Namespace {
  private readonly prefix: string;
  constructor(seed: number) {
    this.prefix = (seed >>> 0).toString(16).padStart(8, '0');
  }
  /** Accounts and transfers get disjoint id ranges. */
  id(kind: 'account' | 'transfer', index: number): string {
    const tail = `${kind === 'account' ? 'a' : 'b'}${index.toString(16).padStart(11, '0')}`;
    return `${this.prefix}-0000-4000-8000-${tail}`;
  }
}

export function materializeAccount(ns: Namespace, event: AbstractAccount): AccountEvent {
  return { id: ns.id('account', event.id), ledger: event.ledger, code: 1, flags: event.flags };
}

export function materializeTransfer(ns: Namespace, event: AbstractTransfer): TransferEvent {
  const linked = event.linked ? TF.linked : 0;
  const id = ns.id('transfer', event.id);
  if (event.kind === 'post' || event.kind === 'void') {
    return {
      id,
      pendingId: ns.id('transfer', event.pending),
      amount: event.kind === 'void' && event.amount % 2n === 0n ? 0n : event.amount,
      flags: linked | (event.kind === 'post' ? TF.post_pending_transfer : TF.void_pending_transfer),
    };
  }
  const kindFlags =
    event.kind === 'pending' ? TF.pending : event.kind === 'balancing' ? TF.balancing_debit : 0;
  return {
    id,
    debitAccountId: ns.id('account', event.debit),
    creditAccountId: ns.id('account', event.credit),
    amount: event.amount,
    ledger: event.ledger,
    code: 1,
    flags: linked | kindFlags,
  };
}
