import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { errorCode, latestCode, signIn } from './identity-fixtures.ts';

const clock = new ManualClock('2026-03-02T01:00:00Z');
let app: TestApp;
before(async () => {
  app = await createTestApp({ clock });
});
after(() => app.close());

test('SMS sign-up creates a class I account; signing in again finds the same user', async () => {
  const first = await signIn(app, '13800000101');
  const me = await app.http.inject({ method: 'GET', url: '/v1/me', headers: first.headers });
  assert.equal(me.statusCode, 200);
  assert.equal(me.json().account_class, 'I');
  assert.equal(me.json().phone_masked, '138****0101');
  clock.advance(61_000);
  const second = await signIn(app, '13800000101');
  assert.equal(second.userId, first.userId);
});

test('an SMS code works once, expires, and dies after five wrong guesses', async () => {
  const phone = '13800000102';
  await app.http.inject({ method: 'POST', url: '/v1/auth/sms-codes', payload: { phone, purpose: 'login' } });
  const code = await latestCode(app, phone);
  const login = (c: string) =>
    app.http.inject({ method: 'POST', url: '/v1/auth/login', payload: { phone, code: c } });
  assert.equal((await login(code)).statusCode, 200);
  const reused = await login(code);
  assert.equal(reused.statusCode, 401);
  assert.equal(errorCode(reused), 'sms_code_used');

  clock.advance(61_000);
  await app.http.inject({ method: 'POST', url: '/v1/auth/sms-codes', payload: { phone, purpose: 'login' } });
  const fresh = await latestCode(app, phone);
  clock.advance(301_000);
  const expired = await login(fresh);
  assert.equal(errorCode(expired), 'sms_code_expired');

  await app.http.inject({ method: 'POST', url: '/v1/auth/sms-codes', payload: { phone, purpose: 'login' } });
  const third = await latestCode(app, phone);
  const wrong = third === '000000' ? '111111' : '000000';
  for (let i = 0; i < 5; i++) assert.equal(errorCode(await login(wrong)), 'sms_code_invalid');
  assert.equal(errorCode(await login(third)), 'sms_code_attempts_exceeded', 'the right code no longer works');
});

test('codes to one number are throttled', async () => {
  const phone = '13800000103';
  const send = () =>
    app.http.inject({ method: 'POST', url: '/v1/auth/sms-codes', payload: { phone, purpose: 'login' } });
  assert.equal((await send()).statusCode, 202);
  const again = await send();
  assert.equal(again.statusCode, 429);
  assert.equal(errorCode(again), 'sms_code_too_soon');
});

async function smsCount(phone: string): Promise<number> {
  const inbox = await app.http.inject({
    method: 'GET',
    url: `/v1/sandbox/sms?phone=${phone}`,
    headers: app.operatorHeaders,
  });
  assert.equal(inbox.statusCode, 200, inbox.body);
  return inbox.json().messages.length;
}

function askCode(phone: string, remoteAddress = '203.0.113.9') {
  return app.http.inject({
    method: 'POST',
    url: '/v1/auth/sms-codes',
    payload: { phone, purpose: 'login' },
    remoteAddress,
  });
}

test('attack: 5 parallel code requests for one number send exactly one SMS', async () => {
  const phone = '13800000105';
  const answers = await Promise.all(Array.from({ length: 5 }, () => askCode(phone)));
  const statuses = answers.map((answer) => answer.statusCode).sort();
  assert.deepEqual(statuses, [202, 429, 429, 429, 429]);
  for (const refused of answers.filter((answer) => answer.statusCode === 429))
    assert.equal(errorCode(refused), 'sms_code_too_soon');
  assert.equal(await smsCount(phone), 1, 'one code per resend window');
});

test('attack: daily caps hold under concurrency, and spamming a victim from elsewhere cannot lock them out', async () => {
  const victim = '13800000106';
  const attacker = '198.51.100.7';
  // The attacker exhausts its own (number, source) quota, one resend window at a time, racing
  // requests in the first windows: each window still sends one code. (Few requests in all: the
  // route's per-IP request rate limit, 20 a minute in real time, must not be what answers.)
  for (let window = 0; window < 10; window++) {
    clock.advance(61_000);
    const racing = window < 3 ? 3 : 1;
    const answers = await Promise.all(Array.from({ length: racing }, () => askCode(victim, attacker)));
    assert.equal(answers.filter((answer) => answer.statusCode === 202).length, 1, `window ${window}`);
  }
  assert.equal(await smsCount(victim), 10);
  clock.advance(61_000);
  const capped = await askCode(victim, attacker);
  assert.equal(capped.statusCode, 429);
  assert.equal(errorCode(capped), 'sms_daily_limit');
  assert.equal(await smsCount(victim), 10, 'refused: nothing sent');
  // The victim, from their own network, still gets a code and signs in.
  const own = await askCode(victim, '203.0.113.50');
  assert.equal(own.statusCode, 202, own.body);
  const login = await app.http.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { phone: victim, code: await latestCode(app, victim) },
  });
  assert.equal(login.statusCode, 200, login.body);
});

test('attack: one source cannot SMS-bomb many numbers (per-source daily cap, IPv6 /64 counted as one)', async () => {
  // Default cap: 50 a day per source. Already used by this source today: none.
  const source = (i: number) => `2001:db8:1:2::${(i + 1).toString(16)}`;
  let sent = 0;
  for (let i = 0; i < 50; i++) {
    const answer = await askCode(`1390000${String(i).padStart(4, '0')}`, source(i));
    assert.equal(answer.statusCode, 202, answer.body);
    sent++;
  }
  const refused = await askCode('13900009999', '2001:db8:1:2:ffff::1');
  assert.equal(refused.statusCode, 429);
  assert.equal(errorCode(refused), 'sms_source_daily_limit');
  assert.equal(await smsCount('13900009999'), 0, 'nothing sent');
  // Another network is not affected.
  assert.equal((await askCode('13900009999', '2001:db8:9::1')).statusCode, 202);
  assert.equal(sent, 50);
});

test('refresh rotates; reusing an old refresh token ends the session and its access token', async () => {
  clock.advance(3600_000);
  const user = await signIn(app, '13800000104');
  const refresh = (token: string) =>
    app.http.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: token } });
  const rotated = await refresh(user.refreshToken);
  assert.equal(rotated.statusCode, 200);
  const next = rotated.json();
  assert.notEqual(next.refresh_token, user.refreshToken);

  const reuse = await refresh(user.refreshToken);
  assert.equal(reuse.statusCode, 401);
  assert.equal(errorCode(reuse), 'refresh_token_reused');
  // The whole family is gone: the newest refresh token and the access token too.
  assert.equal(errorCode(await refresh(next.refresh_token)), 'session_revoked');
  const me = await app.http.inject({
    method: 'GET',
    url: '/v1/me',
    headers: { authorization: `Bearer ${next.access_token}` },
  });
  assert.equal(me.statusCode, 401);
  assert.equal(errorCode(me), 'session_revoked');
});

test('sessions can be listed and revoked; logout ends the current one at once', async () => {
  const phone = '13800000105';
  const laptop = await signIn(app, phone);
  clock.advance(61_000);
  const phoneSession = await signIn(app, phone);
  const list = await app.http.inject({
    method: 'GET',
    url: `/v1/users/${laptop.userId}/sessions`,
    headers: laptop.headers,
  });
  assert.equal(list.json().sessions.length, 2);
  const other = list.json().sessions.find((s: { current: boolean }) => !s.current);
  const revoke = await app.http.inject({
    method: 'DELETE',
    url: `/v1/sessions/${other.id}`,
    headers: laptop.headers,
  });
  assert.equal(revoke.statusCode, 204);
  assert.equal(
    (await app.http.inject({ method: 'GET', url: '/v1/me', headers: phoneSession.headers })).statusCode,
    401,
  );

  const logout = await app.http.inject({
    method: 'POST',
    url: '/v1/auth/logout',
    headers: laptop.headers,
    payload: {},
  });
  assert.equal(logout.statusCode, 204);
  assert.equal(
    (await app.http.inject({ method: 'GET', url: '/v1/me', headers: laptop.headers })).statusCode,
    401,
  );
});

test('an expired access token and a forged one are refused with distinct codes', async () => {
  const user = await signIn(app, '13800000106');
  const forged = `${user.accessToken.slice(0, -4)}AAAA`;
  const bad = await app.http.inject({
    method: 'GET',
    url: '/v1/me',
    headers: { authorization: `Bearer ${forged}` },
  });
  assert.equal(errorCode(bad), 'access_token_invalid');
  const garbage = await app.http.inject({
    method: 'GET',
    url: '/v1/me',
    headers: { authorization: 'Bearer nonsense' },
  });
  assert.equal(errorCode(garbage), 'token_invalid');
  clock.advance(601_000);
  const expired = await app.http.inject({ method: 'GET', url: '/v1/me', headers: user.headers });
  assert.equal(errorCode(expired), 'access_token_expired');
});

test('a frozen account is locked out everywhere', async () => {
  const user = await signIn(app, '13800000107');
  const freeze = await app.http.inject({
    method: 'POST',
    url: `/v1/operator/users/${user.userId}/status`,
    headers: app.operatorHeaders,
    payload: { status: 'frozen', reason: 'fraud report' },
  });
  assert.equal(freeze.statusCode, 200, freeze.body);
  assert.equal(freeze.json().status, 'frozen');
  assert.equal(
    (await app.http.inject({ method: 'GET', url: '/v1/me', headers: user.headers })).statusCode,
    401,
  );
  const refresh = await app.http.inject({
    method: 'POST',
    url: '/v1/auth/refresh',
    payload: { refresh_token: user.refreshToken },
  });
  assert.equal(refresh.statusCode, 401);
});
