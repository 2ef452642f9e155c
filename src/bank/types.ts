/** Types shared by the bank connector interface and the sandbox's wire format. */

export type CardType = 'debit' | 'credit';
export type DeclineReason = 'insufficient_funds' | 'card_blocked' | 'limit_exceeded';
/** debit: money from the card to Tuyere (top-up); credit: money from Tuyere to the card (withdrawal). */
export type Direction = 'debit' | 'credit';
export type OperationStatus = 'processing' | 'succeeded' | 'declined';

/** An operation as the sandbox bank's API and callbacks describe it (snake_case wire form). */
export interface OperationWire {
  request_id: string;
  bank_reference: string;
  direction: Direction;
  amount: string;
  currency: string;
  status: OperationStatus;
  decline_reason: DeclineReason | null;
  card_last4: string;
  /** 1 while processing, 2 once final: a receiver keeps the highest it has seen. */
  sequence: number;
  created_at: string;
  completed_at: string | null;
}

export interface CallbackWire {
  id: string;
  type: 'operation.processing' | 'operation.succeeded' | 'operation.declined';
  created_at: string;
  data: OperationWire;
}

export const STATEMENT_HEADER =
  'business_date,bank_reference,request_id,direction,amount_minor,currency,status';
