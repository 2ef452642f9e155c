import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { luhnValid, scanLogs } from '../scripts/scan-logs.ts';
import { makeChineseId } from '../src/identity/chinese-id.ts';

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({ level: 30, time: 1772413200000, pid: 4242, ...fields });

test('the log scanner finds planted PINs, ID numbers, SMS codes and card numbers', () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'scan-logs-'));
  const idNumber = makeChineseId('110101', '19900307', '123');
  writeFileSync(
    path.join(directory, 'leaky.log'),
    [
      line({ msg: 'body', body: { pin: '135792' } }),
      line({ msg: 'reset', new_pin: '246813' }),
      line({ msg: `verifying ${idNumber}` }),
      line({ msg: 'sent', sms_code: '482913' }),
      line({ msg: '[Tuyere] Your sign-in code is 907113. It expires in 5 minutes.' }),
      line({ msg: 'charge', note: 'card 4111 1111 1111 1111' }),
      line({ msg: 'charge', pan: '6222021234567890128' }),
      line({ req: { method: 'GET', url: '/v1/operator/users?phone=13800138000' }, msg: 'incoming request' }),
      line({ msg: 'staff', who: 'sent to 19912345678.' }),
    ].join('\n'),
  );
  const report = scanLogs(directory);
  const kinds = report.leaks.map((leak) => `${leak.line}:${leak.kind}`);
  assert.deepEqual(kinds, [
    '1:pin',
    '2:pin',
    '3:id_number',
    '4:sms_code',
    '5:sms_code',
    '6:card_number',
    '7:card_number',
    '8:phone',
    '9:phone',
  ]);
  assert.ok(
    report.leaks.every((leak) => leak.excerpt.includes('*')),
    'the report masks what it found',
  );
});

test('redacted, masked and ordinary lines are clean', () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'scan-logs-'));
  writeFileSync(
    path.join(directory, 'clean.log'),
    [
      line({ msg: 'body', body: { pin: '[redacted]' } }),
      line({ msg: 'verified', id_number: '1101**********1234' }),
      line({ msg: 'request rejected', code: 'sms_code_invalid', status: 401 }),
      line({ reqId: '0195a000-0000-7000-8000-000000000001', responseTime: 12.5, msg: 'request completed' }),
      line({ msg: 'amount', amount: '100000', seq: '1234567890123' }),
      line({ msg: 'not luhn', value: '4111111111111112' }),
      line({ req: { url: '/v1/operator/users?phone=138****8000' }, time: 17959811706, msg: 'masked' }),
      line({ msg: 'not a phone', amount: '123456789012', id: '0195a000-0000-7000-8000-013800138000' }),
      // A request id whose last two groups join into a Luhn-valid 16-digit run (seen in a CI log).
      line({ reqId: '01a22900-9194-7c76-8669-115839426245', msg: 'request rejected' }),
    ].join('\n'),
  );
  const report = scanLogs(directory);
  assert.deepEqual(report.leaks, []);
  assert.equal(report.lines, 9);
});

test('Luhn', () => {
  assert.ok(luhnValid('4111111111111111'));
  assert.ok(!luhnValid('4111111111111112'));
  assert.ok(luhnValid('79927398713'));
});
