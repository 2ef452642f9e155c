import type { TuyereApp } from '../app.ts';
import { seedIdentityDemo } from '../identity/demo.ts';
import { DEMO_CAROL, DEMO_GROUP_NAME, seedWalletDemo } from './wallet.ts';

/**
 * The demo world a new user explores after `npm start`. Each module adds its part here;
 * seeding is idempotent (deterministic ids), so running it twice changes nothing.
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
  const summary: DemoSummary = { seeded: true, logins: [], notes: [] };
  summary.logins.push({
    who: 'operator (API and console)',
    how: `Authorization: Bearer ${app.operatorToken}`,
  });
  summary.logins.push(...(await seedIdentityDemo(app.identity)));
  const wallets = await seedWalletDemo(app);
  summary.logins.push({
    who: `Carol ${DEMO_CAROL.phone} (class II)`,
    how: `POST /v1/auth/sms-codes {"phone":"${DEMO_CAROL.phone}","purpose":"login"}, read the code at GET /v1/sandbox/sms?phone=${DEMO_CAROL.phone} (operator token), then POST /v1/auth/login {"phone":"${DEMO_CAROL.phone}","code":"<code>"}`,
  });
  summary.notes.push(
    `Alice, Bob and Carol have wallets with a bound sandbox card, a top-up and transfers between them, and share the group "${DEMO_GROUP_NAME}" (${wallets.groupId}).`,
    ...wallets.notes,
  );
  await app.db.query(
    `INSERT INTO platform_state (key, value, updated_at) VALUES ('demo_seeded_at', to_jsonb($1::text), $2)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    [app.clock.now().toISOString(), app.clock.now()],
  );
  return summary;
}

/** Drops every module's tables and data, for `tuyere demo --reset`; the caller migrates again. */
export async function dropAllData(app: Pick<TuyereApp, 'db'>): Promise<void> {
  await app.db.query('DROP SCHEMA public CASCADE');
  await app.db.query('CREATE SCHEMA public');
}
