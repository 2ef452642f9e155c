import type { Queryable } from '../../platform/db/database.ts';

/** identity_challenges: single-use server challenges (device registration, payments). */
export type ChallengePurpose = 'device_registration' | 'webauthn_registration' | 'payment';

export async function insertChallenge(
  q: Queryable,
  challenge: {
    id: string;
    userId: string;
    purpose: ChallengePurpose;
    nonce: string;
    payload: Record<string, unknown>;
    createdAt: Date;
    expiresAt: Date;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO identity_challenges (id, user_id, purpose, nonce, payload, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      challenge.id,
      challenge.userId,
      challenge.purpose,
      challenge.nonce,
      JSON.stringify(challenge.payload),
      challenge.createdAt,
      challenge.expiresAt,
    ],
  );
}

export type ChallengeRow<Payload = Record<string, unknown>> = {
  nonce: string;
  payload: Payload;
  expires_at: Date;
  used_at: Date | null;
};

/** The user's challenge of this purpose, locked. */
export async function lockChallenge<Payload = Record<string, unknown>>(
  tx: Queryable,
  challengeId: string,
  userId: string,
  purpose: ChallengePurpose,
): Promise<ChallengeRow<Payload> | undefined> {
  const { rows } = await tx.query<ChallengeRow<Payload>>(
    'SELECT nonce, payload, expires_at, used_at FROM identity_challenges WHERE id = $1 AND user_id = $2 AND purpose = $3 FOR UPDATE',
    [challengeId, userId, purpose],
  );
  return rows[0];
}

export async function markChallengeUsed(tx: Queryable, challengeId: string, at: Date): Promise<void> {
  await tx.query('UPDATE identity_challenges SET used_at = $2 WHERE id = $1', [challengeId, at]);
}
