-- Merchants move out of identity into their own module (issue 12). Identity's migration 001
-- created these tables as identity_merchants and identity_merchant_api_keys; that migration is
-- applied and checksummed, so they are renamed here rather than created afresh. Rows, keys and
-- the foreign key between the two tables are kept as they are.

ALTER TABLE identity_merchants RENAME TO merchants_merchants;
ALTER TABLE merchants_merchants RENAME CONSTRAINT identity_merchants_pkey TO merchants_merchants_pkey;
ALTER TABLE merchants_merchants
  RENAME CONSTRAINT identity_merchants_status_check TO merchants_merchants_status_check;

-- API keys: found by their public prefix; the secret part is kept only as its SHA-256.
ALTER TABLE identity_merchant_api_keys RENAME TO merchants_api_keys;
ALTER TABLE merchants_api_keys RENAME CONSTRAINT identity_merchant_api_keys_pkey TO merchants_api_keys_pkey;
ALTER TABLE merchants_api_keys
  RENAME CONSTRAINT identity_merchant_api_keys_prefix_key TO merchants_api_keys_prefix_key;
ALTER TABLE merchants_api_keys
  RENAME CONSTRAINT identity_merchant_api_keys_merchant_id_fkey TO merchants_api_keys_merchant_id_fkey;
ALTER INDEX identity_merchant_api_keys_merchant RENAME TO merchants_api_keys_merchant;
