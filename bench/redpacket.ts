/**
 * `npm run bench -- redpacket [--json]`: red-envelope grabs under a storm and on one hot
 * envelope, through the service layer and over HTTP, against a naive baseline measured in the
 * same run (one transaction per grab, SELECT ... FOR UPDATE on the envelope row).
 *
 * storm: --envelopes (10,000) group envelopes of --shares (100) shares, grabbed by
 *        --grabbers (1,000) concurrent grabbers, each envelope by --shares distinct members.
 * hot:   one envelope of --shares shares, --hot-grabbers (10,000) grabbing at once.
 * Every run also counts over-allocations, duplicate grabs and refund errors (all must be 0),
 * after expiring a set of half-grabbed envelopes and checking their refunds.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp, type TuyereApp } from '../src/app.ts';
import { AccountFlags, Ledgers, succeeded } from '../src/ledger/index.ts';
import { loadConfig } from '../src/modules.ts';
import { accountId } from '../src/platform/chart.ts';
import { ManualClock } from '../src/platform/clock.ts';
import type { Database } from '../src/platform/db/database.ts';
import { createLogger } from '../src/platform/log.ts';
import { seededIntegers } from '../src/platform/random.ts';
import {
  RedpacketAccounts,
  RedpacketTransfers,
  splitLucky,
  verifyRedpackets,
} from '../src/redpacket/index.ts';
import { bankClearingAccount, walletAccount } from '../src/wallet/context.ts';
import { WalletTransfers } from '../src/wallet/index.ts';
import { benchDatabase } from './_database.ts';

interface Options {
  json: boolean;
  envelopes: number;
  shares: number;
  grabbers: number;
  hotGrabbers: number;
  httpEnvelopes: number;
  httpGrabbers: number;
  baselineGrabs: number;
  baselineClients: number;
}

function parseOptions(args: string[]): Options {
  const value = (name: string, fallback: number) => {
    const index = args.indexOf(`--${name}`);
    return index >= 0 ? Number(args[index + 1]) : fallback;
  };
  return {
    json: args.includes('--json'),
    envelopes: value('envelopes', 10_000),
    shares: value('shares', 100),
    grabbers: value('grabbers', 1000),
    hotGrabbers: value('hot-grabbers', 10_000),
    httpEnvelopes: value('http-envelopes', 200),
    httpGrabbers: value('http-grabbers', 200),
    baselineGrabs: value('baseline-grabs', 20_000),
    baselineClients: value('baseline-clients', 16),
  };
}

const progress = (message: string) => process.stderr.write(`[redpacket bench] ${message}\n`);
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Measured {
  opsPerSecond: number;
  p50: number;
  p99: number;
  grabbed: number;
  attempts: number;
}

/** Runs `work` for every item with `concurrency` loops; returns throughput and latency. */
async function measure<T>(items: T[][], work: (item: T) => Promise<boolean>): Promise<Measured> {
  const latencies: number[] = [];
  let grabbed = 0;
  const started = performance.now();
  let lastReport = started;
  await Promise.all(
    items.map(async (queue) => {
      for (const item of queue) {
        const begin = performance.now();
        if (await work(item)) grabbed++;
        const end = performance.now();
        latencies.push(end - begin);
        if (end - lastReport > 2000) {
          lastReport = end;
          progress(
            `  ${latencies.length} answered, ${grabbed} grabbed, ${Math.round(latencies.length / ((end - started) / 1000))}/s`,
          );
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    grabbed,
    attempts: latencies.length,
  };
}

/** Active, funded group envelopes written in bulk (the bench measures grabs, not sends). */
async function seedEnvelopes(
  app: TuyereApp,
  senderId: string,
  groupId: string,
  count: number,
  shares: number,
): Promise<string[]> {
  const random = seededIntegers(count * 31 + shares);
  const ids = Array.from({ length: count }, () => randomUUID());
  const total = BigInt(shares) * 88n;
  const seededAt = Date.now() - count;
  for (let start = 0; start < ids.length; start += 4000) {
    const chunk = ids.slice(start, start + 4000);
    const accounts = await app.ledger.createAccounts(
      chunk.map((id) => ({
        id: accountId('envelopeEscrow', id),
        ledger: Ledgers.CNY,
        code: RedpacketAccounts.envelopeEscrow,
        flags: AccountFlags.debits_must_not_exceed_credits,
        userData128: id,
      })),
    );
    if (!accounts.every((a) => succeeded(a.result))) throw new Error('escrow accounts not created');
    const funded = await app.ledger.createTransfers(
      chunk.map((id) => ({
        id: randomUUID(),
        debitAccountId: walletAccount(senderId),
        creditAccountId: accountId('envelopeEscrow', id),
        amount: total,
        ledger: Ledgers.CNY,
        code: RedpacketTransfers.envelopeFund,
      })),
    );
    if (!funded.every((t) => succeeded(t.result)))
      throw new Error(`funding failed: ${funded.find((t) => !succeeded(t.result))?.result}`);
    // Envelopes sent one after another, a millisecond apart (their creation time orders their
    // grabs' payout ids, as it would in a real storm).
    const createdAt = chunk.map((_, i) => new Date(seededAt + start + i));
    const now = new Date(seededAt + start + chunk.length);
    await app.db.query(
      `INSERT INTO redpacket_envelopes (id, sender_id, group_id, kind, total, shares, greeting, status, escrow_account_id,
         fund_transfer_id, funding_source, created_at, expires_at)
       SELECT x.id, $2, $3, 'lucky', $4, x.shares::bigint[], 'bench', 'active', x.escrow, x.fund, 'balance', x.created_at, $6
       FROM unnest($1::uuid[], $7::text[], $8::uuid[], $9::uuid[], $5::timestamptz[]) AS x(id, shares, escrow, fund, created_at)`,
      [
        chunk,
        senderId,
        groupId,
        total,
        createdAt,
        new Date(now.getTime() + 24 * 3_600_000),
        chunk.map(() => `{${splitLucky(total, shares, random).join(',')}}`),
        chunk.map((id) => accountId('envelopeEscrow', id)),
        chunk.map(() => randomUUID()),
      ],
    );
    progress(`  seeded ${Math.min(start + 4000, ids.length)}/${ids.length} envelopes`);
  }
  return ids;
}

async function fund(app: TuyereApp, userId: string, amount: bigint): Promise<void> {
  await app.wallet.accounts.system();
  await app.wallet.accounts.wallets([userId]);
  const [result] = await app.ledger.createTransfers([
    {
      id: randomUUID(),
      debitAccountId: bankClearingAccount,
      creditAccountId: walletAccount(userId),
      amount,
      ledger: Ledgers.CNY,
      code: WalletTransfers.topUp,
    },
  ]);
  if (!succeeded(result!.result)) throw new Error(result!.result);
}

/** Envelope e is grabbed by `shares` distinct grabbers: (e × shares + k) mod grabbers. Queues are per grabber. */
function assignments(
  envelopes: string[],
  grabbers: string[],
  shares: number,
): Array<Array<[string, string]>> {
  const queues = grabbers.map(() => [] as Array<[string, string]>);
  envelopes.forEach((envelope, e) => {
    for (let k = 0; k < shares; k++) {
      const g = (e * shares + k) % grabbers.length;
      queues[g]!.push([envelope, grabbers[g]!]);
    }
  });
  return queues;
}

/** The naive way: one transaction per grab, the envelope row locked with SELECT ... FOR UPDATE. */
async function naiveBaseline(
  db: Database,
  envelopes: number,
  shares: number,
  grabbers: number,
  attemptsPerEnvelope: number,
  clients: number,
): Promise<Measured> {
  await db.query(`
    CREATE TABLE IF NOT EXISTS bench_naive_envelopes (id uuid PRIMARY KEY, total bigint, shares bigint[], grabbed_count int, grabbed_amount bigint, escrow uuid);
    CREATE TABLE IF NOT EXISTS bench_naive_grabs (envelope_id uuid, user_id uuid, amount bigint, PRIMARY KEY (envelope_id, user_id));
    CREATE TABLE IF NOT EXISTS bench_naive_balances (account uuid PRIMARY KEY, balance bigint NOT NULL);
    TRUNCATE bench_naive_envelopes, bench_naive_grabs, bench_naive_balances;`);
  const random = seededIntegers(7);
  const ids = Array.from({ length: envelopes }, () => randomUUID());
  const total = BigInt(shares) * 88n;
  await db.query(
    `INSERT INTO bench_naive_envelopes SELECT x.id, $2, x.s::bigint[], 0, 0, x.id FROM unnest($1::uuid[], $3::text[]) AS x(id, s)`,
    [ids, total, ids.map(() => `{${splitLucky(total, shares, random).join(',')}}`)],
  );
  await db.query('INSERT INTO bench_naive_balances SELECT id, $2 FROM unnest($1::uuid[]) AS id', [
    ids,
    total,
  ]);
  const users = Array.from({ length: grabbers }, () => randomUUID());
  const work: Array<[string, string]> = [];
  ids.forEach((id, e) => {
    for (let k = 0; k < attemptsPerEnvelope; k++)
      work.push([id, users[(e * attemptsPerEnvelope + k) % users.length]!]);
  });
  const queues = Array.from({ length: clients }, (_, c) => work.filter((_, i) => i % clients === c));
  return measure(queues, ([envelopeId, userId]) => grabNaively(db, envelopeId, userId));
}

async function grabNaively(db: Database, envelopeId: string, userId: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ shares: bigint[]; grabbed_count: number; escrow: string }>(
      'SELECT shares, grabbed_count, escrow FROM bench_naive_envelopes WHERE id = $1 FOR UPDATE',
      [envelopeId],
    );
    const envelope = rows[0]!;
    const existing = await tx.query(
      'SELECT 1 FROM bench_naive_grabs WHERE envelope_id = $1 AND user_id = $2',
      [envelopeId, userId],
    );
    if (existing.rowCount || envelope.grabbed_count >= envelope.shares.length) return false;
    const amount = envelope.shares[envelope.grabbed_count]!;
    await tx.query('INSERT INTO bench_naive_grabs VALUES ($1, $2, $3)', [envelopeId, userId, amount]);
    await tx.query(
      'UPDATE bench_naive_envelopes SET grabbed_count = grabbed_count + 1, grabbed_amount = grabbed_amount + $2 WHERE id = $1',
      [envelopeId, amount],
    );
    await tx.query('UPDATE bench_naive_balances SET balance = balance - $2 WHERE account = $1', [
      envelope.escrow,
      amount,
    ]);
    await tx.query(
      'INSERT INTO bench_naive_balances VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET balance = bench_naive_balances.balance + $2',
      [userId, amount],
    );
    return true;
  });
}

/** Grabs over real HTTP on loopback with keep-alive connections. */
function httpGrabber(baseUrl: string, agent: http.Agent) {
  const url = new URL(baseUrl);
  return (envelopeId: string, token: string) =>
    new Promise<boolean>((resolve, reject) => {
      const request = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: `/v1/envelopes/${envelopeId}/grab`,
          agent,
          headers: { authorization: `Bearer ${token}` },
        },
        (response) => {
          let body = '';
          response.on('data', (chunk) => {
            body += chunk;
          });
          response.on('end', () => {
            if (response.statusCode !== 200)
              return reject(new Error(`HTTP ${response.statusCode}: ${body.slice(0, 200)}`));
            resolve(JSON.parse(body).outcome === 'grabbed');
          });
        },
      );
      request.on('error', reject);
      request.end();
    });
}

/** Over-allocations, duplicate grabs and refund errors: all must be zero. */
async function integrity(
  app: TuyereApp,
  clock: ManualClock,
  senderId: string,
  groupId: string,
  grabbers: string[],
) {
  // Half-grab a few envelopes, expire them, and check every refund.
  const partial = await seedEnvelopes(app, senderId, groupId, 50, 10);
  await Promise.all(
    partial.flatMap((id) => grabbers.slice(0, 5).map((user) => app.redpacket.grab(id, user))),
  );
  clock.set(new Date(Date.now() + 25 * 3_600_000));
  for (;;) {
    const { expired, refunded } = await app.redpacket.expireDue(clock.now(), 5000);
    if (expired === 0 && refunded === 0) break;
  }
  const { rows } = await app.db.query<{ over: number; duplicates: number; refund_errors: number }>(
    `SELECT (SELECT count(*) FROM redpacket_envelopes e WHERE e.grabbed_amount > e.total OR e.grabbed_count > cardinality(e.shares)
               OR e.grabbed_amount <> (SELECT coalesce(sum(amount), 0) FROM redpacket_grabs g WHERE g.envelope_id = e.id))::int AS over,
            (SELECT count(*) - count(DISTINCT (envelope_id, user_id)) FROM redpacket_grabs)::int AS duplicates,
            (SELECT count(*) FROM redpacket_envelopes WHERE status = 'expired' AND (refund_amount <> total - grabbed_amount OR NOT refund_booked))::int AS refund_errors`,
  );
  const violations = await verifyRedpackets(app.db, app.ledger);
  const ledger = await app.ledger.verify();
  return { ...rows[0]!, redpacket_verify_violations: violations.length, ledger_verify_ok: ledger.ok };
}

export async function run(args: string[]): Promise<void> {
  const options = parseOptions(args);
  const database = await benchDatabase(48);
  const clock = new ManualClock(new Date());
  const config = loadConfig(
    {},
    {
      dataDir: mkdtempSync(path.join(tmpdir(), 'tuyere-bench-')),
      logLevel: 'silent',
      jobsEnabled: false,
      groupMembersMax: 100_000,
      demo: false,
    },
  );
  const app = await createApp({ config, db: database.db, clock, log: createLogger({ level: 'silent' }) });
  const results: Array<Record<string, unknown>> = [];
  try {
    const senderId = randomUUID();
    await fund(app, senderId, 10n ** 15n);

    // Storm, service layer.
    const grabbers = Array.from({ length: options.grabbers }, () => randomUUID());
    progress(
      `storm: ${options.grabbers} grabbers, ${options.envelopes} envelopes x ${options.shares} shares`,
    );
    for (let i = 0; i < grabbers.length; i += 8000)
      await app.wallet.accounts.wallets(grabbers.slice(i, i + 8000));
    const stormGroup = (await app.social.create(senderId, 'storm', grabbers, { members: 'synthetic' })).id;
    const stormEnvelopes = await seedEnvelopes(app, senderId, stormGroup, options.envelopes, options.shares);
    const storm = await measure(
      assignments(stormEnvelopes, grabbers, options.shares),
      async ([envelope, user]) => {
        const outcome = await app.redpacket.grab(envelope, user);
        return outcome.outcome === 'grabbed';
      },
    );
    progress(
      `storm: ${Math.round(storm.opsPerSecond)} grabs/s, ${storm.grabbed} grabbed, ${app.redpacket.engine.stats.batches} batches`,
    );

    progress(`storm baseline: ${options.baselineGrabs} grabs, ${options.baselineClients} clients`);
    const baselineEnvelopes = Math.max(1, Math.round(options.baselineGrabs / options.shares));
    const stormBaseline = await naiveBaseline(
      database.db,
      baselineEnvelopes,
      options.shares,
      options.grabbers,
      options.shares,
      options.baselineClients,
    );

    // Hot envelope, service layer.
    progress(`hot: one envelope of ${options.shares} shares, ${options.hotGrabbers} grabbers at once`);
    const hotUsers = Array.from({ length: options.hotGrabbers }, () => randomUUID());
    for (let i = 0; i < hotUsers.length; i += 8000)
      await app.wallet.accounts.wallets(hotUsers.slice(i, i + 8000));
    const hotGroup = (await app.social.create(senderId, 'hot', hotUsers, { members: 'synthetic' })).id;
    const [hotEnvelope] = await seedEnvelopes(app, senderId, hotGroup, 1, options.shares);
    const hot = await measure(
      hotUsers.map((user) => [user]),
      async (user) => (await app.redpacket.grab(hotEnvelope!, user)).outcome === 'grabbed',
    );
    progress(`hot: ${Math.round(hot.opsPerSecond)} answers/s, ${hot.grabbed} grabbed`);
    const hotBaseline = await naiveBaseline(
      database.db,
      1,
      options.shares,
      options.hotGrabbers,
      options.hotGrabbers,
      options.baselineClients,
    );

    // Over HTTP (loopback): users with real sessions.
    progress(`http: ${options.httpGrabbers} signed-in grabbers, ${options.httpEnvelopes} envelopes`);
    const baseUrl = await app.http.listen({ port: 0, host: '127.0.0.1' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: options.httpGrabbers });
    const grabOverHttp = httpGrabber(baseUrl, agent);
    const httpUsers: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < options.httpGrabbers; i++) {
      const session = await app.identity.issueSessionForTesting(`136${String(10_000_000 + i).slice(-8)}`);
      httpUsers.push({ id: session.user.id, token: session.accessToken });
    }
    await app.wallet.accounts.wallets(httpUsers.map((u) => u.id));
    const httpGroup = (
      await app.social.create(
        senderId,
        'http storm',
        httpUsers.map((u) => u.id),
      )
    ).id;
    const httpShares = Math.min(options.shares, httpUsers.length);
    const httpEnvelopes = await seedEnvelopes(app, senderId, httpGroup, options.httpEnvelopes, httpShares);
    const tokens = new Map(httpUsers.map((u) => [u.id, u.token]));
    const stormHttp = await measure(
      assignments(
        httpEnvelopes,
        httpUsers.map((u) => u.id),
        httpShares,
      ),
      ([envelope, user]) => grabOverHttp(envelope, tokens.get(user)!),
    );
    const [hotHttpEnvelope] = await seedEnvelopes(app, senderId, httpGroup, 1, httpShares);
    const hotHttp = await measure(
      httpUsers.map((u) => [u]),
      (u) => grabOverHttp(hotHttpEnvelope!, u.token),
    );
    agent.destroy();

    progress('integrity: expiring half-grabbed envelopes, checking refunds and the books');
    const checks = await integrity(app, clock, senderId, stormGroup, grabbers);

    const row = (name: string, m: Measured, base: Measured) => ({
      name,
      ops_per_s: Math.round(m.opsPerSecond),
      p50_ms: round(m.p50),
      p99_ms: round(m.p99),
      baseline_ops_per_s: Math.round(base.opsPerSecond),
      baseline_p50_ms: round(base.p50),
      baseline_p99_ms: round(base.p99),
      ratio: round(m.opsPerSecond / base.opsPerSecond, 1),
      attempts: m.attempts,
      grabbed: m.grabbed,
    });
    results.push(row('storm', storm, stormBaseline), row('storm_http', stormHttp, stormBaseline));
    results.push(row('hot', hot, hotBaseline), row('hot_http', hotHttp, hotBaseline));

    console.log(
      `redpacket bench on ${database.server}: storm ${options.envelopes} envelopes x ${options.shares} shares, ${options.grabbers} grabbers; ` +
        `hot 1 x ${options.shares}, ${options.hotGrabbers} grabbers; http ${options.httpEnvelopes} envelopes, ${options.httpGrabbers} users`,
    );
    console.log('scenario     answers/s   p50 ms   p99 ms   baseline/s   ratio   grabbed/attempts');
    for (const r of results) {
      console.log(
        `${String(r.name).padEnd(11)} ${String(r.ops_per_s).padStart(10)} ${String(r.p50_ms).padStart(8)} ${String(r.p99_ms).padStart(8)} ` +
          `${String(r.baseline_ops_per_s).padStart(12)} ${`${r.ratio}x`.padStart(7)}   ${r.grabbed}/${r.attempts}`,
      );
    }
    console.log(
      `over-allocations ${checks.over}, duplicate grabs ${checks.duplicates}, refund errors ${checks.refund_errors}, ` +
        `redpacket verify violations ${checks.redpacket_verify_violations}, ledger verify ${checks.ledger_verify_ok ? 'ok' : 'FAILED'}`,
    );
    if (options.json) {
      console.log(
        JSON.stringify({
          scenarios: results,
          server: database.server,
          over_allocations: checks.over,
          duplicate_grabs: checks.duplicates,
          refund_errors: checks.refund_errors,
          verify_ok: checks.ledger_verify_ok && checks.redpacket_verify_violations === 0,
        }),
      );
    }
    if (
      checks.over ||
      checks.duplicates ||
      checks.refund_errors ||
      !checks.ledger_verify_ok ||
      checks.redpacket_verify_violations
    ) {
      process.exitCode = 1;
    }
  } finally {
    await app.stop();
    await database.drop();
  }
}
