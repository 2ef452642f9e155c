import { BankError } from '../bank/index.ts';
import { AppError, conflict, invalid, notFound, unavailable } from '../platform/errors.ts';
import { deterministicId } from '../platform/ids.ts';
import type { WalletDeps } from './context.ts';

/**
 * Bound bank cards. The PAN goes from the request straight to the bank connector (which
 * checks Luhn before anything leaves Tuyere); we keep the bank's token, bank name, card
 * type and last four digits, never the number.
 */
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

const CARD_COLUMNS = 'id, user_id, card_token, bank_name, card_type, last4, status, created_at';

function cardFromRow(row: CardRow): Card {
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

/** The client-facing view: no token (it is a bearer credential at the bank). */
export function cardView(card: Card) {
  return {
    id: card.id,
    bank_name: card.bankName,
    card_type: card.cardType,
    last4: card.last4,
    status: card.status,
    created_at: card.createdAt.toISOString(),
  };
}

/** Maps the connector's errors to stable API errors. */
export function bankErrorToAppError(error: unknown): unknown {
  if (!(error instanceof BankError)) return error;
  switch (error.code) {
    case 'card_number_invalid':
      return invalid('card_number_invalid', 'The card number is not valid; check the digits.');
    case 'phone_mismatch':
      return conflict('card_phone_mismatch', 'The bank has a different phone number for this card.');
    case 'sms_code_invalid':
      return conflict('sms_code_invalid', 'The SMS code is wrong; check the latest message from your bank.');
    case 'sms_code_expired':
      return conflict('sms_code_expired', 'The SMS code expired; start the binding again.');
    case 'verification_locked':
      return conflict('card_verification_locked', 'Too many wrong codes; start the binding again.');
    case 'verification_not_found':
      return notFound('card_verification_not_found', 'No such card verification; start the binding again.');
    case 'bank_unavailable':
      return unavailable('bank_unavailable', 'The bank cannot be reached; try again shortly.');
    default:
      return new AppError('conflict', 'bank_rejected', `The bank refused the request (${error.code}).`);
  }
}

export class Cards {
  constructor(private readonly deps: WalletDeps) {}

  /** Step 1: the bank texts a code to the card's phone. */
  async startBinding(userId: string, input: { pan: string; phone: string }) {
    await this.assertRoom(userId);
    try {
      const started = await this.deps.bank.verifyCard(input);
      await this.deps.db.query(
        'INSERT INTO wallet_card_verifications (id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [started.verificationId, userId, this.deps.clock.now()],
      );
      return started;
    } catch (error) {
      throw bankErrorToAppError(error);
    }
  }

  /** Step 2: the user's SMS code; binds the card (idempotent for the same card). */
  async confirmBinding(userId: string, input: { verificationId: string; smsCode: string }): Promise<Card> {
    const { rows } = await this.deps.db.query<{ user_id: string }>(
      'SELECT user_id FROM wallet_card_verifications WHERE id = $1',
      [input.verificationId],
    );
    if (rows[0]?.user_id !== userId) {
      throw notFound('card_verification_not_found', 'No such card verification; start the binding again.');
    }
    let bound: Awaited<ReturnType<WalletDeps['bank']['confirmCard']>>;
    try {
      bound = await this.deps.bank.confirmCard(input);
    } catch (error) {
      throw bankErrorToAppError(error);
    }
    const existing = await this.deps.db.query<CardRow>(
      `SELECT ${CARD_COLUMNS} FROM wallet_cards WHERE user_id = $1 AND card_token = $2 AND status = 'active'`,
      [userId, bound.cardToken],
    );
    if (existing.rows[0]) return cardFromRow(existing.rows[0]);
    await this.assertRoom(userId);
    const now = this.deps.clock.now();
    const id = deterministicId('wallet.card', userId, bound.cardToken, String(now.getTime()));
    const inserted = await this.deps.db.query<CardRow>(
      `INSERT INTO wallet_cards (id, user_id, card_token, bank_name, card_type, last4, status, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'active', $7)
       ON CONFLICT (user_id, card_token) WHERE status = 'active' DO NOTHING RETURNING ${CARD_COLUMNS}`,
      [id, userId, bound.cardToken, bound.bankName.slice(0, 64), bound.cardType, bound.last4, now],
    );
    await this.deps.db.query('DELETE FROM wallet_card_verifications WHERE id = $1', [input.verificationId]);
    if (inserted.rows[0]) return cardFromRow(inserted.rows[0]);
    const again = await this.deps.db.query<CardRow>(
      `SELECT ${CARD_COLUMNS} FROM wallet_cards WHERE user_id = $1 AND card_token = $2 AND status = 'active'`,
      [userId, bound.cardToken],
    );
    return cardFromRow(again.rows[0]!);
  }

  /** Binds a card the bank already tokenized (demo seeding and tests). */
  async bindToken(userId: string, card: Omit<Card, 'id' | 'userId' | 'status' | 'createdAt'>): Promise<Card> {
    const id = deterministicId('wallet.card', userId, card.cardToken);
    await this.deps.db.query(
      `INSERT INTO wallet_cards (id, user_id, card_token, bank_name, card_type, last4, status, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'active', $7) ON CONFLICT DO NOTHING`,
      [id, userId, card.cardToken, card.bankName, card.cardType, card.last4, this.deps.clock.now()],
    );
    return (await this.get(id))!;
  }

  async list(userId: string): Promise<Card[]> {
    const { rows } = await this.deps.db.query<CardRow>(
      `SELECT ${CARD_COLUMNS} FROM wallet_cards WHERE user_id = $1 AND status = 'active' ORDER BY created_at, id`,
      [userId],
    );
    return rows.map(cardFromRow);
  }

  async get(cardId: string): Promise<Card | undefined> {
    const { rows } = await this.deps.db.query<CardRow>(
      `SELECT ${CARD_COLUMNS} FROM wallet_cards WHERE id = $1`,
      [cardId],
    );
    return rows[0] ? cardFromRow(rows[0]) : undefined;
  }

  /** An active card of this user, or 404 card_not_found. */
  async active(userId: string, cardId: string): Promise<Card> {
    const card = await this.get(cardId);
    if (!card || card.userId !== userId || card.status !== 'active') {
      throw notFound('card_not_found', 'No such bound card; bind it first.');
    }
    return card;
  }

  /** Unbinds a card. Movements already under way on it still complete. Idempotent. */
  async remove(userId: string, cardId: string): Promise<void> {
    const card = await this.get(cardId);
    if (!card || card.userId !== userId) throw notFound('card_not_found', 'No such bound card.');
    await this.deps.db.query(
      "UPDATE wallet_cards SET status = 'removed', removed_at = $2 WHERE id = $1 AND status = 'active'",
      [cardId, this.deps.clock.now()],
    );
  }

  private async assertRoom(userId: string): Promise<void> {
    const { rows } = await this.deps.db.query<{ count: string }>(
      "SELECT count(*)::text AS count FROM wallet_cards WHERE user_id = $1 AND status = 'active'",
      [userId],
    );
    if (Number(rows[0]!.count) >= this.deps.settings.maxCards) {
      throw conflict(
        'card_limit_reached',
        `You can bind at most ${this.deps.settings.maxCards} cards; unbind one first.`,
        { max_cards: this.deps.settings.maxCards },
      );
    }
  }
}
