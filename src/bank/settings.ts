import {
  ConfigError,
  httpUrl,
  integer,
  type PlatformConfig,
  type SettingSpecs,
  type SettingsOf,
  text,
} from '../platform/config.ts';
import { loadOrCreateSecret } from '../platform/secrets.ts';

/** The bank module's settings (its slice of the configuration; see src/platform/config.ts). */
export const BANK_SETTINGS = {
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
      "Base URL of the bank API the wallet's connector calls; empty means the sandbox bank at BANK_SANDBOX_PORT (development only)",
    parse: httpUrl,
    requiredInProduction: true,
  },
  bankWebhookSecret: {
    env: 'BANK_WEBHOOK_SECRET',
    default: '',
    description:
      'Standard Webhooks secret bank callbacks are signed with; empty generates one in TUYERE_DATA_DIR',
    parse: text,
    requiredInProduction: true,
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
} satisfies SettingSpecs;

export type BankConfig = PlatformConfig & SettingsOf<typeof BANK_SETTINGS>;

/**
 * The bank settings both sides agree on: the app's connector and the sandbox bank read the
 * same data directory, so a generated webhook secret is shared without configuration.
 */
export function bankSettings(config: BankConfig) {
  // Production never falls back to the sandbox bank (BANK_URL is required there).
  if (!config.bankUrl && config.profile === 'production')
    throw new ConfigError('BANK_URL must be set in the production profile: it never uses the sandbox bank.');
  const sandboxUrl = `http://127.0.0.1:${config.bankSandboxPort}`;
  return {
    url: config.bankUrl || sandboxUrl,
    sandboxPort: config.bankSandboxPort,
    webhookSecret: loadOrCreateSecret(config, 'bank-webhook-secret', config.bankWebhookSecret || undefined),
    timeoutMs: config.bankTimeoutMs,
    seed: config.bankSandboxSeed || undefined,
  };
}
