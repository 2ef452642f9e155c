-- A commit participant's writes run inside the ledger's batch statement (one round trip, one
-- implicit transaction). When the participant's own condition fails, this raises, which rolls
-- the whole statement back: ledger writes included. SQLSTATE TL001 and the participant's
-- position (DETAIL) tell the writer which submission refused.
CREATE FUNCTION ledger_participant_check(applied boolean, accepted boolean, participant integer)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF applied AND NOT coalesce(accepted, false) THEN
    RAISE EXCEPTION 'ledger: commit participant % refused', participant
      USING ERRCODE = 'TL001', DETAIL = participant::text;
  END IF;
  RETURN true;
END
$$;
