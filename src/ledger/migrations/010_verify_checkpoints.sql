-- `tuyere verify` runs incrementally: each check records the journal position it verified up
-- to (with the chain hash there), and the next run checks only what came after. A checkpoint
-- is a shortcut, not a proof: `tuyere verify --full` ignores it (docs/LEDGER.md, verify).
-- Numbered 010 to leave 005–009 to concurrent ledger work.
CREATE TABLE ledger_verify_checkpoints (
  check_name text PRIMARY KEY,
  sequence bigint NOT NULL,
  hash bytea NOT NULL,
  timestamp_last bigint NOT NULL,
  -- The newest transfer and account timestamps at that position. Imported events carry past
  -- timestamps, but each must come after every earlier one of its kind, so "after the
  -- checkpoint" is: transfers after this transfer timestamp, accounts after this account
  -- timestamp, expiries and failures (always ledger-stamped) after timestamp_last.
  transfer_timestamp_max bigint NOT NULL,
  account_timestamp_max bigint NOT NULL,
  verified_at timestamptz NOT NULL
);

-- Every account's balances as of its check's checkpoint: the base an incremental
-- account_balance check adds the newer transfers to.
CREATE TABLE ledger_verify_balances (
  account_id uuid PRIMARY KEY,
  debits_pending bigint NOT NULL,
  debits_posted bigint NOT NULL,
  credits_pending bigint NOT NULL,
  credits_posted bigint NOT NULL
);

-- Closing transfers are rare; verify finds them all to prove each account's closed flag.
CREATE INDEX ledger_transfers_closing ON ledger_transfers (id) WHERE flags & 192 <> 0;
