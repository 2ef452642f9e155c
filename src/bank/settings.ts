import type { Config } from '../platform/config.ts';
import { loadOrCreateSecret } from '../platform/secrets.ts';

/**
 * The bank settings both sides agree on: the app's connector and the sandbox bank read the
 * same data directory, so a generated webhook secret is shared without configuration.
 */
export function bankSettings(config: Config) {
  const sandboxUrl = `http://127.0.0.1:${config.bankSandboxPort}`;
  return {
    url: config.bankUrl || sandboxUrl,
    sandboxPort: config.bankSandboxPort,
    webhookSecret: loadOrCreateSecret(
      config.dataDir,
      'bank-webhook-secret',
      config.bankWebhookSecret || undefined,
    ),
    timeoutMs: config.bankTimeoutMs,
    seed: config.bankSandboxSeed || undefined,
  };
}
