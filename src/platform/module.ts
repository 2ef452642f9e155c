import type { FastifyInstance } from 'fastify';
import type { ChartOfAccounts, ChartSlice } from './chart.ts';
import type { Clock } from './clock.ts';
import type { PlatformConfig, SettingSpecs, SettingsOf } from './config.ts';
import type { Database } from './db/database.ts';
import type { Authenticator } from './http/policy.ts';
import type { HandlerOptions, Job, JobContext, JobQueue } from './jobs/queue.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';

/**
 * The module contract. Every domain module exports one `ModuleDefinition` (from its
 * index.ts); src/modules.ts lists them in dependency order, and the app, the migration order,
 * the configuration, `tuyere verify`, the demo world and the chart of accounts all loop over
 * that list. Adding a module is one folder and one line there (docs/MODULES.md).
 *
 * Each module adds its service to `Services` by declaration merging, next to its definition:
 *
 * @example
 * declare module '../platform/module.ts' {
 *   interface Services { wallet: Wallet }
 * }
 * export const walletModule = defineModule({
 *   name: 'wallet',
 *   migrations: new URL('./migrations', import.meta.url),
 *   settings: WALLET_SETTINGS,
 *   chart: WALLET_CHART,
 *   create: (context) => {
 *     const wallet = new Wallet({ ledger: context.use('ledger'), settings: walletSettings(context.config), ... });
 *     return { service: wallet, routes: walletRoutes(wallet), jobs: walletJobs(wallet), verify: () => wallet.verify() };
 *   },
 * });
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by each module's declaration merging
export interface Services {}

export type ModuleName = keyof Services;

/** The settings of a module that declares none. */
export type NoSettings = Record<never, never>;

export interface ModuleDefinition<Name extends ModuleName = ModuleName, S extends SettingSpecs = NoSettings> {
  name: Name;
  /** One line on what the module owns, shown by `tuyere modules` and in docs. */
  summary: string;
  /** Folder of numbered .sql migrations (the module's own tables, prefixed with its name). */
  migrations?: URL;
  /** The module's slice of the configuration. */
  settings?: S;
  /** The ledger account and transfer codes the module owns, with their statement labels. */
  chart?: ChartSlice;
  create(context: ModuleContext<S>): ModuleInstance<Services[Name]> | Promise<ModuleInstance<Services[Name]>>;
}

/** What a module gets to build its service: shared platform parts and earlier modules' services. */
export interface ModuleContext<S extends SettingSpecs = SettingSpecs> {
  /** The platform's settings and this module's own slice. */
  config: PlatformConfig & SettingsOf<S>;
  db: Database;
  clock: Clock;
  /** A child logger tagged with the module's name. */
  log: Logger;
  metrics: Metrics;
  /** For enqueueing; handlers and schedules are declared in `ModuleInstance.jobs`. */
  jobs: JobQueue;
  /** Every module's codes, joined (statement labels of other modules' transfers). */
  chart: ChartOfAccounts;
  /** The service of a module listed earlier; throws for a later or unknown one. */
  use<K extends ModuleName>(name: K): Services[K];
  /** A replacement for this module's service supplied by the caller (tests), if any. */
  provided: Services[ModuleName] | undefined;
}

export interface ModuleInstance<Service> {
  service: Service;
  /** A Fastify plugin registering the module's routes; each declares its policy. */
  routes?: (http: FastifyInstance) => Promise<void>;
  /** Ways to authenticate a request, tried after the operator token. */
  authenticators?: Authenticator[];
  jobs?: JobDefinition[];
  /** The module's invariants, for `tuyere verify`; each check in one snapshot of its own. */
  verify?: (options: VerifyRunOptions) => Promise<VerifyCheck[]>;
  /** Adds the module's part of the demo world; idempotent. */
  demo?: (world: DemoWorld) => Promise<void>;
  /** Drains in-flight work at shutdown (after HTTP and jobs have stopped), in reverse list order. */
  close?: () => Promise<void>;
}

export interface JobDefinition {
  kind: string;
  // biome-ignore lint/suspicious/noExplicitAny: each handler declares its own payload type
  run: (job: Job<any>, context: JobContext) => Promise<void>;
  options?: HandlerOptions;
  /** Enqueue periodically (cron in TUYERE_TIMEZONE), once per occurrence across processes. */
  schedule?: { name: string; cron: string; payload?: Record<string, unknown> };
}

/** One named check of `tuyere verify`: the same shape for every module. */
export interface VerifyCheck {
  name: string;
  ok: boolean;
  violations: string[];
  /** What it looked at, for the report: "1,204 transfers since journal batch 88". */
  examined?: string;
}

/** How `tuyere verify` runs the checks. */
export interface VerifyRunOptions {
  /** Re-verify everything, ignoring checkpoints (`tuyere verify --full`). */
  full: boolean;
  /** Record checkpoints of passing checks, so the next run starts there. */
  record: boolean;
  /** Called as a long check advances (the CLI draws it on a terminal). */
  progress?: (progress: { check: string; done: number; total: number | null; unit: string }) => void;
}

/** The demo world, built module by module in list order. */
export interface DemoWorld {
  /** Demo people by first name (lower case) → user id, filled by identity. */
  people: Record<string, string>;
  /** How to sign in as each demo person or operator. */
  logins: Array<{ who: string; how: string }>;
  notes: string[];
  /** Run once every module has seeded (stops what a module started just for seeding). */
  cleanups: Array<() => Promise<void>>;
}

/** Checks a definition's shape and infers its settings type; returns it unchanged. */
export function defineModule<Name extends ModuleName, S extends SettingSpecs = NoSettings>(
  definition: ModuleDefinition<Name, S>,
): ModuleDefinition<Name, S> {
  if (!/^[a-z]+$/.test(definition.name))
    throw new Error(`module name ${definition.name}: lower-case letters only`);
  return definition;
}
