import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type TuyereApp } from '../../app.ts';
import { type Config, loadConfig } from '../../modules.ts';
import type { Clock } from '../clock.ts';
import type { Authenticator } from '../http/policy.ts';
import { createTestDatabase } from './database.ts';

/**
 * A whole Tuyere app on a fresh database, for integration tests. Logs go to
 * test-results/logs/, which the test runner scans for leaked secrets after the suite.
 * Use `app.http.inject(...)` for HTTP calls; `operatorHeaders` carries operator-admin rights.
 */
export interface TestApp extends TuyereApp {
  operatorHeaders: Record<string, string>;
  close(): Promise<void>;
}

export const TEST_OPERATOR_TOKEN = 'test-operator-token-0123456789abcdef';
export const TEST_LOG_DIR = path.resolve(import.meta.dirname, '../../../test-results/logs');

export async function createTestApp(
  options: { clock?: Clock; config?: Partial<Config>; authenticators?: Authenticator[] } = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const config = loadConfig(
    {},
    {
      dataDir: mkdtempSync(path.join(tmpdir(), 'tuyere-test-')),
      logFile: path.join(TEST_LOG_DIR, `${database.name}.log`),
      logLevel: 'info',
      operatorToken: TEST_OPERATOR_TOKEN,
      jobsEnabled: false,
      ...options.config,
    },
  );
  const app = await createApp({
    config,
    db: database.db,
    clock: options.clock,
    authenticators: options.authenticators,
  });
  await app.http.ready();
  return Object.assign(app, {
    operatorHeaders: { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` },
    close: async () => {
      await app.stop();
      await database.drop();
    },
  });
}
