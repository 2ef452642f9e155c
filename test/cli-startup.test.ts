import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { createTestDatabase } from '../src/platform/testing/database.ts';
import { hasStackTrace, tempDataDir, tuyere } from './cli-spawn.ts';

/** Every foreseeable start-up failure: exit code 1 and one paragraph saying what to do, no stack trace. */
function assertExplained(result: { code: number | null; stdout: string; stderr: string }, advice: RegExp) {
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(result.stderr, advice);
  assert.ok(!hasStackTrace(result.stderr), result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, `one paragraph:\n${result.stderr}`);
}

test('the API port in use: exit 1, says which port and how to pick another', async () => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as net.AddressInfo).port;
  const database = await createTestDatabase({ sources: [] });
  try {
    const result = tuyere(['serve', '--no-demo'], {
      DATABASE_URL: database.url,
      PORT: String(port),
      BANK_SANDBOX_PORT: '0',
      JOBS_ENABLED: 'false',
      LOG_LEVEL: 'warn',
    });
    assertExplained(result, new RegExp(`Port ${port} is already in use.*PORT=`));
  } finally {
    holder.close();
    await database.drop();
  }
});

test('a data directory from a newer PostgreSQL: exit 1, says what made it and what to do', () => {
  const dataDir = tempDataDir();
  mkdirSync(path.join(dataDir, 'pg'), { mode: 0o700 });
  writeFileSync(path.join(dataDir, 'pg', 'PG_VERSION'), '99\n');
  const result = tuyere(['serve'], {
    DATABASE_URL: undefined,
    TUYERE_DATA_DIR: dataDir,
    PORT: '0',
    BANK_SANDBOX_PORT: '0',
  });
  assertExplained(result, /made by PostgreSQL 99, and this Tuyere ships PostgreSQL \d+.*TUYERE_DATA_DIR/);
});

test('an unreachable DATABASE_URL: exit 1, names it without its password', () => {
  const result = tuyere(['migrate'], { DATABASE_URL: 'postgres://tuyere:hunter2@127.0.0.1:1/tuyere' });
  assertExplained(
    result,
    /Cannot use the database at DATABASE_URL=postgres:\/\/tuyere:\*\*\*@127\.0\.0\.1:1\/tuyere: nothing is listening/,
  );
  assert.doesNotMatch(result.stderr, /hunter2/);
});

test('as root, a data dir the postgres user cannot enter (a clone in /root, mode 0700): exit 1 with what to do', {
  skip: process.getuid?.() !== 0 && 'needs root',
}, () => {
  const closed = tempDataDir();
  chmodSync(closed, 0o700);
  const result = tuyere(['serve'], {
    DATABASE_URL: undefined,
    TUYERE_DATA_DIR: path.join(closed, 'tuyere', '.tuyere'),
    PORT: '0',
    BANK_SANDBOX_PORT: '0',
  });
  assertExplained(result, new RegExp(`system user "postgres", which cannot enter ${closed}.*ordinary user`));
});
