import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../platform/clock.ts';
import type { Authenticator, Role } from '../platform/http/policy.ts';
import { createHttpServer } from '../platform/http/server.ts';
import { uuidv7 } from '../platform/ids.ts';
import { createLogger } from '../platform/log.ts';
import { Metrics } from '../platform/metrics.ts';
import { createTestDatabase, type TestDatabase } from '../platform/testing/database.ts';
import { Ledger } from './index.ts';
import { ledgerRoutes } from './routes.ts';

const roleFromHeader: Authenticator = async (request) => {
  const role = request.headers['x-test-role'];
  if (typeof role !== 'string') return null;
  return { key: `operator:${role}`, kind: 'operator', id: role, roles: [role as Role] };
};
const admin = { 'x-test-role': 'operator-admin' };
const reader = { 'x-test-role': 'operator-read' };

let database: TestDatabase;
let ledger: Ledger;
let app: FastifyInstance;
const clock = new ManualClock();
before(async () => {
  database = await createTestDatabase();
  ledger = new Ledger({ db: database.db, clock });
  app = await createHttpServer({
    log: createLogger({ level: 'silent' }),
    metrics: new Metrics(),
    db: database.db,
    clock,
    bodyLimitBytes: 4 * 1024 * 1024,
    authenticators: [roleFromHeader],
    version: 'test',
  });
  await app.register(ledgerRoutes, { ledger });
  await app.ready();
});
after(async () => {
  await app.close();
  await ledger.close();
  await database.drop();
});

test('operators create accounts and transfers, then read balances, history, transfers and verify', async () => {
  const [a, b] = [uuidv7(), uuidv7()];
  const accounts = await app.inject({
    method: 'POST',
    url: '/v1/ledger/accounts',
    headers: admin,
    payload: {
      accounts: [
        { id: a, ledger: 1, code: 10 },
        { id: b, ledger: 1, code: 20, flags: ['credits_must_not_exceed_debits', 'history'] },
      ],
    },
  });
  assert.equal(accounts.statusCode, 200, accounts.body);
  assert.deepEqual(
    accounts.json().results.map((r: { result: string }) => r.result),
    ['ok', 'ok'],
  );

  const hold = uuidv7();
  const transfers = await app.inject({
    method: 'POST',
    url: '/v1/ledger/transfers',
    headers: { ...admin, 'idempotency-key': uuidv7() },
    payload: {
      transfers: [
        { id: uuidv7(), debit_account_id: b, credit_account_id: a, amount: '1250', ledger: 1, code: 1 },
        {
          id: hold,
          debit_account_id: a,
          credit_account_id: b,
          amount: '500',
          ledger: 1,
          code: 1,
          flags: ['pending'],
          timeout: 60,
        },
        { id: uuidv7(), debit_account_id: a, credit_account_id: b, amount: '99999', ledger: 1, code: 1 },
      ],
    },
  });
  assert.equal(transfers.statusCode, 200, transfers.body);
  assert.deepEqual(
    transfers.json().results.map((r: { result: string }) => r.result),
    ['ok', 'ok', 'exceeds_debits'],
  );

  const account = await app.inject({ method: 'GET', url: `/v1/ledger/accounts/${a}`, headers: reader });
  assert.equal(account.statusCode, 200);
  assert.equal(account.json().credits_posted, '1250');
  assert.equal(account.json().debits_pending, '500');

  const history = await app.inject({
    method: 'GET',
    url: `/v1/ledger/accounts/${a}/transfers?limit=1`,
    headers: reader,
  });
  assert.equal(history.json().transfers.length, 1);
  const next = history.json().next_cursor;
  const rest = await app.inject({
    method: 'GET',
    url: `/v1/ledger/accounts/${a}/transfers?after=${next}`,
    headers: reader,
  });
  assert.equal(rest.json().transfers[0].id, hold);
  assert.equal(rest.json().next_cursor, null);

  const transfer = await app.inject({ method: 'GET', url: `/v1/ledger/transfers/${hold}`, headers: reader });
  assert.equal(transfer.json().pending_status, 'pending');
  assert.deepEqual(transfer.json().flags, ['pending']);

  const asOf = await app.inject({
    method: 'GET',
    url: `/v1/ledger/accounts/${b}/balances?as_of=${rest.json().transfers[0].timestamp}`,
    headers: reader,
  });
  assert.equal(asOf.json().credits_pending, '500');

  const verify = await app.inject({ method: 'GET', url: '/v1/ledger/verify', headers: reader });
  assert.equal(verify.json().ok, true);
});

test('writes need operator-admin, bodies are strict, and unknown ids are 404', async () => {
  const body = {
    transfers: [
      {
        id: uuidv7(),
        debit_account_id: uuidv7(),
        credit_account_id: uuidv7(),
        amount: '1',
        ledger: 1,
        code: 1,
      },
    ],
  };
  const forbidden = await app.inject({
    method: 'POST',
    url: '/v1/ledger/transfers',
    headers: reader,
    payload: body,
  });
  assert.equal(forbidden.statusCode, 403);
  const anonymous = await app.inject({ method: 'POST', url: '/v1/ledger/transfers', payload: body });
  assert.equal(anonymous.statusCode, 401);
  const numberAmount = await app.inject({
    method: 'POST',
    url: '/v1/ledger/transfers',
    headers: admin,
    payload: { transfers: [{ ...body.transfers[0], amount: 1 }] },
  });
  assert.equal(numberAmount.statusCode, 400);
  const extra = await app.inject({
    method: 'POST',
    url: '/v1/ledger/transfers',
    headers: admin,
    payload: { transfers: [{ ...body.transfers[0], memo: 'x' }] },
  });
  assert.equal(extra.statusCode, 400);
  const missing = await app.inject({
    method: 'GET',
    url: `/v1/ledger/accounts/${uuidv7()}`,
    headers: reader,
  });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, 'ledger_account_not_found');
});

test('query routes: accounts and transfers by filter, account history filters, balance history; bad filters are 400', async () => {
  const owner = uuidv7();
  const [a, b] = [uuidv7(), uuidv7()];
  const created = await app.inject({
    method: 'POST',
    url: '/v1/ledger/accounts',
    headers: admin,
    payload: {
      accounts: [
        { id: a, ledger: 1, code: 31, user_data_128: owner, flags: ['history'] },
        { id: b, ledger: 1, code: 32, user_data_128: owner },
      ],
    },
  });
  assert.equal(created.statusCode, 200, created.body);
  const ids = [uuidv7(), uuidv7(), uuidv7()];
  const moved = await app.inject({
    method: 'POST',
    url: '/v1/ledger/transfers',
    headers: { ...admin, 'idempotency-key': uuidv7() },
    payload: {
      transfers: [
        {
          id: ids[0],
          debit_account_id: a,
          credit_account_id: b,
          amount: '5',
          ledger: 1,
          code: 7,
          user_data_32: 9,
        },
        { id: ids[1], debit_account_id: b, credit_account_id: a, amount: '6', ledger: 1, code: 8 },
        { id: ids[2], debit_account_id: a, credit_account_id: b, amount: '7', ledger: 1, code: 7 },
      ],
    },
  });
  assert.equal(moved.statusCode, 200, moved.body);

  const get = (url: string) => app.inject({ method: 'GET', url, headers: reader });
  const accounts = await get(`/v1/ledger/accounts?user_data_128=${owner}&reversed=true`);
  assert.equal(accounts.statusCode, 200, accounts.body);
  assert.deepEqual(
    accounts.json().accounts.map((x: { id: string }) => x.id),
    [b, a],
  );
  const byCode = await get('/v1/ledger/transfers?code=7&limit=1');
  assert.deepEqual(
    byCode.json().transfers.map((x: { id: string }) => x.id),
    [ids[0]],
  );
  const next = await get(`/v1/ledger/transfers?code=7&limit=1&after=${byCode.json().next_cursor}`);
  assert.deepEqual(
    next.json().transfers.map((x: { id: string }) => x.id),
    [ids[2]],
  );
  assert.equal(next.json().next_cursor, null);

  const debits = await get(`/v1/ledger/accounts/${a}/transfers?credits=false&reversed=true`);
  assert.deepEqual(
    debits.json().transfers.map((x: { id: string }) => x.id),
    [ids[2], ids[0]],
  );
  const tagged = await get(`/v1/ledger/accounts/${a}/transfers?user_data_32=9`);
  assert.deepEqual(
    tagged.json().transfers.map((x: { id: string }) => x.id),
    [ids[0]],
  );
  const history = await get(`/v1/ledger/accounts/${a}/balance-history?debits=false`);
  assert.equal(history.statusCode, 200, history.body);
  assert.deepEqual(
    history
      .json()
      .balances.map((x: { credits_posted: string; debits_posted: string }) => [
        x.debits_posted,
        x.credits_posted,
      ]),
    [['5', '6']],
  );

  const neither = await get(`/v1/ledger/accounts/${a}/transfers?debits=false&credits=false`);
  assert.equal(neither.statusCode, 400);
  assert.equal(neither.json().error.code, 'ledger_filter_direction');
  const backwards = await get('/v1/ledger/transfers?timestamp_min=5&timestamp_max=4');
  assert.equal(backwards.statusCode, 400);
  assert.equal(backwards.json().error.code, 'ledger_filter_timestamp');
  const tooMany = await get('/v1/ledger/accounts?limit=5000');
  assert.equal(tooMany.statusCode, 400);
  assert.equal(tooMany.json().error.code, 'ledger_filter_limit');
  const unknownField = await get('/v1/ledger/transfers?colour=red');
  assert.equal(unknownField.statusCode, 400);
});

test('HTTP reads one second after a hold deadline, the expiry job not run: balance released, status expired', async () => {
  const [a, b] = [uuidv7(), uuidv7()];
  await app.inject({
    method: 'POST',
    url: '/v1/ledger/accounts',
    headers: admin,
    payload: {
      accounts: [
        { id: a, ledger: 1, code: 41 },
        { id: b, ledger: 1, code: 42 },
      ],
    },
  });
  const hold = uuidv7();
  const held = await app.inject({
    method: 'POST',
    url: '/v1/ledger/transfers',
    headers: { ...admin, 'idempotency-key': uuidv7() },
    payload: {
      transfers: [
        {
          id: hold,
          debit_account_id: a,
          credit_account_id: b,
          amount: '70',
          ledger: 1,
          code: 1,
          flags: ['pending'],
          timeout: 60,
        },
      ],
    },
  });
  assert.equal(held.json().results[0].result, 'ok');
  const read = () => app.inject({ method: 'GET', url: `/v1/ledger/accounts/${a}`, headers: reader });
  assert.equal((await read()).json().debits_pending, '70');
  clock.advance(61_000);
  assert.equal((await read()).json().debits_pending, '0');
  const transfer = await app.inject({ method: 'GET', url: `/v1/ledger/transfers/${hold}`, headers: reader });
  assert.equal(transfer.json().pending_status, 'expired');
});
