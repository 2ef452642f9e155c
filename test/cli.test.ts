import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AccountFlags, Ledger, Ledgers } from '../src/ledger/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { uuidv7 } from '../src/platform/ids.ts';
import { createTestDatabase } from '../src/platform/testing/database.ts';

const bin = new URL('../bin/tuyere.js', import.meta.url).pathname;

function tuyere(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TUYERE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tuyere-cli-')), ...env },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('--help lists the commands and every command has --help', () => {
  const help = tuyere(['--help']);
  assert.equal(help.code, 0);
  for (const command of ['serve', 'migrate', 'demo', 'verify']) {
    assert.match(help.stdout, new RegExp(`\\b${command}\\b`));
    const own = tuyere([command, '--help']);
    assert.equal(own.code, 0, `${command} --help`);
    assert.match(own.stdout, /Usage: tuyere/);
  }
  const unknown = tuyere(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "frobnicate"/);
  const badFlag = tuyere(['verify', '--nope']);
  assert.equal(badFlag.code, 2);
});

test('bad configuration stops with a message naming the variable', () => {
  const result = tuyere(['migrate'], { PORT: 'abc', DB_POOL_MAX: '-3' });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /PORT must be a whole number/);
  assert.match(result.stderr, /DB_POOL_MAX must be between/);
});

test('migrate, demo and verify on a database; verify fails loudly on tampered books', async () => {
  const database = await createTestDatabase({ sources: [] });
  try {
    const env = { DATABASE_URL: database.url, LOG_LEVEL: 'warn' };
    const migrated = tuyere(['migrate', '--json'], env);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.ok(JSON.parse(migrated.stdout.trim().split('\n').at(-1)!).applied.length > 0);
    const again = tuyere(['migrate', '--json'], env);
    assert.deepEqual(JSON.parse(again.stdout.trim().split('\n').at(-1)!).applied, []);

    const demo = tuyere(['demo', '--json'], env);
    assert.equal(demo.code, 0, demo.stderr);

    const clean = tuyere(['verify', '--json'], env);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    const report = JSON.parse(clean.stdout.trim().split('\n').at(-1)!);
    assert.equal(report.ok, true);
    assert.ok(report.checks.some((check: { name: string }) => check.name.startsWith('ledger:')));

    const ledger = new Ledger({ db: database.db, clock: systemClock });
    const [source, target] = [uuidv7(), uuidv7()];
    await ledger.createAccounts([
      { id: source, ledger: Ledgers.CNY, code: 1 },
      { id: target, ledger: Ledgers.CNY, code: 1, flags: AccountFlags.debits_must_not_exceed_credits },
    ]);
    await ledger.createTransfers([
      {
        id: uuidv7(),
        debitAccountId: source,
        creditAccountId: target,
        amount: 500n,
        ledger: Ledgers.CNY,
        code: 1,
      },
    ]);
    await ledger.close();
    const incremental = tuyere(['verify'], env);
    assert.equal(incremental.code, 0, incremental.stdout);
    assert.match(
      incremental.stdout,
      /PASS {2}ledger: journal_chain {2}\(2 journal batches since journal batch \d+/,
    );
    assert.match(incremental.stdout, /Incremental run/);

    // An already verified transfer edited without its journal: the incremental run trusts what
    // it verified before (docs/LEDGER.md); --full re-verifies everything and catches it.
    await database.db.query(
      'UPDATE ledger_transfers SET user_data_32 = 7 WHERE timestamp = (SELECT min(timestamp) FROM ledger_transfers)',
    );
    assert.equal(tuyere(['verify'], env).code, 0);
    const full = tuyere(['verify', '--full'], env);
    assert.equal(full.code, 1, full.stdout);
    assert.match(full.stdout, /FAIL {2}ledger: journal_chain/);
    await database.db.query(
      'UPDATE ledger_transfers SET user_data_32 = 0 WHERE timestamp = (SELECT min(timestamp) FROM ledger_transfers)',
    );

    // Money appears from nowhere: a credit with no matching debit.
    await database.db.query(
      'UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = (SELECT id FROM ledger_accounts LIMIT 1)',
    );
    const tampered = tuyere(['verify'], env);
    assert.equal(tampered.code, 1, tampered.stdout);
    assert.match(tampered.stdout, /FAIL/);
  } finally {
    await database.drop();
  }
});
