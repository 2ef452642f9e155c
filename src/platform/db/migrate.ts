import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Database, Queryable } from './database.ts';

/**
 * Plain numbered SQL migrations, one folder per module (`<module>/migrations/001_name.sql`).
 * Modules are applied in registry order, each module's files in number order, all in one
 * transaction holding an exclusive lock on the bookkeeping table, so two processes starting
 * at once cannot both migrate. An applied file whose text changed is refused.
 */
export interface MigrationSource {
  module: string;
  directory: string;
}

export interface Migration {
  module: string;
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export function loadMigrations(sources: readonly MigrationSource[]): Migration[] {
  const migrations: Migration[] = [];
  for (const source of sources) {
    let files: string[];
    try {
      files = readdirSync(source.directory).filter((file) => file.endsWith('.sql'));
    } catch {
      continue;
    }
    const seen = new Set<number>();
    for (const file of files.sort()) {
      const match = /^(\d+)_([a-z0-9_]+)\.sql$/.exec(file);
      if (!match)
        throw new MigrationError(
          `${source.module}: migration file "${file}" must be named like 001_create_things.sql`,
        );
      const version = Number(match[1]);
      if (seen.has(version)) throw new MigrationError(`${source.module}: two migrations numbered ${version}`);
      seen.add(version);
      const sql = readFileSync(path.join(source.directory, file), 'utf8');
      migrations.push({
        module: source.module,
        version,
        name: file,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      });
    }
  }
  return migrations;
}

const BOOKKEEPING = `CREATE TABLE IF NOT EXISTS platform_migrations (
  module text NOT NULL,
  version integer NOT NULL,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (module, version)
)`;

async function ensureBookkeeping(db: Database): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await db.query(BOOKKEEPING);
      return;
    } catch (error) {
      // Two processes creating the table at once race on the catalog; the loser retries.
      const code = (error as { code?: string }).code;
      if (attempt < 3 && (code === '23505' || code === '42P07')) continue;
      throw error;
    }
  }
}

async function appliedChecksums(client: Queryable): Promise<Map<string, string>> {
  const { rows } = await client.query<{ module: string; version: number; checksum: string }>(
    'SELECT module, version, checksum FROM platform_migrations',
  );
  return new Map(rows.map((row) => [`${row.module}/${row.version}`, row.checksum]));
}

function pendingFrom(migrations: Migration[], applied: Map<string, string>): Migration[] {
  const pending: Migration[] = [];
  for (const migration of migrations) {
    const checksum = applied.get(`${migration.module}/${migration.version}`);
    if (checksum === undefined) pending.push(migration);
    else if (checksum !== migration.checksum) {
      throw new MigrationError(
        `Migration ${migration.module}/${migration.name} was changed after it was applied ` +
          `(applied checksum ${checksum.slice(0, 12)}, file now ${migration.checksum.slice(0, 12)}). ` +
          'Restore the original file and add a new numbered migration for the change.',
      );
    }
  }
  return pending;
}

/** Applies every pending migration; returns the names applied. */
export async function migrate(db: Database, sources: readonly MigrationSource[]): Promise<string[]> {
  const migrations = loadMigrations(sources);
  await ensureBookkeeping(db);
  return db.transaction(async (tx) => {
    await tx.query('LOCK TABLE platform_migrations IN ACCESS EXCLUSIVE MODE');
    const pending = pendingFrom(migrations, await appliedChecksums(tx));
    for (const migration of pending) {
      try {
        await tx.query(migration.sql);
      } catch (error) {
        throw new MigrationError(
          `Migration ${migration.module}/${migration.name} failed: ${(error as Error).message}`,
        );
      }
      await tx.query(
        'INSERT INTO platform_migrations (module, version, name, checksum) VALUES ($1, $2, $3, $4)',
        [migration.module, migration.version, migration.name, migration.checksum],
      );
    }
    return pending.map((migration) => `${migration.module}/${migration.name}`);
  });
}

/** Names of migrations not yet applied (for /ready). Throws if an applied one changed. */
export async function pendingMigrations(
  db: Database,
  sources: readonly MigrationSource[],
): Promise<string[]> {
  const migrations = loadMigrations(sources);
  const exists = await db.query("SELECT to_regclass('platform_migrations') IS NOT NULL AS present");
  if (!exists.rows[0]?.present) return migrations.map((m) => `${m.module}/${m.name}`);
  return pendingFrom(migrations, await appliedChecksums(db)).map((m) => `${m.module}/${m.name}`);
}
