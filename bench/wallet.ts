import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.ts';
import { TransferCodes } from '../src/chart.ts';
import { Ledgers } from '../src/ledger/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { loadConfig } from '../src/platform/config.ts';
import { deterministicId, uuidv7 } from '../src/platform/ids.ts';
import { bankClearingAccount, walletAccount } from '../src/wallet/context.ts';
import { benchDatabase } from './_database.ts';

/**
 * Friend transfers per second: through the wallet service (limits reservation + ledger
 * transfer + wallet row), and over HTTP on loopback (session auth, idempotency key, PIN
 * check, then the same). Baseline, same database, same run: the naive design, one DB
 * transaction per transfer locking both balance rows (SELECT ... FOR UPDATE, sorted).
 *
 *   npm run bench -- wallet [--json] [--users 200] [--transfers 4000] [--http-transfers 1000] [--clients 32]
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
        code: TransferCodes.topUp,
      })),
    );
    const pair = (index: number) => {
      const from = people[(index * 7919) % users]!;
      const to = people[(index * 7919 + 1 + (index % (users - 1))) % users]!;
      return from.id === to.id ? [from, people[(index + 1) % users]!] : [from, to];
    };
    const authorization = { userId: '', strength: 'signature' as const, via: 'device_signature' as const };

    progress(`baseline: one DB transaction per transfer, ${transfers} transfers, ${clients} clients`);
    await app.db.query('CREATE TABLE bench_balances (user_id uuid PRIMARY KEY, balance bigint NOT NULL)');
    await app.db.query(
      'CREATE TABLE bench_transfers (id uuid PRIMARY KEY, debit uuid, credit uuid, amount bigint)',
    );
    await app.db.query('INSERT INTO bench_balances SELECT unnest($1::uuid[]), 100000000', [
      people.map((p) => p.id),
    ]);
    const baseline = await drive(transfers, clients, async (index) => {
      const [from, to] = pair(index);
      const [first, second] = [from!.id, to!.id].sort();
      await app.db.transaction(async (tx) => {
        await tx.query(
          'SELECT balance FROM bench_balances WHERE user_id = ANY($1::uuid[]) ORDER BY user_id FOR UPDATE',
          [[first, second]],
        );
        await tx.query(
          'UPDATE bench_balances SET balance = balance - 1 WHERE user_id = $1 AND balance >= 1',
          [from!.id],
        );
        await tx.query('UPDATE bench_balances SET balance = balance + 1 WHERE user_id = $1', [to!.id]);
        await tx.query('INSERT INTO bench_transfers VALUES ($1, $2, $3, 1)', [uuidv7(), from!.id, to!.id]);
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

    progress(
      `HTTP: ${httpTransfers} POST /v1/users/:id/transfers on loopback (PIN-authorized), ${clients} clients`,
    );
    const http = await drive(httpTransfers, clients, async (index) => {
      const [from, to] = pair(index);
      const response = await fetch(`${base}/v1/users/${from!.id}/transfers`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${from!.token}`,
          'content-type': 'application/json',
          'idempotency-key': uuidv7(),
        },
        body: JSON.stringify({
          to_user_id: to!.id,
          amount: '1',
          memo: 'bench',
          proof: { type: 'pin', pin: PIN },
        }),
      });
      if (response.status !== 201) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    });
    results.push({
      name: 'http',
      ops_per_s: Math.round(http.opsPerSecond),
      p50_ms: round(http.p50),
      p99_ms: round(http.p99),
      baseline_ops_per_s: Math.round(baseline.opsPerSecond),
      ratio: round(http.opsPerSecond / baseline.opsPerSecond),
    });
    const verify = await app.ledger.verify();
    if (!verify.ok) throw new Error('ledger verify failed after the bench');
  } finally {
    await app.stop();
    await database.drop();
  }
  console.log(
    `wallet bench: friend transfers, ${clients} concurrent clients; baseline = one DB transaction per transfer`,
  );
  console.log('scenario   transfers/s   p50 ms   p99 ms   baseline/s   ratio');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(10)} ${String(r.ops_per_s).padStart(11)} ${String(r.p50_ms).padStart(8)} ${String(r.p99_ms).padStart(8)} ${String(r.baseline_ops_per_s).padStart(12)} ${String(r.ratio).padStart(7)}`,
    );
  }
  if (json) console.log(JSON.stringify({ scenarios: results, server: database.server, users, clients }));
}
