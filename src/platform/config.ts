import path from 'node:path';

/**
 * Every setting Tuyere reads from the environment, with its default. The README's
 * configuration table is checked against this list by a test, so they cannot drift.
 */
interface Setting<T> {
  env: string;
  description: string;
  default: string;
  parse(raw: string): T;
}

class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export { ConfigError };

function integer(min: number, max: number) {
  return (raw: string, env: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${env} must be a whole number, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max)
      throw new ConfigError(`${env} must be between ${min} and ${max}, got ${value}`);
    return value;
  };
}
function boolean(raw: string, env: string): boolean {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${env} must be true or false, got "${raw}"`);
}
function oneOf<T extends string>(...values: T[]) {
  return (raw: string, env: string): T => {
    if (!(values as string[]).includes(raw))
      throw new ConfigError(`${env} must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };
}
function text(raw: string): string {
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

const settings = {
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
    description: 'Bearer token with operator-admin rights; empty generates one in TUYERE_DATA_DIR',
    parse: text,
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
    description: 'Seed the demo world on first start',
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
  idEncryptionKeys: {
    env: 'TUYERE_ID_ENCRYPTION_KEYS',
    default: '',
    description:
      'Keyring for ID numbers at rest: comma-separated keyId:base64(32 bytes), newest first (new writes use the first); empty generates one in TUYERE_DATA_DIR',
    parse: text,
  },
  identityHmacKey: {
    env: 'TUYERE_IDENTITY_HMAC_KEY',
    default: '',
    description:
      'Secret for keyed digests of SMS codes and ID numbers; empty generates one in TUYERE_DATA_DIR',
    parse: text,
  },
  pinPepper: {
    env: 'TUYERE_PIN_PEPPER',
    default: '',
    description: 'Server-side pepper mixed into payment PIN hashes; empty generates one in TUYERE_DATA_DIR',
    parse: text,
  },
  jwtSigningKey: {
    env: 'TUYERE_JWT_SIGNING_KEY',
    default: '',
    description:
      'Ed25519 seed (base64url, 32 bytes) signing access tokens; empty generates one in TUYERE_DATA_DIR',
    parse: text,
  },
  accessTokenTtlSeconds: {
    env: 'TUYERE_ACCESS_TOKEN_TTL_SECONDS',
    default: '600',
    description: 'Lifetime of an access token',
    parse: integer(30, 86_400),
  },
  refreshTokenTtlDays: {
    env: 'TUYERE_REFRESH_TOKEN_TTL_DAYS',
    default: '30',
    description: 'A session ends this many days after login, however often it is refreshed',
    parse: integer(1, 365),
  },
  smsCodeTtlSeconds: {
    env: 'TUYERE_SMS_CODE_TTL_SECONDS',
    default: '300',
    description: 'How long a one-time SMS code stays valid',
    parse: integer(30, 3600),
  },
  smsResendSeconds: {
    env: 'TUYERE_SMS_RESEND_SECONDS',
    default: '60',
    description: 'Minimum wait before another SMS code is sent to the same number',
    parse: integer(0, 3600),
  },
  smsDailyMaxPerPhone: {
    env: 'TUYERE_SMS_DAILY_MAX_PER_PHONE',
    default: '10',
    description: 'SMS codes sent to one number per business day',
    parse: integer(1, 1000),
  },
  pinMaxAttempts: {
    env: 'TUYERE_PIN_MAX_ATTEMPTS',
    default: '5',
    description: 'Wrong payment PINs in a row before PIN use is locked',
    parse: integer(1, 20),
  },
  pinLockSeconds: {
    env: 'TUYERE_PIN_LOCK_SECONDS',
    default: '10800',
    description: 'How long PIN use stays locked after too many wrong PINs',
    parse: integer(60, 30 * 86_400),
  },
  challengeTtlSeconds: {
    env: 'TUYERE_CHALLENGE_TTL_SECONDS',
    default: '120',
    description: 'Lifetime of a payment or device-registration challenge',
    parse: integer(10, 3600),
  },
  webauthnRpId: {
    env: 'TUYERE_WEBAUTHN_RP_ID',
    default: 'localhost',
    description: 'WebAuthn relying-party id (the site domain passkeys are bound to)',
    parse: text,
  },
  webauthnOrigins: {
    env: 'TUYERE_WEBAUTHN_ORIGINS',
    default: 'http://localhost:8080',
    description: 'Comma-separated origins WebAuthn ceremonies may come from',
    parse: text,
  },
  limitClassILifetime: {
    env: 'TUYERE_LIMIT_CLASS_I_LIFETIME',
    default: '100000',
    description: 'Class I balance payments since opening, in fen (1,000 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitClassIIYearly: {
    env: 'TUYERE_LIMIT_CLASS_II_YEARLY',
    default: '10000000',
    description: 'Class II balance payments per year, in fen (100,000 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitClassIIIYearly: {
    env: 'TUYERE_LIMIT_CLASS_III_YEARLY',
    default: '20000000',
    description: 'Class III balance payments per year, in fen (200,000 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitDailySignature: {
    env: 'TUYERE_LIMIT_DAILY_SIGNATURE',
    default: '20000000',
    description: 'Daily cap for payments signed by a device key with user verification, in fen',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitDailyTwoFactor: {
    env: 'TUYERE_LIMIT_DAILY_TWO_FACTOR',
    default: '500000',
    description: 'Daily cap for two-factor payments without a signature (PIN), in fen (5,000 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitDailySingleFactor: {
    env: 'TUYERE_LIMIT_DAILY_SINGLE_FACTOR',
    default: '100000',
    description: 'Daily cap for password-free (single-factor) payments, in fen (1,000 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitDailyStaticQr: {
    env: 'TUYERE_LIMIT_DAILY_STATIC_QR',
    default: '50000',
    description: 'Daily cap for payments to static QR codes, in fen (500 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  limitDailyWearable: {
    env: 'TUYERE_LIMIT_DAILY_WEARABLE',
    default: '50000',
    description: 'Default daily cap for payments signed by a wearable, in fen (500 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  passwordFreeMaxPayment: {
    env: 'TUYERE_PASSWORD_FREE_MAX_PAYMENT',
    default: '20000',
    description: 'Largest payment allowed without PIN or signature, in fen (200 CNY)',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  passwordFreeDailyCount: {
    env: 'TUYERE_PASSWORD_FREE_DAILY_COUNT',
    default: '10',
    description: 'Password-free payments allowed per business day',
    parse: integer(0, 1000),
  },
  bankSandboxPort: {
    env: 'BANK_SANDBOX_PORT',
    default: '8090',
    description:
      'Port of the sandbox bank (`tuyere bank-sandbox`, or started alongside the app); 0 picks a free one',
    parse: integer(0, 65535),
  },
  bankUrl: {
    env: 'BANK_URL',
    default: '',
    description:
      "Base URL of the bank API the wallet's connector calls; empty means the sandbox bank at BANK_SANDBOX_PORT",
    parse: text,
  },
  bankWebhookSecret: {
    env: 'BANK_WEBHOOK_SECRET',
    default: '',
    description:
      'Standard Webhooks secret bank callbacks are signed with; empty generates one in TUYERE_DATA_DIR',
    parse: text,
  },
  bankTimeoutMs: {
    env: 'BANK_TIMEOUT_MS',
    default: '5000',
    description: 'How long a bank API call may take before its outcome counts as unknown (then polled)',
    parse: integer(100, 120_000),
  },
  bankSandboxSeed: {
    env: 'BANK_SANDBOX_SEED',
    default: '',
    description: "Seed for the sandbox bank's SMS codes, card tokens and references; empty is random",
    parse: text,
  },
  walletMaxCards: {
    env: 'WALLET_MAX_CARDS',
    default: '5',
    description: 'Bank cards a user may have bound at once',
    parse: integer(1, 100),
  },
  walletBankOperationMax: {
    env: 'WALLET_BANK_OPERATION_MAX',
    default: '5000000',
    description: 'Largest single top-up or withdrawal, in fen (50,000 CNY)',
    parse: integer(1, Number.MAX_SAFE_INTEGER),
  },
  walletWithdrawalFeeBps: {
    env: 'WALLET_WITHDRAWAL_FEE_BPS',
    default: '0',
    description: 'Withdrawal fee in basis points of the amount (booked as a linked transfer to fee revenue)',
    parse: integer(0, 10_000),
  },
  walletWithdrawalFeeMin: {
    env: 'WALLET_WITHDRAWAL_FEE_MIN',
    default: '0',
    description: 'Smallest withdrawal fee in fen when the fee rate is above 0',
    parse: integer(0, Number.MAX_SAFE_INTEGER),
  },
  walletBankPollAfterMs: {
    env: 'WALLET_BANK_POLL_AFTER_MS',
    default: '15000',
    description: 'How long a bank movement waits for its callback before the poller asks the bank',
    parse: integer(0, 86_400_000),
  },
  walletTransferAcceptHours: {
    env: 'WALLET_TRANSFER_ACCEPT_HOURS',
    default: '24',
    description: 'Hours a friend transfer that needs acceptance waits before it returns to the sender',
    parse: integer(1, 720),
  },
  walletCallbackUrl: {
    env: 'WALLET_CALLBACK_URL',
    default: '',
    description: 'URL the bank posts callbacks to; empty means http://127.0.0.1:PORT/v1/bank/callbacks',
    parse: text,
  },
  walletReconcileCron: {
    env: 'WALLET_RECONCILE_CRON',
    default: '30 2 * * *',
    description: "When the daily reconciliation of yesterday's bank statement runs (cron, TUYERE_TIME_ZONE)",
    parse: text,
  },
  shutdownTimeoutMs: {
    env: 'SHUTDOWN_TIMEOUT_MS',
    default: '10000',
    description: 'How long a graceful shutdown waits for requests and jobs to drain',
    parse: integer(0, 600_000),
  },
  groupMembersMax: {
    env: 'GROUP_MEMBERS_MAX',
    default: '500',
    description: 'Most members in a group chat',
    parse: integer(2, 100_000),
  },
  redpacketGroupMax: {
    env: 'REDPACKET_GROUP_MAX',
    default: '2000000',
    description: 'Largest group red envelope, in fen',
    parse: integer(1, 1_000_000_000),
  },
  redpacketPersonalMax: {
    env: 'REDPACKET_PERSONAL_MAX',
    default: '20000',
    description: 'Largest one-to-one red envelope, in fen',
    parse: integer(1, 1_000_000_000),
  },
  redpacketSharesMax: {
    env: 'REDPACKET_SHARES_MAX',
    default: '100',
    description: 'Most shares in a group envelope (also capped by the group size)',
    parse: integer(1, 10_000),
  },
  redpacketExpiryHours: {
    env: 'REDPACKET_EXPIRY_HOURS',
    default: '24',
    description: 'Hours until unclaimed envelope money returns to the sender',
    parse: integer(1, 24 * 30),
  },
} satisfies Record<
  string,
  | Setting<unknown>
  | { env: string; default: string; description: string; parse: (raw: string, env: string) => unknown }
>;

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: ReturnType<Settings[K]['parse']> };

export const CONFIG_SETTINGS: ReadonlyArray<{
  key: string;
  env: string;
  default: string;
  description: string;
}> = Object.entries(settings).map(([key, s]) => ({
  key,
  env: s.env,
  default: s.default,
  description: s.description,
}));

/** Reads and validates configuration; throws one ConfigError listing every bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(settings)) {
    const raw = env[setting.env] ?? setting.default;
    try {
      config[key] = (setting.parse as (raw: string, env: string) => unknown)(raw, setting.env);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  const result = { ...(config as Config), ...overrides };
  result.dataDir = path.resolve(result.dataDir);
  return result;
}
