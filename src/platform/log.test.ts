import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskPhones } from './log.ts';

test('phone numbers in request URLs are masked, path and query string alike', () => {
  assert.equal(maskPhones('/v1/operator/users?phone=13800138000'), '/v1/operator/users?phone=138****8000');
  assert.equal(maskPhones('/v1/x/19912345678/y?a=1&b=15000000001'), '/v1/x/199****5678/y?a=1&b=150****0001');
  // Not phones: longer digit runs, ids, amounts.
  for (const text of [
    '/v1/t?amount=138001380001',
    '/v1/e/0195a000-0000-7000-8000-013800138000',
    '/v1/a?n=12345678901',
  ])
    assert.equal(maskPhones(text), text);
});
