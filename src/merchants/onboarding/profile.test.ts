import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppError } from '../../platform/errors.ts';
import {
  assertMdrBps,
  maskAccountNumber,
  maskPhone,
  type ProfileInput,
  parseSettlementCycle,
  validateProfile,
} from './profile.ts';

const valid: ProfileInput = {
  business_name: 'Corner Noodles Ltd',
  uscc: '91350100m000100y43',
  legal_representative: '张三',
  mcc: '5812',
  scenario: 'catering',
  contact_phone: '13812345678',
  bank_account: { holder: 'Corner Noodles Ltd', bank_name: 'Sandbox Bank', number: '6222 0200 0000 1234' },
};

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as AppError).code;
  }
  return 'no error';
};

test('a valid profile is normalised (USCC upper case, account digits only)', () => {
  const profile = validateProfile(valid);
  assert.equal(profile.uscc, '91350100M000100Y43');
  assert.equal(profile.bank_account.number, '6222020000001234');
});

test('each bad field has its own code', () => {
  const cases: Array<[Partial<ProfileInput>, string]> = [
    [{ uscc: '91350100M000100Y44' }, 'uscc_invalid'],
    [{ uscc: '91350100M000100Y4' }, 'uscc_invalid'],
    [{ mcc: '581' }, 'mcc_invalid'],
    [{ mcc: '58a2' }, 'mcc_invalid'],
    [{ contact_phone: '12345' }, 'phone_invalid'],
    [{ business_name: '  ' }, 'business_name_invalid'],
    [{ legal_representative: '' }, 'legal_representative_invalid'],
    [{ bank_account: { ...valid.bank_account, number: '12ab' } }, 'bank_account_invalid'],
    [{ bank_account: { ...valid.bank_account, holder: 'Someone Else' } }, 'bank_account_holder_mismatch'],
    [{ scenario: 'casino' as never }, 'scenario_invalid'],
  ];
  for (const [change, expected] of cases)
    assert.equal(
      code(() => validateProfile({ ...valid, ...change })),
      expected,
      JSON.stringify(change),
    );
});

test('fee plan and settlement cycle bounds', () => {
  assertMdrBps(0);
  assertMdrBps(10_000);
  assert.equal(
    code(() => assertMdrBps(10_001)),
    'mdr_invalid',
  );
  assert.equal(
    code(() => assertMdrBps(-1)),
    'mdr_invalid',
  );
  assert.equal(parseSettlementCycle('T+0'), 0);
  assert.equal(parseSettlementCycle('T+7'), 7);
  for (const bad of ['T+8', 'T-1', 'D+1', 'T+10'])
    assert.equal(
      code(() => parseSettlementCycle(bad)),
      'settlement_cycle_invalid',
      bad,
    );
});

test('masks show only what support needs', () => {
  assert.equal(maskPhone('13812345678'), '138****5678');
  assert.equal(maskAccountNumber('1234'), '****1234');
});
