import type { DeclineReason } from '../types.ts';

/**
 * Fault knobs. Set per card (at creation or via PUT /sandbox/cards/:token/faults) and per
 * request (`sandbox_faults` in a debit/credit body); a request's knobs override its card's.
 * Wire names are used as-is in TypeScript so they pass through the connector untouched.
 */
export interface SandboxFaults {
  /** Delay before the bank answers the API call. */
  latency_ms?: number;
  /** Force this decline, whatever the balance. */
  decline?: DeclineReason;
  /** The API call hangs past the client's timeout; `accepted`: the operation went ahead anyway; `not_received`: it never happened. */
  timeout?: 'accepted' | 'not_received';
  /** Time from acceptance to the final outcome (and its callback). */
  outcome_delay_ms?: number;
  /** Extra copies of the final callback; copies after the first carry a fresh webhook-id. */
  duplicate_callbacks?: number;
  /** The final outcome and its callback happen before the API call returns. */
  early_callback?: boolean;
  /** No callback is ever sent; only polling reveals the outcome. */
  lost_callback?: boolean;
  /** A stale `operation.processing` event (sequence 1) is sent after the final one (sequence 2). */
  out_of_order_callbacks?: boolean;
  /** How this operation appears in the daily statement. */
  statement?: 'missing' | 'extra' | 'amount_mismatch' | 'duplicate';
}

export const MAX_LATENCY_MS = 60_000;
export const MAX_OUTCOME_DELAY_MS = 600_000;
export const MAX_DUPLICATE_CALLBACKS = 5;
export const DEFAULT_OUTCOME_DELAY_MS = 20;

export const DECLINE_REASONS = ['insufficient_funds', 'card_blocked', 'limit_exceeded'] as const;

/** JSON schema of the knobs, shared by the card and request routes. */
export const FAULTS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    latency_ms: { type: 'integer', minimum: 0, maximum: MAX_LATENCY_MS },
    decline: { type: 'string', enum: [...DECLINE_REASONS] },
    timeout: { type: 'string', enum: ['accepted', 'not_received'] },
    outcome_delay_ms: { type: 'integer', minimum: 0, maximum: MAX_OUTCOME_DELAY_MS },
    duplicate_callbacks: { type: 'integer', minimum: 0, maximum: MAX_DUPLICATE_CALLBACKS },
    early_callback: { type: 'boolean' },
    lost_callback: { type: 'boolean' },
    out_of_order_callbacks: { type: 'boolean' },
    statement: { type: 'string', enum: ['missing', 'extra', 'amount_mismatch', 'duplicate'] },
  },
} as const;

/** Knobs implied by a card's last four digits; see README "Magic cards". */
export function magicFaults(last4: string): SandboxFaults {
  switch (last4) {
    case '0005':
      return { latency_ms: 1500 };
    case '0006':
      return { lost_callback: true };
    case '0007':
      return { duplicate_callbacks: 2 };
    case '0008':
      return { early_callback: true };
    case '0009':
      return { out_of_order_callbacks: true };
    case '0010':
      return { timeout: 'accepted' };
    case '0011':
      return { timeout: 'not_received' };
    case '0012':
      return { statement: 'missing' };
    case '0013':
      return { statement: 'extra' };
    case '0014':
      return { statement: 'amount_mismatch' };
    case '0015':
      return { statement: 'duplicate' };
    default:
      return {};
  }
}

export function mergeFaults(card: SandboxFaults, request: SandboxFaults | undefined): SandboxFaults {
  return { ...card, ...(request ?? {}) };
}
