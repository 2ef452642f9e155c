/**
 * A new module is one folder and one line: the guestbook in test/fixtures/guestbook/ joins
 * Tuyere by adding it to the module list, and nothing central is edited.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createApp } from '../src/app.ts';
import { assemble, type Config, MODULES } from '../src/modules.ts';
import { parseSettings } from '../src/platform/config.ts';
import { createLogger } from '../src/platform/log.ts';
import type { DemoWorld, ModuleDefinition } from '../src/platform/module.ts';
import { createTestDatabase } from '../src/platform/testing/database.ts';
import { guestbookModule } from './fixtures/guestbook/index.ts';

test('a module added to the list gets its migration, setting, route, verify check, demo and chart', async () => {
  // The one line: the list with the new module at its end.
  const assembly = assemble([...MODULES, guestbookModule] as unknown as readonly ModuleDefinition[]);

  assert.ok(
    assembly.settingRows.some((row) => row.env === 'GUESTBOOK_MESSAGE_MAX'),
    'documented setting',
  );
  assert.equal(assembly.chart.statementLabel(901), 'guestbook_tip');
  assert.ok(assembly.chart.statementLabels.includes('guestbook_tip'));

  const database = await createTestDatabase({ sources: assembly.migrations });
  const config = parseSettings<Config & { guestbookMessageMax: number }>(
    assembly.settings,
    { GUESTBOOK_MESSAGE_MAX: '12' },
    { dataDir: mkdtempSync(path.join(tmpdir(), 'tuyere-example-')), jobsEnabled: false },
  );
  const app = await createApp({
    config,
    db: database.db,
    assembly,
    log: createLogger({ level: 'silent' }),
  });
  try {
    await app.guestbook.sign('bob', 'hi there');
    await assert.rejects(app.guestbook.sign('bob', 'far too long a message'), /1 to 12 characters/);

    const listed = await app.http.inject({ method: 'GET', url: '/v1/guestbook' });
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(listed.json(), { entries: [{ author: 'bob', message: 'hi there' }] });
    const openapi = (await app.http.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.ok(openapi.paths['/v1/guestbook'], 'the route is in the OpenAPI document');

    const world: DemoWorld = { people: {}, logins: [], notes: [], cleanups: [] };
    await app.seedDemo(world);
    assert.ok(world.notes.includes('The guestbook has a message from Alice.'));

    const named = 'guestbook: every message within GUESTBOOK_MESSAGE_MAX';
    const before = (await app.verify()).find((check) => check.name === named);
    assert.deepEqual(before, { name: named, ok: true, violations: [] });
    // Tamper below the service: verify notices.
    await app.db.query(
      "INSERT INTO guestbook_entries (author, message, created_at) VALUES ('eve', 'a message far past the cap', now())",
    );
    const after = (await app.verify()).find((check) => check.name === named);
    assert.equal(after?.ok, false);
    assert.ok((await app.verify()).some((check) => check.name === 'migrations current' && check.ok));
  } finally {
    await app.stop();
    await database.drop();
  }
});
