import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditHash, canonicalJson, GENESIS_HASH } from './audit-chain.ts';

const entry = {
  seq: 1n,
  at: new Date('2026-01-01T00:00:00.000Z'),
  actor: 'operator:root',
  action: 'staff.created',
  subject: 'operator:s1',
  details: { roles: ['auditor'] },
};

test('canonical JSON sorts keys at every level and drops undefined', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: undefined } }),
    '{"a":{"d":[2,{"y":null,"z":1}]},"b":1}',
  );
  assert.equal(canonicalJson({ n: 10n }), '{"n":"10"}');
  assert.equal(canonicalJson(undefined), 'null');
});

test('canonical JSON refuses numbers that do not round-trip exactly', () => {
  assert.throws(() => canonicalJson({ x: 0.1 }), RangeError);
  assert.throws(() => canonicalJson({ x: 2 ** 53 }), RangeError);
});

test('the hash covers the previous hash and every field of the entry', () => {
  const hash = auditHash(GENESIS_HASH, entry);
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(auditHash(GENESIS_HASH, { ...entry, details: { roles: ['auditor'] } }), hash);
  assert.notEqual(auditHash('1'.repeat(64), entry), hash);
  const changes = [
    { seq: 2n },
    { at: new Date('2026-01-01T00:00:00.001Z') },
    { actor: 'operator:other' },
    { action: 'staff.removed' },
    { subject: 'operator:s2' },
    { details: { roles: ['operator-read'] } },
  ];
  for (const change of changes) assert.notEqual(auditHash(GENESIS_HASH, { ...entry, ...change }), hash);
});
