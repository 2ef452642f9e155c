-- Idempotency keys: one stored response per (principal, key); see platform/http/idempotency.ts.
CREATE TABLE platform_idempotency_keys (
  principal text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  state text NOT NULL CHECK (state IN ('in_flight', 'completed')),
  locked_until timestamptz NOT NULL,
  response_status integer,
  response_body text,
  response_content_type text,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (principal, key)
);
CREATE INDEX platform_idempotency_keys_created_at ON platform_idempotency_keys (created_at);

-- Background jobs and the outbox: claimed with FOR UPDATE SKIP LOCKED, leased, retried.
CREATE TABLE platform_jobs (
  id uuid PRIMARY KEY,
  kind text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}',
  state text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
  run_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  lease_until timestamptz,
  locked_by text,
  last_error text,
  unique_key text,
  created_at timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE UNIQUE INDEX platform_jobs_unique_key ON platform_jobs (unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX platform_jobs_ready ON platform_jobs (run_at) WHERE state = 'queued';
CREATE INDEX platform_jobs_running ON platform_jobs (lease_until) WHERE state = 'running';

-- Small facts about this installation (e.g. when the demo world was seeded).
CREATE TABLE platform_state (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL
);
