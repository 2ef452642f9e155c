-- verify's balance-history check finds the batch an expiry was applied in (one row per batch,
-- so the index costs the write path next to nothing).
CREATE INDEX IF NOT EXISTS ledger_journal_timestamp_first ON ledger_journal (timestamp_first);
