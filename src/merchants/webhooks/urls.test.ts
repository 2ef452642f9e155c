import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../platform/errors.ts';
import { isPublicAddress, validateWebhookUrl } from './urls.ts';

const production = { allowLocalHttp: false };
const development = { allowLocalHttp: true };
const refused = (url: string, policy = production) =>
  assert.throws(
    () => validateWebhookUrl(url, policy),
    (e) => e instanceof AppError && e.code === 'webhook_url_invalid',
    url,
  );

test('public https URLs are accepted', () => {
  assert.equal(
    validateWebhookUrl('https://shop.example.com/hooks?x=1', production),
    'https://shop.example.com/hooks?x=1',
  );
  assert.equal(validateWebhookUrl('https://8.8.8.8/hook', production), 'https://8.8.8.8/hook');
});

test('http, credentials, private addresses and internal names are refused', () => {
  refused('http://shop.example.com/hooks');
  refused('ftp://shop.example.com/hooks');
  refused('not a url');
  refused('https://user:pass@shop.example.com/hooks');
  refused('https://shop.example.com/hooks#frag');
  for (const host of [
    '10.0.0.5',
    '172.20.1.1',
    '192.168.1.1',
    '169.254.169.254',
    '127.0.0.1',
    '0.0.0.0',
    '100.64.0.1',
    '[::1]',
    '[fd00::1]',
    '[fe80::1]',
    '[::ffff:10.0.0.1]',
  ])
    refused(`https://${host}/hook`);
  for (const host of ['localhost', 'api.localhost', 'db.internal', 'printer.local', 'intranet'])
    refused(`https://${host}/hook`);
  refused(`https://example.com/${'a'.repeat(2100)}`);
});

test('development accepts http only for this machine', () => {
  assert.equal(validateWebhookUrl('http://127.0.0.1:4000/hook', development), 'http://127.0.0.1:4000/hook');
  assert.equal(validateWebhookUrl('http://localhost:4000/hook', development), 'http://localhost:4000/hook');
  refused('http://127.0.0.1:4000/hook', production);
  refused('http://shop.example.com/hook', development);
  refused('http://10.0.0.1/hook', development);
});

test('public addresses', () => {
  assert.ok(isPublicAddress('8.8.8.8'));
  assert.ok(isPublicAddress('2606:4700::1111'));
  assert.ok(!isPublicAddress('172.31.255.255'));
  assert.ok(!isPublicAddress('::ffff:192.168.0.1'));
  assert.ok(!isPublicAddress('not-an-ip'));
});
