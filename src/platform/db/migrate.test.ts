import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createTestDatabase } from '../testing/database.ts';
import { MigrationError, migrate, pendingMigrations } from './migrate.ts';

function migrationsFolder(files: Record<string, string>): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'tuyere-migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(directory, name), sql);
  return directory;
}

test('migrations apply once, in order, even with concurrent runners', async () => {
  const directory = migrationsFolder({
    '001_create.sql': 'CREATE TABLE demo_things (id int PRIMARY KEY);',
    '002_fill.sql': 'INSERT INTO demo_things VALUES (1), (2);',
  });
  const sources = [{ module: 'demo', directory }];
  const test_db = await createTestDatabase({ sources: [] });
  try {
    const results = await Promise.all([
      migrate(test_db.db, sources),
      migrate(test_db.db, sources),
      migrate(test_db.db, sources),
    ]);
    assert.deepEqual(results.flat().sort(), ['demo/001_create.sql', 'demo/002_fill.sql']);
    const { rows } = await test_db.db.query('SELECT count(*)::int AS n FROM demo_things');
    assert.equal(rows[0]!.n, 2);
    assert.deepEqual(await pendingMigrations(test_db.db, sources), []);
  } finally {
    await test_db.drop();
  }
});

test('a changed, already-applied migration is refused with a clear error', async () => {
  const directory = migrationsFolder({ '001_create.sql': 'CREATE TABLE demo_things (id int);' });
  const sources = [{ module: 'demo', directory }];
  const test_db = await createTestDatabase({ sources: [] });
  try {
    await migrate(test_db.db, sources);
    writeFileSync(path.join(directory, '001_create.sql'), 'CREATE TABLE demo_things (id bigint);');
    await assert.rejects(migrate(test_db.db, sources), (error: unknown) => {
      assert.ok(error instanceof MigrationError);
      assert.match(error.message, /demo\/001_create\.sql was changed after it was applied/);
      return true;
    });
  } finally {
    await test_db.drop();
  }
});

test('a failing migration rolls back entirely and names the file', async () => {
  const directory = migrationsFolder({
    '001_ok.sql': 'CREATE TABLE demo_ok (id int);',
    '002_broken.sql': 'CREATE TABLE demo_broken (id nonexistent_type);',
  });
  const test_db = await createTestDatabase({ sources: [] });
  try {
    await assert.rejects(
      migrate(test_db.db, [{ module: 'demo', directory }]),
      /demo\/002_broken\.sql failed/,
    );
    const { rows } = await test_db.db.query("SELECT to_regclass('demo_ok') AS t");
    assert.equal(rows[0]!.t, null, 'the first migration must not stay half-applied');
  } finally {
    await test_db.drop();
  }
});
