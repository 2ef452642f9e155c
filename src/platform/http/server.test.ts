import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AMOUNT_PATTERN } from '../money.ts';
import { bareServer, testUserAuthenticator } from './testing.ts';

const transferBody = {
  type: 'object',
  additionalProperties: false,
  required: ['amount', 'memo'],
  properties: {
    amount: { type: 'string', pattern: AMOUNT_PATTERN },
    memo: { type: 'string', maxLength: 20 },
    count: { type: 'integer' },
  },
} as const;

async function server() {
  return bareServer(
    (app) => {
      app.post(
        '/v1/things/:userId',
        {
          config: {
            policy: {
              roles: ['user', 'operator-admin'],
              owner: (request) => (request.params as { userId: string }).userId,
            },
          },
          schema: {
            body: transferBody,
            params: {
              type: 'object',
              additionalProperties: false,
              properties: { userId: { type: 'string' } },
            },
          },
        },
        async (request) => ({ ok: true, body: request.body, big: 12345678901234567890n }),
      );
      app.get('/v1/boom', { config: { policy: { public: true } } }, async () => {
        throw new Error('database exploded with secret details');
      });
    },
    [testUserAuthenticator],
  );
}

test('bad input gets a 4xx with a stable code, never a 5xx', async () => {
  const s = await server();
  try {
    const call = (payload: string | object, headers: Record<string, string> = {}) =>
      s.app.inject({
        method: 'POST',
        url: '/v1/things/alice',
        headers: { authorization: 'Bearer user:alice', 'content-type': 'application/json', ...headers },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
    const cases: Array<[string, string | object, number, string]> = [
      [
        'wrong type: number where a string amount is required',
        { amount: 12, memo: 'x' },
        400,
        'validation_failed',
      ],
      [
        'wrong type: string where an integer is required',
        { amount: '12', memo: 'x', count: '3' },
        400,
        'validation_failed',
      ],
      ['unknown field', { amount: '12', memo: 'x', extra: true }, 400, 'validation_failed'],
      ['missing field', { amount: '12' }, 400, 'validation_failed'],
      ['amount with a decimal point', { amount: '12.5', memo: 'x' }, 400, 'validation_failed'],
      ['malformed JSON', '{"amount": "12",', 400, 'malformed_json'],
      ['body of 10 MB', { amount: '1', memo: 'x'.repeat(10 * 1024 * 1024) }, 413, 'body_too_large'],
    ];
    for (const [name, payload, status, code] of cases) {
      const response = await call(payload);
      assert.equal(response.statusCode, status, name);
      const body = response.json();
      assert.equal(body.error.code, code, name);
      assert.ok(body.error.message.length > 10, `${name}: message a person can act on`);
      assert.equal(body.error.request_id, response.headers['x-request-id']);
    }
    const unknown = (await call({ amount: '12', memo: 'x', extra: true })).json();
    assert.match(unknown.error.message, /unknown property "extra"/);
    const wrongMedia = await call('amount=1', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(wrongMedia.statusCode, 415);
    assert.equal(wrongMedia.json().error.code, 'unsupported_media_type');
  } finally {
    await s.close();
  }
});

test('good input passes; bigints serialize as exact strings', async () => {
  const s = await server();
  try {
    const response = await s.app.inject({
      method: 'POST',
      url: '/v1/things/alice',
      headers: { authorization: 'Bearer user:alice' },
      payload: { amount: '1250', memo: 'lunch' },
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.json().big, '12345678901234567890');
  } finally {
    await s.close();
  }
});

test("policies: anonymous 401, someone else's resource 404, unknown route 404", async () => {
  const s = await server();
  try {
    const anonymous = await s.app.inject({
      method: 'POST',
      url: '/v1/things/alice',
      payload: { amount: '1', memo: 'x' },
    });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().error.code, 'authentication_required');
    const other = await s.app.inject({
      method: 'POST',
      url: '/v1/things/alice',
      headers: { authorization: 'Bearer user:bob' },
      payload: { amount: '1', memo: 'x' },
    });
    assert.equal(other.statusCode, 404);
    const missing = await s.app.inject({ method: 'GET', url: '/v1/nothing' });
    assert.equal(missing.json().error.code, 'route_not_found');
  } finally {
    await s.close();
  }
});

test('a fault is a 500 with a generic message and no internals', async () => {
  const s = await server();
  try {
    const response = await s.app.inject({ method: 'GET', url: '/v1/boom' });
    assert.equal(response.statusCode, 500);
    assert.equal(response.json().error.code, 'internal_error');
    assert.doesNotMatch(response.body, /secret details/);
  } finally {
    await s.close();
  }
});

test('routes without a policy, or with loose body schemas, are refused at startup; bodyless routes take no body', async () => {
  await assert.rejects(
    bareServer((app) => {
      app.get('/v1/open', async () => ({}));
    }),
    /declares no policy/,
  );
  await assert.rejects(
    bareServer((app) => {
      app.post(
        '/v1/loose',
        {
          config: { policy: { public: true } },
          schema: { body: { type: 'object', properties: { a: { type: 'string' } } } },
        },
        async () => ({}),
      );
    }),
    /additionalProperties: false/,
  );
  const bodyless = await bareServer((app) => {
    app.post('/v1/bodyless', { config: { policy: { public: true } } }, async () => ({ ok: true }));
  });
  try {
    assert.equal((await bodyless.app.inject({ method: 'POST', url: '/v1/bodyless' })).statusCode, 200);
    assert.equal(
      (await bodyless.app.inject({ method: 'POST', url: '/v1/bodyless', payload: {} })).statusCode,
      200,
    );
    const sent = await bodyless.app.inject({ method: 'POST', url: '/v1/bodyless', payload: { surprise: 1 } });
    assert.equal(sent.statusCode, 400);
    assert.equal(sent.json().error.code, 'unexpected_body');
  } finally {
    await bodyless.close();
  }
});
