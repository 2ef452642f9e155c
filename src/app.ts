import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import { type BankConnector, bankSettings, HttpBankConnector } from './bank/index.ts';
import { Identity } from './identity/index.ts';
import { Ledger } from './ledger/index.ts';
import { ledgerRoutes } from './ledger/routes.ts';
import { MIGRATION_SOURCES } from './modules.ts';
import { type Clock, systemClock } from './platform/clock.ts';
import type { Config } from './platform/config.ts';
import type { Database } from './platform/db/database.ts';
import { migrate } from './platform/db/migrate.ts';
import { purgeIdempotencyKeys } from './platform/http/idempotency.ts';
import { operationsRoutes, READINESS_SCHEMA } from './platform/http/operations.ts';
import type { Authenticator } from './platform/http/policy.ts';
import { createHttpServer, operatorTokenAuthenticator } from './platform/http/server.ts';
import { JobQueue } from './platform/jobs/queue.ts';
import { createLogger, type Logger } from './platform/log.ts';
import { Metrics } from './platform/metrics.ts';
import { cryptoIntegers } from './platform/random.ts';
import { loadOrCreateSecret } from './platform/secrets.ts';
import { DEFAULT_ENVELOPE_RULES, Envelopes, redpacketRoutes, StormRunner } from './redpacket/index.ts';
import { Groups, socialRoutes } from './social/index.ts';
import { Wallet, walletSettings } from './wallet/index.ts';
import { webRoutes } from './web/index.ts';

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

/**
 * The composition root: builds every module's service on one database, clock and job
 * queue, and mounts their routes. Modules never construct each other; they get what they
 * need here.
 */
export interface TuyereApp {
  config: Config;
  db: Database;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  jobs: JobQueue;
  http: FastifyInstance;
  identity: Identity;
  operatorToken: string;
  ledger: Ledger;
  groups: Groups;
  wallet: Wallet;
  envelopes: Envelopes;
  /** The wallet's bank connector (the sandbox bank's unless BANK_URL names another). */
  bank: BankConnector;
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
  /** The bank connector; default: HttpBankConnector to BANK_URL (or the sandbox bank). */
  bank?: BankConnector;
}

export async function createApp(options: CreateAppOptions): Promise<TuyereApp> {
  const { config, db } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger({ level: config.logLevel, file: config.logFile || undefined });
  const metrics = new Metrics();
  const jobs = new JobQueue({
    db,
    clock,
    log: log.child({ component: 'jobs' }),
    timeZone: config.timeZone,
    concurrency: config.jobConcurrency,
    pollMs: config.jobPollMs,
  });
  const ledger = new Ledger({ db, clock });
  const groups = new Groups({ db, clock, membersMax: config.groupMembersMax });
  const operatorToken = loadOrCreateSecret(
    config.dataDir,
    'operator-token',
    config.operatorToken || undefined,
  );

  const identity = new Identity({ db, clock, log, config });

  const bankConfig = bankSettings(config);
  const bank =
    options.bank ??
    new HttpBankConnector({
      baseUrl: bankConfig.url,
      webhookSecret: bankConfig.webhookSecret,
      timeoutMs: bankConfig.timeoutMs,
      notifyUrl: config.walletCallbackUrl || undefined,
      clock,
    });
  const wallet = new Wallet({
    db,
    clock,
    ledger,
    identity,
    bank,
    jobs,
    log: log.child({ module: 'wallet' }),
    settings: walletSettings(config),
  });

  const envelopes = new Envelopes({
    db,
    clock,
    ledger,
    wallet,
    identity,
    groups,
    log: log.child({ module: 'redpacket' }),
    random: cryptoIntegers,
    rules: {
      ...DEFAULT_ENVELOPE_RULES,
      personalMaximum: BigInt(config.redpacketPersonalMax),
      groupMaximum: BigInt(config.redpacketGroupMax),
      sharesMaximum: config.redpacketSharesMax,
      expiryMs: config.redpacketExpiryHours * 3_600_000,
    },
  });

  const http = await createHttpServer({
    log,
    metrics,
    db,
    clock,
    bodyLimitBytes: config.bodyLimitBytes,
    authenticators: [
      ...(options.authenticators ?? []),
      operatorTokenAuthenticator(operatorToken),
      identity.authenticator,
    ],
    version: VERSION,
  });
  http.addSchema(READINESS_SCHEMA);
  await http.register(operationsRoutes, { db, metrics, migrations: MIGRATION_SOURCES });
  await http.register(ledgerRoutes, { ledger });
  await http.register(identity.routes);
  await http.register(socialRoutes, { groups });
  await http.register(wallet.routes);
  await http.register(webRoutes, { metrics, jobs, identity, wallet });
  const storms = new StormRunner({
    envelopes,
    groups,
    wallet,
    clock,
    log: log.child({ module: 'storm' }),
    membersMax: config.groupMembersMax,
  });
  await http.register(redpacketRoutes, { envelopes, storms });
  const grabCounter = new Counter({
    name: 'tuyere_redpacket_grabs_total',
    help: 'Red-envelope grab answers by outcome',
    labelNames: ['outcome'] as const,
    registers: [metrics.registry],
  });
  const grabBatchSeconds = new Histogram({
    name: 'tuyere_redpacket_claim_batch_seconds',
    help: 'Time to claim one batch of grabs',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [metrics.registry],
  });
  envelopes.engine.onOutcomes = (outcomes, latencyMs) => {
    for (const outcome of outcomes) grabCounter.inc({ outcome: outcome.outcome });
    if (latencyMs > 0) grabBatchSeconds.observe(latencyMs / 1000);
  };

  metrics.gauge('tuyere_db_pool_connections', 'Open database connections', () => db.poolStats().total);
  metrics.gauge(
    'tuyere_db_pool_waiting',
    'Requests waiting for a database connection',
    () => db.poolStats().waiting,
  );
  metrics.labelledGauge('tuyere_jobs', 'Jobs not yet done, by state', ['state'], async () =>
    (await jobs.depth()).map((row) => ({ labels: { state: row.state }, value: row.count })),
  );

  jobs.register('platform.purge_idempotency_keys', async () => {
    await purgeIdempotencyKeys(db, clock.now());
  });
  jobs.schedule({
    name: 'purge-idempotency-keys',
    cron: '17 * * * *',
    kind: 'platform.purge_idempotency_keys',
  });

  jobs.register(
    'ledger.expire_pending',
    async () => {
      await ledger.expirePendingTransfers(clock.now());
    },
    { mode: 'leased' },
  );
  jobs.schedule({ name: 'ledger-expire-pending', cron: '*/10 * * * * *', kind: 'ledger.expire_pending' });

  wallet.registerJobs(jobs, { reconcileCron: config.walletReconcileCron });
  envelopes.registerJobs(jobs);

  return {
    config,
    db,
    clock,
    log,
    metrics,
    jobs,
    http,
    identity,
    operatorToken,
    ledger,
    groups,
    wallet,
    envelopes,
    bank,
    startJobs: () => jobs.start(),
    stop: async () => {
      await http.close();
      await jobs.stop(config.shutdownTimeoutMs);
      await envelopes.engine.close();
      await ledger.close();
    },
  };
}

export async function migrateAll(db: Database): Promise<string[]> {
  return migrate(db, MIGRATION_SOURCES);
}
