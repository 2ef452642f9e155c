import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { MIGRATION_SOURCES } from '../src/modules.ts';
import { Database } from '../src/platform/db/database.ts';
import { startEmbeddedPostgres } from '../src/platform/db/embedded.ts';
import { migrate } from '../src/platform/db/migrate.ts';

/**
 * A fresh, migrated database for one benchmark run: on DATABASE_URL's server if set, else on
 * an embedded PostgreSQL under ./.tuyere-bench. Dropped afterwards.
 */
export async function benchDatabase(
  poolMax: number,
): Promise<{ db: Database; url: string; server: string; drop(): Promise<void> }> {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let server = adminUrl ? new URL(adminUrl).host : 'embedded';
  if (!adminUrl) {
    const embedded = await startEmbeddedPostgres({ dataDir: path.resolve('.tuyere-bench') });
    adminUrl = embedded.url('postgres');
    stopEmbedded = embedded.stop;
    server = 'embedded PostgreSQL (./.tuyere-bench)';
  }
  const name = `tuyere_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = new Database({ url: url.toString(), poolMax });
  await migrate(db, MIGRATION_SOURCES);
  return {
    db,
    url: url.toString(),
    server,
    drop: async () => {
      await db.close();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await stopEmbedded?.();
    },
  };
}
