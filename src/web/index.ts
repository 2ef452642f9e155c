/** The web module: the wallet app and the ops console, served by the API. */
export { buildWeb, webBuildIsStale } from './build.ts';
export { webModule } from './module.ts';
export { WEB_DIST } from './paths.ts';
