import path from 'node:path';

/**
 * Settings come from the environment. Each module declares its own slice (a `SettingSpecs`
 * object in its settings.ts); the platform's slice is below. src/modules.ts joins every slice
 * into one `Config`, and the README's configuration table is generated from the same specs
 * (a test keeps them equal).
 */
export interface Setting<T> {
  env: string;
  description: string;
  default: string;
  parse(raw: string, env: string): T;
  /**
   * Must be set explicitly (non-empty) in the production profile; `unless` names another
   * setting whose value makes this one unnecessary (a gateway URL when its provider is the sandbox).
   */
  requiredInProduction?: true | { unless: { env: string; equals: string } };
  /** Refused in the production profile (the root operator token). */
  developmentOnly?: true;
}

export type SettingSpecs = Record<string, Setting<unknown>>;

/** The parsed values of a slice of settings. */
export type SettingsOf<S extends SettingSpecs> = { [K in keyof S]: ReturnType<S[K]['parse']> };

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function integer(min: number, max: number) {
  return (raw: string, env: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${env} must be a whole number, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max)
      throw new ConfigError(`${env} must be between ${min} and ${max}, got ${value}`);
    return value;
  };
}
export function boolean(raw: string, env: string): boolean {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${env} must be true or false, got "${raw}"`);
}
export function oneOf<T extends string>(...values: T[]) {
  return (raw: string, env: string): T => {
    if (!(values as string[]).includes(raw))
      throw new ConfigError(`${env} must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };
}
export function text(raw: string): string {
  return raw;
}
/** An http(s) URL, or empty. */
export function httpUrl(raw: string, env: string): string {
  if (raw === '') return raw;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${env} must be an http:// or https:// URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`${env} must be an http:// or https:// URL, got "${raw}"`);
  return raw;
}
function timeZone(raw: string, env: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: raw });
    return raw;
  } catch {
    throw new ConfigError(`${env} must be an IANA time zone such as Asia/Shanghai, got "${raw}"`);
  }
}
function databaseUrl(raw: string, env: string): string {
  if (raw === '') return raw;
  if (!/^postgres(ql)?:\/\//.test(raw))
    throw new ConfigError(`${env} must start with postgres://, got "${raw.replace(/:[^:@/]*@/, ':***@')}"`);
  return raw;
}

/** NODE_ENV=production is the production profile; any other value (or none) is development. */
function profile(raw: string): 'production' | 'development' {
  return raw.trim() === 'production' ? 'production' : 'development';
}

/** The platform's own settings: server, database, logging, jobs, time zone. */
export const PLATFORM_SETTINGS = {
  profile: {
    env: 'NODE_ENV',
    default: 'development',
    description:
      'production: no demo, no sandbox routes or sandbox bank, no generated secrets (the settings marked required must be set); anything else is the development profile',
    parse: profile,
  },
  port: { env: 'PORT', default: '8080', description: 'HTTP port', parse: integer(0, 65535) },
  host: {
    env: 'HOST',
    default: '127.0.0.1',
    description: 'HTTP listen address (0.0.0.0 for all interfaces)',
    parse: text,
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    default: '',
    description: 'PostgreSQL URL; empty starts the embedded PostgreSQL in TUYERE_DATA_DIR',
    parse: databaseUrl,
    requiredInProduction: true,
  },
  dataDir: {
    env: 'TUYERE_DATA_DIR',
    default: './.tuyere',
    description: 'Where the embedded database and generated secrets live',
    parse: text,
  },
  embeddedPgPort: {
    env: 'TUYERE_EMBEDDED_PG_PORT',
    default: '0',
    description: 'Port for the embedded PostgreSQL; 0 picks a free one on first start and remembers it',
    parse: integer(0, 65535),
  },
  poolMax: {
    env: 'DB_POOL_MAX',
    default: '10',
    description: 'Maximum database connections per process',
    parse: integer(1, 500),
  },
  poolIdleMs: {
    env: 'DB_POOL_IDLE_MS',
    default: '10000',
    description: 'Idle connection timeout',
    parse: integer(100, 3_600_000),
  },
  statementTimeoutMs: {
    env: 'DB_STATEMENT_TIMEOUT_MS',
    default: '30000',
    description: 'Server-side statement timeout',
    parse: integer(0, 3_600_000),
  },
  logLevel: {
    env: 'LOG_LEVEL',
    default: 'info',
    description: 'fatal, error, warn, info, debug, trace or silent',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  logFormat: {
    env: 'LOG_FORMAT',
    default: 'auto',
    description:
      'json, pretty (readable lines), or auto: pretty when stdout is a terminal and LOG_FILE is empty',
    parse: oneOf('auto', 'json', 'pretty'),
  },
  logFile: {
    env: 'LOG_FILE',
    default: '',
    description: 'Append JSON logs to this file instead of stdout',
    parse: text,
  },
  bodyLimitBytes: {
    env: 'HTTP_BODY_LIMIT_BYTES',
    default: '1048576',
    description: 'Largest accepted request body',
    parse: integer(1024, 100 * 1024 * 1024),
  },
  operatorToken: {
    env: 'TUYERE_OPERATOR_TOKEN',
    default: '',
    description:
      'Root bearer token with operator-admin rights, development only; empty generates one in TUYERE_DATA_DIR. Production has staff accounts (`tuyere create-staff`)',
    parse: text,
    developmentOnly: true,
  },
  timeZone: {
    env: 'TUYERE_TIMEZONE',
    default: 'Asia/Shanghai',
    description: 'Business time zone for daily limits and cut-offs',
    parse: timeZone,
  },
  demo: {
    env: 'TUYERE_DEMO',
    default: 'true',
    description: 'Seed the demo world on first start (never in production)',
    parse: boolean,
  },
  jobsEnabled: {
    env: 'JOBS_ENABLED',
    default: 'true',
    description: 'Run background jobs in this process',
    parse: boolean,
  },
  jobPollMs: {
    env: 'JOB_POLL_MS',
    default: '500',
    description: 'How often idle job workers look for work',
    parse: integer(10, 60_000),
  },
  jobConcurrency: {
    env: 'JOB_CONCURRENCY',
    default: '4',
    description: 'Jobs run at once per process',
    parse: integer(1, 64),
  },
  shutdownTimeoutMs: {
    env: 'SHUTDOWN_TIMEOUT_MS',
    default: '10000',
    description: 'How long a graceful shutdown waits for requests and jobs to drain',
    parse: integer(0, 600_000),
  },
} satisfies SettingSpecs;

export type PlatformConfig = SettingsOf<typeof PLATFORM_SETTINGS>;

/** One row of the configuration table. */
export interface SettingRow {
  key: string;
  env: string;
  default: string;
  description: string;
  /** What production asks of it: "required", "required unless X=y", "refused" or "". */
  production: string;
}

function productionNote(setting: Setting<unknown>): string {
  if (setting.developmentOnly) return 'must not be set';
  const required = setting.requiredInProduction;
  if (!required) return '';
  return required === true ? 'required' : `required unless ${required.unless.env}=${required.unless.equals}`;
}

/** The rows of several slices, in order; throws on a key or variable declared twice. */
export function settingRows(slices: readonly SettingSpecs[]): SettingRow[] {
  const rows: SettingRow[] = [];
  const seen = new Set<string>();
  for (const slice of slices) {
    for (const [key, setting] of Object.entries(slice)) {
      for (const name of [key, setting.env]) {
        if (seen.has(name)) throw new Error(`setting ${name} is declared twice`);
        seen.add(name);
      }
      rows.push({
        key,
        env: setting.env,
        default: setting.default,
        description: setting.description,
        production: productionNote(setting),
      });
    }
  }
  return rows;
}

/**
 * Reads and validates every slice from `env`; throws one ConfigError listing every bad value.
 * `overrides` replace parsed values (tests).
 */
export function parseSettings<C>(
  slices: readonly SettingSpecs[],
  env: NodeJS.ProcessEnv,
  overrides: Partial<C> = {},
): C {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const slice of slices) {
    for (const [key, setting] of Object.entries(slice)) {
      const raw = env[setting.env] ?? setting.default;
      try {
        config[key] = setting.parse(raw, setting.env);
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  if (config.profile === 'production') checkProductionSettings(slices, env);
  const result = { ...config, ...overrides } as C & { dataDir: string };
  result.dataDir = path.resolve(result.dataDir);
  return result;
}

const isSet = (env: NodeJS.ProcessEnv, name: string) => (env[name] ?? '').trim() !== '';

/**
 * The production profile generates nothing and falls back to no sandbox: every required
 * setting must be given. Throws one ConfigError naming every missing (or refused) variable.
 */
function checkProductionSettings(slices: readonly SettingSpecs[], env: NodeJS.ProcessEnv): void {
  const missing: string[] = [];
  const refused: string[] = [];
  for (const slice of slices) {
    for (const setting of Object.values(slice)) {
      if (setting.developmentOnly && isSet(env, setting.env)) refused.push(setting.env);
      const required = setting.requiredInProduction;
      if (!required || isSet(env, setting.env)) continue;
      if (required !== true && (env[required.unless.env] ?? '').trim() === required.unless.equals) continue;
      missing.push(setting.env);
    }
  }
  if (missing.length === 0 && refused.length === 0) return;
  const lines = ['The production profile (NODE_ENV=production) cannot start:'];
  if (missing.length > 0)
    lines.push(
      `  ${missing.length} required variable${missing.length === 1 ? ' is' : 's are'} not set (production generates no secrets and uses no sandbox):`,
      ...missing.map((name) => `  - ${name}`),
    );
  for (const name of refused)
    lines.push(`  - ${name} must not be set in production (it exists only in the development profile).`);
  lines.push('README.md (Configuration) lists what production requires.');
  throw new ConfigError(lines.join('\n'));
}
