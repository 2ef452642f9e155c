import type { Identity } from '../../identity/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database, Queryable } from '../../platform/db/database.ts';
import { conflict, notFound } from '../../platform/errors.ts';
import { cryptoRandom, type RandomSource, uuidv7 } from '../../platform/ids.ts';
import {
  getProfile,
  insertMerchant,
  insertProfile,
  listProfiles,
  lockProfile,
  type ProfileFields,
  type ProfileRecord,
  sealedBankAccount,
  setProfileTerms,
  setReviewState,
  updateProfileFields,
} from '../store.ts';
import { sealSecret } from '../webhooks/secret-box.ts';
import {
  assertMdrBps,
  maskAccountNumber,
  maskPhone,
  type ProfileInput,
  parseSettlementCycle,
  settlementCycle,
  validateProfile,
} from './profile.ts';
import { allowedActions, isEditable, type ReviewAction, type ReviewState, transition } from './review.ts';

export interface OnboardingDeps {
  db: Database;
  clock: Clock;
  identity: Pick<Identity, 'audit'>;
  /** AES-256-GCM key sealing settlement account numbers at rest (the merchants secret key). */
  secretKey: Buffer;
  /** MERCHANTS_DEFAULT_MDR_BPS: the fee plan of a merchant nobody set one for. */
  defaultMdrBps: number;
  random?: RandomSource;
}

/** The audit action of each review step. */
const AUDIT_ACTION: Record<ReviewAction, string> = {
  submit: 'merchant.application_submitted',
  approve: 'merchant.approved',
  reject: 'merchant.rejected',
  request_changes: 'merchant.changes_requested',
  suspend: 'merchant.suspended',
  reinstate: 'merchant.reinstated',
  close: 'merchant.closed',
};

/** Applicant edits: any profile field; the bank account, when changed, is given whole. */
export type ProfilePatch = Partial<ProfileInput>;

export interface TermsInput {
  mdr_bps?: number;
  settlement_cycle?: string;
}

/**
 * Merchant onboarding: a signed-in user applies (draft, edited until submitted) or an operator
 * onboards a business directly; operators review (approve, reject, request changes), suspend,
 * reinstate and close, and set the fee plan and settlement cycle. Every change is audited in
 * identity's audit log inside its own transaction, with the acting principal.
 */
export class Onboarding {
  private readonly random: RandomSource;

  constructor(private readonly deps: OnboardingDeps) {
    this.random = deps.random ?? cryptoRandom;
  }

  /** A user's application, in draft (nothing stored when a field is invalid). */
  apply(userId: string, input: ProfileInput, actor: string): Promise<ProfileRecord> {
    return this.create(input, { applicantUserId: userId, actor, state: 'draft' });
  }

  /**
   * An operator onboards a business: submitted, or approved at once with `approve`. The demo
   * passes a fixed `merchantId` so that seeding is repeatable.
   */
  async onboardByOperator(
    input: ProfileInput & TermsInput & { approve?: boolean },
    actor: string,
    options: { merchantId?: string } = {},
  ): Promise<ProfileRecord> {
    return this.create(input, {
      applicantUserId: null,
      actor,
      state: 'submitted',
      approve: input.approve,
      merchantId: options.merchantId,
    });
  }

  /** The profile, or undefined when the merchant has none. */
  find(merchantId: string): Promise<ProfileRecord | undefined> {
    return getProfile(this.deps.db, merchantId);
  }

  async get(merchantId: string): Promise<ProfileRecord> {
    const profile = await getProfile(this.deps.db, merchantId);
    if (!profile) throw notFound('merchant_application_not_found', 'No such merchant application.');
    return profile;
  }

  list(filter: { state?: ReviewState; applicantUserId?: string; limit?: number }): Promise<ProfileRecord[]> {
    return listProfiles(this.deps.db, { ...filter, limit: filter.limit ?? 100 });
  }

  /** The applicant changes the profile while it is draft or needs_changes. */
  async update(merchantId: string, patch: ProfilePatch, actor: string): Promise<ProfileRecord> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (tx) => {
      const current = await this.lock(tx, merchantId);
      if (!isEditable(current.review_state))
        throw conflict(
          'merchant_state_invalid',
          `A merchant application in state ${current.review_state} cannot be edited.`,
          { state: current.review_state, allowed_actions: allowedActions(current.review_state) },
        );
      // The stored account number is sealed; an edit without a new account checks the rest
      // against a placeholder number and keeps the sealed one.
      const merged = validateProfile({
        business_name: patch.business_name ?? current.business_name,
        uscc: patch.uscc ?? current.uscc,
        legal_representative: patch.legal_representative ?? current.legal_representative,
        mcc: patch.mcc ?? current.mcc,
        scenario: patch.scenario ?? current.scenario,
        contact_phone: patch.contact_phone ?? current.contact_phone,
        bank_account: patch.bank_account ?? {
          holder: current.bank_account_holder,
          bank_name: current.bank_name,
          number: '0000000000',
        },
      });
      const fields = patch.bank_account
        ? this.fields(merchantId, merged)
        : { ...this.fields(merchantId, merged), ...(await this.sealedAccount(tx, merchantId)) };
      await updateProfileFields(tx, merchantId, fields, now);
      await this.audit(tx, actor, 'merchant.application_updated', merchantId, {
        fields: Object.keys(patch).sort(),
      });
    });
    return this.get(merchantId);
  }

  /** The applicant submits (draft or needs_changes → submitted). */
  submit(merchantId: string, actor: string): Promise<ProfileRecord> {
    return this.review(merchantId, 'submit', actor);
  }

  /** One review step; throws merchant_state_invalid (with the allowed actions) when not possible. */
  async review(
    merchantId: string,
    action: ReviewAction,
    actor: string,
    reason?: string,
  ): Promise<ProfileRecord> {
    await this.deps.db.transaction(async (tx) => {
      const current = await this.lock(tx, merchantId);
      await this.step(tx, merchantId, current.review_state, action, actor, reason);
    });
    return this.get(merchantId);
  }

  /** Operator: the fee plan (MDR in basis points) and settlement cycle (T+0..T+7). */
  async setTerms(merchantId: string, terms: TermsInput, actor: string): Promise<ProfileRecord> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (tx) => {
      const current = await this.lock(tx, merchantId);
      if (current.review_state === 'closed')
        throw conflict('merchant_state_invalid', 'A closed merchant’s terms cannot change.', {
          state: current.review_state,
          allowed_actions: [],
        });
      const mdrBps = terms.mdr_bps ?? current.mdr_bps;
      assertMdrBps(mdrBps);
      const settlementDays =
        terms.settlement_cycle === undefined
          ? current.settlement_days
          : parseSettlementCycle(terms.settlement_cycle);
      await setProfileTerms(tx, merchantId, { mdrBps, settlementDays, at: now });
      await this.audit(tx, actor, 'merchant.terms_changed', merchantId, {
        mdr_bps: { from: current.mdr_bps, to: mdrBps },
        settlement_cycle: {
          from: settlementCycle(current.settlement_days),
          to: settlementCycle(settlementDays),
        },
      });
    });
    return this.get(merchantId);
  }

  private async create(
    input: ProfileInput & TermsInput,
    how: {
      applicantUserId: string | null;
      actor: string;
      state: ReviewState;
      approve?: boolean;
      merchantId?: string;
    },
  ): Promise<ProfileRecord> {
    const profile = validateProfile(input);
    const mdrBps = input.mdr_bps ?? this.deps.defaultMdrBps;
    assertMdrBps(mdrBps);
    const settlementDays =
      input.settlement_cycle === undefined ? 1 : parseSettlementCycle(input.settlement_cycle);
    const now = this.deps.clock.now();
    const merchantId = how.merchantId ?? uuidv7(now.getTime());
    await this.deps.db.transaction(async (tx) => {
      await insertMerchant(tx, { id: merchantId, name: profile.business_name, createdAt: now });
      await insertProfile(tx, {
        ...this.fields(merchantId, profile),
        merchant_id: merchantId,
        applicant_user_id: how.applicantUserId,
        review_state: how.state,
        mdr_bps: mdrBps,
        settlement_days: settlementDays,
        at: now,
      });
      await this.audit(
        tx,
        how.actor,
        how.applicantUserId ? 'merchant.application_created' : 'merchant.onboarded',
        merchantId,
        {
          business_name: profile.business_name,
          uscc: profile.uscc,
          mcc: profile.mcc,
          scenario: profile.scenario,
          contact_phone: maskPhone(profile.contact_phone),
          bank_account: maskAccountNumber(profile.bank_account.number.slice(-4)),
          state: how.state,
        },
      );
      if (how.approve) await this.step(tx, merchantId, how.state, 'approve', how.actor);
    });
    return this.get(merchantId);
  }

  private async step(
    tx: Queryable,
    merchantId: string,
    from: ReviewState,
    action: ReviewAction,
    actor: string,
    reason?: string,
  ): Promise<void> {
    const next = transition(from, action, reason);
    await setReviewState(tx, merchantId, {
      state: next.state,
      reason: next.reason,
      at: this.deps.clock.now(),
      submitted: action === 'submit',
    });
    await this.audit(tx, actor, AUDIT_ACTION[action], merchantId, {
      from,
      to: next.state,
      ...(next.reason ? { reason: next.reason } : {}),
    });
  }

  private async lock(tx: Queryable, merchantId: string): Promise<ProfileRecord> {
    const profile = await lockProfile(tx, merchantId);
    if (!profile) throw notFound('merchant_application_not_found', 'No such merchant application.');
    return profile;
  }

  private fields(merchantId: string, profile: ProfileInput): ProfileFields {
    return {
      business_name: profile.business_name,
      uscc: profile.uscc,
      legal_representative: profile.legal_representative,
      mcc: profile.mcc,
      scenario: profile.scenario,
      contact_phone: profile.contact_phone,
      bank_account_holder: profile.bank_account.holder,
      bank_name: profile.bank_account.bank_name,
      bank_account_sealed: sealSecret(
        this.deps.secretKey,
        profile.bank_account.number,
        `merchant-bank-account:${merchantId}`,
        this.random,
      ),
      bank_account_last4: profile.bank_account.number.slice(-4),
    };
  }

  private async sealedAccount(tx: Queryable, merchantId: string) {
    const account = await sealedBankAccount(tx, merchantId);
    return { bank_account_sealed: account.sealed, bank_account_last4: account.last4 };
  }

  private async audit(
    tx: Queryable,
    actor: string,
    action: string,
    merchantId: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.deps.identity.audit({ actor, action, subject: `merchant:${merchantId}`, details }, tx);
  }
}

/** An application as the API shows it: phone and account number masked. */
export function applicationView(profile: ProfileRecord) {
  return {
    id: profile.merchant_id,
    merchant_id: profile.merchant_id,
    state: profile.review_state,
    reason: profile.review_reason,
    allowed_actions: allowedActions(profile.review_state),
    applicant_user_id: profile.applicant_user_id,
    business_name: profile.business_name,
    uscc: profile.uscc,
    legal_representative: profile.legal_representative,
    mcc: profile.mcc,
    scenario: profile.scenario,
    contact_phone: maskPhone(profile.contact_phone),
    bank_account: {
      holder: profile.bank_account_holder,
      bank_name: profile.bank_name,
      number: maskAccountNumber(profile.bank_account_last4),
    },
    fee_plan: { mdr_bps: profile.mdr_bps },
    settlement_cycle: settlementCycle(profile.settlement_days),
    created_at: profile.created_at.toISOString(),
    updated_at: profile.updated_at.toISOString(),
    submitted_at: profile.submitted_at?.toISOString() ?? null,
    reviewed_at: profile.reviewed_at?.toISOString() ?? null,
  };
}
