import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { formatVerifyReport, Ledger } from '../src/ledger/index.ts';
import { ManualClock } from '../src/platform/clock.ts';
import { uuidv7 } from '../src/platform/ids.ts';
import { createTestDatabase } from '../src/platform/testing/database.ts';

/**
 * Several processes on one database: two writers posting to overlapping accounts at once, and
 * a writer SIGKILLed under load again and again. Afterwards every acknowledged transfer must
 * be stored, every journal batch complete, and verify clean.
 */
const WORKER = path.resolve(import.meta.dirname, '../src/ledger/testing/worker.ts');

interface Worker {
  child: ChildProcess;
  acked: string[];
  exited: Promise<number | null>;
  /** Resolves once at least `count` ids are acknowledged (or the worker exits). */
  ackedAtLeast(count: number): Promise<void>;
}

function startWorker(url: string, accounts: string[], transfers: number): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: {
      ...process.env,
      LEDGER_WORKER_DATABASE_URL: url,
      LEDGER_WORKER_ACCOUNTS: accounts.join(','),
      LEDGER_WORKER_TRANSFERS: String(transfers),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acked: string[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!; // a line cut by SIGKILL is not an acknowledgement
    for (const line of lines) if (line.startsWith('ack ')) acked.push(...line.slice(4).split(','));
    for (const waiter of waiters.splice(0)) {
      if (acked.length >= waiter.count) waiter.resolve();
      else waiters.push(waiter);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    acked,
    exited,
    ackedAtLeast: (count) =>
      Promise.race([
        new Promise<void>((resolve) => waiters.push({ count, resolve })),
        exited.then(() => undefined),
      ]),
  };
}

async function setup(accountCount: number) {
  const database = await createTestDatabase();
  const ledger = new Ledger({ db: database.db, clock: new ManualClock() });
  const accounts = Array.from({ length: accountCount }, () => uuidv7());
  await ledger.createAccounts(accounts.map((id) => ({ id, ledger: 1, code: 1 })));
  return { database, ledger, accounts };
}

async function assertAllStored(ledger: Ledger, acked: string[]): Promise<void> {
  for (let start = 0; start < acked.length; start += 8000) {
    const chunk = acked.slice(start, start + 8000);
    const found = await ledger.lookupTransfers(chunk);
    assert.equal(found.length, chunk.length, 'every acknowledged transfer is stored');
  }
}

test('two processes posting to overlapping accounts keep the books exact', async () => {
  const { database, ledger, accounts } = await setup(12);
  try {
    const workers = [
      startWorker(database.url, accounts.slice(0, 8), 6000),
      startWorker(database.url, accounts.slice(4), 6000),
    ];
    const codes = await Promise.all(workers.map((worker) => worker.exited));
    assert.deepEqual(codes, [0, 0]);
    const acked = workers.flatMap((worker) => worker.acked);
    assert.ok(acked.length >= 12_000);
    await assertAllStored(ledger, acked);
    const report = await ledger.verify();
    assert.ok(report.ok, formatVerifyReport(report));
    assert.equal(report.counts.transfers, acked.length);
  } finally {
    await ledger.close();
    await database.drop();
  }
});

test('a writer SIGKILLed under load 10 times loses no acknowledged transfer and leaves no half batch', async () => {
  const { database, ledger, accounts } = await setup(16);
  const acked: string[] = [];
  try {
    for (let kill = 0; kill < 10; kill++) {
      const worker = startWorker(database.url, accounts, 0);
      // Kill at a random moment once it is committing: after a random number of acknowledgements.
      await worker.ackedAtLeast(50 + Math.floor(Math.random() * 1500));
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 40)));
      worker.child.kill('SIGKILL');
      await worker.exited;
      acked.push(...worker.acked);
      await assertAllStored(ledger, acked);
      const report = await ledger.verify();
      assert.ok(report.ok, `after kill ${kill + 1}:\n${formatVerifyReport(report)}`);
    }
    assert.ok(acked.length > 500);
  } finally {
    await ledger.close();
    await database.drop();
  }
});
