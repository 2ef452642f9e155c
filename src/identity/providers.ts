import type { Clock } from '../platform/clock.ts';
import { ConfigError } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import type { Logger } from '../platform/log.ts';
import { HttpRealNameVerifier, type RealNameVerifier, SandboxRealNameVerifier } from './realname-verifier.ts';
import type { IdentityConfig } from './settings.ts';
import { HttpSmsSender, SandboxSmsSender, type SmsSender } from './sms-sender.ts';

/**
 * Picks the SMS and real-name adapters from configuration. An empty provider means the
 * sandbox in development and the signed HTTP gateway in production: production reaches the
 * sandbox only when TUYERE_SMS_PROVIDER / TUYERE_REALNAME_PROVIDER say `sandbox` (staging).
 */
export function identityProviders(
  config: IdentityConfig,
  deps: { db: Database; clock: Clock; log: Logger },
): { sms: SmsSender; verifier: RealNameVerifier } {
  const fallback = config.profile === 'production' ? 'http' : 'sandbox';
  const gateway = (url: string, secret: string, names: [string, string], provider: string) => {
    const missing = [url ? '' : names[0], secret ? '' : names[1]].filter(Boolean);
    if (missing.length > 0)
      throw new ConfigError(`${missing.join(' and ')} must be set when ${provider} is http.`);
    return { url, secret, timeoutMs: config.gatewayTimeoutMs };
  };
  const sms =
    (config.smsProvider || fallback) === 'http'
      ? new HttpSmsSender(
          gateway(
            config.smsGatewayUrl,
            config.smsGatewaySecret,
            ['TUYERE_SMS_GATEWAY_URL', 'TUYERE_SMS_GATEWAY_SECRET'],
            'TUYERE_SMS_PROVIDER',
          ),
          deps.clock,
          deps.log,
        )
      : new SandboxSmsSender(deps.db, deps.clock);
  const verifier =
    (config.realNameProvider || fallback) === 'http'
      ? new HttpRealNameVerifier(
          gateway(
            config.realNameGatewayUrl,
            config.realNameGatewaySecret,
            ['TUYERE_REALNAME_GATEWAY_URL', 'TUYERE_REALNAME_GATEWAY_SECRET'],
            'TUYERE_REALNAME_PROVIDER',
          ),
          deps.log,
        )
      : new SandboxRealNameVerifier();
  return { sms, verifier };
}
