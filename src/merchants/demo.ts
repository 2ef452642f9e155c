import type { DemoWorld } from '../platform/module.ts';
import type { Merchants } from './merchants.ts';
import type { ProfileInput } from './onboarding/profile.ts';
import { usccCheckCharacter } from './onboarding/uscc.ts';

/** The demo world's merchant: onboarded by an operator and approved, so it may take payments. */
export const DEMO_MERCHANT_ID = '0190c0de-5e0d-7000-8000-00000000d3e0';
const USCC_BODY = '91110108MA01TUYE0';

export const DEMO_MERCHANT_PROFILE: ProfileInput = {
  business_name: 'Tuyere Demo Shop Ltd',
  uscc: USCC_BODY + usccCheckCharacter(USCC_BODY),
  legal_representative: '周明',
  mcc: '5999',
  scenario: 'e_commerce',
  contact_phone: '13900000001',
  bank_account: {
    holder: 'Tuyere Demo Shop Ltd',
    bank_name: 'Tuyere Sandbox Bank',
    number: '6222000000000001',
  },
};

/** Seeds the demo merchant, approved. Idempotent: nothing new when it exists. */
export async function seedMerchantsDemo(merchants: Merchants, _world: DemoWorld): Promise<void> {
  if (await merchants.onboarding.find(DEMO_MERCHANT_ID)) return;
  await merchants.onboarding.onboardByOperator({ ...DEMO_MERCHANT_PROFILE, approve: true }, 'system:demo', {
    merchantId: DEMO_MERCHANT_ID,
  });
}
