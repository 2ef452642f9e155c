import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BUILD_STAMP, WEB_ROOT } from './paths.ts';

const LOCK = path.join(WEB_ROOT, '.build-lock');
const LOCK_STALE_MS = 120_000;

/** Newest modification time of the web sources (everything under web/ except the build). */
function newestSource(directory = WEB_ROOT, newest = 0): number {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const full = path.join(directory, entry.name);
    newest = entry.isDirectory() ? newestSource(full, newest) : Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** True when web/dist is missing or older than a source file. */
export function webBuildIsStale(): boolean {
  if (!existsSync(BUILD_STAMP)) return true;
  return newestSource() > statSync(BUILD_STAMP).mtimeMs;
}

function tryLock(): boolean {
  try {
    mkdirSync(LOCK);
    return true;
  } catch {
    // Another process builds; a lock left by a killed build is taken over after a while.
    if (Date.now() - statSync(LOCK, { throwIfNoEntry: false })!.mtimeMs > LOCK_STALE_MS) {
      rmSync(LOCK, { recursive: true, force: true });
    }
    return false;
  }
}

/**
 * Builds the wallet and console into web/dist with Vite (no network), unless it is up to
 * date. Concurrent callers (parallel test files, two `npm start`s) build once: the others
 * wait for the lock and then find the build fresh.
 */
export async function buildWeb(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  const deadline = Date.now() + LOCK_STALE_MS + 30_000;
  while (!tryLock()) {
    if (Date.now() > deadline) throw new Error(`web build: lock ${LOCK} held too long`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  try {
    if (!options.force && !webBuildIsStale()) return false;
    const { build } = await import('vite');
    rmSync(BUILD_STAMP, { force: true });
    // `npm test` sets NODE_ENV=test, which would make Vite and the React plugin emit a
    // development bundle; the served apps are always the production build.
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({
        configFile: path.join(WEB_ROOT, 'vite.config.ts'),
        root: WEB_ROOT,
        mode: 'production',
        logLevel: options.quiet ? 'warn' : 'info',
      });
    } finally {
      if (nodeEnv === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = nodeEnv;
    }
    writeFileSync(BUILD_STAMP, new Date().toISOString());
    return true;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
