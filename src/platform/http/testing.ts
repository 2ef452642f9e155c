import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../clock.ts';
import { createLogger } from '../log.ts';
import { Metrics } from '../metrics.ts';
import { createTestDatabase, type TestDatabase } from '../testing/database.ts';
import type { Authenticator } from './policy.ts';
import { createHttpServer } from './server.ts';

/** A bare HTTP server on a fresh database, for testing platform behaviour with ad-hoc routes. */
export async function bareServer(
  register: (app: FastifyInstance) => void | Promise<void>,
  authenticators: Authenticator[] = [],
): Promise<{ app: FastifyInstance; database: TestDatabase; clock: ManualClock; close(): Promise<void> }> {
  const database = await createTestDatabase();
  const clock = new ManualClock('2026-02-16T08:00:00Z');
  const app = await createHttpServer({
    log: createLogger({ level: 'silent' }),
    metrics: new Metrics(),
    db: database.db,
    clock,
    bodyLimitBytes: 1024 * 1024,
    authenticators,
    version: 'test',
  });
  try {
    await register(app);
    await app.ready();
  } catch (error) {
    await app.close().catch(() => {});
    await database.drop();
    throw error;
  }
  return {
    app,
    database,
    clock,
    close: async () => {
      await app.close();
      await database.drop();
    },
  };
}

/** Authenticates `Bearer user:<id>` as that user: test-only. */
export const testUserAuthenticator: Authenticator = async (request) => {
  const match = /^Bearer user:([a-z0-9-]+)$/.exec(request.headers.authorization ?? '');
  return match ? { key: `user:${match[1]}`, kind: 'user', id: match[1]!, roles: ['user'] } : null;
};
