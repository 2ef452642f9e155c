import type { FastifyInstance } from 'fastify';
import { type ConsoleApiDeps, consoleApiRoutes } from './console-api.ts';
import { staticRoutes } from './static-routes.ts';

export { buildWeb, webBuildIsStale } from './build.ts';
export { WEB_DIST } from './paths.ts';

/** The wallet web app at /, the ops console at /console, and the small API they add. */
export async function webRoutes(app: FastifyInstance, deps: ConsoleApiDeps) {
  await app.register(staticRoutes);
  await app.register(consoleApiRoutes, deps);
}
