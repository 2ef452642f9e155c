import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config.ts';

/**
 * A secret from the environment, or else (development profile only) generated once and kept
 * in the data directory (mode 0600). Production sets the environment variable; a fresh demo
 * needs nothing.
 */
export function loadOrCreateSecret(
  home: { dataDir: string; profile?: 'production' | 'development' },
  name: string,
  fromEnv: string | undefined,
  bytes = 32,
): string {
  if (fromEnv) return fromEnv;
  if (home.profile === 'production')
    throw new ConfigError(`The production profile generates no secrets, and ${name} is not configured.`);
  const dataDir = home.dataDir;
  const directory = path.join(dataDir, 'secrets');
  const file = path.join(directory, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const secret = randomBytes(bytes).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return secret;
}
