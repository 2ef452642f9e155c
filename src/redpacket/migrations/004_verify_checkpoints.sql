-- `tuyere verify` checks an envelope whose books are closed once: finished (every share
-- grabbed, at finished_at) or its refund booked (expired or failed, at refund_booked_at). Each
-- incremental check records the (closed at, id) it verified up to; the next run reads only
-- envelopes closed after it, and every open one. `tuyere verify --full` ignores the
-- checkpoints (docs/LEDGER.md, verify).
ALTER TABLE redpacket_envelopes ADD COLUMN refund_booked_at timestamptz;
UPDATE redpacket_envelopes SET refund_booked_at = coalesce(finished_at, created_at) WHERE refund_booked;

CREATE TABLE redpacket_verify_checkpoints (
  check_name text PRIMARY KEY,
  after_at timestamptz NOT NULL,
  after_id uuid NOT NULL,
  verified_at timestamptz NOT NULL
);

CREATE INDEX redpacket_envelopes_closed ON redpacket_envelopes ((coalesce(refund_booked_at, finished_at)), id)
  WHERE (status = 'finished' OR refund_booked) AND coalesce(refund_booked_at, finished_at) IS NOT NULL;
CREATE INDEX redpacket_envelopes_open ON redpacket_envelopes (id)
  WHERE NOT ((status = 'finished' OR refund_booked) AND coalesce(refund_booked_at, finished_at) IS NOT NULL);
