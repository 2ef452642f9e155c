import type { Queryable } from '../../platform/db/database.ts';

/** SQL of bound bank cards (wallet_cards) and card bindings in progress (wallet_card_verifications). */

/** A bound card: the bank's token and display data, never the number. */
export interface Card {
  id: string;
  userId: string;
  cardToken: string;
  bankName: string;
  cardType: 'debit' | 'credit';
  last4: string;
  status: 'active' | 'removed';
  createdAt: Date;
}

/** A card as it is first written (always active). */
export type NewCard = Omit<Card, 'status'>;

type CardRow = {
  id: string;
  user_id: string;
  card_token: string;
  bank_name: string;
  card_type: 'debit' | 'credit';
  last4: string;
  status: 'active' | 'removed';
  created_at: Date;
};

const COLUMNS = 'id, user_id, card_token, bank_name, card_type, last4, status, created_at';

function fromRow(row: CardRow): Card {
  return {
    id: row.id,
    userId: row.user_id,
    cardToken: row.card_token,
    bankName: row.bank_name,
    cardType: row.card_type,
    last4: row.last4,
    status: row.status,
    createdAt: row.created_at,
  };
}

const insertValues = (card: NewCard) => [
  card.id,
  card.userId,
  card.cardToken,
  card.bankName,
  card.cardType,
  card.last4,
  card.createdAt,
];

export async function getCard(q: Queryable, cardId: string): Promise<Card | undefined> {
  const { rows } = await q.query<CardRow>(`SELECT ${COLUMNS} FROM wallet_cards WHERE id = $1`, [cardId]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** The user's active cards, oldest first. */
export async function activeCards(q: Queryable, userId: string): Promise<Card[]> {
  const { rows } = await q.query<CardRow>(
    `SELECT ${COLUMNS} FROM wallet_cards WHERE user_id = $1 AND status = 'active' ORDER BY created_at, id`,
    [userId],
  );
  return rows.map(fromRow);
}

export async function countActiveCards(q: Queryable, userId: string): Promise<number> {
  const { rows } = await q.query<{ count: string }>(
    "SELECT count(*)::text AS count FROM wallet_cards WHERE user_id = $1 AND status = 'active'",
    [userId],
  );
  return Number(rows[0]!.count);
}

/** The user's active card with this bank token, if any. */
export async function activeCardByToken(
  q: Queryable,
  userId: string,
  cardToken: string,
): Promise<Card | undefined> {
  const { rows } = await q.query<CardRow>(
    `SELECT ${COLUMNS} FROM wallet_cards WHERE user_id = $1 AND card_token = $2 AND status = 'active'`,
    [userId, cardToken],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Inserts an active card; undefined when the user already has this token active (a concurrent binding). */
export async function insertActiveCard(q: Queryable, card: NewCard): Promise<Card | undefined> {
  const { rows } = await q.query<CardRow>(
    `INSERT INTO wallet_cards (id, user_id, card_token, bank_name, card_type, last4, status, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'active', $7)
     ON CONFLICT (user_id, card_token) WHERE status = 'active' DO NOTHING RETURNING ${COLUMNS}`,
    insertValues(card),
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Inserts an active card unless any row conflicts (same id, or this token already active). */
export async function insertCardIfAbsent(q: Queryable, card: NewCard): Promise<void> {
  await q.query(
    `INSERT INTO wallet_cards (id, user_id, card_token, bank_name, card_type, last4, status, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'active', $7) ON CONFLICT DO NOTHING`,
    insertValues(card),
  );
}

/** Marks an active card removed (no-op when it is not active). */
export async function markCardRemoved(q: Queryable, cardId: string, at: Date): Promise<void> {
  await q.query(
    "UPDATE wallet_cards SET status = 'removed', removed_at = $2 WHERE id = $1 AND status = 'active'",
    [cardId, at],
  );
}

export async function insertCardVerification(
  q: Queryable,
  verification: { id: string; userId: string; createdAt: Date },
): Promise<void> {
  await q.query(
    'INSERT INTO wallet_card_verifications (id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [verification.id, verification.userId, verification.createdAt],
  );
}

/** Who started a card verification, if it exists. */
export async function cardVerificationOwner(
  q: Queryable,
  verificationId: string,
): Promise<string | undefined> {
  const { rows } = await q.query<{ user_id: string }>(
    'SELECT user_id FROM wallet_card_verifications WHERE id = $1',
    [verificationId],
  );
  return rows[0]?.user_id;
}

export async function deleteCardVerification(q: Queryable, verificationId: string): Promise<void> {
  await q.query('DELETE FROM wallet_card_verifications WHERE id = $1', [verificationId]);
}
