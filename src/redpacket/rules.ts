import { invalid } from '../platform/errors.ts';

/** Envelope rules from DOMAIN.md, as configuration. All amounts in fen. */
export interface EnvelopeRules {
  /** Smallest share. */
  shareMinimum: bigint;
  /** Largest total of a personal (one-to-one) envelope. */
  personalMaximum: bigint;
  /** Largest total of a group envelope. */
  groupMaximum: bigint;
  /** Most shares in a group envelope, whatever the group's size. */
  sharesMaximum: number;
  greetingLengthMax: number;
  /** Unclaimed money returns to the sender after this long. */
  expiryMs: number;
}

export const DEFAULT_ENVELOPE_RULES: EnvelopeRules = {
  shareMinimum: 1n,
  personalMaximum: 200_00n,
  groupMaximum: 20_000_00n,
  sharesMaximum: 100,
  greetingLengthMax: 40,
  expiryMs: 24 * 3_600_000,
};

export type EnvelopeKind = 'lucky' | 'fixed' | 'personal';

export interface EnvelopeRequest {
  kind: EnvelopeKind;
  total: bigint;
  shares: number;
  greeting: string;
  /** Members of the target group, for group envelopes. */
  groupSize?: number;
}

/** Checks a new envelope against the rules; throws an AppError naming the broken rule. */
export function validateEnvelope(request: EnvelopeRequest, rules: EnvelopeRules): void {
  if (request.total <= 0n) throw invalid('invalid_amount', 'The envelope needs an amount above zero.');
  if (!Number.isInteger(request.shares) || request.shares < 1)
    throw invalid('invalid_shares', 'An envelope needs at least one share.');
  if (request.greeting.length > rules.greetingLengthMax) {
    throw invalid('greeting_too_long', `Keep the greeting to ${rules.greetingLengthMax} characters.`);
  }
  if (request.kind === 'personal') {
    if (request.shares !== 1) throw invalid('invalid_shares', 'A personal envelope has exactly one share.');
    if (request.total > rules.personalMaximum) {
      throw invalid(
        'envelope_amount_too_large',
        `A personal envelope holds at most ${formatFen(rules.personalMaximum)} CNY.`,
      );
    }
    return;
  }
  if (request.total > rules.groupMaximum) {
    throw invalid(
      'envelope_amount_too_large',
      `A group envelope holds at most ${formatFen(rules.groupMaximum)} CNY.`,
    );
  }
  const sharesMax = Math.min(rules.sharesMaximum, request.groupSize ?? rules.sharesMaximum);
  if (request.shares > sharesMax) {
    throw invalid(
      'too_many_shares',
      `This envelope can have at most ${sharesMax} shares (group size, capped at ${rules.sharesMaximum}).`,
    );
  }
  if (request.total < rules.shareMinimum * BigInt(request.shares)) {
    throw invalid(
      'share_below_minimum',
      `Each share must be at least ${formatFen(rules.shareMinimum)} CNY: raise the amount or cut the shares.`,
    );
  }
  if (request.kind === 'fixed' && request.total % BigInt(request.shares) !== 0n) {
    throw invalid(
      'uneven_fixed_envelope',
      'A fixed envelope splits into equal shares: make the amount a multiple of the share count.',
    );
  }
}

function formatFen(amount: bigint): string {
  return `${amount / 100n}.${(amount % 100n).toString().padStart(2, '0')}`;
}
