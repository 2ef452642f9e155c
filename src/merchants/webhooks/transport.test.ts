import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { httpTransport, RESPONSE_BODY_LIMIT } from './transport.ts';

// A receiver on 127.0.0.1 answering by path: /ok, /big, /redirect, /hang.
let port = 0;
const seen: Array<{ headers: Record<string, unknown>; body: string }> = [];
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (c: Buffer) => chunks.push(c));
  request.on('end', () => {
    seen.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
    if (request.url === '/hang') return;
    if (request.url === '/redirect') {
      response.writeHead(302, { location: '/ok' }).end();
      return;
    }
    response
      .writeHead(request.url === '/big' ? 500 : 200)
      .end(request.url === '/big' ? 'y'.repeat(5000) : 'fine');
  });
});
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const send = (path: string, publicOnly = false, host = '127.0.0.1', timeoutMs = 2000) =>
  httpTransport({ publicOnly })({
    url: `http://${host}:${port}${path}`,
    headers: { 'webhook-id': 'evt_1' },
    body: '{"type":"order.paid"}',
    timeoutMs,
  });

test('posts the body with its headers and reports status, body and latency', async () => {
  const response = await send('/ok');
  assert.equal(response.status, 200);
  assert.equal(response.body, 'fine');
  assert.equal(response.error, null);
  assert.ok(response.latencyMs >= 0);
  const last = seen.at(-1)!;
  assert.equal(last.body, '{"type":"order.paid"}');
  assert.equal(last.headers['webhook-id'], 'evt_1');
  assert.equal(last.headers['content-type'], 'application/json');
});

test('keeps only the start of a long response, does not follow redirects, times out', async () => {
  const big = await send('/big');
  assert.equal(big.status, 500);
  assert.equal(big.body!.length, RESPONSE_BODY_LIMIT);
  const redirect = await send('/redirect');
  assert.equal(redirect.status, 302);
  const hang = await send('/hang', false, '127.0.0.1', 200);
  assert.equal(hang.status, null);
  assert.equal(hang.error, 'timeout after 200 ms');
});

test('public-only refuses a name resolving to a private address, and a private IP literal', async () => {
  const before = seen.length;
  const byName = await send('/ok', true, 'localhost');
  assert.equal(byName.status, null);
  assert.match(byName.error!, /non-public address/);
  const byLiteral = await send('/ok', true, '127.0.0.1');
  assert.equal(byLiteral.status, null);
  assert.match(byLiteral.error!, /non-public address/);
  assert.equal(seen.length, before, 'nothing reached the receiver');
});
