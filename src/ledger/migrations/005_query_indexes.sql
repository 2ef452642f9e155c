-- query_accounts filters (issue 14): one index per field TigerBeetle indexes, each with the
-- timestamp so a page is a range scan in order. Accounts are written rarely, so the insert
-- cost is small. user_data_128 already has ledger_accounts_user_data_128 (migration 001).
-- Transfers get no new index: every one would cost each insert on the hot write path;
-- query_transfers scans in timestamp order (BRIN) and filters, account-history filters use
-- the debit/credit indexes.
CREATE INDEX ledger_accounts_user_data_64 ON ledger_accounts (user_data_64, timestamp) WHERE user_data_64 <> 0;
CREATE INDEX ledger_accounts_user_data_32 ON ledger_accounts (user_data_32, timestamp) WHERE user_data_32 <> 0;
CREATE INDEX ledger_accounts_code ON ledger_accounts (code, timestamp);
CREATE INDEX ledger_accounts_ledger ON ledger_accounts (ledger, timestamp);
