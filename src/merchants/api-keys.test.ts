import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../platform/errors.ts';
import { assertMayGrant, newApiKey, parseApiKey, secretDigest, validateScopes } from './api-keys.ts';

const counting = (start: number) => {
  let next = start;
  return { bytes: (n: number) => Uint8Array.from({ length: n }, () => next++ % 256) };
};

test('a new key parses back into its prefix and a secret matching the stored digest', () => {
  const created = newApiKey(counting(0));
  assert.match(created.key, /^tym_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$/);
  const parsed = parseApiKey(created.key);
  assert.ok(parsed);
  assert.equal(parsed.prefix, created.prefix);
  assert.equal(secretDigest(parsed.secret), created.digest);
});

test('different randomness gives different keys', () => {
  const a = newApiKey(counting(0));
  const b = newApiKey(counting(7));
  assert.notEqual(a.prefix, b.prefix);
  assert.notEqual(a.digest, b.digest);
});

test('anything without the shape of a key is not parsed', () => {
  const { key } = newApiKey(counting(3));
  for (const bad of ['', 'tym_', key.slice(0, -1), `${key}x`, key.replace('tym_', 'tyk_'), `Bearer ${key}`])
    assert.equal(parseApiKey(bad), undefined, bad);
});

test('scopes must be known and at least one', () => {
  validateScopes(['payments:read', 'keys:manage']);
  for (const scopes of [[], ['payments:read', 'admin']]) {
    assert.throws(
      () => validateScopes(scopes),
      (error: unknown) => error instanceof AppError && error.code === 'scope_invalid',
    );
  }
});

test('a key grants only scopes it holds; staff may grant any', () => {
  const manager = { actor: 'merchant:m', scopes: ['keys:manage'] };
  assert.doesNotThrow(() => assertMayGrant(manager, ['keys:manage']));
  assert.throws(
    () => assertMayGrant(manager, ['keys:manage', 'payments:write']),
    (error: unknown) =>
      error instanceof AppError && error.code === 'scope_not_held' && error.kind === 'forbidden',
  );
  assert.doesNotThrow(() => assertMayGrant({ actor: 'operator:root', scopes: 'any' }, ['payments:write']));
});
