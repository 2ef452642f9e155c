import { fileURLToPath } from 'node:url';
import { bankModule } from './bank/index.ts';
import { identityModule } from './identity/index.ts';
import { ledgerModule } from './ledger/index.ts';
import { merchantsModule } from './merchants/index.ts';
import { type ChartOfAccounts, joinCharts } from './platform/chart.ts';
import {
  parseSettings,
  type SettingRow,
  type SettingSpecs,
  type SettingsOf,
  settingRows,
} from './platform/config.ts';
import type { MigrationSource } from './platform/db/migrate.ts';
import type { ModuleDefinition } from './platform/module.ts';
import { platformModule } from './platform/platform-module.ts';
import { redpacketModule } from './redpacket/index.ts';
import { socialModule } from './social/index.ts';
import { walletModule } from './wallet/index.ts';
import { webModule } from './web/index.ts';

/**
 * Every module, in dependency order: a module may use the services of those before it. The
 * app, the migration order, the configuration, `tuyere verify`, the demo world and the chart of
 * accounts all loop over this list. Adding a module: one folder, one line here (docs/MODULES.md).
 */
export const MODULES = [
  platformModule,
  ledgerModule,
  identityModule,
  merchantsModule,
  bankModule,
  socialModule,
  walletModule,
  redpacketModule,
  webModule,
] as const;

type SettingsOfModule<M> = M extends ModuleDefinition<infer _Name, infer S> ? SettingsOf<S> : never;
type Intersection<U> = (U extends unknown ? (slice: U) => void : never) extends (slice: infer I) => void
  ? I
  : never;

/** The whole configuration: every module's slice, flat (keys are unique across modules). */
export type Config = Intersection<SettingsOfModule<(typeof MODULES)[number]>>;

/** What the app derives from a list of modules; a code or setting declared twice fails here. */
export interface Assembly {
  modules: readonly ModuleDefinition[];
  settings: readonly SettingSpecs[];
  /** Every setting, in module order (the README's configuration table). */
  settingRows: readonly SettingRow[];
  migrations: readonly MigrationSource[];
  chart: ChartOfAccounts;
}

export function assemble(modules: readonly ModuleDefinition[]): Assembly {
  const settings = modules.map((module) => module.settings ?? {});
  return {
    modules,
    settings,
    settingRows: settingRows(settings),
    migrations: modules.flatMap((module) =>
      module.migrations ? [{ module: module.name, directory: fileURLToPath(module.migrations) }] : [],
    ),
    chart: joinCharts(modules.map((module) => ({ module: module.name, chart: module.chart }))),
  };
}

/** Tuyere's modules, assembled (at import: a clash fails at once). */
export const TUYERE: Assembly = assemble(MODULES as unknown as readonly ModuleDefinition[]);

/** Every setting, in module order: the README's configuration table (scripts/config-table.ts). */
export const CONFIG_SETTINGS: readonly SettingRow[] = TUYERE.settingRows;
/** Every module's migrations, in list order. */
export const MIGRATION_SOURCES: readonly MigrationSource[] = TUYERE.migrations;

/** Reads and validates the whole configuration; throws one ConfigError listing every bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  return parseSettings<Config>(TUYERE.settings, env, overrides);
}
