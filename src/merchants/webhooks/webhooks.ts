import type { Identity } from '../../identity/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database, Queryable } from '../../platform/db/database.ts';
import { conflict, invalid, notFound } from '../../platform/errors.ts';
import { cryptoRandom, isUuid, type RandomSource, uuidv7 } from '../../platform/ids.ts';
import type { Logger } from '../../platform/log.ts';
import { cryptoIntegers, type IntegerSource } from '../../platform/random.ts';
import {
  type ClaimedDelivery,
  claimDueDeliveries,
  countWebhookEndpointsLocked,
  deleteWebhookEndpointRow,
  getWebhookDelivery,
  getWebhookEndpoint,
  insertWebhookAttempt,
  insertWebhookEndpoint,
  insertWebhookEvent,
  listWebhookAttempts,
  listWebhookDeliveries,
  listWebhookEndpoints,
  purgeSettledWebhookDeliveries,
  purgeUndeliveredWebhookEvents,
  replayDeadWebhookDeliveries,
  replayWebhookDeliveryRow,
  rotateWebhookSecretRow,
  settleDeliveryAttempt,
  updateWebhookEndpointRow,
  type WebhookAttemptRecord,
  type WebhookDeliveryRecord,
  type WebhookEndpointRecord,
  webhookDeliveryCounts,
  webhookDeliveryOwner,
  webhookEndpointOwner,
  webhookViolations,
} from '../store.ts';
import { isWebhookEventType, validateEventTypes, type WebhookEventType } from './events.ts';
import { MAX_DELIVERY_ATTEMPTS, retryDelayMs } from './retry.ts';
import { openSecret, sealSecret } from './secret-box.ts';
import { liveSecrets, newWebhookSecret, signedHeaders } from './signing.ts';
import type { WebhookResponse, WebhookTransport } from './transport.ts';
import { validateWebhookUrl } from './urls.ts';

export interface WebhooksDeps {
  db: Database;
  clock: Clock;
  log: Logger;
  identity: Pick<Identity, 'audit'>;
  transport: WebhookTransport;
  allowLocalHttp: boolean;
  timeoutMs: number;
  defaultRotationOverlapSeconds: number;
  /** Settled deliveries (and their log and events) are kept this many days. */
  retentionDays: number;
  /** Seals signing secrets at rest (secret-box.ts). */
  secretKey: Buffer;
  random?: RandomSource;
  /** Jitter of the retry schedule. */
  jitter?: IntegerSource;
}

/** Endpoints a merchant may have. */
export const MAX_ENDPOINTS_PER_MERCHANT = 16;
/** Largest event payload, as JSON. */
export const MAX_EVENT_PAYLOAD_BYTES = 64 * 1024;
const MAX_ROTATION_OVERLAP_SECONDS = 7 * 86_400;

export type EndpointChange = {
  url?: string;
  description?: string;
  event_types?: string[];
  enabled?: boolean;
};

/**
 * Signed webhooks (Standard Webhooks) for merchants: endpoints with their secrets, the event
 * outbox (`emit`, in the caller's transaction), delivery with retries and a dead letter, the
 * delivery log and replay. Every endpoint change and every replay is audited in identity's log
 * within the change's own transaction.
 */
export class Webhooks {
  private readonly random: RandomSource;
  private readonly jitter: IntegerSource;

  constructor(private readonly deps: WebhooksDeps) {
    this.random = deps.random ?? cryptoRandom;
    this.jitter = deps.jitter ?? cryptoIntegers;
  }

  /**
   * Records an event for the merchant's subscribed, enabled endpoints. Pass the business
   * change's transaction as `tx` so the event commits exactly with it, and a deterministic
   * `eventId` (`webhookEventId(type, subjectId)`) so a retried change records it once.
   */
  async emit(
    merchantId: string,
    type: WebhookEventType,
    payload: Record<string, unknown>,
    options: { eventId: string; tx?: Queryable },
  ): Promise<{ eventId: string; created: boolean; deliveries: number }> {
    if (!isWebhookEventType(type)) validateEventTypes([type]);
    if (!isUuid(options.eventId)) throw invalid('webhook_event_id_invalid', 'An event id is a UUID.');
    // Money is bigint in Tuyere; on the wire it is a decimal string of minor units.
    const json = JSON.stringify(payload, (_key, value) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
    if (Buffer.byteLength(json) > MAX_EVENT_PAYLOAD_BYTES)
      throw invalid(
        'webhook_payload_too_large',
        `An event payload is at most ${MAX_EVENT_PAYLOAD_BYTES} bytes.`,
      );
    const result = await insertWebhookEvent(options.tx ?? this.deps.db, {
      id: options.eventId,
      merchantId,
      type,
      payloadJson: json,
      createdAt: this.deps.clock.now(),
    });
    return { eventId: options.eventId, ...result };
  }

  /** Creates an endpoint; the secret is returned now only. */
  async createEndpoint(
    merchantId: string,
    input: { url: string; description?: string; event_types: string[] },
    actor: string,
  ): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
    const url = validateWebhookUrl(input.url, { allowLocalHttp: this.deps.allowLocalHttp });
    validateEventTypes(input.event_types);
    const eventTypes = [...new Set(input.event_types)];
    const now = this.deps.clock.now();
    const id = uuidv7(now.getTime());
    const secret = newWebhookSecret(this.random);
    await this.deps.db.transaction(async (tx) => {
      if ((await countWebhookEndpointsLocked(tx, merchantId)) >= MAX_ENDPOINTS_PER_MERCHANT)
        throw conflict(
          'webhook_endpoint_limit',
          `A merchant may have at most ${MAX_ENDPOINTS_PER_MERCHANT} webhook endpoints; delete one first.`,
        );
      await insertWebhookEndpoint(tx, {
        id,
        merchantId,
        url,
        description: input.description ?? '',
        eventTypes,
        secret: sealSecret(this.deps.secretKey, secret, id, this.random),
        createdAt: now,
      });
      await this.deps.identity.audit(
        {
          actor,
          action: 'webhook_endpoint.created',
          subject: `merchant:${merchantId}`,
          details: { endpoint_id: id, url, event_types: eventTypes },
        },
        tx,
      );
    });
    return { endpoint: (await getWebhookEndpoint(this.deps.db, id))!, secret };
  }

  listEndpoints(merchantId: string): Promise<WebhookEndpointRecord[]> {
    return listWebhookEndpoints(this.deps.db, merchantId);
  }

  async getEndpoint(endpointId: string): Promise<WebhookEndpointRecord> {
    const endpoint = await getWebhookEndpoint(this.deps.db, endpointId);
    if (!endpoint) throw notFound('webhook_endpoint_not_found', 'No such webhook endpoint.');
    return endpoint;
  }

  /** Changes an endpoint's URL, description, event types, or enables/disables it. */
  async updateEndpoint(
    endpointId: string,
    change: EndpointChange,
    actor: string,
  ): Promise<WebhookEndpointRecord> {
    const url =
      change.url === undefined
        ? undefined
        : validateWebhookUrl(change.url, { allowLocalHttp: this.deps.allowLocalHttp });
    if (change.event_types !== undefined) validateEventTypes(change.event_types);
    await this.deps.db.transaction(async (tx) => {
      const current = await getWebhookEndpoint(tx, endpointId, { lock: true });
      if (!current) throw notFound('webhook_endpoint_not_found', 'No such webhook endpoint.');
      const next = {
        id: endpointId,
        url: url ?? current.url,
        description: change.description ?? current.description,
        eventTypes: change.event_types ? [...new Set(change.event_types)] : current.event_types,
        status:
          change.enabled === undefined
            ? current.status
            : change.enabled
              ? ('enabled' as const)
              : ('disabled' as const),
        updatedAt: this.deps.clock.now(),
      };
      await updateWebhookEndpointRow(tx, next);
      await this.deps.identity.audit(
        {
          actor,
          action: 'webhook_endpoint.updated',
          subject: `merchant:${current.merchant_id}`,
          details: { endpoint_id: endpointId, ...change },
        },
        tx,
      );
    });
    return this.getEndpoint(endpointId);
  }

  /** Deletes an endpoint with its deliveries and their log. */
  async deleteEndpoint(endpointId: string, actor: string): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      const current = await getWebhookEndpoint(tx, endpointId, { lock: true });
      if (!current) throw notFound('webhook_endpoint_not_found', 'No such webhook endpoint.');
      await deleteWebhookEndpointRow(tx, endpointId);
      await this.deps.identity.audit(
        {
          actor,
          action: 'webhook_endpoint.deleted',
          subject: `merchant:${current.merchant_id}`,
          details: { endpoint_id: endpointId, url: current.url },
        },
        tx,
      );
    });
  }

  /**
   * Replaces the signing secret (returned now only). For `overlapSeconds` the old secret keeps
   * signing too, so receivers can switch without losing a message.
   */
  async rotateSecret(
    endpointId: string,
    overlapSeconds: number | undefined,
    actor: string,
  ): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
    const overlap = overlapSeconds ?? this.deps.defaultRotationOverlapSeconds;
    if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_ROTATION_OVERLAP_SECONDS)
      throw invalid(
        'webhook_overlap_invalid',
        `overlap_seconds is a whole number from 0 to ${MAX_ROTATION_OVERLAP_SECONDS} (7 days).`,
      );
    const now = this.deps.clock.now();
    const secret = newWebhookSecret(this.random);
    await this.deps.db.transaction(async (tx) => {
      const current = await getWebhookEndpoint(tx, endpointId, { lock: true });
      if (!current) throw notFound('webhook_endpoint_not_found', 'No such webhook endpoint.');
      const previousExpiresAt = new Date(now.getTime() + overlap * 1000);
      const sealed = sealSecret(this.deps.secretKey, secret, endpointId, this.random);
      await rotateWebhookSecretRow(tx, endpointId, sealed, previousExpiresAt, now);
      await this.deps.identity.audit(
        {
          actor,
          action: 'webhook_endpoint.secret_rotated',
          subject: `merchant:${current.merchant_id}`,
          details: { endpoint_id: endpointId, overlap_seconds: overlap },
        },
        tx,
      );
    });
    return { endpoint: await this.getEndpoint(endpointId), secret };
  }

  /** An endpoint's deliveries, newest first. */
  listDeliveries(
    endpointId: string,
    filter: { state?: string; limit?: number },
  ): Promise<WebhookDeliveryRecord[]> {
    return listWebhookDeliveries(this.deps.db, endpointId, {
      state: filter.state,
      limit: filter.limit ?? 50,
    });
  }

  /** A delivery with its attempt log, oldest attempt first. */
  async getDelivery(
    deliveryId: string,
  ): Promise<{ delivery: WebhookDeliveryRecord; attempts: WebhookAttemptRecord[] }> {
    const delivery = await getWebhookDelivery(this.deps.db, deliveryId);
    if (!delivery) throw notFound('webhook_delivery_not_found', 'No such webhook delivery.');
    return { delivery, attempts: await listWebhookAttempts(this.deps.db, deliveryId) };
  }

  /**
   * Sends a delivery again from the start of the retry schedule, now: a dead one, or a
   * delivered one the merchant wants again. The endpoint must be enabled.
   */
  async replay(deliveryId: string, actor: string): Promise<WebhookDeliveryRecord> {
    await this.deps.db.transaction(async (tx) => {
      const replayed = await replayWebhookDeliveryRow(tx, deliveryId, this.deps.clock.now());
      if (!replayed) throw notFound('webhook_delivery_not_found', 'No such webhook delivery.');
      if (replayed.endpoint_status !== 'enabled')
        throw conflict('webhook_endpoint_disabled', 'The endpoint is disabled; enable it before replaying.');
      await this.deps.identity.audit(
        {
          actor,
          action: 'webhook_delivery.replayed',
          subject: `merchant:${replayed.merchant_id}`,
          details: { delivery_id: deliveryId, previous_state: replayed.previous_state },
        },
        tx,
      );
    });
    return (await getWebhookDelivery(this.deps.db, deliveryId))!;
  }

  /**
   * Replays every dead delivery of an endpoint (created at or after `since`, when given): what
   * a merchant does after an outage of its server. Returns how many were replayed.
   */
  async replayDead(endpointId: string, since: Date | undefined, actor: string): Promise<number> {
    return this.deps.db.transaction(async (tx) => {
      const endpoint = await getWebhookEndpoint(tx, endpointId, { lock: true });
      if (!endpoint) throw notFound('webhook_endpoint_not_found', 'No such webhook endpoint.');
      if (endpoint.status !== 'enabled')
        throw conflict('webhook_endpoint_disabled', 'The endpoint is disabled; enable it before replaying.');
      const replayed = await replayDeadWebhookDeliveries(
        tx,
        endpointId,
        since ?? null,
        this.deps.clock.now(),
      );
      await this.deps.identity.audit(
        {
          actor,
          action: 'webhook_endpoint.dead_replayed',
          subject: `merchant:${endpoint.merchant_id}`,
          details: { endpoint_id: endpointId, since: since?.toISOString() ?? null, replayed },
        },
        tx,
      );
      return replayed;
    });
  }

  /**
   * Attempts every due delivery (in batches of `batch`, at most `limit`); returns how many
   * attempts were made. The delivery job calls this; so can tests, with a manual clock.
   */
  async deliverDue(options: { batch?: number; limit?: number } = {}): Promise<number> {
    const batch = options.batch ?? 16;
    const limit = options.limit ?? 1000;
    let attempted = 0;
    while (attempted < limit) {
      const now = this.deps.clock.now();
      // The lease outlives the attempt's timeout, so only a dead worker's claim expires.
      const leaseUntil = new Date(now.getTime() + this.deps.timeoutMs * 2 + 30_000);
      const claimed = await claimDueDeliveries(
        this.deps.db,
        now,
        leaseUntil,
        Math.min(batch, limit - attempted),
      );
      if (claimed.length === 0) break;
      // One delivery's fault (its endpoint deleted mid-attempt, a lost connection) must not stop
      // the others; its lease expires and it is attempted again.
      await Promise.all(
        claimed.map((delivery) =>
          this.attempt(delivery).catch((error: unknown) =>
            this.deps.log.error({ err: error, delivery_id: delivery.id }, 'webhook attempt not recorded'),
          ),
        ),
      );
      attempted += claimed.length;
    }
    return attempted;
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const attemptedAt = this.deps.clock.now();
    // Standard Webhooks payload: type, timestamp (of the event), data. The same bytes every attempt.
    const body = JSON.stringify({
      type: delivery.event_type,
      timestamp: delivery.event_created_at.toISOString(),
      data: delivery.payload,
    });
    const response = await this.send(delivery, attemptedAt, body);
    const succeeded = response.status !== null && response.status >= 200 && response.status < 300;
    const error =
      response.error ?? (succeeded ? null : `endpoint answered HTTP ${response.status ?? 'nothing'}`);
    const delay = succeeded ? null : retryDelayMs(delivery.attempts, this.jitter);
    const state = succeeded ? 'delivered' : delay === null ? 'dead' : 'pending';
    const settledAt = this.deps.clock.now();
    await this.deps.db.transaction(async (tx) => {
      await insertWebhookAttempt(tx, {
        id: uuidv7(attemptedAt.getTime()),
        deliveryId: delivery.id,
        attemptedAt,
        succeeded,
        statusCode: response.status,
        latencyMs: response.latencyMs,
        error,
        responseBody: response.body,
      });
      await settleDeliveryAttempt(tx, {
        id: delivery.id,
        attempt: delivery.attempts,
        state,
        nextAttemptAt: delay === null ? null : new Date(settledAt.getTime() + delay),
        statusCode: response.status,
        error,
        at: settledAt,
      });
    });
    if (state === 'dead')
      this.deps.log.warn(
        { delivery_id: delivery.id, endpoint_id: delivery.endpoint_id, event_id: delivery.event_id },
        'webhook delivery dead-lettered after its last attempt',
      );
  }

  /**
   * Deletes deliveries settled more than `retentionDays` ago, their attempt log, and older
   * events without deliveries (a daily job). Pending deliveries are never purged. Returns how many
   * deliveries were removed.
   */
  async purgeExpired(): Promise<number> {
    const before = new Date(this.deps.clock.now().getTime() - this.deps.retentionDays * 86_400_000);
    const batch = 5000; // short transactions, however large the purge
    let removed = 0;
    for (;;) {
      const deleted = await purgeSettledWebhookDeliveries(this.deps.db, before, batch);
      removed += deleted;
      if (deleted < batch) break;
    }
    while ((await purgeUndeliveredWebhookEvents(this.deps.db, before, batch)) === batch) {}
    return removed;
  }

  /** The delivery backlog and the dead letters, for /metrics. */
  counts(): Promise<{ due: number; dead: number }> {
    return webhookDeliveryCounts(this.deps.db, this.deps.clock.now());
  }

  /** For `tuyere verify`: breaches of the delivery invariants. */
  violations(): Promise<string[]> {
    return webhookViolations(this.deps.db, MAX_DELIVERY_ATTEMPTS);
  }

  /**
   * Signs and POSTs one attempt. A secret that cannot be opened (MERCHANTS_WEBHOOK_SECRET_KEY
   * changed) is a failed attempt like any other, so the delivery backs off and dead-letters
   * instead of being retried at every lease.
   */
  private async send(delivery: ClaimedDelivery, attemptedAt: Date, body: string): Promise<WebhookResponse> {
    const key = this.deps.secretKey;
    let secrets: string[];
    try {
      secrets = liveSecrets(
        {
          secret: openSecret(key, delivery.secret, delivery.endpoint_id),
          previous_secret:
            delivery.previous_secret === null
              ? null
              : openSecret(key, delivery.previous_secret, delivery.endpoint_id),
          previous_secret_expires_at: delivery.previous_secret_expires_at,
        },
        attemptedAt,
      );
    } catch {
      return {
        status: null,
        body: null,
        error: 'not sent: the signing secret cannot be opened (was MERCHANTS_WEBHOOK_SECRET_KEY changed?)',
        latencyMs: 0,
      };
    }
    return this.deps.transport({
      url: delivery.url,
      headers: signedHeaders(secrets, delivery.event_id, attemptedAt, body),
      body,
      timeoutMs: this.deps.timeoutMs,
    });
  }

  /** Route owner resolvers: the owning merchant's id, or undefined. */
  endpointOwner(endpointId: string): Promise<string | undefined> {
    return isUuid(endpointId) ? webhookEndpointOwner(this.deps.db, endpointId) : Promise.resolve(undefined);
  }

  deliveryOwner(deliveryId: string): Promise<string | undefined> {
    return isUuid(deliveryId) ? webhookDeliveryOwner(this.deps.db, deliveryId) : Promise.resolve(undefined);
  }
}

/** An endpoint as the API shows it (never its secret). */
export function endpointView(endpoint: WebhookEndpointRecord, now: Date) {
  return {
    id: endpoint.id,
    merchant_id: endpoint.merchant_id,
    url: endpoint.url,
    description: endpoint.description,
    event_types: endpoint.event_types,
    status: endpoint.status,
    previous_secret_expires_at:
      endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at > now
        ? endpoint.previous_secret_expires_at.toISOString()
        : null,
    created_at: endpoint.created_at.toISOString(),
    updated_at: endpoint.updated_at.toISOString(),
  };
}

export function deliveryView(delivery: WebhookDeliveryRecord) {
  return {
    id: delivery.id,
    event_id: delivery.event_id,
    event_type: delivery.event_type,
    endpoint_id: delivery.endpoint_id,
    state: delivery.state,
    attempts: delivery.attempts,
    next_attempt_at: delivery.next_attempt_at?.toISOString() ?? null,
    last_status_code: delivery.last_status_code,
    last_error: delivery.last_error,
    delivered_at: delivery.delivered_at?.toISOString() ?? null,
    created_at: delivery.created_at.toISOString(),
  };
}

export function attemptView(attempt: WebhookAttemptRecord) {
  return {
    id: attempt.id,
    attempted_at: attempt.attempted_at.toISOString(),
    succeeded: attempt.succeeded,
    status_code: attempt.status_code,
    latency_ms: attempt.latency_ms,
    error: attempt.error,
    response_body: attempt.response_body,
  };
}
