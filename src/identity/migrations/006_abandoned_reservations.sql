-- A reservation whose payment never committed (its caller died between reserving and paying) is
-- `abandoned` by the owning module's recovery: its amount is given back like a release, but a
-- late retry of the same payment id may take it again (a plain `released` one stays refused).
ALTER TABLE identity_limit_reservations DROP CONSTRAINT identity_limit_reservations_state_check;
ALTER TABLE identity_limit_reservations
  ADD CONSTRAINT identity_limit_reservations_state_check CHECK (state IN ('reserved', 'released', 'abandoned'));
-- Recovery's scan: reservations still held, oldest first.
CREATE INDEX identity_limit_reservations_held ON identity_limit_reservations (created_at)
  WHERE state = 'reserved';
