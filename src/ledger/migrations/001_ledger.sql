-- Ledger engine (TigerBeetle's data model). Amounts and balances are int8 minor units;
-- timestamps are ledger-assigned nanoseconds since the Unix epoch, unique and increasing.

CREATE TABLE ledger_ledgers (
  id integer PRIMARY KEY,
  code text NOT NULL UNIQUE,
  scale smallint NOT NULL CHECK (scale BETWEEN 0 AND 18),
  name text NOT NULL
);
-- Stable ids: code refers to them as constants (Ledgers in src/ledger/types.ts).
INSERT INTO ledger_ledgers (id, code, scale, name) VALUES
  (1, 'CNY', 2, 'Chinese yuan'),
  (2, 'COIN', 0, 'Virtual coins'),
  (3, 'FUND_SHARE', 2, 'Money-market fund shares');

CREATE TABLE ledger_accounts (
  id uuid PRIMARY KEY,
  ledger integer NOT NULL REFERENCES ledger_ledgers (id),
  code integer NOT NULL CHECK (code > 0),
  flags integer NOT NULL,
  closed boolean NOT NULL,
  user_data_128 uuid,
  user_data_64 bigint NOT NULL,
  user_data_32 integer NOT NULL,
  debits_pending bigint NOT NULL CHECK (debits_pending >= 0),
  debits_posted bigint NOT NULL CHECK (debits_posted >= 0),
  credits_pending bigint NOT NULL CHECK (credits_pending >= 0),
  credits_posted bigint NOT NULL CHECK (credits_posted >= 0),
  timestamp bigint NOT NULL UNIQUE
);
CREATE INDEX ledger_accounts_user_data_128 ON ledger_accounts (user_data_128) WHERE user_data_128 IS NOT NULL;

-- Immutable. A post/void row names its pending transfer in pending_id; the partial unique
-- index makes "resolved twice" impossible even for a buggy writer.
CREATE TABLE ledger_transfers (
  id uuid PRIMARY KEY,
  debit_account_id uuid NOT NULL,
  credit_account_id uuid NOT NULL,
  amount bigint NOT NULL CHECK (amount >= 0),
  pending_id uuid,
  ledger integer NOT NULL,
  code integer NOT NULL,
  flags integer NOT NULL,
  timeout integer NOT NULL,
  user_data_128 uuid,
  user_data_64 bigint NOT NULL,
  user_data_32 integer NOT NULL,
  timestamp bigint NOT NULL
);
CREATE UNIQUE INDEX ledger_transfers_timestamp ON ledger_transfers (timestamp);
CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account_id, timestamp);
CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account_id, timestamp);
CREATE UNIQUE INDEX ledger_transfers_pending_id ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;

-- Live state of each pending transfer (the transfer row itself never changes).
CREATE TABLE ledger_pending (
  id uuid PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
  expires_at bigint,
  resolved_by uuid,
  resolved_at bigint
);
CREATE INDEX ledger_pending_due ON ledger_pending (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;

-- Balances after each change, for history-flagged accounts (balancesAsOf).
CREATE TABLE ledger_account_balances (
  account_id uuid NOT NULL,
  timestamp bigint NOT NULL,
  debits_pending bigint NOT NULL,
  debits_posted bigint NOT NULL,
  credits_pending bigint NOT NULL,
  credits_posted bigint NOT NULL,
  PRIMARY KEY (account_id, timestamp)
);

-- One row per committed batch: hash = sha256(prev_hash || canonical batch content).
CREATE TABLE ledger_journal (
  sequence bigint PRIMARY KEY,
  timestamp_first bigint NOT NULL,
  timestamp_last bigint NOT NULL,
  event_count integer NOT NULL,
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL
);

-- The chain head, locked by every batch: it serialises journal appends across processes and
-- hands out timestamps.
CREATE TABLE ledger_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  sequence bigint NOT NULL,
  hash bytea NOT NULL,
  timestamp_last bigint NOT NULL
);
INSERT INTO ledger_head (singleton, sequence, hash, timestamp_last)
VALUES (true, 0, decode(repeat('00', 32), 'hex'), 0);
