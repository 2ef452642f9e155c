import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AMOUNT_PATTERN } from '../money.ts';
import { purgeIdempotencyKeys } from './idempotency.ts';
import { bareServer, testUserAuthenticator } from './testing.ts';

const body = {
  type: 'object',
  additionalProperties: false,
  required: ['amount'],
  properties: { amount: { type: 'string', pattern: AMOUNT_PATTERN }, fail: { type: 'string' } },
} as const;

/** A money-like route: each execution inserts one row, so double effects are countable. */
async function server(gate?: Promise<void>) {
  let executions = 0;
  const s = await bareServer(
    async (app) => {
      app.post(
        '/v1/pay',
        { config: { policy: { roles: ['user'] }, idempotent: true }, schema: { body } },
        async (request, reply) => {
          executions++;
          const { amount, fail } = request.body as { amount: string; fail?: string };
          if (gate) await gate;
          if (fail === 'server') throw new Error('bank unreachable');
          if (fail === 'client')
            return reply
              .status(409)
              .send({ error: { code: 'insufficient_funds', message: 'no', request_id: request.id } });
          const { rows } = await s_db().query('INSERT INTO effects (amount) VALUES ($1) RETURNING id', [
            amount,
          ]);
          return reply.status(201).send({ payment_id: rows[0]!.id, amount, execution: executions });
        },
      );
    },
    [testUserAuthenticator],
  );
  const s_db = () => s.database.db;
  await s.database.db.query('CREATE TABLE effects (id serial PRIMARY KEY, amount text)');
  const pay = (key: string | undefined, payload: object, user = 'alice') =>
    s.app.inject({
      method: 'POST',
      url: '/v1/pay',
      headers: { authorization: `Bearer user:${user}`, ...(key ? { 'idempotency-key': key } : {}) },
      payload,
    });
  const effects = async () =>
    Number((await s.database.db.query('SELECT count(*)::int AS n FROM effects')).rows[0]!.n);
  return { ...s, pay, effects, executions: () => executions };
}

test('a replay returns the stored response byte for byte and applies nothing twice', async () => {
  const s = await server();
  try {
    const first = await s.pay('key-1', { amount: '100' });
    assert.equal(first.statusCode, 201);
    const replay = await s.pay('key-1', { amount: '100' });
    assert.equal(replay.statusCode, 201);
    assert.equal(replay.body, first.body);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(await s.effects(), 1);
  } finally {
    await s.close();
  }
});

test('the same key with a different body is 422; keys are per principal; a missing key is 400', async () => {
  const s = await server();
  try {
    await s.pay('key-1', { amount: '100' });
    const reused = await s.pay('key-1', { amount: '999' });
    assert.equal(reused.statusCode, 422);
    assert.equal(reused.json().error.code, 'idempotency_key_reused');
    const otherUser = await s.pay('key-1', { amount: '999' }, 'bob');
    assert.equal(otherUser.statusCode, 201, 'another principal may use the same key');
    const missing = await s.pay(undefined, { amount: '1' });
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.json().error.code, 'idempotency_key_required');
    assert.equal(await s.effects(), 2);
  } finally {
    await s.close();
  }
});

test('concurrent duplicates: exactly one runs, the rest get 409 in flight', async () => {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const s = await server(gate);
  try {
    // The first request holds the gate; it opens only once the 24 duplicates have all been
    // answered (or after 30 s, so a wrong answer fails instead of hanging), whatever the load.
    let answered = 0;
    const fallback = setTimeout(open, 30_000);
    const racing = Array.from({ length: 25 }, () =>
      s.pay('same-key', { amount: '5' }).then((response) => {
        if (++answered === 24) open();
        return response;
      }),
    );
    const responses = await Promise.all(racing);
    clearTimeout(fallback);
    const statuses = responses.map((r) => r.statusCode).sort();
    assert.equal(statuses.filter((status) => status === 201).length, 1, `statuses: ${statuses}`);
    assert.equal(statuses.filter((status) => status === 409).length, 24);
    for (const response of responses.filter((r) => r.statusCode === 409)) {
      assert.equal(response.json().error.code, 'idempotency_request_in_flight');
    }
    assert.equal(s.executions(), 1);
    assert.equal(await s.effects(), 1);
    const after = await s.pay('same-key', { amount: '5' });
    assert.equal(after.statusCode, 201);
    assert.equal(after.headers['idempotent-replayed'], 'true');
  } finally {
    await s.close();
  }
});

test('4xx results are stored; a 5xx releases the key so a retry runs', async () => {
  const s = await server();
  try {
    const declined = await s.pay('k-client', { amount: '1', fail: 'client' });
    assert.equal(declined.statusCode, 409);
    assert.equal(
      (await s.pay('k-client', { amount: '1', fail: 'client' })).headers['idempotent-replayed'],
      'true',
    );
    const broken = await s.pay('k-server', { amount: '1', fail: 'server' });
    assert.equal(broken.statusCode, 500);
    const retried = await s.pay('k-server', { amount: '1', fail: 'server' });
    assert.equal(retried.statusCode, 500);
    assert.equal(retried.headers['idempotent-replayed'], undefined);
    assert.equal(s.executions(), 3);
  } finally {
    await s.close();
  }
});

test('a key left in flight by a crashed process can be taken over after its lease; keys live at least 24 h', async () => {
  const s = await server();
  try {
    const first = await s.pay('lease', { amount: '7' });
    assert.equal(first.statusCode, 201);
    await s.database.db.query(
      "UPDATE platform_idempotency_keys SET state = 'in_flight', locked_until = $1 WHERE key = 'lease'",
      [new Date(s.clock.now().getTime() + 60_000)],
    );
    assert.equal((await s.pay('lease', { amount: '7' })).statusCode, 409, 'lease still held');
    s.clock.advance(61_000);
    assert.equal((await s.pay('lease', { amount: '7' })).statusCode, 201, 'lease expired: taken over');

    s.clock.advance(23 * 3_600_000);
    await purgeIdempotencyKeys(s.database.db, s.clock.now());
    assert.equal(
      (await s.pay('lease', { amount: '7' })).headers['idempotent-replayed'],
      'true',
      'kept for 24 h',
    );
    s.clock.advance(30 * 3_600_000);
    assert.ok((await purgeIdempotencyKeys(s.database.db, s.clock.now())) >= 1);
  } finally {
    await s.close();
  }
});
