import type { TuyereApp } from '../app.ts';
import type { DemoWorld } from '../platform/module.ts';

/**
 * The demo world a new user explores after `npm start`. Each module seeds its part (its
 * definition's `demo`), in list order; seeding is idempotent (deterministic ids, look-ups
 * first), so running it twice changes nothing.
 */
export interface DemoLogin {
  who: string;
  how: string;
}
export interface DemoSummary {
  seeded: boolean;
  logins: DemoLogin[];
  notes: string[];
}

export async function isDemoSeeded(app: Pick<TuyereApp, 'db'>): Promise<boolean> {
  const { rowCount } = await app.db.query("SELECT 1 FROM platform_state WHERE key = 'demo_seeded_at'");
  return rowCount === 1;
}

export async function seedDemo(app: TuyereApp): Promise<DemoSummary> {
  const world: DemoWorld = { people: {}, logins: [], notes: [], cleanups: [] };
  await app.seedDemo(world);
  await app.db.query(
    `INSERT INTO platform_state (key, value, updated_at) VALUES ('demo_seeded_at', to_jsonb($1::text), $2)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    [app.clock.now().toISOString(), app.clock.now()],
  );
  return { seeded: true, logins: world.logins, notes: world.notes };
}

/** Drops every module's tables and data, for `tuyere demo --reset`; the caller migrates again. */
export async function dropAllData(app: Pick<TuyereApp, 'db'>): Promise<void> {
  await app.db.query('DROP SCHEMA public CASCADE');
  await app.db.query('CREATE SCHEMA public');
}
