import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeChineseId } from './chinese-id.ts';
import { classForSources, SandboxRealNameVerifier } from './realname-verifier.ts';

test('the class granted follows the number of confirming sources', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map(classForSources), [1, 1, 1, 2, 2, 3, 3]);
});

test('the sandbox verifier answers by the ID sequence digits', async () => {
  const verifier = new SandboxRealNameVerifier();
  const outcome = (sequence: string) =>
    verifier.verify({
      name: '张丽',
      idNumber: makeChineseId('110101', '19900307', sequence),
      requestedClass: 3,
    });
  assert.deepEqual(await outcome('999'), { status: 'unavailable' });
  assert.deepEqual(await outcome('998'), { status: 'name_mismatch' });
  assert.deepEqual(await outcome('997'), { status: 'id_not_found' });
  assert.deepEqual(await outcome('996'), { status: 'matched', sources: 3 });
  assert.deepEqual(await outcome('123'), { status: 'matched', sources: 5 });
});
