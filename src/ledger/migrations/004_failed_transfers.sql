-- Ids of transfers that failed for a transient reason (TigerBeetle's id_already_failed): a
-- later event with the same id is refused, so a refused transfer can never go through later.
-- Written by the batch statement and journaled (kind F), like every other event.
CREATE TABLE ledger_transfers_failed (
  id uuid PRIMARY KEY,
  result text NOT NULL,
  timestamp bigint NOT NULL UNIQUE
);

-- The batch statement calls this with whether any of its new transfer ids is a failed one.
-- It raises a unique violation (as a duplicate transfer id does), so the writer re-runs the
-- batch with the ids looked up, and the event gets id_already_failed.
CREATE FUNCTION ledger_failed_id_check(hit boolean)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF hit THEN
    RAISE EXCEPTION 'ledger: a transfer id that already failed'
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'ledger_transfers_failed_pkey';
  END IF;
  RETURN true;
END
$$;
