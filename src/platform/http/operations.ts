import type { FastifyInstance } from 'fastify';
import type { Database } from '../db/database.ts';
import { type MigrationSource, pendingMigrations } from '../db/migrate.ts';
import type { Metrics } from '../metrics.ts';

/** Liveness, readiness and Prometheus metrics. */
export async function operationsRoutes(
  app: FastifyInstance,
  deps: { db: Database; metrics: Metrics; migrations: readonly MigrationSource[] },
) {
  app.get(
    '/health',
    {
      config: { policy: { public: true } },
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process is up',
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/ready',
    {
      config: { policy: { public: true } },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: database reachable and migrations current',
        response: {
          200: { $ref: 'Readiness#' },
          503: { $ref: 'Readiness#' },
        },
      },
    },
    async (_request, reply) => {
      let database = 'ok';
      let pending: string[] = [];
      try {
        await deps.db.query('SELECT 1');
        pending = await pendingMigrations(deps.db, deps.migrations);
      } catch (error) {
        database = (error as Error).message;
      }
      const ready = database === 'ok' && pending.length === 0;
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not_ready', database, pending_migrations: pending });
    },
  );

  app.get(
    '/metrics',
    {
      config: { policy: { public: true } },
      schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'] },
    },
    async (_request, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );
}

export const READINESS_SCHEMA = {
  $id: 'Readiness',
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    database: { type: 'string' },
    pending_migrations: { type: 'array', items: { type: 'string' } },
  },
} as const;
