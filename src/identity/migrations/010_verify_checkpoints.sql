-- `tuyere verify` checks limit counters incrementally: a counter changes only when a
-- reservation naming it is made (created_at) or released (released_at), so a run re-checks
-- every counter of the users whose reservations changed since the checkpoint recorded here.
-- `tuyere verify --full` checks every counter (docs/LEDGER.md, verify). Numbered 010 to leave
-- 006–009 to concurrent identity work.
CREATE TABLE identity_verify_checkpoints (
  check_name text PRIMARY KEY,
  after_at timestamptz NOT NULL,
  verified_at timestamptz NOT NULL
);

-- Reservations are inserted in time order: a BRIN index costs the payment path next to nothing.
CREATE INDEX identity_limit_reservations_created ON identity_limit_reservations USING brin (created_at);
CREATE INDEX identity_limit_reservations_released ON identity_limit_reservations (released_at)
  WHERE released_at IS NOT NULL;
