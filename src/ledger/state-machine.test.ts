import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateAccountResult as AR, CreateTransferResult as TR } from './results.ts';
import { LedgerStateMachine } from './state-machine.ts';
import { InMemoryLedger } from './testing/in-memory.ts';
import { AccountFlags as AF, FULL_PENDING_AMOUNT, MAX_ID, NIL_ID, TransferFlags as TF } from './types.ts';

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const [A, B, C, D] = [id(1), id(2), id(3), id(4)];

function ledgerWith(flags: Record<string, number> = {}) {
  const ledger = new InMemoryLedger();
  const results = ledger.createAccounts(
    [A, B, C, D].map((account) => ({ id: account, ledger: 1, code: 1, flags: flags[account] ?? 0 })),
  );
  assert.ok(results.every((r) => r.result === AR.ok));
  return ledger;
}
const results = (outcomes: { result: string }[]) => outcomes.map((o) => o.result);
const plain = (n: number, debit: string, credit: string, amount: bigint, flags = 0) => ({
  id: id(100 + n),
  debitAccountId: debit,
  creditAccountId: credit,
  amount,
  ledger: 1,
  code: 1,
  flags,
});

test("result precedence: the first broken rule in enum order wins (TigerBeetle's order)", () => {
  const ledger = ledgerWith();
  ledger.createTransfers([plain(9, A, B, 5n)]);
  const outcome = ledger.createTransfers([
    { id: NIL_ID, debitAccountId: A, creditAccountId: A, amount: 0n, ledger: 0, code: 0, flags: 1 << 12 },
    { id: NIL_ID, debitAccountId: A, creditAccountId: A, amount: 0n, ledger: 0, code: 0 },
    { id: MAX_ID, debitAccountId: A, creditAccountId: A, amount: 0n, ledger: 0, code: 0 },
    // exists is checked right after the id: before every field check.
    { id: id(109), debitAccountId: A, creditAccountId: A, amount: 5n, ledger: 0, code: 0 },
    { id: id(101), debitAccountId: MAX_ID, creditAccountId: B, amount: 5n, ledger: 0, code: 0 },
    { id: id(102), debitAccountId: A, creditAccountId: B, amount: 5n, ledger: 0, code: 0 },
    {
      id: id(103),
      pendingId: id(109),
      amount: 5n,
      ledger: 1,
      code: 1,
      flags: TF.post_pending_transfer | TF.void_pending_transfer,
    },
    { id: id(105), debitAccountId: A, creditAccountId: B, amount: 5n, ledger: 1, code: 1, timeout: 5 },
    { id: id(106), debitAccountId: A, creditAccountId: B, amount: 5n, ledger: 2, code: 1 },
    { id: id(107), debitAccountId: A, creditAccountId: B, amount: 0n, ledger: 1, code: 1 },
  ]);
  assert.deepEqual(results(outcome), [
    TR.reserved_flag,
    TR.id_must_not_be_zero,
    TR.id_must_not_be_int_max,
    TR.exists_with_different_credit_account_id,
    TR.debit_account_id_must_not_be_int_max,
    TR.ledger_must_not_be_zero,
    TR.flags_are_mutually_exclusive,
    TR.timeout_reserved_for_pending_transfer,
    TR.transfer_must_have_the_same_ledger_as_accounts,
    TR.ok, // amount 0 is allowed
  ]);
});

test('a transfer that failed for a transient reason burns its id, even inside a failed chain', () => {
  const ledger = ledgerWith({ [B]: AF.debits_must_not_exceed_credits });
  const overdraft = plain(1, B, C, 10n);
  assert.deepEqual(results(ledger.createTransfers([overdraft])), [TR.exceeds_credits]);
  ledger.createTransfers([plain(2, A, B, 100n)]); // top-up
  assert.deepEqual(results(ledger.createTransfers([overdraft])), [TR.id_already_failed]);
  assert.equal(ledger.transfers.has(overdraft.id), false);
  // Validation errors do not burn the id; in a chain, the transient one does.
  assert.deepEqual(results(ledger.createTransfers([{ ...plain(3, B, C, 10n), ledger: 0 }])), [
    TR.ledger_must_not_be_zero,
  ]);
  assert.deepEqual(results(ledger.createTransfers([plain(3, B, C, 10n)])), [TR.ok]);
  assert.deepEqual(results(ledger.createTransfers([plain(4, B, C, 1n, TF.linked), plain(5, B, C, 1000n)])), [
    TR.linked_event_failed,
    TR.exceeds_credits,
  ]);
  assert.deepEqual(results(ledger.createTransfers([plain(4, B, C, 1n), plain(5, B, C, 1n)])), [
    TR.ok,
    TR.id_already_failed,
  ]);
});

test('an open chain outranks a broken one', () => {
  const ledger = ledgerWith();
  assert.deepEqual(
    results(
      ledger.createTransfers([
        plain(1, A, B, 1n, TF.linked),
        { ...plain(2, A, B, 1n, TF.linked), ledger: 0 },
        plain(3, A, B, 1n, TF.linked),
      ]),
    ),
    [TR.linked_event_failed, TR.ledger_must_not_be_zero, TR.linked_event_chain_open],
  );
});

test('a linked chain left open fails whole; exists inside a chain counts as success', () => {
  const ledger = ledgerWith();
  const first = plain(1, A, B, 5n);
  assert.deepEqual(results(ledger.createTransfers([first])), [TR.ok]);
  assert.deepEqual(
    results(ledger.createTransfers([plain(2, A, B, 1n, TF.linked), plain(3, A, B, 1n, TF.linked)])),
    [TR.linked_event_failed, TR.linked_event_chain_open],
  );
  assert.deepEqual(results(ledger.createTransfers([{ ...first, flags: 0 }, plain(4, A, B, 1n)])), [
    TR.exists,
    TR.ok,
  ]);
  assert.deepEqual(
    results(
      ledger.createTransfers([
        plain(5, A, B, 1n, TF.linked),
        plain(6, B, C, 1n, TF.linked),
        plain(7, C, D, 1n),
      ]),
    ),
    [TR.ok, TR.ok, TR.ok],
  );
  assert.equal(ledger.transfers.has(id(102)), false);
});

test('balancing transfers move at most what is available, and replay as exists', () => {
  const ledger = ledgerWith({ [B]: AF.debits_must_not_exceed_credits });
  ledger.createTransfers([plain(1, A, B, 30n)]);
  const sweep = plain(2, B, C, 1000n, TF.balancing_debit);
  const [outcome] = ledger.createTransfers([sweep]);
  assert.equal(outcome!.result, TR.ok);
  assert.equal(ledger.transfers.get(id(102))!.amount, 30n);
  assert.deepEqual(results(ledger.createTransfers([sweep])), [TR.exists]);
  assert.deepEqual(results(ledger.createTransfers([{ ...sweep, amount: 10n }])), [
    TR.exists_with_different_amount,
  ]);
  // Nothing left: a 0-amount transfer (TigerBeetle since 0.16), not a refusal.
  assert.deepEqual(results(ledger.createTransfers([plain(3, B, C, 1n, TF.balancing_debit)])), [TR.ok]);
  assert.equal(ledger.transfers.get(id(103))!.amount, 0n);
});

test('a closing pending transfer closes the account; voiding it reopens', () => {
  const ledger = ledgerWith();
  const hold = plain(8, A, C, 3n, TF.pending);
  const close = plain(1, A, B, 1n, TF.pending | TF.closing_debit);
  assert.deepEqual(results(ledger.createTransfers([hold, close])), [TR.ok, TR.ok]);
  assert.equal(ledger.accounts.get(A)!.closed, true);
  assert.deepEqual(results(ledger.createTransfers([plain(2, A, C, 1n)])), [TR.debit_account_already_closed]);
  assert.deepEqual(results(ledger.createTransfers([plain(3, C, A, 1n)])), [TR.credit_account_already_closed]);
  // The closing hold cannot be posted (that would make the closure permanent).
  assert.deepEqual(
    results(
      ledger.createTransfers([
        { id: id(109), pendingId: close.id, amount: FULL_PENDING_AMOUNT, flags: TF.post_pending_transfer },
      ]),
    ),
    [TR.debit_account_already_closed],
  );
  // Voiding an ordinary hold is the one movement a closed account allows.
  assert.deepEqual(
    results(
      ledger.createTransfers([
        { id: id(118), pendingId: hold.id, amount: 0n, flags: TF.void_pending_transfer },
      ]),
    ),
    [TR.ok],
  );
  assert.deepEqual(
    results(
      ledger.createTransfers([
        { id: id(104), pendingId: close.id, amount: 0n, flags: TF.void_pending_transfer },
      ]),
    ),
    [TR.ok],
  );
  assert.equal(ledger.accounts.get(A)!.closed, false);
  assert.deepEqual(results(ledger.createTransfers([plain(5, A, C, 1n)])), [TR.ok]);
});

test('post and void: partial post, double resolution, amounts and replays', () => {
  const ledger = ledgerWith();
  const hold = plain(1, A, B, 100n, TF.pending);
  ledger.createTransfers([hold]);
  const post = { id: id(110), pendingId: hold.id, amount: 0n, flags: TF.post_pending_transfer };
  assert.deepEqual(
    results(
      ledger.createTransfers([
        { ...post, amount: 101n },
        { id: id(111), pendingId: hold.id, amount: 5n, flags: TF.void_pending_transfer },
        { ...post, amount: 60n },
        { id: id(112), pendingId: hold.id, amount: 0n, flags: TF.void_pending_transfer },
        { ...post, amount: 60n },
        post,
      ]),
    ),
    [
      TR.exceeds_pending_transfer_amount,
      TR.pending_transfer_has_different_amount,
      TR.ok,
      TR.pending_transfer_already_posted,
      TR.exists,
      TR.exists_with_different_amount,
    ],
  );
  const a = ledger.accounts.get(A)!;
  assert.deepEqual([a.debitsPending, a.debitsPosted], [0n, 60n]);
});

test('expiry: only due, still-pending transfers are voided, each once', () => {
  const ledger = ledgerWith();
  ledger.createTransfers([
    { ...plain(1, A, B, 10n, TF.pending), timeout: 1 },
    plain(2, A, B, 10n, TF.pending),
  ]);
  const due = ledger.transfers.get(id(101))!.timestamp + 1_000_000_000n;
  const expire = (at: bigint) =>
    new LedgerStateMachine({
      ledgers: new Set([1]),
      accounts: ledger.accounts,
      transfers: ledger.transfers,
      pending: ledger.pending,
      failed: ledger.failed,
    }).expirePending([id(101), id(102)], at);
  assert.deepEqual(expire(due - 1n), []);
  assert.deepEqual(expire(due), [id(101)]);
  assert.deepEqual(expire(due + 5n), []);
  assert.equal(ledger.pending.get(id(101))!.status, 'expired');
  assert.equal(ledger.accounts.get(A)!.debitsPending, 10n);
  assert.deepEqual(
    results(
      ledger.createTransfers([
        { id: id(120), pendingId: id(101), amount: 0n, flags: TF.post_pending_transfer },
      ]),
    ),
    [TR.pending_transfer_expired],
  );
});
