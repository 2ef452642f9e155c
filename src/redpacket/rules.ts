import { AppError, invalid } from '../platform/errors.ts';

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

/**
 * Merchant or campaign envelopes (DOMAIN.md): 1–200 CNY each, unclaimed money returns after
 * 72 h, and rate-limited: at most `perGroupPerHour` into one group in any hour.
 */
export interface CampaignRules {
  minimum: bigint;
  maximum: bigint;
  expiryMs: number;
  perGroupPerHour: number;
}

export const DEFAULT_CAMPAIGN_RULES: CampaignRules = {
  minimum: 100n,
  maximum: 200_00n,
  expiryMs: 72 * 3_600_000,
  perGroupPerHour: 600,
};

/**
 * Checks a campaign envelope: the campaign amount range, then the group envelope rules (share
 * count, share minimum, greeting). `sentLastHour`: campaign envelopes sent into the same group
 * in the hour before now. Throws an AppError naming the broken rule.
 */
export function validateCampaignEnvelope(
  request: Omit<EnvelopeRequest, 'kind'>,
  sentLastHour: number,
  rules: EnvelopeRules,
  campaign: CampaignRules,
): void {
  if (request.total < campaign.minimum || request.total > campaign.maximum) {
    throw invalid(
      'campaign_amount_out_of_range',
      `A campaign envelope holds ${formatFen(campaign.minimum)} to ${formatFen(campaign.maximum)} CNY.`,
    );
  }
  validateEnvelope({ ...request, kind: 'lucky' }, rules);
  if (sentLastHour >= campaign.perGroupPerHour) {
    throw new AppError(
      'rate_limited',
      'campaign_rate_limited',
      `At most ${campaign.perGroupPerHour} campaign envelopes go into one group per hour; try again later.`,
    );
  }
}

function formatFen(amount: bigint): string {
  return `${amount / 100n}.${(amount % 100n).toString().padStart(2, '0')}`;
}
