/**
 * `npm run sim [-- --long] [-- --seed <n>]`: the ledger's seeded model test and database
 * simulation (src/ledger/model.test.ts, simulation.test.ts) on their own.
 * - default: what every test run does (1,000,000 model operations, 100,000 simulated on the
 *   database);
 * - `--long`: 1,000 model seeds (10,000,000 operations) and 100 database seeds x 10,000
 *   (1,000,000 operations through the writer);
 * - `--seed <n>`: replays one seed (printed by every run).
 * Uses DATABASE_URL like `npm test`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const args = process.argv.slice(2);
const env = { ...process.env };
if (args.includes('--long')) {
  env.LEDGER_SIM_LONG = '1';
}
const seedAt = args.indexOf('--seed');
if (seedAt >= 0) {
  const seed = args[seedAt + 1];
  if (!seed || !/^\d+$/.test(seed)) {
    console.error('--seed needs a number (a seed printed by an earlier run)');
    process.exit(2);
  }
  env.LEDGER_SIM_SEED = seed;
}
const root = path.resolve(import.meta.dirname, '..');
const child = spawn(
  process.execPath,
  ['--import', 'tsx', 'scripts/test.ts', 'src/ledger/model.test', 'src/ledger/simulation.test'],
  { cwd: root, env, stdio: 'inherit' },
);
child.on('exit', (code) => process.exit(code ?? 1));
