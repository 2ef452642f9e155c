import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';

/**
 * Every route that takes a body, fed garbage: wrong types, unknown fields, malformed JSON
 * and a 10 MB body. Each must be a 4xx with a stable code in the error envelope, never a 5xx.
 */
let app: TestApp;
before(async () => {
  app = await createTestApp();
});
after(async () => {
  await app.close();
});

const STABLE_CODE = /^[a-z][a-z0-9_]{2,63}$/;
const bigBody = JSON.stringify({ padding: 'x'.repeat(10 * 1024 * 1024) });

function concretePath(url: string): string {
  return url.replace(/:([A-Za-z_]+)/g, (_m, name: string) =>
    /id$/i.test(name) ? '01234567-89ab-7def-8123-456789abcdef' : 'x',
  );
}

test('garbage bodies on every POST/PUT/PATCH route get a 4xx with a stable code', async () => {
  const document = (await app.http.inject({ method: 'GET', url: '/openapi.json' })).json();
  const payloads: Array<[string, string]> = [
    ['wrong types', JSON.stringify({ amount: 12, id: false, user_id: [], count: '3', name: 7 })],
    ['unknown field', JSON.stringify({ definitely_not_a_field: true })],
    ['malformed JSON', '{"amount": "12",'],
    ['array instead of object', '[1,2,3]'],
    ['10 MB body', bigBody],
  ];
  let checked = 0;
  for (const [path, item] of Object.entries<Record<string, unknown>>(document.paths)) {
    for (const method of Object.keys(item).filter((m) => ['post', 'put', 'patch'].includes(m))) {
      for (const headers of [app.operatorHeaders, {}]) {
        for (const [name, payload] of payloads) {
          const response = await app.http.inject({
            method: method.toUpperCase() as 'POST',
            url: concretePath(path.replace(/\{([^}]+)\}/g, ':$1')),
            headers: {
              ...headers,
              'content-type': 'application/json',
              'idempotency-key': `hardening-${checked}`,
            },
            payload,
          });
          const where = `${method.toUpperCase()} ${path} with ${name}`;
          assert.ok(
            response.statusCode >= 400 && response.statusCode < 500,
            `${where}: got ${response.statusCode} ${response.body.slice(0, 200)}`,
          );
          assert.match(response.json().error.code, STABLE_CODE, where);
          checked++;
        }
      }
    }
  }
  console.log(`checked ${checked} garbage requests`);
});

test('security headers on every kind of response: pages, static files, API, errors', async () => {
  // The pages and static files are served from web/dist when built; the "not built" page and a
  // 404 for a missing asset still go through the same hooks, so the headers hold either way.
  for (const url of ['/', '/console', '/sw.js', '/assets/missing-file.js', '/health', '/v1/nope', '/docs']) {
    const response = await app.http.inject({ method: 'GET', url });
    const csp = String(response.headers['content-security-policy'] ?? '');
    assert.match(csp, /(^|;)\s*script-src 'self'(;|$)/, `${url}: scripts only from self: ${csp}`);
    assert.match(csp, /frame-ancestors 'none'/, `${url}: no framing`);
    assert.match(csp, /object-src 'none'/, url);
    assert.doesNotMatch(csp, /unsafe-eval|upgrade-insecure-requests/, url);
    assert.equal(response.headers['x-frame-options'], 'DENY', url);
    assert.equal(response.headers['x-content-type-options'], 'nosniff', url);
    assert.equal(response.headers['referrer-policy'], 'no-referrer', url);
  }
});

test('attack: /ready shows anonymous callers no database error; operators get the details', async () => {
  const secretish = 'password authentication failed for user "tuyere_admin" at db-primary.internal:5432';
  const original = app.db.query.bind(app.db);
  app.db.query = (async () => {
    throw new Error(secretish);
  }) as typeof app.db.query;
  try {
    const anonymous = await app.http.inject({ method: 'GET', url: '/ready' });
    assert.equal(anonymous.statusCode, 503);
    assert.deepEqual(anonymous.json(), { status: 'not_ready', database: 'unavailable' });
    assert.doesNotMatch(anonymous.body, /tuyere_admin|db-primary|password/);
    const operator = await app.http.inject({ method: 'GET', url: '/ready', headers: app.operatorHeaders });
    assert.equal(operator.statusCode, 503);
    assert.equal(operator.json().database, secretish);
  } finally {
    app.db.query = original;
  }
  const healthy = await app.http.inject({ method: 'GET', url: '/ready' });
  assert.equal(healthy.statusCode, 200);
  assert.deepEqual(healthy.json(), { status: 'ready', database: 'ok' });
});
