-- An envelope row (up to 100 shares, grabbers and grab times: about 3.5 kB) is rewritten by
-- every batch of grabs. Past the default 2 kB target PostgreSQL compresses and moves its arrays
-- to TOAST on each rewrite; keeping the row inline and uncompressed costs a little space and
-- saves that work on the hottest update of a storm.
ALTER TABLE redpacket_envelopes SET (toast_tuple_target = 8160);
ALTER TABLE redpacket_envelopes ALTER COLUMN grabbers SET STORAGE MAIN, ALTER COLUMN grabbed_ats SET STORAGE MAIN,
  ALTER COLUMN shares SET STORAGE MAIN;
