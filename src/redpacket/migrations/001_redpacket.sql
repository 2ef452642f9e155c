-- Red envelopes. Grabs are not marked when booked (that would double the writes of a storm):
-- the sweeper checks grabs against the ledger by time window, and refunds check them first.
-- Shares are drawn when the envelope is sent and stored with it; a grab
-- claims the next share index. The unique keys make a second grab by the same user, or a
-- second claim of the same share, impossible at the database too.
CREATE TABLE redpacket_envelopes (
  id uuid PRIMARY KEY,
  sender_id uuid NOT NULL,
  group_id uuid,
  recipient_id uuid,
  kind text NOT NULL CHECK (kind IN ('lucky', 'fixed', 'personal')),
  total bigint NOT NULL CHECK (total > 0),
  shares bigint[] NOT NULL,
  greeting text NOT NULL,
  status text NOT NULL CHECK (status IN ('funding', 'active', 'finished', 'expired', 'failed')),
  grabbed_count integer NOT NULL DEFAULT 0,
  grabbed_amount bigint NOT NULL DEFAULT 0,
  refund_amount bigint,
  refund_booked boolean NOT NULL DEFAULT false,
  escrow_account_id uuid NOT NULL,
  fund_transfer_id uuid NOT NULL,
  funding_source text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  finished_at timestamptz,
  last_grab_at timestamptz,
  CHECK (grabbed_count BETWEEN 0 AND cardinality(shares)),
  CHECK (grabbed_amount BETWEEN 0 AND total),
  CHECK ((group_id IS NULL) <> (recipient_id IS NULL))
);
CREATE INDEX redpacket_envelopes_due ON redpacket_envelopes (expires_at) WHERE status = 'active';
CREATE INDEX redpacket_envelopes_unrefunded ON redpacket_envelopes (expires_at) WHERE status = 'expired' AND NOT refund_booked;
CREATE INDEX redpacket_envelopes_funding ON redpacket_envelopes (created_at) WHERE status = 'funding';
CREATE INDEX redpacket_envelopes_sender ON redpacket_envelopes (sender_id, created_at);

CREATE TABLE redpacket_grabs (
  -- No foreign key: only the grab engine writes here, after locking the envelope row; verify checks orphans.
  envelope_id uuid NOT NULL,
  user_id uuid NOT NULL,
  share_index integer NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  transfer_id uuid NOT NULL,
  grabbed_at timestamptz NOT NULL,
  PRIMARY KEY (envelope_id, user_id),
  UNIQUE (envelope_id, share_index)
);
-- Grabs arrive in time order, so a BRIN index serves the sweeper's time windows at almost no write cost.
CREATE INDEX redpacket_grabs_time ON redpacket_grabs USING brin (grabbed_at);

-- How far the booking sweeper has confirmed that every grab reached the ledger.
CREATE TABLE redpacket_sweeper (
  name text PRIMARY KEY,
  after_grabbed_at timestamptz NOT NULL,
  after_envelope_id uuid NOT NULL,
  after_user_id uuid NOT NULL
);