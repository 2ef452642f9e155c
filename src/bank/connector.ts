import type { SandboxFaults } from './sandbox/faults.ts';
import type { CardType, DeclineReason, Direction, OperationStatus } from './types.ts';

/**
 * What the wallet needs from a bank. The sandbox's HttpBankConnector implements it; a real
 * bank's connector drops in behind the same interface. Money movements never throw for
 * bank-side trouble: they return an outcome the wallet must switch on, and `unknown` means
 * "maybe it happened": keep the transfer pending and poll `status` (or wait for a callback).
 */
export interface BankConnector {
  /** How long a call may take before its outcome counts as unknown (then the caller polls). */
  readonly timeoutMs: number;
  /**
   * Step 1 of binding: the bank checks the four elements (card number, holder name, ID number,
   * reserved phone) against its records, then texts a code to that phone. The PAN and the ID
   * number go only to the bank.
   */
  verifyCard(input: CardVerificationRequest): Promise<CardVerificationStarted>;
  /** Step 2: the code the user received; returns the bank's token for the card. */
  confirmCard(input: { verificationId: string; smsCode: string }): Promise<BoundCard>;
  /** Money from the card to Tuyere (top-up). Idempotent on requestId at the bank. */
  debit(request: MovementRequest): Promise<MovementResult>;
  /** Money from Tuyere to the card (withdrawal). Idempotent on requestId at the bank. */
  credit(request: MovementRequest): Promise<MovementResult>;
  /** What the bank knows about a request id; `found: false` means it never accepted one. Throws BankError when the bank cannot be asked. */
  status(requestId: string): Promise<StatusResult>;
  /** The bank's statement for a business date (YYYY-MM-DD). */
  statement(businessDate: string): Promise<BankStatement>;
  /** Verifies a callback's signature and freshness over the raw body, then parses it. Throws BankError. */
  parseCallback(
    headers: Record<string, string | string[] | undefined>,
    rawBody: string | Buffer,
  ): BankCallbackEvent;
}

export interface CardVerificationRequest {
  pan: string;
  /** The phone the holder reserved at the bank for this card. */
  phone: string;
  /** The account's verified real name and ID number (from identity, never from the request). */
  holderName: string;
  idNumber: string;
}

export interface CardVerificationStarted {
  verificationId: string;
  phoneMasked: string;
  expiresAt: Date;
}

export interface BoundCard {
  cardToken: string;
  bankName: string;
  cardType: CardType;
  last4: string;
}

export interface MovementRequest {
  /** Ours, unique per movement: `deterministicId('wallet.topup', transferId)` or similar. Retries reuse it. */
  requestId: string;
  cardToken: string;
  amount: bigint;
  currency: 'CNY';
  /** Callback URL for this movement; else the connector's or the bank's default. */
  notifyUrl?: string;
  /** Sandbox only: fault knobs for this request. A real bank's connector ignores them. */
  sandboxFaults?: SandboxFaults;
}

export interface BankOperation {
  requestId: string;
  bankReference: string;
  direction: Direction;
  amount: bigint;
  currency: string;
  status: OperationStatus;
  declineReason: DeclineReason | null;
  cardLast4: string;
  /** 1 while processing, 2 once final. Ignore an event whose sequence is below what you have. */
  sequence: number;
  createdAt: Date;
  completedAt: Date | null;
}

export type MovementResult =
  /** Accepted; the final outcome comes by callback or polling. */
  | { outcome: 'processing'; operation: BankOperation }
  /** Already final (a replayed request id, or a fast bank). */
  | { outcome: 'succeeded'; operation: BankOperation }
  | { outcome: 'declined'; reason: DeclineReason; operation: BankOperation }
  /** Timeout, network failure or a 5xx: the movement may or may not have happened. Poll. */
  | { outcome: 'unknown'; cause: 'timeout' | 'network' | 'bank_error'; message: string }
  /**
   * The bank refused the request itself (4xx), so nothing happened for *this* request.
   * Exception: `request_id_reused` means an earlier, different request holds the id; poll it.
   */
  | { outcome: 'rejected'; code: string; message: string };

export type StatusResult = { found: true; operation: BankOperation } | { found: false };

export interface StatementLine {
  businessDate: string;
  bankReference: string;
  requestId: string;
  direction: Direction;
  amount: bigint;
  currency: string;
  /** Only final operations appear in a statement. */
  status: 'succeeded' | 'declined';
}

export interface BankStatement {
  businessDate: string;
  lines: StatementLine[];
  /** The file exactly as the bank sent it, for the audit trail. */
  raw: string;
}

export interface BankCallbackEvent {
  /** webhook-id: the same id is a redelivery. Distinct ids can still describe the same operation; dedupe on requestId + sequence. */
  eventId: string;
  type: 'operation.processing' | 'operation.succeeded' | 'operation.declined';
  operation: BankOperation;
}

export type BankErrorCode =
  | 'card_number_invalid'
  | 'card_details_mismatch'
  | 'sms_code_invalid'
  | 'sms_code_expired'
  | 'verification_locked'
  | 'verification_not_found'
  | 'bank_rejected'
  | 'bank_unavailable'
  | 'callback_signature_invalid'
  | 'callback_timestamp_stale'
  | 'callback_malformed'
  | 'statement_malformed';

/** A bank call that failed. `retryable`: the same call may succeed later (network, 5xx, timeout). */
export class BankError extends Error {
  readonly code: BankErrorCode;
  readonly retryable: boolean;
  readonly bankCode: string | undefined;
  constructor(
    code: BankErrorCode,
    message: string,
    options: { retryable?: boolean; bankCode?: string } = {},
  ) {
    super(message);
    this.name = 'BankError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.bankCode = options.bankCode;
  }
}
