import { BankError } from '../bank/index.ts';
import {
  AppError,
  conflict,
  forbidden,
  invalid,
  notFound,
  unavailable,
  unprocessable,
} from '../platform/errors.ts';
import { deterministicId } from '../platform/ids.ts';
import type { WalletDeps } from './context.ts';
import {
  activeCardByToken,
  activeCards,
  type Card,
  cardVerificationOwner,
  countActiveCards,
  deleteCardVerification,
  getCard,
  insertActiveCard,
  insertCardIfAbsent,
  insertCardVerification,
  markCardRemoved,
} from './store/cards.ts';

/**
 * Bound bank cards. The PAN goes from the request straight to the bank connector (which
 * checks Luhn before anything leaves Tuyere); we keep the bank's token, bank name, card
 * type and last four digits, never the number (store/cards.ts).
 */
export type { Card } from './store/cards.ts';

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
function bankErrorToAppError(error: unknown): unknown {
  if (!(error instanceof BankError)) return error;
  switch (error.code) {
    case 'card_number_invalid':
      return invalid('card_number_invalid', 'The card number is not valid; check the digits.');
    case 'card_details_mismatch':
      return unprocessable(
        'card_details_mismatch',
        "The bank's records for this card do not match: check the card number and the phone you gave the bank; the card must be in your own verified name.",
      );
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

  /**
   * Whether this user may bind a card now: real-name verified (banks bind cards only to their
   * verified holder) and under the card limit. Throws realname_required or card_limit_reached.
   */
  async assertBindable(userId: string): Promise<{ name: string; idNumber: string }> {
    const holder = await this.deps.identity.verifiedHolder(userId);
    if (!holder)
      throw forbidden(
        'realname_required',
        'Verify your real name first: a bank card can only be bound in your own verified name.',
      );
    await this.assertRoom(userId);
    return holder;
  }

  /**
   * Step 1: the bank checks the four elements (card number, reserved phone from the request;
   * holder name and ID number from identity, never from the request) and texts a code to the
   * card's phone. The caller has demanded the step-up (card.bind).
   */
  async startBinding(userId: string, input: { pan: string; phone: string }) {
    const holder = await this.assertBindable(userId);
    try {
      const started = await this.deps.bank.verifyCard({
        pan: input.pan,
        phone: input.phone,
        holderName: holder.name,
        idNumber: holder.idNumber,
      });
      await insertCardVerification(this.deps.db, {
        id: started.verificationId,
        userId,
        createdAt: this.deps.clock.now(),
      });
      return started;
    } catch (error) {
      throw bankErrorToAppError(error);
    }
  }

  /** Step 2: the user's SMS code; binds the card (idempotent for the same card). */
  async confirmBinding(userId: string, input: { verificationId: string; smsCode: string }): Promise<Card> {
    if ((await cardVerificationOwner(this.deps.db, input.verificationId)) !== userId) {
      throw notFound('card_verification_not_found', 'No such card verification; start the binding again.');
    }
    let bound: Awaited<ReturnType<WalletDeps['bank']['confirmCard']>>;
    try {
      bound = await this.deps.bank.confirmCard(input);
    } catch (error) {
      throw bankErrorToAppError(error);
    }
    const existing = await activeCardByToken(this.deps.db, userId, bound.cardToken);
    if (existing) return existing;
    await this.assertRoom(userId);
    const now = this.deps.clock.now();
    const inserted = await insertActiveCard(this.deps.db, {
      id: deterministicId('wallet.card', userId, bound.cardToken, String(now.getTime())),
      userId,
      cardToken: bound.cardToken,
      bankName: bound.bankName.slice(0, 64),
      cardType: bound.cardType,
      last4: bound.last4,
      createdAt: now,
    });
    await deleteCardVerification(this.deps.db, input.verificationId);
    return inserted ?? (await activeCardByToken(this.deps.db, userId, bound.cardToken))!;
  }

  /** Binds a card the bank already tokenized (demo seeding and tests). */
  async bindToken(userId: string, card: Omit<Card, 'id' | 'userId' | 'status' | 'createdAt'>): Promise<Card> {
    const id = deterministicId('wallet.card', userId, card.cardToken);
    await insertCardIfAbsent(this.deps.db, { ...card, id, userId, createdAt: this.deps.clock.now() });
    return (await this.get(id))!;
  }

  list(userId: string): Promise<Card[]> {
    return activeCards(this.deps.db, userId);
  }

  get(cardId: string): Promise<Card | undefined> {
    return getCard(this.deps.db, cardId);
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
    await markCardRemoved(this.deps.db, cardId, this.deps.clock.now());
  }

  private async assertRoom(userId: string): Promise<void> {
    if ((await countActiveCards(this.deps.db, userId)) >= this.deps.settings.maxCards) {
      throw conflict(
        'card_limit_reached',
        `You can bind at most ${this.deps.settings.maxCards} cards; unbind one first.`,
        { max_cards: this.deps.settings.maxCards },
      );
    }
  }
}
