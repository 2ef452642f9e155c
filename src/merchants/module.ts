import { defineModule } from '../platform/module.ts';
import { MERCHANTS_CHART } from './chart.ts';
import { Merchants } from './merchants.ts';
import { merchantRoutes } from './routes.ts';

declare module '../platform/module.ts' {
  interface Services {
    merchants: Merchants;
  }
}

/** Merchant accounts, their API keys and scopes, and the merchant ledger codes. */
export const merchantsModule = defineModule({
  name: 'merchants',
  summary: 'merchant accounts, API keys (tym_...) and their scopes, merchant ledger codes',
  migrations: new URL('./migrations/', import.meta.url),
  chart: MERCHANTS_CHART,
  create(context) {
    const merchants = new Merchants({
      db: context.db,
      clock: context.clock,
      identity: context.use('identity'),
    });
    return {
      service: merchants,
      routes: (http) => merchantRoutes(http, merchants),
      authenticators: [merchants.authenticator],
    };
  },
});
