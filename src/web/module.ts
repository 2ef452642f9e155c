import { defineModule } from '../platform/module.ts';
import { consoleApiRoutes } from './console-api.ts';
import { staticRoutes } from './static-routes.ts';

declare module '../platform/module.ts' {
  interface Services {
    /** The web apps have no service of their own; they call the other modules' APIs. */
    web: null;
  }
}

/** The wallet web app at /, the ops console at /console, and the small API they add. */
export const webModule = defineModule({
  name: 'web',
  summary: 'the wallet web app (/) and the ops console (/console), with the small API they add',
  create(context) {
    const deps = {
      metrics: context.metrics,
      jobs: context.jobs,
      identity: context.use('identity'),
      wallet: context.use('wallet'),
      chart: context.chart,
    };
    return {
      service: null,
      async routes(http) {
        await http.register(staticRoutes);
        await http.register(consoleApiRoutes, deps);
      },
    };
  },
});
