import { defineModule } from '../platform/module.ts';
import { WALLET_CHART } from './chart.ts';
import { walletSettings } from './context.ts';
import { seedWalletDemo } from './demo.ts';
import { walletRoutes } from './routes.ts';
import { WALLET_SETTINGS } from './settings.ts';
import { verifyWallet, verifyWalletHolds, verifyWithdrawalFees } from './verify.ts';
import { Wallet } from './wallet.ts';

declare module '../platform/module.ts' {
  interface Services {
    wallet: Wallet;
  }
}

/** Bank cards, top-up, withdrawal, friend transfers, funding sources, statements, reconciliation. */
export const walletModule = defineModule({
  name: 'wallet',
  summary: 'bank cards, top-up, withdrawal, friend transfers, funding sources, statements, reconciliation',
  migrations: new URL('./migrations/', import.meta.url),
  settings: WALLET_SETTINGS,
  chart: WALLET_CHART,
  create(context) {
    const bank = context.use('bank');
    const wallet = new Wallet({
      db: context.db,
      clock: context.clock,
      ledger: context.use('ledger'),
      identity: context.use('identity'),
      bank,
      jobs: context.jobs,
      log: context.log,
      settings: walletSettings(context.config, bank.timeoutMs),
      chart: context.chart,
    });
    return {
      service: wallet,
      routes: (http) => walletRoutes(http, wallet),
      jobs: wallet.jobs(),
      verify: async ({ full, record }) => {
        const run = { full, record, now: context.clock.now() };
        return [
          ...(await verifyWallet(context.db, wallet.deps.ledger, run)),
          await verifyWithdrawalFees(
            context.db,
            wallet.deps.ledger,
            { bps: wallet.deps.settings.withdrawalFeeBps, min: wallet.deps.settings.withdrawalFeeMin },
            run,
          ),
          await verifyWalletHolds(context.db, wallet.deps.ledger),
        ];
      },
      demo: (world) => seedWalletDemo(wallet, world),
    };
  },
});
