import type { FastifyRequest } from 'fastify';
import type { Identity } from '../identity.ts';

/** Owner resolvers for route policies: the owning user/merchant id, or undefined (404). */
type Params = Record<string, string>;

async function ownerFrom(
  identity: Identity,
  sql: string,
  id: string | undefined,
): Promise<string | undefined> {
  if (!id) return undefined;
  const { rows } = await identity.context.db.query<{ owner: string }>(sql, [id]);
  return rows[0]?.owner;
}

export const owners = (identity: Identity) => ({
  user: (request: FastifyRequest) =>
    ownerFrom(
      identity,
      'SELECT id AS owner FROM identity_users WHERE id = $1',
      (request.params as Params).user_id,
    ),
  device: (request: FastifyRequest) =>
    ownerFrom(
      identity,
      'SELECT user_id AS owner FROM identity_devices WHERE id = $1',
      (request.params as Params).device_id,
    ),
  session: (request: FastifyRequest) =>
    ownerFrom(
      identity,
      "SELECT subject_id AS owner FROM identity_sessions WHERE id = $1 AND subject_kind = 'user'",
      (request.params as Params).session_id,
    ),
  merchant: (request: FastifyRequest) =>
    ownerFrom(
      identity,
      'SELECT id AS owner FROM identity_merchants WHERE id = $1',
      (request.params as Params).merchant_id,
    ),
  apiKey: (request: FastifyRequest) =>
    ownerFrom(
      identity,
      'SELECT merchant_id AS owner FROM identity_merchant_api_keys WHERE id = $1',
      (request.params as Params).key_id,
    ),
});
