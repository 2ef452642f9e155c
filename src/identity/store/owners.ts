import type { Queryable } from '../../platform/db/database.ts';

/** Who owns a resource named in a route path (route policies' owner resolvers): the user id, or undefined. */
async function owner(q: Queryable, sql: string, id: string): Promise<string | undefined> {
  const { rows } = await q.query<{ owner: string }>(sql, [id]);
  return rows[0]?.owner;
}

export const userOwner = (q: Queryable, userId: string) =>
  owner(q, 'SELECT id AS owner FROM identity_users WHERE id = $1', userId);

export const deviceOwner = (q: Queryable, deviceId: string) =>
  owner(q, 'SELECT user_id AS owner FROM identity_devices WHERE id = $1', deviceId);

/** A user's session (revoked ones included); staff sessions have no owner here. */
export const userSessionOwner = (q: Queryable, sessionId: string) =>
  owner(
    q,
    "SELECT subject_id AS owner FROM identity_sessions WHERE id = $1 AND subject_kind = 'user'",
    sessionId,
  );
