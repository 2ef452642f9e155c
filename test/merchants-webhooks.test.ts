import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { webhookEventId } from '../src/merchants/webhooks/events.ts';
import { MAX_DELIVERY_ATTEMPTS, RETRY_DELAYS_MS } from '../src/merchants/webhooks/retry.ts';
import { ManualClock } from '../src/platform/clock.ts';
import { uuidv7 } from '../src/platform/ids.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { errorCode } from './identity-fixtures.ts';

/**
 * Signed webhooks end to end: endpoints over HTTP, events emitted in a transaction, deliveries
 * to a real receiver on 127.0.0.1 that fails on purpose, retries on a manual clock, the dead
 * letter, replay, the delivery log, and every delivery verified with the official
 * `standardwebhooks` library (never with Tuyere's own signer).
 */
let app: TestApp;
const clock = new ManualClock(new Date());
before(async () => {
  app = await createTestApp({ clock, config: { merchantsWebhookTimeoutMs: 500 } });
});
after(async () => {
  await app.close();
  await Promise.all(receivers.map((r) => new Promise((resolve) => r.server.close(resolve))));
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

type Received = { headers: IncomingHttpHeaders; body: string };
type Receiver = {
  url: string;
  server: Server;
  received: Received[];
  /** How the receiver answers the n-th request (0-based): a status, or 'hang' (never answers). */
  answer: (n: number) => number | 'hang';
};
const receivers: Receiver[] = [];

async function startReceiver(answer: Receiver['answer']): Promise<Receiver> {
  const receiver: Receiver = { url: '', server: createServer(), received: [], answer };
  receiver.server.on('request', (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const n = receiver.received.length;
      receiver.received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const outcome = receiver.answer(n);
      if (outcome === 'hang') return;
      response.writeHead(outcome, { 'content-type': 'text/plain' });
      response.end(outcome >= 300 ? `failure ${n} ${'x'.repeat(3000)}` : 'ok');
    });
  });
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/hooks`;
  receivers.push(receiver);
  return receiver;
}

/** Verifies a received request with the official library, at the test clock's time. */
function verifyOfficially(secret: string, received: Received): unknown {
  const headers = {
    'webhook-id': String(received.headers['webhook-id']),
    'webhook-timestamp': String(received.headers['webhook-timestamp']),
    'webhook-signature': String(received.headers['webhook-signature']),
  };
  const realNow = Date.now;
  Date.now = () => clock.now().getTime(); // the library checks the timestamp against "now"
  try {
    return new Webhook(secret).verify(received.body, headers);
  } finally {
    Date.now = realNow;
  }
}

async function createMerchant(name: string) {
  const created = await app.http.inject({
    method: 'POST',
    url: '/v1/operator/merchants',
    headers: app.operatorHeaders,
    payload: { name },
  });
  assert.equal(created.statusCode, 201, created.body);
  const merchantId = created.json().id as string;
  const key = await app.http.inject({
    method: 'POST',
    url: `/v1/merchants/${merchantId}/api-keys`,
    headers: app.operatorHeaders,
    payload: { name: 'hooks', scopes: ['webhooks:manage', 'payments:read'] },
  });
  assert.equal(key.statusCode, 201, key.body);
  return { merchantId, apiKey: key.json().api_key as string };
}

async function createEndpoint(
  merchant: { merchantId: string; apiKey: string },
  url: string,
  eventTypes = ['order.paid', 'refund.succeeded'],
) {
  const response = await app.http.inject({
    method: 'POST',
    url: `/v1/merchants/${merchant.merchantId}/webhook-endpoints`,
    headers: bearer(merchant.apiKey),
    payload: { url, description: 'shop backend', event_types: eventTypes },
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json() as { secret: string; endpoint: { id: string; status: string } };
}

const emitPaid = (merchantId: string, orderId: string) =>
  app.merchants.webhooks.emit(
    merchantId,
    'order.paid',
    { order_id: orderId, amount: 1999n, currency: 'CNY' },
    { eventId: webhookEventId('order.paid', orderId) },
  );

async function deliveriesOf(apiKey: string, endpointId: string) {
  const response = await app.http.inject({
    method: 'GET',
    url: `/v1/webhook-endpoints/${endpointId}/deliveries`,
    headers: bearer(apiKey),
  });
  assert.equal(response.statusCode, 200, response.body);
  return response.json().deliveries as Array<{
    id: string;
    event_id: string;
    state: string;
    attempts: number;
    next_attempt_at: string | null;
  }>;
}

test('endpoints: secret shown once, URL rules, scope enforcement, another merchant gets 404', async () => {
  const shop = await createMerchant('Webhook Shop');
  const other = await createMerchant('Other Shop');
  const created = await createEndpoint(shop, 'http://127.0.0.1:9/hooks');
  assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(created.endpoint.status, 'enabled');

  const listed = await app.http.inject({
    method: 'GET',
    url: `/v1/merchants/${shop.merchantId}/webhook-endpoints`,
    headers: bearer(shop.apiKey),
  });
  assert.equal(listed.statusCode, 200, listed.body);
  assert.equal(listed.json().webhook_endpoints.length, 1);
  assert.ok(!listed.body.includes(created.secret.slice(6)), 'the secret is never listed');
  const stored = await app.db.query<{ secret: string }>(
    'SELECT secret FROM merchants_webhook_endpoints WHERE id = $1',
    [created.endpoint.id],
  );
  assert.match(stored.rows[0]!.secret, /^v1:/, 'sealed at rest');
  assert.ok(!stored.rows[0]!.secret.includes(created.secret.slice(6)));

  const refused = async (url: string) => {
    const response = await app.http.inject({
      method: 'POST',
      url: `/v1/merchants/${shop.merchantId}/webhook-endpoints`,
      headers: bearer(shop.apiKey),
      payload: { url, event_types: ['order.paid'] },
    });
    assert.equal(response.statusCode, 400, `${url}: ${response.body}`);
    assert.equal(errorCode(response), 'webhook_url_invalid');
  };
  await refused('http://shop.example.com/hooks');
  await refused('https://user:secret@shop.example.com/hooks');
  await refused('https://169.254.169.254/latest/meta-data');
  await refused('https://10.1.2.3/hooks');

  const unknownType = await app.http.inject({
    method: 'POST',
    url: `/v1/merchants/${shop.merchantId}/webhook-endpoints`,
    headers: bearer(shop.apiKey),
    payload: { url: 'https://shop.example.com/hooks', event_types: ['order.exploded'] },
  });
  assert.equal(unknownType.statusCode, 400);

  // A key without webhooks:manage is refused; another merchant's key cannot see the endpoint.
  const readOnly = await app.http.inject({
    method: 'POST',
    url: `/v1/merchants/${shop.merchantId}/api-keys`,
    headers: app.operatorHeaders,
    payload: { name: 'reader', scopes: ['payments:read'] },
  });
  const noScope = await app.http.inject({
    method: 'GET',
    url: `/v1/webhook-endpoints/${created.endpoint.id}`,
    headers: bearer(readOnly.json().api_key),
  });
  assert.equal(noScope.statusCode, 403);
  assert.equal(errorCode(noScope), 'insufficient_scope');
  for (const [method, url] of [
    ['GET', `/v1/webhook-endpoints/${created.endpoint.id}`],
    ['PATCH', `/v1/webhook-endpoints/${created.endpoint.id}`],
    ['DELETE', `/v1/webhook-endpoints/${created.endpoint.id}`],
    ['POST', `/v1/webhook-endpoints/${created.endpoint.id}/rotate-secret`],
    ['GET', `/v1/webhook-endpoints/${created.endpoint.id}/deliveries`],
  ] as const) {
    const response = await app.http.inject({
      method,
      url,
      headers: bearer(other.apiKey),
      ...(method === 'PATCH' ? { payload: { enabled: false } } : method === 'POST' ? { payload: {} } : {}),
    });
    assert.equal(response.statusCode, 404, `${method} ${url}: ${response.body}`);
  }
  const otherList = await app.http.inject({
    method: 'GET',
    url: `/v1/merchants/${shop.merchantId}/webhook-endpoints`,
    headers: bearer(other.apiKey),
  });
  assert.equal(otherList.statusCode, 404);

  const deleted = await app.http.inject({
    method: 'DELETE',
    url: `/v1/webhook-endpoints/${created.endpoint.id}`,
    headers: bearer(shop.apiKey),
  });
  assert.equal(deleted.statusCode, 204, deleted.body);
  const gone = await app.http.inject({
    method: 'GET',
    url: `/v1/webhook-endpoints/${created.endpoint.id}`,
    headers: bearer(shop.apiKey),
  });
  assert.equal(gone.statusCode, 404);
});

test('emit is part of the caller transaction and idempotent by event id', async () => {
  const shop = await createMerchant('Outbox Shop');
  const receiver = await startReceiver(() => 204);
  const { endpoint } = await createEndpoint(shop, receiver.url);
  const orderId = uuidv7();
  await assert.rejects(
    app.db.transaction(async (tx) => {
      await app.merchants.webhooks.emit(
        shop.merchantId,
        'order.paid',
        { order_id: orderId },
        { eventId: webhookEventId('order.paid', orderId), tx },
      );
      throw new Error('the business change fails');
    }),
    /business change fails/,
  );
  assert.deepEqual(await deliveriesOf(shop.apiKey, endpoint.id), [], 'rolled back with its transaction');

  const first = await emitPaid(shop.merchantId, orderId);
  const again = await emitPaid(shop.merchantId, orderId);
  assert.deepEqual([first.created, first.deliveries], [true, 1]);
  assert.deepEqual([again.created, again.deliveries], [false, 0]);
  // Not subscribed to order.closed: no delivery.
  const closed = await app.merchants.webhooks.emit(
    shop.merchantId,
    'order.closed',
    { order_id: orderId },
    { eventId: webhookEventId('order.closed', orderId) },
  );
  assert.equal(closed.deliveries, 0);
  assert.equal(await app.merchants.webhooks.deliverDue(), 1);
  assert.equal(receiver.received.length, 1);
  assert.equal(receiver.received[0]!.headers['webhook-id'], first.eventId);
});

test('a receiver failing three times gets retries on the backoff schedule, then the delivery is logged as delivered', async () => {
  const shop = await createMerchant('Flaky Shop');
  const receiver = await startReceiver((n) => (n < 3 ? 500 : 200));
  const { endpoint, secret } = await createEndpoint(shop, receiver.url);
  const orderId = uuidv7();
  const { eventId } = await emitPaid(shop.merchantId, orderId);

  assert.equal(await app.merchants.webhooks.deliverDue(), 1);
  assert.equal(receiver.received.length, 1);
  for (let failed = 1; failed <= 3; failed++) {
    const [delivery] = await deliveriesOf(shop.apiKey, endpoint.id);
    assert.equal(delivery!.state, 'pending');
    assert.equal(delivery!.attempts, failed);
    const wait = new Date(delivery!.next_attempt_at!).getTime() - clock.now().getTime();
    const base = RETRY_DELAYS_MS[failed - 1]!;
    assert.ok(wait >= base * 0.9 && wait <= base * 1.1, `retry ${failed} after ${wait} ms, schedule ${base}`);
    // Not due before its time.
    clock.advance(wait - 1000);
    assert.equal(await app.merchants.webhooks.deliverDue(), 0);
    clock.advance(1000);
    assert.equal(await app.merchants.webhooks.deliverDue(), 1);
  }
  assert.equal(receiver.received.length, 4);
  for (const received of receiver.received) {
    assert.equal(received.headers['webhook-id'], eventId, 'the same message id on every attempt');
    assert.equal(received.headers['content-type'], 'application/json');
    assert.equal(received.body, receiver.received[0]!.body, 'the same body on every attempt');
  }
  // The last attempt verifies with the official library at its own time.
  assert.deepEqual(verifyOfficially(secret, receiver.received[3]!), {
    type: 'order.paid',
    timestamp: (JSON.parse(receiver.received[0]!.body) as { timestamp: string }).timestamp,
    data: { order_id: orderId, amount: '1999', currency: 'CNY' },
  });

  const [delivered] = await deliveriesOf(shop.apiKey, endpoint.id);
  assert.equal(delivered!.state, 'delivered');
  const log = await app.http.inject({
    method: 'GET',
    url: `/v1/webhook-deliveries/${delivered!.id}`,
    headers: bearer(shop.apiKey),
  });
  assert.equal(log.statusCode, 200, log.body);
  const attempts = log.json().attempts as Array<{
    status_code: number;
    succeeded: boolean;
    latency_ms: number;
    error: string | null;
    response_body: string;
  }>;
  assert.deepEqual(
    attempts.map((a) => [a.status_code, a.succeeded]),
    [
      [500, false],
      [500, false],
      [500, false],
      [200, true],
    ],
  );
  assert.equal(attempts[0]!.error, 'endpoint answered HTTP 500');
  assert.ok(attempts[0]!.response_body.startsWith('failure 0 '));
  assert.equal(attempts[0]!.response_body.length, 1024, 'response bodies are truncated');
  assert.equal(attempts[3]!.response_body, 'ok');
  assert.equal(attempts[3]!.error, null);
  assert.ok(attempts.every((a) => Number.isInteger(a.latency_ms) && a.latency_ms >= 0));
});

test('a receiver that always fails ends in the dead letter; replay by merchant and operator delivers', async () => {
  const shop = await createMerchant('Down Shop');
  let healthy = false;
  const receiver = await startReceiver((n) => (healthy ? 200 : n % 2 === 0 ? 503 : 'hang'));
  const { endpoint, secret } = await createEndpoint(shop, receiver.url);
  await emitPaid(shop.merchantId, uuidv7());

  for (let attempt = 1; attempt <= MAX_DELIVERY_ATTEMPTS; attempt++) {
    assert.equal(await app.merchants.webhooks.deliverDue(), 1, `attempt ${attempt}`);
    const [delivery] = await deliveriesOf(shop.apiKey, endpoint.id);
    if (attempt < MAX_DELIVERY_ATTEMPTS) clock.set(delivery!.next_attempt_at!);
  }
  const [dead] = await deliveriesOf(shop.apiKey, endpoint.id);
  assert.equal(dead!.state, 'dead');
  assert.equal(dead!.next_attempt_at, null);
  assert.equal(receiver.received.length, MAX_DELIVERY_ATTEMPTS);
  clock.advance(30 * 86_400_000);
  assert.equal(await app.merchants.webhooks.deliverDue(), 0, 'a dead delivery is not retried');

  const log = await app.http.inject({
    method: 'GET',
    url: `/v1/webhook-deliveries/${dead!.id}`,
    headers: bearer(shop.apiKey),
  });
  const attempts = log.json().attempts as Array<{ status_code: number | null; error: string }>;
  assert.equal(attempts.length, MAX_DELIVERY_ATTEMPTS);
  assert.equal(attempts[0]!.status_code, 503);
  assert.equal(attempts[1]!.status_code, null);
  assert.match(attempts[1]!.error, /timeout after 500 ms/);

  // A second event dies too; after the outage the merchant replays every dead delivery at once.
  await emitPaid(shop.merchantId, uuidv7());
  for (let attempt = 1; attempt <= MAX_DELIVERY_ATTEMPTS; attempt++) {
    assert.equal(await app.merchants.webhooks.deliverDue(), 1);
    const [latest] = await deliveriesOf(shop.apiKey, endpoint.id);
    if (attempt < MAX_DELIVERY_ATTEMPTS) clock.set(latest!.next_attempt_at!);
  }
  assert.deepEqual(
    (await deliveriesOf(shop.apiKey, endpoint.id)).map((d) => d.state),
    ['dead', 'dead'],
  );
  const deadOnly = await app.http.inject({
    method: 'GET',
    url: `/v1/webhook-endpoints/${endpoint.id}/deliveries?state=dead`,
    headers: bearer(shop.apiKey),
  });
  assert.equal(deadOnly.json().deliveries.length, 2);

  // The merchant fixes its server and replays: a new cycle, delivered and verifiable.
  healthy = true;
  const replayed = await app.http.inject({
    method: 'POST',
    url: `/v1/webhook-deliveries/${dead!.id}/replay`,
    headers: bearer(shop.apiKey),
    payload: {},
  });
  assert.equal(replayed.statusCode, 200, replayed.body);
  assert.equal(replayed.json().state, 'pending');
  assert.equal(replayed.json().attempts, 0);
  assert.equal(await app.merchants.webhooks.deliverDue(), 1);
  const last = receiver.received.at(-1)!;
  assert.ok(verifyOfficially(secret, last));
  const afterReplay = await deliveriesOf(shop.apiKey, endpoint.id);
  assert.equal(afterReplay.find((d) => d.id === dead!.id)!.state, 'delivered');

  const [second] = await deliveriesOf(shop.apiKey, endpoint.id);
  assert.equal(second!.state, 'dead');
  const bulk = await app.http.inject({
    method: 'POST',
    url: `/v1/webhook-endpoints/${endpoint.id}/replay-dead`,
    headers: bearer(shop.apiKey),
    payload: {},
  });
  assert.equal(bulk.statusCode, 200, bulk.body);
  assert.equal(bulk.json().replayed, 1, 'only the dead one');
  assert.equal(await app.merchants.webhooks.deliverDue(), 1);
  assert.deepEqual(
    (await deliveriesOf(shop.apiKey, endpoint.id)).map((d) => d.state),
    ['delivered', 'delivered'],
  );

  // An operator replays it once more (a delivered message may be sent again); it is audited.
  const byOperator = await app.http.inject({
    method: 'POST',
    url: `/v1/operator/webhook-deliveries/${dead!.id}/replay`,
    headers: app.operatorHeaders,
    payload: {},
  });
  assert.equal(byOperator.statusCode, 200, byOperator.body);
  assert.equal(await app.merchants.webhooks.deliverDue(), 1);
  assert.equal(receiver.received.length, 2 * MAX_DELIVERY_ATTEMPTS + 3);
  const merchantCannotUseOperatorRoute = await app.http.inject({
    method: 'POST',
    url: `/v1/operator/webhook-deliveries/${dead!.id}/replay`,
    headers: bearer(shop.apiKey),
    payload: {},
  });
  assert.equal(merchantCannotUseOperatorRoute.statusCode, 403);

  const audit = await app.http.inject({
    method: 'GET',
    url: `/v1/audit?subject=merchant:${shop.merchantId}`,
    headers: app.operatorHeaders,
  });
  const replays = (
    audit.json().entries as Array<{ action: string; actor: string; details: Record<string, unknown> }>
  )
    .filter((e) => e.action === 'webhook_delivery.replayed')
    .map((e) => [e.actor, e.details.previous_state]);
  assert.deepEqual(replays, [
    [`merchant:${shop.merchantId}`, 'dead'],
    ['operator:root', 'delivered'],
  ]);
});

test('secret rotation: during the overlap both secrets verify with the official library, afterwards only the new one', async () => {
  const shop = await createMerchant('Rotating Shop');
  const receiver = await startReceiver(() => 200);
  const { endpoint, secret: oldSecret } = await createEndpoint(shop, receiver.url);
  const rotated = await app.http.inject({
    method: 'POST',
    url: `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`,
    headers: bearer(shop.apiKey),
    payload: { overlap_seconds: 3600 },
  });
  assert.equal(rotated.statusCode, 201, rotated.body);
  const newSecret = rotated.json().secret as string;
  assert.notEqual(newSecret, oldSecret);
  assert.ok(rotated.json().endpoint.previous_secret_expires_at);

  await emitPaid(shop.merchantId, uuidv7());
  await app.merchants.webhooks.deliverDue();
  const during = receiver.received[0]!;
  assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2);
  assert.ok(verifyOfficially(oldSecret, during));
  assert.ok(verifyOfficially(newSecret, during));

  clock.advance(3600_000);
  await emitPaid(shop.merchantId, uuidv7());
  await app.merchants.webhooks.deliverDue();
  const afterOverlap = receiver.received[1]!;
  assert.equal(String(afterOverlap.headers['webhook-signature']).split(' ').length, 1);
  assert.ok(verifyOfficially(newSecret, afterOverlap));
  assert.throws(() => verifyOfficially(oldSecret, afterOverlap));
});

test('two workers at once attempt each due delivery once (SKIP LOCKED); the scheduled job delivers', async () => {
  const shop = await createMerchant('Busy Shop');
  const receiver = await startReceiver(() => 200);
  await createEndpoint(shop, receiver.url);
  for (let i = 0; i < 6; i++) await emitPaid(shop.merchantId, uuidv7());
  const [a, b] = await Promise.all([
    app.merchants.webhooks.deliverDue({ batch: 2 }),
    app.merchants.webhooks.deliverDue({ batch: 2 }),
  ]);
  assert.equal(a + b, 6);
  assert.equal(receiver.received.length, 6);
  assert.equal(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, 6);

  // The module's job does the same work when the queue runs it.
  await emitPaid(shop.merchantId, uuidv7());
  await app.jobs.enqueue('merchants.webhooks.deliver');
  assert.equal(await app.jobs.drain(), 1);
  assert.equal(receiver.received.length, 7);
});

test('a worker that dies mid-attempt leaves a lease; once it expires the delivery is attempted again', async () => {
  const shop = await createMerchant('Crashy Shop');
  const receiver = await startReceiver(() => 200);
  const { endpoint } = await createEndpoint(shop, receiver.url);
  await emitPaid(shop.merchantId, uuidv7());
  const [delivery] = await deliveriesOf(shop.apiKey, endpoint.id);
  // What a claim leaves behind when its process is killed before the attempt is recorded.
  await app.db.query(
    "UPDATE merchants_webhook_deliveries SET attempts = 1, lease_until = $2::timestamptz + interval '1 minute' WHERE id = $1",
    [delivery!.id, clock.now()],
  );
  assert.equal(await app.merchants.webhooks.deliverDue(), 0, 'not while the lease holds');
  clock.advance(61_000);
  assert.equal(await app.merchants.webhooks.deliverDue(), 1);
  const [after] = await deliveriesOf(shop.apiKey, endpoint.id);
  assert.deepEqual([after!.state, after!.attempts], ['delivered', 2]);
  assert.equal(receiver.received.length, 1);
});

test('a secret that cannot be opened is a failed attempt that backs off, nothing is sent unsigned', async () => {
  const shop = await createMerchant('Rekeyed Shop');
  const receiver = await startReceiver(() => 200);
  const { endpoint } = await createEndpoint(shop, receiver.url);
  await emitPaid(shop.merchantId, uuidv7());
  // As if MERCHANTS_WEBHOOK_SECRET_KEY had changed: the sealed secret no longer opens.
  await app.db.query('UPDATE merchants_webhook_endpoints SET secret = $2 WHERE id = $1', [
    endpoint.id,
    `v1:${Buffer.alloc(40, 1).toString('base64')}`,
  ]);
  assert.equal(await app.merchants.webhooks.deliverDue(), 1);
  assert.equal(receiver.received.length, 0);
  const [delivery] = await deliveriesOf(shop.apiKey, endpoint.id);
  assert.deepEqual([delivery!.state, delivery!.attempts], ['pending', 1]);
  assert.ok(new Date(delivery!.next_attempt_at!) > clock.now(), 'backs off');
  const log = await app.http.inject({
    method: 'GET',
    url: `/v1/webhook-deliveries/${delivery!.id}`,
    headers: bearer(shop.apiKey),
  });
  assert.match(log.json().attempts[0].error, /signing secret cannot be opened/);
});

test('a disabled endpoint receives nothing, and its deliveries wait until it is enabled', async () => {
  const shop = await createMerchant('Paused Shop');
  const receiver = await startReceiver(() => 200);
  const { endpoint } = await createEndpoint(shop, receiver.url);
  await emitPaid(shop.merchantId, uuidv7()); // pending, not yet attempted
  const disable = await app.http.inject({
    method: 'PATCH',
    url: `/v1/webhook-endpoints/${endpoint.id}`,
    headers: bearer(shop.apiKey),
    payload: { enabled: false },
  });
  assert.equal(disable.statusCode, 200, disable.body);
  assert.equal(disable.json().status, 'disabled');
  const whileDisabled = await emitPaid(shop.merchantId, uuidv7());
  assert.equal(whileDisabled.deliveries, 0, 'no delivery is created for a disabled endpoint');
  assert.equal(await app.merchants.webhooks.deliverDue(), 0);
  assert.equal(receiver.received.length, 0);

  const pending = (await deliveriesOf(shop.apiKey, endpoint.id)).find((d) => d.state === 'pending');
  const replay = await app.http.inject({
    method: 'POST',
    url: `/v1/webhook-deliveries/${pending!.id}/replay`,
    headers: bearer(shop.apiKey),
    payload: {},
  });
  assert.equal(replay.statusCode, 409);
  assert.equal(errorCode(replay), 'webhook_endpoint_disabled');

  await app.http.inject({
    method: 'PATCH',
    url: `/v1/webhook-endpoints/${endpoint.id}`,
    headers: bearer(shop.apiKey),
    payload: { enabled: true },
  });
  assert.equal(await app.merchants.webhooks.deliverDue(), 1);
  assert.equal(receiver.received.length, 1);
});

test('verify is clean, /metrics counts backlog and dead letters, settled deliveries are purged after the retention', async () => {
  const shop = await createMerchant('Old Shop');
  const receiver = await startReceiver(() => 200);
  const { endpoint } = await createEndpoint(shop, receiver.url);
  await emitPaid(shop.merchantId, uuidv7());
  assert.equal(await app.merchants.webhooks.deliverDue(), 1);
  const [delivered] = await deliveriesOf(shop.apiKey, endpoint.id);
  await emitPaid(shop.merchantId, uuidv7()); // stays pending: never purged

  const checks = await app.verify();
  const check = checks.find((c) => c.name === 'merchants: webhook deliveries consistent');
  assert.deepEqual(check, { name: 'merchants: webhook deliveries consistent', ok: true, violations: [] });
  // Tampering shows: a delivery marked delivered with no successful attempt in its log.
  const pending = (await deliveriesOf(shop.apiKey, endpoint.id)).find((d) => d.state === 'pending');
  await app.db.query("UPDATE merchants_webhook_deliveries SET state = 'delivered' WHERE id = $1", [
    pending!.id,
  ]);
  const tampered = (await app.verify()).find((c) => c.name === 'merchants: webhook deliveries consistent')!;
  assert.deepEqual(tampered.violations, [`delivered delivery ${pending!.id} has no successful attempt`]);
  await app.db.query("UPDATE merchants_webhook_deliveries SET state = 'pending' WHERE id = $1", [
    pending!.id,
  ]);

  const metrics = await app.http.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /^tuyere_webhook_deliveries_due [1-9]/m);
  assert.match(metrics.body, /^tuyere_webhook_deliveries_dead 0$/m);

  clock.advance(29 * 86_400_000);
  await app.merchants.webhooks.purgeExpired();
  assert.equal((await deliveriesOf(shop.apiKey, endpoint.id)).length, 2, 'kept within the retention');
  clock.advance(2 * 86_400_000);
  assert.ok((await app.merchants.webhooks.purgeExpired()) >= 1);
  const left = await deliveriesOf(shop.apiKey, endpoint.id);
  assert.deepEqual(
    left.map((d) => d.state),
    ['pending'],
  );
  const gone = await app.http.inject({
    method: 'GET',
    url: `/v1/webhook-deliveries/${delivered!.id}`,
    headers: bearer(shop.apiKey),
  });
  assert.equal(gone.statusCode, 404);
  const events = await app.db.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM merchants_webhook_events WHERE merchant_id = $1',
    [shop.merchantId],
  );
  assert.equal(events.rows[0]!.count, 1, "the purged delivery's event went with it; the pending one's stays");
});
