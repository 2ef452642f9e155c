import {
  boolean,
  integer,
  type PlatformConfig,
  type SettingSpecs,
  type SettingsOf,
  text,
} from '../platform/config.ts';

/** The merchants module's settings (its slice of the configuration; see src/platform/config.ts). */
export const MERCHANTS_SETTINGS = {
  merchantsWebhookLocalHttp: {
    env: 'MERCHANTS_WEBHOOK_LOCAL_HTTP',
    default: 'true',
    description:
      'Accept http://localhost and http://127.0.0.1 webhook URLs (development); always off in the production profile',
    parse: boolean,
  },
  merchantsWebhookTimeoutMs: {
    env: 'MERCHANTS_WEBHOOK_TIMEOUT_MS',
    default: '10000',
    description: 'How long one webhook delivery attempt may take before it counts as failed',
    parse: integer(100, 60_000),
  },
  merchantsWebhookRotationOverlapSeconds: {
    env: 'MERCHANTS_WEBHOOK_ROTATION_OVERLAP_SECONDS',
    default: '86400',
    description: 'After a webhook secret rotation, how long the old secret keeps signing too (default)',
    parse: integer(0, 7 * 86_400),
  },
  merchantsWebhookRetentionDays: {
    env: 'MERCHANTS_WEBHOOK_RETENTION_DAYS',
    default: '30',
    description: 'Days delivered and dead webhook deliveries, their attempt log and events are kept',
    parse: integer(1, 3650),
  },
  merchantsDefaultMdrBps: {
    env: 'MERCHANTS_DEFAULT_MDR_BPS',
    default: '60',
    description:
      'Merchant discount rate (fee) in basis points for a merchant onboarded without its own fee plan (60 = 0.6%)',
    parse: integer(0, 10_000),
  },
  merchantsWebhookSecretKey: {
    env: 'MERCHANTS_WEBHOOK_SECRET_KEY',
    default: '',
    description:
      'Key (32 bytes, base64) sealing webhook signing secrets and settlement account numbers at rest; empty generates one in TUYERE_DATA_DIR (development only)',
    parse: text,
    requiredInProduction: true,
  },
} satisfies SettingSpecs;

export type MerchantsSettings = SettingsOf<typeof MERCHANTS_SETTINGS>;

/** The merchants slice of a parsed configuration; local http is never allowed in production. */
export function merchantsSettings(config: PlatformConfig & MerchantsSettings): MerchantsSettings {
  return {
    merchantsWebhookLocalHttp: config.merchantsWebhookLocalHttp && config.profile !== 'production',
    merchantsWebhookTimeoutMs: config.merchantsWebhookTimeoutMs,
    merchantsWebhookRotationOverlapSeconds: config.merchantsWebhookRotationOverlapSeconds,
    merchantsWebhookRetentionDays: config.merchantsWebhookRetentionDays,
    merchantsDefaultMdrBps: config.merchantsDefaultMdrBps,
    merchantsWebhookSecretKey: config.merchantsWebhookSecretKey,
  };
}
