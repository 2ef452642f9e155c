import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { businessDate, ManualClock } from '../platform/clock.ts';
import { BankError } from './connector.ts';
import { HttpBankConnector } from './http-connector.ts';
import { eventually, type ReceivedCallback, startBankFixture } from './testing.ts';

/** Every fault knob, end to end over HTTP: the wallet's view through the connector. */
let fx: Awaited<ReturnType<typeof startBankFixture>>;
before(async () => {
  fx = await startBankFixture({ timeoutMs: 400 });
});
after(() => fx.stop());

const CNY = 'CNY' as const;
const forRequest = (requestId: string) => (all: ReceivedCallback[]) =>
  all.filter((c) => c.body.includes(`"${requestId}"`));
const parse = (c: ReceivedCallback) =>
  fx.connector.parseCallback(c.headers as Record<string, string>, c.body);
const settled = (requestId: string) =>
  eventually(async () => {
    const status = await fx.connector.status(requestId);
    return status.found && status.operation.status !== 'processing' ? status.operation : undefined;
  });

test('duplicate callbacks (0007): three deliveries of one outcome; the first copy reuses the webhook-id', async () => {
  const token = await fx.card('0007');
  const balance = await fx.available(token);
  await fx.connector.debit({ requestId: 'dup-1', cardToken: token, amount: 100n, currency: CNY });
  const callbacks = forRequest('dup-1')(
    await fx.receiver.waitFor((all) => forRequest('dup-1')(all).length === 3),
  );
  const events = callbacks.map(parse);
  assert.deepEqual(
    events.map((e) => e.type),
    ['operation.succeeded', 'operation.succeeded', 'operation.succeeded'],
  );
  assert.equal(events[0]!.eventId, events[1]!.eventId);
  assert.notEqual(events[0]!.eventId, events[2]!.eventId);
  assert.equal(new Set(events.map((e) => e.operation.bankReference)).size, 1);
  assert.equal(
    await fx.available(token),
    balance - 100n,
    'duplicates are notices, not extra money movements',
  );
});

test('early callback (0008): the outcome arrives before the API call returns', async () => {
  const token = await fx.card('0008');
  let answered = false;
  const pending = fx.connector
    .debit({ requestId: 'early-1', cardToken: token, amount: 100n, currency: CNY })
    .then((result) => {
      answered = true;
      return result;
    });
  await fx.receiver.waitFor((all) => forRequest('early-1')(all).length === 1);
  const arrivedBeforeAnswer = !answered;
  const result = await pending;
  assert.ok(arrivedBeforeAnswer, 'callback came first');
  assert.equal(result.outcome, 'succeeded', 'the late API answer already carries the outcome');
});

test('lost callback (0006): nothing is delivered; polling reveals the outcome', async () => {
  const token = await fx.card('0006');
  const result = await fx.connector.debit({
    requestId: 'lost-1',
    cardToken: token,
    amount: 100n,
    currency: CNY,
  });
  assert.equal(result.outcome, 'processing');
  const operation = await settled('lost-1');
  assert.equal(operation.status, 'succeeded');
  await fx.bank.dispatcher.idle();
  assert.equal(forRequest('lost-1')(fx.receiver.received).length, 0);
  assert.deepEqual(
    fx.bank.dispatcher.deliveries('lost-1').map((d) => d.status),
    ['lost'],
  );
});

test('out-of-order callbacks (0009): the final event, then a stale processing event with a lower sequence', async () => {
  const token = await fx.card('0009');
  await fx.connector.debit({ requestId: 'ooo-1', cardToken: token, amount: 100n, currency: CNY });
  const events = forRequest('ooo-1')(
    await fx.receiver.waitFor((all) => forRequest('ooo-1')(all).length === 2),
  ).map(parse);
  assert.deepEqual(
    events.map((e) => [e.type, e.operation.sequence]),
    [
      ['operation.succeeded', 2],
      ['operation.processing', 1],
    ],
  );
});

test('timeout, operation accepted (0010): the call is unknown, yet the money moved; polling finds it', async () => {
  const token = await fx.card('0010');
  const balance = await fx.available(token);
  const result = await fx.connector.debit({
    requestId: 'to-acc-1',
    cardToken: token,
    amount: 250n,
    currency: CNY,
  });
  assert.deepEqual(result.outcome === 'unknown' && result.cause, 'timeout');
  assert.equal((await settled('to-acc-1')).status, 'succeeded');
  assert.equal(await fx.available(token), balance - 250n);
});

test('timeout, never received (0011): unknown; polling says not found; a retry with the same id goes through once', async () => {
  const token = await fx.card('0011');
  const balance = await fx.available(token);
  const request = { requestId: 'to-lost-1', cardToken: token, amount: 250n, currency: CNY };
  const result = await fx.connector.debit(request);
  assert.deepEqual(result.outcome === 'unknown' && result.cause, 'timeout');
  assert.deepEqual(await fx.connector.status('to-lost-1'), { found: false });
  assert.equal(await fx.available(token), balance);
  await fx.admin('PATCH', `/sandbox/cards/${token}`, { faults: {} });
  const retry = await fx.connector.debit(request);
  assert.equal(retry.outcome, 'processing');
  assert.equal((await settled('to-lost-1')).status, 'succeeded');
  assert.equal(await fx.available(token), balance - 250n);
});

test('per-request knobs: latency past the client timeout is unknown; within it, fine; outcome delay keeps it processing', async () => {
  const token = await fx.card('0301');
  const slow = await fx.connector.debit({
    requestId: 'lat-1',
    cardToken: token,
    amount: 1n,
    currency: CNY,
    sandboxFaults: { latency_ms: 1_500 },
  });
  assert.deepEqual(slow.outcome === 'unknown' && slow.cause, 'timeout');
  const quick = await fx.connector.debit({
    requestId: 'lat-2',
    cardToken: token,
    amount: 1n,
    currency: CNY,
    sandboxFaults: { latency_ms: 50 },
  });
  assert.equal(quick.outcome, 'processing');
  await fx.connector.debit({
    requestId: 'delay-1',
    cardToken: token,
    amount: 1n,
    currency: CNY,
    sandboxFaults: { outcome_delay_ms: 60_000 },
  });
  const status = await fx.connector.status('delay-1');
  assert.ok(status.found && status.operation.status === 'processing' && status.operation.sequence === 1);
});

test('a failed callback delivery is retried until the receiver takes it', async () => {
  const token = await fx.card('0302');
  fx.receiver.failNext(2, '"retry-1"');
  await fx.connector.debit({ requestId: 'retry-1', cardToken: token, amount: 1n, currency: CNY });
  await fx.receiver.waitFor((all) => forRequest('retry-1')(all).length === 1);
  const delivery = await eventually(async () =>
    fx.bank.dispatcher.deliveries('retry-1').find((d) => d.status === 'delivered'),
  );
  assert.equal(delivery!.attempts, 3);
});

test('statement discrepancies (0012-0015): missing, extra, amount mismatch and duplicated lines', async () => {
  const requests: Record<string, string> = {
    '0012': 'st-missing',
    '0013': 'st-extra',
    '0014': 'st-amount',
    '0015': 'st-dup',
    '0303': 'st-ok',
  };
  for (const [last4, requestId] of Object.entries(requests)) {
    const token = await fx.card(last4);
    await fx.connector.debit({ requestId, cardToken: token, amount: 1_000n, currency: CNY });
  }
  const operations = await Promise.all(Object.values(requests).map(settled));
  const date = businessDate(operations[0]!.completedAt!, 'Asia/Shanghai');
  const statement = await fx.connector.statement(date);
  const linesFor = (requestId: string) => statement.lines.filter((line) => line.requestId === requestId);
  assert.equal(linesFor('st-ok').length, 1);
  assert.equal(linesFor('st-ok')[0]!.amount, 1_000n);
  assert.equal(linesFor('st-missing').length, 0);
  assert.equal(linesFor('st-dup').length, 2);
  assert.equal(linesFor('st-amount')[0]!.amount, 1_001n);
  const extraRef = operations[1]!.bankReference;
  assert.equal(linesFor('st-extra').length, 1);
  assert.equal(linesFor(`sandbox-extra-${extraRef}`).length, 1);
  assert.ok(
    statement.raw.startsWith(
      'business_date,bank_reference,request_id,direction,amount_minor,currency,status\n',
    ),
  );
  assert.equal((await fx.connector.statement('2001-01-01')).lines.length, 0);
});

test('callback signatures: the real one verifies; tampered body, wrong secret, stale timestamp are refused', async () => {
  const token = await fx.card('0304');
  await fx.connector.debit({ requestId: 'sig-1', cardToken: token, amount: 1n, currency: CNY });
  const [callback] = forRequest('sig-1')(
    await fx.receiver.waitFor((all) => forRequest('sig-1')(all).length === 1),
  );
  const headers = callback!.headers as Record<string, string>;
  assert.equal(parse(callback!).operation.requestId, 'sig-1');
  const refused = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof BankError);
      return error.code;
    }
    return 'accepted';
  };
  assert.equal(
    refused(() =>
      fx.connector.parseCallback(headers, callback!.body.replace('"amount":"1"', '"amount":"9"')),
    ),
    'callback_signature_invalid',
  );
  const wrongSecret = new HttpBankConnector({ baseUrl: fx.bank.url, webhookSecret: 'whsec_d3Jvbmc=' });
  assert.equal(
    refused(() => wrongSecret.parseCallback(headers, callback!.body)),
    'callback_signature_invalid',
  );
  const clock = new ManualClock(new Date(Number(headers['webhook-timestamp']) * 1000 + 6 * 60_000));
  const late = new HttpBankConnector({ baseUrl: fx.bank.url, webhookSecret: fx.secret, clock });
  assert.equal(
    refused(() => late.parseCallback(headers, callback!.body)),
    'callback_timestamp_stale',
  );
  clock.advance(-2 * 60_000);
  assert.equal(
    refused(() => late.parseCallback(headers, callback!.body)),
    'accepted',
  );
});

test('a bank that is down is unknown for money and retryable for everything else', async () => {
  const down = new HttpBankConnector({
    baseUrl: 'http://127.0.0.1:9',
    webhookSecret: fx.secret,
    timeoutMs: 1_000,
  });
  const result = await down.debit({ requestId: 'down-1', cardToken: 'tok_x', amount: 1n, currency: CNY });
  assert.equal(result.outcome, 'unknown');
  await assert.rejects(
    down.status('down-1'),
    (error) => error instanceof BankError && error.code === 'bank_unavailable' && error.retryable,
  );
});
