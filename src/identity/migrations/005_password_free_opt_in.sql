-- Password-free payments are something a user turns on (with a step-up), not a default: a stolen
-- session of a new account must not be able to pay without a PIN. Accounts opened before this
-- migration keep the setting they have.
ALTER TABLE identity_users ALTER COLUMN password_free_enabled SET DEFAULT false;
