-- ID-number ciphertext format (issue 13): 1 = associated data is the key id only (rows written
-- before this migration); 2 = associated data binds the ciphertext to its user as well, so a
-- ciphertext copied onto another row no longer decrypts. `tuyere reencrypt-ids` moves 1 to 2.
ALTER TABLE identity_users ADD COLUMN id_number_format smallint NOT NULL DEFAULT 1;
