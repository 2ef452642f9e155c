import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.ts';
import { Ledgers } from '../src/ledger/index.ts';
import { loadConfig } from '../src/modules.ts';
import { businessDate, systemClock } from '../src/platform/clock.ts';
import { deterministicId, uuidv7 } from '../src/platform/ids.ts';
import { bankClearingAccount, walletAccount } from '../src/wallet/context.ts';
import { WalletTransfers } from '../src/wallet/index.ts';
import { benchDatabase } from './_database.ts';

/**
 * Friend transfers per second, in the same run:
 * - service: wallet.sendTransfer (recipient check, idempotency, limits reservation, ledger
 *   transfer, wallet row), already authorized by a device signature;
 * - http: POST /v1/users/:id/transfers on loopback (session auth, Idempotency-Key,
 *   password-free authorization of a small payment, then the same), the way an app pays
 *   most small amounts;
 * - http_pin: the same with the payment PIN (argon2id per request), fewer transfers;
 * - baseline: the same job done naively, one DB transaction per transfer: recipient and
 *   class lookup, idempotency check, limit counters locked (SELECT ... FOR UPDATE) checked
 *   and charged, both balance rows locked (sorted SELECT ... FOR UPDATE) and updated, the
 *   transfer row inserted.
 *
 *   npm run bench -- wallet [--json] [--users 200] [--transfers 4000] [--http-transfers 1000]
 *     [--http-pin-transfers 200] [--clients 32]
 */
interface ScenarioResult {
  name: string;
  ops_per_s: number;
  p50_ms: number;
  p99_ms: number;
  baseline_ops_per_s: number;
  ratio: number;
}

const PIN = '135792';
const progress = (message: string) => console.error(`[wallet bench] ${message}`);
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

function option(args: string[], flag: string, fallback: number): number {
  const index = args.indexOf(flag);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
}

/** Runs `total` operations from `clients` concurrent loops; returns rate and latency percentiles. */
async function drive(total: number, clients: number, operation: (index: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let index = next++; index < total; index = next++) {
        const begin = performance.now();
        await operation(index);
        latencies.push(performance.now() - begin);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { opsPerSecond: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const users = option(args, '--users', 200);
  const transfers = option(args, '--transfers', 4000);
  const httpTransfers = option(args, '--http-transfers', 1000);
  const httpPinTransfers = option(args, '--http-pin-transfers', 200);
  const clients = option(args, '--clients', 32);
  const database = await benchDatabase(clients + 8);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tuyere-bench-'));
  const config = loadConfig(
    {},
    {
      dataDir,
      logLevel: 'warn',
      logFile: path.join(dataDir, 'bench.log'),
      jobsEnabled: false,
      poolMax: clients + 8,
      // Password-free payments per user and day: enough for this run (default 10).
      passwordFreeDailyCount: Math.max(10, Math.ceil(httpTransfers / users) + 1),
    },
  );
  const app = await createApp({ config, db: database.db, clock: systemClock });
  await app.http.listen({ port: 0, host: '127.0.0.1' });
  const address = app.http.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const results: ScenarioResult[] = [];
  try {
    progress(`server ${database.server}; ${users} users with a PIN and money`);
    const people: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < users; i++) {
      const session = await app.identity.issueSessionForTesting(`136${String(i).padStart(8, '0')}`);
      await app.http.inject({
        method: 'POST',
        url: `/v1/users/${session.user.id}/pin`,
        headers: { authorization: `Bearer ${session.accessToken}` },
        payload: { pin: PIN },
      });
      // Class III: the balance caps of classes I/II would stop a long benchmark, not the design.
      await app.db.query('UPDATE identity_users SET account_class = 3 WHERE id = $1', [session.user.id]);
      const settings = await app.http.inject({
        method: 'PATCH',
        url: `/v1/users/${session.user.id}/payment-settings`,
        headers: { authorization: `Bearer ${session.accessToken}` },
        payload: { password_free_enabled: true, proof: { type: 'pin', pin: PIN } },
      });
      if (settings.statusCode !== 200) throw new Error(`payment-settings: ${settings.body}`);
      people.push({ id: session.user.id, token: session.accessToken });
    }
    await app.wallet.accounts.system();
    await app.wallet.accounts.wallets(people.map((p) => p.id));
    await app.ledger.createTransfers(
      people.map((p) => ({
        id: deterministicId('bench.fund', p.id),
        debitAccountId: bankClearingAccount,
        creditAccountId: walletAccount(p.id),
        amount: 100_000_000n,
        ledger: Ledgers.CNY,
        code: WalletTransfers.topUp,
      })),
    );
    const pair = (index: number) => {
      const from = people[(index * 7919) % users]!;
      const to = people[(index * 7919 + 1 + (index % (users - 1))) % users]!;
      return from.id === to.id ? [from, people[(index + 1) % users]!] : [from, to];
    };
    const authorization = { userId: '', strength: 'signature' as const, via: 'device_signature' as const };

    progress(
      `baseline: the same job, one DB transaction per transfer, ${transfers} transfers, ${clients} clients`,
    );
    await app.db.query('CREATE TABLE bench_balances (user_id uuid PRIMARY KEY, balance bigint NOT NULL)');
    await app.db.query(
      `CREATE TABLE bench_counters (user_id uuid, counter text, period text, used bigint NOT NULL,
         payments integer NOT NULL, PRIMARY KEY (user_id, counter, period))`,
    );
    await app.db.query(
      `CREATE TABLE bench_transfers (id uuid PRIMARY KEY, sender_id uuid NOT NULL, recipient_id uuid NOT NULL,
         amount bigint NOT NULL, memo text NOT NULL, state text NOT NULL, created_at timestamptz NOT NULL)`,
    );
    await app.db.query('INSERT INTO bench_balances SELECT unnest($1::uuid[]), 100000000', [
      people.map((p) => p.id),
    ]);
    const limits = app.identity.context.settings.limits;
    const today = businessDate(new Date(), app.config.timeZone);
    const baseline = await drive(transfers, clients, async (index) => {
      const [from, to] = pair(index);
      const id = uuidv7();
      await app.db.transaction(async (tx) => {
        const users = await tx.query<{ id: string; status: string; account_class: number }>(
          'SELECT id, status, account_class FROM identity_users WHERE id = ANY($1::uuid[])',
          [[from!.id, to!.id]],
        );
        const recipient = users.rows.find((u) => u.id === to!.id);
        const sender = users.rows.find((u) => u.id === from!.id);
        if (recipient?.status !== 'active' || !sender) throw new Error('recipient unavailable');
        const seen = await tx.query('SELECT 1 FROM bench_transfers WHERE id = $1', [id]);
        if (seen.rowCount) return;
        // The limits: the same four counters the wallet charges, locked, checked, charged.
        const charges = [
          ['balance_lifetime', 'all', sender.account_class === 1 ? limits.classILifetime : null],
          ['balance_yearly', today.slice(0, 4), sender.account_class === 3 ? limits.classYearly[3] : null],
          ['method:balance_transfer', today, null],
          ['strength:signature', today, limits.dailyByStrength.signature],
        ] as const;
        await tx.query(
          `INSERT INTO bench_counters SELECT $1, unnest($2::text[]), unnest($3::text[]), 0, 0
           ON CONFLICT DO NOTHING`,
          [from!.id, charges.map((c) => c[0]), charges.map((c) => c[1])],
        );
        const counters = await tx.query<{ counter: string; used: bigint }>(
          `SELECT counter, used FROM bench_counters WHERE user_id = $1 AND (counter, period) IN
             (SELECT * FROM unnest($2::text[], $3::text[])) ORDER BY counter, period FOR UPDATE`,
          [from!.id, charges.map((c) => c[0]), charges.map((c) => c[1])],
        );
        for (const [counter, , cap] of charges) {
          const used = counters.rows.find((row) => row.counter === counter)?.used ?? 0n;
          if (cap !== null && used + 1n > cap) throw new Error('over the limit');
        }
        await tx.query(
          `UPDATE bench_counters SET used = used + 1, payments = payments + 1 WHERE user_id = $1 AND (counter, period) IN
             (SELECT * FROM unnest($2::text[], $3::text[]))`,
          [from!.id, charges.map((c) => c[0]), charges.map((c) => c[1])],
        );
        const [first, second] = [from!.id, to!.id].sort();
        const balances = await tx.query<{ user_id: string; balance: bigint }>(
          'SELECT user_id, balance FROM bench_balances WHERE user_id = ANY($1::uuid[]) ORDER BY user_id FOR UPDATE',
          [[first, second]],
        );
        if ((balances.rows.find((row) => row.user_id === from!.id)?.balance ?? 0n) < 1n) {
          throw new Error('insufficient balance');
        }
        await tx.query('UPDATE bench_balances SET balance = balance - 1 WHERE user_id = $1', [from!.id]);
        await tx.query('UPDATE bench_balances SET balance = balance + 1 WHERE user_id = $1', [to!.id]);
        await tx.query(`INSERT INTO bench_transfers VALUES ($1, $2, $3, 1, 'bench', 'completed', now())`, [
          id,
          from!.id,
          to!.id,
        ]);
      });
    });
    progress(`baseline ${Math.round(baseline.opsPerSecond)}/s`);

    progress(`service layer: ${transfers} transfers via wallet.sendTransfer, ${clients} clients`);
    const service = await drive(transfers, clients, async (index) => {
      const [from, to] = pair(index);
      await app.wallet.sendTransfer({
        transferId: uuidv7(),
        senderId: from!.id,
        to: { userId: to!.id },
        amount: 1n,
        memo: 'bench',
        authorization: { ...authorization, userId: from!.id },
      });
    });
    results.push({
      name: 'service',
      ops_per_s: Math.round(service.opsPerSecond),
      p50_ms: round(service.p50),
      p99_ms: round(service.p99),
      baseline_ops_per_s: Math.round(baseline.opsPerSecond),
      ratio: round(service.opsPerSecond / baseline.opsPerSecond),
    });

    const httpRun = (count: number, proof: Record<string, unknown>) =>
      drive(count, clients, async (index) => {
        const [from, to] = pair(index);
        const response = await fetch(`${base}/v1/users/${from!.id}/transfers`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${from!.token}`,
            'content-type': 'application/json',
            'idempotency-key': uuidv7(),
          },
          body: JSON.stringify({ to_user_id: to!.id, amount: '1', memo: 'bench', proof }),
        });
        if (response.status !== 201) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
      });
    progress(
      `HTTP: ${httpTransfers} POST /v1/users/:id/transfers on loopback (password-free), ${clients} clients`,
    );
    const http = await httpRun(httpTransfers, { type: 'none' });
    results.push({
      name: 'http',
      ops_per_s: Math.round(http.opsPerSecond),
      p50_ms: round(http.p50),
      p99_ms: round(http.p99),
      baseline_ops_per_s: Math.round(baseline.opsPerSecond),
      ratio: round(http.opsPerSecond / baseline.opsPerSecond),
    });
    progress(`HTTP with the PIN (argon2id): ${httpPinTransfers} transfers, ${clients} clients`);
    const httpPin = await httpRun(httpPinTransfers, { type: 'pin', pin: PIN });
    results.push({
      name: 'http_pin',
      ops_per_s: Math.round(httpPin.opsPerSecond),
      p50_ms: round(httpPin.p50),
      p99_ms: round(httpPin.p99),
      baseline_ops_per_s: Math.round(baseline.opsPerSecond),
      ratio: round(httpPin.opsPerSecond / baseline.opsPerSecond),
    });
    const verify = await app.ledger.verify();
    if (!verify.ok) throw new Error('ledger verify failed after the bench');
  } finally {
    await app.stop();
    await database.drop();
  }
  console.log(
    `wallet bench: friend transfers, ${clients} concurrent clients; baseline = the same checks, one DB transaction per transfer`,
  );
  console.log('scenario   transfers/s   p50 ms   p99 ms   baseline/s   ratio');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(10)} ${String(r.ops_per_s).padStart(11)} ${String(r.p50_ms).padStart(8)} ${String(r.p99_ms).padStart(8)} ${String(r.baseline_ops_per_s).padStart(12)} ${String(r.ratio).padStart(7)}`,
    );
  }
  if (json) console.log(JSON.stringify({ scenarios: results, server: database.server, users, clients }));
}
