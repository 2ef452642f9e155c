import { defineModule } from '../platform/module.ts';
import { seedIdentityDemo } from './demo.ts';
import { Identity } from './identity.ts';
import { identityProviders } from './providers.ts';
import { identityRoutes } from './routes/index.ts';
import { IDENTITY_SETTINGS } from './settings.ts';
import { verifyLimitCounters } from './verify-limits.ts';

declare module '../platform/module.ts' {
  interface Services {
    identity: Identity;
  }
}

/** Users, sessions, real-name tiers, limits, devices, PIN, staff, the audit log. */
export const identityModule = defineModule({
  name: 'identity',
  summary: 'users, SMS login, sessions, real-name tiers, limits, devices, PIN, staff, audit log',
  migrations: new URL('./migrations/', import.meta.url),
  settings: IDENTITY_SETTINGS,
  create(context) {
    const identity = new Identity({
      db: context.db,
      clock: context.clock,
      log: context.log,
      config: context.config,
      ...identityProviders(context.config, context),
    });
    return {
      service: identity,
      // The sandbox SMS inbox never exists in production, even with the sandbox provider (staging).
      routes: (http) =>
        identityRoutes(http, identity, { sandboxInbox: context.config.profile !== 'production' }),
      authenticators: [identity.authenticator],
      verify: async ({ full, record }) => {
        const report = await identity.verifyAuditChain();
        return [
          {
            name: `identity: audit log hash chain (${report.checked} entries)`,
            ok: report.ok,
            violations: report.violations,
          },
          await verifyLimitCounters(context.db, { full, record, now: context.clock.now() }),
        ];
      },
      demo: (world) => seedIdentityDemo(identity, world),
    };
  },
});
