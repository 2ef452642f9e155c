import { fileURLToPath } from 'node:url';
import type { MigrationSource } from './platform/db/migrate.ts';

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/**
 * Every module's migrations, in dependency order. A module owns its tables: other modules
 * call its index.ts, never its tables.
 */
export const MIGRATION_SOURCES: readonly MigrationSource[] = [
  { module: 'platform', directory: here('./platform/migrations') },
  { module: 'ledger', directory: here('./ledger/migrations') },
  { module: 'identity', directory: here('./identity/migrations') },
  { module: 'social', directory: here('./social/migrations') },
  { module: 'wallet', directory: here('./wallet/migrations') },
  { module: 'redpacket', directory: here('./redpacket/migrations') },
];
