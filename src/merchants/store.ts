import type { Queryable } from '../platform/db/database.ts';
import type { MerchantScenario } from './onboarding/profile.ts';
import type { ReviewState } from './onboarding/review.ts';

/**
 * The merchants module's tables, and the only place with their SQL: merchants_merchants (the
 * account) and merchants_api_keys (keys by public prefix, secrets only as SHA-256 digests).
 */
export type MerchantRecord = {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  /** Onboarding review state; null for a merchant created without onboarding. */
  review_state: ReviewState | null;
  created_at: Date;
};

export type ApiKeyRecord = {
  id: string;
  merchant_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
};

const API_KEY_COLUMNS = 'id, merchant_id, name, prefix, scopes, created_at, last_used_at, revoked_at';

/** Inserts a merchant; nothing when the id exists already. */
export async function insertMerchant(
  q: Queryable,
  merchant: { id: string; name: string; createdAt: Date },
): Promise<void> {
  await q.query(
    'INSERT INTO merchants_merchants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
    [merchant.id, merchant.name, merchant.createdAt],
  );
}

export async function getMerchant(q: Queryable, merchantId: string): Promise<MerchantRecord | undefined> {
  const { rows } = await q.query<MerchantRecord>(
    `SELECT m.id, m.name, m.status, p.review_state, m.created_at
     FROM merchants_merchants m LEFT JOIN merchants_profiles p ON p.merchant_id = m.id WHERE m.id = $1`,
    [merchantId],
  );
  return rows[0];
}

export async function insertApiKey(
  q: Queryable,
  key: {
    id: string;
    merchantId: string;
    name: string;
    prefix: string;
    secretDigest: string;
    scopes: readonly string[];
    createdAt: Date;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO merchants_api_keys (id, merchant_id, name, prefix, secret_digest, scopes, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [key.id, key.merchantId, key.name, key.prefix, key.secretDigest, key.scopes, key.createdAt],
  );
}

export async function getApiKey(q: Queryable, keyId: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await q.query<ApiKeyRecord>(
    `SELECT ${API_KEY_COLUMNS} FROM merchants_api_keys WHERE id = $1`,
    [keyId],
  );
  return rows[0];
}

export async function listApiKeys(q: Queryable, merchantId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await q.query<ApiKeyRecord>(
    `SELECT ${API_KEY_COLUMNS} FROM merchants_api_keys WHERE merchant_id = $1 ORDER BY created_at, id`,
    [merchantId],
  );
  return rows;
}

/** An unrevoked key, locked (rotation). */
export async function lockActiveApiKey(
  tx: Queryable,
  keyId: string,
): Promise<{ merchant_id: string; name: string; scopes: string[] } | undefined> {
  const { rows } = await tx.query<{ merchant_id: string; name: string; scopes: string[] }>(
    'SELECT merchant_id, name, scopes FROM merchants_api_keys WHERE id = $1 AND revoked_at IS NULL FOR UPDATE',
    [keyId],
  );
  return rows[0];
}

/** Revokes a key rotated away, pointing at its replacement. */
export async function markApiKeyReplaced(
  tx: Queryable,
  keyId: string,
  at: Date,
  newKeyId: string,
): Promise<void> {
  await tx.query('UPDATE merchants_api_keys SET revoked_at = $2, replaced_by = $3 WHERE id = $1', [
    keyId,
    at,
    newKeyId,
  ]);
}

/** Revokes an unrevoked key; returns its merchant, or undefined when it was revoked already or unknown. */
export async function revokeApiKeyRow(
  tx: Queryable,
  keyId: string,
  at: Date,
): Promise<{ merchant_id: string } | undefined> {
  const { rows } = await tx.query<{ merchant_id: string }>(
    'UPDATE merchants_api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING merchant_id',
    [keyId, at],
  );
  return rows[0];
}

export type KeyForAuthentication = {
  id: string;
  merchant_id: string;
  secret_digest: string;
  scopes: string[];
  revoked_at: Date | null;
  /** The merchant's status. */
  status: string;
};

/** The key with this public prefix and its merchant's status: authentication's one read. */
export async function keyForAuthentication(
  q: Queryable,
  prefix: string,
): Promise<KeyForAuthentication | undefined> {
  const { rows } = await q.query<KeyForAuthentication>(
    `SELECT k.id, k.merchant_id, k.secret_digest, k.scopes, k.revoked_at, m.status
     FROM merchants_api_keys k JOIN merchants_merchants m ON m.id = k.merchant_id WHERE k.prefix = $1`,
    [prefix],
  );
  return rows[0];
}

/** Sets last_used_at to `at` unless it was set less than a minute before. */
export async function touchApiKey(q: Queryable, keyId: string, at: Date): Promise<void> {
  await q.query(
    "UPDATE merchants_api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2 - interval '1 minute')",
    [keyId, at],
  );
}

/** Route policies' owner resolvers: the owning merchant's id, or undefined. */
export async function merchantOwner(q: Queryable, merchantId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ owner: string }>(
    'SELECT id AS owner FROM merchants_merchants WHERE id = $1',
    [merchantId],
  );
  return rows[0]?.owner;
}

export async function apiKeyOwner(q: Queryable, keyId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ owner: string }>(
    'SELECT merchant_id AS owner FROM merchants_api_keys WHERE id = $1',
    [keyId],
  );
  return rows[0]?.owner;
}

// ---- Webhooks: merchants_webhook_endpoints, _events, _deliveries, _attempts ----

export type WebhookEndpointRecord = {
  id: string;
  merchant_id: string;
  url: string;
  description: string;
  event_types: string[];
  status: 'enabled' | 'disabled';
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

const ENDPOINT_COLUMNS =
  'id, merchant_id, url, description, event_types, status, secret, previous_secret, previous_secret_expires_at, created_at, updated_at';

export async function insertWebhookEndpoint(
  q: Queryable,
  endpoint: {
    id: string;
    merchantId: string;
    url: string;
    description: string;
    eventTypes: readonly string[];
    secret: string;
    createdAt: Date;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO merchants_webhook_endpoints (id, merchant_id, url, description, event_types, status, secret, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'enabled', $6, $7, $7)`,
    [
      endpoint.id,
      endpoint.merchantId,
      endpoint.url,
      endpoint.description,
      endpoint.eventTypes,
      endpoint.secret,
      endpoint.createdAt,
    ],
  );
}

/** Locks the merchant's row so concurrent endpoint creations count one after another. */
export async function countWebhookEndpointsLocked(tx: Queryable, merchantId: string): Promise<number> {
  await tx.query('SELECT 1 FROM merchants_merchants WHERE id = $1 FOR UPDATE', [merchantId]);
  const { rows } = await tx.query<{ count: string }>(
    'SELECT count(*)::text AS count FROM merchants_webhook_endpoints WHERE merchant_id = $1',
    [merchantId],
  );
  return Number(rows[0]!.count);
}

export async function getWebhookEndpoint(
  q: Queryable,
  endpointId: string,
  options: { lock?: boolean } = {},
): Promise<WebhookEndpointRecord | undefined> {
  const { rows } = await q.query<WebhookEndpointRecord>(
    `SELECT ${ENDPOINT_COLUMNS} FROM merchants_webhook_endpoints WHERE id = $1${options.lock ? ' FOR UPDATE' : ''}`,
    [endpointId],
  );
  return rows[0];
}

export async function listWebhookEndpoints(
  q: Queryable,
  merchantId: string,
): Promise<WebhookEndpointRecord[]> {
  const { rows } = await q.query<WebhookEndpointRecord>(
    `SELECT ${ENDPOINT_COLUMNS} FROM merchants_webhook_endpoints WHERE merchant_id = $1 ORDER BY created_at, id`,
    [merchantId],
  );
  return rows;
}

/** Writes an endpoint's editable fields (the caller has merged the change into the row). */
export async function updateWebhookEndpointRow(
  tx: Queryable,
  endpoint: {
    id: string;
    url: string;
    description: string;
    eventTypes: readonly string[];
    status: 'enabled' | 'disabled';
    updatedAt: Date;
  },
): Promise<void> {
  await tx.query(
    `UPDATE merchants_webhook_endpoints SET url = $2, description = $3, event_types = $4, status = $5, updated_at = $6
     WHERE id = $1`,
    [
      endpoint.id,
      endpoint.url,
      endpoint.description,
      endpoint.eventTypes,
      endpoint.status,
      endpoint.updatedAt,
    ],
  );
}

/** Installs a new secret; the current one becomes the previous one until `previousExpiresAt`. */
export async function rotateWebhookSecretRow(
  tx: Queryable,
  endpointId: string,
  secret: string,
  previousExpiresAt: Date,
  at: Date,
): Promise<void> {
  await tx.query(
    `UPDATE merchants_webhook_endpoints
     SET previous_secret = secret, previous_secret_expires_at = $3, secret = $2, updated_at = $4 WHERE id = $1`,
    [endpointId, secret, previousExpiresAt, at],
  );
}

/** Deletes an endpoint with its deliveries and their attempt log (events stay). */
export async function deleteWebhookEndpointRow(tx: Queryable, endpointId: string): Promise<boolean> {
  const result = await tx.query('DELETE FROM merchants_webhook_endpoints WHERE id = $1', [endpointId]);
  return result.rowCount === 1;
}

export async function webhookEndpointOwner(q: Queryable, endpointId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ owner: string }>(
    'SELECT merchant_id AS owner FROM merchants_webhook_endpoints WHERE id = $1',
    [endpointId],
  );
  return rows[0]?.owner;
}

/**
 * Records an event (nothing when its id exists already) and, when new, one pending delivery
 * per enabled endpoint of the merchant subscribed to its type, due at once. One statement,
 * run in the caller's transaction: the event exists exactly when the business change commits.
 */
export async function insertWebhookEvent(
  q: Queryable,
  event: { id: string; merchantId: string; type: string; payloadJson: string; createdAt: Date },
): Promise<{ created: boolean; deliveries: number }> {
  const { rows } = await q.query<{ created: boolean; deliveries: number }>(
    `WITH event AS (
       INSERT INTO merchants_webhook_events (id, merchant_id, type, payload, created_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING id, merchant_id, type
     ), fanned AS (
       INSERT INTO merchants_webhook_deliveries (event_id, endpoint_id, merchant_id, state, next_attempt_at, created_at, updated_at)
       SELECT event.id, e.id, event.merchant_id, 'pending', $5, $5, $5
       FROM event JOIN merchants_webhook_endpoints e
         ON e.merchant_id = event.merchant_id AND e.status = 'enabled' AND event.type = ANY (e.event_types)
       RETURNING 1
     )
     SELECT EXISTS (SELECT 1 FROM event) AS created, (SELECT count(*)::int FROM fanned) AS deliveries`,
    [event.id, event.merchantId, event.type, event.payloadJson, event.createdAt],
  );
  return rows[0]!;
}

/** What one delivery attempt needs, as claimed. */
export type ClaimedDelivery = {
  id: string;
  attempts: number;
  event_id: string;
  event_type: string;
  payload: unknown;
  event_created_at: Date;
  endpoint_id: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
};

/**
 * Claims up to `limit` due deliveries of enabled endpoints (SKIP LOCKED: workers never wait on
 * each other) with a lease until `leaseUntil`, counting the attempt. A worker that dies
 * mid-attempt leaves the lease to expire and the delivery is attempted again (at least once).
 */
export async function claimDueDeliveries(
  q: Queryable,
  now: Date,
  leaseUntil: Date,
  limit: number,
): Promise<ClaimedDelivery[]> {
  const { rows } = await q.query<ClaimedDelivery>(
    `WITH due AS (
       SELECT d.id FROM merchants_webhook_deliveries d
       JOIN merchants_webhook_endpoints e ON e.id = d.endpoint_id AND e.status = 'enabled'
       WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until < $1)
       ORDER BY d.next_attempt_at LIMIT $3
       FOR UPDATE OF d SKIP LOCKED
     ), claimed AS (
       UPDATE merchants_webhook_deliveries d SET attempts = d.attempts + 1, lease_until = $2, updated_at = $1
       FROM due WHERE d.id = due.id
       RETURNING d.id, d.attempts, d.event_id, d.endpoint_id
     )
     SELECT c.id, c.attempts, c.event_id, ev.type AS event_type, ev.payload, ev.created_at AS event_created_at,
            c.endpoint_id, e.url, e.secret, e.previous_secret, e.previous_secret_expires_at
     FROM claimed c
     JOIN merchants_webhook_events ev ON ev.id = c.event_id
     JOIN merchants_webhook_endpoints e ON e.id = c.endpoint_id`,
    [now, leaseUntil, limit],
  );
  return rows;
}

/** Appends one attempt to the delivery log. */
export async function insertWebhookAttempt(
  q: Queryable,
  attempt: {
    id: string;
    deliveryId: string;
    attemptedAt: Date;
    succeeded: boolean;
    statusCode: number | null;
    latencyMs: number;
    error: string | null;
    responseBody: string | null;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO merchants_webhook_attempts (id, delivery_id, attempted_at, succeeded, status_code, latency_ms, error, response_body)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      attempt.id,
      attempt.deliveryId,
      attempt.attemptedAt,
      attempt.succeeded,
      attempt.statusCode,
      attempt.latencyMs,
      attempt.error,
      attempt.responseBody,
    ],
  );
}

/**
 * Settles the attempt numbered `attempt`: delivered, pending again at `nextAttemptAt`, or
 * dead. Nothing when a replay or another worker has moved the delivery on meanwhile.
 */
export async function settleDeliveryAttempt(
  q: Queryable,
  delivery: {
    id: string;
    attempt: number;
    state: 'pending' | 'delivered' | 'dead';
    nextAttemptAt: Date | null;
    statusCode: number | null;
    error: string | null;
    at: Date;
  },
): Promise<void> {
  await q.query(
    `UPDATE merchants_webhook_deliveries
     SET state = $3, next_attempt_at = $4, lease_until = NULL, last_status_code = $5, last_error = $6,
         delivered_at = CASE WHEN $3 = 'delivered' THEN $7 ELSE delivered_at END, updated_at = $7
     WHERE id = $1 AND attempts = $2 AND state = 'pending'`,
    [
      delivery.id,
      delivery.attempt,
      delivery.state,
      delivery.nextAttemptAt,
      delivery.statusCode,
      delivery.error,
      delivery.at,
    ],
  );
}

export type WebhookDeliveryRecord = {
  id: string;
  event_id: string;
  event_type: string;
  endpoint_id: string;
  merchant_id: string;
  state: 'pending' | 'delivered' | 'dead';
  attempts: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

const DELIVERY_COLUMNS = `d.id, d.event_id, ev.type AS event_type, d.endpoint_id, d.merchant_id, d.state, d.attempts,
  d.next_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.created_at, d.updated_at`;

export async function getWebhookDelivery(
  q: Queryable,
  deliveryId: string,
): Promise<WebhookDeliveryRecord | undefined> {
  const { rows } = await q.query<WebhookDeliveryRecord>(
    `SELECT ${DELIVERY_COLUMNS} FROM merchants_webhook_deliveries d
     JOIN merchants_webhook_events ev ON ev.id = d.event_id WHERE d.id = $1`,
    [deliveryId],
  );
  return rows[0];
}

/** An endpoint's deliveries, newest first, optionally of one state, before a delivery id (paging). */
export async function listWebhookDeliveries(
  q: Queryable,
  endpointId: string,
  filter: { state?: string; limit: number },
): Promise<WebhookDeliveryRecord[]> {
  const { rows } = await q.query<WebhookDeliveryRecord>(
    `SELECT ${DELIVERY_COLUMNS} FROM merchants_webhook_deliveries d
     JOIN merchants_webhook_events ev ON ev.id = d.event_id
     WHERE d.endpoint_id = $1 AND ($2::text IS NULL OR d.state = $2)
     ORDER BY d.created_at DESC, d.id DESC LIMIT $3`,
    [endpointId, filter.state ?? null, filter.limit],
  );
  return rows;
}

export type WebhookAttemptRecord = {
  id: string;
  attempted_at: Date;
  succeeded: boolean;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response_body: string | null;
};

export async function listWebhookAttempts(q: Queryable, deliveryId: string): Promise<WebhookAttemptRecord[]> {
  const { rows } = await q.query<WebhookAttemptRecord>(
    `SELECT id, attempted_at, succeeded, status_code, latency_ms, error, response_body
     FROM merchants_webhook_attempts WHERE delivery_id = $1 ORDER BY attempted_at, id`,
    [deliveryId],
  );
  return rows;
}

export async function webhookDeliveryOwner(q: Queryable, deliveryId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ owner: string }>(
    'SELECT merchant_id AS owner FROM merchants_webhook_deliveries WHERE id = $1',
    [deliveryId],
  );
  return rows[0]?.owner;
}

/**
 * Starts a new delivery cycle now (replay): pending, attempts counted from zero, no lease.
 * Returns the state it had and its endpoint's status, or undefined for an unknown delivery.
 */
export async function replayWebhookDeliveryRow(
  tx: Queryable,
  deliveryId: string,
  at: Date,
): Promise<{ previous_state: string; endpoint_status: string; merchant_id: string } | undefined> {
  const { rows } = await tx.query<{ previous_state: string; endpoint_status: string; merchant_id: string }>(
    `SELECT d.state AS previous_state, e.status AS endpoint_status, d.merchant_id
     FROM merchants_webhook_deliveries d JOIN merchants_webhook_endpoints e ON e.id = d.endpoint_id
     WHERE d.id = $1 FOR UPDATE OF d`,
    [deliveryId],
  );
  const row = rows[0];
  if (row?.endpoint_status !== 'enabled') return row;
  await tx.query(
    `UPDATE merchants_webhook_deliveries
     SET state = 'pending', attempts = 0, next_attempt_at = $2, lease_until = NULL, updated_at = $2 WHERE id = $1`,
    [deliveryId, at],
  );
  return row;
}

/** Starts a new cycle now for every dead delivery of an endpoint created at or after `since`. */
export async function replayDeadWebhookDeliveries(
  tx: Queryable,
  endpointId: string,
  since: Date | null,
  at: Date,
): Promise<number> {
  const result = await tx.query(
    `UPDATE merchants_webhook_deliveries
     SET state = 'pending', attempts = 0, next_attempt_at = $3, lease_until = NULL, updated_at = $3
     WHERE endpoint_id = $1 AND state = 'dead' AND ($2::timestamptz IS NULL OR created_at >= $2)`,
    [endpointId, since, at],
  );
  return result.rowCount ?? 0;
}

/**
 * Deletes up to `limit` settled (delivered or dead) deliveries last changed before `before`,
 * with their attempt log (cascade). Returns how many.
 */
export async function purgeSettledWebhookDeliveries(
  q: Queryable,
  before: Date,
  limit: number,
): Promise<number> {
  const result = await q.query(
    `DELETE FROM merchants_webhook_deliveries WHERE id IN (
       SELECT id FROM merchants_webhook_deliveries WHERE state <> 'pending' AND updated_at < $1 LIMIT $2)`,
    [before, limit],
  );
  return result.rowCount ?? 0;
}

/** Deletes up to `limit` events created before `before` that have no delivery left. Returns how many. */
export async function purgeUndeliveredWebhookEvents(
  q: Queryable,
  before: Date,
  limit: number,
): Promise<number> {
  const result = await q.query(
    `DELETE FROM merchants_webhook_events WHERE id IN (
       SELECT ev.id FROM merchants_webhook_events ev
       WHERE ev.created_at < $1
         AND NOT EXISTS (SELECT 1 FROM merchants_webhook_deliveries d WHERE d.event_id = ev.id)
       LIMIT $2)`,
    [before, limit],
  );
  return result.rowCount ?? 0;
}

/** Deliveries due now (the backlog) and dead ones, for /metrics. */
export async function webhookDeliveryCounts(q: Queryable, now: Date): Promise<{ due: number; dead: number }> {
  const { rows } = await q.query<{ due: number; dead: number }>(
    `SELECT (SELECT count(*)::int FROM merchants_webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1) AS due,
            (SELECT count(*)::int FROM merchants_webhook_deliveries WHERE state = 'dead') AS dead`,
    [now],
  );
  return rows[0]!;
}

/**
 * Invariant breaches, as messages: a delivery whose merchant differs from its event's or its
 * endpoint's, a pending delivery without a due time, a dead one that did not use up its
 * attempts, a delivered one without a successful attempt in its log.
 */
export async function webhookViolations(q: Queryable, maxAttempts: number): Promise<string[]> {
  const { rows } = await q.query<{ message: string }>(
    `SELECT 'delivery ' || d.id || ' belongs to another merchant than its event or endpoint' AS message
     FROM merchants_webhook_deliveries d
     JOIN merchants_webhook_events ev ON ev.id = d.event_id
     JOIN merchants_webhook_endpoints e ON e.id = d.endpoint_id
     WHERE d.merchant_id <> ev.merchant_id OR d.merchant_id <> e.merchant_id
     UNION ALL
     SELECT 'pending delivery ' || id || ' has no next attempt time' FROM merchants_webhook_deliveries
     WHERE state = 'pending' AND next_attempt_at IS NULL
     UNION ALL
     SELECT 'dead delivery ' || id || ' has only ' || attempts || ' attempts' FROM merchants_webhook_deliveries
     WHERE state = 'dead' AND attempts < $1
     UNION ALL
     SELECT 'delivered delivery ' || d.id || ' has no successful attempt' FROM merchants_webhook_deliveries d
     WHERE d.state = 'delivered'
       AND NOT EXISTS (SELECT 1 FROM merchants_webhook_attempts a WHERE a.delivery_id = d.id AND a.succeeded)
     LIMIT 100`,
    [maxAttempts],
  );
  return rows.map((row) => row.message);
}

// ---- Onboarding: merchants_profiles ----

export type ProfileRecord = {
  merchant_id: string;
  applicant_user_id: string | null;
  review_state: ReviewState;
  review_reason: string | null;
  business_name: string;
  uscc: string;
  legal_representative: string;
  mcc: string;
  scenario: MerchantScenario;
  contact_phone: string;
  bank_account_holder: string;
  bank_name: string;
  bank_account_last4: string;
  mdr_bps: number;
  settlement_days: number;
  created_at: Date;
  updated_at: Date;
  submitted_at: Date | null;
  reviewed_at: Date | null;
};

/** Never the sealed account number: it is read only where it is used (settlement, to come). */
const PROFILE_COLUMNS = `merchant_id, applicant_user_id, review_state, review_reason, business_name, uscc,
  legal_representative, mcc, scenario, contact_phone, bank_account_holder, bank_name, bank_account_last4,
  mdr_bps, settlement_days, created_at, updated_at, submitted_at, reviewed_at`;

export type ProfileFields = {
  business_name: string;
  uscc: string;
  legal_representative: string;
  mcc: string;
  scenario: MerchantScenario;
  contact_phone: string;
  bank_account_holder: string;
  bank_name: string;
  bank_account_sealed: string;
  bank_account_last4: string;
};

export async function insertProfile(
  tx: Queryable,
  row: ProfileFields & {
    merchant_id: string;
    applicant_user_id: string | null;
    review_state: ReviewState;
    mdr_bps: number;
    settlement_days: number;
    at: Date;
  },
): Promise<void> {
  await tx.query(
    `INSERT INTO merchants_profiles (merchant_id, applicant_user_id, review_state, business_name, uscc,
       legal_representative, mcc, scenario, contact_phone, bank_account_holder, bank_name, bank_account_sealed,
       bank_account_last4, mdr_bps, settlement_days, created_at, updated_at, submitted_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16,
       CASE WHEN $3 = 'draft' THEN NULL ELSE $16::timestamptz END)`,
    [
      row.merchant_id,
      row.applicant_user_id,
      row.review_state,
      row.business_name,
      row.uscc,
      row.legal_representative,
      row.mcc,
      row.scenario,
      row.contact_phone,
      row.bank_account_holder,
      row.bank_name,
      row.bank_account_sealed,
      row.bank_account_last4,
      row.mdr_bps,
      row.settlement_days,
      row.at,
    ],
  );
}

export async function getProfile(q: Queryable, merchantId: string): Promise<ProfileRecord | undefined> {
  const { rows } = await q.query<ProfileRecord>(
    `SELECT ${PROFILE_COLUMNS} FROM merchants_profiles WHERE merchant_id = $1`,
    [merchantId],
  );
  return rows[0];
}

/** The profile locked for a change (review, edit, terms). */
export async function lockProfile(tx: Queryable, merchantId: string): Promise<ProfileRecord | undefined> {
  const { rows } = await tx.query<ProfileRecord>(
    `SELECT ${PROFILE_COLUMNS} FROM merchants_profiles WHERE merchant_id = $1 FOR UPDATE`,
    [merchantId],
  );
  return rows[0];
}

/** Replaces the applicant-editable fields, and the merchant's display name with the business name. */
export async function updateProfileFields(
  tx: Queryable,
  merchantId: string,
  fields: ProfileFields,
  at: Date,
): Promise<void> {
  await tx.query(
    `UPDATE merchants_profiles SET business_name = $2, uscc = $3, legal_representative = $4, mcc = $5,
       scenario = $6, contact_phone = $7, bank_account_holder = $8, bank_name = $9, bank_account_sealed = $10,
       bank_account_last4 = $11, updated_at = $12
     WHERE merchant_id = $1`,
    [
      merchantId,
      fields.business_name,
      fields.uscc,
      fields.legal_representative,
      fields.mcc,
      fields.scenario,
      fields.contact_phone,
      fields.bank_account_holder,
      fields.bank_name,
      fields.bank_account_sealed,
      fields.bank_account_last4,
      at,
    ],
  );
  await tx.query('UPDATE merchants_merchants SET name = $2 WHERE id = $1', [
    merchantId,
    fields.business_name,
  ]);
}

/**
 * Moves the review state; the merchant's key status follows: suspended and closed merchants'
 * API keys stop authenticating (merchant_suspended), every other state leaves them as they are.
 */
export async function setReviewState(
  tx: Queryable,
  merchantId: string,
  change: { state: ReviewState; reason: string | null; at: Date; submitted: boolean },
): Promise<void> {
  await tx.query(
    `UPDATE merchants_profiles SET review_state = $2, review_reason = $3, updated_at = $4,
       submitted_at = CASE WHEN $5 THEN $4 ELSE submitted_at END,
       reviewed_at = CASE WHEN $5 THEN reviewed_at ELSE $4 END
     WHERE merchant_id = $1`,
    [merchantId, change.state, change.reason, change.at, change.submitted],
  );
  await tx.query('UPDATE merchants_merchants SET status = $2 WHERE id = $1', [
    merchantId,
    change.state === 'suspended' || change.state === 'closed' ? 'suspended' : 'active',
  ]);
}

export async function setProfileTerms(
  tx: Queryable,
  merchantId: string,
  terms: { mdrBps: number; settlementDays: number; at: Date },
): Promise<void> {
  await tx.query(
    'UPDATE merchants_profiles SET mdr_bps = $2, settlement_days = $3, updated_at = $4 WHERE merchant_id = $1',
    [merchantId, terms.mdrBps, terms.settlementDays, terms.at],
  );
}

/** Profiles by state and/or applicant, most recently changed first, at most `limit`. */
export async function listProfiles(
  q: Queryable,
  filter: { state?: ReviewState; applicantUserId?: string; limit: number },
): Promise<ProfileRecord[]> {
  const { rows } = await q.query<ProfileRecord>(
    `SELECT ${PROFILE_COLUMNS} FROM merchants_profiles
     WHERE ($1::text IS NULL OR review_state = $1) AND ($2::uuid IS NULL OR applicant_user_id = $2)
     ORDER BY updated_at DESC, merchant_id DESC LIMIT $3`,
    [filter.state ?? null, filter.applicantUserId ?? null, filter.limit],
  );
  return rows;
}

/** Owner resolver of application routes: the applying user, or undefined (404). */
export async function applicationOwner(q: Queryable, merchantId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ owner: string }>(
    'SELECT applicant_user_id AS owner FROM merchants_profiles WHERE merchant_id = $1 AND applicant_user_id IS NOT NULL',
    [merchantId],
  );
  return rows[0]?.owner;
}

/** The sealed settlement account number and its last four digits (kept on an edit without a new account). */
export async function sealedBankAccount(
  tx: Queryable,
  merchantId: string,
): Promise<{ sealed: string; last4: string }> {
  const { rows } = await tx.query<{ sealed: string; last4: string }>(
    'SELECT bank_account_sealed AS sealed, bank_account_last4 AS last4 FROM merchants_profiles WHERE merchant_id = $1',
    [merchantId],
  );
  return rows[0]!;
}
