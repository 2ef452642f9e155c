-- Signed webhooks (Standard Webhooks): merchants' endpoints, the event outbox, one delivery per
-- event and subscribed endpoint, and the log of every delivery attempt.

CREATE TABLE merchants_webhook_endpoints (
  id uuid PRIMARY KEY,
  merchant_id uuid NOT NULL REFERENCES merchants_merchants (id),
  url text NOT NULL,
  description text NOT NULL DEFAULT '',
  event_types text[] NOT NULL,
  status text NOT NULL CHECK (status IN ('enabled', 'disabled')),
  -- The signing secret must be usable to sign, so it is kept, sealed with AES-256-GCM under
  -- MERCHANTS_WEBHOOK_SECRET_KEY and bound to the endpoint id (never shown again after creation
  -- or rotation). The previous secret keeps signing until previous_secret_expires_at.
  secret text NOT NULL,
  previous_secret text,
  previous_secret_expires_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX merchants_webhook_endpoints_merchant ON merchants_webhook_endpoints (merchant_id, created_at);

-- The outbox: written in the business change's own transaction, id deterministic per fact.
CREATE TABLE merchants_webhook_events (
  id uuid PRIMARY KEY,
  merchant_id uuid NOT NULL REFERENCES merchants_merchants (id),
  type text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX merchants_webhook_events_merchant ON merchants_webhook_events (merchant_id, created_at);
CREATE INDEX merchants_webhook_events_created ON merchants_webhook_events (created_at);

CREATE TABLE merchants_webhook_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id uuid NOT NULL REFERENCES merchants_webhook_events (id),
  endpoint_id uuid NOT NULL REFERENCES merchants_webhook_endpoints (id) ON DELETE CASCADE,
  merchant_id uuid NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
  -- Attempts in the current cycle (a replay starts a new cycle); the attempt log keeps them all.
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  lease_until timestamptz,
  last_status_code integer,
  last_error text,
  delivered_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (event_id, endpoint_id)
);
CREATE INDEX merchants_webhook_deliveries_due ON merchants_webhook_deliveries (next_attempt_at)
  WHERE state = 'pending';
CREATE INDEX merchants_webhook_deliveries_dead ON merchants_webhook_deliveries (endpoint_id)
  WHERE state = 'dead';
CREATE INDEX merchants_webhook_deliveries_settled ON merchants_webhook_deliveries (updated_at)
  WHERE state <> 'pending';
CREATE INDEX merchants_webhook_deliveries_endpoint ON merchants_webhook_deliveries (endpoint_id, created_at);

CREATE TABLE merchants_webhook_attempts (
  id uuid PRIMARY KEY,
  delivery_id uuid NOT NULL REFERENCES merchants_webhook_deliveries (id) ON DELETE CASCADE,
  attempted_at timestamptz NOT NULL,
  succeeded boolean NOT NULL,
  status_code integer,
  latency_ms integer NOT NULL,
  error text,
  response_body text
);
CREATE INDEX merchants_webhook_attempts_delivery ON merchants_webhook_attempts (delivery_id, attempted_at);
