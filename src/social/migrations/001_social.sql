-- Chat groups, their members, and each group's ordered event stream (messages, envelopes).
CREATE TABLE social_groups (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  owner_id uuid NOT NULL,
  member_count integer NOT NULL CHECK (member_count >= 0),
  -- Sequence of the last event in the stream; readers page by it.
  last_seq bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL
);

CREATE TABLE social_group_members (
  group_id uuid NOT NULL REFERENCES social_groups (id),
  user_id uuid NOT NULL,
  role text NOT NULL CHECK (role IN ('owner', 'member')),
  joined_at timestamptz NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX social_group_members_user ON social_group_members (user_id);

CREATE TABLE social_group_events (
  group_id uuid NOT NULL REFERENCES social_groups (id),
  seq bigint NOT NULL,
  id uuid NOT NULL UNIQUE,
  type text NOT NULL,
  actor_id uuid,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (group_id, seq)
);
