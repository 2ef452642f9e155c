import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Queryable } from '../platform/db/database.ts';
import { unauthenticated } from '../platform/errors.ts';
import type { Principal, Role } from '../platform/http/policy.ts';
import { uuidv7 } from '../platform/ids.ts';
import { appendAudit } from './audit.ts';
import { type IdentityContext, randomToken } from './context.ts';
import {
  insertRefreshToken,
  insertSession,
  listLiveSessions,
  liveSessionIds,
  lockRefreshToken,
  markRefreshed,
  revokeSessionRow,
  type SubjectKind,
  sessionCheck,
} from './store/sessions.ts';

/**
 * Sessions: a short-lived EdDSA access token plus a rotating refresh token. A session is
 * the refresh-token family: presenting an already-used refresh token revokes the session,
 * since either the client or a thief holds a stale copy. Every request checks the session
 * row (one primary-key read), so a revoked session stops working at once.
 */
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
  await insertRefreshToken(tx, {
    digest: digest(token),
    sessionId,
    generation,
    createdAt: context.clock.now(),
  });
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
    await insertSession(tx, {
      id: sessionId,
      kind,
      subjectId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + context.settings.refreshTokenTtlDays * 86_400_000),
      userAgent: userAgent?.slice(0, 200) ?? null,
    });
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
    const row = await lockRefreshToken(tx, digest(refreshToken));
    if (!row) return { error: 'invalid' as const };
    if (row.revoked_at) return { error: 'revoked' as const };
    if (row.expires_at.getTime() <= now.getTime()) return { error: 'expired' as const };
    if (row.used_at) {
      await revokeSessionIn(tx, now, row.session_id, 'refresh_token_reused', 'system');
      return { error: 'reused' as const };
    }
    await markRefreshed(tx, digest(refreshToken), row.session_id, now);
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
  const session = await revokeSessionRow(tx, sessionId, now, reason);
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

/** Ends every session of a subject (account frozen...), in one transaction. */
export async function revokeAllSessions(
  context: IdentityContext,
  subjectId: string,
  reason: string,
  actor: string,
): Promise<void> {
  const now = context.clock.now();
  await context.db.transaction(async (tx) => {
    for (const sessionId of await liveSessionIds(tx, subjectId))
      await revokeSessionIn(tx, now, sessionId, reason, actor);
  });
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
  const rows = await listLiveSessions(context.db, subjectId, context.clock.now());
  return rows.map((row) => ({
    id: row.id,
    created_at: row.created_at.toISOString(),
    last_refreshed_at: row.last_refreshed_at.toISOString(),
    expires_at: row.expires_at.toISOString(),
    user_agent: row.user_agent,
    current: row.id === currentSessionId,
  }));
}

/**
 * The caller of a session access token (JWT); throws for one that is invalid or expired,
 * whose session has ended, or whose account is frozen or disabled.
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
  const session = await sessionCheck(context.db, sessionId, subjectId);
  if (!session || session.revoked_at)
    throw unauthenticated('session_revoked', 'This session has ended; sign in again.');
  if (session.expires_at.getTime() <= context.clock.now().getTime())
    throw unauthenticated('session_expired', 'This session has expired; sign in again.');
  if (!session.active)
    throw unauthenticated('account_disabled', 'This account is frozen or disabled; contact support.');
  const roles: Role[] = kind === 'user' ? ['user'] : ((session.roles ?? []) as Role[]);
  return { key: `${kind}:${subjectId}`, kind, id: subjectId, roles, credentialId: sessionId };
}

/**
 * True while the session behind a principal still stands: not revoked (logout), not expired,
 * its account not frozen. For long-lived connections (group streams) that re-check it.
 */
export async function sessionStillActive(context: IdentityContext, sessionId: string, subjectId: string) {
  const session = await sessionCheck(context.db, sessionId, subjectId);
  return (
    !!session &&
    !session.revoked_at &&
    session.expires_at.getTime() > context.clock.now().getTime() &&
    !!session.active
  );
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
