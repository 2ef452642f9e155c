import { defineModule } from '../platform/module.ts';
import type { BankConnector } from './connector.ts';
import { seedBankDemo } from './demo.ts';
import { HttpBankConnector } from './http-connector.ts';
import { BANK_SETTINGS, bankSettings } from './settings.ts';

declare module '../platform/module.ts' {
  interface Services {
    bank: BankConnector;
  }
}

/** The connector to the bank (BANK_URL, or the sandbox bank that `tuyere serve` starts). */
export const bankModule = defineModule({
  name: 'bank',
  summary: 'the bank connector, and the sandbox bank that stands in for one (faults included)',
  settings: BANK_SETTINGS,
  create(context) {
    const settings = bankSettings(context.config);
    const connector =
      (context.provided as BankConnector | undefined) ??
      new HttpBankConnector({
        baseUrl: settings.url,
        webhookSecret: settings.webhookSecret,
        timeoutMs: settings.timeoutMs,
        clock: context.clock,
      });
    return { service: connector, demo: (world) => seedBankDemo(context.config, world) };
  },
});
