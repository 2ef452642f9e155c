import { performance } from 'node:perf_hooks';
import { Ledger, Ledgers, type TransferEvent } from '../src/ledger/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import type { Database } from '../src/platform/db/database.ts';
import { uuidv7 } from '../src/platform/ids.ts';
import { seededUnitFloats } from '../src/platform/random.ts';
import { benchDatabase } from './_database.ts';

/**
 * Ledger write throughput: the group-commit writer against a naive baseline (one DB
 * transaction per transfer, sorted SELECT ... FOR UPDATE of both accounts, 16 clients),
 * on the same database in the same run, for three account distributions.
 *
 *   npm run bench -- ledger [--json] [--transfers 200000] [--callers 256] [--per-call 16] [--batch-events 2048]
 *                           [--baseline-transfers 6000] [--accounts 10000] [--scenario uniform,hot,zipf]
 */
interface Options {
  json: boolean;
  accounts: number;
  transfers: number;
  callers: number;
  perCall: number;
  baselineTransfers: number;
  baselineClients: number;
  scenarios: string[];
  batchEvents: number;
  pipelineDepth: number;
}

interface ScenarioResult {
  name: string;
  ops_per_s: number;
  p50_ms: number;
  p99_ms: number;
  baseline_ops_per_s: number;
  baseline_p50_ms: number;
  baseline_p99_ms: number;
  ratio: number;
  batches: number;
}

type Picker = () => [number, number];

function parseOptions(args: string[]): Options {
  const value = (flag: string, fallback: number) => {
    const index = args.indexOf(flag);
    return index >= 0 ? Number(args[index + 1]) : fallback;
  };
  const scenarioIndex = args.indexOf('--scenario');
  return {
    json: args.includes('--json'),
    accounts: value('--accounts', 10_000),
    transfers: value('--transfers', 200_000),
    callers: value('--callers', 256),
    perCall: value('--per-call', 16),
    baselineTransfers: value('--baseline-transfers', 6_000),
    baselineClients: value('--baseline-clients', 16),
    batchEvents: value('--batch-events', 2048),
    pipelineDepth: value('--pipeline-depth', 2),
    scenarios: scenarioIndex >= 0 ? args[scenarioIndex + 1]!.split(',') : ['uniform', 'hot', 'zipf'],
  };
}

function zipfSampler(count: number, exponent: number, random: () => number): () => number {
  const cumulative = new Float64Array(count);
  let sum = 0;
  for (let rank = 0; rank < count; rank++) {
    sum += 1 / (rank + 1) ** exponent;
    cumulative[rank] = sum;
  }
  return () => {
    const target = random() * sum;
    let low = 0;
    let high = count - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}

function picker(scenario: string, count: number, seed: number): Picker {
  const random = seededUnitFloats(seed);
  const uniform = () => Math.floor(random() * count);
  const distinct = (draw: () => number, first: number) => {
    let second = draw();
    while (second === first) second = draw();
    return second;
  };
  if (scenario === 'hot') {
    return () => [1 + Math.floor(random() * (count - 1)), 0];
  }
  if (scenario === 'zipf') {
    const zipf = zipfSampler(count, 1.0, random);
    return () => {
      const debit = zipf();
      return [debit, distinct(zipf, debit)];
    };
  }
  return () => {
    const debit = uniform();
    return [debit, distinct(uniform, debit)];
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const round = (value: number, digits = 2) => Number(value.toFixed(digits));

function progress(message: string): void {
  process.stderr.write(`[bench ledger] ${message}\n`);
}

async function createAccounts(ledger: Ledger, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => uuidv7());
  for (let start = 0; start < count; start += 8000) {
    const chunk = ids.slice(start, start + 8000);
    await ledger.createAccounts(chunk.map((id) => ({ id, ledger: Ledgers.CNY, code: 1 })));
  }
  return ids;
}

async function runGroupCommit(ledger: Ledger, accounts: string[], pick: Picker, options: Options) {
  const latencies: number[] = [];
  let remaining = options.transfers;
  let done = 0;
  let nextReport = 50_000;
  const batchesBefore = ledger.writer.batchesCommitted;
  const caller = async () => {
    while (remaining > 0) {
      const size = Math.min(options.perCall, remaining);
      remaining -= size;
      const events: TransferEvent[] = [];
      for (let i = 0; i < size; i++) {
        const [debit, credit] = pick();
        events.push({
          id: uuidv7(),
          debitAccountId: accounts[debit]!,
          creditAccountId: accounts[credit]!,
          amount: 1n + BigInt(i),
          ledger: Ledgers.CNY,
          code: 1,
        });
      }
      const started = performance.now();
      const results = await ledger.createTransfers(events);
      latencies.push(performance.now() - started);
      for (const result of results)
        if (result.result !== 'ok') throw new Error(`bench transfer failed: ${result.result}`);
      done += size;
      if (done >= nextReport) {
        progress(`  ${done.toLocaleString('en-US')} / ${options.transfers.toLocaleString('en-US')}`);
        nextReport += 50_000;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: options.callers }, caller));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: options.transfers / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    batches: ledger.writer.batchesCommitted - batchesBefore,
  };
}

/** The naive way: one transaction per transfer, both accounts locked in id order. */
async function runBaseline(db: Database, accounts: string[], pick: Picker, options: Options) {
  const latencies: number[] = [];
  let remaining = options.baselineTransfers;
  let timestamp = BigInt(Date.now()) * 1_000_000n * 2n;
  const client = async () => {
    const connection = await db.pool.connect();
    try {
      while (remaining > 0) {
        remaining--;
        const [debitIndex, creditIndex] = pick();
        const debit = accounts[debitIndex]!;
        const credit = accounts[creditIndex]!;
        const started = performance.now();
        for (let attempt = 0; ; attempt++) {
          try {
            await connection.query('BEGIN');
            await connection.query(
              'SELECT id FROM ledger_accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
              [[debit, credit]],
            );
            await connection.query(
              `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, pending_id, ledger, code,
                 flags, timeout, user_data_128, user_data_64, user_data_32, timestamp)
               VALUES ($1, $2, $3, 1, NULL, 1, 1, 0, 0, NULL, 0, 0, $4)`,
              [uuidv7(), debit, credit, (timestamp++).toString()],
            );
            await connection.query(
              'UPDATE ledger_accounts SET debits_posted = debits_posted + 1 WHERE id = $1',
              [debit],
            );
            await connection.query(
              'UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1',
              [credit],
            );
            await connection.query('COMMIT');
            break;
          } catch (error) {
            await connection.query('ROLLBACK');
            if (attempt >= 5) throw error;
          }
        }
        latencies.push(performance.now() - started);
      }
    } finally {
      connection.release();
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: options.baselineClients }, client));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: options.baselineTransfers / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

export async function run(args: string[]): Promise<void> {
  const options = parseOptions(args);
  const database = await benchDatabase(Math.max(20, options.baselineClients + 4));
  const ledger = new Ledger({
    db: database.db,
    clock: systemClock,
    writer: { batchEventsMax: options.batchEvents },
  });
  const results: ScenarioResult[] = [];
  try {
    progress(`server ${database.server}; creating ${options.accounts} accounts`);
    const accounts = await createAccounts(ledger, options.accounts);
    for (const [index, scenario] of options.scenarios.entries()) {
      progress(
        `${scenario}: group commit, ${options.transfers} transfers, ${options.callers} callers x ${options.perCall}`,
      );
      const group = await runGroupCommit(
        ledger,
        accounts,
        picker(scenario, accounts.length, 1000 + index),
        options,
      );
      progress(
        `${scenario}: baseline, ${options.baselineTransfers} transfers, ${options.baselineClients} clients`,
      );
      const baseline = await runBaseline(
        database.db,
        accounts,
        picker(scenario, accounts.length, 2000 + index),
        options,
      );
      results.push({
        name: scenario,
        ops_per_s: Math.round(group.opsPerSecond),
        p50_ms: round(group.p50),
        p99_ms: round(group.p99),
        baseline_ops_per_s: Math.round(baseline.opsPerSecond),
        baseline_p50_ms: round(baseline.p50),
        baseline_p99_ms: round(baseline.p99),
        ratio: round(group.opsPerSecond / baseline.opsPerSecond, 1),
        batches: group.batches,
      });
      progress(
        `${scenario}: ${Math.round(group.opsPerSecond)}/s vs baseline ${Math.round(baseline.opsPerSecond)}/s`,
      );
    }
  } finally {
    await ledger.close();
    await database.drop();
  }
  printTable(results, options);
  if (options.json) {
    console.log(
      JSON.stringify({
        scenarios: results,
        server: database.server,
        transfers: options.transfers,
        callers: options.callers,
        per_call: options.perCall,
        baseline_transfers: options.baselineTransfers,
        baseline_clients: options.baselineClients,
      }),
    );
  }
}

function printTable(results: ScenarioResult[], options: Options): void {
  console.log(
    `ledger bench: ${options.transfers} transfers/scenario via group commit (${options.callers} callers x ${options.perCall}), ` +
      `baseline ${options.baselineTransfers} via ${options.baselineClients} clients`,
  );
  console.log(
    'scenario   transfers/s   p50 ms   p99 ms   baseline/s   base p50   base p99   ratio   batches',
  );
  for (const r of results) {
    console.log(
      `${r.name.padEnd(9)} ${String(r.ops_per_s).padStart(12)} ${String(r.p50_ms).padStart(8)} ${String(r.p99_ms).padStart(8)} ` +
        `${String(r.baseline_ops_per_s).padStart(12)} ${String(r.baseline_p50_ms).padStart(10)} ${String(r.baseline_p99_ms).padStart(10)} ` +
        `${`${r.ratio}x`.padStart(7)} ${String(r.batches).padStart(9)}`,
    );
  }
}
