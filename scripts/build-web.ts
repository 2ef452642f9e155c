/**
 * Builds the web apps (wallet at /, console at /console) into web/dist when the sources
 * changed: `npm start` runs it first, so a fresh clone needs nothing more than npm.
 * `--force` rebuilds regardless.
 */
import { buildWeb } from '../src/web/build.ts';

const started = Date.now();
const built = await buildWeb({ force: process.argv.includes('--force'), quiet: true });
if (built) console.log(`Web apps built into web/dist in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
