-- Merchant onboarding (issue 16): one profile per merchant, created by a user's application or
-- by an operator, with its review state. A merchant created without onboarding has no row here
-- and takes no payments. The settlement account number is kept only sealed (AES-256-GCM) plus
-- its last four digits; the contact phone is shown masked.
CREATE TABLE merchants_profiles (
  merchant_id uuid PRIMARY KEY REFERENCES merchants_merchants (id),
  -- The user who applied; null when an operator onboarded the merchant directly.
  applicant_user_id uuid,
  review_state text NOT NULL CHECK (
    review_state IN ('draft', 'submitted', 'approved', 'rejected', 'needs_changes', 'suspended', 'closed')
  ),
  review_reason text,
  business_name text NOT NULL,
  uscc text NOT NULL CHECK (uscc ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
  legal_representative text NOT NULL,
  mcc text NOT NULL CHECK (mcc ~ '^[0-9]{4}$'),
  scenario text NOT NULL CHECK (scenario IN ('games', 'e_commerce', 'travel', 'catering', 'retail')),
  contact_phone text NOT NULL,
  bank_account_holder text NOT NULL,
  bank_name text NOT NULL,
  bank_account_sealed text NOT NULL,
  bank_account_last4 text NOT NULL,
  mdr_bps integer NOT NULL CHECK (mdr_bps BETWEEN 0 AND 10000),
  settlement_days integer NOT NULL DEFAULT 1 CHECK (settlement_days BETWEEN 0 AND 7),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  submitted_at timestamptz,
  reviewed_at timestamptz
);

CREATE INDEX merchants_profiles_state ON merchants_profiles (review_state, updated_at);
CREATE INDEX merchants_profiles_applicant ON merchants_profiles (applicant_user_id)
  WHERE applicant_user_id IS NOT NULL;
