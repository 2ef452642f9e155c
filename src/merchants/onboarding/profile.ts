/**
 * A merchant's onboarding profile, checked as a whole (pure): the business, its USCC, legal
 * representative, MCC and scenario, contact phone and settlement bank account. Also the fee
 * plan and settlement cycle rules, and the masks every view and log uses.
 */
import { invalid } from '../../platform/errors.ts';
import { usccProblem } from './uscc.ts';

export const MERCHANT_SCENARIOS = ['games', 'e_commerce', 'travel', 'catering', 'retail'] as const;
export type MerchantScenario = (typeof MERCHANT_SCENARIOS)[number];

export interface BankAccountInput {
  holder: string;
  bank_name: string;
  number: string;
}

export interface ProfileInput {
  business_name: string;
  uscc: string;
  legal_representative: string;
  mcc: string;
  scenario: MerchantScenario;
  contact_phone: string;
  bank_account: BankAccountInput;
}

/** The largest merchant discount rate: 10000 bp = 100%. */
export const MAX_MDR_BPS = 10_000;
/** Settlement T+0 .. T+7 (days after the trade day). */
export const MAX_SETTLEMENT_DAYS = 7;

/** Trims the text fields and upper-cases the USCC; throws the first problem as a 400. */
export function validateProfile(input: ProfileInput): ProfileInput {
  const profile: ProfileInput = {
    business_name: input.business_name.trim(),
    uscc: input.uscc.trim().toUpperCase(),
    legal_representative: input.legal_representative.trim(),
    mcc: input.mcc.trim(),
    scenario: input.scenario,
    contact_phone: input.contact_phone.trim(),
    bank_account: {
      holder: input.bank_account.holder.trim(),
      bank_name: input.bank_account.bank_name.trim(),
      number: input.bank_account.number.replace(/\s+/g, ''),
    },
  };
  if (profile.business_name === '') throw invalid('business_name_invalid', 'Give the business name.');
  if (profile.legal_representative === '')
    throw invalid('legal_representative_invalid', 'Give the legal representative’s name.');
  const problem = usccProblem(profile.uscc);
  if (problem)
    throw invalid(
      'uscc_invalid',
      {
        length: 'A unified social credit code has 18 characters.',
        alphabet: 'A unified social credit code uses digits and capitals except I, O, S, V and Z.',
        check_character:
          'The unified social credit code’s last (check) character does not match; check for a typo.',
      }[problem],
      { problem },
    );
  if (!/^\d{4}$/.test(profile.mcc))
    throw invalid('mcc_invalid', 'The merchant category code (MCC) is 4 digits, e.g. 5812 for restaurants.');
  if (!(MERCHANT_SCENARIOS as readonly string[]).includes(profile.scenario))
    throw invalid('scenario_invalid', `The scenario is one of ${MERCHANT_SCENARIOS.join(', ')}.`);
  if (!/^1[3-9]\d{9}$/.test(profile.contact_phone))
    throw invalid('phone_invalid', 'The contact phone is an 11-digit mainland mobile number.');
  if (!/^\d{10,30}$/.test(profile.bank_account.number))
    throw invalid('bank_account_invalid', 'The settlement account number is 10 to 30 digits.');
  if (profile.bank_account.bank_name === '')
    throw invalid('bank_account_invalid', 'Give the settlement account’s bank.');
  if (profile.bank_account.holder !== profile.business_name)
    throw invalid(
      'bank_account_holder_mismatch',
      'The settlement account must be held by the business itself (holder = business name).',
    );
  return profile;
}

export function assertMdrBps(bps: number): void {
  if (!Number.isInteger(bps) || bps < 0 || bps > MAX_MDR_BPS)
    throw invalid('mdr_invalid', `The merchant discount rate is 0..${MAX_MDR_BPS} basis points.`);
}

/** 'T+1' → 1; throws settlement_cycle_invalid outside T+0..T+7. */
export function parseSettlementCycle(cycle: string): number {
  const match = /^T\+([0-9])$/.exec(cycle);
  const days = match ? Number(match[1]) : -1;
  if (days < 0 || days > MAX_SETTLEMENT_DAYS)
    throw invalid('settlement_cycle_invalid', `The settlement cycle is T+0 .. T+${MAX_SETTLEMENT_DAYS}.`);
  return days;
}

export const settlementCycle = (days: number) => `T+${days}`;

/** 13812345678 → 138****5678. */
export function maskPhone(phone: string): string {
  return phone.length >= 7 ? `${phone.slice(0, 3)}****${phone.slice(-4)}` : '****';
}

/** 6222020000001234 → ************1234 (only the last four are ever shown). */
export function maskAccountNumber(last4: string): string {
  return `****${last4}`;
}
