import { defineModule } from '../platform/module.ts';
import { loadOrCreateSecret } from '../platform/secrets.ts';
import { MERCHANTS_CHART } from './chart.ts';
import { seedMerchantsDemo } from './demo.ts';
import { Merchants } from './merchants.ts';
import { Onboarding } from './onboarding/onboarding.ts';
import { onboardingRoutes } from './onboarding/routes.ts';
import { merchantRoutes } from './routes.ts';
import { MERCHANTS_SETTINGS, merchantsSettings } from './settings.ts';
import { webhookRoutes } from './webhooks/routes.ts';
import { parseSecretBoxKey } from './webhooks/secret-box.ts';
import { httpTransport } from './webhooks/transport.ts';
import { Webhooks } from './webhooks/webhooks.ts';

declare module '../platform/module.ts' {
  interface Services {
    merchants: Merchants;
  }
}

/** Merchant accounts and their onboarding, their API keys and scopes, signed webhooks, and the merchant ledger codes. */
export const merchantsModule = defineModule({
  name: 'merchants',
  summary:
    'merchant accounts and onboarding (profile, USCC, review states, fee plan), API keys (tym_...) and their scopes, signed webhooks, merchant ledger codes',
  migrations: new URL('./migrations/', import.meta.url),
  settings: MERCHANTS_SETTINGS,
  chart: MERCHANTS_CHART,
  create(context) {
    const settings = merchantsSettings(context.config);
    const identity = context.use('identity');
    const secretKey = parseSecretBoxKey(
      loadOrCreateSecret(
        context.config,
        'webhook-secret-key',
        settings.merchantsWebhookSecretKey || undefined,
      ),
    );
    const webhooks = new Webhooks({
      db: context.db,
      clock: context.clock,
      log: context.log,
      identity,
      // In development a receiver on this machine is allowed; otherwise only public addresses.
      transport: httpTransport({ publicOnly: !settings.merchantsWebhookLocalHttp }),
      allowLocalHttp: settings.merchantsWebhookLocalHttp,
      timeoutMs: settings.merchantsWebhookTimeoutMs,
      defaultRotationOverlapSeconds: settings.merchantsWebhookRotationOverlapSeconds,
      retentionDays: settings.merchantsWebhookRetentionDays,
      secretKey,
    });
    const onboarding = new Onboarding({
      db: context.db,
      clock: context.clock,
      identity,
      secretKey,
      defaultMdrBps: settings.merchantsDefaultMdrBps,
    });
    const merchants = new Merchants({ db: context.db, clock: context.clock, identity, webhooks, onboarding });
    const ownMerchant = (request: { params: unknown }) =>
      merchants.merchantOwner((request.params as { merchant_id: string }).merchant_id);
    context.metrics.gauge(
      'tuyere_webhook_deliveries_due',
      'Webhook deliveries due now and not yet attempted (the backlog)',
      async () => (await webhooks.counts()).due,
    );
    context.metrics.gauge(
      'tuyere_webhook_deliveries_dead',
      'Webhook deliveries in the dead letter (out of attempts, awaiting replay)',
      async () => (await webhooks.counts()).dead,
    );
    return {
      service: merchants,
      verify: async () => {
        const violations = await webhooks.violations();
        return [
          { name: 'merchants: webhook deliveries consistent', ok: violations.length === 0, violations },
        ];
      },
      routes: async (http) => {
        await merchantRoutes(http, merchants);
        await onboardingRoutes(onboarding, (merchantId) => merchants.applicationOwner(merchantId))(http);
        await webhookRoutes(webhooks, context.clock, { merchant: ownMerchant })(http);
      },
      authenticators: [merchants.authenticator],
      demo: (world) => seedMerchantsDemo(merchants, world),
      jobs: [
        {
          kind: 'merchants.webhooks.deliver',
          // Leased: it calls merchants' servers; each delivery has its own lease and log.
          run: async () => {
            await webhooks.deliverDue({ limit: 500 });
          },
          options: { mode: 'leased', maxAttempts: 1, leaseMs: 10 * 60_000 },
          schedule: { name: 'merchants-webhooks-deliver', cron: '*/5 * * * * *' },
        },
        {
          kind: 'merchants.webhooks.purge',
          run: async () => {
            await webhooks.purgeExpired();
          },
          options: { mode: 'leased' },
          schedule: { name: 'merchants-webhooks-purge', cron: '41 3 * * *' },
        },
      ],
    };
  },
});
