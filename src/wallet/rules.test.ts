import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CSV_HEADER, csvField, csvLine, dateToNs, nsToDate, withdrawalFee } from './rules.ts';

test('the withdrawal fee rounds up to the fen, has a floor, and is zero at a zero rate', () => {
  assert.equal(withdrawalFee(10_000n, 10, 0n), 10n);
  assert.equal(withdrawalFee(10_001n, 10, 0n), 11n);
  assert.equal(withdrawalFee(100n, 10, 50n), 50n);
  assert.equal(withdrawalFee(1_000_000n, 0, 50n), 0n);
});

test('CSV fields are quoted when needed and never start a formula', () => {
  assert.equal(csvField('lunch'), 'lunch');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('=1+1'), "'=1+1");
  assert.equal(csvField('-5', false), '-5');
});

test('a statement line signs money out and shows yuan beside fen', () => {
  const line = csvLine({
    id: 'i1',
    created_at: '2026-01-01T00:00:00.000Z',
    type: 'transfer',
    direction: 'out',
    status: 'posted',
    amount: '1250',
    counterparty: 'user:u2',
    memo: '@lunch, dinner',
  });
  assert.equal(
    line,
    'i1,2026-01-01T00:00:00.000Z,transfer,out,posted,-1250,-12.50,CNY,user:u2,"\'@lunch, dinner"',
  );
  assert.equal(CSV_HEADER.split(',').length, line.split(',').length - 1);
});

test('ledger timestamps are nanoseconds', () => {
  const at = new Date('2026-03-01T08:00:00.123Z');
  assert.equal(nsToDate(dateToNs(at)).getTime(), at.getTime());
});
