/**
 * The module contract's boundaries, checked on the source (docs/MODULES.md):
 * - a module imports another module only through that module's index.ts;
 * - a module's SQL names only its own tables (prefixed with its name);
 * - inside a module, SQL lives only in its store (store.ts or store/), never in services or routes;
 * - there is no import cycle among the files under src/ (nor under web/src/, the web apps).
 * Tests are exempt: they may reach into a module through its testing helpers.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MODULES } from '../src/modules.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');
const WEB_SRC = path.join(ROOT, 'web/src');
/** Folders under src/ that are not modules: the composition root and the CLI may import any index.ts. */
const NOT_MODULES = new Set(['cli', 'demo']);
/** The shared base layer: anyone may import its files directly; it imports no module. */
const BASE = 'platform';

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const full = path.join(directory, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$|\.fixture\.ts$/.test(name) ? [full] : [];
  });
}

const files = sourceFiles(SRC);
const moduleOf = (file: string) => path.relative(SRC, file).split(path.sep)[0]!;
const isFolderModule = (name: string) =>
  statSync(path.join(SRC, name), { throwIfNoEntry: false })?.isDirectory();

/** Static imports and re-exports of a file, resolved to absolute paths (relative specifiers only). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)].map(
    (m) => m[1]!,
  );
  const dynamic = [...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1]!);
  return [...specifiers, ...dynamic].map((specifier) => path.resolve(path.dirname(file), specifier));
}

test('modules import each other only through index.ts', () => {
  const violations: string[] = [];
  for (const file of files) {
    const from = moduleOf(file);
    for (const target of importsOf(file)) {
      if (!target.startsWith(SRC)) continue;
      const to = moduleOf(target);
      if (to === from || to === BASE || !isFolderModule(to)) continue;
      if (from === BASE) {
        violations.push(`${path.relative(SRC, file)} (the base layer) imports the ${to} module`);
        continue;
      }
      if (target !== path.join(SRC, to, 'index.ts'))
        violations.push(
          `${path.relative(SRC, file)} imports ${path.relative(SRC, target)}, not ${to}/index.ts`,
        );
    }
  }
  assert.deepEqual(violations, []);
});

/** Tables named right after a SQL keyword that reads or writes one. */
const TABLE_REFERENCE = /\b(?:FROM|JOIN|INTO|UPDATE|TABLE|REFERENCES)\s+([a-z][a-z0-9_]*)/gi;
const MODULE_NAMES = MODULES.map((module) => module.name as string);

test("a module's SQL names only its own tables", () => {
  const violations: string[] = [];
  for (const file of files) {
    const owner = moduleOf(file);
    if (NOT_MODULES.has(owner)) continue;
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(TABLE_REFERENCE)) {
      const table = match[1]!;
      const prefix = MODULE_NAMES.find((name) => table.startsWith(`${name}_`));
      if (prefix && prefix !== owner)
        violations.push(`${path.relative(SRC, file)} uses ${table} (${prefix}'s)`);
    }
  }
  assert.deepEqual(violations, []);
});

/** A SQL statement in a string: a query verb followed by what it acts on. */
const SQL =
  /['`]\s*(?:WITH\b[\s\S]{0,200}?\b)?(?:SELECT\s[\s\S]{0,400}?\bFROM\b|INSERT\s+INTO\b|UPDATE\s+\w+\s+(?:AS\s+\w+\s+)?SET\b|DELETE\s+FROM\b)/i;

test('inside a module, SQL lives only in its store', () => {
  const violations: string[] = [];
  for (const file of files) {
    const module = moduleOf(file);
    if (module === BASE || NOT_MODULES.has(module) || !isFolderModule(module)) continue;
    const inModule = path.relative(path.join(SRC, module), file).split(path.sep);
    if (inModule[0] === 'store' || inModule[0] === 'store.ts' || inModule[0] === 'testing') continue;
    if (SQL.test(readFileSync(file, 'utf8'))) violations.push(path.relative(SRC, file));
  }
  assert.deepEqual(violations, [], 'files with SQL outside their module store');
});

test('no import cycles among the files under src/ and web/src/', () => {
  const inTree = (file: string) => file.startsWith(SRC) || file.startsWith(WEB_SRC);
  const all = [...files, ...sourceFiles(WEB_SRC)];
  const graph = new Map(all.map((file) => [file, importsOf(file).filter(inTree)]));
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'visiting') {
        cycles.push(
          [...stack.slice(stack.indexOf(next)), next].map((f) => path.relative(ROOT, f)).join(' -> '),
        );
      } else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of all) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});

test('every module folder is listed in src/modules.ts, and every listed module has a folder with index.ts', () => {
  const folders = readdirSync(SRC).filter(
    (name) => isFolderModule(name) && !NOT_MODULES.has(name) && name !== BASE,
  );
  const listed = MODULES.map((module) => module.name as string).filter((name) => name !== BASE);
  assert.deepEqual([...folders].sort(), [...listed].sort());
  for (const name of listed)
    assert.ok(statSync(path.join(SRC, name, 'index.ts')).isFile(), `${name}/index.ts`);
});
