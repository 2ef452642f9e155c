import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../platform/errors.ts';
import { DEFAULT_CAMPAIGN_RULES, DEFAULT_ENVELOPE_RULES, validateCampaignEnvelope } from './rules.ts';

const campaign = { ...DEFAULT_CAMPAIGN_RULES, perGroupPerHour: 3 };
const request = { total: 10_00n, shares: 10, greeting: 'promo', groupSize: 50 };

function refusal(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    assert.ok(error instanceof AppError);
    return `${error.kind}:${error.code}`;
  }
}

test('a campaign envelope holds 1 to 200 CNY, both ends included', () => {
  const check = (total: bigint) =>
    refusal(() =>
      validateCampaignEnvelope({ ...request, total, shares: 1 }, 0, DEFAULT_ENVELOPE_RULES, campaign),
    );
  assert.equal(check(99n), 'invalid:campaign_amount_out_of_range');
  assert.equal(check(100n), null);
  assert.equal(check(200_00n), null);
  assert.equal(check(200_01n), 'invalid:campaign_amount_out_of_range');
});

test('campaign envelopes expire after 72 hours by default', () => {
  assert.equal(DEFAULT_CAMPAIGN_RULES.expiryMs, 72 * 3_600_000);
});

test('a campaign envelope also follows the group envelope rules', () => {
  assert.equal(
    refusal(() => validateCampaignEnvelope({ ...request, shares: 60 }, 0, DEFAULT_ENVELOPE_RULES, campaign)),
    'invalid:too_many_shares',
  );
  assert.equal(
    refusal(() =>
      validateCampaignEnvelope({ ...request, total: 100n, shares: 101 }, 0, DEFAULT_ENVELOPE_RULES, {
        ...campaign,
      }),
    ),
    'invalid:too_many_shares',
  );
});

test('the campaign rate limit: the envelope that would exceed the hourly count is refused (429)', () => {
  const check = (sent: number) =>
    refusal(() => validateCampaignEnvelope(request, sent, DEFAULT_ENVELOPE_RULES, campaign));
  assert.equal(check(2), null);
  assert.equal(check(3), 'rate_limited:campaign_rate_limited');
});
