-- The wallet's own records. Money lives only in the ledger; these rows say why it moved
-- and track what the bank has told us. Every row references ledger transfer ids, never the
-- other way round.

-- Bound bank cards: the bank's token and display data only (never the PAN).
CREATE TABLE wallet_cards (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL,
  card_token text NOT NULL CHECK (length(card_token) BETWEEN 1 AND 128),
  bank_name text NOT NULL CHECK (length(bank_name) BETWEEN 1 AND 64),
  card_type text NOT NULL CHECK (card_type IN ('debit', 'credit')),
  last4 text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
  status text NOT NULL CHECK (status IN ('active', 'removed')),
  created_at timestamptz NOT NULL,
  removed_at timestamptz
);
CREATE UNIQUE INDEX wallet_cards_active_token ON wallet_cards (user_id, card_token) WHERE status = 'active';
CREATE INDEX wallet_cards_user ON wallet_cards (user_id, created_at);

-- Card bindings in progress: ties the bank's verification id to the user who started it.
CREATE TABLE wallet_card_verifications (
  id text PRIMARY KEY,
  user_id uuid NOT NULL,
  created_at timestamptz NOT NULL
);

-- Top-ups, withdrawals and card-funded payments: one row per bank movement. `id` is the
-- pending ledger transfer; `request_id` is what the bank knows it by.
CREATE TABLE wallet_bank_operations (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('top_up', 'withdrawal', 'card_payment')),
  card_id uuid NOT NULL REFERENCES wallet_cards (id),
  request_id text NOT NULL UNIQUE,
  amount bigint NOT NULL CHECK (amount > 0),
  fee bigint NOT NULL DEFAULT 0 CHECK (fee >= 0),
  -- For card payments: the account credited (e.g. an envelope escrow) and who to notify.
  target_account_id uuid,
  notify_kind text,
  state text NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
  failure_reason text,
  bank_status text,
  bank_sequence integer NOT NULL DEFAULT 0,
  bank_reference text,
  bank_completed_at timestamptz,
  -- Set once our movement call returned (or timed out): only then does "not found" mean "never happened".
  bank_call_finished_at timestamptz,
  polls integer NOT NULL DEFAULT 0,
  next_poll_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  resolved_at timestamptz
);
CREATE INDEX wallet_bank_operations_poll ON wallet_bank_operations (next_poll_at) WHERE state = 'pending';
CREATE INDEX wallet_bank_operations_user ON wallet_bank_operations (user_id, created_at);
CREATE INDEX wallet_bank_operations_completed ON wallet_bank_operations (bank_completed_at);
CREATE INDEX wallet_bank_operations_resolved ON wallet_bank_operations (resolved_at);

-- Transfers between friends. `id` is the ledger transfer that took the sender's money
-- (straight to the recipient, or into this transfer's own in-transit account).
CREATE TABLE wallet_transfers (
  id uuid PRIMARY KEY,
  sender_id uuid NOT NULL,
  recipient_id uuid NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  memo text NOT NULL DEFAULT '' CHECK (length(memo) <= 100),
  via_transit boolean NOT NULL,
  require_acceptance boolean NOT NULL,
  state text NOT NULL CHECK (state IN ('scheduled', 'awaiting_acceptance', 'completed', 'returned', 'cancelled')),
  arrive_at timestamptz,
  accept_by timestamptz,
  -- When the job should next look at this transfer (arrival or acceptance expiry).
  due_at timestamptz,
  -- The ledger transfer that moved the money out of transit (to the recipient or back).
  settle_transfer_id uuid UNIQUE,
  created_at timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX wallet_transfers_due ON wallet_transfers (due_at) WHERE state IN ('scheduled', 'awaiting_acceptance');
CREATE INDEX wallet_transfers_sender ON wallet_transfers (sender_id, created_at);
CREATE INDEX wallet_transfers_recipient ON wallet_transfers (recipient_id, created_at);

-- Daily reconciliation runs and the discrepancies they found (each reported once).
CREATE TABLE wallet_reconciliation_runs (
  business_date date PRIMARY KEY,
  statement_lines integer NOT NULL,
  statement_sha256 text NOT NULL,
  discrepancies integer NOT NULL,
  auto_resolved integer NOT NULL,
  runs integer NOT NULL DEFAULT 1,
  first_run_at timestamptz NOT NULL,
  last_run_at timestamptz NOT NULL
);

CREATE TABLE wallet_reconciliation_items (
  id uuid PRIMARY KEY,
  business_date date NOT NULL,
  kind text NOT NULL,
  request_id text NOT NULL,
  operation_id uuid,
  action text NOT NULL CHECK (action IN ('post_pending', 'void_pending', 'review')),
  state text NOT NULL CHECK (state IN ('open', 'auto_resolved', 'resolved')),
  details jsonb NOT NULL,
  resolution text,
  resolved_by text,
  note text,
  created_at timestamptz NOT NULL,
  resolved_at timestamptz
);
CREATE INDEX wallet_reconciliation_items_open ON wallet_reconciliation_items (created_at) WHERE state = 'open';
CREATE INDEX wallet_reconciliation_items_date ON wallet_reconciliation_items (business_date);
