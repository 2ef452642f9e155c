import { createHash } from 'node:crypto';
import { businessDate, type Clock } from '../../platform/clock.ts';
import { AppError, conflict, invalid, notFound, unprocessable } from '../../platform/errors.ts';
import type { RandomSource } from '../../platform/ids.ts';
import { lastFour, normalizePan } from '../cards.ts';
import type { CardType, DeclineReason, Direction, OperationStatus, OperationWire } from '../types.ts';
import { magicFaults, type SandboxFaults } from './faults.ts';
import { randomDigits, randomHex } from './random.ts';

/**
 * The sandbox bank's books, in memory: cards, SMS verifications and operations. Pure state
 * and rules; HTTP, timing and callbacks live in server.ts and callbacks.ts. The PAN itself
 * is never kept: only a hash (to find a card again), the BIN and the last four digits.
 */
export const LIMITS = {
  cards: 10_000,
  operations: 100_000,
  verifications: 10_000,
  smsOutbox: 1_000,
  smsAttempts: 5,
  smsTtlMs: 5 * 60_000,
} as const;

export const DEFAULT_DEBIT_BALANCE = 1_000_000n; // 10,000.00 CNY
export const DEFAULT_CREDIT_LIMIT = 5_000_000n; // 50,000.00 CNY

export interface Card {
  token: string;
  panHash: string;
  bin: string;
  last4: string;
  /** The reserved phone: where binding codes go. */
  phone: string;
  /** The holder as the bank's records have them (the ID number only as a hash); null: no holder on record, never bindable. */
  holderName: string | null;
  holderIdHash: string | null;
  bankName: string;
  type: CardType;
  /** Debit cards: money on the card. Credit cards: unused credit (limit minus what is owed). */
  available: bigint;
  creditLimit: bigint | null;
  blocked: boolean;
  faults: SandboxFaults;
}

export interface Operation {
  requestId: string;
  bankReference: string;
  direction: Direction;
  cardToken: string;
  amount: bigint;
  currency: string;
  status: OperationStatus;
  declineReason: DeclineReason | null;
  faults: SandboxFaults;
  /** Where callbacks go: the request's notify_url, else the sandbox's default callback URL. */
  notifyUrl: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

export interface SmsMessage {
  phone: string;
  code: string;
  verificationId: string;
  sentAt: string;
}

interface Verification {
  id: string;
  phone: string;
  codeHash: string;
  expiresAt: number;
  attemptsLeft: number;
  cardToken: string;
}

export interface CardSpec {
  /** The holder's name and resident ID number, checked when the card is bound. */
  holderName?: string;
  holderIdNumber?: string;
  type?: CardType;
  bankName?: string;
  /** Debit cards: starting balance. Credit cards: credit limit. */
  balance?: bigint;
  blocked?: boolean;
  faults?: SandboxFaults;
}

/** Synthetic BIN table: the first six digits name the bank and card type. */
const BINS: Record<string, { bankName: string; type: CardType }> = {
  '622202': { bankName: 'Industrial and Commercial Bank of China', type: 'debit' },
  '621700': { bankName: 'China Construction Bank', type: 'debit' },
  '622848': { bankName: 'Agricultural Bank of China', type: 'debit' },
  '622588': { bankName: 'China Merchants Bank', type: 'credit' },
  '625807': { bankName: 'Bank of China', type: 'credit' },
};
const UNKNOWN_BIN = { bankName: 'Tuyere Sandbox Bank', type: 'debit' as CardType };

const sha256 = (value: string) =>
  createHash('sha256').update('tuyere-sandbox-bank\u0000').update(value).digest('hex');

export function maskPhone(phone: string): string {
  return phone.length <= 4 ? '****' : `${phone.slice(0, 3)}****${phone.slice(-4)}`;
}

export class SandboxBankState {
  private readonly cards = new Map<string, Card>();
  private readonly tokenByPanHash = new Map<string, string>();
  private readonly verifications = new Map<string, Verification>();
  private readonly operations = new Map<string, Operation>();
  private readonly sms: SmsMessage[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly random: RandomSource,
    private readonly timeZone: string,
  ) {}

  /** Creates (or returns) the card for a PAN; magic last-four digits set its behaviour. */
  createCard(rawPan: string, phone: string, spec: CardSpec = {}): Card {
    const pan = normalizePan(rawPan);
    if (!pan)
      throw invalid(
        'card_number_invalid',
        'The card number is not a valid card number (length or check digit).',
      );
    const panHash = sha256(pan);
    const existing = this.tokenByPanHash.get(panHash);
    if (existing) return this.cards.get(existing)!;
    if (this.cards.size >= LIMITS.cards)
      throw conflict('sandbox_full', `The sandbox holds at most ${LIMITS.cards} cards.`);
    const last4 = lastFour(pan);
    const known = BINS[pan.slice(0, 6)] ?? UNKNOWN_BIN;
    const magic = magicCard(last4);
    const type = spec.type ?? magic.type ?? known.type;
    const balance =
      spec.balance ?? magic.balance ?? (type === 'credit' ? DEFAULT_CREDIT_LIMIT : DEFAULT_DEBIT_BALANCE);
    const card: Card = {
      token: `tok_${randomHex(this.random, 12)}`,
      panHash,
      bin: pan.slice(0, 6),
      last4,
      phone,
      holderName: spec.holderName ?? null,
      holderIdHash: spec.holderIdNumber ? sha256(`id:${spec.holderIdNumber.toUpperCase()}`) : null,
      bankName: spec.bankName ?? known.bankName,
      type,
      available: balance,
      creditLimit: type === 'credit' ? balance : null,
      blocked: spec.blocked ?? magic.blocked ?? false,
      faults: { ...magicFaults(last4), ...(spec.faults ?? {}) },
    };
    this.cards.set(card.token, card);
    this.tokenByPanHash.set(panHash, card.token);
    return card;
  }

  card(token: string): Card {
    const card = this.cards.get(token);
    if (!card) throw notFound('card_not_found', 'No card has this token at the bank.');
    return card;
  }

  /**
   * Starts binding, as banks do it: the four elements (card number, holder name, ID number,
   * reserved phone) must all match the bank's records; then an SMS code goes to that phone.
   * One answer for every mismatch (an unknown card included), so a caller cannot probe which
   * element is wrong.
   */
  startVerification(rawPan: string, phone: string, holder: { name: string; idNumber: string }) {
    const pan = normalizePan(rawPan);
    if (!pan)
      throw invalid(
        'card_number_invalid',
        'The card number is not a valid card number (length or check digit).',
      );
    const knownToken = this.tokenByPanHash.get(sha256(pan));
    const card = knownToken ? this.cards.get(knownToken) : undefined;
    if (
      !card ||
      card.phone !== phone ||
      card.holderName === null ||
      card.holderName !== holder.name ||
      card.holderIdHash !== sha256(`id:${holder.idNumber.toUpperCase()}`)
    ) {
      throw unprocessable(
        'card_details_mismatch',
        "The card number, holder name, ID number and phone do not match the bank's records for a card.",
      );
    }
    this.evictExpiredVerifications();
    if (this.verifications.size >= LIMITS.verifications) {
      throw new AppError(
        'unavailable',
        'sandbox_busy',
        'Too many card verifications in progress; try later.',
      );
    }
    const code = randomDigits(this.random, 6);
    const verification: Verification = {
      id: `ver_${randomHex(this.random, 12)}`,
      phone,
      codeHash: sha256(code),
      expiresAt: this.clock.now().getTime() + LIMITS.smsTtlMs,
      attemptsLeft: LIMITS.smsAttempts,
      cardToken: card.token,
    };
    this.verifications.set(verification.id, verification);
    this.sms.push({ phone, code, verificationId: verification.id, sentAt: this.clock.now().toISOString() });
    if (this.sms.length > LIMITS.smsOutbox) this.sms.shift();
    return {
      verificationId: verification.id,
      phoneMasked: maskPhone(phone),
      expiresAt: new Date(verification.expiresAt),
    };
  }

  confirmVerification(verificationId: string, code: string): Card {
    const verification = this.verifications.get(verificationId);
    if (!verification) throw notFound('verification_not_found', 'No card verification has this id.');
    if (this.clock.now().getTime() > verification.expiresAt) {
      this.dropVerification(verificationId);
      throw unprocessable('sms_code_expired', 'The SMS code has expired; start the verification again.');
    }
    if (sha256(code) !== verification.codeHash) {
      verification.attemptsLeft -= 1;
      if (verification.attemptsLeft <= 0) {
        this.dropVerification(verificationId);
        throw unprocessable('verification_locked', 'Too many wrong SMS codes; start the verification again.');
      }
      throw unprocessable('sms_code_invalid', 'The SMS code is wrong.', {
        attempts_left: verification.attemptsLeft,
      });
    }
    this.dropVerification(verificationId);
    return this.card(verification.cardToken);
  }

  private dropVerification(id: string) {
    this.verifications.delete(id);
  }

  private evictExpiredVerifications() {
    const now = this.clock.now().getTime();
    for (const [id, verification] of this.verifications) {
      if (verification.expiresAt < now) this.dropVerification(id);
    }
  }

  sentSms(phone?: string): SmsMessage[] {
    return this.sms.filter((message) => !phone || message.phone === phone).reverse();
  }

  operation(requestId: string): Operation | undefined {
    return this.operations.get(requestId);
  }

  /**
   * Accepts a debit or credit. The request id is the merchant's: the same id with the same
   * request returns the existing operation (whatever its status now); with a different
   * request it is refused.
   */
  submit(input: {
    requestId: string;
    direction: Direction;
    cardToken: string;
    amount: bigint;
    currency: string;
    faults: SandboxFaults;
    notifyUrl: string | null;
  }): { operation: Operation; created: boolean } {
    const existing = this.operations.get(input.requestId);
    if (existing) {
      const same =
        existing.direction === input.direction &&
        existing.cardToken === input.cardToken &&
        existing.amount === input.amount &&
        existing.currency === input.currency;
      if (!same) {
        throw unprocessable(
          'request_id_reused',
          'This request id was already used for a different operation.',
          {
            request_id: input.requestId,
          },
        );
      }
      return { operation: existing, created: false };
    }
    this.card(input.cardToken);
    if (input.amount <= 0n) throw invalid('invalid_amount', 'The amount must be positive.');
    if (this.operations.size >= LIMITS.operations) {
      throw new AppError(
        'unavailable',
        'sandbox_full',
        `The sandbox holds at most ${LIMITS.operations} operations.`,
      );
    }
    const operation: Operation = {
      ...input,
      bankReference: `SBX${randomHex(this.random, 8).toUpperCase()}`,
      status: 'processing',
      declineReason: null,
      createdAt: this.clock.now(),
      completedAt: null,
    };
    this.operations.set(operation.requestId, operation);
    return { operation, created: true };
  }

  /** Decides and books the final outcome of a processing operation. Idempotent. */
  settle(operation: Operation): Operation {
    if (operation.status !== 'processing') return operation;
    const card = this.card(operation.cardToken);
    const reason = operation.faults.decline ?? this.naturalDecline(card, operation);
    if (reason) {
      operation.status = 'declined';
      operation.declineReason = reason;
    } else {
      card.available += operation.direction === 'debit' ? -operation.amount : operation.amount;
      operation.status = 'succeeded';
    }
    operation.completedAt = this.clock.now();
    return operation;
  }

  private naturalDecline(card: Card, operation: Operation): DeclineReason | null {
    if (card.blocked) return 'card_blocked';
    if (operation.direction === 'credit' || card.available >= operation.amount) return null;
    return card.type === 'credit' ? 'limit_exceeded' : 'insufficient_funds';
  }

  /** Operations that reached a final status on a business date, in completion order. */
  completedOn(date: string): Operation[] {
    const found: Operation[] = [];
    for (const operation of this.operations.values()) {
      if (operation.completedAt && businessDate(operation.completedAt, this.timeZone) === date)
        found.push(operation);
    }
    return found.sort(
      (a, b) =>
        a.completedAt!.getTime() - b.completedAt!.getTime() || a.bankReference.localeCompare(b.bankReference),
    );
  }
}

function magicCard(last4: string): { type?: CardType; balance?: bigint; blocked?: boolean } {
  if (last4 === '0002') return { balance: 0n };
  if (last4 === '0003') return { blocked: true };
  if (last4 === '0004') return { type: 'credit', balance: 10_000n };
  return {};
}

export function operationWire(operation: Operation, last4: string): OperationWire {
  return {
    request_id: operation.requestId,
    bank_reference: operation.bankReference,
    direction: operation.direction,
    amount: operation.amount.toString(),
    currency: operation.currency,
    status: operation.status,
    decline_reason: operation.declineReason,
    card_last4: last4,
    sequence: operation.status === 'processing' ? 1 : 2,
    created_at: operation.createdAt.toISOString(),
    completed_at: operation.completedAt?.toISOString() ?? null,
  };
}
