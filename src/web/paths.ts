import path from 'node:path';

/** The web sources (wallet and console, one Vite project) and where their build goes. */
export const WEB_ROOT = path.resolve(import.meta.dirname, '../../web');
export const WEB_DIST = path.join(WEB_ROOT, 'dist');
/** Written last by a build, so a half-finished build never looks complete. */
export const BUILD_STAMP = path.join(WEB_DIST, '.build-stamp');
