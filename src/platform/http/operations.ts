import type { FastifyInstance } from 'fastify';
import type { Database } from '../db/database.ts';
import { type MigrationSource, pendingMigrations } from '../db/migrate.ts';
import type { Metrics } from '../metrics.ts';
import type { Role } from './policy.ts';

const OPERATOR_ROLES: ReadonlySet<Role> = new Set(['operator-read', 'operator-admin']);

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
    async (request, reply) => {
      let failure: Error | null = null;
      let pending: string[] = [];
      try {
        await deps.db.query('SELECT 1');
        pending = await pendingMigrations(deps.db, deps.migrations);
      } catch (error) {
        failure = error as Error;
      }
      const ready = failure === null && pending.length === 0;
      // Anyone may ask whether we are ready; only operators learn why not. A raw database error
      // names hosts, roles and database names, and migration names describe the schema.
      const operator = request.principal?.roles.some((role) => OPERATOR_ROLES.has(role)) ?? false;
      if (failure) request.log.warn({ err: failure }, 'readiness: database check failed');
      const body = operator
        ? {
            status: ready ? 'ready' : 'not_ready',
            database: failure?.message ?? 'ok',
            pending_migrations: pending,
          }
        : {
            status: ready ? 'ready' : 'not_ready',
            database: failure ? 'unavailable' : 'ok',
            ...(pending.length > 0 ? { migrations: 'pending' } : {}),
          };
      return reply.status(ready ? 200 : 503).send(body);
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
    database: {
      type: 'string',
      description: "'ok'; otherwise 'unavailable' for anyone, the database's own error for operators",
    },
    migrations: { type: 'string', enum: ['pending'], description: 'Set when migrations are pending' },
    pending_migrations: {
      type: 'array',
      items: { type: 'string' },
      description: 'Names of pending migrations (operators only)',
    },
  },
} as const;
