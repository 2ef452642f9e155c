import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { testUserAuthenticator } from '../src/platform/http/testing.ts';
import { uuidv7 } from '../src/platform/ids.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';

let app: TestApp;
let alice: string;
let bob: string;
let carol: string;
let mallory: string;
/** Real sessions (identity's), so streams can re-check them. */
const tokens = new Map<string, string>();
const as = (user: string) => ({ authorization: `Bearer ${tokens.get(user) ?? `user:${user}`}` });

before(async () => {
  app = await createTestApp({ authenticators: [testUserAuthenticator] });
  // Members must be real users (identity's), so the four people are signed up first.
  const signUp = async (phone: string) => {
    const session = await app.identity.issueSessionForTesting(phone);
    tokens.set(session.user.id, session.accessToken);
    return session.user.id;
  };
  alice = await signUp('13700000201');
  bob = await signUp('13700000202');
  carol = await signUp('13700000203');
  mallory = await signUp('13700000204');
});
after(async () => {
  await app.close();
});

async function createGroup(owner: string, members: string[] = []) {
  const response = await app.http.inject({
    method: 'POST',
    url: '/v1/groups',
    headers: as(owner),
    payload: { name: 'Family', member_ids: members },
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json() as { id: string; member_count: number };
}

test('create, invite, post, leave and remove, with the stream recording each step in order', async () => {
  const group = await createGroup(alice, [bob]);
  assert.equal(group.member_count, 2);
  const invite = await app.http.inject({
    method: 'POST',
    url: `/v1/groups/${group.id}/members`,
    headers: as(bob),
    payload: { user_ids: [carol] },
  });
  assert.equal(invite.statusCode, 200);
  assert.equal(invite.json().members.length, 3);
  const post = await app.http.inject({
    method: 'POST',
    url: `/v1/groups/${group.id}/messages`,
    headers: as(carol),
    payload: { text: ' hi all ' },
  });
  assert.equal(post.statusCode, 201);
  assert.equal(post.json().payload.text, 'hi all');

  const bobRemovesCarol = await app.http.inject({
    method: 'DELETE',
    url: `/v1/groups/${group.id}/members/${carol}`,
    headers: as(bob),
  });
  assert.equal(bobRemovesCarol.statusCode, 403);
  assert.equal(bobRemovesCarol.json().error.code, 'not_group_owner');
  const ownerLeaves = await app.http.inject({
    method: 'DELETE',
    url: `/v1/groups/${group.id}/members/${alice}`,
    headers: as(alice),
  });
  assert.equal(ownerLeaves.json().error.code, 'owner_cannot_leave');
  assert.equal(
    (
      await app.http.inject({
        method: 'DELETE',
        url: `/v1/groups/${group.id}/members/${carol}`,
        headers: as(alice),
      })
    ).statusCode,
    204,
  );
  assert.equal(
    (
      await app.http.inject({
        method: 'DELETE',
        url: `/v1/groups/${group.id}/members/${bob}`,
        headers: as(bob),
      })
    ).statusCode,
    204,
  );

  const events = (
    await app.http.inject({ method: 'GET', url: `/v1/groups/${group.id}/events`, headers: as(alice) })
  ).json().events;
  assert.deepEqual(
    events.map((e: { type: string }) => e.type),
    ['group.created', 'member.joined', 'message.posted', 'member.removed', 'member.left'],
  );
  assert.deepEqual(
    events.map((e: { seq: string }) => e.seq),
    ['1', '2', '3', '4', '5'],
  );
  const detail = (
    await app.http.inject({ method: 'GET', url: `/v1/groups/${group.id}`, headers: as(alice) })
  ).json();
  assert.equal(detail.group.member_count, 1);
});

test('outsiders see a group as missing; operators may read it; removed members lose access', async () => {
  const group = await createGroup(alice, [bob]);
  for (const [method, url, payload] of [
    ['GET', `/v1/groups/${group.id}`, undefined],
    ['GET', `/v1/groups/${group.id}/events`, undefined],
    ['POST', `/v1/groups/${group.id}/messages`, { text: 'let me in' }],
    ['POST', `/v1/groups/${group.id}/members`, { user_ids: [mallory] }],
  ] as const) {
    const response = await app.http.inject({
      method,
      url,
      headers: as(mallory),
      ...(payload ? { payload } : {}),
    });
    assert.equal(response.statusCode, 404, `${method} ${url}`);
  }
  assert.equal(
    (await app.http.inject({ method: 'GET', url: `/v1/groups/${group.id}`, headers: app.operatorHeaders }))
      .statusCode,
    200,
  );
  assert.equal(
    (
      await app.http.inject({
        method: 'POST',
        url: `/v1/groups/${group.id}/messages`,
        headers: app.operatorHeaders,
        payload: { text: 'x' },
      })
    ).statusCode,
    403,
  );
  assert.equal(
    (await app.http.inject({ method: 'GET', url: `/v1/groups/${uuidv7()}`, headers: app.operatorHeaders }))
      .statusCode,
    404,
  );
  await app.http.inject({
    method: 'DELETE',
    url: `/v1/groups/${group.id}/members/${bob}`,
    headers: as(alice),
  });
  assert.equal(
    (await app.http.inject({ method: 'GET', url: `/v1/groups/${group.id}/events`, headers: as(bob) }))
      .statusCode,
    404,
  );
});

test('attack: made-up user ids cannot join a group (on create or invite), so they cannot inflate member_count', async () => {
  const ghost = uuidv7();
  const created = await app.http.inject({
    method: 'POST',
    url: '/v1/groups',
    headers: as(alice),
    payload: { name: 'Ghosts', member_ids: [bob, ghost] },
  });
  assert.equal(created.statusCode, 422, created.body);
  assert.equal(created.json().error.code, 'unknown_user');
  assert.equal((await app.social.listForUser(bob)).filter((g) => g.name === 'Ghosts').length, 0);

  const group = await createGroup(alice, [bob]);
  const invite = await app.http.inject({
    method: 'POST',
    url: `/v1/groups/${group.id}/members`,
    headers: as(bob),
    payload: { user_ids: [carol, ghost] },
  });
  assert.equal(invite.statusCode, 422, invite.body);
  assert.equal(invite.json().error.code, 'unknown_user');
  const after = (await app.social.get(group.id))!;
  assert.equal(after.memberCount, 2, 'nothing changed: not even the real invitee was added');
});

test('concurrent posts get unique, gapless sequence numbers', async () => {
  const group = await createGroup(alice, [bob, carol]);
  await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      app.social.postMessage(group.id, [alice, bob, carol][i % 3]!, `message ${i}`),
    ),
  );
  const events = await app.social.events(group.id, 0n, 500);
  assert.deepEqual(
    events.map((e) => Number(e.seq)),
    Array.from({ length: 61 }, (_, i) => i + 1),
  );
});

test('members follow the group live over Server-Sent Events and resume with Last-Event-ID', async () => {
  const group = await createGroup(alice, [bob]);
  await app.http.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.http.server.address() as { port: number };
  const received: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: `/v1/groups/${group.id}/stream?after=0`, headers: as(bob) },
      (response) => {
        assert.equal(response.statusCode, 200);
        assert.match(String(response.headers['content-type']), /text\/event-stream/);
        let buffer = '';
        response.on('data', (chunk) => {
          buffer += String(chunk);
          for (const match of buffer.matchAll(/^event: (\S+)$/gm))
            if (!received.includes(match[1]!)) received.push(match[1]!);
          if (buffer.includes('event: message.posted')) {
            request.destroy();
            resolve();
          }
        });
      },
    );
    request.on('error', (error) => (received.includes('message.posted') ? resolve() : reject(error)));
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await app.social.postMessage(group.id, alice, 'live!');
  await done;
  assert.deepEqual(received, ['group.created', 'message.posted']);
});

/** Opens a group stream as `user`; collects the event names; resolves when the server ends it. */
function openStream(port: number, groupId: string, user: string) {
  const events: string[] = [];
  let body = '';
  let status = 0;
  let request: http.ClientRequest;
  let markEnded: () => void = () => {};
  const ended = {
    promise: new Promise<void>((resolve) => (markEnded = resolve)),
    resolve: () => markEnded(),
  };
  const opened = new Promise<void>((resolve) => {
    request = http.get(
      { host: '127.0.0.1', port, path: `/v1/groups/${groupId}/stream`, headers: as(user) },
      (response) => {
        status = response.statusCode ?? 0;
        response.on('data', (chunk) => {
          body += String(chunk);
          events.length = 0;
          for (const match of body.matchAll(/^event: (\S+)$/gm)) events.push(match[1]!);
        });
        response.on('end', () => ended.resolve());
        resolve();
      },
    );
    request.on('error', () => ended.resolve());
  });
  return {
    opened,
    ended: ended.promise,
    events,
    get body() {
      return body;
    },
    get status() {
      return status;
    },
    close: () => request.destroy(),
  };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test("attack: a removed member's open stream ends at their removal and receives nothing after it", async () => {
  const group = await createGroup(alice, [bob, carol]);
  const port = await listening();
  const stream = openStream(port, group.id, carol);
  await stream.opened;
  assert.equal(stream.status, 200);
  await app.social.postMessage(group.id, alice, 'before');
  await new Promise((resolve) => setTimeout(resolve, 200));
  await app.social.remove(group.id, alice, carol);
  await app.social.postMessage(group.id, alice, 'after: secret plans');
  await within(stream.ended, 5000, 'stream ends after removal');
  assert.ok(stream.body.includes('before'));
  assert.ok(!stream.body.includes('secret plans'), 'nothing after the removal');
  assert.match(stream.body, /event: stream\.ended\ndata: \{"reason":"membership_ended"\}/);
});

test('attack: logout and freeze end an open stream within a few seconds', async () => {
  const group = await createGroup(alice, [bob, carol]);
  const port = await listening();
  const bobs = openStream(port, group.id, bob);
  await bobs.opened;
  assert.equal(bobs.status, 200);
  const logout = await app.http.inject({
    method: 'POST',
    url: '/v1/auth/logout',
    headers: as(bob),
    payload: {},
  });
  assert.ok(logout.statusCode < 300, logout.body);
  await within(bobs.ended, 5000, 'stream ends after logout');
  assert.match(bobs.body, /"reason":"session_ended"/);

  const carols = openStream(port, group.id, carol);
  await carols.opened;
  assert.equal(carols.status, 200);
  const freeze = await app.http.inject({
    method: 'POST',
    url: `/v1/operator/users/${carol}/status`,
    headers: app.operatorHeaders,
    payload: { status: 'frozen', reason: 'test' },
  });
  assert.ok(freeze.statusCode < 300, freeze.body);
  await within(carols.ended, 5000, 'stream ends after freeze');
  assert.match(carols.body, /"reason":"session_ended"/);
});

test('attack: one person cannot hold more than 5 open group streams', async () => {
  const group = await createGroup(mallory);
  const port = await listening();
  const streams = Array.from({ length: 5 }, () => openStream(port, group.id, mallory));
  await within(Promise.all(streams.map((s) => s.opened)), 5000, 'five streams open');
  assert.deepEqual(
    streams.map((s) => s.status),
    [200, 200, 200, 200, 200],
  );
  const sixth = await within(
    app.http.inject({ method: 'GET', url: `/v1/groups/${group.id}/stream`, headers: as(mallory) }),
    5000,
    'the sixth is answered',
  );
  assert.equal(sixth.statusCode, 429);
  assert.equal(sixth.json().error.code, 'too_many_user_streams');
  // Closing one frees a slot.
  streams[0]!.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const again = openStream(port, group.id, mallory);
  await within(again.opened, 5000, 'a freed slot opens');
  assert.equal(again.status, 200);
  for (const stream of [...streams, again]) stream.close();
});

async function listening(): Promise<number> {
  if (!app.http.server.listening) await app.http.listen({ port: 0, host: '127.0.0.1' });
  return (app.http.server.address() as { port: number }).port;
}
