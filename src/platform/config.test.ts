import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_SETTINGS, loadConfig } from '../modules.ts';
import { ConfigError } from './config.ts';

test('defaults give a working configuration', () => {
  const config = loadConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.databaseUrl, '');
  assert.equal(config.timeZone, 'Asia/Shanghai');
});

test('every bad value is reported at once, with the variable and what is expected', () => {
  assert.throws(
    () =>
      loadConfig({
        PORT: 'eighty',
        DB_POOL_MAX: '0',
        TUYERE_TIMEZONE: 'Mars/Base',
        DATABASE_URL: 'mysql://x',
        TUYERE_DEMO: 'maybe',
      }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      for (const fragment of [
        'PORT must be a whole number',
        'DB_POOL_MAX must be between 1',
        'TUYERE_TIMEZONE',
        'DATABASE_URL must start with postgres://',
        'TUYERE_DEMO must be true or false',
      ]) {
        assert.match(error.message, new RegExp(fragment.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
      }
      return true;
    },
  );
});

test('the README documents every environment variable with its default', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const setting of CONFIG_SETTINGS) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${setting.env}\``));
    assert.ok(row, `README configuration table lacks ${setting.env}`);
    assert.ok(
      row.includes(setting.default === '' ? '(empty)' : `\`${setting.default}\``),
      `README default for ${setting.env} should be ${setting.default || '(empty)'}`,
    );
    const production = row.split(' | ')[2]!.trim();
    assert.equal(
      production,
      setting.production ? `**${setting.production}**` : '',
      `README production column for ${setting.env} (regenerate: node --import tsx scripts/config-table.ts)`,
    );
  }
});
