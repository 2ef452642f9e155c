import type { Queryable } from '../../platform/db/database.ts';

/** identity_sessions (one per login) and identity_refresh_tokens (the session's token family). */
export type SubjectKind = 'user' | 'operator';

export async function insertSession(
  q: Queryable,
  session: {
    id: string;
    kind: SubjectKind;
    subjectId: string;
    createdAt: Date;
    expiresAt: Date;
    userAgent: string | null;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO identity_sessions (id, subject_kind, subject_id, created_at, last_refreshed_at, expires_at, user_agent)
     VALUES ($1, $2, $3, $4, $4, $5, $6)`,
    [session.id, session.kind, session.subjectId, session.createdAt, session.expiresAt, session.userAgent],
  );
}

export async function insertRefreshToken(
  q: Queryable,
  token: { digest: string; sessionId: string; generation: number; createdAt: Date },
): Promise<void> {
  await q.query(
    'INSERT INTO identity_refresh_tokens (token_digest, session_id, generation, created_at) VALUES ($1, $2, $3, $4)',
    [token.digest, token.sessionId, token.generation, token.createdAt],
  );
}

export type RefreshTokenRow = {
  session_id: string;
  generation: number;
  used_at: Date | null;
  subject_kind: SubjectKind;
  subject_id: string;
  revoked_at: Date | null;
  expires_at: Date;
};

/** The refresh token with its session, both locked. */
export async function lockRefreshToken(tx: Queryable, digest: string): Promise<RefreshTokenRow | undefined> {
  const { rows } = await tx.query<RefreshTokenRow>(
    `SELECT rt.session_id, rt.generation, rt.used_at, s.subject_kind, s.subject_id, s.revoked_at, s.expires_at
     FROM identity_refresh_tokens rt JOIN identity_sessions s ON s.id = rt.session_id
     WHERE rt.token_digest = $1 FOR UPDATE OF rt, s`,
    [digest],
  );
  return rows[0];
}

/** Spends a refresh token and marks its session refreshed. */
export async function markRefreshed(
  tx: Queryable,
  tokenDigest: string,
  sessionId: string,
  at: Date,
): Promise<void> {
  await tx.query('UPDATE identity_refresh_tokens SET used_at = $2 WHERE token_digest = $1', [
    tokenDigest,
    at,
  ]);
  await tx.query('UPDATE identity_sessions SET last_refreshed_at = $2 WHERE id = $1', [sessionId, at]);
}

/** Revokes a live session; returns its subject, or undefined when it was already ended or unknown. */
export async function revokeSessionRow(
  tx: Queryable,
  sessionId: string,
  at: Date,
  reason: string,
): Promise<{ subject_kind: SubjectKind; subject_id: string } | undefined> {
  const { rows } = await tx.query<{ subject_kind: SubjectKind; subject_id: string }>(
    `UPDATE identity_sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL
     RETURNING subject_kind, subject_id`,
    [sessionId, at, reason],
  );
  return rows[0];
}

export async function liveSessionIds(q: Queryable, subjectId: string): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    'SELECT id FROM identity_sessions WHERE subject_id = $1 AND revoked_at IS NULL',
    [subjectId],
  );
  return rows.map((row) => row.id);
}

export type SessionRow = {
  id: string;
  created_at: Date;
  last_refreshed_at: Date;
  expires_at: Date;
  user_agent: string | null;
};

/** A subject's sessions neither revoked nor expired at `now`, newest first (at most 100). */
export async function listLiveSessions(q: Queryable, subjectId: string, now: Date): Promise<SessionRow[]> {
  const { rows } = await q.query<SessionRow>(
    `SELECT id, created_at, last_refreshed_at, expires_at, user_agent FROM identity_sessions
     WHERE subject_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 100`,
    [subjectId, now],
  );
  return rows;
}

/** When the session (the SMS login) began, if it is this subject's and still standing. */
export async function sessionStartedAt(
  q: Queryable,
  sessionId: string,
  subjectId: string,
): Promise<Date | undefined> {
  const { rows } = await q.query<{ created_at: Date }>(
    'SELECT created_at FROM identity_sessions WHERE id = $1 AND subject_id = $2 AND revoked_at IS NULL',
    [sessionId, subjectId],
  );
  return rows[0]?.created_at;
}

export type SessionCheck = {
  revoked_at: Date | null;
  expires_at: Date;
  /** The user's or staff member's account is active. */
  active: boolean | null;
  /** The staff member's roles (null for users). */
  roles: string[] | null;
};

/** What an access token's request needs to know about its session and account: one read. */
export async function sessionCheck(
  q: Queryable,
  sessionId: string,
  subjectId: string,
): Promise<SessionCheck | undefined> {
  const { rows } = await q.query<SessionCheck>(
    `SELECT s.revoked_at, s.expires_at,
            CASE WHEN s.subject_kind = 'user' THEN u.status = 'active' ELSE st.status = 'active' END AS active,
            st.roles
     FROM identity_sessions s
     LEFT JOIN identity_users u ON s.subject_kind = 'user' AND u.id = s.subject_id
     LEFT JOIN identity_staff st ON s.subject_kind = 'operator' AND st.id = s.subject_id
     WHERE s.id = $1 AND s.subject_id = $2`,
    [sessionId, subjectId],
  );
  return rows[0];
}
