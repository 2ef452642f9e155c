import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Database, type DatabaseOptions } from '../db/database.ts';
import { type MigrationSource, migrate } from '../db/migrate.ts';

/**
 * Test databases. `npm test` (scripts/test.ts) points TEST_ADMIN_DATABASE_URL at a server
 * (the embedded one, or DATABASE_URL) and builds a migrated template database once
 * (TEST_TEMPLATE_DATABASE); each
 * test then gets its own fresh copy, so tests never see each other's rows.
 * Run alone (`node --import tsx --test file.test.ts`), a test migrates a fresh database
 * on DATABASE_URL or the machine's PostgreSQL.
 */

export function adminUrl(): string {
  return (
    process.env.TEST_ADMIN_DATABASE_URL ??
    process.env.DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/postgres'
  );
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export interface TestDatabase {
  db: Database;
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(
  options: { sources?: readonly MigrationSource[]; pool?: Omit<DatabaseOptions, 'url'> } = {},
): Promise<TestDatabase> {
  const name = `tuyere_t_${randomBytes(6).toString('hex')}`;
  const template = options.sources ? undefined : process.env.TEST_TEMPLATE_DATABASE;
  await adminQuery(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`);
  const url = withDatabase(adminUrl(), name);
  const db = new Database({ url, poolMax: 20, ...options.pool });
  if (!template) {
    const { MIGRATION_SOURCES } = await import('../../modules.ts');
    await migrate(db, options.sources ?? MIGRATION_SOURCES);
  }
  return {
    db,
    url,
    name,
    drop: async () => {
      await db.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
