import { type Clock, systemClock } from '../platform/clock.ts';
import { normalizePan } from './cards.ts';
import {
  type BankCallbackEvent,
  type BankConnector,
  BankError,
  type BankErrorCode,
  type BankOperation,
  type BankStatement,
  type BoundCard,
  type CardVerificationRequest,
  type CardVerificationStarted,
  type MovementRequest,
  type MovementResult,
  type StatusResult,
} from './connector.ts';
import type { CallbackWire, Direction } from './types.ts';
import { verifyWebhook, WebhookVerifyError } from './webhook.ts';
import { parseOperation, parseStatement } from './wire.ts';

export interface HttpBankConnectorOptions {
  baseUrl: string;
  /** Standard Webhooks secret the bank signs callbacks with. */
  webhookSecret: string;
  /** Per call; a money call that runs out returns outcome `unknown`. */
  timeoutMs?: number;
  /** Default callback URL for debits and credits. */
  notifyUrl?: string;
  clock?: Clock;
}

const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const MAX_CALLBACK_BYTES = 64 * 1024;
const VERIFY_ERRORS: Record<string, BankErrorCode> = {
  card_number_invalid: 'card_number_invalid',
  card_details_mismatch: 'card_details_mismatch',
  sms_code_invalid: 'sms_code_invalid',
  sms_code_expired: 'sms_code_expired',
  verification_locked: 'verification_locked',
  verification_not_found: 'verification_not_found',
};

type Reply =
  | { kind: 'response'; status: number; body: string }
  | { kind: 'failed'; cause: 'timeout' | 'network'; message: string };

/** BankConnector over the sandbox bank's HTTP API (src/bank/README.md). */
export class HttpBankConnector implements BankConnector {
  private readonly baseUrl: string;
  readonly timeoutMs: number;
  private readonly clock: Clock;

  constructor(private readonly options: HttpBankConnectorOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.clock = options.clock ?? systemClock;
  }

  async verifyCard(input: CardVerificationRequest): Promise<CardVerificationStarted> {
    const pan = normalizePan(input.pan);
    if (!pan)
      throw new BankError('card_number_invalid', 'The card number is not valid (length or check digit).');
    const body = await this.call('POST', '/v1/cards/verify', {
      pan,
      phone: input.phone,
      holder_name: input.holderName,
      id_number: input.idNumber,
    });
    return {
      verificationId: String(body.verification_id),
      phoneMasked: String(body.phone_masked),
      expiresAt: new Date(String(body.expires_at)),
    };
  }

  async confirmCard(input: { verificationId: string; smsCode: string }): Promise<BoundCard> {
    const body = await this.call('POST', '/v1/cards/confirm', {
      verification_id: input.verificationId,
      sms_code: input.smsCode,
    });
    const cardType = body.card_type === 'credit' ? 'credit' : 'debit';
    return {
      cardToken: String(body.card_token),
      bankName: String(body.bank_name),
      cardType,
      last4: String(body.last4),
    };
  }

  debit(request: MovementRequest): Promise<MovementResult> {
    return this.move('debit', request);
  }

  credit(request: MovementRequest): Promise<MovementResult> {
    return this.move('credit', request);
  }

  async status(requestId: string): Promise<StatusResult> {
    const reply = await this.send('GET', `/v1/operations/${encodeURIComponent(requestId)}`);
    if (reply.kind === 'response' && reply.status === 404) return { found: false };
    const body = this.expectOk(reply);
    return { found: true, operation: parseOperation(body, 'bank_unavailable') };
  }

  async statement(businessDate: string): Promise<BankStatement> {
    if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(businessDate))
      throw new RangeError('businessDate must be YYYY-MM-DD');
    const reply = await this.send('GET', `/v1/statements/${businessDate}`);
    if (reply.kind !== 'response' || reply.status !== 200) this.expectOk(reply);
    const raw = (reply as { body: string }).body;
    return { businessDate, lines: parseStatement(raw), raw };
  }

  parseCallback(
    headers: Record<string, string | string[] | undefined>,
    rawBody: string | Buffer,
  ): BankCallbackEvent {
    if (rawBody.length > MAX_CALLBACK_BYTES)
      throw new BankError('callback_malformed', 'The callback body is too large.');
    try {
      verifyWebhook(this.options.webhookSecret, headers, rawBody, this.clock.now());
    } catch (error) {
      if (!(error instanceof WebhookVerifyError)) throw error;
      const code =
        error.code === 'timestamp_stale' ? 'callback_timestamp_stale' : 'callback_signature_invalid';
      throw new BankError(code, `Callback rejected: ${error.message}.`);
    }
    let event: CallbackWire;
    try {
      event = JSON.parse(rawBody.toString()) as CallbackWire;
    } catch {
      throw new BankError('callback_malformed', 'The callback body is not JSON.');
    }
    const types = ['operation.processing', 'operation.succeeded', 'operation.declined'];
    if (!event || typeof event.id !== 'string' || !types.includes(event.type)) {
      throw new BankError('callback_malformed', 'The callback has no id or an unknown type.');
    }
    const operation = parseOperation(event.data, 'callback_malformed');
    return { eventId: event.id, type: event.type, operation };
  }

  private async move(direction: Direction, request: MovementRequest): Promise<MovementResult> {
    const notifyUrl = request.notifyUrl ?? this.options.notifyUrl;
    const reply = await this.send('POST', direction === 'debit' ? '/v1/debits' : '/v1/credits', {
      request_id: request.requestId,
      card_token: request.cardToken,
      amount: request.amount.toString(),
      currency: request.currency,
      ...(notifyUrl ? { notify_url: notifyUrl } : {}),
      ...(request.sandboxFaults ? { sandbox_faults: request.sandboxFaults } : {}),
    });
    if (reply.kind === 'failed') return { outcome: 'unknown', cause: reply.cause, message: reply.message };
    if (reply.status >= 500 || reply.status === 408 || reply.status === 429) {
      return { outcome: 'unknown', cause: 'bank_error', message: `The bank answered HTTP ${reply.status}.` };
    }
    const body = parseJson(reply.body);
    if (reply.status >= 400) {
      const error = (body?.error ?? {}) as { code?: unknown; message?: unknown };
      return {
        outcome: 'rejected',
        code: String(error.code ?? `http_${reply.status}`),
        message: String(error.message ?? ''),
      };
    }
    let operation: BankOperation;
    try {
      operation = parseOperation(body, 'bank_unavailable');
    } catch {
      return {
        outcome: 'unknown',
        cause: 'bank_error',
        message: 'The bank answered with a malformed operation.',
      };
    }
    if (operation.status === 'declined')
      return { outcome: 'declined', reason: operation.declineReason!, operation };
    return { outcome: operation.status, operation };
  }

  /** JSON calls that are not money movements: any failure throws BankError. */
  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
    return this.expectOk(await this.send(method, path, body));
  }

  private expectOk(reply: Reply): Record<string, unknown> {
    if (reply.kind === 'failed') {
      throw new BankError('bank_unavailable', `The bank did not answer: ${reply.message}`, {
        retryable: true,
      });
    }
    if (reply.status >= 500 || reply.status === 429) {
      throw new BankError('bank_unavailable', `The bank answered HTTP ${reply.status}.`, { retryable: true });
    }
    const body = parseJson(reply.body);
    if (reply.status >= 400) {
      const error = (body?.error ?? {}) as { code?: string; message?: string };
      const code = VERIFY_ERRORS[error.code ?? ''] ?? 'bank_rejected';
      throw new BankError(code, error.message ?? `The bank refused the request (HTTP ${reply.status}).`, {
        bankCode: error.code,
      });
    }
    return body ?? {};
  }

  private async send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> {
    try {
      const response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { kind: 'response', status: response.status, body: await readLimited(response) };
    } catch (error) {
      const name = (error as Error).name;
      const timedOut = name === 'TimeoutError' || name === 'AbortError';
      return {
        kind: 'failed',
        cause: timedOut ? 'timeout' : 'network',
        message: timedOut ? `no answer within ${this.timeoutMs} ms` : (error as Error).message,
      };
    }
  }
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

async function readLimited(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
  }
  const text = await response.text();
  if (text.length > MAX_RESPONSE_BYTES) throw new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
  return text;
}
