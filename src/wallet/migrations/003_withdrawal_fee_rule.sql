-- The fee rule a withdrawal was charged under (basis points and minimum, in fen), so verify
-- checks each fee against its own rule after the configured rate changes. Null on rows written
-- before this migration (checked against the current rule) and on other kinds.
ALTER TABLE wallet_bank_operations ADD COLUMN fee_bps integer, ADD COLUMN fee_min bigint;
