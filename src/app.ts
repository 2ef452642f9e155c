import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { type Assembly, type Config, TUYERE } from './modules.ts';
import { type Clock, systemClock } from './platform/clock.ts';
import type { Database } from './platform/db/database.ts';
import { migrate, pendingMigrations } from './platform/db/migrate.ts';
import { operationsRoutes, READINESS_SCHEMA } from './platform/http/operations.ts';
import type { Authenticator } from './platform/http/policy.ts';
import { createHttpServer, operatorTokenAuthenticator } from './platform/http/server.ts';
import { JobQueue } from './platform/jobs/queue.ts';
import { createLogger, type Logger } from './platform/log.ts';
import { Metrics } from './platform/metrics.ts';
import type {
  DemoWorld,
  ModuleContext,
  ModuleInstance,
  ModuleName,
  Services,
  VerifyCheck,
  VerifyRunOptions,
} from './platform/module.ts';
import { loadOrCreateSecret } from './platform/secrets.ts';

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

/**
 * The composition root: builds every module in list order (src/modules.ts) on one database,
 * clock and job queue, and mounts their routes. Modules never construct each other; each gets
 * the services of the modules before it through its ModuleContext.
 */
export type TuyereApp = AppParts & Services;

interface AppParts {
  config: Config;
  db: Database;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  jobs: JobQueue;
  http: FastifyInstance;
  /** The root operator token (development profile); empty in production, where there is none. */
  operatorToken: string;
  /**
   * Every module's `tuyere verify` checks, and that no migration is pending. By default every
   * check runs from the start and records nothing; `onCheck` hears each module's checks as
   * they finish.
   */
  verify(
    options?: Partial<VerifyRunOptions> & { onCheck?: (checks: VerifyCheck[]) => void },
  ): Promise<VerifyCheck[]>;
  /** Every module's demo contribution, in list order. */
  seedDemo(world: DemoWorld): Promise<void>;
  /** Starts background jobs (the HTTP listener is started by the caller). */
  startJobs(): void;
  /** Drains requests and jobs; the caller closes the database afterwards. */
  stop(): Promise<void>;
}

export interface CreateAppOptions {
  config: Config;
  db: Database;
  clock?: Clock;
  log?: Logger;
  /** Extra authenticators tried first (tests use a fake user authenticator). */
  authenticators?: Authenticator[];
  /** Replacements for modules' services (tests: a bank connector of their own). */
  services?: Partial<Services>;
  /** The modules to build (default: src/modules.ts; the example-module test adds one). */
  assembly?: Assembly;
}

export async function createApp(options: CreateAppOptions): Promise<TuyereApp> {
  const { config, db } = options;
  const clock = options.clock ?? systemClock;
  const log =
    options.log ??
    createLogger({ level: config.logLevel, file: config.logFile || undefined, format: config.logFormat });
  const metrics = new Metrics();
  const jobs = new JobQueue({
    db,
    clock,
    log: log.child({ component: 'jobs' }),
    timeZone: config.timeZone,
    concurrency: config.jobConcurrency,
    pollMs: config.jobPollMs,
  });
  // The root operator token exists only in the development profile; production has staff accounts.
  const operatorToken =
    config.profile === 'production'
      ? ''
      : loadOrCreateSecret(config, 'operator-token', config.operatorToken || undefined);

  const assembly = options.assembly ?? TUYERE;
  const services: Partial<Services> = {};
  const instances: Array<{ name: ModuleName; instance: ModuleInstance<unknown> }> = [];
  for (const module of assembly.modules) {
    const context: ModuleContext = {
      config,
      db,
      clock,
      log: log.child({ module: module.name }),
      metrics,
      jobs,
      chart: assembly.chart,
      use: (name) => {
        if (!(name in services))
          throw new Error(`${module.name} uses ${name}, which is not listed before it`);
        return services[name]!;
      },
      provided: options.services?.[module.name],
    };
    // Each definition's create is typed by its own settings slice; the full config satisfies every slice.
    const instance = (await (module.create as (c: ModuleContext) => unknown)(
      context,
    )) as ModuleInstance<unknown>;
    (services as Record<string, unknown>)[module.name] = instance.service;
    instances.push({ name: module.name, instance });
    for (const job of instance.jobs ?? []) {
      jobs.register(job.kind, job.run, job.options);
      if (job.schedule) jobs.schedule({ ...job.schedule, kind: job.kind });
    }
  }

  const http = await createHttpServer({
    log,
    metrics,
    db,
    clock,
    bodyLimitBytes: config.bodyLimitBytes,
    authenticators: [
      ...(options.authenticators ?? []),
      ...(operatorToken ? [operatorTokenAuthenticator(operatorToken)] : []),
      ...instances.flatMap(({ instance }) => instance.authenticators ?? []),
    ],
    version: VERSION,
    audit: services.identity ? (entry) => services.identity!.audit(entry) : undefined,
  });
  http.addSchema(READINESS_SCHEMA);
  await http.register(operationsRoutes, { db, metrics, migrations: assembly.migrations });
  for (const { instance } of instances) if (instance.routes) await http.register(instance.routes);

  return {
    ...(services as Services),
    config,
    db,
    clock,
    log,
    metrics,
    jobs,
    http,
    operatorToken,
    async verify(options = {}) {
      const run: VerifyRunOptions = {
        full: options.full ?? true,
        record: options.record ?? false,
        ...(options.progress ? { progress: options.progress } : {}),
      };
      // One module after another: each check takes its own snapshot, and progress stays readable.
      const checks: VerifyCheck[] = [];
      for (const { instance } of instances) {
        const found = (await instance.verify?.(run)) ?? [];
        options.onCheck?.(found);
        checks.push(...found);
      }
      const pending = await pendingMigrations(db, assembly.migrations);
      const migrations = [
        {
          name: 'migrations current',
          ok: pending.length === 0,
          violations: pending.map((m) => `pending: ${m}`),
        },
      ];
      options.onCheck?.(migrations);
      return [...checks, ...migrations];
    },
    async seedDemo(world) {
      if (operatorToken)
        world.logins.push({
          who: 'operator (API and console)',
          how: `Authorization: Bearer ${operatorToken}`,
        });
      try {
        for (const { instance } of instances) await instance.demo?.(world);
      } finally {
        for (const cleanup of world.cleanups.splice(0)) await cleanup();
      }
    },
    startJobs: () => jobs.start(),
    stop: async () => {
      await http.close();
      await jobs.stop(config.shutdownTimeoutMs);
      for (const { instance } of [...instances].reverse()) await instance.close?.();
    },
  };
}

export async function migrateAll(db: Database, assembly: Assembly = TUYERE): Promise<string[]> {
  return migrate(db, assembly.migrations);
}
