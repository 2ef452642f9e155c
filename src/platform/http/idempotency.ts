import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import { AppError, conflict, invalid, unprocessable } from '../errors.ts';

/**
 * Idempotency-Key for routes that move money (`config.idempotent: true`).
 * - A key is unique per principal; the request hash (method, route, params, body) is stored.
 * - The first request runs; its response (any status below 500) is stored and replayed
 *   verbatim, with `idempotent-replayed: true`.
 * - The same key with a different request: 422 idempotency_key_reused.
 * - The same key while the first is still running: 409 idempotency_request_in_flight.
 * - A 5xx releases the key so the client can retry. A process that dies mid-request leaves
 *   the key leased; after the lease the key can be taken over. Money handlers derive their
 *   ledger transfer ids from the key, so a taken-over request finds its transfers already
 *   there instead of moving money twice.
 * - Keys are kept IDEMPOTENCY_RETENTION_HOURS (at least 24 h), then purged by a job.
 */
export const IDEMPOTENCY_RETENTION_HOURS = 48;
const LEASE_MS = 60_000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { principal: string; key: string };
  }
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function requestHash(request: FastifyRequest): string {
  return createHash('sha256')
    .update(`${request.method} ${request.routeOptions.url}\n`)
    .update(canonicalJson(request.params ?? {}))
    .update('\n')
    .update(canonicalJson(request.body ?? null))
    .digest('hex');
}

interface StoredKey {
  request_hash: string;
  state: 'in_flight' | 'completed';
  locked_until: Date;
  response_status: number | null;
  response_body: string | null;
  response_content_type: string | null;
}

/** The idempotency key a money handler can derive deterministic ids from. */
export function idempotencyScope(request: FastifyRequest): string {
  if (!request.idempotency)
    throw new AppError('internal', 'idempotency_not_enabled', 'Route is not idempotent');
  return `${request.idempotency.principal}\u0000${request.idempotency.key}`;
}

export function installIdempotency(app: FastifyInstance, deps: { db: Database; clock: Clock }) {
  const { db, clock } = deps;

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.routeOptions.config.idempotent) return;
    const header = request.headers['idempotency-key'];
    const key = Array.isArray(header) ? header[0] : header;
    if (!key) {
      throw invalid(
        'idempotency_key_required',
        'This request moves money: send an Idempotency-Key header (e.g. a UUID) so a retry cannot apply it twice.',
      );
    }
    if (!KEY_PATTERN.test(key))
      throw invalid('invalid_idempotency_key', 'Idempotency-Key must be 1-255 printable ASCII characters.');
    const principal = request.principal?.key ?? `anonymous:${request.ip}`;
    const hash = requestHash(request);
    const now = clock.now();
    const lockedUntil = new Date(now.getTime() + LEASE_MS);

    const inserted = await db.query(
      `INSERT INTO platform_idempotency_keys (principal, key, request_hash, state, locked_until, created_at)
       VALUES ($1, $2, $3, 'in_flight', $4, $5) ON CONFLICT DO NOTHING RETURNING key`,
      [principal, key, hash, lockedUntil, now],
    );
    if (inserted.rowCount === 1) {
      request.idempotency = { principal, key };
      return;
    }
    const existing = await db.query<StoredKey & Record<string, unknown>>(
      'SELECT request_hash, state, locked_until, response_status, response_body, response_content_type FROM platform_idempotency_keys WHERE principal = $1 AND key = $2',
      [principal, key],
    );
    const stored = existing.rows[0];
    if (!stored)
      throw conflict(
        'idempotency_request_in_flight',
        'A request with this Idempotency-Key was just released; retry.',
      );
    if (stored.request_hash !== hash) {
      throw unprocessable(
        'idempotency_key_reused',
        'This Idempotency-Key was already used for a different request. Use a new key for a new request.',
      );
    }
    if (stored.state === 'completed') {
      return reply
        .status(stored.response_status ?? 200)
        .header('idempotent-replayed', 'true')
        .type(stored.response_content_type ?? 'application/json; charset=utf-8')
        .send(stored.response_body ?? '');
    }
    // In flight: take it over only if the first holder's lease ran out (it crashed).
    const takeover = await db.query(
      `UPDATE platform_idempotency_keys SET locked_until = $3
       WHERE principal = $1 AND key = $2 AND state = 'in_flight' AND locked_until < $4 RETURNING key`,
      [principal, key, lockedUntil, now],
    );
    if (takeover.rowCount === 1) {
      request.idempotency = { principal, key };
      return;
    }
    throw conflict(
      'idempotency_request_in_flight',
      'A request with this Idempotency-Key is still being processed; retry shortly.',
    );
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const scope = request.idempotency;
    if (!scope) return payload;
    request.idempotency = undefined;
    if (reply.statusCode >= 500) {
      await db.query('DELETE FROM platform_idempotency_keys WHERE principal = $1 AND key = $2', [
        scope.principal,
        scope.key,
      ]);
      return payload;
    }
    await db.query(
      `UPDATE platform_idempotency_keys
       SET state = 'completed', response_status = $3, response_body = $4, response_content_type = $5
       WHERE principal = $1 AND key = $2`,
      [
        scope.principal,
        scope.key,
        reply.statusCode,
        typeof payload === 'string' ? payload : String(payload ?? ''),
        String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8'),
      ],
    );
    return payload;
  });
}

/** Deletes keys past retention; run by a scheduled job. */
export async function purgeIdempotencyKeys(db: Database, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - IDEMPOTENCY_RETENTION_HOURS * 3_600_000);
  const result = await db.query('DELETE FROM platform_idempotency_keys WHERE created_at < $1', [cutoff]);
  return result.rowCount ?? 0;
}
