import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewaySignature, postSignedJson, verifyGatewaySignature } from './signed-gateway.ts';
import { startTestGateway } from './testing/gateway-server.ts';

test('a signed POST carries a signature the gateway can check; a wrong secret is refused', async () => {
  const gateway = await startTestGateway({
    secret: 'gateway-secret',
    reply: () => ({ status: 200, body: { ok: 1 } }),
  });
  try {
    const reply = await postSignedJson(
      { url: `${gateway.url}/send`, secret: 'gateway-secret', timeoutMs: 2000 },
      { hello: 'world' },
    );
    assert.deepEqual(reply, { ok: true, status: 200, body: { ok: 1 } });
    assert.deepEqual(gateway.requests[0], { path: '/send', body: { hello: 'world' }, signed: true });

    const forged = await postSignedJson(
      { url: `${gateway.url}/send`, secret: 'not-the-secret', timeoutMs: 2000 },
      { hello: 'world' },
    );
    assert.deepEqual(forged, { ok: false, cause: 'status', status: 401 });
    assert.equal(gateway.requests[1]!.signed, false);
  } finally {
    await gateway.close();
  }
});

test('signatures bind the body and the timestamp; stale timestamps are refused', () => {
  const signature = gatewaySignature('k', '1700000000', '{"a":1}');
  const check = (timestamp: string, body: string, nowSeconds = 1_700_000_010) =>
    verifyGatewaySignature({ secret: 'k', timestamp, signature, body, nowSeconds });
  assert.equal(check('1700000000', '{"a":1}'), true);
  assert.equal(check('1700000000', '{"a":2}'), false);
  assert.equal(check('1700000001', '{"a":1}'), false);
  assert.equal(check('1700000000', '{"a":1}', 1_700_000_000 + 301), false);
});

test('faults come back as values: timeout, non-2xx, malformed reply, nothing listening', async () => {
  let mode = 'slow';
  const gateway = await startTestGateway({
    secret: 's',
    reply: () =>
      mode === 'slow'
        ? { status: 200, body: {}, delayMs: 1000 }
        : mode === 'error'
          ? { status: 502, body: { error: 'upstream' } }
          : { status: 200, body: undefined },
  });
  try {
    const options = { url: gateway.url, secret: 's', timeoutMs: 200 };
    assert.deepEqual(await postSignedJson(options, {}), { ok: false, cause: 'timeout' });
    mode = 'error';
    assert.deepEqual(await postSignedJson(options, {}), { ok: false, cause: 'status', status: 502 });
    mode = 'empty';
    assert.deepEqual(await postSignedJson(options, {}), { ok: true, status: 200, body: null });
  } finally {
    await gateway.close();
  }
  assert.deepEqual(await postSignedJson({ url: gateway.url, secret: 's', timeoutMs: 1000 }, {}), {
    ok: false,
    cause: 'network',
  });
});
