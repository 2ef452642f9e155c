import pg from 'pg';
import type { PlatformConfig as Config } from '../config.ts';
import { Database } from './database.ts';
import { startEmbeddedPostgres } from './embedded.ts';

export const EMBEDDED_DATABASE = 'tuyere';

/** Opens the configured database: DATABASE_URL, or the embedded server in the data dir. */
export async function openDatabase(
  config: Pick<
    Config,
    'databaseUrl' | 'dataDir' | 'embeddedPgPort' | 'poolMax' | 'poolIdleMs' | 'statementTimeoutMs'
  >,
  onLog?: (line: string) => void,
): Promise<{ db: Database; embedded: boolean; close(): Promise<void> }> {
  const poolOptions = {
    poolMax: config.poolMax,
    idleTimeoutMs: config.poolIdleMs,
    statementTimeoutMs: config.statementTimeoutMs,
  };
  if (config.databaseUrl) {
    const db = new Database({ url: config.databaseUrl, ...poolOptions });
    return { db, embedded: false, close: () => db.close() };
  }
  const server = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, onLog });
  const admin = new pg.Client({ connectionString: server.url('postgres') });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
  } finally {
    await admin.end();
  }
  const db = new Database({ url: server.url(EMBEDDED_DATABASE), ...poolOptions });
  return {
    db,
    embedded: true,
    close: async () => {
      await db.close();
      await server.stop();
    },
  };
}
