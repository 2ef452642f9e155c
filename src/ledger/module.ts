import { defineModule } from '../platform/module.ts';
import { Ledger } from './ledger.ts';
import { ledgerRoutes } from './routes.ts';

declare module '../platform/module.ts' {
  interface Services {
    ledger: Ledger;
  }
}

/** The ledger: accounts, transfers, balances, the hash-chained journal (docs/LEDGER.md). */
export const ledgerModule = defineModule({
  name: 'ledger',
  summary: 'ledgers, accounts, transfers, balances, history, the hash-chained journal',
  migrations: new URL('./migrations/', import.meta.url),
  create(context) {
    const ledger = new Ledger({ db: context.db, clock: context.clock });
    return {
      service: ledger,
      routes: (http) => ledgerRoutes(http, { ledger }),
      jobs: [
        {
          kind: 'ledger.expire_pending',
          run: async () => void (await ledger.expirePendingTransfers(context.clock.now())),
          options: { mode: 'leased' },
          schedule: { name: 'ledger-expire-pending', cron: '*/10 * * * * *' },
        },
      ],
      verify: async (options) => {
        const report = await ledger.verify({
          full: options.full,
          record: options.record,
          // A hold is owned when some module's chart claims its code; each module's own verify
          // then proves its holds have their rows (wallet: bank operations).
          holdCodes: context.chart.transferCodes,
          now: context.clock.now(),
          ...(options.progress
            ? { progress: (p) => options.progress?.({ ...p, check: `ledger: ${p.check}` }) }
            : {}),
        });
        return report.checks.map((check) => ({
          name: `ledger: ${check.name}`,
          ok: check.ok,
          violations: report.violations.filter((v) => v.check === check.name).map((v) => v.message),
          examined:
            `${check.examined.toLocaleString('en-US')} ${check.unit}` +
            (check.from !== '0' ? ` since journal batch ${check.from}` : '') +
            `, up to batch ${check.to}`,
        }));
      },
      close: () => ledger.close(),
    };
  },
});
