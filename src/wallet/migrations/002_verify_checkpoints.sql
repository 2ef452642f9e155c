-- `tuyere verify` checks a finished bank operation or friend transfer once: each incremental
-- wallet check records the (finish time, id) it verified up to, and the next run reads only
-- the rows finished after it. `tuyere verify --full` ignores the checkpoints (docs/LEDGER.md, verify).
CREATE TABLE wallet_verify_checkpoints (
  check_name text PRIMARY KEY,
  after_at timestamptz NOT NULL,
  after_id uuid NOT NULL,
  verified_at timestamptz NOT NULL
);

-- Finished rows in the order they finished (resolved_at / finished_at are set with the final
-- state); the rest (pending, in transit, or a row missing its stamp) is read in full each run.
CREATE INDEX wallet_bank_operations_finished ON wallet_bank_operations (resolved_at, id)
  WHERE state <> 'pending' AND resolved_at IS NOT NULL;
CREATE INDEX wallet_bank_operations_unfinished ON wallet_bank_operations (id)
  WHERE state = 'pending' OR resolved_at IS NULL;
CREATE INDEX wallet_transfers_transit_finished ON wallet_transfers (finished_at, id)
  WHERE via_transit AND finished_at IS NOT NULL;
CREATE INDEX wallet_transfers_transit_unfinished ON wallet_transfers (id)
  WHERE via_transit AND finished_at IS NULL;
