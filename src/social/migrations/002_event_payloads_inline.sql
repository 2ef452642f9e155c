-- A red envelope's 'envelope.grabbed' event names up to 100 grabbers (about 4 kB of JSON).
-- Such rows stay inline and uncompressed: they are written once, on the hot path of a storm,
-- and compressing them costs more than the space saved.
ALTER TABLE social_group_events SET (toast_tuple_target = 8160);
ALTER TABLE social_group_events ALTER COLUMN payload SET STORAGE MAIN;
