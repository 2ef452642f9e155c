-- Identity: users, staff, merchants, sessions, SMS codes, real-name, PIN, devices,
-- payment challenges, limits counters and the hash-chained audit log.

CREATE TABLE identity_users (
  id uuid PRIMARY KEY,
  phone text NOT NULL UNIQUE,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen')),
  -- Real-name class: 1 until verified with more sources (PBOC classes I, II, III).
  account_class smallint NOT NULL DEFAULT 1 CHECK (account_class BETWEEN 1 AND 3),
  real_name text,
  -- AES-256-GCM ciphertext of the ID number; the key id is stored beside it for rotation.
  id_number_ciphertext bytea,
  id_number_key_id text,
  id_number_masked text,
  -- Keyed hash of the ID number, so one identity cannot open many accounts (and for reset checks).
  id_number_digest text UNIQUE,
  verified_at timestamptz,
  password_free_enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL
);

-- Staff accounts: operator-read, operator-admin, auditor. Separate from users so a staff
-- session never acts as a customer and a customer never gains staff powers.
CREATE TABLE identity_staff (
  id uuid PRIMARY KEY,
  phone text NOT NULL UNIQUE,
  name text NOT NULL,
  roles text[] NOT NULL CHECK (roles <@ ARRAY['operator-read', 'operator-admin', 'auditor']::text[] AND cardinality(roles) > 0),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at timestamptz NOT NULL
);

-- Minimal merchant entity; the merchant module extends it.
CREATE TABLE identity_merchants (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at timestamptz NOT NULL
);

CREATE TABLE identity_merchant_api_keys (
  id uuid PRIMARY KEY,
  merchant_id uuid NOT NULL REFERENCES identity_merchants (id),
  name text NOT NULL,
  -- Public lookup part of the key; the secret part is only stored as a SHA-256 digest.
  prefix text NOT NULL UNIQUE,
  secret_digest text NOT NULL,
  scopes text[] NOT NULL,
  created_at timestamptz NOT NULL,
  last_used_at timestamptz,
  revoked_at timestamptz,
  replaced_by uuid
);
CREATE INDEX identity_merchant_api_keys_merchant ON identity_merchant_api_keys (merchant_id);

-- One session per login; it is also the refresh-token family.
CREATE TABLE identity_sessions (
  id uuid PRIMARY KEY,
  subject_kind text NOT NULL CHECK (subject_kind IN ('user', 'operator')),
  subject_id uuid NOT NULL,
  created_at timestamptz NOT NULL,
  last_refreshed_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text,
  user_agent text
);
CREATE INDEX identity_sessions_subject ON identity_sessions (subject_id) WHERE revoked_at IS NULL;

CREATE TABLE identity_refresh_tokens (
  token_digest text PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES identity_sessions (id),
  generation integer NOT NULL,
  created_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX identity_refresh_tokens_session ON identity_refresh_tokens (session_id);

CREATE TABLE identity_sms_codes (
  id uuid PRIMARY KEY,
  phone text NOT NULL,
  purpose text NOT NULL,
  code_digest text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  failed_attempts integer NOT NULL DEFAULT 0,
  consumed_at timestamptz
);
CREATE INDEX identity_sms_codes_phone ON identity_sms_codes (phone, purpose, created_at DESC);

-- What the sandbox SMS connector "sent": the demo's and the tests' phone inbox.
CREATE TABLE identity_sms_sandbox_outbox (
  id uuid PRIMARY KEY,
  phone text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX identity_sms_sandbox_outbox_phone ON identity_sms_sandbox_outbox (phone, created_at DESC);

CREATE TABLE identity_pins (
  user_id uuid PRIMARY KEY REFERENCES identity_users (id),
  pin_hash text NOT NULL,
  failed_attempts integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  updated_at timestamptz NOT NULL
);

CREATE TABLE identity_devices (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES identity_users (id),
  kind text NOT NULL CHECK (kind IN ('phone', 'browser', 'wearable')),
  name text NOT NULL,
  key_type text NOT NULL CHECK (key_type IN ('webauthn', 'p256', 'ed25519')),
  -- SPKI DER for raw keys, COSE for passkeys.
  public_key bytea NOT NULL,
  credential_id text UNIQUE,
  sign_count bigint NOT NULL DEFAULT 0,
  user_verification boolean NOT NULL,
  daily_limit bigint CHECK (daily_limit IS NULL OR daily_limit >= 0),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  disabled_at timestamptz,
  disabled_by text,
  created_at timestamptz NOT NULL,
  last_used_at timestamptz
);
CREATE INDEX identity_devices_user ON identity_devices (user_id);

-- Server challenges: device registration proofs and payment authorizations. Single use.
CREATE TABLE identity_challenges (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES identity_users (id),
  purpose text NOT NULL CHECK (purpose IN ('device_registration', 'webauthn_registration', 'payment')),
  nonce text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX identity_challenges_user ON identity_challenges (user_id, created_at DESC);

-- Limit counters: one row per (user, counter, period). Spends reserve with a conditional
-- UPDATE (used + amount <= cap), so racing requests can never exceed a cap.
CREATE TABLE identity_limit_counters (
  user_id uuid NOT NULL,
  counter text NOT NULL,
  period text NOT NULL,
  used bigint NOT NULL CHECK (used >= 0),
  payments integer NOT NULL DEFAULT 0 CHECK (payments >= 0),
  PRIMARY KEY (user_id, counter, period)
);

CREATE TABLE identity_limit_reservations (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  method text NOT NULL,
  strength text NOT NULL,
  counters jsonb NOT NULL,
  state text NOT NULL CHECK (state IN ('reserved', 'released')),
  created_at timestamptz NOT NULL,
  released_at timestamptz
);
CREATE INDEX identity_limit_reservations_user ON identity_limit_reservations (user_id, created_at DESC);

-- Append-only, hash-chained audit log. seq is gapless (taken from the head row under lock),
-- so a deleted row is detectable even if the triggers were bypassed.
CREATE TABLE identity_audit_log (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  subject text NOT NULL,
  details jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX identity_audit_log_subject ON identity_audit_log (subject, seq);

CREATE TABLE identity_audit_head (
  id smallint PRIMARY KEY CHECK (id = 1),
  last_seq bigint NOT NULL,
  last_hash text NOT NULL
);
INSERT INTO identity_audit_head (id, last_seq, last_hash) VALUES (1, 0, repeat('0', 64));

CREATE FUNCTION identity_audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'identity_audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER identity_audit_log_no_update_delete BEFORE UPDATE OR DELETE ON identity_audit_log
  FOR EACH ROW EXECUTE FUNCTION identity_audit_log_is_append_only();
CREATE TRIGGER identity_audit_log_no_truncate BEFORE TRUNCATE ON identity_audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION identity_audit_log_is_append_only();
