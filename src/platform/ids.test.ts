import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deterministicId, isUuid, uuidv7 } from './ids.ts';

test('uuidv7 ids are valid, version 7, and sort by creation time', () => {
  const earlier = uuidv7(1_700_000_000_000);
  const later = uuidv7(1_700_000_000_001);
  assert.ok(isUuid(earlier) && isUuid(later));
  assert.equal(earlier[14], '7');
  assert.ok(earlier < later);
});

test('deterministic ids depend on every part and on part boundaries', () => {
  const a = deterministicId('grab', 'envelope-1', 'user-2');
  assert.equal(a, deterministicId('grab', 'envelope-1', 'user-2'));
  assert.notEqual(a, deterministicId('grab', 'envelope-1', 'user-3'));
  assert.notEqual(deterministicId('x', 'ab', 'c'), deterministicId('x', 'a', 'bc'));
  assert.notEqual(a, deterministicId('refund', 'envelope-1', 'user-2'));
  assert.ok(isUuid(a));
});

test('deterministic ids never change (they are stored as transfer and account ids)', () => {
  assert.equal(deterministicId('grab', 'envelope-1', 'user-2'), '13afd28c-d0a6-85eb-b591-cc4f082d7dd4');
  assert.equal(
    deterministicId('account', 'userWallet', '0193a0b2-1111-7000-8000-000000000001', 'CNY'),
    'fafcaf23-ca39-84dd-ab83-94fd75562e72',
  );
});
