import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Queryable } from '../platform/db/database.ts';
import { notFound, unauthenticated } from '../platform/errors.ts';
import type { Principal, Role } from '../platform/http/policy.ts';
import { uuidv7 } from '../platform/ids.ts';
import { appendAudit } from './audit.ts';
import { type IdentityContext, randomToken } from './context.ts';

/**
 * Sessions: a short-lived EdDSA access token plus a rotating refresh token. A session is
 * the refresh-token family: presenting an already-used refresh token revokes the session,
 * since either the client or a thief holds a stale copy. Every request checks the session
 * row (one primary-key read), so a revoked session stops working at once.
 */
export type SubjectKind = 'user' | 'operator';

export interface IssuedTokens {
  session_id: string;
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

const ISSUER = 'tuyere';
const AUDIENCE = 'tuyere-api';
const REFRESH_PREFIX = 'rt_';

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

async function signAccessToken(
  context: IdentityContext,
  kind: SubjectKind,
  subjectId: string,
  sessionId: string,
): Promise<string> {
  const now = Math.floor(context.clock.now().getTime() / 1000);
  return new SignJWT({ sid: sessionId, knd: kind })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(subjectId)
    .setIssuedAt(now)
    .setExpirationTime(now + context.settings.accessTokenTtlSeconds)
    .sign(context.secrets.signingKey);
}

async function storeRefreshToken(
  context: IdentityContext,
  tx: Queryable,
  sessionId: string,
  generation: number,
): Promise<string> {
  const token = REFRESH_PREFIX + randomToken(context.random);
  await tx.query(
    'INSERT INTO identity_refresh_tokens (token_digest, session_id, generation, created_at) VALUES ($1, $2, $3, $4)',
    [digest(token), sessionId, generation, context.clock.now()],
  );
  return token;
}

/** Opens a session after a successful login, recording it in the audit log. */
export async function openSession(
  context: IdentityContext,
  kind: SubjectKind,
  subjectId: string,
  userAgent: string | undefined,
): Promise<IssuedTokens> {
  const now = context.clock.now();
  const sessionId = uuidv7(now.getTime());
  const refreshToken = await context.db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO identity_sessions (id, subject_kind, subject_id, created_at, last_refreshed_at, expires_at, user_agent)
       VALUES ($1, $2, $3, $4, $4, $5, $6)`,
      [
        sessionId,
        kind,
        subjectId,
        now,
        new Date(now.getTime() + context.settings.refreshTokenTtlDays * 86_400_000),
        userAgent?.slice(0, 200) ?? null,
      ],
    );
    await appendAudit(tx, now, {
      actor: `${kind}:${subjectId}`,
      action: 'session.login',
      subject: `${kind}:${subjectId}`,
      details: { session_id: sessionId },
    });
    return storeRefreshToken(context, tx, sessionId, 1);
  });
  return {
    session_id: sessionId,
    access_token: await signAccessToken(context, kind, subjectId, sessionId),
    refresh_token: refreshToken,
    token_type: 'Bearer',
    expires_in: context.settings.accessTokenTtlSeconds,
  };
}

/** Exchanges a refresh token for a new pair; reuse of a spent token revokes the whole session. */
export async function refreshSession(context: IdentityContext, refreshToken: string): Promise<IssuedTokens> {
  const now = context.clock.now();
  const result = await context.db.transaction(async (tx) => {
    const { rows } = await tx.query<{
      session_id: string;
      generation: number;
      used_at: Date | null;
      subject_kind: SubjectKind;
      subject_id: string;
      revoked_at: Date | null;
      expires_at: Date;
    }>(
      `SELECT rt.session_id, rt.generation, rt.used_at, s.subject_kind, s.subject_id, s.revoked_at, s.expires_at
       FROM identity_refresh_tokens rt JOIN identity_sessions s ON s.id = rt.session_id
       WHERE rt.token_digest = $1 FOR UPDATE OF rt, s`,
      [digest(refreshToken)],
    );
    const row = rows[0];
    if (!row) return { error: 'invalid' as const };
    if (row.revoked_at) return { error: 'revoked' as const };
    if (row.expires_at.getTime() <= now.getTime()) return { error: 'expired' as const };
    if (row.used_at) {
      await revokeSessionIn(tx, now, row.session_id, 'refresh_token_reused', 'system');
      return { error: 'reused' as const };
    }
    await tx.query('UPDATE identity_refresh_tokens SET used_at = $2 WHERE token_digest = $1', [
      digest(refreshToken),
      now,
    ]);
    await tx.query('UPDATE identity_sessions SET last_refreshed_at = $2 WHERE id = $1', [
      row.session_id,
      now,
    ]);
    const next = await storeRefreshToken(context, tx, row.session_id, row.generation + 1);
    return { row, next };
  });
  if ('error' in result) {
    switch (result.error) {
      case 'reused':
        context.log.warn({ event: 'refresh_token_reused' }, 'refresh token reused; session revoked');
        throw unauthenticated(
          'refresh_token_reused',
          'This refresh token was already used; the session has been ended for safety. Sign in again.',
        );
      case 'revoked':
        throw unauthenticated('session_revoked', 'This session has ended; sign in again.');
      case 'expired':
        throw unauthenticated('session_expired', 'This session has expired; sign in again.');
      default:
        throw unauthenticated('refresh_token_invalid', 'The refresh token is not valid; sign in again.');
    }
  }
  const { row, next } = result;
  return {
    session_id: row.session_id,
    access_token: await signAccessToken(context, row.subject_kind, row.subject_id, row.session_id),
    refresh_token: next,
    token_type: 'Bearer',
    expires_in: context.settings.accessTokenTtlSeconds,
  };
}

async function revokeSessionIn(
  tx: Queryable,
  now: Date,
  sessionId: string,
  reason: string,
  actor: string,
): Promise<boolean> {
  const { rows } = await tx.query<{ subject_kind: string; subject_id: string }>(
    `UPDATE identity_sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL
     RETURNING subject_kind, subject_id`,
    [sessionId, now, reason],
  );
  const session = rows[0];
  if (!session) return false;
  await appendAudit(tx, now, {
    actor,
    action: 'session.revoked',
    subject: `${session.subject_kind}:${session.subject_id}`,
    details: { session_id: sessionId, reason },
  });
  return true;
}

/** Ends a session (logout, a user revoking another device's session, or an operator). */
export async function revokeSession(
  context: IdentityContext,
  sessionId: string,
  reason: string,
  actor: string,
): Promise<void> {
  const now = context.clock.now();
  await context.db.transaction((tx) => revokeSessionIn(tx, now, sessionId, reason, actor));
}

/** Ends every session of a subject (account frozen, PIN reset by an operator...). */
export async function revokeAllSessions(
  context: IdentityContext,
  tx: Queryable,
  subjectId: string,
  reason: string,
  actor: string,
): Promise<void> {
  const now = context.clock.now();
  const { rows } = await tx.query<{ id: string }>(
    'SELECT id FROM identity_sessions WHERE subject_id = $1 AND revoked_at IS NULL',
    [subjectId],
  );
  for (const row of rows) await revokeSessionIn(tx, now, row.id, reason, actor);
}

export interface SessionView {
  id: string;
  created_at: string;
  last_refreshed_at: string;
  expires_at: string;
  user_agent: string | null;
  current: boolean;
}

export async function listSessions(
  context: IdentityContext,
  subjectId: string,
  currentSessionId?: string,
): Promise<SessionView[]> {
  const { rows } = await context.db.query<{
    id: string;
    created_at: Date;
    last_refreshed_at: Date;
    expires_at: Date;
    user_agent: string | null;
  }>(
    `SELECT id, created_at, last_refreshed_at, expires_at, user_agent FROM identity_sessions
     WHERE subject_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 100`,
    [subjectId, context.clock.now()],
  );
  return rows.map((row) => ({
    id: row.id,
    created_at: row.created_at.toISOString(),
    last_refreshed_at: row.last_refreshed_at.toISOString(),
    expires_at: row.expires_at.toISOString(),
    user_agent: row.user_agent,
    current: row.id === currentSessionId,
  }));
}

export async function sessionOwner(context: IdentityContext, sessionId: string): Promise<string | undefined> {
  const { rows } = await context.db.query<{ subject_id: string }>(
    'SELECT subject_id FROM identity_sessions WHERE id = $1 AND revoked_at IS NULL',
    [sessionId],
  );
  return rows[0]?.subject_id;
}

/**
 * Authenticator for session access tokens (JWTs). Returns null for other bearer tokens'
 * absence; throws for a present JWT that is invalid, expired or whose session has ended.
 */
export async function principalFromAccessToken(context: IdentityContext, token: string): Promise<Principal> {
  let sessionId: string;
  let subjectId: string;
  let kind: SubjectKind;
  try {
    const { payload } = await jwtVerify(token, context.secrets.verifyingKey, {
      algorithms: ['EdDSA'],
      issuer: ISSUER,
      audience: AUDIENCE,
      currentDate: context.clock.now(),
    });
    sessionId = String(payload.sid);
    subjectId = String(payload.sub);
    kind = payload.knd === 'operator' ? 'operator' : 'user';
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired)
      throw unauthenticated('access_token_expired', 'The access token has expired; refresh it.');
    throw unauthenticated('access_token_invalid', 'The access token is not valid; sign in again.');
  }
  const { rows } = await context.db.query<{
    revoked_at: Date | null;
    expires_at: Date;
    active: boolean | null;
    roles: string[] | null;
  }>(
    `SELECT s.revoked_at, s.expires_at,
            CASE WHEN s.subject_kind = 'user' THEN u.status = 'active' ELSE st.status = 'active' END AS active,
            st.roles
     FROM identity_sessions s
     LEFT JOIN identity_users u ON s.subject_kind = 'user' AND u.id = s.subject_id
     LEFT JOIN identity_staff st ON s.subject_kind = 'operator' AND st.id = s.subject_id
     WHERE s.id = $1 AND s.subject_id = $2`,
    [sessionId, subjectId],
  );
  const session = rows[0];
  if (!session || session.revoked_at)
    throw unauthenticated('session_revoked', 'This session has ended; sign in again.');
  if (session.expires_at.getTime() <= context.clock.now().getTime())
    throw unauthenticated('session_expired', 'This session has expired; sign in again.');
  if (!session.active)
    throw unauthenticated('account_disabled', 'This account is frozen or disabled; contact support.');
  const roles: Role[] = kind === 'user' ? ['user'] : ((session.roles ?? []) as Role[]);
  return { key: `${kind}:${subjectId}`, kind, id: subjectId, roles, credentialId: sessionId };
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match)
    throw unauthenticated(
      'authorization_malformed',
      'Send the credential as: Authorization: Bearer <token>.',
    );
  return match[1];
}

export function ensureFound<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw notFound('not_found', `No such ${what}.`);
  return value;
}
