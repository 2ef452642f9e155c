/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.ts, a module exporting `run(args)`.
 * Progress goes to stderr; results to stdout (with --json, the last line is one JSON object).
 */
import { readdirSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(import.meta.dirname)
  .filter(
    (file) => file.endsWith('.ts') && file !== 'run.ts' && !file.includes('.test.') && !file.startsWith('_'),
  )
  .map((file) => file.slice(0, -3));

if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [--json]`);
  process.exitCode = 2;
} else {
  const bench = (await import(`./${name}.ts`)) as { run(args: string[]): Promise<void> };
  await bench.run(args);
}
