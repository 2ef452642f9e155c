import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type LedgerRecord, reconcile, resolve, type StatementLine } from './reconcile.ts';

const line = (requestId: string, amount: bigint, extra: Partial<StatementLine> = {}): StatementLine => ({
  requestId,
  bankReference: `B-${requestId}`,
  direction: 'debit',
  amount,
  status: 'succeeded',
  ...extra,
});
const booked = (requestId: string, amount: bigint, extra: Partial<LedgerRecord> = {}): LedgerRecord => ({
  requestId,
  direction: 'debit',
  amount,
  state: 'succeeded',
  ...extra,
});

test('matching books give no discrepancies; failed items on both sides are fine', () => {
  assert.deepEqual(
    reconcile(
      [line('a', 100n), line('b', 5n, { status: 'failed' })],
      [booked('a', 100n), booked('b', 5n, { state: 'failed' })],
    ),
    [],
  );
});

test('each kind of discrepancy is reported once, with its resolution', () => {
  const statement = [
    line('dup', 10n),
    line('dup', 10n),
    line('extra', 20n),
    line('lost-callback', 30n),
    line('wrong-amount', 41n),
    line('wrong-direction', 50n, { direction: 'credit' }),
  ];
  const ledger = [
    booked('dup', 10n),
    booked('lost-callback', 30n, { state: 'pending' }),
    booked('wrong-amount', 40n),
    booked('wrong-direction', 50n),
    booked('not-on-statement', 60n),
  ];
  const found = reconcile(statement, ledger);
  assert.deepEqual(
    found.map((d) => `${d.requestId}:${d.kind}:${resolve(d).action}`),
    [
      'dup:duplicate_in_statement:review',
      'extra:missing_in_ledger:review',
      'lost-callback:missing_in_ledger:post_pending',
      'not-on-statement:missing_in_statement:review',
      'wrong-amount:amount_mismatch:review',
      'wrong-direction:direction_mismatch:review',
    ],
  );
});

test('property: agreeing books never report anything, and one injected change reports exactly one item', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 30 }),
      fc.nat(),
      fc.constantFrom('drop', 'duplicate', 'amount'),
      (ids, pick, change) => {
        const ledger = ids.map((id, i) => booked(id, BigInt(i + 1) * 100n));
        const statement = ledger.map((r) => line(r.requestId, r.amount));
        assert.deepEqual(reconcile(statement, ledger), []);
        const victim = pick % statement.length;
        if (change === 'drop') statement.splice(victim, 1);
        else if (change === 'duplicate') statement.push({ ...statement[victim]! });
        else statement[victim] = { ...statement[victim]!, amount: statement[victim]!.amount + 1n };
        const found = reconcile(statement, ledger);
        assert.equal(found.length, 1);
        assert.equal(found[0]!.requestId, ids[victim]);
      },
    ),
  );
});
