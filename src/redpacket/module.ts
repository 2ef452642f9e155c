import { Counter, Histogram } from 'prom-client';
import { defineModule } from '../platform/module.ts';
import { cryptoIntegers } from '../platform/random.ts';
import { REDPACKET_CHART } from './chart.ts';
import { Envelopes } from './envelopes.ts';
import { redpacketRoutes } from './routes.ts';
import { DEFAULT_CAMPAIGN_RULES, DEFAULT_ENVELOPE_RULES } from './rules.ts';
import { REDPACKET_SETTINGS } from './settings.ts';
import { StormRunner } from './storm.ts';
import { verifyEnvelopeBooks, verifyEnvelopeHolds, verifyGrabPayouts } from './verify.ts';

declare module '../platform/module.ts' {
  interface Services {
    redpacket: Envelopes;
  }
}

/** Red envelopes: split rules, send (escrow), the grab engine, expiry refunds, storms. */
export const redpacketModule = defineModule({
  name: 'redpacket',
  summary: 'red envelopes: split rules, send and escrow, the grab engine, expiry refunds, storms',
  migrations: new URL('./migrations/', import.meta.url),
  settings: REDPACKET_SETTINGS,
  chart: REDPACKET_CHART,
  create(context) {
    const { config } = context;
    const [ledger, wallet, groups] = [context.use('ledger'), context.use('wallet'), context.use('social')];
    const envelopes = new Envelopes({
      db: context.db,
      clock: context.clock,
      ledger,
      wallet,
      identity: context.use('identity'),
      groups,
      log: context.log,
      random: cryptoIntegers,
      rules: {
        ...DEFAULT_ENVELOPE_RULES,
        personalMaximum: BigInt(config.redpacketPersonalMax),
        groupMaximum: BigInt(config.redpacketGroupMax),
        sharesMaximum: config.redpacketSharesMax,
        expiryMs: config.redpacketExpiryHours * 3_600_000,
      },
      campaignRules: { ...DEFAULT_CAMPAIGN_RULES, perGroupPerHour: config.redpacketCampaignPerGroupHour },
    });
    const storms = new StormRunner({
      envelopes,
      campaignPerGroupHour: config.redpacketCampaignPerGroupHour,
      groups,
      wallet,
      clock: context.clock,
      log: context.log.child({ component: 'storm' }),
      membersMax: groups.membersMax,
    });
    const grabCounter = new Counter({
      name: 'tuyere_redpacket_grabs_total',
      help: 'Red-envelope grab answers by outcome',
      labelNames: ['outcome'] as const,
      registers: [context.metrics.registry],
    });
    const grabBatchSeconds = new Histogram({
      name: 'tuyere_redpacket_claim_batch_seconds',
      help: 'Time to claim one batch of grabs',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [context.metrics.registry],
    });
    envelopes.engine.onOutcomes = (outcomes, latencyMs) => {
      for (const outcome of outcomes) grabCounter.inc({ outcome: outcome.outcome });
      if (latencyMs > 0) grabBatchSeconds.observe(latencyMs / 1000);
    };
    return {
      service: envelopes,
      routes: (http) => redpacketRoutes(http, { envelopes, storms }),
      jobs: envelopes.jobs(),
      verify: async ({ full, record }) => {
        const options = { full, record, now: context.clock.now() };
        return [
          await verifyEnvelopeBooks(context.db, ledger, options),
          await verifyGrabPayouts(context.db, ledger, options),
          await verifyEnvelopeHolds(context.db, ledger),
        ];
      },
      close: () => envelopes.engine.close(),
    };
  },
});
