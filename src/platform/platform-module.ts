import { PLATFORM_SETTINGS } from './config.ts';
import { purgeIdempotencyKeys } from './http/idempotency.ts';
import { defineModule } from './module.ts';

declare module './module.ts' {
  interface Services {
    /** The platform's parts (database, jobs, HTTP) are in every ModuleContext, not a service. */
    platform: null;
  }
}

/** The platform as a module: its tables (jobs, idempotency keys, state), settings and housekeeping. */
export const platformModule = defineModule({
  name: 'platform',
  summary:
    'configuration, database, migrations, HTTP server, idempotency, jobs, ids, clock, logging, metrics',
  migrations: new URL('./migrations/', import.meta.url),
  settings: PLATFORM_SETTINGS,
  create(context) {
    const { db, jobs, metrics } = context;
    metrics.gauge('tuyere_db_pool_connections', 'Open database connections', () => db.poolStats().total);
    metrics.gauge(
      'tuyere_db_pool_waiting',
      'Requests waiting for a database connection',
      () => db.poolStats().waiting,
    );
    metrics.labelledGauge('tuyere_jobs', 'Jobs not yet done, by state', ['state'], async () =>
      (await jobs.depth()).map((row) => ({ labels: { state: row.state }, value: row.count })),
    );
    return {
      service: null,
      jobs: [
        {
          kind: 'platform.purge_idempotency_keys',
          run: async () => void (await purgeIdempotencyKeys(db, context.clock.now())),
          schedule: { name: 'purge-idempotency-keys', cron: '17 * * * *' },
        },
      ],
    };
  },
});
